//! The watch scenarios. Events are matched to writes by object name (and
//! resourceVersion for watch-latency); only the few fields needed are
//! decoded from each event line.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use http::Method;
use serde::Deserialize;
use tokio::task::JoinSet;

use super::Ctx;
use super::client::{self, Client, LineStream};
use super::report::{BenchResult, Progress};
use super::scenarios::{cm_path, configmap_body, parallel};
use super::stats::{Histogram, Stats};

#[derive(Deserialize)]
pub struct EventHead<'a> {
    #[serde(rename = "type", borrow)]
    pub kind: Cow<'a, str>,
    #[serde(default, borrow)]
    pub object: ObjHead<'a>,
}

#[derive(Deserialize, Default)]
pub struct ObjHead<'a> {
    #[serde(default, borrow)]
    pub metadata: MetaHead<'a>,
}

#[derive(Deserialize, Default)]
pub struct MetaHead<'a> {
    #[serde(default, borrow)]
    pub name: Cow<'a, str>,
    #[serde(default, rename = "resourceVersion", borrow)]
    pub resource_version: Cow<'a, str>,
}

/// The resourceVersion of a (one-item) list, to start watches from.
pub async fn start_rv(client: &Client, path: &str) -> Result<String> {
    let r = client.get(&format!("{path}?limit=1")).await?;
    if !r.ok() {
        return Err(anyhow!("GET {path}: HTTP {}", r.status));
    }
    let head: ObjHead = serde_json::from_slice(&r.body).context("decoding a list")?;
    Ok(head.metadata.resource_version.into_owned())
}

fn watch_path(path: &str, rv: &str) -> String {
    format!("{path}?watch=1&resourceVersion={rv}&timeoutSeconds=3600")
}

fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

pub async fn watch_latency(ctx: &Ctx, ns: &str) -> Result<Vec<BenchResult>> {
    let n = ctx.sizes.watch_latency_count;
    let path = cm_path(ns);
    let rv = start_rv(&ctx.client, &path).await?;
    let mut stream = ctx
        .client
        .stream(&watch_path(&path, &rv))
        .await
        .context("opening the watch")?;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(String, String, Instant)>();
    let reader = tokio::spawn(async move {
        loop {
            match stream.next_line().await {
                Ok(Some(line)) => {
                    let at = Instant::now();
                    if let Ok(ev) = serde_json::from_slice::<EventHead>(&line) {
                        let m = ev.object.metadata;
                        if m.name.starts_with("lat-")
                            && tx
                                .send((m.name.into_owned(), m.resource_version.into_owned(), at))
                                .is_err()
                        {
                            return Ok(());
                        }
                    }
                }
                Ok(None) => return Err(anyhow!("watch closed by the server")),
                Err(e) => return Err(e),
            }
        }
    });
    let progress = Progress::start("watch-latency", n as u64);
    let wait = ctx.timeout.min(Duration::from_secs(30));
    let mut writes = Stats::default();
    let mut lag = Stats::default();
    let mut pending: HashMap<(String, String), Instant> = HashMap::new();
    let mut before_response = 0u64;
    let t0 = Instant::now();
    for i in 0..n {
        let name = format!("lat-{}", i / 2);
        let body = configmap_body(&ctx.run_id, &name, i as u64);
        let t = Instant::now();
        let r = if i % 2 == 0 {
            ctx.client.send_json(Method::POST, &path, body).await
        } else {
            let p = format!("{path}/{name}");
            ctx.client.send_json(Method::PUT, &p, body).await
        };
        let responded = Instant::now();
        super::scenarios::record(&mut writes, responded - t, &r);
        progress.inc();
        let Ok(resp) = r else { continue };
        if !resp.ok() {
            continue;
        }
        let head: ObjHead = serde_json::from_slice(&resp.body).context("decoding a write")?;
        let key = (name, head.metadata.resource_version.into_owned());
        let seen = match pending.remove(&key) {
            Some(at) => Some(at),
            None => {
                let deadline = tokio::time::Instant::now() + wait;
                loop {
                    match tokio::time::timeout_at(deadline, rx.recv()).await {
                        Ok(Some((name, rv, at))) => {
                            if name == key.0 && rv == key.1 {
                                break Some(at);
                            }
                            pending.insert((name, rv), at);
                        }
                        Ok(None) | Err(_) => break None,
                    }
                }
            }
        };
        match seen {
            // An event that arrived before the response counts as zero lag.
            Some(at) => {
                before_response += u64::from(at < responded);
                lag.ok(at.saturating_duration_since(responded));
            }
            None => {
                lag.fail(wait, "missed-event");
                if reader.is_finished() {
                    break;
                }
            }
        }
    }
    let elapsed = t0.elapsed();
    progress.finish().await;
    reader.abort();
    let mut row = BenchResult::from_stats("watch-latency", &lag, elapsed);
    for (k, v) in &writes.errors {
        *row.errors_by_code.entry(k.clone()).or_default() += v;
        row.errors += v;
    }
    Ok(vec![
        row.extra("writes", writes.requests)
            .extra("events_before_response", before_response)
            .extra("write_p50_ms", ms(writes.latency.percentile_us(0.5)))
            .extra("write_p99_ms", ms(writes.latency.percentile_us(0.99))),
    ])
}

/// What one fan-out watcher saw.
struct WatcherResult {
    lag: Histogram,
    delivered: u64,
    /// Events seen before their write's response was recorded: (index, ns since t0).
    pending: Vec<(usize, u64)>,
    last_ns: u64,
    errors: Stats,
}

async fn fanout_watcher(
    mut stream: LineStream,
    t0: Instant,
    responses: Arc<Vec<AtomicU64>>,
    expected: Arc<AtomicU64>,
    grace: Duration,
    delivered_total: Arc<AtomicU64>,
) -> WatcherResult {
    let mut res = WatcherResult {
        lag: Histogram::default(),
        delivered: 0,
        pending: Vec::new(),
        last_ns: 0,
        errors: Stats::default(),
    };
    let mut known_at: Option<Instant> = None;
    loop {
        let want = expected.load(Ordering::Relaxed);
        if want != u64::MAX {
            let at = *known_at.get_or_insert_with(Instant::now);
            if res.delivered >= want || at.elapsed() > grace {
                break;
            }
        }
        let line = match tokio::time::timeout(Duration::from_millis(100), stream.next_line()).await
        {
            Err(_) => continue,
            Ok(Ok(Some(line))) => line,
            Ok(Ok(None)) => {
                res.errors.error_only("watch-closed", 1);
                break;
            }
            Ok(Err(e)) => {
                res.errors.error_only(client::error_key(&e), 1);
                break;
            }
        };
        let now_ns = t0.elapsed().as_nanos() as u64;
        let ev = match serde_json::from_slice::<EventHead>(&line) {
            Ok(ev) => ev,
            Err(_) => {
                res.errors.error_only("watch-bad-event", 1);
                continue;
            }
        };
        if ev.kind == "ERROR" {
            res.errors.error_only("watch-error-event", 1);
            break;
        }
        let Some(i) = ev
            .object
            .metadata
            .name
            .strip_prefix("fan-")
            .and_then(|s| s.parse::<usize>().ok())
            .filter(|i| *i < responses.len())
        else {
            continue;
        };
        res.delivered += 1;
        res.last_ns = now_ns;
        delivered_total.fetch_add(1, Ordering::Relaxed);
        match responses[i].load(Ordering::Relaxed) {
            0 => res.pending.push((i, now_ns)),
            resp => res.lag.record_us(now_ns.saturating_sub(resp) / 1000),
        }
    }
    res
}

pub async fn watch_fanout(ctx: &Ctx, ns: &str) -> Result<Vec<BenchResult>> {
    let watchers = ctx.sizes.fanout_watchers;
    let events = ctx.sizes.fanout_count;
    let path = cm_path(ns);
    let rv = start_rv(&ctx.client, &path).await?;
    let t0 = Instant::now();
    let responses: Arc<Vec<AtomicU64>> = Arc::new((0..events).map(|_| AtomicU64::new(0)).collect());
    let expected = Arc::new(AtomicU64::new(u64::MAX));
    let delivered_total = Arc::new(AtomicU64::new(0));

    // Open every watch before the first write.
    let mut opening = JoinSet::new();
    for _ in 0..watchers {
        let (c, p) = (ctx.client.clone(), watch_path(&path, &rv));
        opening.spawn(async move { c.stream(&p).await });
    }
    let mut open_errors = Stats::default();
    let mut tasks = JoinSet::new();
    while let Some(r) = opening.join_next().await {
        match r {
            Ok(Ok(stream)) => {
                tasks.spawn(fanout_watcher(
                    stream,
                    t0,
                    responses.clone(),
                    expected.clone(),
                    ctx.timeout,
                    delivered_total.clone(),
                ));
            }
            Ok(Err(e)) => {
                open_errors.error_only(format!("watch-open-{}", client::error_key(&e)), 1)
            }
            Err(_) => open_errors.error_only("watch-open-panic", 1),
        }
    }
    let open = tasks.len() as u64;
    let opened_in = t0.elapsed();

    let progress = Progress::start("watch-fanout: delivered", events as u64 * open);
    let ticker = {
        let (total, counter) = (delivered_total.clone(), progress.counter());
        tokio::spawn(async move {
            loop {
                counter.store(total.load(Ordering::Relaxed), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };
    let writes_start = t0.elapsed();
    let writes = {
        let (c, p, run, resp) = (
            ctx.client.clone(),
            Arc::new(path.clone()),
            Arc::new(ctx.run_id.clone()),
            responses.clone(),
        );
        parallel(events, ctx.sizes.concurrency, None, move |i| {
            let (c, p, resp) = (c.clone(), p.clone(), resp.clone());
            let body = configmap_body(&run, &format!("fan-{i}"), i as u64);
            async move {
                let r = c.send_json(Method::POST, &p, body).await;
                if matches!(&r, Ok(x) if x.ok()) {
                    resp[i].store((t0.elapsed().as_nanos() as u64).max(1), Ordering::Relaxed);
                }
                r
            }
        })
        .await
    };
    let writes_elapsed = t0.elapsed() - writes_start;
    let writes_ok = writes.requests - writes.error_count();
    expected.store(writes_ok, Ordering::Relaxed);

    let mut lag = Histogram::default();
    let mut delivered = 0u64;
    let mut last_ns = 0u64;
    let mut errors = open_errors;
    while let Some(r) = tasks.join_next().await {
        match r {
            Ok(w) => {
                lag.merge(&w.lag);
                for (i, at) in &w.pending {
                    let resp = responses[*i].load(Ordering::Relaxed);
                    lag.record_us(at.saturating_sub(resp) / 1000);
                }
                delivered += w.delivered;
                last_ns = last_ns.max(w.last_ns);
                errors.merge(&w.errors);
                if w.delivered < writes_ok {
                    errors.error_only("missed-events", writes_ok - w.delivered);
                }
            }
            Err(_) => errors.error_only("watcher-panic", 1),
        }
    }
    ticker.abort();
    progress.finish().await;
    let window = Duration::from_nanos(last_ns).saturating_sub(writes_start);
    let mut row = BenchResult::from_stats(
        "watch-fanout",
        &Stats {
            latency: lag,
            requests: delivered,
            errors: Default::default(),
        },
        window,
    );
    errors.merge(&Stats {
        errors: writes.errors.clone(),
        ..Stats::default()
    });
    row.errors = errors.error_count();
    row.errors_by_code = errors.errors;
    Ok(vec![
        row.extra("watchers", open)
            .extra("events", events)
            .extra("delivered", delivered)
            .extra("expected", writes_ok * open)
            .extra("watches_opened_s", opened_in.as_secs_f64())
            .extra(
                "writes_per_s",
                writes.requests as f64 / writes_elapsed.as_secs_f64().max(1e-9),
            )
            .extra("write_p50_ms", ms(writes.latency.percentile_us(0.5)))
            .extra("write_p99_ms", ms(writes.latency.percentile_us(0.99)))
            .extra("connections", ctx.client.connections()),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_heads_decode_only_what_is_needed() {
        let line = br#"{"type":"MODIFIED","object":{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"fan-7","namespace":"x","resourceVersion":"42","labels":{"a":"b"}},"data":{"k":"v\n"}}}"#;
        let ev: EventHead = serde_json::from_slice(line).expect("decode");
        assert_eq!(ev.kind, "MODIFIED");
        assert_eq!(ev.object.metadata.name, "fan-7");
        assert_eq!(ev.object.metadata.resource_version, "42");
        let err = br#"{"type":"ERROR","object":{"kind":"Status","code":410}}"#;
        let ev: EventHead = serde_json::from_slice(err).expect("decode");
        assert_eq!(ev.kind, "ERROR");
        assert_eq!(ev.object.metadata.name, "");
    }
}
