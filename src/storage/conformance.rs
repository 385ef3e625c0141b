//! The backend-independent storage tests (in the spirit of upstream's
//! `apiserver/pkg/storage/testing/store_tests.go`): every backend must pass
//! all of them. Add a backend by adding one line to `backends()`.

use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;

use super::embedded::RedbLog;
use super::mvcc::{Config, MvccStore};
use super::*;

type Backend = (&'static str, Box<dyn Storage>, Option<tempfile::TempDir>);

fn backends(config: Config) -> Vec<Backend> {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = RedbLog::open(&dir.path().join("test.redb")).expect("open redb");
    vec![
        (
            "memory",
            Box::new(MvccStore::open(mvcc::NoPersistence, config.clone()).expect("memory")),
            None,
        ),
        (
            "embedded",
            Box::new(MvccStore::open(log, config).expect("embedded")),
            Some(dir),
        ),
    ]
}

fn b(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

async fn for_each(config: Config, f: impl AsyncFn(&str, &dyn Storage)) {
    for (name, store, _dir) in backends(config) {
        f(name, store.as_ref()).await;
        store.close().await;
    }
}

#[tokio::test]
async fn create_get_update_delete() {
    for_each(Config::default(), async |name, s| {
        let kv = s.create("/r/pods/ns/a", b("1")).await.unwrap();
        assert_eq!(kv.mod_revision, 1, "{name}");
        assert_eq!(kv.create_revision, 1, "{name}");
        assert!(matches!(
            s.create("/r/pods/ns/a", b("x")).await,
            Err(StorageError::AlreadyExists(_))
        ));
        let got = s.get("/r/pods/ns/a").await.unwrap().unwrap();
        assert_eq!(got.value, b("1"));
        let up = s
            .update("/r/pods/ns/a", Precondition::ModRevision(1), b("2"))
            .await
            .unwrap();
        assert_eq!((up.create_revision, up.mod_revision), (1, 2), "{name}");
        match s
            .update("/r/pods/ns/a", Precondition::ModRevision(1), b("3"))
            .await
        {
            Err(StorageError::Conflict { current, .. }) => assert_eq!(current.value, b("2")),
            other => panic!("{name}: expected conflict, got {other:?}"),
        }
        assert!(matches!(
            s.update("/r/pods/ns/zz", Precondition::None, b("3")).await,
            Err(StorageError::NotFound(_))
        ));
        let (old, rev) = s.delete("/r/pods/ns/a", Precondition::None).await.unwrap();
        assert_eq!((old.value, rev), (b("2"), 3), "{name}");
        assert!(s.get("/r/pods/ns/a").await.unwrap().is_none());
        assert_eq!(s.current_revision(), 3);
        assert!(matches!(
            s.delete("/r/pods/ns/a", Precondition::None).await,
            Err(StorageError::NotFound(_))
        ));
    })
    .await;
}

#[tokio::test]
async fn list_prefix_limit_and_continue() {
    for_each(Config::default(), async |name, s| {
        for k in [
            "/r/pods/a/1",
            "/r/pods/a/2",
            "/r/pods/b/1",
            "/r/podsx/a/1",
            "/r/pod/a",
        ] {
            s.create(k, b(k)).await.unwrap();
        }
        let all = s.list("/r/pods/", &ListOptions::default()).await.unwrap();
        let keys: Vec<_> = all.items.iter().map(|i| i.key.as_str()).collect();
        assert_eq!(
            keys,
            ["/r/pods/a/1", "/r/pods/a/2", "/r/pods/b/1"],
            "{name}"
        );
        assert_eq!(all.revision, 5);
        let page = s
            .list(
                "/r/pods/",
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
                "/r/pods/",
                &ListOptions {
                    start_after: Some(page.items[1].key.clone()),
                    limit: 2,
                    revision: page.revision,
                },
            )
            .await
            .unwrap();
        let keys: Vec<_> = next.items.iter().map(|i| i.key.as_str()).collect();
        assert_eq!(keys, ["/r/pods/b/1"], "{name}");
        assert_eq!(next.remaining, 0);
    })
    .await;
}

#[tokio::test]
async fn list_at_past_revision_is_a_snapshot() {
    for_each(Config::default(), async |name, s| {
        s.create("/k/a", b("a1")).await.unwrap(); // 1
        s.create("/k/b", b("b1")).await.unwrap(); // 2
        let snap = s.current_revision();
        s.update("/k/a", Precondition::None, b("a2")).await.unwrap(); // 3
        s.delete("/k/b", Precondition::None).await.unwrap(); // 4
        s.create("/k/c", b("c1")).await.unwrap(); // 5
        let old = s
            .list(
                "/k/",
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
        assert_eq!(got, [("/k/a", b("a1"), 1), ("/k/b", b("b1"), 2)], "{name}");
        assert!(matches!(
            s.list(
                "/k/",
                &ListOptions {
                    revision: 99,
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
        s.create("/w/a", b("1")).await.unwrap(); // 1
        s.create("/x/a", b("1")).await.unwrap(); // 2
        s.update("/w/a", Precondition::None, b("2")).await.unwrap(); // 3
        let mut w = s.watch("/w/", 1).unwrap();
        s.delete("/w/a", Precondition::None).await.unwrap(); // 4
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
            [(EventType::Modified, 3), (EventType::Deleted, 4)],
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
        for i in 0..5 {
            s.create(&format!("/e/{i}"), b("v")).await.unwrap();
        }
        assert!(
            matches!(s.watch("/e/", 1), Err(StorageError::Expired { .. })),
            "{name}"
        );
        assert_eq!(s.oldest_revision(), 3);
        assert!(s.watch("/e/", 3).is_ok());
        assert!(matches!(
            s.list(
                "/e/",
                &ListOptions {
                    revision: 1,
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
        let big = Bytes::from(vec![b'x'; 1000]);
        for i in 0..6 {
            s.create(&format!("/h/{i}"), big.clone()).await.unwrap();
        }
        assert_eq!(s.oldest_revision(), 3, "{name}");
        assert!(
            matches!(s.watch("/h/", 2), Err(StorageError::Expired { .. })),
            "{name}"
        );
        let mut w = s.watch("/h/", 3).unwrap();
        let first = tokio::time::timeout(Duration::from_secs(5), w.next())
            .await
            .expect("event in time")
            .expect("stream open")
            .expect("no error");
        assert_eq!(first.revision, 4, "{name}");
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
        for i in 0..5 {
            s.create(&format!("/m/{i}"), b("v")).await.unwrap();
        }
        assert_eq!(s.oldest_revision(), 3, "{name}");
        assert!(s.watch("/m/", 3).is_ok(), "{name}");
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
        let mut slow = s.watch("/s/", 0).unwrap();
        for i in 0..100 {
            s.create(&format!("/s/{i:03}"), b("v")).await.unwrap();
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
        let keys: Vec<String> = (0..200).map(|i| format!("/c/{i}")).collect();
        let futs = keys.iter().map(|k| s.create(k, b("v")));
        let mut revs: Vec<_> = futures::future::join_all(futs)
            .await
            .into_iter()
            .map(|r| r.unwrap().mod_revision)
            .collect();
        revs.sort();
        revs.dedup();
        assert_eq!(revs.len(), 200, "{name}");
        assert_eq!(s.current_revision(), 200);
    })
    .await;
}
