//! Benchmark (not a test): watch fan-out and list latency through the whole
//! API stack (router, registry, storage), in process.
//!
//! `cargo run --release --example watch_bench -- [watchers] [events] [pods...]`
//! defaults: 1000 watchers, 10000 events, lists of 10000 and 100000 pods.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use futures::StreamExt;
use http::Request;
use http_body_util::BodyExt;
use serde_json::json;
use tower::ServiceExt;

use ironkube::apiserver::{AppState, app};
use ironkube::registry::store::WriteOptions;

const TOKEN: &str = "bench";

fn request(uri: &str) -> Request<Body> {
    Request::builder()
        .uri(uri)
        .header("authorization", format!("Bearer {TOKEN}"))
        .body(Body::empty())
        .expect("request")
}

async fn fanout(st: &Arc<AppState>, watchers: usize, events: usize) {
    let rv = st.store.storage().current_revision();
    let mut tasks = Vec::new();
    for _ in 0..watchers {
        let resp = app(st.clone())
            .oneshot(request(&format!(
                "/api/v1/namespaces/default/configmaps?watch=1&resourceVersion={rv}&timeoutSeconds=600"
            )))
            .await
            .expect("watch");
        let want = events;
        tasks.push(tokio::spawn(async move {
            let mut body = resp.into_body().into_data_stream();
            let mut seen = 0usize;
            let mut buf = Vec::new();
            while seen < want {
                match body.next().await {
                    Some(Ok(chunk)) => {
                        buf.extend_from_slice(&chunk);
                        while let Some(pos) = buf.iter().position(|b| *b == b'\n') {
                            buf.drain(..=pos);
                            seen += 1;
                        }
                    }
                    _ => break,
                }
            }
            seen
        }));
    }
    let cms = st
        .store
        .registry()
        .by_key("configmaps")
        .expect("configmaps");
    let start = Instant::now();
    let mut writes = Vec::new();
    for i in 0..events {
        let st = st.clone();
        let cms = cms.clone();
        writes.push(tokio::spawn(async move {
            let cm = json!({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":format!("e{i}")},"data":{"k":"v"}});
            st.store.create(&cms, Some("default"), cm, &WriteOptions::default()).await.is_ok()
        }));
    }
    for w in writes {
        let _ = w.await;
    }
    let written = start.elapsed();
    let mut delivered = 0usize;
    for t in tasks {
        delivered += tokio::time::timeout(Duration::from_secs(600), t)
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or(0);
    }
    let total = start.elapsed();
    println!(
        "fan-out: {watchers} watchers x {events} events: delivered {delivered} of {} in {:.2}s ({:.0} events/s delivered; writes took {:.2}s)",
        watchers * events,
        total.as_secs_f64(),
        delivered as f64 / total.as_secs_f64(),
        written.as_secs_f64()
    );
}

async fn list_latency(pods: usize) {
    let st = ironkube::server::memory_state(TOKEN).await.expect("state");
    let res = st.store.registry().by_key("pods").expect("pods");
    let mut batch = Vec::new();
    for i in 0..pods {
        let st = st.clone();
        let res = res.clone();
        batch.push(tokio::spawn(async move {
            let pod = json!({"apiVersion":"v1","kind":"Pod","metadata":{"name":format!("p{i}"),"labels":{"app":"bench"}},
                "spec":{"containers":[{"name":"c","image":"nginx:1.25","resources":{"requests":{"cpu":"10m","memory":"16Mi"}}}]}});
            st.store.create(&res, Some("default"), pod, &WriteOptions::default()).await.is_ok()
        }));
        if batch.len() >= 1000 {
            for b in batch.drain(..) {
                let _ = b.await;
            }
        }
    }
    for b in batch {
        let _ = b.await;
    }
    for (label, uri) in [
        ("consistent", "/api/v1/namespaces/default/pods".to_string()),
        (
            "resourceVersion=0",
            "/api/v1/namespaces/default/pods?resourceVersion=0".to_string(),
        ),
    ] {
        let mut best = Duration::MAX;
        let mut bytes = 0;
        for _ in 0..3 {
            let start = Instant::now();
            let resp = app(st.clone()).oneshot(request(&uri)).await.expect("list");
            let body = resp.into_body().collect().await.expect("body").to_bytes();
            best = best.min(start.elapsed());
            bytes = body.len();
        }
        println!(
            "list {pods} pods ({label}): {:.1} ms (best of 3), {:.1} MB",
            best.as_secs_f64() * 1000.0,
            bytes as f64 / 1e6
        );
    }
}

#[tokio::main]
async fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let watchers = args.first().copied().unwrap_or(1000);
    let events = args.get(1).copied().unwrap_or(10_000);
    let sizes: Vec<usize> = if args.len() > 2 {
        args[2..].to_vec()
    } else {
        vec![10_000, 100_000]
    };
    let st = ironkube::server::memory_state(TOKEN).await.expect("state");
    fanout(&st, watchers, events).await;
    for n in sizes {
        list_latency(n).await;
    }
}
