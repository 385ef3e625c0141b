//! Hostile patches (issue #10): the bounds upstream puts on JSON patches
//! (CVE-2019-1002100), strategic merge patches of huge lists, and the
//! answers upstream gives to malformed patches. In-process, exact wire output
//! (each answer checked against kube-apiserver v1.36.2).

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use http::{Method, Request, StatusCode};
use serde_json::{Value, json};

use ironkube::apiserver::AppState;

mod inproc;
use inproc::{Resp, TOKEN, send, state};

const JSON_PATCH: &str = "application/json-patch+json";
const SMP: &str = "application/strategic-merge-patch+json";

async fn call(
    st: &Arc<AppState>,
    method: Method,
    uri: &str,
    content_type: Option<&str>,
    body: impl Into<Vec<u8>>,
) -> Resp {
    let mut b = Request::builder()
        .method(method)
        .uri(uri)
        .header("authorization", format!("Bearer {TOKEN}"));
    if let Some(ct) = content_type {
        b = b.header("content-type", ct);
    }
    let req = b.body(Body::from(body.into())).expect("request");
    send(st, req).await
}

const CM: &str = "/api/v1/namespaces/default/configmaps";

async fn configmap(st: &Arc<AppState>, name: &str) {
    let r = call(
        st,
        Method::POST,
        CM,
        Some("application/json"),
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"a": "b"}})
            .to_string(),
    )
    .await;
    assert_eq!(r.status, 201);
}

async fn patch(st: &Arc<AppState>, uri: &str, ct: &str, body: &Value) -> Resp {
    call(st, Method::PATCH, uri, Some(ct), body.to_string()).await
}

fn generic_422() -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": "the server rejected our request due to an error in our request",
        "reason": "Invalid", "details": {}, "code": 422})
}

/// 30 `copy` operations, each doubling an annotation map (3.6 KB): refused
/// once the copies pass 3 MiB, instead of growing the server without bound.
#[tokio::test]
async fn doubling_copies_are_refused() {
    let st = state().await;
    configmap(&st, "dbl").await;
    let mut ops = vec![
        json!({"op": "add", "path": "/metadata/annotations", "value": {"a": "x".repeat(100)}}),
    ];
    for i in 0..30 {
        ops.push(json!({"op": "copy", "from": "/metadata/annotations",
            "path": format!("/metadata/annotations/k{i}")}));
    }
    let body = Value::Array(ops);
    assert!(body.to_string().len() < 4000);
    let r = patch(&st, &format!("{CM}/dbl"), JSON_PATCH, &body).await;
    assert_eq!(r.status, 422);
    assert_eq!(r.json(), generic_422());
    let r = call(&st, Method::GET, &format!("{CM}/dbl"), None, Vec::new()).await;
    assert!(r.json()["metadata"].get("annotations").is_none());
}

/// Over 10,000 operations is 413 with upstream's message; 10,000 is fine;
/// an absent object is 404 first, as upstream checks after the read.
#[tokio::test]
async fn too_many_operations_are_413() {
    let st = state().await;
    configmap(&st, "ops").await;
    let test_op = json!({"op": "test", "path": "/metadata/name", "value": "ops"});
    let many = Value::Array(vec![test_op.clone(); 50_000]);
    let r = patch(&st, &format!("{CM}/ops"), JSON_PATCH, &many).await;
    assert_eq!(r.status, 413);
    assert_eq!(
        r.json(),
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": "Request entity too large: The allowed maximum operations in a JSON patch is 10000, got 50000",
            "reason": "RequestEntityTooLarge", "code": 413})
    );
    let r = patch(&st, &format!("{CM}/missing"), JSON_PATCH, &many).await;
    assert_eq!(r.status, 404);
    let limit = Value::Array(vec![test_op; 10_000]);
    let r = patch(&st, &format!("{CM}/ops"), JSON_PATCH, &limit).await;
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn json_patch_answers_as_upstream() {
    let st = state().await;
    configmap(&st, "jp").await;
    let uri = format!("{CM}/jp");
    // A failed test, a missing member to remove, an unknown op: the same 422.
    for body in [
        json!([{"op": "test", "path": "/data/a", "value": "zz"}]),
        json!([{"op": "remove", "path": "/data/nope"}]),
        json!([{"op": "bogus", "path": "/a"}]),
        json!([{"op": "add"}]),
    ] {
        let r = patch(&st, &uri, JSON_PATCH, &body).await;
        assert_eq!(
            (r.status, r.json()),
            (StatusCode::UNPROCESSABLE_ENTITY, generic_422()),
            "{body}"
        );
    }
    let r = patch(&st, &uri, JSON_PATCH, &json!({})).await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json()["message"],
        "error decoding patch: json: cannot unmarshal object into Go value of type []handlers.jsonPatchOp"
    );
    let r = patch(
        &st,
        &format!("{uri}?fieldValidation=Ignore"),
        JSON_PATCH,
        &json!([1]),
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json()["message"],
        "json: cannot unmarshal number into Go value of type jsonpatch.Operation"
    );
    let r = patch(&st, &format!("{CM}/absent"), JSON_PATCH, &json!({})).await;
    assert_eq!(r.status, 404);
    // Upstream's library: replace of a missing key adds it, negative indices.
    let r = patch(
        &st,
        &uri,
        JSON_PATCH,
        &json!([{"op": "replace", "path": "/data/new", "value": "v"},
                {"op": "test", "path": "/data/a", "value": "b"}]),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["data"], json!({"a": "b", "new": "v"}));
    // Unknown members of an operation are warnings (fieldValidation=Warn).
    let r = patch(
        &st,
        &uri,
        JSON_PATCH,
        &json!([{"op": "add", "path": "/data/x", "value": "1", "extra": 1}]),
    )
    .await;
    assert_eq!(r.status, 200);
    let warnings: Vec<&str> = r
        .headers
        .get_all("warning")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    assert_eq!(
        warnings,
        vec![r#"299 - "json patch unknown field \"[0].extra\"""#]
    );
}

/// Malformed strategic merge patches: upstream's 400 / 422 / plain 500.
#[tokio::test]
async fn strategic_merge_patch_errors_as_upstream() {
    let st = state().await;
    configmap(&st, "smp").await;
    let uri = format!("{CM}/smp");
    let r = patch(&st, &uri, SMP, &json!({"$patch": "bogus"})).await;
    assert_eq!(r.status, 500);
    assert_eq!(
        r.json(),
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": "unknown patch type: bogus in map: map[$patch:bogus]", "code": 500})
    );
    let r = patch(&st, &uri, SMP, &json!({"data": {"$patch": "bogus"}})).await;
    assert_eq!(r.status, 500);
    let r = patch(
        &st,
        &uri,
        SMP,
        &json!({"data": {"$deleteFromPrimitiveList": [1]}}),
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json(),
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": "invalid patch format of primitive list", "reason": "BadRequest", "code": 400})
    );
    let r = patch(
        &st,
        &uri,
        SMP,
        &json!({"metadata": {"$setElementOrder": [1]}}),
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json()["message"],
        "invalid patch format of setElementOrder list"
    );
    let r = patch(&st, &uri, SMP, &json!({"metadata": {"$retainKeys": "x"}})).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["message"], "invalid patch format of retainKeys");
    let r = patch(
        &st,
        &uri,
        SMP,
        &json!({"metadata": {"$deleteFromPrimitiveList/finalizers": "x"}}),
    )
    .await;
    assert_eq!(r.status, 200);
}

fn deployment(n: usize) -> Value {
    let containers: Vec<Value> = (0..n)
        .map(|i| json!({"name": format!("c{i}"), "image": "nginx:1"}))
        .collect();
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "big"},
        "spec": {"selector": {"matchLabels": {"app": "big"}},
            "template": {"metadata": {"labels": {"app": "big"}},
                "spec": {"containers": containers}}}})
}

/// A strategic merge patch of a Deployment with 4,000 containers completes,
/// and `/readyz` keeps being answered while it runs (2 workers, as on a
/// 2-core machine). The timeouts only bound a hang.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_strategic_merge_patch_does_not_stall_the_server() {
    let st = state().await;
    let n = 4_000;
    let uri = "/apis/apps/v1/namespaces/default/deployments";
    let r = call(
        &st,
        Method::POST,
        uri,
        Some("application/json"),
        deployment(n).to_string(),
    )
    .await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let order: Vec<Value> = (0..n)
        .rev()
        .map(|i| json!({"name": format!("c{i}")}))
        .collect();
    let containers: Vec<Value> = (0..n)
        .rev()
        .map(|i| json!({"name": format!("c{i}"), "image": "nginx:2"}))
        .collect();
    let body = json!({"spec": {"template": {"spec": {
        "$setElementOrder/containers": order, "containers": containers}}}});
    let st2 = st.clone();
    let task = tokio::spawn(async move {
        patch(
            &st2,
            "/apis/apps/v1/namespaces/default/deployments/big",
            SMP,
            &body,
        )
        .await
    });
    let mut probes = 0;
    while !task.is_finished() {
        let ready = tokio::time::timeout(
            Duration::from_secs(5),
            call(&st, Method::GET, "/readyz", None, Vec::new()),
        )
        .await
        .expect("/readyz answered while a large patch runs");
        assert_eq!(ready.status, 200);
        probes += 1;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let r = tokio::time::timeout(Duration::from_secs(300), task)
        .await
        .expect("patch finished")
        .expect("patch task");
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let got = r.json();
    let list = got["spec"]["template"]["spec"]["containers"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(list.len(), n);
    assert_eq!(list[0]["name"], format!("c{}", n - 1));
    assert!(list.iter().all(|c| c["image"] == "nginx:2"));
    assert!(probes > 0);
}
