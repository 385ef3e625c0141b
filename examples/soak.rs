//! Soak run (not a test): churn ConfigMaps against any API server while a
//! kube-runtime reflector and a raw watch follow them, then check that
//! - the reflector's cache equals a fresh list (names and resourceVersions),
//! - the raw watch's events, replayed on its initial list, give the same
//!   state, with strictly increasing resourceVersions (nothing missed or
//!   duplicated across its reconnects),
//! - 410 Expired was survived (the server should run with a small
//!   `--watch-history` so resumes expire).
//!
//! `KUBECONFIG=... cargo run --release --example soak -- <seconds>`
//! (`hack/soak.sh` starts a server, a `kubectl get --watch`, and this.)

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Secret};
use kube::api::{
    Api, DeleteParams, ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams,
};
use kube::runtime::{reflector, watcher};
use serde_json::json;

const NS: &str = "soak";

fn state_of(list: &[ConfigMap]) -> BTreeMap<String, String> {
    list.iter()
        .filter_map(|c| {
            Some((
                c.metadata.name.clone()?,
                c.metadata.resource_version.clone()?,
            ))
        })
        .collect()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let seconds: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(60);
    // SOAK_RATE: most writes per second (default: as fast as they go).
    let rate: Option<u64> = std::env::var("SOAK_RATE").ok().and_then(|r| r.parse().ok());
    // Reflector stalls only in runs long enough to resume after them.
    // SOAK_STALL_EVERY: seconds between them (default 300).
    let stall_every: u64 = std::env::var("SOAK_STALL_EVERY")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(300);
    let stalls = seconds >= 2 * stall_every;
    let client = kube::Client::try_default().await?;
    let nss: Api<Namespace> = Api::all(client.clone());
    let _ = nss
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": NS}}))?,
        )
        .await;
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), NS);
    let secrets: Api<Secret> = Api::namespaced(client.clone(), NS);

    // The reflector, resuming every 20 s so that expiry is exercised.
    let (reader, writer) = reflector::store::<ConfigMap>();
    let expired = Arc::new(AtomicUsize::new(0));
    let exp = expired.clone();
    let refl = tokio::spawn(async move {
        let mut s = reflector::reflector(
            writer,
            watcher(
                Api::<ConfigMap>::namespaced(client.clone(), NS),
                watcher::Config::default().timeout(20),
            ),
        )
        .boxed();
        // Every 5 minutes the reflector stops reading for 60 s, like a
        // stalled controller: the server closes its watch as unresponsive,
        // and by the time it resumes its revision has left the history, so
        // it must get 410 and relist.
        let mut last_stall = Instant::now();
        while let Some(ev) = s.next().await {
            if let Err(watcher::Error::WatchError(st)) = &ev
                && st.code == 410
            {
                exp.fetch_add(1, Ordering::SeqCst);
            }
            if stalls && last_stall.elapsed() > Duration::from_secs(stall_every) {
                tokio::time::sleep(Duration::from_secs(60)).await;
                last_stall = Instant::now();
            }
        }
    });

    // The raw watch: initial list, then events, resumed from the last
    // revision on each end; on 410 it starts over from a fresh list.
    let raw_cms = cms.clone();
    let raw_expired = Arc::new(AtomicUsize::new(0));
    let raw_exp = raw_expired.clone();
    let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
    let raw = tokio::spawn(async move {
        let mut events = 0u64;
        let mut cycles = 0u64;
        'outer: loop {
            let list = raw_cms.list(&ListParams::default()).await?;
            let mut state = state_of(&list.items);
            let mut rv = list.metadata.resource_version.clone().unwrap_or_default();
            let mut last: u64 = rv.parse().unwrap_or(0);
            loop {
                // Every other time a slow client: it resumes 3 s after the
                // watch ended, by when its revision has left the history.
                cycles += 1;
                if cycles.is_multiple_of(2) {
                    tokio::time::sleep(Duration::from_secs(3)).await;
                }
                let mut stream = raw_cms
                    .watch(&WatchParams::default().timeout(15), &rv)
                    .await?
                    .boxed();
                loop {
                    tokio::select! {
                        ev = stream.try_next() => {
                            match ev? {
                                None => break,
                                Some(WatchEvent::Added(o)) | Some(WatchEvent::Modified(o)) => {
                                    let r: u64 = o.metadata.resource_version.clone().unwrap_or_default().parse()?;
                                    anyhow::ensure!(r > last, "revision went back or repeated: {r} after {last}");
                                    last = r;
                                    rv = r.to_string();
                                    state.insert(o.metadata.name.clone().unwrap_or_default(), rv.clone());
                                    events += 1;
                                }
                                Some(WatchEvent::Deleted(o)) => {
                                    let r: u64 = o.metadata.resource_version.clone().unwrap_or_default().parse()?;
                                    anyhow::ensure!(r > last, "revision went back or repeated: {r} after {last}");
                                    last = r;
                                    rv = r.to_string();
                                    state.remove(&o.metadata.name.clone().unwrap_or_default());
                                    events += 1;
                                }
                                Some(WatchEvent::Bookmark(b)) => rv = b.metadata.resource_version,
                                Some(WatchEvent::Error(e)) if e.code == 410 => {
                                    raw_exp.fetch_add(1, Ordering::SeqCst);
                                    continue 'outer;
                                }
                                Some(WatchEvent::Error(e)) => anyhow::bail!("watch error: {e:?}"),
                            }
                        }
                        _ = stop_rx.changed() => return Ok::<_, anyhow::Error>((state, events)),
                    }
                }
            }
        }
    });

    // Churn: creates, updates and deletes over 300 names, plus bursts of
    // Secrets that push the history window forward.
    let start = Instant::now();
    let mut ops = 0u64;
    let mut refused = 0u64;
    let mut errors = 0u64;
    let mut i: u64 = 0;
    let mut pace = rate.map(|r| tokio::time::interval(Duration::from_micros(1_000_000 / r.max(1))));
    while start.elapsed() < Duration::from_secs(seconds) {
        if let Some(p) = pace.as_mut() {
            p.tick().await;
        }
        i += 1;
        // A cheap pseudo-random walk over 300 names and three operations.
        let h = i
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407)
            >> 33;
        let name = format!("c{}", h % 300);
        let r = match (h / 300) % 3 {
            0 => cms
                .create(
                    &PostParams::default(),
                    &serde_json::from_value(
                        json!({"metadata": {"name": name}, "data": {"i": i.to_string()}}),
                    )?,
                )
                .await
                .map(|_| ()),
            1 => cms
                .patch(
                    &name,
                    &PatchParams::default(),
                    &Patch::Merge(json!({"data": {"i": i.to_string()}})),
                )
                .await
                .map(|_| ()),
            _ => cms
                .delete(&name, &DeleteParams::default())
                .await
                .map(|_| ()),
        };
        match r {
            Ok(()) => ops += 1,
            Err(kube::Error::Api(s)) if s.code == 404 || s.code == 409 => refused += 1,
            Err(_) => errors += 1,
        }
        if i.is_multiple_of(500) {
            for j in 0..50 {
                let s: Secret =
                    serde_json::from_value(json!({"metadata": {"name": format!("s{j}")}}))?;
                let _ = secrets
                    .delete(&format!("s{j}"), &DeleteParams::default())
                    .await;
                let _ = secrets.create(&PostParams::default(), &s).await;
            }
        }
    }
    // Let everything settle (a reflector in the middle of a stall needs up
    // to a minute more), then compare.
    tokio::time::sleep(Duration::from_secs(25)).await;
    for _ in 0..90 {
        let fresh = state_of(&cms.list(&ListParams::default()).await?.items);
        let cache: Vec<ConfigMap> = reader.state().iter().map(|c| (**c).clone()).collect();
        if state_of(&cache) == fresh {
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let _ = stop_tx.send(true);
    let (raw_state, raw_events) = raw.await??;
    let fresh = state_of(&cms.list(&ListParams::default()).await?.items);
    let cache: Vec<ConfigMap> = reader.state().iter().map(|c| (**c).clone()).collect();
    let cache = state_of(&cache);
    refl.abort();
    println!(
        "soak: {seconds}s, {ops} writes applied, {refused} refused as expected (404/409), {errors} failed, {} objects at the end; reflector cache == fresh list: {}; raw watch state == fresh list: {} ({raw_events} events); 410s survived: reflector {}, raw watch {}",
        fresh.len(),
        cache == fresh,
        raw_state == fresh,
        expired.load(Ordering::SeqCst),
        raw_expired.load(Ordering::SeqCst),
    );
    anyhow::ensure!(cache == fresh, "reflector cache differs from a fresh list");
    anyhow::ensure!(raw_state == fresh, "watch replay differs from a fresh list");
    Ok(())
}
