//! `pods/{name}/eviction` in-process: the pod is deleted unless its
//! PodDisruptionBudget forbids it. The disruption controller does not run
//! here: each budget's status is written through `/status` as the controller
//! would. Every expected body (status code and whole `Status`) was taken
//! from a kube-apiserver v1.36.2.

use std::sync::Arc;

use http::{Method, StatusCode};
use serde_json::{Value, json};

use ironkube::apiserver::AppState;

mod inproc;
use inproc::{Resp, request, state};

const NS: &str = "/api/v1/namespaces/default";
const PDBS: &str = "/apis/policy/v1/namespaces/default/poddisruptionbudgets";

async fn post(st: &Arc<AppState>, uri: &str, body: &Value) -> Resp {
    request(
        st,
        Method::POST,
        uri,
        "application/json",
        Some(body.to_string()),
    )
    .await
}

async fn merge(st: &Arc<AppState>, uri: &str, body: &Value) -> Resp {
    let r = request(
        st,
        Method::PATCH,
        uri,
        "application/merge-patch+json",
        Some(body.to_string()),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{uri}: {}", r.json());
    r
}

async fn get(st: &Arc<AppState>, uri: &str) -> Resp {
    request(st, Method::GET, uri, "", None).await
}

/// A pod labelled `app: web`, Running and Ready unless `ready` is false
/// (`phase` overrides Running); scheduled on a node when `node` is set, so
/// that its delete is graceful.
async fn pod(st: &Arc<AppState>, name: &str, phase: &str, ready: bool, node: Option<&str>) {
    let mut spec = json!({"containers": [{"name": "c", "image": "nginx"}]});
    if let Some(n) = node {
        spec["nodeName"] = json!(n);
    }
    let r = post(
        st,
        &format!("{NS}/pods"),
        &json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "labels": {"app": "web"}}, "spec": spec}),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.json());
    let ready = if ready { "True" } else { "False" };
    merge(
        st,
        &format!("{NS}/pods/{name}/status"),
        &json!({"status": {"phase": phase, "conditions": [{"type": "Ready", "status": ready}]}}),
    )
    .await;
}

/// A budget selecting `app: web`, with the status the controller would
/// have written (`observedGeneration` 1 unless given).
async fn pdb(st: &Arc<AppState>, name: &str, spec: Value, status: Value) {
    let mut spec = spec;
    spec["selector"] = json!({"matchLabels": {"app": "web"}});
    let r = post(
        st,
        PDBS,
        &json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
            "metadata": {"name": name}, "spec": spec}),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.json());
    let mut status = status;
    if status.get("observedGeneration").is_none() {
        status["observedGeneration"] = json!(1);
    }
    merge(
        st,
        &format!("{PDBS}/{name}/status"),
        &json!({"status": status}),
    )
    .await;
}

fn eviction(name: &str) -> Value {
    json!({"apiVersion": "policy/v1", "kind": "Eviction",
        "metadata": {"name": name, "namespace": "default"}})
}

async fn evict(st: &Arc<AppState>, name: &str) -> Resp {
    post(st, &format!("{NS}/pods/{name}/eviction"), &eviction(name)).await
}

fn success() -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201})
}

fn too_many(cause: &str) -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": "Cannot evict pod as it would violate the pod's disruption budget.",
        "reason": "TooManyRequests",
        "details": {"causes": [{"reason": "DisruptionBudget", "message": cause}]},
        "code": 429})
}

async fn exists(st: &Arc<AppState>, name: &str) -> bool {
    get(st, &format!("{NS}/pods/{name}")).await.status == StatusCode::OK
}

#[tokio::test]
async fn discovery_lists_the_eviction_subresource() {
    let st = state().await;
    let r = get(&st, "/api/v1").await;
    let list = r.json();
    let ev = list["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "pods/eviction")
        .cloned()
        .expect("pods/eviction");
    assert_eq!(
        ev,
        json!({"name": "pods/eviction", "singularName": "", "namespaced": true,
            "group": "policy", "version": "v1", "kind": "Eviction", "verbs": ["create"]})
    );
    pod(&st, "p", "Running", true, None).await;
    let r = get(&st, &format!("{NS}/pods/p/eviction")).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn without_a_budget_the_pod_is_deleted() {
    let st = state().await;
    pod(&st, "p", "Running", true, None).await;
    let r = evict(&st, "p").await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(r.json(), success());
    assert!(!exists(&st, "p").await);
    // Missing pod.
    let r = evict(&st, "p").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(
        r.json(),
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": "pods \"p\" not found", "reason": "NotFound",
            "details": {"name": "p", "kind": "pods"}, "code": 404})
    );
}

#[tokio::test]
async fn an_exhausted_budget_answers_429() {
    let st = state().await;
    pod(&st, "a", "Running", true, None).await;
    pod(&st, "b", "Running", true, None).await;
    pdb(
        &st,
        "web",
        json!({"minAvailable": 2}),
        json!({"currentHealthy": 2, "desiredHealthy": 2, "expectedPods": 2, "disruptionsAllowed": 0}),
    )
    .await;
    let r = evict(&st, "a").await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        r.json(),
        too_many("The disruption budget web needs 2 healthy pods and has 2 currently")
    );
    assert!(r.headers.get("retry-after").is_none());
    assert!(exists(&st, "a").await);
}

#[tokio::test]
async fn a_budget_not_yet_observed_answers_429_with_retry_after() {
    let st = state().await;
    pod(&st, "a", "Running", true, None).await;
    pdb(
        &st,
        "web",
        json!({"minAvailable": 0}),
        json!({"observedGeneration": 0, "disruptionsAllowed": 1}),
    )
    .await;
    let r = evict(&st, "a").await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    let mut want = too_many("The disruption budget web is still being processed by the server.");
    want["details"]["retryAfterSeconds"] = json!(10);
    assert_eq!(r.json(), want);
    assert_eq!(r.headers.get("retry-after").unwrap(), "10");
}

#[tokio::test]
async fn an_allowed_disruption_is_used_then_the_pod_deleted() {
    let st = state().await;
    for p in ["a", "b", "c"] {
        pod(&st, p, "Running", true, Some("node-0")).await;
    }
    pdb(
        &st,
        "web",
        json!({"minAvailable": 2}),
        json!({"currentHealthy": 3, "desiredHealthy": 2, "expectedPods": 3, "disruptionsAllowed": 1,
            "conditions": [{"type": "DisruptionAllowed", "status": "True", "reason": "SufficientPods",
                "message": "", "observedGeneration": 1, "lastTransitionTime": "2024-01-01T00:00:00Z"}]}),
    )
    .await;
    let r = evict(&st, "a").await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.json());
    assert_eq!(r.json(), success());
    let status = get(&st, &format!("{PDBS}/web")).await.json()["status"].clone();
    assert_eq!(status["disruptionsAllowed"], 0);
    assert!(status["disruptedPods"]["a"].is_string(), "{status}");
    assert_eq!(status["conditions"][0]["reason"], "InsufficientPods");
    assert_eq!(status["conditions"][0]["status"], "False");
    // Scheduled: deleted gracefully, with upstream's condition.
    let a = get(&st, &format!("{NS}/pods/a")).await.json();
    assert!(a["metadata"]["deletionTimestamp"].is_string());
    let cond = a["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "DisruptionTarget")
        .cloned()
        .expect("DisruptionTarget");
    assert_eq!(cond["reason"], "EvictionByEvictionAPI");
    assert_eq!(cond["message"], "Eviction API: evicting");
    // The budget is spent.
    let r = evict(&st, "b").await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        r.json(),
        too_many("The disruption budget web needs 2 healthy pods and has 3 currently")
    );
    // A pod already being deleted is deleted again, whatever the budget.
    let r = evict(&st, "a").await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.json());
}

#[tokio::test]
async fn two_budgets_answer_500() {
    let st = state().await;
    pod(&st, "a", "Running", true, None).await;
    pdb(
        &st,
        "one",
        json!({"minAvailable": 1}),
        json!({"disruptionsAllowed": 1}),
    )
    .await;
    pdb(
        &st,
        "two",
        json!({"maxUnavailable": 1}),
        json!({"disruptionsAllowed": 1}),
    )
    .await;
    let r = evict(&st, "a").await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        r.json(),
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.",
            "code": 500})
    );
}

#[tokio::test]
async fn pending_and_unhealthy_pods() {
    let st = state().await;
    pod(&st, "pending", "Pending", false, None).await;
    pod(&st, "ready", "Running", true, None).await;
    pod(&st, "unready", "Running", false, None).await;
    pdb(
        &st,
        "web",
        json!({"minAvailable": 1}),
        json!({"currentHealthy": 1, "desiredHealthy": 1, "expectedPods": 3, "disruptionsAllowed": 0}),
    )
    .await;
    // A pending pod is deleted without consulting the budget.
    assert_eq!(evict(&st, "pending").await.status, StatusCode::CREATED);
    assert!(!exists(&st, "pending").await);
    // IfHealthyBudget: the application is not disrupted (1 >= 1 > 0), so an
    // unready pod may go; a ready one may not.
    assert_eq!(
        evict(&st, "ready").await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(evict(&st, "unready").await.status, StatusCode::CREATED);
    assert!(!exists(&st, "unready").await);
}

#[tokio::test]
async fn unhealthy_pod_eviction_policy() {
    let st = state().await;
    pod(&st, "unready", "Running", false, None).await;
    pod(&st, "other", "Running", false, None).await;
    // Disrupted (0 healthy of 1): IfHealthyBudget keeps the unready pod.
    pdb(
        &st,
        "web",
        json!({"minAvailable": 1}),
        json!({"currentHealthy": 0, "desiredHealthy": 1, "expectedPods": 2, "disruptionsAllowed": 0}),
    )
    .await;
    let r = evict(&st, "unready").await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        r.json(),
        too_many("The disruption budget web needs 1 healthy pods and has 0 currently")
    );
    // AlwaysAllow lets it go.
    merge(
        &st,
        &format!("{PDBS}/web"),
        &json!({"spec": {"unhealthyPodEvictionPolicy": "AlwaysAllow"}}),
    )
    .await;
    merge(
        &st,
        &format!("{PDBS}/web/status"),
        &json!({"status": {"observedGeneration": 2}}),
    )
    .await;
    assert_eq!(evict(&st, "unready").await.status, StatusCode::CREATED);
    assert!(!exists(&st, "unready").await);
}

#[tokio::test]
async fn bodies_and_dry_run() {
    let st = state().await;
    pod(&st, "a", "Running", true, None).await;
    pdb(
        &st,
        "web",
        json!({"minAvailable": 0}),
        json!({"currentHealthy": 1, "desiredHealthy": 0, "expectedPods": 1, "disruptionsAllowed": 1}),
    )
    .await;
    let bad = |msg: &str| {
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": msg, "reason": "BadRequest", "code": 400})
    };
    let uri = format!("{NS}/pods/a/eviction");
    let r = post(&st, &uri, &eviction("b")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        r.json(),
        bad("name in URL does not match name in Eviction object")
    );
    let r = post(
        &st,
        &uri,
        &json!({"apiVersion": "policy/v1", "kind": "Eviction"}),
    )
    .await;
    assert_eq!(
        r.json(),
        bad("name in URL does not match name in Eviction object")
    );
    let r = post(
        &st,
        &uri,
        &json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a"}}),
    )
    .await;
    assert_eq!(
        r.json(),
        bad(
            "Pod in version \"v1\" cannot be handled as a Eviction: converting (v1.Pod) to (policy.Eviction): unknown conversion"
        )
    );
    let r = request(
        &st,
        Method::POST,
        &uri,
        "application/json",
        Some(String::new()),
    )
    .await;
    assert_eq!(
        r.json(),
        bad(
            "the object provided is unrecognized (must be of type Eviction): couldn't get version/kind; json parse error: unexpected end of JSON input (<empty>)"
        )
    );
    let r = post(
        &st,
        &uri,
        &json!({"apiVersion": "policy/v1", "kind": "Eviction",
            "metadata": {"name": "a", "namespace": "other"}}),
    )
    .await;
    assert_eq!(
        r.json(),
        bad(
            "the namespace of the provided object does not match the namespace sent on the request"
        )
    );
    // A resourceVersion precondition is checked against the pod.
    pod(&st, "pending", "Pending", false, None).await;
    let rv = get(&st, &format!("{NS}/pods/pending")).await.json()["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_string();
    let r = post(
        &st,
        &format!("{NS}/pods/pending/eviction"),
        &json!({"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": "pending"},
            "deleteOptions": {"preconditions": {"resourceVersion": "1"}}}),
    )
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(
        r.json(),
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": format!("Operation cannot be fulfilled on Pod \"pending\": the ResourceVersion in the precondition (1) does not match the ResourceVersion in record ({rv}). The object might have been modified"),
            "reason": "Conflict", "details": {"name": "pending", "kind": "Pod"}, "code": 409})
    );
    // A dry run changes nothing.
    let r = post(&st, &format!("{uri}?dryRun=All"), &eviction("a")).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.json());
    assert!(exists(&st, "a").await);
    let status = get(&st, &format!("{PDBS}/web")).await.json()["status"].clone();
    assert_eq!(status["disruptionsAllowed"], 1);
    // policy/v1beta1 bodies are accepted, and their deleteOptions used.
    let r = post(
        &st,
        &uri,
        &json!({"apiVersion": "policy/v1beta1", "kind": "Eviction", "metadata": {"name": "a"},
            "deleteOptions": {"gracePeriodSeconds": 0}}),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.json());
    assert!(!exists(&st, "a").await);
}

#[tokio::test]
async fn concurrent_evictions_never_overspend_the_budget() {
    // kubectl drain evicts every pod of a node at once: the budget's
    // status update is a compare-and-swap, so one allowed disruption lets
    // exactly one eviction through.
    let st = state().await;
    for p in ["a", "b", "c"] {
        pod(&st, p, "Running", true, None).await;
    }
    pdb(
        &st,
        "web",
        json!({"minAvailable": 2}),
        json!({"currentHealthy": 3, "desiredHealthy": 2, "expectedPods": 3, "disruptionsAllowed": 1}),
    )
    .await;
    let (a, b, c) = tokio::join!(evict(&st, "a"), evict(&st, "b"), evict(&st, "c"));
    let mut codes: Vec<u16> = [a, b, c].iter().map(|r| r.status.as_u16()).collect();
    codes.sort();
    assert_eq!(codes, [201, 429, 429]);
    let status = get(&st, &format!("{PDBS}/web")).await.json()["status"].clone();
    assert_eq!(status["disruptionsAllowed"], 0);
    assert_eq!(
        status["disruptedPods"].as_object().map(|m| m.len()),
        Some(1)
    );
}
