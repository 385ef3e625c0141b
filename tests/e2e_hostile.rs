//! End-to-end: hostile requests against a real `ironkube serve`, each found
//! by trying (issue #10). While each runs, a watchdog polls `/readyz` (every
//! answer within 1 s) and samples the server's resident memory; the server
//! must stay responsive and under the memory limit throughout, and answer
//! each request as upstream does.

mod common;

use common::{Server, Watchdog};
use serde_json::{Value, json};

/// The memory limit a hostile request must keep the whole server under.
const MEMORY_LIMIT: u64 = 512 * 1024 * 1024;

/// Runs `f` under a watchdog and checks the server stayed ready and small.
fn guarded<T>(s: &Server, what: &str, f: impl FnOnce() -> T) -> T {
    let dog = Watchdog::start(s);
    let out = f();
    let report = dog.finish();
    assert_eq!(
        report.missed, 0,
        "{what}: /readyz missed {} of {} probes",
        report.missed, report.probes
    );
    assert!(
        report.peak_rss < MEMORY_LIMIT,
        "{what}: resident memory reached {} MB",
        report.peak_rss >> 20
    );
    out
}

fn curl_file(s: &Server, method: &str, path: &str, ct: &str, body: &str) -> (u16, Value) {
    let file = s.dir.join("hostile-body.json");
    std::fs::write(&file, body).expect("write body");
    let (code, text) = s.curl(
        method,
        path,
        Some(ct),
        Some(&format!("@{}", file.display())),
    );
    let v = serde_json::from_str(&text).unwrap_or(Value::Null);
    (code, v)
}

#[test]
fn hostile_patches_are_bounded_and_the_server_stays_ready() {
    let s = Server::bare();
    let (code, _) = s.curl(
        "POST",
        "/api/v1/namespaces/default/configmaps",
        Some("application/json"),
        Some(r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cm1"}}"#),
    );
    assert_eq!(code, 201);

    // 30 `copy` operations, each doubling an annotation map: 2^30 copies
    // unbounded. Upstream refuses it once the copies pass its size limit.
    let mut ops = vec![json!({"op": "add", "path": "/metadata/annotations",
                             "value": {"a": "x".repeat(100)}})];
    for i in 0..30 {
        ops.push(json!({"op": "copy", "from": "/metadata/annotations",
                        "path": format!("/metadata/annotations/c{i}")}));
    }
    let (code, v) = guarded(&s, "copy-doubling JSON patch", || {
        curl_file(
            &s,
            "PATCH",
            "/api/v1/namespaces/default/configmaps/cm1",
            "application/json-patch+json",
            &Value::Array(ops).to_string(),
        )
    });
    assert_eq!(code, 422, "{v}");
    assert_eq!(v["reason"], "Invalid", "{v}");

    // 50,000 operations: over upstream's 10,000.
    let ops: Vec<Value> = (0..50_000)
        .map(|_| json!({"op": "test", "path": "/metadata/name", "value": "cm1"}))
        .collect();
    let (code, v) = guarded(&s, "50,000-operation JSON patch", || {
        curl_file(
            &s,
            "PATCH",
            "/api/v1/namespaces/default/configmaps/cm1",
            "application/json-patch+json",
            &Value::Array(ops).to_string(),
        )
    });
    assert_eq!(code, 413, "{v}");
    assert_eq!(
        v["message"],
        "Request entity too large: The allowed maximum operations in a JSON patch is 10000, got 50000"
    );

    // A strategic merge patch of a Deployment with 4,000 containers, merged by
    // name: linear, so it answers promptly and /readyz with it.
    let containers: Vec<Value> = (0..4000)
        .map(|i| json!({"name": format!("c{i}"), "image": "nginx:1"}))
        .collect();
    let deploy = json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "wide"},
        "spec": {"selector": {"matchLabels": {"app": "wide"}},
                 "template": {"metadata": {"labels": {"app": "wide"}},
                              "spec": {"containers": containers}}}
    });
    let (code, v) = curl_file(
        &s,
        "POST",
        "/apis/apps/v1/namespaces/default/deployments",
        "application/json",
        &deploy.to_string(),
    );
    assert_eq!(code, 201, "{v}");
    let patch: Vec<Value> = (0..4000)
        .rev()
        .map(|i| json!({"name": format!("c{i}"), "image": "nginx:2"}))
        .collect();
    let patch = json!({"spec": {"template": {"spec": {"containers": patch}}}});
    let (code, v) = guarded(&s, "strategic merge patch of 4,000 containers", || {
        curl_file(
            &s,
            "PATCH",
            "/apis/apps/v1/namespaces/default/deployments/wide",
            "application/strategic-merge-patch+json",
            &patch.to_string(),
        )
    });
    assert_eq!(code, 200, "{v}");
    let images = v["spec"]["template"]["spec"]["containers"]
        .as_array()
        .expect("containers");
    assert_eq!(images.len(), 4000);
    assert!(images.iter().all(|c| c["image"] == "nginx:2"));
}
