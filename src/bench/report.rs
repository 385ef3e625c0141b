//! Results: one row per measured thing, printed as a table or as one JSON
//! object per line.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};

use super::stats::Stats;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct BenchResult {
    pub scenario: String,
    pub requests: u64,
    pub errors: u64,
    pub errors_by_code: BTreeMap<String, u64>,
    pub elapsed_s: f64,
    pub throughput_per_s: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub mean_ms: f64,
    /// Scenario-specific figures (delivered events, durations, ...).
    pub extras: Map<String, Value>,
    pub server_rss_peak_kb: Option<u64>,
    pub server_rss_final_kb: Option<u64>,
}

fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

impl BenchResult {
    /// A row from request stats; throughput is requests per second of `elapsed`.
    pub fn from_stats(scenario: &str, stats: &Stats, elapsed: Duration) -> BenchResult {
        let secs = elapsed.as_secs_f64();
        let h = &stats.latency;
        BenchResult {
            scenario: scenario.to_string(),
            requests: stats.requests,
            errors: stats.error_count(),
            errors_by_code: stats.errors.clone(),
            elapsed_s: secs,
            throughput_per_s: if secs > 0.0 {
                stats.requests as f64 / secs
            } else {
                0.0
            },
            p50_ms: ms(h.percentile_us(0.50)),
            p90_ms: ms(h.percentile_us(0.90)),
            p99_ms: ms(h.percentile_us(0.99)),
            max_ms: ms(h.max_us()),
            mean_ms: h.mean_us() / 1000.0,
            ..BenchResult::default()
        }
    }

    pub fn extra(mut self, key: &str, value: impl Into<Value>) -> BenchResult {
        self.extras.insert(key.to_string(), value.into());
        self
    }

    pub fn to_json(&self) -> Value {
        let round = |v: f64| (v * 1000.0).round() / 1000.0;
        let mut m = Map::new();
        m.insert("scenario".into(), json!(self.scenario));
        m.insert("requests".into(), json!(self.requests));
        m.insert("errors".into(), json!(self.errors));
        m.insert("errors_by_code".into(), json!(self.errors_by_code));
        m.insert("elapsed_s".into(), json!(round(self.elapsed_s)));
        m.insert(
            "throughput_per_s".into(),
            json!(round(self.throughput_per_s)),
        );
        m.insert("p50_ms".into(), json!(round(self.p50_ms)));
        m.insert("p90_ms".into(), json!(round(self.p90_ms)));
        m.insert("p99_ms".into(), json!(round(self.p99_ms)));
        m.insert("max_ms".into(), json!(round(self.max_ms)));
        m.insert("mean_ms".into(), json!(round(self.mean_ms)));
        if let Some(v) = self.server_rss_peak_kb {
            m.insert("server_rss_peak_kb".into(), json!(v));
        }
        if let Some(v) = self.server_rss_final_kb {
            m.insert("server_rss_final_kb".into(), json!(v));
        }
        for (k, v) in &self.extras {
            m.entry(k.clone()).or_insert_with(|| v.clone());
        }
        Value::Object(m)
    }

    pub fn json_line(&self) -> String {
        self.to_json().to_string()
    }
}

fn fmt_num(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

fn fmt_extra(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() => fmt_num(f),
            _ => n.to_string(),
        },
        other => other.to_string(),
    }
}

/// A plain-text table (markdown-compatible) of result rows.
pub fn table(rows: &[BenchResult]) -> String {
    let with_rss = rows.iter().any(|r| r.server_rss_peak_kb.is_some());
    let mut header = vec![
        "scenario", "requests", "errors", "time s", "req/s", "p50 ms", "p90 ms", "p99 ms", "max ms",
    ];
    if with_rss {
        header.push("RSS peak/final MB");
    }
    header.push("extras");
    let mut lines: Vec<Vec<String>> = Vec::new();
    for r in rows {
        let errors = if r.errors == 0 {
            "0".to_string()
        } else {
            let codes: Vec<String> = r
                .errors_by_code
                .iter()
                .map(|(k, v)| format!("{k}:{v}"))
                .collect();
            format!("{} ({})", r.errors, codes.join(" "))
        };
        let mut line = vec![
            r.scenario.clone(),
            r.requests.to_string(),
            errors,
            fmt_num(r.elapsed_s),
            fmt_num(r.throughput_per_s),
            fmt_num(r.p50_ms),
            fmt_num(r.p90_ms),
            fmt_num(r.p99_ms),
            fmt_num(r.max_ms),
        ];
        if with_rss {
            line.push(match (r.server_rss_peak_kb, r.server_rss_final_kb) {
                (Some(p), Some(f)) => format!("{:.0}/{:.0}", p as f64 / 1024.0, f as f64 / 1024.0),
                _ => "-".into(),
            });
        }
        let extras: Vec<String> = r
            .extras
            .iter()
            .map(|(k, v)| format!("{k}={}", fmt_extra(v)))
            .collect();
        line.push(extras.join(" "));
        lines.push(line);
    }
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for l in &lines {
        for (w, c) in widths.iter_mut().zip(l) {
            *w = (*w).max(c.len());
        }
    }
    let render = |cells: &[String]| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(i, (c, w))| {
                if i == 0 || i == cells.len() - 1 {
                    format!("{c:<w$}")
                } else {
                    format!("{c:>w$}")
                }
            })
            .collect();
        format!("| {} |", padded.join(" | ")).trim_end().to_string()
    };
    let mut out = String::new();
    out.push_str(&render(
        &header.iter().map(|h| h.to_string()).collect::<Vec<_>>(),
    ));
    out.push('\n');
    let sep: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
    out.push_str(&format!("|-{}-|\n", sep.join("-|-")));
    for l in &lines {
        out.push_str(&render(l));
        out.push('\n');
    }
    out
}

/// Progress on stderr: a redrawn counter on a terminal, a plain line every
/// 5 s otherwise. Dropping it stops the ticker.
pub struct Progress {
    done: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Progress {
    pub fn start(label: &str, total: u64) -> Progress {
        let done = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let tty = std::io::stderr().is_terminal();
        let (d, s, label) = (done.clone(), stop.clone(), label.to_string());
        let task = tokio::spawn(async move {
            let started = Instant::now();
            let period = if tty {
                Duration::from_millis(200)
            } else {
                Duration::from_secs(5)
            };
            let mut tick = tokio::time::interval(period);
            tick.tick().await;
            loop {
                tick.tick().await;
                if s.load(Ordering::Relaxed) {
                    break;
                }
                let n = d.load(Ordering::Relaxed);
                let secs = started.elapsed().as_secs_f64();
                let line = progress_line(&label, n, total, secs);
                if tty {
                    eprint!("\r\x1b[2K{line}");
                } else {
                    eprintln!("{line}");
                }
            }
            if tty {
                eprint!("\r\x1b[2K");
            }
        });
        Progress {
            done,
            stop,
            task: Some(task),
        }
    }

    pub fn counter(&self) -> Arc<AtomicU64> {
        self.done.clone()
    }

    pub fn inc(&self) {
        self.done.fetch_add(1, Ordering::Relaxed);
    }

    /// Stops the ticker and clears the terminal line.
    pub async fn finish(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.task.take() {
            t.abort();
            let _ = t.await;
        }
        if std::io::stderr().is_terminal() {
            eprint!("\r\x1b[2K");
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }
}

/// `label [#####.....] 500/1000 (50%) 12.3 s`, or without bar and total when unknown.
pub fn progress_line(label: &str, done: u64, total: u64, secs: f64) -> String {
    if total == 0 {
        return format!("{label}: {done} in {secs:.1} s");
    }
    let frac = (done as f64 / total as f64).clamp(0.0, 1.0);
    let filled = (frac * 20.0).round() as usize;
    format!(
        "{label} [{}{}] {done}/{total} ({:.0}%) {secs:.1} s",
        "#".repeat(filled),
        ".".repeat(20 - filled),
        frac * 100.0
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> BenchResult {
        let mut s = Stats::default();
        for ms in 1..=100u64 {
            s.ok(Duration::from_millis(ms));
        }
        s.fail(Duration::from_millis(5), "409");
        BenchResult::from_stats("create-pods", &s, Duration::from_secs(2))
            .extra("watchers", 10)
            .extra("delivered_per_s", 1234.5678)
    }

    #[test]
    fn json_has_the_required_fields() {
        let mut r = sample();
        r.server_rss_peak_kb = Some(2048);
        r.server_rss_final_kb = Some(1024);
        let v: Value = serde_json::from_str(&r.json_line()).expect("json");
        assert_eq!(v["scenario"], "create-pods");
        assert_eq!(v["requests"], 101);
        assert_eq!(v["errors"], 1);
        assert_eq!(v["errors_by_code"]["409"], 1);
        assert_eq!(v["throughput_per_s"], 50.5);
        let p50 = v["p50_ms"].as_f64().expect("p50");
        assert!((p50 - 50.0).abs() <= 50.0 / 64.0, "{p50}");
        assert_eq!(v["max_ms"], 100.0);
        assert!(v["p99_ms"].as_f64().expect("p99") >= 98.0);
        assert_eq!(v["watchers"], 10);
        assert_eq!(v["delivered_per_s"], 1234.5678);
        assert_eq!(v["server_rss_peak_kb"], 2048);
        assert!(!r.json_line().contains('\n'));
        let plain = sample().to_json();
        assert!(plain.get("server_rss_peak_kb").is_none());
    }

    #[test]
    fn table_aligns_rows_and_shows_codes() {
        let mut a = sample();
        a.server_rss_peak_kb = Some(200 * 1024);
        a.server_rss_final_kb = Some(100 * 1024);
        let b = BenchResult {
            scenario: "list".into(),
            requests: 5,
            ..BenchResult::default()
        };
        let t = table(&[a, b]);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 4);
        assert!(lines[0].starts_with("| scenario"));
        assert!(lines[1].starts_with("|--"));
        assert!(lines[2].contains("1 (409:1)"));
        assert!(lines[2].contains("200/100"));
        assert!(lines[2].contains("watchers=10 delivered_per_s=1235"));
        assert!(lines[3].contains("| list "));
        // Every cell is padded to its column's width.
        assert_eq!(lines[0].len(), lines[2].len());
        assert_eq!(lines[0].len(), lines[3].len());
        assert!(lines[2].contains("|  50.5 |"));
    }

    #[test]
    fn progress_lines() {
        assert_eq!(
            progress_line("create-pods", 50, 100, 1.0),
            "create-pods [##########..........] 50/100 (50%) 1.0 s"
        );
        assert_eq!(progress_line("mixed", 7, 0, 3.0), "mixed: 7 in 3.0 s");
    }
}
