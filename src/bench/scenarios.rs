//! The request-driven scenarios: create-pods, list, rollout, mixed; and the
//! helpers every scenario shares (bodies, a bounded worker pool).

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use http::Method;
use rand::{Rng, SeedableRng};
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::{Value, json};
use tokio::task::JoinSet;

use super::client::{self, Response};
use super::report::{BenchResult, Progress};
use super::stats::Stats;
use super::watch::{EventHead, start_rv};
use super::{Ctx, LABEL};

pub const IMAGE: &str = "registry.k8s.io/pause:3.9";
pub const IMAGE2: &str = "registry.k8s.io/pause:3.10";

/// Counts one finished request into `stats`.
pub fn record(stats: &mut Stats, d: Duration, r: &Result<Response>) {
    match r {
        Ok(resp) if resp.ok() => stats.ok(d),
        Ok(resp) => stats.fail(d, resp.status.to_string()),
        Err(e) => stats.fail(d, client::error_key(e)),
    }
}

/// Runs `f(0..count)` with at most `concurrency` in flight; each call is one
/// timed request.
pub async fn parallel<F, Fut>(
    count: usize,
    concurrency: usize,
    progress: Option<Arc<AtomicU64>>,
    f: F,
) -> Stats
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Response>> + Send + 'static,
{
    let f = Arc::new(f);
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = JoinSet::new();
    for _ in 0..concurrency.clamp(1, count.max(1)) {
        let (f, next, progress) = (f.clone(), next.clone(), progress.clone());
        tasks.spawn(async move {
            let mut stats = Stats::default();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= count {
                    break;
                }
                let t = Instant::now();
                let r = f(i).await;
                record(&mut stats, t.elapsed(), &r);
                if let Some(p) = &progress {
                    p.fetch_add(1, Ordering::Relaxed);
                }
            }
            stats
        });
    }
    let mut total = Stats::default();
    while let Some(r) = tasks.join_next().await {
        match r {
            Ok(s) => total.merge(&s),
            Err(_) => total.error_only("worker-panic", 1),
        }
    }
    total
}

/// A small pod: one pause container with requests.
pub fn pod_body(run_id: &str, name: &str) -> Bytes {
    Bytes::from(
        json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "labels": {LABEL: run_id, "app": "ironkube-bench"}},
            "spec": {"containers": [{"name": "pause", "image": IMAGE,
                "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}}]}
        })
        .to_string(),
    )
}

/// A small configmap.
pub fn configmap_body(run_id: &str, name: &str, value: u64) -> Bytes {
    Bytes::from(
        json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "labels": {LABEL: run_id}},
            "data": {"value": value.to_string(), "payload": "x".repeat(64)}
        })
        .to_string(),
    )
}

/// Percent-encodes a query value (continue tokens).
pub fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn http_error(what: &str, r: &Response) -> anyhow::Error {
    anyhow::anyhow!(
        "{what}: HTTP {}: {}",
        r.status,
        String::from_utf8_lossy(&r.body)
            .chars()
            .take(300)
            .collect::<String>()
    )
}

pub async fn create_pods(ctx: &Ctx, ns: &str) -> Result<Vec<BenchResult>> {
    let n = ctx.sizes.create_count;
    let conc = ctx.sizes.concurrency;
    let stats = create_pods_inner(ctx, ns, n, "create-pods").await;
    let (stats, elapsed) = stats;
    Ok(vec![
        BenchResult::from_stats("create-pods", &stats, elapsed)
            .extra("concurrency", conc)
            .extra("connections", ctx.client.connections()),
    ])
}

async fn create_pods_inner(ctx: &Ctx, ns: &str, n: usize, label: &str) -> (Stats, Duration) {
    let progress = Progress::start(label, n as u64);
    let client = ctx.client.clone();
    let path = Arc::new(format!("/api/v1/namespaces/{ns}/pods"));
    let run = Arc::new(ctx.run_id.clone());
    let t0 = Instant::now();
    let stats = parallel(
        n,
        ctx.sizes.concurrency,
        Some(progress.counter()),
        move |i| {
            let (c, path) = (client.clone(), path.clone());
            let body = pod_body(&run, &format!("bench-pod-{i}"));
            async move { c.send_json(Method::POST, &path, body).await }
        },
    )
    .await;
    let elapsed = t0.elapsed();
    progress.finish().await;
    (stats, elapsed)
}

#[derive(Deserialize)]
struct ListHead {
    #[serde(default)]
    items: Vec<IgnoredAny>,
    #[serde(default)]
    metadata: ListMeta,
}

#[derive(Deserialize, Default)]
struct ListMeta {
    #[serde(default, rename = "continue")]
    cont: Option<String>,
}

pub async fn list(ctx: &Ctx, ns: &str) -> Result<Vec<BenchResult>> {
    let n = ctx.sizes.list_count;
    let (setup, _) = create_pods_inner(ctx, ns, n, "list: creating pods").await;
    if setup.error_count() > 0 {
        bail!(
            "creating {n} pods for the list scenario: {} failed ({:?})",
            setup.error_count(),
            setup.errors
        );
    }
    let base = format!("/api/v1/namespaces/{ns}/pods");
    let mut rows = Vec::new();
    let progress = Progress::start("list", (3 * ctx.sizes.repeat) as u64);
    for (scenario, query, paged) in [
        ("list", "", false),
        ("list-rv0", "?resourceVersion=0", false),
        ("list-paged", "?limit=500", true),
    ] {
        let mut stats = Stats::default();
        let mut elapsed = Duration::ZERO;
        let (mut pages, mut bytes, mut items_seen) = (0u64, 0u64, 0u64);
        for _ in 0..ctx.sizes.repeat {
            let t = Instant::now();
            let mut path = format!("{base}{query}");
            let mut items = 0usize;
            let mut failure: Option<String> = None;
            let mut bodies = Vec::new();
            loop {
                pages += 1;
                let r = ctx.client.get(&path).await;
                match r {
                    Ok(resp) if resp.ok() => {
                        bytes += resp.body.len() as u64;
                        if !paged {
                            bodies.push(resp.body);
                            break;
                        }
                        // Paging needs the continue token before the next request.
                        let head: ListHead = serde_json::from_slice(&resp.body)
                            .context("decoding a page of pods")?;
                        items += head.items.len();
                        match head.metadata.cont.filter(|c| !c.is_empty()) {
                            Some(c) => {
                                path = format!("{base}{query}&continue={}", query_escape(&c))
                            }
                            None => break,
                        }
                    }
                    Ok(resp) => {
                        failure = Some(resp.status.to_string());
                        break;
                    }
                    Err(e) => {
                        failure = Some(client::error_key(&e));
                        break;
                    }
                }
            }
            let d = t.elapsed();
            elapsed += d;
            for b in &bodies {
                let head: ListHead = serde_json::from_slice(b).context("decoding the pod list")?;
                items += head.items.len();
            }
            items_seen = items as u64;
            match failure {
                Some(code) => stats.fail(d, code),
                // A list from the cache (rv=0) may trail; the others must be complete.
                None if items != n && scenario != "list-rv0" => stats.fail(d, "item-count"),
                None => stats.ok(d),
            }
            progress.inc();
        }
        let lists = ctx.sizes.repeat as u64;
        rows.push(
            BenchResult::from_stats(scenario, &stats, elapsed)
                .extra("items", items_seen)
                .extra("pages_per_list", pages / lists.max(1))
                .extra("mb_per_list", (bytes as f64 / lists as f64) / 1e6),
        );
    }
    progress.finish().await;
    Ok(rows)
}

/// What `kubectl rollout status` would say about a Deployment.
#[derive(Debug, PartialEq)]
pub enum RolloutStatus {
    Complete,
    Waiting(String),
    Failed(String),
}

fn int(v: &Value, ptr: &str) -> i64 {
    v.pointer(ptr).and_then(Value::as_i64).unwrap_or(0)
}

/// kubectl's DeploymentStatusViewer.
pub fn rollout_status(dep: &Value) -> RolloutStatus {
    let generation = int(dep, "/metadata/generation");
    let observed = int(dep, "/status/observedGeneration");
    if generation > observed {
        return RolloutStatus::Waiting("waiting for the spec update to be observed".into());
    }
    let timed_out = dep
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .is_some_and(|cs| {
            cs.iter()
                .any(|c| c["type"] == "Progressing" && c["reason"] == "ProgressDeadlineExceeded")
        });
    if timed_out {
        return RolloutStatus::Failed("progress deadline exceeded".into());
    }
    let want = dep
        .pointer("/spec/replicas")
        .and_then(Value::as_i64)
        .unwrap_or(1);
    let replicas = int(dep, "/status/replicas");
    let updated = int(dep, "/status/updatedReplicas");
    let available = int(dep, "/status/availableReplicas");
    if updated < want {
        return RolloutStatus::Waiting(format!("{updated} of {want} updated"));
    }
    if replicas > updated {
        return RolloutStatus::Waiting(format!(
            "{} old replicas are pending termination",
            replicas - updated
        ));
    }
    if available < updated {
        return RolloutStatus::Waiting(format!("{available} of {updated} updated available"));
    }
    RolloutStatus::Complete
}

/// All `replicas` available, for the current generation.
pub fn is_available(dep: &Value, replicas: i64) -> bool {
    int(dep, "/status/observedGeneration") >= int(dep, "/metadata/generation")
        && int(dep, "/status/availableReplicas") == replicas
}

fn status_summary(dep: &Value) -> String {
    format!(
        "generation={}/{} replicas={} updated={} ready={} available={}",
        int(dep, "/status/observedGeneration"),
        int(dep, "/metadata/generation"),
        int(dep, "/status/replicas"),
        int(dep, "/status/updatedReplicas"),
        int(dep, "/status/readyReplicas"),
        int(dep, "/status/availableReplicas"),
    )
}

/// Polls the Deployment every 100 ms until `done` or the timeout.
async fn poll_deployment(
    ctx: &Ctx,
    path: &str,
    label: &str,
    done: impl Fn(&Value) -> bool,
) -> (bool, Value, Stats) {
    let deadline = Instant::now() + ctx.timeout;
    let progress = Progress::start(label, 0);
    let mut polls = Stats::default();
    let mut last = Value::Null;
    let ok = loop {
        let t = Instant::now();
        let r = ctx.client.get(path).await;
        record(&mut polls, t.elapsed(), &r);
        if let Ok(resp) = &r
            && resp.ok()
            && let Ok(v) = serde_json::from_slice::<Value>(&resp.body)
        {
            let available = int(&v, "/status/availableReplicas");
            progress
                .counter()
                .store(available as u64, Ordering::Relaxed);
            last = v;
            if done(&last) {
                break true;
            }
        }
        if Instant::now() > deadline {
            break false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    progress.finish().await;
    (ok, last, polls)
}

pub async fn rollout(ctx: &Ctx, ns: &str) -> Result<Vec<BenchResult>> {
    let replicas = ctx.sizes.replicas;
    let name = "bench-rollout";
    let app = format!("bench-rollout-{}", ctx.run_id);
    let base = format!("/apis/apps/v1/namespaces/{ns}/deployments");
    let path = format!("{base}/{name}");
    let body = json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "labels": {LABEL: ctx.run_id}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": app}},
            "template": {
                "metadata": {"labels": {"app": app, LABEL: ctx.run_id}},
                "spec": {"containers": [{"name": "pause", "image": IMAGE,
                    "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}}]}
            }
        }
    });
    let mut rows = Vec::new();
    let t0 = Instant::now();
    let r = ctx
        .client
        .send_json(Method::POST, &base, Bytes::from(body.to_string()))
        .await?;
    if !r.ok() {
        return Err(http_error("creating the Deployment", &r));
    }
    let want = replicas as i64;
    let (ok, last, polls) =
        poll_deployment(ctx, &path, "rollout: available", |d| is_available(d, want)).await;
    let elapsed = t0.elapsed();
    let mut s = Stats::default();
    if ok {
        s.ok(elapsed);
    } else {
        s.fail(elapsed, "timeout");
    }
    s.errors.extend(polls.errors.clone());
    rows.push(
        BenchResult::from_stats("rollout-available", &s, elapsed)
            .extra("replicas", replicas)
            .extra("seconds", elapsed.as_secs_f64())
            .extra("polls", polls.requests)
            .extra("status", status_summary(&last)),
    );
    if !ok {
        return Ok(rows);
    }
    let patch = json!({"spec": {"template": {"spec": {"containers": [
        {"name": "pause", "image": IMAGE2}]}}}});
    let t1 = Instant::now();
    let r = ctx
        .client
        .request(
            Method::PATCH,
            &path,
            Some("application/strategic-merge-patch+json"),
            Bytes::from(patch.to_string()),
        )
        .await?;
    if !r.ok() {
        return Err(http_error("changing the image", &r));
    }
    let (ok, last, polls) = poll_deployment(ctx, &path, "rollout: rolling update", |d| {
        rollout_status(d) == RolloutStatus::Complete
    })
    .await;
    let elapsed = t1.elapsed();
    let mut s = Stats::default();
    if ok {
        s.ok(elapsed);
    } else {
        s.fail(elapsed, "timeout");
    }
    s.errors.extend(polls.errors.clone());
    rows.push(
        BenchResult::from_stats("rollout-complete", &s, elapsed)
            .extra("replicas", replicas)
            .extra("seconds", elapsed.as_secs_f64())
            .extra("polls", polls.requests)
            .extra("status", status_summary(&last)),
    );
    Ok(rows)
}

#[derive(Clone, Copy)]
enum Op {
    Create,
    Update,
    Delete,
}

pub async fn mixed(ctx: &Ctx, ns: &str) -> Result<Vec<BenchResult>> {
    const WATCHERS: usize = 3;
    let duration = ctx.sizes.mixed_duration;
    let cm_path = cm_path(ns);
    let rv = start_rv(&ctx.client, &cm_path).await?;
    let progress = Progress::start("mixed", 0);
    // Watches: count events on our configmaps until told how many to expect.
    let expected = Arc::new(AtomicU64::new(u64::MAX));
    let mut watches = JoinSet::new();
    for _ in 0..WATCHERS {
        let stream = ctx
            .client
            .stream(&format!(
                "{cm_path}?watch=1&resourceVersion={rv}&timeoutSeconds=3600"
            ))
            .await
            .context("opening a watch")?;
        let expected = expected.clone();
        let grace = ctx.timeout;
        watches.spawn(count_events(stream, "mix-", expected, grace));
    }
    let t0 = Instant::now();
    let end = t0 + duration;
    // Periodic consistent lists.
    let lister = {
        let (c, path) = (ctx.client.clone(), cm_path.clone());
        tokio::spawn(async move {
            let mut s = Stats::default();
            while Instant::now() < end {
                let t = Instant::now();
                let r = c.get(&path).await;
                record(&mut s, t.elapsed(), &r);
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            s
        })
    };
    let mut workers = JoinSet::new();
    for w in 0..ctx.sizes.concurrency {
        let (c, path, run, done) = (
            ctx.client.clone(),
            cm_path.clone(),
            ctx.run_id.clone(),
            progress.counter(),
        );
        workers.spawn(async move {
            let mut rng = rand::rngs::StdRng::from_os_rng();
            let mut stats = [Stats::default(), Stats::default(), Stats::default()];
            let mut live: Vec<String> = Vec::new();
            let mut seq = 0u64;
            let mut writes_ok = 0u64;
            while Instant::now() < end {
                let roll = rng.random_range(0..10);
                let op = if live.len() < 5 || roll < 4 {
                    Op::Create
                } else if roll < 7 {
                    Op::Update
                } else {
                    Op::Delete
                };
                seq += 1;
                let t = Instant::now();
                let r = match op {
                    Op::Create => {
                        let name = format!("mix-{w}-{seq}");
                        let r = c
                            .send_json(Method::POST, &path, configmap_body(&run, &name, seq))
                            .await;
                        if matches!(&r, Ok(resp) if resp.ok()) {
                            live.push(name);
                        }
                        r
                    }
                    Op::Update => {
                        let name = &live[rng.random_range(0..live.len())];
                        c.send_json(
                            Method::PUT,
                            &format!("{path}/{name}"),
                            configmap_body(&run, name, seq),
                        )
                        .await
                    }
                    Op::Delete => {
                        let name = live.swap_remove(rng.random_range(0..live.len()));
                        c.request(
                            Method::DELETE,
                            &format!("{path}/{name}"),
                            None,
                            Bytes::new(),
                        )
                        .await
                    }
                };
                if matches!(&r, Ok(resp) if resp.ok()) {
                    writes_ok += 1;
                }
                record(&mut stats[op as usize], t.elapsed(), &r);
                done.fetch_add(1, Ordering::Relaxed);
            }
            (stats, writes_ok)
        });
    }
    let mut ops = [Stats::default(), Stats::default(), Stats::default()];
    let mut writes_ok = 0u64;
    while let Some(r) = workers.join_next().await {
        match r {
            Ok((s, n)) => {
                for (a, b) in ops.iter_mut().zip(&s) {
                    a.merge(b);
                }
                writes_ok += n;
            }
            Err(_) => ops[0].error_only("worker-panic", 1),
        }
    }
    let elapsed = t0.elapsed();
    expected.store(writes_ok, Ordering::Relaxed);
    let lists = lister.await.unwrap_or_default();
    let mut events = Stats::default();
    let mut delivered = 0u64;
    while let Some(r) = watches.join_next().await {
        match r {
            Ok((n, errs)) => {
                delivered += n;
                events.merge(&errs);
                if n < writes_ok {
                    events.error_only("missed-events", writes_ok - n);
                }
            }
            Err(_) => events.error_only("watch-panic", 1),
        }
    }
    progress.finish().await;
    let mut rows = Vec::new();
    for (name, s) in ["mixed-create", "mixed-update", "mixed-delete"]
        .iter()
        .zip(&ops)
    {
        rows.push(
            BenchResult::from_stats(name, s, elapsed).extra("concurrency", ctx.sizes.concurrency),
        );
    }
    rows.push(BenchResult::from_stats("mixed-list", &lists, elapsed));
    let mut w = BenchResult::from_stats("mixed-watch", &events, elapsed);
    w.requests = delivered;
    w.throughput_per_s = delivered as f64 / elapsed.as_secs_f64().max(1e-9);
    rows.push(
        w.extra("watchers", WATCHERS)
            .extra("events_expected", writes_ok * WATCHERS as u64)
            .extra("latency", "n/a"),
    );
    Ok(rows)
}

/// Counts events on objects named `prefix*` until `expected` (once known)
/// arrive, or `grace` after it became known. Returns the count and errors.
async fn count_events(
    mut stream: client::LineStream,
    prefix: &'static str,
    expected: Arc<AtomicU64>,
    grace: Duration,
) -> (u64, Stats) {
    let mut n = 0u64;
    let mut errs = Stats::default();
    let mut known_at: Option<Instant> = None;
    loop {
        let want = expected.load(Ordering::Relaxed);
        if want != u64::MAX {
            let at = *known_at.get_or_insert_with(Instant::now);
            if n >= want || at.elapsed() > grace {
                break;
            }
        }
        match tokio::time::timeout(Duration::from_millis(100), stream.next_line()).await {
            Err(_) => continue,
            Ok(Ok(Some(line))) => match serde_json::from_slice::<EventHead>(&line) {
                Ok(ev) if ev.kind == "ERROR" => {
                    errs.error_only("watch-error-event", 1);
                    break;
                }
                Ok(ev) if ev.object.metadata.name.starts_with(prefix) => n += 1,
                Ok(_) => {}
                Err(_) => errs.error_only("watch-bad-event", 1),
            },
            Ok(Ok(None)) => {
                errs.error_only("watch-closed", 1);
                break;
            }
            Ok(Err(e)) => {
                errs.error_only(client::error_key(&e), 1);
                break;
            }
        }
    }
    (n, errs)
}

/// The namespace's configmaps.
pub fn cm_path(ns: &str) -> String {
    format!("/api/v1/namespaces/{ns}/configmaps")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dep(gen_: i64, observed: i64, spec: i64, st: [i64; 3]) -> Value {
        json!({"metadata": {"generation": gen_}, "spec": {"replicas": spec},
            "status": {"observedGeneration": observed, "replicas": st[0],
                "updatedReplicas": st[1], "availableReplicas": st[2]}})
    }

    #[test]
    fn rollout_complete_as_kubectl_decides() {
        assert_eq!(
            rollout_status(&dep(2, 2, 3, [3, 3, 3])),
            RolloutStatus::Complete
        );
        assert!(matches!(
            rollout_status(&dep(2, 1, 3, [3, 3, 3])),
            RolloutStatus::Waiting(m) if m.contains("observed")
        ));
        assert!(matches!(
            rollout_status(&dep(2, 2, 3, [3, 2, 2])),
            RolloutStatus::Waiting(m) if m == "2 of 3 updated"
        ));
        assert!(matches!(
            rollout_status(&dep(2, 2, 3, [4, 3, 3])),
            RolloutStatus::Waiting(m) if m.contains("1 old replicas")
        ));
        assert!(matches!(
            rollout_status(&dep(2, 2, 3, [3, 3, 2])),
            RolloutStatus::Waiting(m) if m.contains("2 of 3 updated available")
        ));
        let mut failed = dep(2, 2, 3, [3, 1, 1]);
        failed["status"]["conditions"] = json!([{"type": "Progressing", "status": "False",
            "reason": "ProgressDeadlineExceeded"}]);
        assert!(matches!(rollout_status(&failed), RolloutStatus::Failed(_)));
        // No spec.replicas means 1.
        let mut one = dep(1, 1, 0, [1, 1, 1]);
        one["spec"] = json!({});
        assert_eq!(rollout_status(&one), RolloutStatus::Complete);
    }

    #[test]
    fn available_needs_the_current_generation() {
        assert!(is_available(&dep(1, 1, 5, [5, 5, 5]), 5));
        assert!(!is_available(&dep(2, 1, 5, [5, 5, 5]), 5));
        assert!(!is_available(&dep(1, 1, 5, [5, 5, 4]), 5));
        assert!(!is_available(&json!({}), 5));
    }

    #[test]
    fn bodies_and_escaping() {
        let p: Value = serde_json::from_slice(&pod_body("r1", "p-1")).expect("json");
        assert_eq!(p["metadata"]["labels"][LABEL], "r1");
        assert_eq!(p["spec"]["containers"][0]["image"], IMAGE);
        let c: Value = serde_json::from_slice(&configmap_body("r1", "c", 7)).expect("json");
        assert_eq!(c["data"]["value"], "7");
        assert_eq!(query_escape("a+b/c=="), "a%2Bb%2Fc%3D%3D");
        assert_eq!(query_escape("AZaz09-_.~"), "AZaz09-_.~");
    }
}
