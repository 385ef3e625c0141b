//! `pods/{name}/eviction`: a `policy/v1` (or `policy/v1beta1`) `Eviction`
//! deletes the pod unless that would violate its PodDisruptionBudget
//! (upstream `pkg/registry/core/pod/storage/eviction.go`, `EvictionREST`).
//!
//! In upstream's order:
//!
//! 1. the pod is read; one that is `Pending`, `Succeeded`, `Failed` or
//!    already being deleted is deleted at once (its budget is not consulted;
//!    a live pod's delete carries its resourceVersion as precondition, so
//!    that it cannot have become Ready meanwhile); conflicts are retried;
//! 2. the PodDisruptionBudgets of its namespace that select it: more than
//!    one is a 500; none, the pod is deleted;
//! 3. a pod that is not Ready is deleted without using the budget when the
//!    budget's `unhealthyPodEvictionPolicy` is `AlwaysAllow`, or, by default
//!    (`IfHealthyBudget`), when the guarded application is not disrupted
//!    (`currentHealthy >= desiredHealthy > 0`), again with its
//!    resourceVersion as precondition (a conflict answers 429);
//! 4. otherwise `checkAndDecrement`: a budget whose `observedGeneration` lags
//!    its generation, or with no `disruptionsAllowed`, answers 429 with the
//!    `DisruptionBudget` cause; else `disruptionsAllowed` is decremented and
//!    the pod recorded in `disruptedPods` (status update, conflicts retried
//!    with a fresh read) before the pod is deleted;
//! 5. every delete first sets the pod's `DisruptionTarget` condition
//!    (`EvictionByEvictionAPI`) through the status, as upstream's
//!    `addConditionAndDeletePod`.
//!
//! The answer is a `Status` `Success` with code 201.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value, json};

use crate::apimachinery::labels;
use crate::apimachinery::status::{ApiError, GroupResource};
use crate::registry::handler::SubresourceHandler;
use crate::registry::served::Resource;
use crate::registry::store::{DeleteOptions, ListParams, Store, WriteOptions};

type ApiResult<T> = Result<T, ApiError>;

/// Upstream `MaxDisruptedPodSize`.
pub const MAX_DISRUPTED_POD_SIZE: usize = 2000;

/// Upstream `EvictionsRetry`: 20 steps, 500 ms apart.
const RETRY_STEPS: usize = 20;
const RETRY_DELAY: Duration = Duration::from_millis(500);

const TOO_MANY_REQUESTS: &str = "Cannot evict pod as it would violate the pod's disruption budget.";

/// What the request asked for, once decoded and checked.
#[derive(Debug, Clone, Default)]
pub struct Request {
    pub delete_options: DeleteOptions,
}

/// Checks an `Eviction` body against the URL's pod name and merges the
/// request's `dryRun` into its `deleteOptions` (upstream `propagateDryRun`).
/// `parse_delete_options` turns a `DeleteOptions` object into the store's.
pub fn decode(
    body: &Value,
    ns: Option<&str>,
    name: &str,
    query_dry_run: bool,
    parse_delete_options: impl Fn(&Value) -> ApiResult<DeleteOptions>,
) -> ApiResult<Request> {
    let api_version = body.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    let kind = body.get("kind").and_then(Value::as_str).unwrap_or("");
    let accepted = matches!(api_version, "" | "policy/v1" | "policy/v1beta1");
    if !(kind.is_empty() || kind == "Eviction") || !accepted {
        let version = api_version.rsplit('/').next().unwrap_or(api_version);
        return Err(ApiError::bad_request(format!(
            "{kind} in version \"{version}\" cannot be handled as a Eviction: converting ({version}.{kind}) to (policy.Eviction): unknown conversion"
        )));
    }
    // The generic create handler's check (`EnsureObjectNamespaceMatchesRequestNamespace`).
    if let (Some(b), Some(ns)) = (
        body.pointer("/metadata/namespace").and_then(Value::as_str),
        ns,
    ) && !b.is_empty()
        && b != ns
    {
        return Err(ApiError::bad_request(
            "the namespace of the provided object does not match the namespace sent on the request",
        ));
    }
    let body_name = body
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("");
    if body_name != name {
        return Err(ApiError::bad_request(
            "name in URL does not match name in Eviction object",
        ));
    }
    let mut delete_options = match body.get("deleteOptions") {
        Some(v @ Value::Object(_)) => parse_delete_options(v)?,
        _ => DeleteOptions::default(),
    };
    let body_dry_run = body
        .pointer("/deleteOptions/dryRun")
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty());
    if !body_dry_run {
        delete_options.dry_run = query_dry_run;
    }
    Ok(Request { delete_options })
}

/// Upstream `canIgnorePDB`: a pod that is pending, terminal or already
/// being deleted is deleted without consulting its budget.
pub fn can_ignore_pdb(pod: &Value) -> bool {
    matches!(phase(pod), "Succeeded" | "Failed" | "Pending") || being_deleted(pod)
}

/// Upstream `shouldEnforceResourceVersion`: a live pod is deleted only at
/// the resourceVersion that was judged.
pub fn should_enforce_resource_version(pod: &Value) -> bool {
    !(matches!(phase(pod), "Succeeded" | "Failed") || being_deleted(pod))
}

fn phase(pod: &Value) -> &str {
    pod.pointer("/status/phase")
        .and_then(Value::as_str)
        .unwrap_or("")
}

fn being_deleted(pod: &Value) -> bool {
    pod.pointer("/metadata/deletionTimestamp")
        .is_some_and(|v| !v.is_null())
}

/// Upstream `podutil.IsPodReady`.
pub fn is_pod_ready(pod: &Value) -> bool {
    pod.pointer("/status/conditions")
        .and_then(Value::as_array)
        .and_then(|cs| {
            cs.iter()
                .find(|c| c.get("type").and_then(Value::as_str) == Some("Ready"))
        })
        .is_some_and(|c| c.get("status").and_then(Value::as_str) == Some("True"))
}

fn status_i64(pdb: &Value, field: &str) -> i64 {
    pdb.pointer(&format!("/status/{field}"))
        .and_then(Value::as_i64)
        .unwrap_or(0)
}

fn name_of(obj: &Value) -> &str {
    obj.pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// Whether a PDB selects the pod (client-go's PDB lister: an invalid
/// selector selects nothing, an empty one everything).
pub fn pdb_selects(pdb: &Value, pod: &Value) -> bool {
    let Ok(selector) = labels::from_label_selector(pdb.pointer("/spec/selector")) else {
        return false;
    };
    let labels = pod.pointer("/metadata/labels").and_then(Value::as_object);
    selector.matches(labels)
}

/// What to do with a pod that is not Ready (upstream's
/// `unhealthyPodEvictionPolicy` check): `true` when it may be deleted
/// without using the budget.
pub fn unhealthy_pod_may_go(pdb: &Value) -> bool {
    if pdb
        .pointer("/spec/unhealthyPodEvictionPolicy")
        .and_then(Value::as_str)
        == Some("AlwaysAllow")
    {
        return true;
    }
    let current = status_i64(pdb, "currentHealthy");
    let desired = status_i64(pdb, "desiredHealthy");
    current >= desired && desired > 0
}

/// upstream `errors.NewTooManyRequests(TOO_MANY_REQUESTS, retry)` with the
/// `DisruptionBudget` cause.
fn too_many_requests(cause: String, retry_after: u64) -> ApiError {
    let mut details = Map::new();
    details.insert(
        "causes".into(),
        json!([{"reason": "DisruptionBudget", "message": cause}]),
    );
    if retry_after > 0 {
        details.insert("retryAfterSeconds".into(), json!(retry_after));
    }
    ApiError {
        code: 429,
        reason: "TooManyRequests",
        message: TOO_MANY_REQUESTS.into(),
        details: Some(Value::Object(details)),
    }
}

/// Upstream `createTooManyRequestsError`: the budget has not been
/// processed by the disruption controller since it last changed.
pub fn still_processing(pdb_name: &str) -> ApiError {
    too_many_requests(
        format!("The disruption budget {pdb_name} is still being processed by the server."),
        10,
    )
}

/// The 429 of a budget that allows no disruption.
pub fn budget_exhausted(pdb_name: &str, desired: i64, current: i64) -> ApiError {
    too_many_requests(
        format!(
            "The disruption budget {pdb_name} needs {desired} healthy pods and has {current} currently"
        ),
        0,
    )
}

fn pdb_forbidden(pdb_name: &str, msg: &str) -> ApiError {
    ApiError::forbidden_resource(
        &GroupResource::new("policy", "poddisruptionbudget"),
        pdb_name,
        msg,
    )
}

/// Upstream `checkAndDecrement` on a PDB: the status to write (one fewer
/// disruption allowed, the pod in `disruptedPods` at `now`), or the error
/// that refuses the eviction. On a dry run the status is still returned
/// (it is not written).
pub fn check_and_decrement(pdb: &Value, pod_name: &str, now: &str) -> ApiResult<Value> {
    let name = name_of(pdb);
    let generation = pdb
        .pointer("/metadata/generation")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    if status_i64(pdb, "observedGeneration") < generation {
        return Err(still_processing(name));
    }
    let allowed = status_i64(pdb, "disruptionsAllowed");
    if allowed < 0 {
        return Err(pdb_forbidden(name, "pdb disruptions allowed is negative"));
    }
    let disrupted = pdb
        .pointer("/status/disruptedPods")
        .and_then(Value::as_object)
        .map_or(0, Map::len);
    if disrupted > MAX_DISRUPTED_POD_SIZE {
        return Err(pdb_forbidden(
            name,
            "DisruptedPods map too big - too many evictions not confirmed by PDB controller",
        ));
    }
    if allowed == 0 {
        return Err(budget_exhausted(
            name,
            status_i64(pdb, "desiredHealthy"),
            status_i64(pdb, "currentHealthy"),
        ));
    }
    let mut new = pdb.clone();
    let Some(status) = new.get_mut("status").and_then(Value::as_object_mut) else {
        return Err(ApiError::internal("PodDisruptionBudget without status"));
    };
    status.insert("disruptionsAllowed".into(), json!(allowed - 1));
    if allowed - 1 == 0 {
        // UpdateDisruptionAllowedCondition.
        let observed = status.get("observedGeneration").cloned();
        let conds = status.entry("conditions").or_insert_with(|| json!([]));
        if let Some(list) = conds.as_array_mut() {
            let mut cond = json!({"type": "DisruptionAllowed", "status": "False",
                "reason": "InsufficientPods", "message": ""});
            if let Some(g) = observed {
                cond["observedGeneration"] = g;
            }
            match list
                .iter_mut()
                .find(|c| c.get("type").and_then(Value::as_str) == Some("DisruptionAllowed"))
            {
                Some(c) => {
                    let ltt = if c.get("status") == cond.get("status") {
                        c.get("lastTransitionTime").cloned()
                    } else {
                        None
                    };
                    cond["lastTransitionTime"] = ltt.unwrap_or_else(|| json!(now));
                    *c = cond;
                }
                None => {
                    cond["lastTransitionTime"] = json!(now);
                    list.push(cond);
                }
            }
        }
    }
    let pods = status.entry("disruptedPods").or_insert_with(|| json!({}));
    if !pods.is_object() {
        *pods = json!({});
    }
    if let Some(m) = pods.as_object_mut() {
        m.insert(pod_name.to_string(), json!(now));
    }
    Ok(new)
}

/// The pod with upstream's `DisruptionTarget` condition
/// (`podutil.UpdatePodCondition`: the transition time kept when the status
/// is unchanged).
pub fn with_disruption_target(pod: &Value, now: &str) -> Value {
    let mut pod = pod.clone();
    let Some(status) = pod.get_mut("status").and_then(Value::as_object_mut) else {
        return pod;
    };
    let conds = status.entry("conditions").or_insert_with(|| json!([]));
    if !conds.is_array() {
        *conds = json!([]);
    }
    let mut cond = json!({"type": "DisruptionTarget", "status": "True", "lastProbeTime": null,
        "lastTransitionTime": now, "reason": "EvictionByEvictionAPI", "message": "Eviction API: evicting"});
    if let Some(list) = conds.as_array_mut() {
        match list
            .iter_mut()
            .find(|c| c.get("type").and_then(Value::as_str) == Some("DisruptionTarget"))
        {
            Some(c) => {
                if c.get("status") == cond.get("status")
                    && let Some(t) = c.get("lastTransitionTime")
                {
                    cond["lastTransitionTime"] = t.clone();
                }
                *c = cond;
            }
            None => list.push(cond),
        }
    }
    pod
}

fn now_rfc3339() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn is_conflict(e: &ApiError) -> bool {
    e.code == 409
}

fn resource(store: &Store, key: &str) -> ApiResult<Arc<Resource>> {
    store
        .registry()
        .by_key(key)
        .ok_or_else(|| ApiError::internal(format!("no {key}")))
}

/// Serves one eviction. `writes` carries the request's field manager.
pub async fn evict(
    store: &Store,
    ns: Option<&str>,
    name: &str,
    req: &Request,
    writes: &WriteOptions,
) -> ApiResult<Value> {
    let pods = resource(store, "pods")?;
    let original = &req.delete_options;
    let rv_unset = original.precondition_resource_version.is_none();

    // 1. Pods whose budget does not matter.
    let mut pod = Value::Null;
    let mut deleted = false;
    for attempt in 0..RETRY_STEPS {
        if attempt > 0 {
            tokio::time::sleep(RETRY_DELAY).await;
        }
        pod = store.get(&pods, ns, name).await?;
        if !can_ignore_pdb(&pod) {
            break;
        }
        let mut opts = original.clone();
        if should_enforce_resource_version(&pod) && rv_unset {
            opts.precondition_resource_version = resource_version(&pod);
        }
        match add_condition_and_delete(store, &pods, ns, name, &opts, writes).await {
            Ok(()) => {
                deleted = true;
                break;
            }
            Err(e) if is_conflict(&e) && rv_unset && attempt + 1 < RETRY_STEPS => continue,
            Err(e) => return Err(e),
        }
    }
    if deleted {
        return Ok(success());
    }

    // 2.-4. The budget.
    let pdbs_res = resource(store, "policy/poddisruptionbudgets")?;
    let list = store.list(&pdbs_res, ns, &ListParams::default()).await?;
    let matching: Vec<&Value> = list
        .get("items")
        .and_then(Value::as_array)
        .map(|items| items.iter().filter(|p| pdb_selects(p, &pod)).collect())
        .unwrap_or_default();
    if matching.len() > 1 {
        return Err(ApiError::unknown_error(
            "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.",
        ));
    }
    let mut pdb_name = String::new();
    let mut unhealthy_delete = false;
    if let Some(first) = matching.first() {
        pdb_name = name_of(first).to_string();
        if !is_pod_ready(&pod) && unhealthy_pod_may_go(first) {
            unhealthy_delete = true;
        } else {
            decrement(
                store,
                &pdbs_res,
                ns,
                &pdb_name,
                first,
                name,
                original.dry_run,
            )
            .await?;
        }
    }

    // 5. The delete.
    let mut opts = original.clone();
    if unhealthy_delete {
        opts.precondition_resource_version = resource_version(&pod);
    }
    match add_condition_and_delete(store, &pods, ns, name, &opts, writes).await {
        Ok(()) => Ok(success()),
        Err(e) if is_conflict(&e) && unhealthy_delete && rv_unset => {
            Err(still_processing(&pdb_name))
        }
        Err(e) => Err(e),
    }
}

/// The verify-and-decrement of the budget, retried on conflicts with a
/// fresh read (upstream `retry.RetryOnConflict(EvictionsRetry, ...)`).
async fn decrement(
    store: &Store,
    pdbs_res: &Arc<Resource>,
    ns: Option<&str>,
    pdb_name: &str,
    listed: &Value,
    pod_name: &str,
    dry_run: bool,
) -> ApiResult<()> {
    let mut pdb = listed.clone();
    let mut last = None;
    for attempt in 0..RETRY_STEPS {
        if attempt > 0 {
            tokio::time::sleep(RETRY_DELAY).await;
            pdb = store.get(pdbs_res, ns, pdb_name).await?;
        }
        let new = check_and_decrement(&pdb, pod_name, &now_rfc3339())?;
        if dry_run {
            return Ok(());
        }
        // The API server's own loopback client writes it upstream.
        let opts = WriteOptions {
            field_manager: "kube-apiserver".into(),
            ..WriteOptions::default()
        };
        match store
            .update(
                pdbs_res,
                ns,
                pdb_name,
                Some(SubresourceHandler::Status),
                new,
                &opts,
            )
            .await
        {
            Ok(_) => return Ok(()),
            Err(e) if is_conflict(&e) => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    // client-go's `retry.OnError` answers the last conflict once the
    // steps are spent.
    Err(last.unwrap_or_else(|| ApiError::modified_conflict(&pdbs_res.group_resource(), pdb_name)))
}

fn resource_version(obj: &Value) -> Option<String> {
    obj.pointer("/metadata/resourceVersion")
        .and_then(Value::as_str)
        .map(str::to_string)
}

fn success() -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201})
}

/// Upstream `addConditionAndDeletePod`: the `DisruptionTarget` condition
/// is written on the latest pod (checked against the delete's
/// preconditions; a resourceVersion precondition then moves to the version
/// that write made), then the pod is deleted.
async fn add_condition_and_delete(
    store: &Store,
    pods: &Arc<Resource>,
    ns: Option<&str>,
    name: &str,
    opts: &DeleteOptions,
    writes: &WriteOptions,
) -> ApiResult<()> {
    let mut opts = opts.clone();
    if !opts.dry_run {
        let gr = GroupResource::new("", "Pod");
        let mut written = false;
        for _ in 0..64 {
            let latest = store.get(pods, ns, name).await?;
            let latest_uid = latest
                .pointer("/metadata/uid")
                .and_then(Value::as_str)
                .unwrap_or("");
            let latest_rv = resource_version(&latest).unwrap_or_default();
            if let Some(uid) = opts.precondition_uid.as_deref().filter(|u| !u.is_empty())
                && uid != latest_uid
            {
                return Err(ApiError::conflict(
                    &gr,
                    name,
                    &format!(
                        "the UID in the precondition ({uid}) does not match the UID in record ({latest_uid}). The object might have been deleted and then recreated"
                    ),
                ));
            }
            if let Some(rv) = opts
                .precondition_resource_version
                .as_deref()
                .filter(|r| !r.is_empty())
                && rv != latest_rv
            {
                return Err(ApiError::conflict(
                    &gr,
                    name,
                    &format!(
                        "the ResourceVersion in the precondition ({rv}) does not match the ResourceVersion in record ({latest_rv}). The object might have been modified"
                    ),
                ));
            }
            let new = with_disruption_target(&latest, &now_rfc3339());
            match store
                .update(
                    pods,
                    ns,
                    name,
                    Some(SubresourceHandler::Status),
                    new,
                    writes,
                )
                .await
            {
                Ok(r) => {
                    if opts.precondition_resource_version.is_some() {
                        opts.precondition_resource_version = resource_version(&r.object);
                    }
                    written = true;
                    break;
                }
                Err(e) if is_conflict(&e) => continue,
                Err(e) => return Err(e),
            }
        }
        if !written {
            return Err(ApiError::modified_conflict(&pods.group_resource(), name));
        }
    }
    store.delete(pods, ns, name, &opts).await.map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pdb(status: Value) -> Value {
        json!({"metadata": {"name": "web", "namespace": "default", "generation": 2},
            "spec": {"minAvailable": 2, "selector": {"matchLabels": {"app": "web"}}},
            "status": status})
    }

    fn parse(v: &Value) -> ApiResult<DeleteOptions> {
        Ok(DeleteOptions {
            grace_period_seconds: v.get("gracePeriodSeconds").and_then(Value::as_i64),
            dry_run: v.get("dryRun").is_some(),
            ..Default::default()
        })
    }

    #[test]
    fn decoding() {
        let ok = json!({"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": "p"},
            "deleteOptions": {"gracePeriodSeconds": 3}});
        let r = decode(&ok, Some("default"), "p", false, parse).unwrap();
        assert_eq!(r.delete_options.grace_period_seconds, Some(3));
        assert!(!r.delete_options.dry_run);
        assert!(
            decode(&ok, Some("default"), "p", true, parse)
                .unwrap()
                .delete_options
                .dry_run
        );
        let beta =
            json!({"apiVersion": "policy/v1beta1", "kind": "Eviction", "metadata": {"name": "p"}});
        assert!(decode(&beta, Some("default"), "p", false, parse).is_ok());
        // No type meta: the endpoint's kind.
        assert!(
            decode(
                &json!({"metadata": {"name": "p"}}),
                Some("default"),
                "p",
                false,
                parse
            )
            .is_ok()
        );
        let e = decode(&ok, Some("default"), "q", false, parse).unwrap_err();
        assert_eq!(
            (e.code, e.message.as_str()),
            (400, "name in URL does not match name in Eviction object")
        );
        let other = json!({"metadata": {"name": "p", "namespace": "other"}});
        assert_eq!(
            decode(&other, Some("default"), "p", false, parse)
                .unwrap_err()
                .message,
            "the namespace of the provided object does not match the namespace sent on the request"
        );
        let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}});
        assert_eq!(
            decode(&pod, Some("default"), "p", false, parse)
                .unwrap_err()
                .message,
            "Pod in version \"v1\" cannot be handled as a Eviction: converting (v1.Pod) to (policy.Eviction): unknown conversion"
        );
    }

    #[test]
    fn pods_that_skip_the_budget() {
        let p = |phase: &str| json!({"metadata": {"name": "p"}, "status": {"phase": phase}});
        assert!(can_ignore_pdb(&p("Pending")));
        assert!(can_ignore_pdb(&p("Succeeded")));
        assert!(can_ignore_pdb(&p("Failed")));
        assert!(!can_ignore_pdb(&p("Running")));
        let deleting = json!({"metadata": {"name": "p", "deletionTimestamp": "2024-01-01T00:00:00Z"},
            "status": {"phase": "Running"}});
        assert!(can_ignore_pdb(&deleting));
        assert!(!should_enforce_resource_version(&deleting));
        assert!(should_enforce_resource_version(&p("Pending")));
        assert!(!should_enforce_resource_version(&p("Failed")));
    }

    #[test]
    fn exhausted_budget_is_429_with_the_cause() {
        let p = pdb(json!({"observedGeneration": 2, "disruptionsAllowed": 0,
            "currentHealthy": 2, "desiredHealthy": 2, "expectedPods": 2}));
        let e = check_and_decrement(&p, "a", "2024-01-01T00:00:00Z").unwrap_err();
        assert_eq!(
            e.to_status(),
            json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": "Cannot evict pod as it would violate the pod's disruption budget.",
                "reason": "TooManyRequests",
                "details": {"causes": [{"reason": "DisruptionBudget",
                    "message": "The disruption budget web needs 2 healthy pods and has 2 currently"}]},
                "code": 429})
        );
    }

    #[test]
    fn lagging_generation_is_still_being_processed() {
        let p = pdb(json!({"observedGeneration": 1, "disruptionsAllowed": 5}));
        let e = check_and_decrement(&p, "a", "2024-01-01T00:00:00Z").unwrap_err();
        assert_eq!(e.code, 429);
        assert_eq!(
            e.details,
            Some(json!({"causes": [{"reason": "DisruptionBudget",
                "message": "The disruption budget web is still being processed by the server."}],
                "retryAfterSeconds": 10}))
        );
    }

    #[test]
    fn negative_budget_is_forbidden() {
        let p = pdb(json!({"observedGeneration": 2, "disruptionsAllowed": -1}));
        let e = check_and_decrement(&p, "a", "t").unwrap_err();
        assert_eq!(e.code, 403);
        assert_eq!(
            e.message,
            "poddisruptionbudget.policy \"web\" is forbidden: pdb disruptions allowed is negative"
        );
    }

    #[test]
    fn decrement_records_the_pod() {
        let p = pdb(
            json!({"observedGeneration": 2, "disruptionsAllowed": 2, "currentHealthy": 4,
            "desiredHealthy": 2, "expectedPods": 4,
            "conditions": [{"type": "DisruptionAllowed", "status": "True", "reason": "SufficientPods",
                "message": "", "observedGeneration": 2, "lastTransitionTime": "2020-01-01T00:00:00Z"}]}),
        );
        let now = "2024-01-01T00:00:00Z";
        let once = check_and_decrement(&p, "a", now).unwrap();
        assert_eq!(once["status"]["disruptionsAllowed"], 1);
        assert_eq!(once["status"]["disruptedPods"], json!({"a": now}));
        assert_eq!(once["status"]["conditions"][0]["status"], "True");
        let twice = check_and_decrement(&once, "b", now).unwrap();
        assert_eq!(twice["status"]["disruptionsAllowed"], 0);
        assert_eq!(
            twice["status"]["disruptedPods"],
            json!({"a": now, "b": now})
        );
        assert_eq!(
            twice["status"]["conditions"][0],
            json!({"type": "DisruptionAllowed", "status": "False", "reason": "InsufficientPods",
                "message": "", "observedGeneration": 2, "lastTransitionTime": now})
        );
    }

    #[test]
    fn unhealthy_pod_policy() {
        let mut p = pdb(json!({"currentHealthy": 2, "desiredHealthy": 2}));
        assert!(unhealthy_pod_may_go(&p));
        p["status"]["currentHealthy"] = json!(1);
        assert!(!unhealthy_pod_may_go(&p));
        p["spec"]["unhealthyPodEvictionPolicy"] = json!("AlwaysAllow");
        assert!(unhealthy_pod_may_go(&p));
        let mut q = pdb(json!({"currentHealthy": 0, "desiredHealthy": 0}));
        assert!(!unhealthy_pod_may_go(&q));
        q["spec"]["unhealthyPodEvictionPolicy"] = json!("IfHealthyBudget");
        assert!(!unhealthy_pod_may_go(&q));
    }

    #[test]
    fn selection_and_readiness() {
        let p = pdb(json!({}));
        let pod = json!({"metadata": {"labels": {"app": "web"}},
            "status": {"conditions": [{"type": "Ready", "status": "True"}]}});
        assert!(pdb_selects(&p, &pod));
        assert!(is_pod_ready(&pod));
        let mut all = p.clone();
        all["spec"]["selector"] = json!({});
        assert!(pdb_selects(&all, &json!({"metadata": {}})));
        let mut none = p;
        none["spec"].as_object_mut().unwrap().remove("selector");
        assert!(!pdb_selects(&none, &pod));
    }

    #[test]
    fn disruption_target_condition() {
        let pod = json!({"status": {"conditions": [{"type": "Ready", "status": "True"}]}});
        let p = with_disruption_target(&pod, "2024-01-01T00:00:00Z");
        assert_eq!(
            p["status"]["conditions"][1],
            json!({"type": "DisruptionTarget", "status": "True", "lastProbeTime": null,
                "lastTransitionTime": "2024-01-01T00:00:00Z", "reason": "EvictionByEvictionAPI",
                "message": "Eviction API: evicting"})
        );
        let again = with_disruption_target(&p, "2025-01-01T00:00:00Z");
        assert_eq!(
            again["status"]["conditions"][1]["lastTransitionTime"],
            "2024-01-01T00:00:00Z"
        );
    }
}
