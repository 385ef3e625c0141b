//! In-process HTTP tests of answers that must match upstream exactly (each
//! expected body was taken from a kube-apiserver v1.36 answer).

use std::sync::Arc;

use axum::body::Body;
use http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

use ironkube::apiserver::{AppState, app};

mod inproc;
use inproc::{Resp, TOKEN, send, state};

async fn call_as(
    st: &Arc<AppState>,
    token: Option<&str>,
    method: Method,
    uri: &str,
    body: Option<&Value>,
    headers: &[(&str, &str)],
) -> Resp {
    let mut b = Request::builder().method(method).uri(uri);
    if let Some(t) = token {
        b = b.header("authorization", format!("Bearer {t}"));
    }
    if body.is_some() {
        b = b.header("content-type", "application/json");
    }
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    let body = body.map(|v| v.to_string()).unwrap_or_default();
    let req = b.body(Body::from(body)).unwrap();
    send(st, req).await
}

async fn call(
    st: &Arc<AppState>,
    method: Method,
    uri: &str,
    body: Option<&Value>,
    headers: &[(&str, &str)],
) -> Resp {
    call_as(st, Some(TOKEN), method, uri, body, headers).await
}

#[tokio::test]
async fn immortal_namespaces_may_not_be_deleted_and_system_namespaces_come_back() {
    let st = state().await;
    for name in ["default", "kube-system", "kube-public"] {
        for uri in [
            format!("/api/v1/namespaces/{name}"),
            format!("/api/v1/namespaces/{name}?dryRun=All"),
        ] {
            let r = call(&st, Method::DELETE, &uri, None, &[]).await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{uri}");
            assert_eq!(
                r.json(),
                json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                   "message": format!("namespaces \"{name}\" is forbidden: this namespace may not be deleted"),
                   "reason": "Forbidden", "details": {"name": name, "kind": "namespaces"}, "code": 403})
            );
        }
    }
    // kube-node-lease may be deleted (upstream too); once gone, the system
    // namespaces controller's pass re-creates it.
    let r = call(
        &st,
        Method::DELETE,
        "/api/v1/namespaces/kube-node-lease",
        None,
        &[],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    let mut ns = r.json();
    ns["spec"]["finalizers"] = json!([]);
    let r = call(
        &st,
        Method::PUT,
        "/api/v1/namespaces/kube-node-lease/finalize",
        Some(&ns),
        &[],
    )
    .await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    let r = call(
        &st,
        Method::GET,
        "/api/v1/namespaces/kube-node-lease",
        None,
        &[],
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    ironkube::server::bootstrap(&st.store).await.unwrap();
    let r = call(
        &st,
        Method::GET,
        "/api/v1/namespaces/kube-node-lease",
        None,
        &[],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["status"]["phase"], "Active");
}

#[tokio::test]
async fn bogus_propagation_policy_is_422_from_query_and_body() {
    let st = state().await;
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}});
    let r = call(
        &st,
        Method::POST,
        "/api/v1/namespaces/default/configmaps",
        Some(&cm),
        &[],
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let want = json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": "DeleteOptions.meta.k8s.io \"\" is invalid: propagationPolicy: Unsupported value: \"Bogus\": supported values: \"Foreground\", \"Background\", \"Orphan\", \"nil\"",
        "reason": "Invalid",
        "details": {"group": "meta.k8s.io", "kind": "DeleteOptions", "causes": [{
            "reason": "FieldValueNotSupported",
            "message": "Unsupported value: \"Bogus\": supported values: \"Foreground\", \"Background\", \"Orphan\", \"nil\"",
            "field": "propagationPolicy"}]},
        "code": 422});
    let body = json!({"propagationPolicy": "Bogus"});
    for (uri, body) in [
        (
            "/api/v1/namespaces/default/configmaps/x?propagationPolicy=Bogus",
            None,
        ),
        ("/api/v1/namespaces/default/configmaps/x", Some(&body)),
        // Validated before the object is looked up.
        ("/api/v1/namespaces/default/configmaps/nope", Some(&body)),
        (
            "/api/v1/namespaces/default/configmaps?propagationPolicy=Bogus",
            None,
        ),
    ] {
        let r = call(&st, Method::DELETE, uri, body, &[]).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{uri}");
        assert_eq!(r.json(), want, "{uri}");
    }
    let r = call(
        &st,
        Method::GET,
        "/api/v1/namespaces/default/configmaps/x",
        None,
        &[],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
}

#[tokio::test]
async fn garbage_accept_is_406_with_upstreams_status() {
    let st = state().await;
    let new_form = |reps: &str| {
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": format!("406: Not Acceptable\n\nAvailable representations: {reps}"),
            "reason": "NotAcceptable", "details": {}, "code": 406})
    };
    let base = "application/json, application/yaml, application/vnd.kubernetes.protobuf";
    let watch = "application/json, application/yaml, application/vnd.kubernetes.protobuf, application/json;stream=watch, application/vnd.kubernetes.protobuf;stream=watch";
    for (uri, want) in [
        ("/api/v1/namespaces/default", new_form(base)),
        ("/api/v1/namespaces/default/configmaps", new_form(watch)),
        (
            "/api/v1/namespaces/default/configmaps?watch=1",
            new_form(watch),
        ),
        ("/api", new_form(base)),
        ("/api/v1", new_form(base)),
        ("/apis/apps/v1", new_form(base)),
        ("/version", new_form("application/json")),
        (
            "/apis",
            json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": format!("only the following media types are accepted: {base}"),
                "reason": "NotAcceptable", "code": 406}),
        ),
        (
            "/apis/apps",
            json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": format!("only the following media types are accepted: {base}"),
                "reason": "NotAcceptable", "code": 406}),
        ),
    ] {
        let r = call(&st, Method::GET, uri, None, &[("accept", "garbage")]).await;
        assert_eq!(r.status, StatusCode::NOT_ACCEPTABLE, "{uri}");
        assert_eq!(r.json(), want, "{uri}");
    }
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}});
    let r = call(
        &st,
        Method::POST,
        "/api/v1/namespaces/default/configmaps",
        Some(&cm),
        &[("accept", "text/html")],
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_ACCEPTABLE);
    assert_eq!(r.json(), new_form(base));
    // Discovery still answers the usual Accept headers.
    for a in ["application/json", "*/*", "application/json, */*"] {
        let r = call(&st, Method::GET, "/apis", None, &[("accept", a)]).await;
        assert_eq!(r.status, StatusCode::OK, "{a}");
    }
}

#[tokio::test]
async fn future_resource_version_waits_then_504_or_answers() {
    let st = state().await;
    let want = |cur: u64| {
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": format!("Timeout: Too large resource version: 999999999, current: {cur}"),
            "reason": "Timeout",
            "details": {"causes": [{"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}],
                        "retryAfterSeconds": 1},
            "code": 504})
    };
    for uri in [
        "/api/v1/namespaces/default/configmaps?resourceVersion=999999999&resourceVersionMatch=NotOlderThan",
        "/api/v1/namespaces/default/configmaps?resourceVersion=999999999",
        "/api/v1/namespaces/default/configmaps?resourceVersion=999999999&resourceVersionMatch=Exact",
        "/api/v1/namespaces/default?resourceVersion=999999999",
    ] {
        let r = call(&st, Method::GET, uri, None, &[]).await;
        assert_eq!(r.status, StatusCode::GATEWAY_TIMEOUT, "{uri}");
        let cur: u64 = r.json()["message"]
            .as_str()
            .and_then(|m| m.rsplit(' ').next())
            .and_then(|c| c.parse().ok())
            .unwrap();
        assert_eq!(r.json(), want(cur), "{uri}");
        assert_eq!(r.headers["retry-after"], "1");
    }
    // A revision that arrives during the wait is answered normally.
    let list = call(
        &st,
        Method::GET,
        "/api/v1/namespaces/default/configmaps",
        None,
        &[],
    )
    .await
    .json();
    let rv: u64 = list["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let st2 = st.clone();
    let waiter = tokio::spawn(async move {
        call(
            &st2,
            Method::GET,
            &format!(
                "/api/v1/namespaces/default/configmaps?resourceVersion={}&resourceVersionMatch=NotOlderThan",
                rv + 1
            ),
            None,
            &[],
        )
        .await
    });
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "late"}});
    let r = call(
        &st,
        Method::POST,
        "/api/v1/namespaces/default/configmaps",
        Some(&cm),
        &[],
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let r = waiter.await.unwrap();
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.json()["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["metadata"]["name"] == "late")
    );
}

#[tokio::test]
async fn partial_object_metadata_on_every_verb() {
    let st = state().await;
    let m = [(
        "accept",
        "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1",
    )];
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "pm"}, "data": {"a": "b"}});
    let r = call(
        &st,
        Method::POST,
        "/api/v1/namespaces/default/configmaps",
        Some(&cm),
        &m,
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let v = r.json();
    assert_eq!(v["kind"], "PartialObjectMetadata");
    assert_eq!(v["apiVersion"], "meta.k8s.io/v1");
    assert_eq!(v["metadata"]["name"], "pm");
    assert!(v.get("data").is_none());

    let mut b = Request::builder()
        .method(Method::PATCH)
        .uri("/api/v1/namespaces/default/configmaps/pm")
        .header("authorization", format!("Bearer {TOKEN}"))
        .header("content-type", "application/merge-patch+json");
    b = b.header(m[0].0, m[0].1);
    let resp = app(st.clone())
        .oneshot(
            b.body(Body::from(r#"{"metadata":{"labels":{"a":"b"}}}"#))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let v: Value =
        serde_json::from_slice(&resp.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert_eq!(v["kind"], "PartialObjectMetadata");
    assert_eq!(v["metadata"]["labels"]["a"], "b");

    let mut upd = cm.clone();
    upd["data"]["a"] = json!("c");
    let r = call(
        &st,
        Method::PUT,
        "/api/v1/namespaces/default/configmaps/pm",
        Some(&upd),
        &m,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["kind"], "PartialObjectMetadata");

    // Configmaps answer a delete with a Status (kept as is); pods with the
    // object, as metadata.
    let r = call(
        &st,
        Method::DELETE,
        "/api/v1/namespaces/default/configmaps/pm",
        None,
        &m,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["kind"], "Status");
    assert_eq!(r.json()["status"], "Success");
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "a", "image": "x"}]}});
    let r = call(
        &st,
        Method::POST,
        "/api/v1/namespaces/default/pods",
        Some(&pod),
        &m,
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(r.json()["kind"], "PartialObjectMetadata");
    let r = call(
        &st,
        Method::DELETE,
        "/api/v1/namespaces/default/pods/p",
        None,
        &m,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["kind"], "PartialObjectMetadata");
    assert_eq!(r.json()["metadata"]["name"], "p");
}

#[tokio::test]
async fn secret_string_data_is_merged_into_data_on_every_write() {
    let st = state().await;
    let s = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
        "data": {"b": "Yg==", "a": "eA=="}, "stringData": {"a": "from-string"}});
    let r = call(
        &st,
        Method::POST,
        "/api/v1/namespaces/default/secrets",
        Some(&s),
        &[],
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let v = r.json();
    assert_eq!(v["data"], json!({"a": "ZnJvbS1zdHJpbmc=", "b": "Yg=="}));
    assert!(v.get("stringData").is_none());
    let got = call(
        &st,
        Method::GET,
        "/api/v1/namespaces/default/secrets/s",
        None,
        &[],
    )
    .await
    .json();
    assert_eq!(got["data"], v["data"]);
    assert!(got.get("stringData").is_none());

    // Update.
    let mut upd = got.clone();
    upd["stringData"] = json!({"c": "cee"});
    let r = call(
        &st,
        Method::PUT,
        "/api/v1/namespaces/default/secrets/s",
        Some(&upd),
        &[],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.json()["data"],
        json!({"a": "ZnJvbS1zdHJpbmc=", "b": "Yg==", "c": "Y2Vl"})
    );
    assert!(r.json().get("stringData").is_none());

    // Merge patch.
    let req = Request::builder()
        .method(Method::PATCH)
        .uri("/api/v1/namespaces/default/secrets/s")
        .header("authorization", format!("Bearer {TOKEN}"))
        .header("content-type", "application/merge-patch+json")
        .body(Body::from(r#"{"stringData":{"b":"bee"}}"#))
        .unwrap();
    let resp = app(st.clone()).oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let v: Value =
        serde_json::from_slice(&resp.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert_eq!(v["data"]["b"], "YmVl");
    assert!(v.get("stringData").is_none());
    let got = call(
        &st,
        Method::GET,
        "/api/v1/namespaces/default/secrets/s",
        None,
        &[],
    )
    .await
    .json();
    assert!(got.get("stringData").is_none());
    assert_eq!(got["data"]["b"], "YmVl");
}

#[tokio::test]
async fn discovery_carries_storage_version_hashes() {
    let st = state().await;
    let hash = |doc: &Value, name: &str| {
        doc["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == name)
            .map(|r| r.get("storageVersionHash").cloned())
            .unwrap()
    };
    let core = call(&st, Method::GET, "/api/v1", None, &[]).await.json();
    assert_eq!(hash(&core, "pods"), Some(json!("xPOwRZ+Yhw8=")));
    assert_eq!(hash(&core, "configmaps"), Some(json!("qFsyl6wFWjQ=")));
    assert_eq!(hash(&core, "pods/status"), None);
    let pods = core["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "pods")
        .unwrap();
    assert_eq!(
        serde_json::to_string(pods).unwrap(),
        r#"{"name":"pods","singularName":"pod","namespaced":true,"kind":"Pod","verbs":["create","delete","deletecollection","get","list","patch","update","watch"],"shortNames":["po"],"categories":["all"],"storageVersionHash":"xPOwRZ+Yhw8="}"#
    );
    let apps = call(&st, Method::GET, "/apis/apps/v1", None, &[])
        .await
        .json();
    assert_eq!(hash(&apps, "deployments"), Some(json!("8aSe+NMegvE=")));
    let ev = call(&st, Method::GET, "/apis/events.k8s.io/v1", None, &[])
        .await
        .json();
    assert_eq!(hash(&ev, "events"), Some(json!("r2yiGXH7wu8=")));
    let authn = call(
        &st,
        Method::GET,
        "/apis/authentication.k8s.io/v1",
        None,
        &[],
    )
    .await
    .json();
    assert_eq!(hash(&authn, "tokenreviews"), None);
}

#[tokio::test]
async fn service_account_issuer_discovery_is_for_service_accounts_unless_bound() {
    let st = state().await;
    // Upstream's bootstrap policy gives the issuer discovery role to
    // system:serviceaccounts only; anonymous readers need a binding.
    let r = call_as(
        &st,
        None,
        Method::GET,
        "/.well-known/openid-configuration",
        None,
        &[],
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let binding = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": "oidc-reviewer"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "system:service-account-issuer-discovery"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "system:unauthenticated"}]});
    let r = call(
        &st,
        Method::POST,
        "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
        Some(&binding),
        &[],
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let r = call_as(
        &st,
        None,
        Method::GET,
        "/.well-known/openid-configuration",
        None,
        &[],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers["cache-control"], "public, max-age=3600");
    assert_eq!(r.headers["content-type"], "application/json");
    let v = r.json();
    assert_eq!(v["issuer"], ironkube::auth::satokens::DEFAULT_ISSUER);
    assert!(v["jwks_uri"].as_str().unwrap().ends_with("/openid/v1/jwks"));
    assert_eq!(v["response_types_supported"], json!(["id_token"]));
    assert_eq!(v["subject_types_supported"], json!(["public"]));

    let r = call_as(
        &st,
        Some("not-a-token"),
        Method::GET,
        "/openid/v1/jwks",
        None,
        &[],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = call_as(&st, None, Method::GET, "/openid/v1/jwks", None, &[]).await;
    assert_eq!(r.status, StatusCode::OK, "the same role covers the keys");
    let st = state().await;
    let r = call_as(&st, None, Method::GET, "/openid/v1/jwks", None, &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(
        r.json(),
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": "forbidden: User \"system:anonymous\" cannot get path \"/openid/v1/jwks\"",
            "reason": "Forbidden", "details": {}, "code": 403})
    );
    let r = call(&st, Method::GET, "/openid/v1/jwks", None, &[]).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers["content-type"], "application/jwk-set+json");
    assert_eq!(r.json()["keys"][0]["use"], "sig");
}

#[tokio::test]
async fn pod_replace_with_its_manifest_or_its_stripped_yaml_works() {
    let st = state().await;
    let manifest = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "rp", "labels": {"a": "b"}},
        "spec": {"containers": [{"name": "c", "image": "nginx"}]}});
    let r = call(
        &st,
        Method::POST,
        "/api/v1/namespaces/default/pods",
        Some(&manifest),
        &[],
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let created = r.json();
    // `kubectl replace -f pod.yaml` with the original manifest.
    let r = call(
        &st,
        Method::PUT,
        "/api/v1/namespaces/default/pods/rp",
        Some(&manifest),
        &[],
    )
    .await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    let replaced = r.json();
    assert_eq!(replaced["spec"]["priority"], 0);
    assert_eq!(replaced["spec"]["preemptionPolicy"], "PreemptLowerPriority");
    assert_eq!(
        replaced["spec"]["tolerations"],
        created["spec"]["tolerations"]
    );
    // `kubectl get -o yaml`, stripped of status and server fields, replaced.
    let mut stripped = replaced.clone();
    if let Some(o) = stripped.as_object_mut() {
        o.remove("status");
    }
    if let Some(m) = stripped["metadata"].as_object_mut() {
        for f in [
            "uid",
            "resourceVersion",
            "creationTimestamp",
            "managedFields",
        ] {
            m.remove(f);
        }
    }
    let r = call(
        &st,
        Method::PUT,
        "/api/v1/namespaces/default/pods/rp",
        Some(&stripped),
        &[],
    )
    .await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    // Changing the priority is still refused.
    let mut changed = manifest.clone();
    changed["spec"]["priority"] = json!(5);
    let r = call(
        &st,
        Method::PUT,
        "/api/v1/namespaces/default/pods/rp",
        Some(&changed),
        &[],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn partial_object_metadata_kind_must_fit_the_answer() {
    let st = state().await;
    let single = [(
        "accept",
        "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1",
    )];
    let list = [(
        "accept",
        "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1",
    )];
    let status = |msg: &str| {
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": msg, "reason": "NotAcceptable", "code": 406})
    };
    let r = call(
        &st,
        Method::GET,
        "/api/v1/namespaces/default/configmaps",
        None,
        &single,
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_ACCEPTABLE);
    assert_eq!(
        r.json(),
        status(
            "you requested PartialObjectMetadata, but the requested object is a list (*core.ConfigMapList)"
        )
    );
    let r = call(
        &st,
        Method::GET,
        "/apis/coordination.k8s.io/v1/leases",
        None,
        &single,
    )
    .await;
    assert_eq!(
        r.json()["message"],
        "you requested PartialObjectMetadata, but the requested object is a list (*coordination.LeaseList)"
    );
    let r = call(&st, Method::GET, "/api/v1/namespaces/default", None, &list).await;
    assert_eq!(r.status, StatusCode::NOT_ACCEPTABLE);
    assert_eq!(
        r.json(),
        status(
            "you requested PartialObjectMetadataList, but the requested object is not a list (*core.Namespace)"
        )
    );
    // A missing object is still 404 (the transform comes after the read).
    let r = call(
        &st,
        Method::GET,
        "/apis/apps/v1/namespaces/default/deployments/x",
        None,
        &list,
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // The fitting kinds answer.
    let r = call(
        &st,
        Method::GET,
        "/api/v1/namespaces/default/configmaps",
        None,
        &list,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["kind"], "PartialObjectMetadataList");
    let r = call(
        &st,
        Method::DELETE,
        "/api/v1/namespaces/default/configmaps?labelSelector=zz",
        None,
        &single,
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_ACCEPTABLE);
}

#[tokio::test]
async fn aggregated_discovery_has_an_etag_and_answers_304_when_it_matches() {
    // As kube-apiserver v1.36: `ETag` is the quoted upper-case hex SHA-512
    // of the body, `Cache-Control: public`, and If-None-Match gives 304.
    let st = state().await;
    let accept = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";
    let first = call_as(
        &st,
        Some(TOKEN),
        Method::GET,
        "/apis",
        None,
        &[("accept", accept)],
    )
    .await;
    assert_eq!(first.status, StatusCode::OK);
    let etag = first.headers["etag"]
        .to_str()
        .unwrap_or_default()
        .to_string();
    assert_eq!(etag.len(), 130, "{etag}");
    assert!(etag.starts_with('"') && etag.ends_with('"'));
    assert_eq!(first.headers["cache-control"], "public");
    let again = call_as(
        &st,
        Some(TOKEN),
        Method::GET,
        "/apis",
        None,
        &[("accept", accept), ("if-none-match", &etag)],
    )
    .await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    assert!(again.body.is_empty());
    assert_eq!(again.headers["etag"].to_str().unwrap_or_default(), etag);
    let stale = call_as(
        &st,
        Some(TOKEN),
        Method::GET,
        "/apis",
        None,
        &[("accept", accept), ("if-none-match", "\"0\"")],
    )
    .await;
    assert_eq!(stale.status, StatusCode::OK);
}
