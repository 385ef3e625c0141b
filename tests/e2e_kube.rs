//! End-to-end: the `kube` crate (kube-rs, a real client library) against a
//! real `ironkube serve --disable-controllers` over HTTPS with HTTP/2.

mod common;

use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Pod};
use kube::api::{
    Api, DeleteParams, ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams,
};
use serde_json::json;

fn pod(name: &str) -> Pod {
    serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": "nginx"}},
        "spec": {"containers": [{"name": "nginx", "image": "nginx:1.7.9"}]}
    }))
    .unwrap()
}

#[tokio::test]
async fn kube_client_create_get_list_patch_delete() {
    let s = common::Server::bare();
    let client = s.client().await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let created = pods
        .create(&PostParams::default(), &pod("p1"))
        .await
        .unwrap();
    assert_eq!(created.status.unwrap().phase.as_deref(), Some("Pending"));
    pods.create(&PostParams::default(), &pod("p2"))
        .await
        .unwrap();
    let err = pods
        .create(&PostParams::default(), &pod("p2"))
        .await
        .unwrap_err();
    match err {
        kube::Error::Api(s) => {
            assert_eq!(s.code, 409);
            assert_eq!(s.reason, "AlreadyExists");
        }
        other => panic!("{other:?}"),
    }
    let list = pods
        .list(&ListParams::default().labels("app=nginx"))
        .await
        .unwrap();
    let names: Vec<_> = list
        .items
        .iter()
        .map(|p| p.metadata.name.clone().unwrap())
        .collect();
    assert_eq!(names, ["p1", "p2"]);
    let patched = pods
        .patch(
            "p1",
            &PatchParams::default(),
            &Patch::Strategic(
                json!({"spec": {"containers": [{"name": "nginx", "image": "nginx:1.9"}]}}),
            ),
        )
        .await
        .unwrap();
    assert_eq!(
        patched.spec.unwrap().containers[0].image.as_deref(),
        Some("nginx:1.9")
    );
    pods.delete("p1", &DeleteParams::default()).await.unwrap();
    assert!(pods.get_opt("p1").await.unwrap().is_none());

    let deploys: Api<Deployment> = Api::namespaced(client, "default");
    let d: Deployment = serde_json::from_value(json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [{"name": "web", "image": "nginx"}]}}}
    }))
    .unwrap();
    deploys.create(&PostParams::default(), &d).await.unwrap();
    let scale = deploys.get_scale("web").await.unwrap();
    assert_eq!(scale.spec.unwrap().replicas, Some(2));
    deploys
        .patch_scale(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 5}})),
        )
        .await
        .unwrap();
    assert_eq!(
        deploys.get("web").await.unwrap().spec.unwrap().replicas,
        Some(5)
    );
}

#[tokio::test]
async fn kube_watch_sees_changes_in_order() {
    let s = common::Server::bare();
    let client = s.client().await;
    let cms: Api<ConfigMap> = Api::namespaced(client, "default");
    let first: ConfigMap =
        serde_json::from_value(json!({"metadata": {"name": "a", "labels": {"test": "watch"}}}))
            .unwrap();
    let created = cms.create(&PostParams::default(), &first).await.unwrap();
    let rv = created.metadata.resource_version.unwrap();
    // Only our objects: the root-CA publisher writes `kube-root-ca.crt` here too.
    let mut stream = cms
        .watch(
            &WatchParams::default().timeout(10).labels("test=watch"),
            &rv,
        )
        .await
        .unwrap()
        .boxed();
    let second: ConfigMap =
        serde_json::from_value(json!({"metadata": {"name": "b", "labels": {"test": "watch"}}}))
            .unwrap();
    cms.create(&PostParams::default(), &second).await.unwrap();
    cms.patch(
        "b",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"k": "v"}})),
    )
    .await
    .unwrap();
    cms.delete("a", &DeleteParams::default()).await.unwrap();
    let mut seen = Vec::new();
    while seen.len() < 3 {
        let ev = tokio::time::timeout(Duration::from_secs(10), stream.try_next())
            .await
            .expect("event in time")
            .unwrap()
            .expect("stream open");
        match ev {
            WatchEvent::Added(o) => seen.push(format!("ADDED {}", o.metadata.name.unwrap())),
            WatchEvent::Modified(o) => seen.push(format!("MODIFIED {}", o.metadata.name.unwrap())),
            WatchEvent::Deleted(o) => seen.push(format!("DELETED {}", o.metadata.name.unwrap())),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(seen, ["ADDED b", "MODIFIED b", "DELETED a"]);
}

#[tokio::test]
async fn kube_watcher_with_streaming_lists_and_bookmarks() {
    use kube::runtime::watcher;
    let s = common::Server::bare();
    let client = s.client().await;
    let cms: Api<ConfigMap> = Api::namespaced(client, "default");
    for name in ["s1", "s2"] {
        let cm: ConfigMap = serde_json::from_value(
            json!({"metadata": {"name": name, "labels": {"test": "stream"}}}),
        )
        .unwrap();
        cms.create(&PostParams::default(), &cm).await.unwrap();
    }
    let cfg = watcher::Config::default()
        .labels("test=stream")
        .streaming_lists();
    let mut stream = watcher(cms.clone(), cfg).boxed();
    let mut seen = Vec::new();
    loop {
        let ev = tokio::time::timeout(Duration::from_secs(10), stream.try_next())
            .await
            .expect("event in time")
            .unwrap()
            .expect("stream open");
        match ev {
            watcher::Event::Init => seen.push("Init".to_string()),
            watcher::Event::InitApply(o) => {
                seen.push(format!("InitApply {}", o.metadata.name.unwrap()))
            }
            watcher::Event::InitDone => {
                seen.push("InitDone".to_string());
                break;
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(seen, ["Init", "InitApply s1", "InitApply s2", "InitDone"]);
    let cm: ConfigMap =
        serde_json::from_value(json!({"metadata": {"name": "s3", "labels": {"test": "stream"}}}))
            .unwrap();
    cms.create(&PostParams::default(), &cm).await.unwrap();
    let ev = tokio::time::timeout(Duration::from_secs(10), stream.try_next())
        .await
        .expect("event in time")
        .unwrap()
        .expect("stream open");
    match ev {
        watcher::Event::Apply(o) => assert_eq!(o.metadata.name.as_deref(), Some("s3")),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn kube_patch_apply_creates_then_conflicts_then_forces() {
    let s = common::Server::bare();
    let client = s.client().await;
    let cms: Api<ConfigMap> = Api::namespaced(client, "default");
    let doc = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "applied"}, "data": {"a": "1"}});
    let created = cms
        .patch(
            "applied",
            &PatchParams::apply("tool-a"),
            &Patch::Apply(&doc),
        )
        .await
        .unwrap();
    assert_eq!(created.data.unwrap()["a"], "1");
    let managed = created.metadata.managed_fields.unwrap();
    assert_eq!(managed[0].manager.as_deref(), Some("tool-a"));
    assert_eq!(managed[0].operation.as_deref(), Some("Apply"));
    let other = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "applied"}, "data": {"a": "2"}});
    match cms
        .patch(
            "applied",
            &PatchParams::apply("tool-b"),
            &Patch::Apply(&other),
        )
        .await
    {
        Err(kube::Error::Api(st)) => {
            assert_eq!(st.code, 409);
            assert_eq!(
                st.message,
                "Apply failed with 1 conflict: conflict with \"tool-a\": .data.a"
            );
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    let forced = cms
        .patch(
            "applied",
            &PatchParams::apply("tool-b").force(),
            &Patch::Apply(&other),
        )
        .await
        .unwrap();
    assert_eq!(forced.data.unwrap()["a"], "2");
}

#[tokio::test]
async fn kube_reflector_relists_after_a_forced_410() {
    use kube::runtime::{reflector, watcher};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let tmp = tempfile::tempdir().unwrap();
    // A tiny history window: a watch that falls 3 changes behind expires.
    let s = common::Server::start_in(
        tmp.path(),
        &["--disable-controllers", "--watch-history", "3"],
    );
    let client = s.client().await;
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let secrets: Api<k8s_openapi::api::core::v1::Secret> =
        Api::namespaced(client.clone(), "default");
    let cm = |name: &str| -> ConfigMap {
        serde_json::from_value(json!({"metadata": {"name": name}})).unwrap()
    };
    cms.create(&PostParams::default(), &cm("first"))
        .await
        .unwrap();

    let (reader, writer) = reflector::store::<ConfigMap>();
    let expired = Arc::new(AtomicUsize::new(0));
    let seen_410 = expired.clone();
    // Watches end every second, so the watcher resumes from its last revision.
    let stream = reflector::reflector(
        writer,
        watcher(cms.clone(), watcher::Config::default().timeout(1)),
    );
    let task = tokio::spawn(async move {
        let mut stream = stream.boxed();
        while let Some(ev) = stream.next().await {
            if let Err(watcher::Error::WatchError(st)) = &ev
                && st.code == 410
            {
                seen_410.fetch_add(1, Ordering::SeqCst);
            }
        }
    });
    let wait_for = |what: &'static str, f: Box<dyn Fn() -> bool + Send>| async move {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while !f() {
            assert!(
                std::time::Instant::now() < deadline,
                "timed out waiting for {what}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    let r = reader.clone();
    wait_for("initial sync", Box::new(move || r.state().len() == 1)).await;
    cms.create(&PostParams::default(), &cm("second"))
        .await
        .unwrap();
    cms.delete("first", &DeleteParams::default()).await.unwrap();
    // Other resources' changes then move the window past the watcher's
    // revision: when its watch ends and it resumes, it gets 410 and relists.
    for i in 0..10 {
        let sec: k8s_openapi::api::core::v1::Secret =
            serde_json::from_value(json!({"metadata": {"name": format!("s{i}")}})).unwrap();
        secrets.create(&PostParams::default(), &sec).await.unwrap();
    }
    let e = expired.clone();
    wait_for(
        "a 410 Expired",
        Box::new(move || e.load(Ordering::SeqCst) > 0),
    )
    .await;
    // After the relist it watches again and sees new changes.
    cms.create(&PostParams::default(), &cm("third"))
        .await
        .unwrap();
    let r = reader.clone();
    wait_for(
        "the cache to match a fresh list",
        Box::new(move || {
            let mut names: Vec<String> = r
                .state()
                .iter()
                .filter_map(|c| c.metadata.name.clone())
                .collect();
            names.sort();
            names == ["second", "third"]
        }),
    )
    .await;
    let fresh: Vec<String> = cms
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter_map(|c| c.metadata.name)
        .collect();
    assert_eq!(fresh, ["second", "third"]);
    task.abort();
}
