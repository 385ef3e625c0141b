//! Server-side apply builds a typed object from the applied configuration
//! before anything else: a field the schema does not declare is upstream's
//! 500 `failed to create typed patch object`, whatever `fieldValidation`
//! says, for built-in kinds and custom resources alike. Every expected body
//! was taken from a kube-apiserver v1.36.2.

use std::sync::Arc;

use http::{Method, StatusCode};
use serde_json::{Value, json};

use ironkube::apiserver::AppState;

mod inproc;
use inproc::{Resp, install_crd, request, state};

async fn apply(st: &Arc<AppState>, uri: &str, validation: &str, yaml: &str) -> Resp {
    request(
        st,
        Method::PATCH,
        &format!("{uri}?fieldManager=kubectl&fieldValidation={validation}"),
        "application/apply-patch+yaml",
        Some(yaml.to_string()),
    )
    .await
}

fn internal(message: &str) -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": message, "code": 500})
}

#[tokio::test]
async fn undeclared_fields_of_a_built_in_kind() {
    let st = state().await;
    let uri = "/apis/apps/v1/namespaces/default/deployments/two";
    let yaml = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: two
  zeta: 1
spec:
  bogus: 1
  selector: {matchLabels: {a: b}}
  template: {metadata: {labels: {a: b}}, spec: {containers: [{name: c, image: i}]}}
status: {foo: 1}
"#;
    for validation in ["Strict", "Warn", "Ignore"] {
        let r = apply(&st, uri, validation, yaml).await;
        assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR, "{validation}");
        assert_eq!(
            r.json(),
            internal(
                "failed to create typed patch object (/two; apps/v1, Kind=Deployment): errors:\n  \
.metadata.zeta: field not declared in schema\n  \
.spec.bogus: field not declared in schema\n  \
.status.foo: field not declared in schema"
            )
        );
    }
    // In a list item, the path names the item by its key; nothing was stored.
    let yaml = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: two
  namespace: default
spec:
  selector: {matchLabels: {a: b}}
  template: {metadata: {labels: {a: b}}, spec: {containers: [{name: c, image: i, nope: 3}]}}
"#;
    let r = apply(&st, uri, "Strict", yaml).await;
    assert_eq!(
        r.json(),
        internal(
            "failed to create typed patch object (default/two; apps/v1, Kind=Deployment): \
.spec.template.spec.containers[name=\"c\"].nope: field not declared in schema"
        )
    );
    let r = request(&st, Method::GET, uri, "", None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // Maps and kept-unknown types take any key.
    let yaml = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: two
  labels: {any: x}
spec:
  selector: {matchLabels: {a: b}}
  template: {metadata: {labels: {a: b}}, spec: {containers: [{name: c, image: i}], nodeSelector: {k: v}}}
"#;
    let r = apply(&st, uri, "Strict", yaml).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.json());
}

#[tokio::test]
async fn undeclared_fields_of_a_custom_resource() {
    let st = state().await;
    install_crd(
        &st,
        json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "crontabs.stable.example.com"},
            "spec": {"group": "stable.example.com", "scope": "Namespaced",
                "names": {"plural": "crontabs", "singular": "crontab", "kind": "CronTab",
                    "listKind": "CronTabList"},
                "versions": [{"name": "v1", "served": true, "storage": true,
                    "subresources": {"status": {}},
                    "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                        "spec": {"type": "object", "properties": {
                            "cronSpec": {"type": "string"},
                            "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                            "labels": {"type": "object", "additionalProperties": {"type": "string"}}}},
                        "status": {"type": "object", "properties": {
                            "replicas": {"type": "integer"}}}}}}}]}}),
    )
    .await;
    let uri = "/apis/stable.example.com/v1/namespaces/default/crontabs/two";
    let yaml = r#"apiVersion: stable.example.com/v1
kind: CronTab
metadata:
  name: two
  zeta: 1
spec:
  zzz: 1
status: {foo: 1}
extra: 1
"#;
    for validation in ["Strict", "Ignore"] {
        let r = apply(&st, uri, validation, yaml).await;
        assert_eq!(
            r.json(),
            internal(
                "failed to create typed patch object (/two; stable.example.com/v1, Kind=CronTab): errors:\n  \
.metadata.zeta: field not declared in schema\n  \
.spec.zzz: field not declared in schema\n  \
.status.foo: field not declared in schema\n  \
.extra: field not declared in schema"
            ),
            "{validation}"
        );
    }
    let yaml = r#"apiVersion: stable.example.com/v1
kind: CronTab
metadata:
  name: two
spec:
  cronSpec: x
  bogus: 1
"#;
    let r = apply(&st, uri, "Warn", yaml).await;
    assert_eq!(
        r.json(),
        internal(
            "failed to create typed patch object (/two; stable.example.com/v1, Kind=CronTab): \
.spec.bogus: field not declared in schema"
        )
    );
    // Kept-unknown fields and map values are declared.
    let yaml = r#"apiVersion: stable.example.com/v1
kind: CronTab
metadata:
  name: two
  labels: {a: b}
spec:
  cronSpec: x
  free: {any: {thing: 1}}
  labels: {k: v}
"#;
    let r = apply(&st, uri, "Strict", yaml).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.json());
}
