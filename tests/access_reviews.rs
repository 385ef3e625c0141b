//! authorization.k8s.io/v1 access reviews, in-process: SelfSubjectAccessReview,
//! SubjectAccessReview, LocalSubjectAccessReview and SelfSubjectRulesReview.
//! RBAC objects are created through the API, reviews posted, and the whole
//! answer compared with what kube-apiserver v1.36.2 returned for the same
//! requests (`metadata.managedFields` times blanked). Where ironkube knowingly
//! differs, the test says so.

mod inproc;

use std::sync::Arc;

use axum::body::Body;
use http::{Method, Request, StatusCode};
use inproc::{Resp, TOKEN, send, state};
use ironkube::apiserver::AppState;
use serde_json::{Value, json};

const G: &str = "/apis/authorization.k8s.io/v1";

/// A POST as the admin, from `curl` (the field manager upstream names in
/// `managedFields`), with extra headers (impersonation).
async fn post_as(
    st: &Arc<AppState>,
    path: &str,
    content_type: &str,
    body: Vec<u8>,
    headers: &[(&str, &str)],
) -> Resp {
    let mut b = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header("authorization", format!("Bearer {TOKEN}"))
        .header("content-type", content_type)
        .header("user-agent", "curl/8.5.0");
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    send(st, b.body(Body::from(body)).expect("request")).await
}

async fn post(st: &Arc<AppState>, path: &str, body: &str) -> Resp {
    post_as(st, path, "application/json", body.as_bytes().to_vec(), &[]).await
}

/// Compact JSON with every RFC 3339 time (managedFields' `time`, also inside
/// messages) replaced by `T`.
fn norm(text: &str) -> String {
    let v: Value = serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
    let re = regex::Regex::new(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ").expect("regex");
    re.replace_all(&v.to_string(), "T").into_owned()
}

#[track_caller]
fn assert_answer(r: &Resp, code: u16, upstream: &str) {
    let body = String::from_utf8_lossy(&r.body);
    assert_eq!(r.status.as_u16(), code, "{body}");
    assert_eq!(norm(&body), norm(upstream));
}

async fn create(st: &Arc<AppState>, path: &str, obj: Value) {
    let r = post(st, path, &obj.to_string()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{path}: {}", r.json());
}

/// The RBAC objects of the comparison with upstream (made there with
/// `kubectl create role/rolebinding/clusterrole/clusterrolebinding`).
async fn setup(st: &Arc<AppState>) {
    let rbac = "/apis/rbac.authorization.k8s.io/v1";
    create(
        st,
        "/api/v1/namespaces",
        json!({"metadata": {"name": "foo"}}),
    )
    .await;
    create(
        st,
        &format!("{rbac}/namespaces/foo/roles"),
        json!({"metadata": {"name": "cm-reader"},
               "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list"]}]}),
    )
    .await;
    for (name, kind, role) in [
        ("carol-cm", "Role", "cm-reader"),
        ("carol-missing", "Role", "nope"),
        ("carol-pods", "ClusterRole", "pod-named"),
    ] {
        create(
            st,
            &format!("{rbac}/namespaces/foo/rolebindings"),
            json!({"metadata": {"name": name},
                   "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": role},
                   "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "carol"}]}),
        )
        .await;
    }
    create(
        st,
        &format!("{rbac}/clusterroles"),
        json!({"metadata": {"name": "nr"},
               "rules": [{"nonResourceURLs": ["/logs/*", "/metrics"], "verbs": ["get", "post"]}]}),
    )
    .await;
    create(
        st,
        &format!("{rbac}/clusterroles"),
        json!({"metadata": {"name": "pod-named"},
               "rules": [
                   {"apiGroups": [""], "resourceNames": ["web", "db"], "resources": ["pods"], "verbs": ["get"]},
                   {"apiGroups": ["apps"], "resourceNames": ["web", "db"], "resources": ["deployments/scale"], "verbs": ["get"]}]}),
    )
    .await;
    for (name, role) in [("carol-nr", "nr"), ("carol-missing-cr", "gone")] {
        create(
            st,
            &format!("{rbac}/clusterrolebindings"),
            json!({"metadata": {"name": name},
                   "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
                   "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "carol"}]}),
        )
        .await;
    }
}

#[tokio::test]
async fn discovery_serves_the_reviews_create_only() {
    let st = state().await;
    let r = inproc::request(&st, Method::GET, G, "", None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        String::from_utf8_lossy(&r.body),
        r#"{"kind":"APIResourceList","apiVersion":"v1","groupVersion":"authorization.k8s.io/v1","resources":[{"name":"localsubjectaccessreviews","singularName":"localsubjectaccessreview","namespaced":true,"kind":"LocalSubjectAccessReview","verbs":["create"]},{"name":"selfsubjectaccessreviews","singularName":"selfsubjectaccessreview","namespaced":false,"kind":"SelfSubjectAccessReview","verbs":["create"]},{"name":"selfsubjectrulesreviews","singularName":"selfsubjectrulesreview","namespaced":false,"kind":"SelfSubjectRulesReview","verbs":["create"]},{"name":"subjectaccessreviews","singularName":"subjectaccessreview","namespaced":false,"kind":"SubjectAccessReview","verbs":["create"]}]}"#
    );
    // authorization.k8s.io comes right after authentication.k8s.io.
    let r = inproc::request(&st, Method::GET, "/apis", "", None).await;
    let groups: Vec<String> = r.json()["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .map(|g| g["name"].as_str().unwrap_or_default().to_string())
        .collect();
    let at = groups
        .iter()
        .position(|g| g == "authentication.k8s.io")
        .expect("authentication.k8s.io");
    assert_eq!(groups[at + 1], "authorization.k8s.io", "{groups:?}");
    // Create-only and not stored: no other verb, no cluster-wide local review.
    let r = inproc::request(
        &st,
        Method::GET,
        &format!("{G}/subjectaccessreviews/x"),
        "",
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_answer(
        &post(
            &st,
            &format!("{G}/localsubjectaccessreviews"),
            r#"{"apiVersion":"authorization.k8s.io/v1","kind":"LocalSubjectAccessReview","spec":{"user":"carol","resourceAttributes":{"verb":"get","resource":"configmaps"}}}"#,
        )
        .await,
        404,
        r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"the server could not find the requested resource","reason":"NotFound","details":{},"code":404}"#,
    );
}

#[tokio::test]
async fn self_subject_access_reviews() {
    let st = state().await;
    assert_answer(
        &post(&st, &format!("{G}/selfsubjectaccessreviews"), r#"{"kind":"SelfSubjectAccessReview","apiVersion":"authorization.k8s.io/v1","spec":{"resourceAttributes":{"verb":"list","resource":"pods","namespace":"default"}}}"#).await,
        201,
        r#"{"kind":"SelfSubjectAccessReview","apiVersion":"authorization.k8s.io/v1","metadata":{"managedFields":[{"manager":"curl","operation":"Update","apiVersion":"authorization.k8s.io/v1","time":"2026-12-03T20:10:55Z","fieldsType":"FieldsV1","fieldsV1":{"f:spec":{"f:resourceAttributes":{".":{},"f:namespace":{},"f:resource":{},"f:verb":{}}}}}]},"spec":{"resourceAttributes":{"namespace":"default","verb":"list","resource":"pods"}},"status":{"allowed":true}}"#,
    );
    assert_answer(
        &post(&st, &format!("{G}/selfsubjectaccessreviews"), r#"{"kind":"SelfSubjectAccessReview","apiVersion":"authorization.k8s.io/v1","spec":{"nonResourceAttributes":{"verb":"get","path":"/healthz"}}}"#).await,
        201,
        r#"{"kind":"SelfSubjectAccessReview","apiVersion":"authorization.k8s.io/v1","metadata":{"managedFields":[{"manager":"curl","operation":"Update","apiVersion":"authorization.k8s.io/v1","time":"2026-12-03T20:10:55Z","fieldsType":"FieldsV1","fieldsV1":{"f:spec":{"f:nonResourceAttributes":{".":{},"f:path":{},"f:verb":{}}}}}]},"spec":{"nonResourceAttributes":{"path":"/healthz","verb":"get"}},"status":{"allowed":true}}"#,
    );
    // The requester after impersonation.
    let bob = [("impersonate-user", "bob")];
    let ssar = format!("{G}/selfsubjectaccessreviews");
    let r = post_as(&st, &ssar, "application/json", r#"{"apiVersion":"authorization.k8s.io/v1","kind":"SelfSubjectAccessReview","spec":{"resourceAttributes":{"verb":"list","resource":"pods","namespace":"kube-system"}}}"#.into(), &bob).await;
    assert_answer(
        &r,
        201,
        r#"{"kind":"SelfSubjectAccessReview","apiVersion":"authorization.k8s.io/v1","metadata":{"managedFields":[{"manager":"curl","operation":"Update","apiVersion":"authorization.k8s.io/v1","time":"2026-12-03T20:10:56Z","fieldsType":"FieldsV1","fieldsV1":{"f:spec":{"f:resourceAttributes":{".":{},"f:namespace":{},"f:resource":{},"f:verb":{}}}}}]},"spec":{"resourceAttributes":{"namespace":"kube-system","verb":"list","resource":"pods"}},"status":{"allowed":false}}"#,
    );
    let r = post_as(&st, &ssar, "application/json", r#"{"apiVersion":"authorization.k8s.io/v1","kind":"SelfSubjectAccessReview","spec":{"resourceAttributes":{"verb":"create","resource":"selfsubjectreviews","group":"authentication.k8s.io"}}}"#.into(), &bob).await;
    assert_answer(
        &r,
        201,
        r#"{"kind":"SelfSubjectAccessReview","apiVersion":"authorization.k8s.io/v1","metadata":{"managedFields":[{"manager":"curl","operation":"Update","apiVersion":"authorization.k8s.io/v1","time":"2026-12-03T20:10:56Z","fieldsType":"FieldsV1","fieldsV1":{"f:spec":{"f:resourceAttributes":{".":{},"f:group":{},"f:resource":{},"f:verb":{}}}}}]},"spec":{"resourceAttributes":{"verb":"create","group":"authentication.k8s.io","resource":"selfsubjectreviews"}},"status":{"allowed":true,"reason":"RBAC: allowed by ClusterRoleBinding \"system:basic-user\" of ClusterRole \"system:basic-user\" to Group \"system:authenticated\""}}"#,
    );
    // What the client sent that the Go type does not know is dropped (with
    // warnings), its status replaced; system fields of metadata are wiped.
    let r = post(&st, &ssar, r#"{"apiVersion":"authorization.k8s.io/v1","kind":"SelfSubjectAccessReview","spec":{"resourceAttributes":{"namespace":"a","verb":"get","group":"apps","version":"v1","resource":"deployments","subresource":"scale","name":"web","unknownField":1},"extra":"x"},"status":{"allowed":false,"reason":"client"}}"#).await;
    assert_answer(
        &r,
        201,
        r#"{"kind":"SelfSubjectAccessReview","apiVersion":"authorization.k8s.io/v1","metadata":{"managedFields":[{"manager":"curl","operation":"Update","apiVersion":"authorization.k8s.io/v1","time":"2026-12-03T20:10:56Z","fieldsType":"FieldsV1","fieldsV1":{"f:spec":{"f:resourceAttributes":{".":{},"f:group":{},"f:name":{},"f:namespace":{},"f:resource":{},"f:subresource":{},"f:verb":{},"f:version":{}}},"f:status":{"f:reason":{}}}}]},"spec":{"resourceAttributes":{"namespace":"a","verb":"get","group":"apps","version":"v1","resource":"deployments","subresource":"scale","name":"web"}},"status":{"allowed":true}}"#,
    );
    let warnings: Vec<&str> = r
        .headers
        .get_all("warning")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    assert_eq!(
        warnings,
        [
            r#"299 - "unknown field \"spec.resourceAttributes.unknownField\"""#,
            r#"299 - "unknown field \"spec.extra\"""#
        ]
    );
    let r = post(&st, &ssar, r#"{"apiVersion":"authorization.k8s.io/v1","kind":"SelfSubjectAccessReview","metadata":{"namespace":"foo","creationTimestamp":"2020-01-01T00:00:00Z"},"spec":{"resourceAttributes":{"verb":"get"}}}"#).await;
    assert_answer(
        &r,
        201,
        r#"{"kind":"SelfSubjectAccessReview","apiVersion":"authorization.k8s.io/v1","metadata":{"managedFields":[{"manager":"curl","operation":"Update","apiVersion":"authorization.k8s.io/v1","time":"2026-12-03T20:10:56Z","fieldsType":"FieldsV1","fieldsV1":{"f:spec":{"f:resourceAttributes":{".":{},"f:verb":{}}}}}]},"spec":{"resourceAttributes":{"verb":"get"}},"status":{"allowed":true}}"#,
    );
    // Selectors: what could not be parsed is reported, the review answered.
    let r = post_as(&st, &ssar, "application/json", r#"{"apiVersion":"authorization.k8s.io/v1","kind":"SelfSubjectAccessReview","spec":{"resourceAttributes":{"verb":"list","resource":"pods","fieldSelector":{"rawSelector":"***foo"},"labelSelector":{"rawSelector":"***foo"}}}}"#.into(), &bob).await;
    assert_answer(
        &r,
        201,
        r#"{"kind":"SelfSubjectAccessReview","apiVersion":"authorization.k8s.io/v1","metadata":{"managedFields":[{"manager":"curl","operation":"Update","apiVersion":"authorization.k8s.io/v1","time":"2026-12-03T20:10:56Z","fieldsType":"FieldsV1","fieldsV1":{"f:spec":{"f:resourceAttributes":{".":{},"f:fieldSelector":{".":{},"f:rawSelector":{}},"f:labelSelector":{".":{},"f:rawSelector":{}},"f:resource":{},"f:verb":{}}}}}]},"spec":{"resourceAttributes":{"verb":"list","resource":"pods","fieldSelector":{"rawSelector":"***foo"},"labelSelector":{"rawSelector":"***foo"}}},"status":{"allowed":false,"evaluationError":"spec.resourceAttributes.fieldSelector ignored due to parse error; spec.resourceAttributes.labelSelector ignored due to parse error"}}"#,
    );
    let r = post_as(&st, &ssar, "application/json", r#"{"apiVersion":"authorization.k8s.io/v1","kind":"SelfSubjectAccessReview","spec":{"resourceAttributes":{"verb":"list","resource":"pods","fieldSelector":{"requirements":[{"key":"a","operator":"In","values":["x"]},{"key":"b","operator":"Exists"}]},"labelSelector":{"requirements":[{"key":"a","operator":"In","values":["x"]},{"key":"b","operator":"Fake","values":["y"]}]}}}}"#.into(), &bob).await;
    assert_answer(
        &r,
        201,
        r#"{"kind":"SelfSubjectAccessReview","apiVersion":"authorization.k8s.io/v1","metadata":{"managedFields":[{"manager":"curl","operation":"Update","apiVersion":"authorization.k8s.io/v1","time":"2026-12-03T20:10:56Z","fieldsType":"FieldsV1","fieldsV1":{"f:spec":{"f:resourceAttributes":{".":{},"f:fieldSelector":{".":{},"f:requirements":{}},"f:labelSelector":{".":{},"f:requirements":{}},"f:resource":{},"f:verb":{}}}}}]},"spec":{"resourceAttributes":{"verb":"list","resource":"pods","fieldSelector":{"requirements":[{"key":"a","operator":"In","values":["x"]},{"key":"b","operator":"Exists"}]},"labelSelector":{"requirements":[{"key":"a","operator":"In","values":["x"]},{"key":"b","operator":"Fake","values":["y"]}]}}},"status":{"allowed":false,"evaluationError":"spec.resourceAttributes.fieldSelector partially ignored due to parse error; spec.resourceAttributes.labelSelector partially ignored due to parse error"}}"#,
    );
    let r = post_as(&st, &ssar, "application/json", r#"{"apiVersion":"authorization.k8s.io/v1","kind":"SelfSubjectAccessReview","spec":{"resourceAttributes":{"verb":"list","resource":"pods","fieldSelector":{"requirements":[{"key":"a","operator":"In","values":["x","y"]},{"key":"b","operator":"Fake","values":["z"]}]}}}}"#.into(), &bob).await;
    assert_answer(
        &r,
        201,
        r#"{"kind":"SelfSubjectAccessReview","apiVersion":"authorization.k8s.io/v1","metadata":{"managedFields":[{"manager":"curl","operation":"Update","apiVersion":"authorization.k8s.io/v1","time":"2026-12-03T20:10:56Z","fieldsType":"FieldsV1","fieldsV1":{"f:spec":{"f:resourceAttributes":{".":{},"f:fieldSelector":{".":{},"f:requirements":{}},"f:resource":{},"f:verb":{}}}}}]},"spec":{"resourceAttributes":{"verb":"list","resource":"pods","fieldSelector":{"requirements":[{"key":"a","operator":"In","values":["x","y"]},{"key":"b","operator":"Fake","values":["z"]}]}}},"status":{"allowed":false,"evaluationError":"spec.resourceAttributes.fieldSelector ignored due to parse error"}}"#,
    );
}

#[tokio::test]
async fn invalid_reviews_are_upstreams_422s() {
    let st = state().await;
    let ssar = format!("{G}/selfsubjectaccessreviews");
    let sar = format!("{G}/subjectaccessreviews");
    let lsar = format!("{G}/namespaces/foo/localsubjectaccessreviews");
    for (path, name, body, code, want) in [
        (
            &ssar,
            "ssar_both_meta",
            r#"{"apiVersion":"authorization.k8s.io/v1","kind":"SelfSubjectAccessReview","metadata":{"name":"x","labels":{"a":"b"}},"spec":{"resourceAttributes":{"verb":"list","resource":"pods"},"nonResourceAttributes":{"path":"/x","verb":"get"}}}"#,
            422,
            r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":".authorization.k8s.io \"\" is invalid: [spec.nonResourceAttributes: Invalid value: {\"Path\":\"/x\",\"Verb\":\"get\"}: cannot be specified in combination with resourceAttributes, metadata: Invalid value: {\"name\":\"x\",\"labels\":{\"a\":\"b\"},\"managedFields\":[{\"manager\":\"curl\",\"operation\":\"Update\",\"apiVersion\":\"authorization.k8s.io/v1\",\"time\":\"2026-12-03T20:10:55Z\",\"fieldsType\":\"FieldsV1\",\"fieldsV1\":{\"f:metadata\":{\"f:labels\":{\".\":{},\"f:a\":{}}},\"f:spec\":{\"f:nonResourceAttributes\":{\".\":{},\"f:path\":{},\"f:verb\":{}},\"f:resourceAttributes\":{\".\":{},\"f:resource\":{},\"f:verb\":{}}}}}]}: must be empty]","reason":"Invalid","details":{"group":"authorization.k8s.io","causes":[{"reason":"FieldValueInvalid","message":"Invalid value: {\"Path\":\"/x\",\"Verb\":\"get\"}: cannot be specified in combination with resourceAttributes","field":"spec.nonResourceAttributes"},{"reason":"FieldValueInvalid","message":"Invalid value: {\"name\":\"x\",\"labels\":{\"a\":\"b\"},\"managedFields\":[{\"manager\":\"curl\",\"operation\":\"Update\",\"apiVersion\":\"authorization.k8s.io/v1\",\"time\":\"2026-12-03T20:10:55Z\",\"fieldsType\":\"FieldsV1\",\"fieldsV1\":{\"f:metadata\":{\"f:labels\":{\".\":{},\"f:a\":{}}},\"f:spec\":{\"f:nonResourceAttributes\":{\".\":{},\"f:path\":{},\"f:verb\":{}},\"f:resourceAttributes\":{\".\":{},\"f:resource\":{},\"f:verb\":{}}}}}]}: must be empty","field":"metadata"}]},"code":422}"#,
        ),
        (
            &ssar,
            "ssar_empty_spec",
            r#"{"apiVersion":"authorization.k8s.io/v1","kind":"SelfSubjectAccessReview","spec":{}}"#,
            422,
            r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":".authorization.k8s.io \"\" is invalid: spec.resourceAttributes: Invalid value: null: exactly one of nonResourceAttributes or resourceAttributes must be specified","reason":"Invalid","details":{"group":"authorization.k8s.io","causes":[{"reason":"FieldValueInvalid","message":"Invalid value: null: exactly one of nonResourceAttributes or resourceAttributes must be specified","field":"spec.resourceAttributes"}]},"code":422}"#,
        ),
        (
            &ssar,
            "ssar_empty_obj",
            r#"{}"#,
            422,
            r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":".authorization.k8s.io \"\" is invalid: spec.resourceAttributes: Invalid value: null: exactly one of nonResourceAttributes or resourceAttributes must be specified","reason":"Invalid","details":{"group":"authorization.k8s.io","causes":[{"reason":"FieldValueInvalid","message":"Invalid value: null: exactly one of nonResourceAttributes or resourceAttributes must be specified","field":"spec.resourceAttributes"}]},"code":422}"#,
        ),
        (
            &ssar,
            "ssar_meta_name",
            r#"{"apiVersion":"authorization.k8s.io/v1","kind":"SelfSubjectAccessReview","metadata":{"name":"x"},"spec":{"resourceAttributes":{"verb":"get"}}}"#,
            422,
            r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":".authorization.k8s.io \"\" is invalid: metadata: Invalid value: {\"name\":\"x\",\"managedFields\":[{\"manager\":\"curl\",\"operation\":\"Update\",\"apiVersion\":\"authorization.k8s.io/v1\",\"time\":\"2026-12-03T20:10:55Z\",\"fieldsType\":\"FieldsV1\",\"fieldsV1\":{\"f:spec\":{\"f:resourceAttributes\":{\".\":{},\"f:verb\":{}}}}}]}: must be empty","reason":"Invalid","details":{"group":"authorization.k8s.io","causes":[{"reason":"FieldValueInvalid","message":"Invalid value: {\"name\":\"x\",\"managedFields\":[{\"manager\":\"curl\",\"operation\":\"Update\",\"apiVersion\":\"authorization.k8s.io/v1\",\"time\":\"2026-12-03T20:10:55Z\",\"fieldsType\":\"FieldsV1\",\"fieldsV1\":{\"f:spec\":{\"f:resourceAttributes\":{\".\":{},\"f:verb\":{}}}}}]}: must be empty","field":"metadata"}]},"code":422}"#,
        ),
        (
            &ssar,
            "ssar_wrong_kind",
            r#"{"apiVersion":"authorization.k8s.io/v1","kind":"SubjectAccessReview","spec":{"resourceAttributes":{"verb":"get"}}}"#,
            400,
            r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"SubjectAccessReview in version \"v1\" cannot be handled as a SelfSubjectAccessReview: converting (v1.SubjectAccessReview) to (authorization.SelfSubjectAccessReview): unknown conversion","reason":"BadRequest","code":400}"#,
        ),
        (
            &ssar,
            "ssar_fsel_invalid",
            r#"{"apiVersion":"authorization.k8s.io/v1","kind":"SelfSubjectAccessReview","spec":{"resourceAttributes":{"verb":"list","resource":"pods","fieldSelector":{"rawSelector":"a=b","requirements":[{"key":"","operator":"In"}]},"labelSelector":{}}}}"#,
            422,
            r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":".authorization.k8s.io \"\" is invalid: [spec.resourceAttributes.fieldSelector.rawSelector: Invalid value: \"a=b\": may not specified at the same time as requirements, spec.resourceAttributes.fieldSelector.requirements[0].key: Required value: must be specified, spec.resourceAttributes.fieldSelector.requirements[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn', spec.resourceAttributes.labelSelector.requirements: Required value: when spec.resourceAttributes.labelSelector is specified, requirements or rawSelector is required]","reason":"Invalid","details":{"group":"authorization.k8s.io","causes":[{"reason":"FieldValueInvalid","message":"Invalid value: \"a=b\": may not specified at the same time as requirements","field":"spec.resourceAttributes.fieldSelector.rawSelector"},{"reason":"FieldValueRequired","message":"Required value: must be specified","field":"spec.resourceAttributes.fieldSelector.requirements[0].key"},{"reason":"FieldValueRequired","message":"Required value: must be specified when `operator` is 'In' or 'NotIn'","field":"spec.resourceAttributes.fieldSelector.requirements[0].values"},{"reason":"FieldValueRequired","message":"Required value: when spec.resourceAttributes.labelSelector is specified, requirements or rawSelector is required","field":"spec.resourceAttributes.labelSelector.requirements"}]},"code":422}"#,
        ),
        (
            &ssar,
            "ssar_lsel_invalid",
            r#"{"apiVersion":"authorization.k8s.io/v1","kind":"SelfSubjectAccessReview","spec":{"resourceAttributes":{"verb":"list","resource":"pods","labelSelector":{"requirements":[{"key":"","operator":"In"},{"key":"()foo","operator":"Exists","values":["v"]},{"key":"k","operator":"NotIn","values":[]},{"key":"k","operator":"Fake"}]},"fieldSelector":{"requirements":[{"key":"k","operator":"DoesNotExist","values":["v"]},{"key":"k","operator":"Fake"}]}}}}"#,
            422,
            r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":".authorization.k8s.io \"\" is invalid: [spec.resourceAttributes.fieldSelector.requirements[0].values: Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist', spec.resourceAttributes.labelSelector.requirements[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn', spec.resourceAttributes.labelSelector.requirements[0].key: Invalid value: \"\": name part must be non-empty, spec.resourceAttributes.labelSelector.requirements[0].key: Invalid value: \"\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]'), spec.resourceAttributes.labelSelector.requirements[1].values: Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist', spec.resourceAttributes.labelSelector.requirements[1].key: Invalid value: \"()foo\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]'), spec.resourceAttributes.labelSelector.requirements[2].values: Required value: must be specified when `operator` is 'In' or 'NotIn']","reason":"Invalid","details":{"group":"authorization.k8s.io","causes":[{"reason":"FieldValueForbidden","message":"Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'","field":"spec.resourceAttributes.fieldSelector.requirements[0].values"},{"reason":"FieldValueRequired","message":"Required value: must be specified when `operator` is 'In' or 'NotIn'","field":"spec.resourceAttributes.labelSelector.requirements[0].values"},{"reason":"FieldValueInvalid","message":"Invalid value: \"\": name part must be non-empty","field":"spec.resourceAttributes.labelSelector.requirements[0].key"},{"reason":"FieldValueInvalid","message":"Invalid value: \"\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')","field":"spec.resourceAttributes.labelSelector.requirements[0].key"},{"reason":"FieldValueForbidden","message":"Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'","field":"spec.resourceAttributes.labelSelector.requirements[1].values"},{"reason":"FieldValueInvalid","message":"Invalid value: \"()foo\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')","field":"spec.resourceAttributes.labelSelector.requirements[1].key"},{"reason":"FieldValueRequired","message":"Required value: must be specified when `operator` is 'In' or 'NotIn'","field":"spec.resourceAttributes.labelSelector.requirements[2].values"}]},"code":422}"#,
        ),
        (
            &sar,
            "sar_empty",
            r#"{"apiVersion":"authorization.k8s.io/v1","kind":"SubjectAccessReview","spec":{}}"#,
            422,
            r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":".authorization.k8s.io \"\" is invalid: [spec.resourceAttributes: Invalid value: null: exactly one of nonResourceAttributes or resourceAttributes must be specified, spec.user: Invalid value: \"\": at least one of user or group must be specified]","reason":"Invalid","details":{"group":"authorization.k8s.io","causes":[{"reason":"FieldValueInvalid","message":"Invalid value: null: exactly one of nonResourceAttributes or resourceAttributes must be specified","field":"spec.resourceAttributes"},{"reason":"FieldValueInvalid","message":"Invalid value: \"\": at least one of user or group must be specified","field":"spec.user"}]},"code":422}"#,
        ),
        (
            &sar,
            "sar_nouser",
            r#"{"apiVersion":"authorization.k8s.io/v1","kind":"SubjectAccessReview","spec":{"resourceAttributes":{"verb":"list","resource":"pods"}}}"#,
            422,
            r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":".authorization.k8s.io \"\" is invalid: spec.user: Invalid value: \"\": at least one of user or group must be specified","reason":"Invalid","details":{"group":"authorization.k8s.io","causes":[{"reason":"FieldValueInvalid","message":"Invalid value: \"\": at least one of user or group must be specified","field":"spec.user"}]},"code":422}"#,
        ),
        (
            &sar,
            "sar_meta",
            r#"{"apiVersion":"authorization.k8s.io/v1","kind":"SubjectAccessReview","metadata":{"name":"n","namespace":"x"},"spec":{"user":"bob","nonResourceAttributes":{"verb":"get","path":"/x"}}}"#,
            422,
            r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":".authorization.k8s.io \"\" is invalid: metadata: Invalid value: {\"name\":\"n\",\"managedFields\":[{\"manager\":\"curl\",\"operation\":\"Update\",\"apiVersion\":\"authorization.k8s.io/v1\",\"time\":\"2026-12-03T20:10:56Z\",\"fieldsType\":\"FieldsV1\",\"fieldsV1\":{\"f:spec\":{\"f:nonResourceAttributes\":{\".\":{},\"f:path\":{},\"f:verb\":{}},\"f:user\":{}}}}]}: must be empty","reason":"Invalid","details":{"group":"authorization.k8s.io","causes":[{"reason":"FieldValueInvalid","message":"Invalid value: {\"name\":\"n\",\"managedFields\":[{\"manager\":\"curl\",\"operation\":\"Update\",\"apiVersion\":\"authorization.k8s.io/v1\",\"time\":\"2026-12-03T20:10:56Z\",\"fieldsType\":\"FieldsV1\",\"fieldsV1\":{\"f:spec\":{\"f:nonResourceAttributes\":{\".\":{},\"f:path\":{},\"f:verb\":{}},\"f:user\":{}}}}]}: must be empty","field":"metadata"}]},"code":422}"#,
        ),
        (
            &sar,
            "sar_empty_groups",
            r#"{"apiVersion":"authorization.k8s.io/v1","kind":"SubjectAccessReview","spec":{"user":"","groups":[],"uid":"","extra":{},"resourceAttributes":{}}}"#,
            422,
            r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":".authorization.k8s.io \"\" is invalid: spec.user: Invalid value: \"\": at least one of user or group must be specified","reason":"Invalid","details":{"group":"authorization.k8s.io","causes":[{"reason":"FieldValueInvalid","message":"Invalid value: \"\": at least one of user or group must be specified","field":"spec.user"}]},"code":422}"#,
        ),
        (
            &lsar,
            "lsar_mismatch",
            r#"{"apiVersion":"authorization.k8s.io/v1","kind":"LocalSubjectAccessReview","metadata":{"namespace":"foo"},"spec":{"user":"carol","resourceAttributes":{"verb":"get","resource":"configmaps","namespace":"bar"}}}"#,
            422,
            r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":".authorization.k8s.io \"\" is invalid: spec.resourceAttributes.namespace: Invalid value: \"bar\": must match metadata.namespace","reason":"Invalid","details":{"group":"authorization.k8s.io","causes":[{"reason":"FieldValueInvalid","message":"Invalid value: \"bar\": must match metadata.namespace","field":"spec.resourceAttributes.namespace"}]},"code":422}"#,
        ),
        (
            &lsar,
            "lsar_nons_attr",
            r#"{"apiVersion":"authorization.k8s.io/v1","kind":"LocalSubjectAccessReview","spec":{"user":"carol","resourceAttributes":{"verb":"get","resource":"configmaps"}}}"#,
            422,
            r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":".authorization.k8s.io \"\" is invalid: spec.resourceAttributes.namespace: Invalid value: \"\": must match metadata.namespace","reason":"Invalid","details":{"group":"authorization.k8s.io","causes":[{"reason":"FieldValueInvalid","message":"Invalid value: \"\": must match metadata.namespace","field":"spec.resourceAttributes.namespace"}]},"code":422}"#,
        ),
        (
            &lsar,
            "lsar_nonres",
            r#"{"apiVersion":"authorization.k8s.io/v1","kind":"LocalSubjectAccessReview","metadata":{"namespace":"foo","name":"x"},"spec":{"nonResourceAttributes":{"verb":"get","path":"/x"}}}"#,
            422,
            r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":".authorization.k8s.io \"\" is invalid: [spec.user: Invalid value: \"\": at least one of user or group must be specified, metadata: Invalid value: {\"name\":\"x\",\"namespace\":\"foo\",\"managedFields\":[{\"manager\":\"curl\",\"operation\":\"Update\",\"apiVersion\":\"authorization.k8s.io/v1\",\"time\":\"2026-12-03T20:10:57Z\",\"fieldsType\":\"FieldsV1\",\"fieldsV1\":{\"f:spec\":{\"f:nonResourceAttributes\":{\".\":{},\"f:path\":{},\"f:verb\":{}}}}}]}: must be empty except for namespace, spec.nonResourceAttributes: Invalid value: {\"Path\":\"/x\",\"Verb\":\"get\"}: disallowed on this kind of request]","reason":"Invalid","details":{"group":"authorization.k8s.io","causes":[{"reason":"FieldValueInvalid","message":"Invalid value: \"\": at least one of user or group must be specified","field":"spec.user"},{"reason":"FieldValueInvalid","message":"Invalid value: {\"name\":\"x\",\"namespace\":\"foo\",\"managedFields\":[{\"manager\":\"curl\",\"operation\":\"Update\",\"apiVersion\":\"authorization.k8s.io/v1\",\"time\":\"2026-12-03T20:10:57Z\",\"fieldsType\":\"FieldsV1\",\"fieldsV1\":{\"f:spec\":{\"f:nonResourceAttributes\":{\".\":{},\"f:path\":{},\"f:verb\":{}}}}}]}: must be empty except for namespace","field":"metadata"},{"reason":"FieldValueInvalid","message":"Invalid value: {\"Path\":\"/x\",\"Verb\":\"get\"}: disallowed on this kind of request","field":"spec.nonResourceAttributes"}]},"code":422}"#,
        ),
        (
            &lsar,
            "lsar_empty",
            r#"{}"#,
            422,
            r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":".authorization.k8s.io \"\" is invalid: [spec.resourceAttributes: Invalid value: null: exactly one of nonResourceAttributes or resourceAttributes must be specified, spec.user: Invalid value: \"\": at least one of user or group must be specified]","reason":"Invalid","details":{"group":"authorization.k8s.io","causes":[{"reason":"FieldValueInvalid","message":"Invalid value: null: exactly one of nonResourceAttributes or resourceAttributes must be specified","field":"spec.resourceAttributes"},{"reason":"FieldValueInvalid","message":"Invalid value: \"\": at least one of user or group must be specified","field":"spec.user"}]},"code":422}"#,
        ),
        (
            &lsar,
            "lsar_meta_other",
            r#"{"apiVersion":"authorization.k8s.io/v1","kind":"LocalSubjectAccessReview","metadata":{"namespace":"bar"},"spec":{"user":"carol","resourceAttributes":{"verb":"get","resource":"configmaps","namespace":"bar"}}}"#,
            400,
            r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"the namespace of the provided object does not match the namespace sent on the request","reason":"BadRequest","code":400}"#,
        ),
    ] {
        let r = post(&st, path, body).await;
        let text = String::from_utf8_lossy(&r.body);
        assert_eq!(r.status.as_u16(), code, "{name}: {text}");
        assert_eq!(norm(&text), norm(want), "{name}");
    }
    // fieldValidation=Strict refuses unknown fields.
    let r = post(
        &st,
        &format!("{ssar}?fieldValidation=Strict"),
        r#"{"apiVersion":"authorization.k8s.io/v1","kind":"SelfSubjectAccessReview","spec":{"resourceAttributes":{"verb":"get","unknownField":1},"extra":"x"}}"#,
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        r.message(),
        r#"SelfSubjectAccessReview in version "v1" cannot be handled as a SelfSubjectAccessReview: strict decoding error: unknown field "spec.resourceAttributes.unknownField", unknown field "spec.extra""#
    );
    // A field of the wrong type, as Go's decoder says it.
    let r = post(
        &st,
        &ssar,
        r#"{"apiVersion":"authorization.k8s.io/v1","kind":"SelfSubjectAccessReview","spec":{"resourceAttributes":{"verb":5}}}"#,
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        r.message(),
        r#"SelfSubjectAccessReview in version "v1" cannot be handled as a SelfSubjectAccessReview: json: cannot unmarshal number into Go struct field ResourceAttributes.spec.resourceAttributes.verb of type string"#
    );
}

#[tokio::test]
async fn subject_access_reviews_evaluate_the_spec_user() {
    let st = state().await;
    setup(&st).await;
    let sar = format!("{G}/subjectaccessreviews");
    for (name, body, want) in [
        (
            "sar_ok",
            r#"{"apiVersion":"authorization.k8s.io/v1","kind":"SubjectAccessReview","spec":{"user":"bob","groups":["system:authenticated"],"resourceAttributes":{"verb":"list","resource":"pods","namespace":"kube-system"}}}"#,
            r#"{"kind":"SubjectAccessReview","apiVersion":"authorization.k8s.io/v1","metadata":{"managedFields":[{"manager":"curl","operation":"Update","apiVersion":"authorization.k8s.io/v1","time":"2026-12-03T20:10:56Z","fieldsType":"FieldsV1","fieldsV1":{"f:spec":{"f:groups":{},"f:resourceAttributes":{".":{},"f:namespace":{},"f:resource":{},"f:verb":{}},"f:user":{}}}}]},"spec":{"resourceAttributes":{"namespace":"kube-system","verb":"list","resource":"pods"},"user":"bob","groups":["system:authenticated"]},"status":{"allowed":false}}"#,
        ),
        (
            "sar_sa",
            r#"{"apiVersion":"authorization.k8s.io/v1","kind":"SubjectAccessReview","spec":{"user":"system:serviceaccount:kube-system:namespace-controller","resourceAttributes":{"verb":"delete","resource":"pods","namespace":"x"}}}"#,
            r#"{"kind":"SubjectAccessReview","apiVersion":"authorization.k8s.io/v1","metadata":{"managedFields":[{"manager":"curl","operation":"Update","apiVersion":"authorization.k8s.io/v1","time":"2026-12-03T20:10:56Z","fieldsType":"FieldsV1","fieldsV1":{"f:spec":{"f:resourceAttributes":{".":{},"f:namespace":{},"f:resource":{},"f:verb":{}},"f:user":{}}}}]},"spec":{"resourceAttributes":{"namespace":"x","verb":"delete","resource":"pods"},"user":"system:serviceaccount:kube-system:namespace-controller"},"status":{"allowed":true,"reason":"RBAC: allowed by ClusterRoleBinding \"system:controller:namespace-controller\" of ClusterRole \"system:controller:namespace-controller\" to ServiceAccount \"namespace-controller/kube-system\""}}"#,
        ),
        (
            "sar_allowed",
            r#"{"apiVersion":"authorization.k8s.io/v1","kind":"SubjectAccessReview","spec":{"user":"bob","groups":["system:authenticated"],"uid":"u1","extra":{"k":["v"]},"nonResourceAttributes":{"verb":"get","path":"/healthz"}}}"#,
            r#"{"kind":"SubjectAccessReview","apiVersion":"authorization.k8s.io/v1","metadata":{"managedFields":[{"manager":"curl","operation":"Update","apiVersion":"authorization.k8s.io/v1","time":"2026-12-03T20:10:56Z","fieldsType":"FieldsV1","fieldsV1":{"f:spec":{"f:extra":{".":{},"f:k":{}},"f:groups":{},"f:nonResourceAttributes":{".":{},"f:path":{},"f:verb":{}},"f:uid":{},"f:user":{}}}}]},"spec":{"nonResourceAttributes":{"path":"/healthz","verb":"get"},"user":"bob","groups":["system:authenticated"],"extra":{"k":["v"]},"uid":"u1"},"status":{"allowed":true,"reason":"RBAC: allowed by ClusterRoleBinding \"system:discovery\" of ClusterRole \"system:discovery\" to Group \"system:authenticated\""}}"#,
        ),
        (
            "sar_masters",
            r#"{"apiVersion":"authorization.k8s.io/v1","kind":"SubjectAccessReview","spec":{"groups":["system:masters"],"resourceAttributes":{"verb":"delete","resource":"nodes"}}}"#,
            r#"{"kind":"SubjectAccessReview","apiVersion":"authorization.k8s.io/v1","metadata":{"managedFields":[{"manager":"curl","operation":"Update","apiVersion":"authorization.k8s.io/v1","time":"2026-12-03T20:10:56Z","fieldsType":"FieldsV1","fieldsV1":{"f:spec":{"f:groups":{},"f:resourceAttributes":{".":{},"f:resource":{},"f:verb":{}}}}}]},"spec":{"resourceAttributes":{"verb":"delete","resource":"nodes"},"groups":["system:masters"]},"status":{"allowed":true}}"#,
        ),
        (
            "sar_carol_allowed",
            r#"{"apiVersion":"authorization.k8s.io/v1","kind":"SubjectAccessReview","spec":{"user":"carol","resourceAttributes":{"verb":"get","resource":"configmaps","namespace":"foo"}}}"#,
            r#"{"kind":"SubjectAccessReview","apiVersion":"authorization.k8s.io/v1","metadata":{"managedFields":[{"manager":"curl","operation":"Update","apiVersion":"authorization.k8s.io/v1","time":"2026-12-03T20:10:56Z","fieldsType":"FieldsV1","fieldsV1":{"f:spec":{"f:resourceAttributes":{".":{},"f:namespace":{},"f:resource":{},"f:verb":{}},"f:user":{}}}}]},"spec":{"resourceAttributes":{"namespace":"foo","verb":"get","resource":"configmaps"},"user":"carol"},"status":{"allowed":true,"reason":"RBAC: allowed by RoleBinding \"carol-cm/foo\" of Role \"cm-reader\" to User \"carol\""}}"#,
        ),
        (
            "sar_missing_role",
            r#"{"apiVersion":"authorization.k8s.io/v1","kind":"SubjectAccessReview","spec":{"user":"carol","resourceAttributes":{"verb":"get","resource":"secrets","namespace":"foo","name":"s"}}}"#,
            r#"{"kind":"SubjectAccessReview","apiVersion":"authorization.k8s.io/v1","metadata":{"managedFields":[{"manager":"curl","operation":"Update","apiVersion":"authorization.k8s.io/v1","time":"2026-12-03T20:10:56Z","fieldsType":"FieldsV1","fieldsV1":{"f:spec":{"f:resourceAttributes":{".":{},"f:name":{},"f:namespace":{},"f:resource":{},"f:verb":{}},"f:user":{}}}}]},"spec":{"resourceAttributes":{"namespace":"foo","verb":"get","resource":"secrets","name":"s"},"user":"carol"},"status":{"allowed":false,"reason":"RBAC: [clusterrole.rbac.authorization.k8s.io \"gone\" not found, role.rbac.authorization.k8s.io \"nope\" not found]"}}"#,
        ),
    ] {
        let r = post(&st, &sar, body).await;
        let text = String::from_utf8_lossy(&r.body);
        assert_eq!(r.status, StatusCode::CREATED, "{name}: {text}");
        assert_eq!(norm(&text), norm(want), "{name}");
    }
    for (name, ns, body, want) in [
        (
            "lsar_ok",
            "foo",
            r#"{"apiVersion":"authorization.k8s.io/v1","kind":"LocalSubjectAccessReview","metadata":{"namespace":"foo"},"spec":{"user":"carol","resourceAttributes":{"verb":"get","resource":"configmaps","namespace":"foo"}}}"#,
            r#"{"kind":"LocalSubjectAccessReview","apiVersion":"authorization.k8s.io/v1","metadata":{"namespace":"foo","managedFields":[{"manager":"curl","operation":"Update","apiVersion":"authorization.k8s.io/v1","time":"2026-12-03T20:10:56Z","fieldsType":"FieldsV1","fieldsV1":{"f:spec":{"f:resourceAttributes":{".":{},"f:namespace":{},"f:resource":{},"f:verb":{}},"f:user":{}}}}]},"spec":{"resourceAttributes":{"namespace":"foo","verb":"get","resource":"configmaps"},"user":"carol"},"status":{"allowed":true,"reason":"RBAC: allowed by RoleBinding \"carol-cm/foo\" of Role \"cm-reader\" to User \"carol\""}}"#,
        ),
        (
            "lsar_nometa",
            "foo",
            r#"{"apiVersion":"authorization.k8s.io/v1","kind":"LocalSubjectAccessReview","spec":{"user":"carol","resourceAttributes":{"verb":"get","resource":"configmaps","namespace":"foo"}}}"#,
            r#"{"kind":"LocalSubjectAccessReview","apiVersion":"authorization.k8s.io/v1","metadata":{"namespace":"foo","managedFields":[{"manager":"curl","operation":"Update","apiVersion":"authorization.k8s.io/v1","time":"2026-12-03T20:10:56Z","fieldsType":"FieldsV1","fieldsV1":{"f:spec":{"f:resourceAttributes":{".":{},"f:namespace":{},"f:resource":{},"f:verb":{}},"f:user":{}}}}]},"spec":{"resourceAttributes":{"namespace":"foo","verb":"get","resource":"configmaps"},"user":"carol"},"status":{"allowed":true,"reason":"RBAC: allowed by RoleBinding \"carol-cm/foo\" of Role \"cm-reader\" to User \"carol\""}}"#,
        ),
        // Not stored: a namespace that does not exist is fine.
        (
            "lsar_nsgone",
            "nonexistent",
            r#"{"apiVersion":"authorization.k8s.io/v1","kind":"LocalSubjectAccessReview","spec":{"user":"carol","resourceAttributes":{"verb":"get","resource":"configmaps","namespace":"nonexistent"}}}"#,
            r#"{"kind":"LocalSubjectAccessReview","apiVersion":"authorization.k8s.io/v1","metadata":{"namespace":"nonexistent","managedFields":[{"manager":"curl","operation":"Update","apiVersion":"authorization.k8s.io/v1","time":"2026-12-03T20:10:57Z","fieldsType":"FieldsV1","fieldsV1":{"f:spec":{"f:resourceAttributes":{".":{},"f:namespace":{},"f:resource":{},"f:verb":{}},"f:user":{}}}}]},"spec":{"resourceAttributes":{"namespace":"nonexistent","verb":"get","resource":"configmaps"},"user":"carol"},"status":{"allowed":false,"reason":"RBAC: clusterrole.rbac.authorization.k8s.io \"gone\" not found"}}"#,
        ),
    ] {
        let r = post(
            &st,
            &format!("{G}/namespaces/{ns}/localsubjectaccessreviews"),
            body,
        )
        .await;
        let text = String::from_utf8_lossy(&r.body);
        assert_eq!(r.status, StatusCode::CREATED, "{name}: {text}");
        assert_eq!(norm(&text), norm(want), "{name}");
    }
    // YAML when asked for.
    let r = post_as(
        &st,
        &sar,
        "application/json",
        r#"{"apiVersion":"authorization.k8s.io/v1","kind":"SubjectAccessReview","spec":{"groups":["system:masters"],"resourceAttributes":{"verb":"delete","resource":"nodes"}}}"#.into(),
        &[("accept", "application/yaml")],
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let text = String::from_utf8_lossy(&r.body);
    assert!(
        text.starts_with("kind: SubjectAccessReview\napiVersion: authorization.k8s.io/v1\n"),
        "{text}"
    );
}

/// kubectl sends reviews as protobuf; `spec.extra` is authorization's own
/// `ExtraValue` message.
#[tokio::test]
async fn protobuf_subject_access_review() {
    fn field(tag: u8, bytes: &[u8]) -> Vec<u8> {
        let mut out = vec![(tag << 3) | 2];
        let mut n = bytes.len();
        while n >= 0x80 {
            out.push((n as u8 & 0x7f) | 0x80);
            n >>= 7;
        }
        out.push(n as u8);
        out.extend_from_slice(bytes);
        out
    }
    let st = state().await;
    let attrs = [
        field(1, b"kube-system"),
        field(2, b"list"),
        field(5, b"pods"),
    ]
    .concat();
    let extra_value = [field(1, b"a"), field(1, b"b")].concat();
    let extra_entry = [field(1, b"scopes"), field(2, &extra_value)].concat();
    let spec = [
        field(1, &attrs),
        field(3, b"bob"),
        field(4, b"devs"),
        field(5, &extra_entry),
        field(6, b"u1"),
    ]
    .concat();
    let sar = field(2, &spec);
    let type_meta = [
        field(1, b"authorization.k8s.io/v1"),
        field(2, b"SubjectAccessReview"),
    ]
    .concat();
    let body = [b"k8s\0".to_vec(), field(1, &type_meta), field(2, &sar)].concat();
    let r = post_as(
        &st,
        &format!("{G}/subjectaccessreviews"),
        "application/vnd.kubernetes.protobuf",
        body,
        &[],
    )
    .await;
    let text = String::from_utf8_lossy(&r.body);
    assert_eq!(r.status, StatusCode::CREATED, "{text}");
    let v = r.json();
    assert_eq!(
        v["spec"],
        json!({"resourceAttributes": {"namespace": "kube-system", "verb": "list", "resource": "pods"},
               "user": "bob", "groups": ["devs"], "extra": {"scopes": ["a", "b"]}, "uid": "u1"})
    );
    assert_eq!(v["status"], json!({"allowed": false}));
}

#[tokio::test]
async fn self_subject_rules_reviews() {
    let st = state().await;
    setup(&st).await;
    let ssrr = format!("{G}/selfsubjectrulesreviews");
    // Upstream lists the same rules (and `/.well-known` for get, from a
    // ClusterRole of the openshift/kubernetes build it was compared with), in
    // its informer's (random) order of bindings; ironkube visits
    // ClusterRoleBindings, then the namespace's RoleBindings, each by name.
    let r = post_as(&st, &ssrr, "application/json", r#"{"apiVersion":"authorization.k8s.io/v1","kind":"SelfSubjectRulesReview","spec":{"namespace":"foo"}}"#.into(), &[("impersonate-user", "carol")]).await;
    assert_answer(
        &r,
        201,
        r#"{"kind":"SelfSubjectRulesReview","apiVersion":"authorization.k8s.io/v1","metadata":{},"spec":{},"status":{"resourceRules":[{"verbs":["create"],"apiGroups":["authorization.k8s.io"],"resources":["selfsubjectaccessreviews","selfsubjectrulesreviews"]},{"verbs":["create"],"apiGroups":["authentication.k8s.io"],"resources":["selfsubjectreviews"]},{"verbs":["get","list"],"apiGroups":[""],"resources":["configmaps"]},{"verbs":["get"],"apiGroups":[""],"resources":["pods"],"resourceNames":["web","db"]},{"verbs":["get"],"apiGroups":["apps"],"resources":["deployments/scale"],"resourceNames":["web","db"]}],"nonResourceRules":[{"verbs":["get","post"],"nonResourceURLs":["/logs/*","/metrics"]},{"verbs":["get"],"nonResourceURLs":["/api","/api/*","/apis","/apis/*","/healthz","/livez","/openapi","/openapi/*","/readyz","/version","/version/"]},{"verbs":["get"],"nonResourceURLs":["/healthz","/livez","/readyz","/version","/version/"]}],"incomplete":false,"evaluationError":"[clusterrole.rbac.authorization.k8s.io \"gone\" not found, role.rbac.authorization.k8s.io \"nope\" not found]"}}"#,
    );
    // metadata and spec of the request are not echoed.
    let r = post_as(&st, &ssrr, "application/json", r#"{"apiVersion":"authorization.k8s.io/v1","kind":"SelfSubjectRulesReview","metadata":{"name":"x","labels":{"a":"b"}},"spec":{"namespace":"foo"}}"#.into(), &[("impersonate-user", "carol")]).await;
    assert_answer(
        &r,
        201,
        r#"{"kind":"SelfSubjectRulesReview","apiVersion":"authorization.k8s.io/v1","metadata":{},"spec":{},"status":{"resourceRules":[{"verbs":["create"],"apiGroups":["authorization.k8s.io"],"resources":["selfsubjectaccessreviews","selfsubjectrulesreviews"]},{"verbs":["create"],"apiGroups":["authentication.k8s.io"],"resources":["selfsubjectreviews"]},{"verbs":["get","list"],"apiGroups":[""],"resources":["configmaps"]},{"verbs":["get"],"apiGroups":[""],"resources":["pods"],"resourceNames":["web","db"]},{"verbs":["get"],"apiGroups":["apps"],"resources":["deployments/scale"],"resourceNames":["web","db"]}],"nonResourceRules":[{"verbs":["get","post"],"nonResourceURLs":["/logs/*","/metrics"]},{"verbs":["get"],"nonResourceURLs":["/api","/api/*","/apis","/apis/*","/healthz","/livez","/openapi","/openapi/*","/readyz","/version","/version/"]},{"verbs":["get"],"nonResourceURLs":["/healthz","/livez","/readyz","/version","/version/"]}],"incomplete":false,"evaluationError":"[clusterrole.rbac.authorization.k8s.io \"gone\" not found, role.rbac.authorization.k8s.io \"nope\" not found]"}}"#,
    );
    // A node identity: the node authorizer cannot list what it allows.
    // (Upstream also lists `/.well-known` for get here: a ClusterRole of the
    // openshift/kubernetes build it was compared with, not upstream's.)
    let r = post_as(
        &st,
        &ssrr,
        "application/json",
        r#"{"apiVersion":"authorization.k8s.io/v1","kind":"SelfSubjectRulesReview","spec":{"namespace":"default"}}"#.into(),
        &[("impersonate-user", "system:node:n1"), ("impersonate-group", "system:nodes")],
    )
    .await;
    assert_answer(
        &r,
        201,
        r#"{"kind":"SelfSubjectRulesReview","apiVersion":"authorization.k8s.io/v1","metadata":{},"spec":{},"status":{"resourceRules":[{"verbs":["create"],"apiGroups":["authorization.k8s.io"],"resources":["selfsubjectaccessreviews","selfsubjectrulesreviews"]},{"verbs":["create"],"apiGroups":["authentication.k8s.io"],"resources":["selfsubjectreviews"]}],"nonResourceRules":[{"verbs":["get"],"nonResourceURLs":["/api","/api/*","/apis","/apis/*","/healthz","/livez","/openapi","/openapi/*","/readyz","/version","/version/"]},{"verbs":["get"],"nonResourceURLs":["/healthz","/livez","/readyz","/version","/version/"]}],"incomplete":true,"evaluationError":"node authorizer does not support user rule resolution"}}"#,
    );
    // No namespace: a 400.
    for body in [
        r#"{"apiVersion":"authorization.k8s.io/v1","kind":"SelfSubjectRulesReview","spec":{}}"#,
        r#"{}"#,
    ] {
        let r = post(&st, &ssrr, body).await;
        assert_answer(
            &r,
            400,
            r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"no namespace on request","reason":"BadRequest","code":400}"#,
        );
    }
}

/// A review right after a binding is created sees it (the policy catches up
/// with every write made before the review).
#[tokio::test]
async fn reviews_see_a_binding_made_just_before() {
    let st = state().await;
    create(
        &st,
        "/api/v1/namespaces",
        json!({"metadata": {"name": "foo"}}),
    )
    .await;
    let ssar = format!("{G}/selfsubjectaccessreviews");
    let body = r#"{"apiVersion":"authorization.k8s.io/v1","kind":"SelfSubjectAccessReview","spec":{"resourceAttributes":{"verb":"list","resource":"pods","namespace":"foo"}}}"#;
    let sa = [("impersonate-user", "system:serviceaccount:foo:builder")];
    let r = post_as(&st, &ssar, "application/json", body.into(), &sa).await;
    assert_eq!(r.json()["status"], json!({"allowed": false}));
    create(
        &st,
        "/apis/rbac.authorization.k8s.io/v1/namespaces/foo/roles",
        json!({"metadata": {"name": "builder"},
               "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]}]}),
    )
    .await;
    create(
        &st,
        "/apis/rbac.authorization.k8s.io/v1/namespaces/foo/rolebindings",
        json!({"metadata": {"name": "builder"},
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "builder"},
               "subjects": [{"kind": "ServiceAccount", "name": "builder", "namespace": "foo"}]}),
    )
    .await;
    for _ in 0..20 {
        let r = post_as(&st, &ssar, "application/json", body.into(), &sa).await;
        assert_eq!(
            r.json()["status"],
            json!({"allowed": true,
                   "reason": "RBAC: allowed by RoleBinding \"builder/foo\" of Role \"builder\" to ServiceAccount \"builder/foo\""})
        );
    }
}
