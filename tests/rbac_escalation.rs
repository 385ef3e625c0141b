//! RBAC escalation prevention through the whole router: users (impersonated
//! by the admin) writing roles and bindings. Every expected status and body
//! is what kube-apiserver v1.36.2 answered to the same requests from the
//! same users and policy.

use std::sync::Arc;

use axum::body::Body;
use http::{Method, Request, StatusCode};
use serde_json::{Value, json};

use ironkube::apiserver::AppState;

mod inproc;
use inproc::{Resp, TOKEN, send, state};

const G: &str = "rbac.authorization.k8s.io";
const SA: &str = "system:serviceaccount:esc:sa";
const SA_GROUPS: &str =
    r#"(groups=["system:serviceaccounts" "system:serviceaccounts:esc" "system:authenticated"])"#;
const ROLES: &str = "/apis/rbac.authorization.k8s.io/v1/namespaces/esc/roles";
const ROLEBINDINGS: &str = "/apis/rbac.authorization.k8s.io/v1/namespaces/esc/rolebindings";
const CLUSTERROLES: &str = "/apis/rbac.authorization.k8s.io/v1/clusterroles";
const CLUSTERROLEBINDINGS: &str = "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings";

/// A request as the admin, or as `user` (with `groups`) through
/// impersonation; `body` is sent as `ct`.
async fn call_as(
    st: &Arc<AppState>,
    user: Option<(&str, &[&str])>,
    method: Method,
    uri: &str,
    ct: &str,
    body: Option<String>,
) -> Resp {
    let mut b = Request::builder()
        .method(method)
        .uri(uri)
        .header("authorization", format!("Bearer {TOKEN}"));
    if let Some((name, groups)) = user {
        b = b.header("impersonate-user", name);
        for g in groups {
            b = b.header("impersonate-group", *g);
        }
    }
    if body.is_some() {
        b = b.header("content-type", ct);
    }
    send(st, b.body(Body::from(body.unwrap_or_default())).unwrap()).await
}

async fn admin(st: &Arc<AppState>, method: Method, uri: &str, body: Option<Value>) -> Resp {
    call_as(
        st,
        None,
        method,
        uri,
        "application/json",
        body.map(|b| b.to_string()),
    )
    .await
}

async fn as_user(st: &Arc<AppState>, user: &str, method: Method, uri: &str, body: Value) -> Resp {
    call_as(
        st,
        Some((user, &[])),
        method,
        uri,
        "application/json",
        Some(body.to_string()),
    )
    .await
}

async fn patch_as(st: &Arc<AppState>, user: &str, uri: &str, ct: &str, body: &str) -> Resp {
    call_as(
        st,
        Some((user, &[])),
        Method::PATCH,
        uri,
        ct,
        Some(body.to_string()),
    )
    .await
}

fn rule(groups: &[&str], resources: &[&str], verbs: &[&str]) -> Value {
    json!({"apiGroups": groups, "resources": resources, "verbs": verbs})
}

fn role(name: &str, rules: Value) -> Value {
    json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
        "metadata": {"name": name}, "rules": rules})
}

fn cluster_role(name: &str, rules: Value) -> Value {
    json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
        "metadata": {"name": name}, "rules": rules})
}

fn binding(kind: &str, name: &str, role_kind: &str, role: &str, subject: Value) -> Value {
    json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind,
        "metadata": {"name": name},
        "roleRef": {"apiGroup": G, "kind": role_kind, "name": role},
        "subjects": [subject]})
}

fn user_subject(name: &str) -> Value {
    json!({"kind": "User", "name": name})
}

fn forbidden(kind: &str, name: &str, message: &str) -> Value {
    let mut details = json!({"group": G, "kind": kind});
    if !name.is_empty() {
        details["name"] = json!(name);
    }
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": message, "reason": "Forbidden", "details": details, "code": 403})
}

async fn created(r: Resp) {
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.json());
}

/// The policy of the comparison run: namespace `esc`; its service account
/// `sa` may create, update, patch and get roles and rolebindings there and
/// get pods; `carol` may write every RBAC kind and get `/healthz` and
/// `/logs/*`; `dave` may write roles in `esc` and escalate the one named
/// `named`; `erin` may write rolebindings in `esc` and bind the ClusterRole
/// `pod-admin`.
async fn setup() -> Arc<AppState> {
    let st = state().await;
    for (uri, body) in [
        ("/api/v1/namespaces", json!({"metadata": {"name": "esc"}})),
        (
            "/api/v1/namespaces/esc/serviceaccounts",
            json!({"metadata": {"name": "sa"}}),
        ),
        (
            ROLES,
            role(
                "creator",
                json!([
                    rule(
                        &[G],
                        &["roles", "rolebindings"],
                        &["create", "update", "patch", "get"]
                    ),
                    rule(&[""], &["pods"], &["get"])
                ]),
            ),
        ),
        (
            ROLEBINDINGS,
            binding(
                "RoleBinding",
                "creator",
                "Role",
                "creator",
                json!({"kind": "ServiceAccount", "name": "sa", "namespace": "esc"}),
            ),
        ),
        (
            CLUSTERROLES,
            cluster_role(
                "writer",
                json!([rule(&[G], &["clusterroles", "clusterrolebindings", "roles", "rolebindings"],
                        &["create", "update", "patch", "get"]),
                    {"nonResourceURLs": ["/healthz", "/logs/*"], "verbs": ["get"]}]),
            ),
        ),
        (
            CLUSTERROLEBINDINGS,
            binding(
                "ClusterRoleBinding",
                "writer",
                "ClusterRole",
                "writer",
                user_subject("carol"),
            ),
        ),
        (
            ROLES,
            role(
                "dave",
                json!([rule(&[G], &["roles"], &["create", "update", "patch", "get"]),
                    {"apiGroups": [G], "resources": ["roles"], "verbs": ["escalate"], "resourceNames": ["named"]}]),
            ),
        ),
        (
            ROLEBINDINGS,
            binding("RoleBinding", "dave", "Role", "dave", user_subject("dave")),
        ),
        (
            ROLES,
            role(
                "erin",
                json!([rule(&[G], &["rolebindings"], &["create", "update", "patch", "get"]),
                    {"apiGroups": [G], "resources": ["clusterroles"], "verbs": ["bind"], "resourceNames": ["pod-admin"]}]),
            ),
        ),
        (
            ROLEBINDINGS,
            binding("RoleBinding", "erin", "Role", "erin", user_subject("erin")),
        ),
        (
            CLUSTERROLES,
            cluster_role(
                "pod-admin",
                json!([rule(&[""], &["pods"], &["get", "delete"])]),
            ),
        ),
        (
            CLUSTERROLES,
            cluster_role("pod-deleter", json!([rule(&[""], &["pods"], &["delete"])])),
        ),
        (
            ROLES,
            role("target", json!([rule(&[""], &["pods"], &["get"])])),
        ),
        (
            ROLES,
            role("big", json!([rule(&[""], &["pods"], &["delete"])])),
        ),
    ] {
        created(admin(&st, Method::POST, uri, Some(body)).await).await;
    }
    st
}

#[tokio::test]
async fn a_role_granting_more_than_held_is_refused_and_not_stored() {
    let st = setup().await;
    let more = role(
        "more",
        json!([
            rule(&[""], &["pods"], &["get", "delete", "list"]),
            rule(&["apps"], &["deployments", "replicasets"], &["get"]),
            {"apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["a", "b"], "verbs": ["get", "update"]},
            rule(&[""], &["pods"], &["list"]),
        ]),
    );
    let r = as_user(&st, SA, Method::POST, ROLES, more).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let msg = format!(
        "roles.rbac.authorization.k8s.io \"more\" is forbidden: user \"{SA}\" {SA_GROUPS} is attempting to grant RBAC permissions not currently held:\n\
         {{APIGroups:[\"\"], Resources:[\"configmaps\"], ResourceNames:[\"a\"], Verbs:[\"get\" \"update\"]}}\n\
         {{APIGroups:[\"\"], Resources:[\"configmaps\"], ResourceNames:[\"b\"], Verbs:[\"get\" \"update\"]}}\n\
         {{APIGroups:[\"\"], Resources:[\"pods\"], Verbs:[\"delete\" \"list\" \"list\"]}}\n\
         {{APIGroups:[\"apps\"], Resources:[\"deployments\"], Verbs:[\"get\"]}}\n\
         {{APIGroups:[\"apps\"], Resources:[\"replicasets\"], Verbs:[\"get\"]}}"
    );
    assert_eq!(r.json(), forbidden("roles", "more", &msg));
    // Upstream's field order.
    let body = String::from_utf8_lossy(&r.body).into_owned();
    assert!(
        body.starts_with(r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"#)
            && body.ends_with(r#""reason":"Forbidden","details":{"name":"more","group":"rbac.authorization.k8s.io","kind":"roles"},"code":403}"#),
        "{body}"
    );
    let r = admin(&st, Method::GET, &format!("{ROLES}/more"), None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // Dry run is checked too; a generated name is not known yet.
    let delete = json!([rule(&[""], &["pods"], &["delete"])]);
    let one_missing = format!(
        "user \"{SA}\" {SA_GROUPS} is attempting to grant RBAC permissions not currently held:\n{{APIGroups:[\"\"], Resources:[\"pods\"], Verbs:[\"delete\"]}}"
    );
    let r = as_user(
        &st,
        SA,
        Method::POST,
        &format!("{ROLES}?dryRun=All"),
        role("ok", delete.clone()),
    )
    .await;
    assert_eq!(
        r.json(),
        forbidden(
            "roles",
            "ok",
            &format!("roles.rbac.authorization.k8s.io \"ok\" is forbidden: {one_missing}")
        )
    );
    let generated = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
        "metadata": {"generateName": "gen-"}, "rules": delete});
    let r = as_user(&st, SA, Method::POST, ROLES, generated).await;
    assert_eq!(
        r.json(),
        forbidden(
            "roles",
            "",
            &format!("roles.rbac.authorization.k8s.io is forbidden: {one_missing}")
        )
    );
    // Before validation (the name is invalid), after namespace lifecycle.
    let r = as_user(
        &st,
        SA,
        Method::POST,
        ROLES,
        role("Bad_Name", delete.clone()),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.json());
    let r = as_user(
        &st,
        "carol",
        Method::POST,
        "/apis/rbac.authorization.k8s.io/v1/namespaces/nonexist/roles",
        role("ok", delete),
    )
    .await;
    assert_eq!(
        r.json(),
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": "namespaces \"nonexist\" not found", "reason": "NotFound",
            "details": {"name": "nonexist", "kind": "namespaces"}, "code": 404})
    );
}

#[tokio::test]
async fn granting_exactly_what_is_held_is_allowed() {
    let st = setup().await;
    created(
        as_user(
            &st,
            SA,
            Method::POST,
            ROLES,
            role("held", json!([rule(&[""], &["pods"], &["get"])])),
        )
        .await,
    )
    .await;
    // A binding to a role whose rules the user holds (its own).
    created(
        as_user(
            &st,
            SA,
            Method::POST,
            ROLEBINDINGS,
            binding("RoleBinding", "b4", "Role", "creator", user_subject("bob")),
        )
        .await,
    )
    .await;
    // system:masters is never checked.
    let r = call_as(
        &st,
        Some(("someone", &["system:masters"])),
        Method::POST,
        ROLES,
        "application/json",
        Some(role("all", json!([rule(&["*"], &["*"], &["*"])])).to_string()),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.json());
}

#[tokio::test]
async fn bindings_need_the_roles_rules_or_the_bind_verb() {
    let st = setup().await;
    let r = as_user(
        &st,
        SA,
        Method::POST,
        ROLEBINDINGS,
        binding(
            "RoleBinding",
            "b1",
            "ClusterRole",
            "pod-admin",
            user_subject("bob"),
        ),
    )
    .await;
    assert_eq!(
        r.json(),
        forbidden(
            "rolebindings",
            "b1",
            &format!(
                "rolebindings.rbac.authorization.k8s.io \"b1\" is forbidden: user \"{SA}\" {SA_GROUPS} is attempting to grant RBAC permissions not currently held:\n{{APIGroups:[\"\"], Resources:[\"pods\"], Verbs:[\"delete\"]}}"
            )
        )
    );
    // `bind` on the ClusterRole (by name) is enough, for that role only.
    created(
        as_user(
            &st,
            "erin",
            Method::POST,
            ROLEBINDINGS,
            binding(
                "RoleBinding",
                "e1",
                "ClusterRole",
                "pod-admin",
                user_subject("bob"),
            ),
        )
        .await,
    )
    .await;
    let r = as_user(
        &st,
        "erin",
        Method::POST,
        ROLEBINDINGS,
        binding(
            "RoleBinding",
            "e2",
            "ClusterRole",
            "pod-deleter",
            user_subject("bob"),
        ),
    )
    .await;
    assert_eq!(
        r.json(),
        forbidden(
            "rolebindings",
            "e2",
            "rolebindings.rbac.authorization.k8s.io \"e2\" is forbidden: user \"erin\" (groups=[\"system:authenticated\"]) is attempting to grant RBAC permissions not currently held:\n{APIGroups:[\"\"], Resources:[\"pods\"], Verbs:[\"delete\"]}"
        )
    );
}

#[tokio::test]
async fn bindings_to_missing_or_odd_roles_answer_as_upstream() {
    let st = setup().await;
    let not_found = |kind: &str, name: &str| {
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": format!("{kind}.rbac.authorization.k8s.io \"{name}\" not found"), "reason": "NotFound",
            "details": {"name": name, "group": G, "kind": kind}, "code": 404})
    };
    for role_kind in ["Role", "ClusterRole"] {
        let r = as_user(
            &st,
            SA,
            Method::POST,
            ROLEBINDINGS,
            binding("RoleBinding", "b2", role_kind, "nope", user_subject("bob")),
        )
        .await;
        assert_eq!(r.json(), not_found("rolebindings", "nope"), "{role_kind}");
    }
    let r = as_user(
        &st,
        "carol",
        Method::POST,
        CLUSTERROLEBINDINGS,
        binding(
            "ClusterRoleBinding",
            "c1",
            "ClusterRole",
            "nope",
            user_subject("bob"),
        ),
    )
    .await;
    assert_eq!(r.json(), not_found("clusterrolebindings", "nope"));
    // Resolved before validation (which refuses both).
    let r = as_user(
        &st,
        "carol",
        Method::POST,
        CLUSTERROLEBINDINGS,
        binding(
            "ClusterRoleBinding",
            "c2",
            "Role",
            "nope",
            user_subject("bob"),
        ),
    )
    .await;
    assert_eq!(
        r.json(),
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": "Namespace parameter required.", "reason": "BadRequest", "code": 400})
    );
    let r = as_user(
        &st,
        "carol",
        Method::POST,
        CLUSTERROLEBINDINGS,
        binding(
            "ClusterRoleBinding",
            "c3",
            "Foo",
            "nope",
            user_subject("bob"),
        ),
    )
    .await;
    assert_eq!(
        r.json(),
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": "unsupported role reference kind: \"Foo\"", "code": 500})
    );
    for name in ["b2", "c1", "c2", "c3"] {
        let uri = if name.starts_with('b') {
            format!("{ROLEBINDINGS}/{name}")
        } else {
            format!("{CLUSTERROLEBINDINGS}/{name}")
        };
        assert_eq!(
            admin(&st, Method::GET, &uri, None).await.status,
            StatusCode::NOT_FOUND
        );
    }
}

#[tokio::test]
async fn escalate_verb_by_name_allows_updates_of_that_role_only() {
    let st = setup().await;
    let delete = json!([rule(&[""], &["pods"], &["delete"])]);
    // A create names nothing, so `escalate` on `named` does not apply.
    let r = as_user(
        &st,
        "dave",
        Method::POST,
        ROLES,
        role("named", delete.clone()),
    )
    .await;
    assert_eq!(
        r.json(),
        forbidden(
            "roles",
            "named",
            "roles.rbac.authorization.k8s.io \"named\" is forbidden: user \"dave\" (groups=[\"system:authenticated\"]) is attempting to grant RBAC permissions not currently held:\n{APIGroups:[\"\"], Resources:[\"pods\"], Verbs:[\"delete\"]}"
        )
    );
    // A PUT names it (and creates it).
    created(
        as_user(
            &st,
            "dave",
            Method::PUT,
            &format!("{ROLES}/named"),
            role("named", delete.clone()),
        )
        .await,
    )
    .await;
    let r = as_user(
        &st,
        "dave",
        Method::PUT,
        &format!("{ROLES}/other"),
        role("other", delete),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn updates_patches_and_applies_are_checked_on_the_result() {
    let st = setup().await;
    let target = format!("{ROLES}/target");
    let denied = |verb: &str| {
        forbidden(
            "roles",
            "target",
            &format!(
                "roles.rbac.authorization.k8s.io \"target\" is forbidden: user \"{SA}\" {SA_GROUPS} is attempting to grant RBAC permissions not currently held:\n{{APIGroups:[\"\"], Resources:[\"pods\"], Verbs:[\"{verb}\"]}}"
            ),
        )
    };
    let r = patch_as(
        &st,
        SA,
        &target,
        "application/merge-patch+json",
        r#"{"rules":[{"apiGroups":[""],"resources":["pods"],"verbs":["get","delete"]}]}"#,
    )
    .await;
    assert_eq!(r.json(), denied("delete"));
    let r = patch_as(
        &st,
        SA,
        &target,
        "application/json-patch+json",
        r#"[{"op":"add","path":"/rules/0/verbs/-","value":"watch"}]"#,
    )
    .await;
    assert_eq!(r.json(), denied("watch"));
    let r = patch_as(
        &st,
        SA,
        &target,
        "application/strategic-merge-patch+json",
        r#"{"rules":[{"apiGroups":[""],"resources":["pods"],"verbs":["patch"]}]}"#,
    )
    .await;
    assert_eq!(r.json(), denied("patch"));
    let apply = "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: target}\nrules:\n- apiGroups: [\"\"]\n  resources: [pods]\n  verbs: [get, list]\n";
    let r = patch_as(
        &st,
        SA,
        &format!("{target}?fieldManager=me&force=true"),
        "application/apply-patch+yaml",
        apply,
    )
    .await;
    assert_eq!(r.json(), denied("list"));
    // Server-side apply creating the role.
    let r = patch_as(
        &st,
        SA,
        &format!("{ROLES}/applied?fieldManager=me"),
        "application/apply-patch+yaml",
        &apply.replace("name: target", "name: applied"),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.json());
    let mut current = admin(&st, Method::GET, &target, None).await.json();
    current["rules"] = json!([rule(&[""], &["pods"], &["get", "create"])]);
    let r = as_user(&st, SA, Method::PUT, &target, current).await;
    assert_eq!(r.json(), denied("create"));
    // Nothing was written.
    let stored = admin(&st, Method::GET, &target, None).await.json();
    assert_eq!(stored["rules"], json!([rule(&[""], &["pods"], &["get"])]));
    assert_eq!(
        stored["metadata"]["resourceVersion"],
        admin(&st, Method::GET, &target, None).await.json()["metadata"]["resourceVersion"]
    );
    assert_eq!(
        admin(&st, Method::GET, &format!("{ROLES}/applied"), None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    // Within what is held, an update goes through.
    let r = patch_as(
        &st,
        SA,
        &target,
        "application/merge-patch+json",
        r#"{"metadata":{"labels":{"a":"b"}}}"#,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.json());
}

#[tokio::test]
async fn only_garbage_collector_fields_are_not_checked() {
    let st = setup().await;
    let big = format!("{ROLES}/big");
    let denied = forbidden(
        "roles",
        "big",
        &format!(
            "roles.rbac.authorization.k8s.io \"big\" is forbidden: user \"{SA}\" {SA_GROUPS} is attempting to grant RBAC permissions not currently held:\n{{APIGroups:[\"\"], Resources:[\"pods\"], Verbs:[\"delete\"]}}"
        ),
    );
    let r = patch_as(
        &st,
        SA,
        &big,
        "application/merge-patch+json",
        r#"{"metadata":{"finalizers":["x.io/y"]}}"#,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.json());
    assert_eq!(r.json()["metadata"]["finalizers"], json!(["x.io/y"]));
    let r = patch_as(
        &st,
        SA,
        &big,
        "application/merge-patch+json",
        r#"{"metadata":{"labels":{"a":"b"}}}"#,
    )
    .await;
    assert_eq!(r.json(), denied);
    // A PUT: without managedFields, or with none, is still GC-only...
    let mut cur = admin(&st, Method::GET, &big, None).await.json();
    if let Some(m) = cur["metadata"].as_object_mut() {
        m.remove("managedFields");
    }
    cur["metadata"]["finalizers"] = json!(["x.io/y", "x.io/z"]);
    cur["metadata"]["ownerReferences"] = json!([{"apiVersion": "v1", "kind": "ConfigMap", "name": "c",
        "uid": "1d2b0c5e-0000-0000-0000-000000000000"}]);
    let r = as_user(&st, SA, Method::PUT, &big, cur).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.json());
    let mut cur = admin(&st, Method::GET, &big, None).await.json();
    cur["metadata"]["managedFields"] = json!([]);
    cur["metadata"]["finalizers"] = json!(["x.io/y"]);
    let r = as_user(&st, SA, Method::PUT, &big, cur).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.json());
    // ...but not without the uid or the resourceVersion.
    for field in ["uid", "resourceVersion"] {
        let mut cur = admin(&st, Method::GET, &big, None).await.json();
        if let Some(m) = cur["metadata"].as_object_mut() {
            m.remove(field);
        }
        cur["metadata"]["finalizers"] = json!([]);
        let r = as_user(&st, SA, Method::PUT, &big, cur).await;
        assert_eq!(r.json(), denied, "{field}");
    }
}

#[tokio::test]
async fn cluster_roles_non_resource_urls_and_aggregation() {
    let st = setup().await;
    let wanted = cluster_role(
        "nonres",
        json!([{"nonResourceURLs": ["/healthz", "/logs/x", "/logs", "/metrics"], "verbs": ["get", "post"]},
            rule(&["*"], &["*/status"], &["get"])]),
    );
    let r = as_user(&st, "carol", Method::POST, CLUSTERROLES, wanted).await;
    let missing = "user \"carol\" (groups=[\"system:authenticated\"]) is attempting to grant RBAC permissions not currently held:\n{APIGroups:[\"*\"], Resources:[\"*/status\"], Verbs:[\"get\"]}\n{NonResourceURLs:[\"/healthz\"], Verbs:[\"post\"]}\n{NonResourceURLs:[\"/logs\"], Verbs:[\"get\"]}\n{NonResourceURLs:[\"/logs\"], Verbs:[\"post\"]}\n{NonResourceURLs:[\"/logs/x\"], Verbs:[\"post\"]}\n{NonResourceURLs:[\"/metrics\"], Verbs:[\"get\"]}\n{NonResourceURLs:[\"/metrics\"], Verbs:[\"post\"]}";
    assert_eq!(
        r.json(),
        forbidden(
            "clusterroles",
            "nonres",
            &format!("clusterroles.rbac.authorization.k8s.io \"nonres\" is forbidden: {missing}")
        )
    );
    // `/logs/*` covers what is under `/logs/`.
    created(
        as_user(
            &st,
            "carol",
            Method::POST,
            CLUSTERROLES,
            cluster_role(
                "logs",
                json!([{"nonResourceURLs": ["/logs/a/b", "/healthz"], "verbs": ["get"]}]),
            ),
        )
        .await,
    )
    .await;
    let agg = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
        "metadata": {"name": "agg"},
        "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {"x": "y"}}]}});
    let r = as_user(&st, "carol", Method::POST, CLUSTERROLES, agg.clone()).await;
    assert_eq!(
        r.json(),
        forbidden(
            "clusterroles",
            "agg",
            "clusterroles.rbac.authorization.k8s.io \"agg\" is forbidden: must have cluster-admin privileges to use the aggregationRule"
        )
    );
    // Removing an aggregation rule needs it too.
    created(admin(&st, Method::POST, CLUSTERROLES, Some(agg)).await).await;
    let r = patch_as(
        &st,
        "carol",
        &format!("{CLUSTERROLES}/agg"),
        "application/merge-patch+json",
        r#"{"aggregationRule":null}"#,
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.json());
    assert!(
        r.message()
            .ends_with("must have cluster-admin privileges to use the aggregationRule")
    );
}

#[tokio::test]
async fn the_users_broken_bindings_are_listed_after_what_is_missing() {
    let st = setup().await;
    let sa_subject = json!({"kind": "ServiceAccount", "name": "sa", "namespace": "esc"});
    created(
        admin(
            &st,
            Method::POST,
            ROLEBINDINGS,
            Some(binding(
                "RoleBinding",
                "broken1",
                "ClusterRole",
                "missing-cr",
                sa_subject.clone(),
            )),
        )
        .await,
    )
    .await;
    created(
        admin(
            &st,
            Method::POST,
            ROLEBINDINGS,
            Some(binding(
                "RoleBinding",
                "broken2",
                "Role",
                "missing-r",
                sa_subject,
            )),
        )
        .await,
    )
    .await;
    created(
        admin(
            &st,
            Method::POST,
            CLUSTERROLEBINDINGS,
            Some(binding(
                "ClusterRoleBinding",
                "broken3",
                "ClusterRole",
                "missing-cr2",
                user_subject("carol"),
            )),
        )
        .await,
    )
    .await;
    let r = as_user(
        &st,
        SA,
        Method::POST,
        ROLES,
        role("ok", json!([rule(&[""], &["pods"], &["delete"])])),
    )
    .await;
    assert_eq!(
        r.message(),
        format!(
            "roles.rbac.authorization.k8s.io \"ok\" is forbidden: user \"{SA}\" {SA_GROUPS} is attempting to grant RBAC permissions not currently held:\n{{APIGroups:[\"\"], Resources:[\"pods\"], Verbs:[\"delete\"]}}; resolution errors: [[roles.rbac.authorization.k8s.io \"missing-cr\" not found, roles.rbac.authorization.k8s.io \"missing-r\" not found]]"
        )
    );
    let r = as_user(
        &st,
        "carol",
        Method::POST,
        CLUSTERROLES,
        cluster_role(
            "metrics",
            json!([{"nonResourceURLs": ["/metrics"], "verbs": ["get"]}]),
        ),
    )
    .await;
    assert_eq!(
        r.message(),
        "clusterroles.rbac.authorization.k8s.io \"metrics\" is forbidden: user \"carol\" (groups=[\"system:authenticated\"]) is attempting to grant RBAC permissions not currently held:\n{NonResourceURLs:[\"/metrics\"], Verbs:[\"get\"]}; resolution errors: [clusterroles.rbac.authorization.k8s.io \"missing-cr2\" not found]"
    );
}
