//! The backend-independent storage tests (in the spirit of upstream's
//! `apiserver/pkg/storage/testing/store_tests.go`): every backend must pass
//! all of them. Add a backend by adding one line to `backends()`.

use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;

use super::embedded::RedbLog;
use super::etcd::testing::TestEtcd;
use super::etcd::{EtcdConfig, EtcdStore};
use super::mvcc::{Config, MvccStore};
use super::*;

/// A backend and what must outlive it (its directory, its etcd).
type Backend = (
    &'static str,
    Box<dyn Storage>,
    Option<tempfile::TempDir>,
    Option<TestEtcd>,
);

async fn backends(config: Config) -> Vec<Backend> {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = RedbLog::open(&dir.path().join("test.redb")).expect("open redb");
    let etcd = TestEtcd::start();
    let etcd_config = EtcdConfig {
        servers: vec![etcd.client_url.clone()],
        ..EtcdConfig::default()
    };
    let cache = config.clone();
    let on_etcd = EtcdStore::open(etcd_config, cache, Duration::from_secs(20))
        .await
        .expect("etcd store");
    vec![
        (
            "memory",
            Box::new(MvccStore::open(mvcc::NoPersistence, config.clone()).expect("memory")),
            None,
            None,
        ),
        (
            "embedded",
            Box::new(MvccStore::open(log, config).expect("embedded")),
            Some(dir),
            None,
        ),
        ("etcd", Box::new(on_etcd), None, Some(etcd)),
    ]
}

fn b(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

async fn for_each(config: Config, f: impl AsyncFn(&str, &dyn Storage)) {
    for (name, store, _dir, _etcd) in backends(config).await {
        f(name, store.as_ref()).await;
        store.close().await;
    }
}

#[tokio::test]
async fn create_get_update_delete() {
    for_each(Config::default(), async |name, s| {
        // etcd starts at revision 1, the others at 0.
        let r = s.current_revision();
        let kv = s.create("/registry/r/pods/ns/a", b("1")).await.unwrap();
        assert_eq!(kv.mod_revision, r + 1, "{name}");
        assert_eq!(kv.create_revision, r + 1, "{name}");
        assert!(matches!(
            s.create("/registry/r/pods/ns/a", b("x")).await,
            Err(StorageError::AlreadyExists(_))
        ));
        let got = s.get("/registry/r/pods/ns/a").await.unwrap().unwrap();
        assert_eq!(got.value, b("1"));
        let up = s
            .update(
                "/registry/r/pods/ns/a",
                Precondition::ModRevision(r + 1),
                b("2"),
            )
            .await
            .unwrap();
        assert_eq!(
            (up.create_revision, up.mod_revision),
            (r + 1, r + 2),
            "{name}"
        );
        match s
            .update(
                "/registry/r/pods/ns/a",
                Precondition::ModRevision(r + 1),
                b("3"),
            )
            .await
        {
            Err(StorageError::Conflict { current, .. }) => assert_eq!(current.value, b("2")),
            other => panic!("{name}: expected conflict, got {other:?}"),
        }
        assert!(matches!(
            s.update("/registry/r/pods/ns/zz", Precondition::None, b("3"))
                .await,
            Err(StorageError::NotFound(_))
        ));
        let (old, rev) = s
            .delete("/registry/r/pods/ns/a", Precondition::None)
            .await
            .unwrap();
        assert_eq!((old.value, rev), (b("2"), r + 3), "{name}");
        assert!(s.get("/registry/r/pods/ns/a").await.unwrap().is_none());
        assert_eq!(s.current_revision(), r + 3);
        assert!(matches!(
            s.delete("/registry/r/pods/ns/a", Precondition::None).await,
            Err(StorageError::NotFound(_))
        ));
    })
    .await;
}

#[tokio::test]
async fn list_prefix_limit_and_continue() {
    for_each(Config::default(), async |name, s| {
        let r = s.current_revision();
        for k in [
            "/registry/r/pods/a/1",
            "/registry/r/pods/a/2",
            "/registry/r/pods/b/1",
            "/registry/r/podsx/a/1",
            "/registry/r/pod/a",
        ] {
            s.create(k, b(k)).await.unwrap();
        }
        let all = s
            .list("/registry/r/pods/", &ListOptions::default())
            .await
            .unwrap();
        let keys: Vec<_> = all.items.iter().map(|i| i.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "/registry/r/pods/a/1",
                "/registry/r/pods/a/2",
                "/registry/r/pods/b/1"
            ],
            "{name}"
        );
        assert_eq!(all.revision, r + 5);
        let page = s
            .list(
                "/registry/r/pods/",
                &ListOptions {
                    limit: 2,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(page.items.len(), 2);
        assert_eq!(page.remaining, 1);
        let next = s
            .list(
                "/registry/r/pods/",
                &ListOptions {
                    start_after: Some(page.items[1].key.clone()),
                    limit: 2,
                    revision: page.revision,
                    any_recent: false,
                },
            )
            .await
            .unwrap();
        let keys: Vec<_> = next.items.iter().map(|i| i.key.as_str()).collect();
        assert_eq!(keys, ["/registry/r/pods/b/1"], "{name}");
        assert_eq!(next.remaining, 0);
    })
    .await;
}

#[tokio::test]
async fn list_at_past_revision_is_a_snapshot() {
    for_each(Config::default(), async |name, s| {
        let r = s.current_revision();
        s.create("/registry/k/a", b("a1")).await.unwrap(); // 1
        s.create("/registry/k/b", b("b1")).await.unwrap(); // 2
        let snap = s.current_revision();
        s.update("/registry/k/a", Precondition::None, b("a2"))
            .await
            .unwrap(); // 3
        s.delete("/registry/k/b", Precondition::None).await.unwrap(); // 4
        s.create("/registry/k/c", b("c1")).await.unwrap(); // 5
        let old = s
            .list(
                "/registry/k/",
                &ListOptions {
                    revision: snap,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let got: Vec<_> = old
            .items
            .iter()
            .map(|i| (i.key.as_str(), i.value.clone(), i.mod_revision))
            .collect();
        assert_eq!(
            got,
            [
                ("/registry/k/a", b("a1"), r + 1),
                ("/registry/k/b", b("b1"), r + 2)
            ],
            "{name}"
        );
        assert!(matches!(
            s.list(
                "/registry/k/",
                &ListOptions {
                    revision: r + 99,
                    ..Default::default()
                }
            )
            .await,
            Err(StorageError::TooLarge { .. })
        ));
    })
    .await;
}

#[tokio::test]
async fn watch_replays_history_then_live_in_order() {
    for_each(Config::default(), async |name, s| {
        let r = s.current_revision();
        s.create("/registry/w/a", b("1")).await.unwrap(); // 1
        s.create("/registry/x/a", b("1")).await.unwrap(); // 2
        s.update("/registry/w/a", Precondition::None, b("2"))
            .await
            .unwrap(); // 3
        let mut w = s.watch("/registry/w/", r + 1).unwrap();
        s.delete("/registry/w/a", Precondition::None).await.unwrap(); // 4
        let mut seen = Vec::new();
        for _ in 0..2 {
            let ev = tokio::time::timeout(Duration::from_secs(5), w.next())
                .await
                .expect("event in time")
                .expect("stream open")
                .expect("no error");
            seen.push((ev.event_type, ev.revision));
        }
        assert_eq!(
            seen,
            [(EventType::Modified, r + 3), (EventType::Deleted, r + 4)],
            "{name}"
        );
    })
    .await;
}

#[tokio::test]
async fn watch_too_old_is_expired() {
    let config = Config {
        history: 2,
        ..Config::default()
    };
    for_each(config, async |name, s| {
        let r = s.current_revision();
        for i in 0..5 {
            s.create(&format!("/registry/e/{i}"), b("v")).await.unwrap();
        }
        assert!(
            matches!(
                s.watch("/registry/e/", r + 1),
                Err(StorageError::Expired { .. })
            ),
            "{name}"
        );
        assert_eq!(s.oldest_revision(), r + 3);
        assert!(s.watch("/registry/e/", r + 3).is_ok());
        if name == "etcd" {
            // Past the window, etcd itself answers until it compacts
            // (upstream's cacher hands such lists to etcd).
            let old = ListOptions {
                revision: r + 1,
                ..Default::default()
            };
            assert_eq!(s.list("/registry/e/", &old).await.unwrap().items.len(), 1);
            return;
        }
        assert!(matches!(
            s.list(
                "/registry/e/",
                &ListOptions {
                    revision: r + 1,
                    ..Default::default()
                }
            )
            .await,
            Err(StorageError::Expired { .. })
        ));
    })
    .await;
}

#[tokio::test]
async fn history_is_bounded_by_bytes() {
    // Each change of a 1000-byte value costs a little over 1000 bytes, so a
    // 3500-byte budget keeps the last three (more than the 2 always kept).
    let config = Config {
        history_bytes: 3500,
        history_min: 2,
        ..Config::default()
    };
    for_each(config, async |name, s| {
        let r = s.current_revision();
        let big = Bytes::from(vec![b'x'; 1000]);
        for i in 0..6 {
            s.create(&format!("/registry/h/{i}"), big.clone())
                .await
                .unwrap();
        }
        assert_eq!(s.oldest_revision(), r + 3, "{name}");
        assert!(
            matches!(
                s.watch("/registry/h/", r + 2),
                Err(StorageError::Expired { .. })
            ),
            "{name}"
        );
        let mut w = s.watch("/registry/h/", r + 3).unwrap();
        let first = tokio::time::timeout(Duration::from_secs(5), w.next())
            .await
            .expect("event in time")
            .expect("stream open")
            .expect("no error");
        assert_eq!(first.revision, r + 4, "{name}");
    })
    .await;
}

#[tokio::test]
async fn the_latest_changes_are_kept_whatever_their_size() {
    let config = Config {
        history_bytes: 0,
        history_min: 2,
        ..Config::default()
    };
    for_each(config, async |name, s| {
        let r = s.current_revision();
        for i in 0..5 {
            s.create(&format!("/registry/m/{i}"), b("v")).await.unwrap();
        }
        assert_eq!(s.oldest_revision(), r + 3, "{name}");
        assert!(s.watch("/registry/m/", r + 3).is_ok(), "{name}");
    })
    .await;
}

#[tokio::test]
async fn slow_watcher_is_closed_not_blocking() {
    let config = Config {
        watch_buffer: 16,
        ..Config::default()
    };
    for_each(config, async |name, s| {
        let mut slow = s.watch("/registry/s/", s.current_revision()).unwrap();
        for i in 0..100 {
            s.create(&format!("/registry/s/{i:03}"), b("v"))
                .await
                .unwrap();
        }
        let mut errored = false;
        while let Ok(Some(ev)) = tokio::time::timeout(Duration::from_secs(5), slow.next()).await {
            if ev.is_err() {
                errored = true;
                break;
            }
        }
        assert!(errored, "{name}: a lagging watcher gets an error");
    })
    .await;
}

#[tokio::test]
async fn concurrent_writers_get_unique_increasing_revisions() {
    for_each(Config::default(), async |name, s| {
        let r = s.current_revision();
        let keys: Vec<String> = (0..200).map(|i| format!("/registry/c/{i}")).collect();
        let futs = keys.iter().map(|k| s.create(k, b("v")));
        let mut revs: Vec<_> = futures::future::join_all(futs)
            .await
            .into_iter()
            .map(|r| r.unwrap().mod_revision)
            .collect();
        revs.sort();
        revs.dedup();
        assert_eq!(revs.len(), 200, "{name}");
        assert_eq!(s.current_revision(), r + 200);
    })
    .await;
}

/// etcd only: a list at a compacted revision is 410 Expired, and the watch
/// cache relists after the compaction and carries on.
#[tokio::test]
async fn etcd_compacted_revision_is_expired_and_the_cache_recovers() {
    let etcd = TestEtcd::start();
    let cfg = EtcdConfig {
        servers: vec![etcd.client_url.clone()],
        ..EtcdConfig::default()
    };
    let small = Config {
        history: 2,
        ..Config::default()
    };
    let s = EtcdStore::open(cfg, small, Duration::from_secs(20))
        .await
        .expect("etcd store");
    let r = s.current_revision();
    for i in 0..5 {
        s.create(&format!("/registry/z/{i}"), b("v")).await.unwrap();
    }
    s.client().compact((r + 4) as i64).await.expect("compact");
    let old = ListOptions {
        revision: r + 1,
        ..Default::default()
    };
    assert!(matches!(
        s.list("/registry/z/", &old).await,
        Err(StorageError::Expired { .. })
    ));
    s.create("/registry/z/9", b("v")).await.unwrap();
    let all = s
        .list("/registry/z/", &ListOptions::default())
        .await
        .unwrap();
    assert_eq!(all.items.len(), 6);
    s.close().await;
}

/// etcd only: a write made by another client (another replica) is seen by
/// a consistent list and by a watch.
#[tokio::test]
async fn etcd_sees_writes_of_another_replica() {
    let etcd = TestEtcd::start();
    let cfg = EtcdConfig {
        servers: vec![etcd.client_url.clone()],
        ..EtcdConfig::default()
    };
    let a = EtcdStore::open(cfg.clone(), Config::default(), Duration::from_secs(20))
        .await
        .expect("replica a");
    let b_ = EtcdStore::open(cfg, Config::default(), Duration::from_secs(20))
        .await
        .expect("replica b");
    let mut w = b_.watch("/registry/p/", b_.current_revision()).unwrap();
    let kv = a.create("/registry/p/x", b("1")).await.unwrap();
    let seen = b_
        .list("/registry/p/", &ListOptions::default())
        .await
        .unwrap();
    assert_eq!(seen.items.len(), 1);
    assert!(seen.revision >= kv.mod_revision);
    let ev = tokio::time::timeout(Duration::from_secs(5), w.next())
        .await
        .expect("event in time")
        .expect("stream open")
        .expect("no error");
    assert_eq!(
        (ev.event_type, ev.revision),
        (EventType::Created, kv.mod_revision)
    );
    // Compare-and-swap across replicas: b's stale precondition conflicts.
    a.update(
        "/registry/p/x",
        Precondition::ModRevision(kv.mod_revision),
        b("2"),
    )
    .await
    .unwrap();
    assert!(matches!(
        b_.update(
            "/registry/p/x",
            Precondition::ModRevision(kv.mod_revision),
            b("3")
        )
        .await,
        Err(StorageError::Conflict { .. })
    ));
    a.close().await;
    b_.close().await;
}

/// etcd only: the compactor drops old revisions every interval (upstream's
/// `--etcd-compaction-interval`), and the store carries on.
#[tokio::test]
async fn etcd_history_is_compacted_every_interval() {
    let etcd = TestEtcd::start();
    let cfg = EtcdConfig {
        servers: vec![etcd.client_url.clone()],
        compaction_interval: Duration::from_millis(300),
        ..EtcdConfig::default()
    };
    let small = Config {
        history: 2,
        ..Config::default()
    };
    let s = EtcdStore::open(cfg, small, Duration::from_secs(20))
        .await
        .expect("etcd store");
    let r = s.current_revision();
    for i in 0..5 {
        s.create(&format!("/registry/q/{i}"), b("v")).await.unwrap();
    }
    let old = ListOptions {
        revision: r + 1,
        ..Default::default()
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        match s.list("/registry/q/", &old).await {
            Err(StorageError::Expired { .. }) => break,
            Ok(_) if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await
            }
            other => panic!("not compacted in time: {other:?}"),
        }
    }
    s.create("/registry/q/after", b("v")).await.unwrap();
    let all = s
        .list("/registry/q/", &ListOptions::default())
        .await
        .unwrap();
    assert_eq!(all.items.len(), 6);
    s.close().await;
}

/// etcd only: in an etcd shared with others, writes outside the prefix move
/// etcd's revision past anything the watch delivers; consistent lists and
/// the pages after them are still answered (from the cache, by a marker
/// write the watch does deliver, or from etcd), never 504.
#[tokio::test]
async fn etcd_shared_with_foreign_writes() {
    let etcd = TestEtcd::start();
    let cfg = EtcdConfig {
        servers: vec![etcd.client_url.clone()],
        ..EtcdConfig::default()
    };
    let s = EtcdStore::open(cfg, Config::default(), Duration::from_secs(20))
        .await
        .expect("etcd store");
    for i in 0..3 {
        s.create(&format!("/registry/f/{i}"), b("v")).await.unwrap();
    }
    let foreign = super::etcd::proto::PutRequest {
        key: b"/elsewhere/x".to_vec(),
        value: b("1"),
        ..Default::default()
    };
    s.client().put(foreign).await.expect("foreign write");
    let page = ListOptions {
        limit: 2,
        ..Default::default()
    };
    let first = s.list("/registry/f/", &page).await.unwrap();
    assert_eq!(first.items.len(), 2);
    let next = ListOptions {
        start_after: Some(first.items[1].key.clone()),
        limit: 2,
        revision: first.revision,
        any_recent: false,
    };
    let second = s.list("/registry/f/", &next).await.unwrap();
    assert_eq!(second.items.len(), 1);
    s.close().await;
}

/// etcd only: `--etcd-cafile/--etcd-certfile/--etcd-keyfile` against an etcd
/// that serves TLS and requires client certificates; without the client
/// certificate the store cannot open.
#[tokio::test]
async fn etcd_over_tls_with_client_certificates() {
    let etcd = TestEtcd::start_tls();
    let tls = etcd.tls().expect("tls files").clone();
    let cfg = EtcdConfig {
        servers: vec![etcd.client_url.clone()],
        ca_file: Some(tls.ca.clone()),
        cert_file: Some(tls.client_cert.clone()),
        key_file: Some(tls.client_key.clone()),
        ..EtcdConfig::default()
    };
    let s = EtcdStore::open(cfg.clone(), Config::default(), Duration::from_secs(20))
        .await
        .expect("etcd store over TLS");
    s.create("/registry/t/a", b("1")).await.unwrap();
    assert_eq!(
        s.list("/registry/t/", &ListOptions::default())
            .await
            .unwrap()
            .items
            .len(),
        1
    );
    assert!(s.check().await.is_ok());
    s.close().await;
    let anonymous = EtcdConfig {
        cert_file: None,
        key_file: None,
        ..cfg
    };
    assert!(
        EtcdStore::open(anonymous, Config::default(), Duration::from_secs(1))
            .await
            .is_err()
    );
}
