//! Micro-benchmarks of the hot paths (`cargo bench`; not run by the test
//! command). They guard against regressions; the end-to-end figures come
//! from `ironkube bench` (docs/PERFORMANCE.md).

use std::sync::Arc;

use bytes::Bytes;
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use futures::StreamExt;
use serde_json::{Value, json};

use ironkube::apimachinery::{labels, strategicpatch};
use ironkube::openapi::OpenApi;
use ironkube::registry::served::Registry;
use ironkube::registry::store::WriteOptions;
use ironkube::registry::validation;
use ironkube::storage::Storage;
use ironkube::storage::embedded::RedbLog;
use ironkube::storage::mvcc::{Config, MvccStore};

fn pod(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "default", "labels": {"app": "web", "tier": "frontend"}},
        "spec": {"containers": [{"name": "c", "image": "registry.k8s.io/pause:3.9",
            "ports": [{"containerPort": 80}],
            "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
            "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}}]}})
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

fn pod_pipeline(c: &mut Criterion) {
    let body = serde_json::to_vec(&pod("p")).expect("encode");
    let registry = Registry::builtin();
    let pods = registry.by_key("pods").expect("pods");
    let mut g = c.benchmark_group("pod");
    g.bench_function("decode", |b| {
        b.iter(|| serde_json::from_slice::<Value>(&body).expect("decode"))
    });
    g.bench_function("default", |b| {
        b.iter_batched(
            || pod("p"),
            |mut p| pods.strategy.defaults(&mut p),
            BatchSize::SmallInput,
        )
    });
    let mut defaulted = pod("p");
    pods.strategy.defaults(&mut defaulted);
    g.bench_function("validate", |b| {
        b.iter(|| validation::validate(&*pods.strategy, pods.namespaced, &defaulted, None))
    });
    // The schema type check every write runs (registry::typecheck).
    let api = OpenApi::load().expect("openapi");
    let schemas = ironkube::registry::typecheck::schemas(&api);
    let mut body_pod = pod("p");
    g.bench_function("typecheck", |b| {
        b.iter(|| {
            schemas.check(
                "",
                "v1",
                "Pod",
                &mut body_pod,
                ironkube::registry::typecheck::Mode::Decode,
            )
        })
    });
    let mut defaulted_pod = defaulted.clone();
    g.bench_function("typecheck_defaulted", |b| {
        b.iter(|| {
            schemas.check(
                "",
                "v1",
                "Pod",
                &mut defaulted_pod,
                ironkube::registry::typecheck::Mode::Decode,
            )
        })
    });
    g.bench_function("encode", |b| {
        b.iter(|| serde_json::to_vec(&defaulted).expect("encode"))
    });
    // The whole create path of the registry (type check, defaults,
    // managedFields, validation, storage) on the in-memory engine.
    let rt = runtime();
    let st = rt
        .block_on(ironkube::server::memory_state("bench"))
        .expect("state");
    let res = st.store.registry().by_key("pods").expect("pods");
    let opts = WriteOptions {
        field_manager: "bench".into(),
        ..WriteOptions::default()
    };
    let mut i = 0u64;
    g.bench_function("registry_create_memory", |b| {
        b.iter(|| {
            i += 1;
            rt.block_on(
                st.store
                    .create(&res, Some("default"), pod(&format!("p{i}")), &opts),
            )
            .expect("create")
        })
    });
    g.finish();
}

fn strategic_merge_patch(c: &mut Criterion) {
    let api = OpenApi::load().expect("openapi");
    let schema = api.schema("", "v1", "Pod");
    let mut original = pod("p");
    if let Some(pods) = Registry::builtin().by_key("pods") {
        pods.strategy.defaults(&mut original);
    }
    let patch = json!({"metadata": {"labels": {"version": "2"}},
        "spec": {"containers": [{"name": "c", "image": "nginx:1.27",
            "env": [{"name": "B", "value": "3"}, {"name": "C", "value": "4"}]}]}});
    c.bench_function("strategic_merge_patch/pod", |b| {
        b.iter(|| {
            strategicpatch::apply_strategic_merge_patch(&original, &patch, schema.as_ref())
                .expect("patch")
        })
    });
}

/// A Deployment with n containers, patched with every container's image and
/// `$setElementOrder` (issue #10: 1,000 / 2,000 / 4,000 containers took 1.9 /
/// 8.5 / 38.9 s when merge by key was quadratic).
fn strategic_merge_patch_large_lists(c: &mut Criterion) {
    let api = OpenApi::load().expect("openapi");
    let schema = api.schema("apps", "v1", "Deployment");
    let mut g = c.benchmark_group("strategic_merge_patch/deployment_containers");
    g.sample_size(10);
    for n in [1_000usize, 2_000, 4_000, 10_000] {
        let containers = |image: &str| -> Vec<Value> {
            (0..n)
                .map(|i| {
                    json!({"name": format!("c{i}"), "image": image,
                    "env": [{"name": "A", "value": "1"}]})
                })
                .collect()
        };
        let original = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "d"},
            "spec": {"template": {"spec": {"containers": containers("nginx:1")}}}});
        let order: Vec<Value> = (0..n).map(|i| json!({"name": format!("c{i}")})).collect();
        let patch = json!({"spec": {"template": {"spec": {
            "$setElementOrder/containers": order, "containers": containers("nginx:2")}}}});
        g.bench_function(n.to_string(), |b| {
            b.iter(|| {
                strategicpatch::apply_strategic_merge_patch(&original, &patch, schema.as_ref())
                    .expect("patch")
            })
        });
    }
    g.finish();
}

fn selectors(c: &mut Criterion) {
    let sel = labels::parse("app=web,tier in (frontend,backend),!canary").expect("selector");
    let p = pod("p");
    let lbls = p.pointer("/metadata/labels").and_then(Value::as_object);
    let mut g = c.benchmark_group("selector");
    g.bench_function("parse", |b| {
        b.iter(|| labels::parse("app=web,tier in (frontend,backend),!canary").expect("selector"))
    });
    g.bench_function("match", |b| b.iter(|| sel.matches(lbls)));
    g.finish();
}

fn storage_commit(c: &mut Criterion) {
    let rt = runtime();
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(
        MvccStore::open(
            RedbLog::open(&dir.path().join("bench.redb")).expect("redb"),
            Config::default(),
        )
        .expect("store"),
    );
    let value = Bytes::from(serde_json::to_vec(&pod("p")).expect("encode"));
    let mut g = c.benchmark_group("storage_commit_redb");
    g.sample_size(20);
    let mut i = 0u64;
    // One write at a time: one transaction and one fsync each.
    g.bench_function("single", |b| {
        b.iter(|| {
            i += 1;
            rt.block_on(store.create(&format!("/single/{i}"), value.clone()))
                .expect("create")
        })
    });
    // 64 concurrent writes: group commit shares the fsyncs.
    g.bench_function("batch_of_64", |b| {
        b.iter(|| {
            rt.block_on(async {
                let writes = (0..64).map(|_| {
                    i += 1;
                    let store = store.clone();
                    let key = format!("/batch/{i}");
                    let value = value.clone();
                    tokio::spawn(async move { store.create(&key, value).await })
                });
                for w in futures::future::join_all(writes).await {
                    w.expect("join").expect("create");
                }
            })
        })
    });
    g.finish();
}

fn watch_fanout(c: &mut Criterion) {
    let rt = runtime();
    let store = Arc::new(MvccStore::memory().expect("store"));
    let value = Bytes::from_static(b"{}");
    let mut g = c.benchmark_group("watch_fanout");
    g.sample_size(20);
    let mut i = 0u64;
    // One event delivered to 100 watchers.
    g.bench_function("1_event_100_watchers", |b| {
        b.iter(|| {
            rt.block_on(async {
                let after = store.current_revision();
                let mut watchers: Vec<_> = (0..100)
                    .map(|_| store.watch("/w/", after).expect("watch"))
                    .collect();
                i += 1;
                store
                    .create(&format!("/w/{i}"), value.clone())
                    .await
                    .expect("create");
                for w in &mut watchers {
                    w.next().await.expect("event").expect("ok");
                }
            })
        })
    });
    g.finish();
}

criterion_group!(
    benches,
    pod_pipeline,
    strategic_merge_patch,
    strategic_merge_patch_large_lists,
    selectors,
    storage_commit,
    watch_fanout
);
criterion_main!(benches);
