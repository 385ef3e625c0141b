//! `ironkube bench`: a load generator for any Kubernetes API server reached
//! through a kubeconfig, so the same client measures ironkube and upstream.
//!
//! - `kubeconfig.rs` — the server, its trust and the credentials;
//! - `client.rs` — hyper connection pool (HTTP/2 multiplexed or HTTP/1.1);
//! - `stats.rs` — latency histogram, request and error counts;
//! - `report.rs` — result rows, table and JSON lines, progress;
//! - `scenarios.rs` — create-pods, list, rollout, mixed;
//! - `crd.rs` — custom-resources and crds;
//! - `watch.rs` — watch-latency and watch-fanout.

pub mod client;
pub mod crd;
pub mod kubeconfig;
pub mod report;
pub mod scenarios;
pub mod stats;
pub mod watch;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use http::Method;
use rand::Rng;
use serde_json::json;

use client::Client;
use report::BenchResult;

/// What to run.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scenario {
    /// POST small pods at --concurrency until --count.
    CreatePods,
    /// Full lists of --count pods: consistent, resourceVersion=0, and paged (limit=500).
    List,
    /// Time from a write's response to its event on an open watch.
    WatchLatency,
    /// --watchers watches, --count writes: delivery rate and lag.
    WatchFanout,
    /// A Deployment of --replicas to Available, then an image change to Complete.
    Rollout,
    /// --duration seconds of configmap creates/updates/deletes, with watches and lists.
    Mixed,
    /// A CRD with a schema of 41 fields and two CEL rules, then --count ConfigMaps and
    /// --count custom resources of the same size created at --concurrency, and their ratio.
    CustomResources,
    /// --count CRDs at once: time until all are Established, discovery, /openapi/v3, RSS,
    /// and until all are deleted.
    Crds,
    /// Every scenario but custom-resources and crds, with smaller defaults (about a minute
    /// against a release ironkube).
    All,
}

impl Scenario {
    /// What `all` runs. Not custom-resources and crds: their CRD set-up and
    /// clean-up (upstream deletes custom resources one by one behind a
    /// finalizer) do not fit `all`'s minute, and a server without CRDs fails them.
    pub const EACH: [Scenario; 6] = [
        Scenario::CreatePods,
        Scenario::List,
        Scenario::WatchLatency,
        Scenario::WatchFanout,
        Scenario::Rollout,
        Scenario::Mixed,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Scenario::CreatePods => "create-pods",
            Scenario::List => "list",
            Scenario::WatchLatency => "watch-latency",
            Scenario::WatchFanout => "watch-fanout",
            Scenario::Rollout => "rollout",
            Scenario::Mixed => "mixed",
            Scenario::CustomResources => "custom-resources",
            Scenario::Crds => "crds",
            Scenario::All => "all",
        }
    }
}

#[derive(clap::Args, Debug, Clone)]
pub struct BenchArgs {
    /// The scenario.
    #[arg(value_enum)]
    pub scenario: Scenario,
    /// Kubeconfig file (default: $KUBECONFIG, then ~/.kube/config).
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,
    /// Objects to create / writes to make (create-pods, list: 10000; watch-latency: 1000;
    /// watch-fanout: 10000; custom-resources: 5000 of each; crds: 1000).
    #[arg(long)]
    pub count: Option<usize>,
    /// Requests in flight at once.
    #[arg(long)]
    pub concurrency: Option<usize>,
    /// Namespace to use (default: a fresh `bench-<random>` per scenario, deleted afterwards;
    /// `all` waits until it is gone before the next scenario).
    #[arg(long)]
    pub namespace: Option<String>,
    /// One JSON object per result line on stdout instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Sample this process's VmRSS every 100 ms and report peak and final.
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// HTTP/1.1 keep-alive connections instead of HTTP/2.
    #[arg(long)]
    pub http1: bool,
    /// Most concurrent streams opened on one HTTP/2 connection.
    #[arg(long, default_value_t = 100)]
    pub streams_per_connection: usize,
    /// list: repetitions of each variant; crds: of each discovery and OpenAPI request.
    #[arg(long)]
    pub repeat: Option<usize>,
    /// watch-fanout: number of watches.
    #[arg(long)]
    pub watchers: Option<usize>,
    /// rollout: Deployment replicas.
    #[arg(long)]
    pub replicas: Option<usize>,
    /// mixed: seconds of churn.
    #[arg(long)]
    pub duration: Option<f64>,
    /// Longest wait (seconds) for a rollout, for watch deliveries and for namespace clean-up.
    #[arg(long, default_value_t = 120)]
    pub timeout: u64,
    /// Leave what the run created (namespace, CRDs, objects) in place.
    #[arg(long)]
    pub keep: bool,
}

/// Resolved sizes for one run.
#[derive(Clone, Debug, PartialEq)]
pub struct Sizes {
    pub concurrency: usize,
    pub create_count: usize,
    pub list_count: usize,
    pub repeat: usize,
    pub watch_latency_count: usize,
    pub fanout_watchers: usize,
    pub fanout_count: usize,
    pub replicas: usize,
    pub mixed_duration: Duration,
    pub cr_count: usize,
    pub crd_count: usize,
}

impl Sizes {
    /// Defaults for one scenario, or the smaller ones of `all`; flags override.
    pub fn resolve(args: &BenchArgs) -> Sizes {
        let all = args.scenario == Scenario::All;
        let pick = |flag: Option<usize>, one: usize, in_all: usize| {
            flag.unwrap_or(if all { in_all } else { one }).max(1)
        };
        Sizes {
            concurrency: pick(args.concurrency, 32, 32),
            create_count: pick(args.count, 10_000, 5_000),
            list_count: pick(args.count, 10_000, 5_000),
            repeat: pick(args.repeat, 5, 5),
            watch_latency_count: pick(args.count, 1_000, 500),
            fanout_watchers: pick(args.watchers, 1_000, 200),
            fanout_count: pick(args.count, 10_000, 1_000),
            replicas: pick(args.replicas, 1_000, 100),
            mixed_duration: Duration::from_secs_f64(
                args.duration
                    .unwrap_or(if all { 10.0 } else { 30.0 })
                    .max(0.1),
            ),
            cr_count: pick(args.count, 5_000, 1_000),
            crd_count: pick(args.count, 1_000, 100),
        }
    }
}

/// What every scenario gets.
pub struct Ctx {
    pub client: Client,
    pub sizes: Sizes,
    /// Label value on everything this run creates (`ironkube-bench=<run_id>`).
    pub run_id: String,
    pub timeout: Duration,
    /// --keep: nothing this run created is deleted.
    pub keep: bool,
    /// --server-pid, for RSS at given moments.
    pub server_pid: Option<u32>,
}

pub const LABEL: &str = "ironkube-bench";

fn random_suffix() -> String {
    const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..6)
        .map(|_| CHARS[rng.random_range(0..CHARS.len())] as char)
        .collect()
}

/// `VmRSS` in kB from the text of `/proc/PID/status`.
pub fn parse_vmrss(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

/// A process's `VmRSS` in kB now.
pub fn read_rss_kb(pid: u32) -> Option<u64> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .as_deref()
        .and_then(parse_vmrss)
}

/// Samples a process's RSS every 100 ms until stopped.
struct RssSampler {
    peak: Arc<AtomicU64>,
    last: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl RssSampler {
    fn start(pid: u32) -> RssSampler {
        let peak = Arc::new(AtomicU64::new(0));
        let last = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (p, l, s) = (peak.clone(), last.clone(), stop.clone());
        let path = format!("/proc/{pid}/status");
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(100));
            loop {
                tick.tick().await;
                if let Ok(text) = tokio::fs::read_to_string(&path).await
                    && let Some(kb) = parse_vmrss(&text)
                {
                    p.fetch_max(kb, Ordering::Relaxed);
                    l.store(kb, Ordering::Relaxed);
                }
                if s.load(Ordering::Relaxed) {
                    break;
                }
            }
        });
        RssSampler {
            peak,
            last,
            stop,
            task,
        }
    }

    /// Takes a last sample and returns (peak, final) in kB.
    async fn finish(self) -> Option<(u64, u64)> {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.task.await;
        let peak = self.peak.load(Ordering::Relaxed);
        (peak > 0).then(|| (peak, self.last.load(Ordering::Relaxed)))
    }
}

async fn expect_ok(client: &Client, method: Method, path: &str, body: Bytes) -> Result<()> {
    let r = client
        .request(method.clone(), path, Some("application/json"), body)
        .await?;
    if !r.ok() {
        bail!(
            "{method} {path}: HTTP {}: {}",
            r.status,
            String::from_utf8_lossy(&r.body)
        );
    }
    Ok(())
}

/// Creates a fresh namespace, or makes sure a given one exists.
/// Returns the name and whether this run owns it (and so deletes it).
async fn prepare_namespace(ctx: &Ctx, given: Option<&str>) -> Result<(String, bool)> {
    let name = match given {
        Some(n) => {
            let r = ctx.client.get(&format!("/api/v1/namespaces/{n}")).await?;
            match r.status {
                200 => return Ok((n.to_string(), false)),
                404 => n.to_string(),
                s => bail!(
                    "GET namespace {n}: HTTP {s}: {}",
                    String::from_utf8_lossy(&r.body)
                ),
            }
        }
        None => format!("bench-{}", random_suffix()),
    };
    let body = json!({"apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": name, "labels": {LABEL: ctx.run_id}}});
    expect_ok(
        &ctx.client,
        Method::POST,
        "/api/v1/namespaces",
        Bytes::from(body.to_string()),
    )
    .await
    .with_context(|| format!("creating namespace {name}"))?;
    Ok((name, true))
}

/// Deletes the namespace (with `wait`, waiting, bounded, until it is gone,
/// so that the next scenario does not run beside its clean-up), or in a
/// namespace this run does not own, what the run created there.
async fn cleanup(ctx: &Ctx, ns: &str, owned: bool, wait: bool) -> Result<()> {
    let c = &ctx.client;
    if !owned {
        let sel = format!("labelSelector={LABEL}%3D{}", ctx.run_id);
        for base in [
            format!("/api/v1/namespaces/{ns}/pods"),
            format!("/api/v1/namespaces/{ns}/configmaps"),
            format!("/apis/apps/v1/namespaces/{ns}/deployments"),
        ] {
            let path = format!("{base}?{sel}");
            let r = c.request(Method::DELETE, &path, None, Bytes::new()).await?;
            if !r.ok() {
                bail!("DELETE {path}: HTTP {}", r.status);
            }
        }
        return Ok(());
    }
    let path = format!("/api/v1/namespaces/{ns}");
    let r = c.request(Method::DELETE, &path, None, Bytes::new()).await?;
    if !r.ok() && r.status != 404 {
        bail!("DELETE {path}: HTTP {}", r.status);
    }
    if !wait {
        return Ok(());
    }
    let deadline = Instant::now() + ctx.timeout;
    loop {
        let r = c.get(&path).await?;
        if r.status == 404 {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("namespace {ns} still exists after {:?}", ctx.timeout);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

async fn run_scenario(ctx: &Ctx, scenario: Scenario, ns: &str) -> Result<Vec<BenchResult>> {
    match scenario {
        Scenario::CreatePods => scenarios::create_pods(ctx, ns).await,
        Scenario::List => scenarios::list(ctx, ns).await,
        Scenario::WatchLatency => watch::watch_latency(ctx, ns).await,
        Scenario::WatchFanout => watch::watch_fanout(ctx, ns).await,
        Scenario::Rollout => scenarios::rollout(ctx, ns).await,
        Scenario::Mixed => scenarios::mixed(ctx, ns).await,
        Scenario::CustomResources => crd::custom_resources(ctx, ns).await,
        Scenario::Crds => crd::crds(ctx).await,
        Scenario::All => bail!("`all` is not a single scenario"),
    }
}

async fn run_one(
    ctx: &Ctx,
    args: &BenchArgs,
    scenario: Scenario,
    wait_cleanup: bool,
) -> Result<Vec<BenchResult>> {
    // `crds` needs no namespace.
    let (ns, owned) = if scenario == Scenario::Crds {
        (String::new(), false)
    } else {
        prepare_namespace(ctx, args.namespace.as_deref()).await?
    };
    let sampler = args.server_pid.map(RssSampler::start);
    let result = run_scenario(ctx, scenario, &ns)
        .await
        .with_context(|| format!("scenario {}", scenario.name()));
    let rss = match sampler {
        Some(s) => s.finish().await,
        None => None,
    };
    if ns.is_empty() {
    } else if args.keep {
        eprintln!("kept namespace {ns}");
    } else if let Err(e) = cleanup(ctx, &ns, owned, wait_cleanup).await {
        eprintln!("warning: clean-up of namespace {ns}: {e:#}");
    }
    let mut rows = result?;
    for r in &mut rows {
        if let Some((peak, last)) = rss {
            r.server_rss_peak_kb = Some(peak);
            r.server_rss_final_kb = Some(last);
        }
    }
    Ok(rows)
}

/// Runs the benchmark; `Ok(false)` when any request failed.
pub async fn run(args: BenchArgs) -> Result<bool> {
    let path = kubeconfig::default_path(args.kubeconfig.as_deref())?;
    let target = kubeconfig::load(&path)?;
    let client = Client::new(&target, args.http1, args.streams_per_connection)?;
    let ctx = Ctx {
        client,
        sizes: Sizes::resolve(&args),
        run_id: random_suffix(),
        timeout: Duration::from_secs(args.timeout.max(1)),
        keep: args.keep,
        server_pid: args.server_pid,
    };
    let r =
        ctx.client.get("/version").await.with_context(|| {
            format!("reaching {} (kubeconfig {})", target.server, path.display())
        })?;
    if !r.ok() {
        bail!("GET /version: HTTP {}", r.status);
    }
    let scenarios: Vec<Scenario> = if args.scenario == Scenario::All {
        Scenario::EACH.to_vec()
    } else {
        vec![args.scenario]
    };
    let mut all_rows = Vec::new();
    let mut ok = true;
    let last = scenarios.len() - 1;
    for (i, s) in scenarios.into_iter().enumerate() {
        match run_one(&ctx, &args, s, i < last).await {
            Ok(rows) => {
                if args.json {
                    for r in &rows {
                        println!("{}", r.json_line());
                    }
                } else {
                    println!("{}", report::table(&rows));
                }
                ok &= rows.iter().all(|r| r.errors == 0);
                all_rows.extend(rows);
            }
            Err(e) => {
                eprintln!("error: {e:#}");
                ok = false;
            }
        }
    }
    if !args.json && all_rows.len() > 1 && args.scenario == Scenario::All {
        println!("summary ({} connections opened)", ctx.client.connections());
        println!("{}", report::table(&all_rows));
    }
    Ok(ok)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct T {
        #[command(flatten)]
        b: BenchArgs,
    }

    #[test]
    fn vmrss_is_read_in_kb() {
        let text = "Name:\tironkube\nVmPeak:\t  999 kB\nVmRSS:\t   12345 kB\nThreads:\t3\n";
        assert_eq!(parse_vmrss(text), Some(12345));
        assert_eq!(parse_vmrss("Name: x\n"), None);
    }

    #[test]
    fn sizes_default_per_scenario_and_for_all() {
        let one = T::parse_from(["t", "create-pods"]).b;
        let s = Sizes::resolve(&one);
        assert_eq!((s.create_count, s.concurrency), (10_000, 32));
        assert_eq!(s.mixed_duration, Duration::from_secs(30));
        let all = T::parse_from(["t", "all", "--concurrency", "8"]).b;
        let s = Sizes::resolve(&all);
        assert_eq!(s.concurrency, 8);
        assert!(s.create_count < 10_000 && s.replicas < 1_000);
        let f = T::parse_from(["t", "watch-fanout", "--watchers", "50", "--count", "200"]).b;
        let s = Sizes::resolve(&f);
        assert_eq!((s.fanout_watchers, s.fanout_count), (50, 200));
    }
}
