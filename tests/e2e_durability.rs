//! End-to-end durability: `kill -9` a real `ironkube serve` (embedded redb
//! storage) while concurrent clients create, update and delete objects, then
//! restart it on the same data dir and check that every acknowledged write
//! is there, and that nothing a client never sent appears.
//!
//! Each round: 8 writers run against the server for a random 150–700 ms, the
//! server is killed with SIGKILL mid-stream, and the next round restarts it.
//! `IRONKUBE_CRASH_ROUNDS` (default 4) sets the number of rounds, so a longer
//! local run is `IRONKUBE_CRASH_ROUNDS=50 cargo test --test e2e_durability`.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::Server;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use rand::Rng;
use serde_json::json;

/// What the clients were told, collected across writers.
#[derive(Default)]
struct Ledger {
    /// Creates answered 201.
    created: BTreeSet<String>,
    /// Deletes sent (answered or not: an unanswered one may have happened).
    delete_sent: BTreeSet<String>,
    /// Deletes answered 200.
    deleted: BTreeSet<String>,
    /// Per counter object: (highest value acknowledged, highest value sent).
    counters: BTreeMap<String, (u64, u64)>,
}

fn configmap(name: &str, n: u64) -> ConfigMap {
    serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name, "labels": {"durability": "yes"}},
        "data": {"n": n.to_string()}
    }))
    .expect("configmap")
}

/// One writer: creates, patches its counter, and deletes some of its own
/// objects until the server goes away.
async fn writer(client: kube::Client, id: usize, round: usize, ledger: Arc<Mutex<Ledger>>) {
    let cms: Api<ConfigMap> = Api::namespaced(client, "default");
    let counter = format!("counter-{id}");
    let mut mine: Vec<String> = Vec::new();
    for i in 0u64.. {
        let name = format!("w{id}-r{round}-{i}");
        match cms
            .create(&PostParams::default(), &configmap(&name, i))
            .await
        {
            Ok(_) => {
                ledger.lock().unwrap().created.insert(name.clone());
                mine.push(name);
            }
            Err(kube::Error::Api(s)) => panic!("unexpected API error on create: {s:?}"),
            Err(_) => return, // the server is gone
        }
        if i % 3 == 0 {
            let next = {
                let mut l = ledger.lock().unwrap();
                let entry = l.counters.entry(counter.clone()).or_insert((0, 0));
                entry.1 += 1;
                entry.1
            };
            let patch = Patch::Apply(json!({
                "apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": counter},
                "data": {"n": next.to_string()}
            }));
            let params = PatchParams::apply("durability").force();
            match cms.patch(&counter, &params, &patch).await {
                Ok(_) => {
                    let mut l = ledger.lock().unwrap();
                    let entry = l.counters.entry(counter.clone()).or_insert((0, 0));
                    entry.0 = entry.0.max(next);
                }
                Err(kube::Error::Api(s)) => panic!("unexpected API error on apply: {s:?}"),
                Err(_) => return,
            }
        }
        if i % 4 == 3 && !mine.is_empty() {
            let victim = mine.remove(0);
            ledger.lock().unwrap().delete_sent.insert(victim.clone());
            match cms.delete(&victim, &DeleteParams::default()).await {
                Ok(_) => {
                    ledger.lock().unwrap().deleted.insert(victim);
                }
                Err(kube::Error::Api(s)) => panic!("unexpected API error on delete: {s:?}"),
                Err(_) => return,
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_writes_survive_kill_9_under_load() {
    let rounds: usize = std::env::var("IRONKUBE_CRASH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(4);
    let tmp = tempfile::tempdir().expect("tempdir");
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let mut acknowledged_total = 0usize;
    for round in 0..rounds {
        let mut server = Server::start_in(tmp.path(), &["--disable-controllers"]);
        let client = server.client().await;
        // What survived the previous kill must still be exactly right.
        check(&client, &ledger).await;
        let writers: Vec<_> = (0..8)
            .map(|id| tokio::spawn(writer(client.clone(), id, round, ledger.clone())))
            .collect();
        let run_for = rand::rng().random_range(150..700);
        tokio::time::sleep(Duration::from_millis(run_for)).await;
        server.kill9();
        for w in writers {
            tokio::time::timeout(Duration::from_secs(60), w)
                .await
                .expect("a writer hung after the kill")
                .expect("writer panicked");
        }
        acknowledged_total = ledger.lock().unwrap().created.len();
    }
    let server = Server::start_in(tmp.path(), &["--disable-controllers"]);
    check(&server.client().await, &ledger).await;
    assert!(
        acknowledged_total > 0,
        "no write was acknowledged in {rounds} rounds"
    );
    eprintln!(
        "{rounds} kill -9 rounds: {acknowledged_total} acknowledged creates, {} deletes, all intact",
        ledger.lock().unwrap().deleted.len()
    );
}

/// Every acknowledged create is present unless a delete of it was sent (one
/// sent but unanswered may or may not have happened), every
/// acknowledged delete is gone, and each counter holds a value between the
/// last one acknowledged and the last one sent.
async fn check(client: &kube::Client, ledger: &Mutex<Ledger>) {
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let list = cms
        .list(&ListParams::default())
        .await
        .expect("list after restart");
    let stored: BTreeMap<String, ConfigMap> = list
        .items
        .into_iter()
        .filter_map(|cm| cm.metadata.name.clone().map(|n| (n, cm)))
        .collect();
    let l = ledger.lock().unwrap();
    for name in &l.created {
        if !l.delete_sent.contains(name) {
            assert!(
                stored.contains_key(name),
                "acknowledged create of {name} was lost"
            );
        }
    }
    for name in &l.deleted {
        assert!(
            !stored.contains_key(name),
            "acknowledged delete of {name} was lost"
        );
    }
    for (name, &(acked, sent)) in &l.counters {
        let value: u64 = stored
            .get(name)
            .and_then(|cm| cm.data.as_ref()?.get("n")?.parse().ok())
            .unwrap_or(0);
        assert!(
            acked <= value && value <= sent,
            "{name} holds {value}, but {acked} was acknowledged and {sent} the last sent"
        );
    }
    // Nothing appears that no client asked for.
    for name in stored.keys() {
        assert!(
            name.starts_with("counter-") || name.starts_with('w') || name == "kube-root-ca.crt",
            "unexpected object {name}"
        );
    }
}
