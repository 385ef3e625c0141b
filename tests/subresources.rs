//! Subresources are handlers a resource registers: routing resolves the
//! URL's subresource against them. Every expected answer below (status code
//! and whole body) was taken from a kube-apiserver v1.36.2, for existing and
//! missing objects alike.

use std::sync::Arc;

use axum::body::Body;
use http::{Method, Request, StatusCode};
use serde_json::{Value, json};

use ironkube::apiserver::AppState;

mod inproc;
use inproc::{Resp, TOKEN, install_crd, send, state};

async fn call(st: &Arc<AppState>, method: Method, uri: &str, body: Option<&Value>) -> Resp {
    let ct = if method == Method::PATCH {
        "application/merge-patch+json"
    } else {
        "application/json"
    };
    let mut b = Request::builder()
        .method(method)
        .uri(uri)
        .header("authorization", format!("Bearer {TOKEN}"));
    if body.is_some() {
        b = b.header("content-type", ct);
    }
    let body = body.map(|v| v.to_string()).unwrap_or_default();
    send(st, b.body(Body::from(body)).unwrap()).await
}

fn path_not_found() -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": "the server could not find the requested resource", "reason": "NotFound",
        "details": {}, "code": 404})
}

fn method_not_allowed() -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": "the server does not allow this method on the requested resource",
        "reason": "MethodNotAllowed", "details": {}, "code": 405})
}

const ALL: [Method; 5] = [
    Method::GET,
    Method::PUT,
    Method::PATCH,
    Method::POST,
    Method::DELETE,
];

async fn expect(st: &Arc<AppState>, methods: &[Method], uris: &[&str], code: u16, want: &Value) {
    for uri in uris {
        for m in methods {
            let r = call(st, m.clone(), uri, Some(&json!({}))).await;
            assert_eq!(r.status.as_u16(), code, "{m} {uri}: {}", r.json());
            assert_eq!(&r.json(), want, "{m} {uri}");
        }
    }
}

async fn create(st: &Arc<AppState>, uri: &str, obj: Value) {
    let r = call(st, Method::POST, uri, Some(&obj)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{uri}: {}", r.json());
}

async fn fixtures(st: &Arc<AppState>) {
    let ns = "/api/v1/namespaces/default";
    create(
        st,
        &format!("{ns}/configmaps"),
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}),
    )
    .await;
    create(
        st,
        &format!("{ns}/pods"),
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
            "spec": {"containers": [{"name": "c", "image": "nginx"}]}}),
    )
    .await;
    create(
        st,
        &format!("{ns}/serviceaccounts"),
        json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "sa"}}),
    )
    .await;
    create(
        st,
        "/apis/apps/v1/namespaces/default/deployments",
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
            "spec": {"selector": {"matchLabels": {"app": "d"}},
                "template": {"metadata": {"labels": {"app": "d"}},
                    "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}}),
    )
    .await;
}

#[tokio::test]
async fn unregistered_subresources_are_404_for_existing_and_missing_objects() {
    let st = state().await;
    fixtures(&st).await;
    let nf = path_not_found();
    expect(
        &st,
        &ALL,
        &[
            "/api/v1/namespaces/default/configmaps/x/status",
            "/api/v1/namespaces/default/configmaps/missing/status",
            "/api/v1/namespaces/default/pods/p/foo",
            "/api/v1/namespaces/default/pods/missing/foo",
            "/api/v1/namespaces/default/foo",
            "/api/v1/namespaces/missing/foo",
            "/api/v1/namespaces/default/pods/p/status/extra",
        ],
        404,
        &nf,
    )
    .await;
}

#[tokio::test]
async fn verbs_a_subresource_does_not_register_are_405() {
    let st = state().await;
    fixtures(&st).await;
    let na = method_not_allowed();
    for obj in ["p", "missing"] {
        let status = format!("/api/v1/namespaces/default/pods/{obj}/status");
        expect(&st, &[Method::POST, Method::DELETE], &[&status], 405, &na).await;
        let binding = format!("/api/v1/namespaces/default/pods/{obj}/binding");
        let m = [Method::GET, Method::PUT, Method::PATCH, Method::DELETE];
        expect(&st, &m, &[&binding], 405, &na).await;
    }
    for sa in ["sa", "missing"] {
        let token = format!("/api/v1/namespaces/default/serviceaccounts/{sa}/token");
        let m = [Method::GET, Method::PUT, Method::PATCH, Method::DELETE];
        expect(&st, &m, &[&token], 405, &na).await;
    }
    for ns in ["default", "missing"] {
        let finalize = format!("/api/v1/namespaces/{ns}/finalize");
        let m = [Method::GET, Method::PATCH, Method::POST, Method::DELETE];
        expect(&st, &m, &[&finalize], 405, &na).await;
        let status = format!("/api/v1/namespaces/{ns}/status");
        expect(&st, &[Method::POST, Method::DELETE], &[&status], 405, &na).await;
    }
    for d in ["d", "missing"] {
        let scale = format!("/apis/apps/v1/namespaces/default/deployments/{d}/scale");
        expect(&st, &[Method::POST, Method::DELETE], &[&scale], 405, &na).await;
    }
}

#[tokio::test]
async fn registered_subresources_serve_their_verbs() {
    let st = state().await;
    fixtures(&st).await;
    // A subresource's GET ignores `?watch=`: upstream answers the object.
    let r = call(
        &st,
        Method::GET,
        "/api/v1/namespaces/default/pods/p/status?watch=1",
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["kind"], "Pod");
    let r = call(
        &st,
        Method::GET,
        "/apis/apps/v1/namespaces/default/deployments/d/scale?watch=true",
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["kind"], "Scale");
    // No `/watch/` route for a subresource.
    let r = call(
        &st,
        Method::GET,
        "/api/v1/watch/namespaces/default/pods/p/status",
        None,
    )
    .await;
    assert_eq!((r.status.as_u16(), r.json()), (404, path_not_found()));
    // The namespace's status and a missing object through its subresources.
    let r = call(&st, Method::GET, "/api/v1/namespaces/default/status", None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["kind"], "Namespace");
    for (uri, gr, name) in [
        (
            "/api/v1/namespaces/default/pods/missing/status",
            "pods",
            "missing",
        ),
        ("/api/v1/namespaces/missing/status", "namespaces", "missing"),
    ] {
        for m in [Method::GET, Method::PATCH] {
            let r = call(&st, m.clone(), uri, Some(&json!({}))).await;
            assert_eq!(r.status.as_u16(), 404, "{m} {uri}");
            assert_eq!(
                r.json(),
                json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                    "message": format!("{gr} \"{name}\" not found"), "reason": "NotFound",
                    "details": {"name": name, "kind": gr}, "code": 404}),
                "{m} {uri}"
            );
        }
    }
}

#[tokio::test]
async fn resources_that_are_not_stored_serve_create_only() {
    let st = state().await;
    let reviews = "/apis/authentication.k8s.io/v1/tokenreviews";
    let m = [Method::GET, Method::PUT, Method::PATCH, Method::DELETE];
    expect(&st, &m, &[reviews], 405, &method_not_allowed()).await;
    let ssr = "/apis/authentication.k8s.io/v1/selfsubjectreviews";
    expect(&st, &m, &[ssr], 405, &method_not_allowed()).await;
    // Reviews have no object paths and no subresources.
    expect(
        &st,
        &ALL,
        &[
            "/apis/authentication.k8s.io/v1/tokenreviews/x",
            "/apis/authentication.k8s.io/v1/tokenreviews/x/status",
            "/apis/authentication.k8s.io/v1/selfsubjectreviews/x",
        ],
        404,
        &path_not_found(),
    )
    .await;
    // Create is served by the resource's own handler.
    let r = call(
        &st,
        Method::POST,
        "/apis/authentication.k8s.io/v1/selfsubjectreviews",
        Some(&json!({"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(
        r.json()["status"]["userInfo"]["groups"][0],
        "system:masters"
    );
}

fn crd(plural: &str, kind: &str, subresources: Value) -> Value {
    json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": format!("{plural}.sub.example.com")},
        "spec": {"group": "sub.example.com", "scope": "Namespaced",
            "names": {"plural": plural, "singular": kind.to_lowercase(), "kind": kind,
                "listKind": format!("{kind}List")},
            "versions": [{"name": "v1", "served": true, "storage": true,
                "subresources": subresources,
                "schema": {"openAPIV3Schema": {"type": "object",
                    "x-kubernetes-preserve-unknown-fields": true}}}]}})
}

#[tokio::test]
async fn custom_resources_answer_as_the_crd_handler_does() {
    let st = state().await;
    install_crd(&st, crd("plains", "Plain", json!({}))).await;
    install_crd(
        &st,
        crd(
            "scaled",
            "Scaled",
            json!({"status": {}, "scale": {"specReplicasPath": ".spec.replicas",
                "statusReplicasPath": ".status.replicas"}}),
        ),
    )
    .await;
    let g = "/apis/sub.example.com/v1/namespaces/default";
    for (plural, kind) in [("plains", "Plain"), ("scaled", "Scaled")] {
        create(
            &st,
            &format!("{g}/{plural}"),
            json!({"apiVersion": "sub.example.com/v1", "kind": kind, "metadata": {"name": "x"},
                "spec": {"replicas": 1}}),
        )
        .await;
    }
    // A subresource the version does not enable: the object "is not found",
    // whether it exists or not (`customresource_handler.go`).
    for name in ["x", "missing"] {
        let want = |plural: &str| {
            json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": format!("{plural}.sub.example.com \"{name}\" not found"),
                "reason": "NotFound",
                "details": {"name": name, "group": "sub.example.com", "kind": plural},
                "code": 404})
        };
        let uris = [
            format!("{g}/plains/{name}/status"),
            format!("{g}/plains/{name}/scale"),
            format!("{g}/plains/{name}/foo"),
        ];
        let uris: Vec<&str> = uris.iter().map(String::as_str).collect();
        expect(&st, &ALL, &uris, 404, &want("plains")).await;
        let foo = format!("{g}/scaled/{name}/foo");
        expect(&st, &ALL, &[&foo], 404, &want("scaled")).await;
        // An enabled subresource and a verb it does not serve.
        for sub in ["status", "scale"] {
            let uri = format!("{g}/scaled/{name}/{sub}");
            for (m, verb) in [(Method::POST, "create"), (Method::DELETE, "delete")] {
                let want = json!({"kind": "Status", "apiVersion": "v1", "metadata": {},
                    "status": "Failure",
                    "message": format!("{verb} is not supported on resources of kind \"scaled.sub.example.com\""),
                    "reason": "MethodNotAllowed",
                    "details": {"group": "sub.example.com", "kind": "scaled"}, "code": 405});
                expect(&st, &[m], &[&uri], 405, &want).await;
            }
        }
    }
    let r = call(
        &st,
        Method::GET,
        "/apis/sub.example.com/v1/watch/namespaces/default/scaled/x/status",
        None,
    )
    .await;
    assert_eq!(r.status.as_u16(), 405);
    assert_eq!(
        r.json()["message"],
        "watch is not supported on resources of kind \"scaled.sub.example.com\""
    );
    let r = call(
        &st,
        Method::GET,
        &format!("{g}/scaled/x/scale?watch=1"),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["kind"], "Scale");
    assert_eq!(r.json()["spec"]["replicas"], 1);
    let r = call(&st, Method::GET, &format!("{g}/scaled/x/status"), None).await;
    assert_eq!(
        (r.status, r.json()["kind"].clone()),
        (StatusCode::OK, json!("Scaled"))
    );
}

/// A custom resource's list is unstructured JSON upstream: `continue` is
/// written even when empty and the keys are sorted; the typed Table and
/// PartialObjectMetadataList leave an empty `continue` out (v1.36).
#[tokio::test]
async fn custom_resource_list_metadata_as_upstream() {
    let st = state().await;
    install_crd(&st, crd("plains", "Plain", json!({}))).await;
    let g = "/apis/sub.example.com/v1/namespaces/default/plains";
    for name in ["a", "b"] {
        create(
            &st,
            g,
            json!({"apiVersion": "sub.example.com/v1", "kind": "Plain", "metadata": {"name": name}}),
        )
        .await;
    }
    let meta = |r: &Resp| r.json()["metadata"].clone();
    let list = call(&st, Method::GET, g, None).await;
    let keys: Vec<String> = meta(&list).as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys, ["continue", "resourceVersion"]);
    assert_eq!(meta(&list)["continue"], "");
    let page = call(&st, Method::GET, &format!("{g}?limit=1"), None).await;
    let keys: Vec<String> = meta(&page).as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys, ["continue", "remainingItemCount", "resourceVersion"]);
    for accept in [
        "application/json;as=Table;v=v1;g=meta.k8s.io",
        "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io",
    ] {
        let r = send(
            &st,
            Request::builder()
                .uri(g)
                .header("authorization", format!("Bearer {TOKEN}"))
                .header("accept", accept)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        let keys: Vec<String> = meta(&r).as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys, ["resourceVersion"], "{accept}");
    }
}
