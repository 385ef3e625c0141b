//! The disruption controller's decisions (upstream
//! `pkg/controller/disruption/disruption.go` and
//! `k8s.io/component-helpers/apps/poddisruptionbudget/helpers.go`), pure
//! functions of the PodDisruptionBudget, its pods, the scale of their
//! controllers and `now`.
//!
//! - `expectedPods` is the number of selected pods when `minAvailable` is an
//!   integer, else the summed `replicas` of the pods' controllers
//!   (`getExpectedScale`); pods without a controller are "unmanaged" and
//!   count for nothing there;
//! - `desiredHealthy` is `minAvailable` (an integer, or a percentage of the
//!   expected pods rounded up), or `expected - maxUnavailable` (never below 0);
//! - `currentHealthy` counts the Ready pods that are not being deleted and
//!   not recorded in `disruptedPods` within the last [`DELETION_TIMEOUT`];
//! - `disruptionsAllowed` is `currentHealthy - desiredHealthy`, and 0 when
//!   that is negative or when no pod is expected (a PDB whose pods appear
//!   before its first sync is safe).

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Utc};
use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{
    Condition, LabelSelector, OwnerReference, Time,
};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::controllers::replicaset::logic as rs_logic;
use crate::controllers::shared::cached_pod::Pod;

/// Upstream `DeletionTimeout`: how long an entry of `disruptedPods` (a pod
/// the eviction subresource approved) keeps the pod out of `currentHealthy`
/// while the controller waits to see it marked for deletion.
pub const DELETION_TIMEOUT: chrono::Duration = chrono::Duration::minutes(2);

/// Upstream `stalePodDisruptionTimeout`: how long a pod may carry a
/// `DisruptionTarget=True` condition without being deleted before the
/// controller sets it to `False`.
pub const STALE_POD_DISRUPTION_TIMEOUT: chrono::Duration = chrono::Duration::minutes(2);

/// `policy/v1` condition type and reasons.
pub const DISRUPTION_ALLOWED: &str = "DisruptionAllowed";
pub const SUFFICIENT_PODS: &str = "SufficientPods";
pub const INSUFFICIENT_PODS: &str = "InsufficientPods";
pub const SYNC_FAILED: &str = "SyncFailed";

/// Whether the PDB's selector selects the pod (same namespace; a missing
/// selector selects nothing, an empty one everything, as `policy/v1`).
pub fn selects(pdb: &PodDisruptionBudget, pod: &Pod) -> bool {
    if pdb.metadata.namespace != pod.metadata.namespace {
        return false;
    }
    pdb.spec
        .as_ref()
        .and_then(|s| s.selector.as_ref())
        .is_some_and(|sel| rs_logic::selector_matches(sel, pod.metadata.labels.as_ref()))
}

/// Whether `expectedPods` comes from the controllers' scale (upstream
/// `getExpectedPodCount`: `maxUnavailable` set, or `minAvailable` a
/// percentage) rather than from the number of pods.
pub fn needs_scale(pdb: &PodDisruptionBudget) -> bool {
    let Some(spec) = &pdb.spec else { return false };
    spec.max_unavailable.is_some() || matches!(spec.min_available, Some(IntOrString::String(_)))
}

/// The controllers whose scale `getExpectedScale` adds up: each selected
/// pod's controlling ownerReference, in pod order, once per controller uid,
/// with the name of the first pod it controls; and the names of the pods
/// without a controller.
pub fn pod_controllers(pods: &[&Pod]) -> (Vec<(String, OwnerReference)>, Vec<String>) {
    let mut seen = HashSet::new();
    let mut controllers = Vec::new();
    let mut unmanaged = Vec::new();
    for pod in pods {
        let name = pod.metadata.name.clone().unwrap_or_default();
        match rs_logic::controller_ref(&pod.metadata) {
            None => unmanaged.push(name),
            Some(r) => {
                if seen.insert(r.uid.clone()) {
                    controllers.push((name, r.clone()));
                }
            }
        }
    }
    (controllers, unmanaged)
}

/// Upstream `getExpectedScale` step 2: the scales found for the controllers
/// (the uid of the object that answered, e.g. the Deployment of a
/// ReplicaSet, and its replicas), added up once per uid.
pub fn sum_scales<'a>(found: impl IntoIterator<Item = &'a (String, i32)>) -> i32 {
    let mut by_uid: BTreeMap<&str, i32> = BTreeMap::new();
    for (uid, replicas) in found {
        by_uid.insert(uid, *replicas);
    }
    by_uid.values().fold(0i32, |a, b| a.saturating_add(*b))
}

/// A label selector as Go's `%v` prints a `*metav1.LabelSelector` (its
/// generated `String()`), for upstream's `UnmanagedPods` event.
pub fn go_selector_string(s: &LabelSelector) -> String {
    let mut labels = String::new();
    for (k, v) in s.match_labels.iter().flatten() {
        labels.push_str(&format!("{k}: {v},"));
    }
    let mut exprs = String::new();
    for e in s.match_expressions.iter().flatten() {
        let values = e.values.as_deref().unwrap_or_default().join(" ");
        exprs.push_str(&format!(
            "LabelSelectorRequirement{{Key:{},Operator:{},Values:[{values}],}},",
            e.key, e.operator
        ));
    }
    format!(
        "&LabelSelector{{MatchLabels:map[string]string{{{labels}}},MatchExpressions:[]LabelSelectorRequirement{{{exprs}}},}}"
    )
}

/// The error of a pod whose controller no finder knows.
pub fn no_controller_error(pod: &str) -> String {
    format!("found no controllers for pod \"{pod}\"")
}

/// Upstream `intstr.GetScaledValueFromIntOrPercent(v, total, roundUp)`.
pub fn scaled_value(v: &IntOrString, total: i32, round_up: bool) -> Result<i32, String> {
    match v {
        IntOrString::Int(i) => Ok(*i),
        IntOrString::String(s) => {
            let Some(digits) = s.strip_suffix('%') else {
                return Err(format!("invalid type: string is not a percentage: \"{s}\""));
            };
            let pct: i64 = digits.parse().map_err(|_| {
                format!("invalid value \"{s}\": strconv.Atoi: parsing \"{digits}\": invalid syntax")
            })?;
            let product = pct * i64::from(total);
            let value = if round_up {
                (product + 99).div_euclid(100)
            } else {
                product.div_euclid(100)
            };
            Ok(i32::try_from(value).unwrap_or(i32::MAX))
        }
    }
}

/// Upstream `getExpectedPodCount`: (`expectedPods`, `desiredHealthy`) from
/// the spec, the number of selected pods and, when [`needs_scale`], the
/// summed scale of their controllers.
pub fn expected_and_desired(
    pdb: &PodDisruptionBudget,
    pod_count: usize,
    scale: Option<i32>,
) -> Result<(i32, i32), String> {
    let Some(spec) = &pdb.spec else {
        return Ok((0, 0));
    };
    if let Some(max) = &spec.max_unavailable {
        let expected = scale.unwrap_or(0);
        let max = scaled_value(max, expected, true)?;
        return Ok((expected, expected.saturating_sub(max).max(0)));
    }
    match &spec.min_available {
        Some(IntOrString::Int(i)) => Ok((i32::try_from(pod_count).unwrap_or(i32::MAX), *i)),
        Some(v @ IntOrString::String(_)) => {
            let expected = scale.unwrap_or(0);
            Ok((expected, scaled_value(v, expected, true)?))
        }
        None => Ok((0, 0)),
    }
}

/// The time a `metav1.Time` stands for.
fn time_of(t: &Time) -> Option<DateTime<Utc>> {
    let ts = t.0;
    DateTime::from_timestamp(ts.as_second(), u32::try_from(ts.subsec_nanosecond()).ok()?)
}

/// `now` as a `metav1.Time` (whole seconds, as Go marshals it).
pub fn to_time(now: DateTime<Utc>) -> Time {
    Time(k8s_openapi::jiff::Timestamp::from_second(now.timestamp()).unwrap_or_default())
}

/// Upstream `buildDisruptedPodMap`: the entries of `disruptedPods` that
/// still matter (the pod exists, is not yet being deleted, and was disrupted
/// less than [`DELETION_TIMEOUT`] ago); the earliest time one of them
/// expires (to sync again then); and the pods whose entry expired without
/// the pod being deleted (a `NotDeleted` event each).
pub fn build_disrupted_pod_map(
    pods: &[&Pod],
    pdb: &PodDisruptionBudget,
    now: DateTime<Utc>,
) -> (BTreeMap<String, Time>, Option<DateTime<Utc>>, Vec<String>) {
    let mut result = BTreeMap::new();
    let mut recheck: Option<DateTime<Utc>> = None;
    let mut expired = Vec::new();
    let Some(disrupted) = pdb.status.as_ref().and_then(|s| s.disrupted_pods.as_ref()) else {
        return (result, recheck, expired);
    };
    for pod in pods {
        if pod.metadata.deletion_timestamp.is_some() {
            continue;
        }
        let name = pod.metadata.name.clone().unwrap_or_default();
        let Some(t) = disrupted.get(&name) else {
            continue;
        };
        let Some(at) = time_of(t) else { continue };
        let expected_deletion = at + DELETION_TIMEOUT;
        if expected_deletion < now {
            expired.push(name);
        } else {
            if recheck.is_none_or(|r| expected_deletion < r) {
                recheck = Some(expected_deletion);
            }
            result.insert(name, t.clone());
        }
    }
    (result, recheck, expired)
}

/// Upstream `countHealthyPods`: Ready pods that are neither being deleted
/// nor recently approved for eviction.
pub fn count_healthy(pods: &[&Pod], disrupted: &BTreeMap<String, Time>, now: DateTime<Utc>) -> i32 {
    let mut n = 0i32;
    for pod in pods {
        if pod.metadata.deletion_timestamp.is_some() {
            continue;
        }
        let name = pod.metadata.name.as_deref().unwrap_or_default();
        if let Some(at) = disrupted.get(name).and_then(time_of)
            && at + DELETION_TIMEOUT > now
        {
            continue;
        }
        if rs_logic::is_pod_ready(pod) {
            n += 1;
        }
    }
    n
}

/// Upstream `apimeta.SetStatusCondition`: replaces the condition of the same
/// type, keeping its `lastTransitionTime` unless its status changes.
pub fn set_condition(conditions: &mut Vec<Condition>, mut new: Condition, now: DateTime<Utc>) {
    match conditions.iter_mut().find(|c| c.type_ == new.type_) {
        None => {
            new.last_transition_time = to_time(now);
            conditions.push(new);
        }
        Some(c) => {
            if c.status != new.status {
                c.status = new.status;
                c.last_transition_time = to_time(now);
            }
            c.reason = new.reason;
            c.message = new.message;
            c.observed_generation = new.observed_generation;
        }
    }
}

/// Upstream `UpdateDisruptionAllowedCondition`: `DisruptionAllowed` is
/// `True`/`SufficientPods` when disruptions are allowed, else
/// `False`/`InsufficientPods`; its observedGeneration the status's.
pub fn update_disruption_allowed_condition(
    status: &mut PodDisruptionBudgetStatus,
    now: DateTime<Utc>,
) {
    let (value, reason) = if status.disruptions_allowed > 0 {
        ("True", SUFFICIENT_PODS)
    } else {
        ("False", INSUFFICIENT_PODS)
    };
    let cond = Condition {
        type_: DISRUPTION_ALLOWED.into(),
        status: value.into(),
        reason: reason.into(),
        message: String::new(),
        observed_generation: status.observed_generation,
        last_transition_time: to_time(now),
    };
    set_condition(status.conditions.get_or_insert_with(Vec::new), cond, now);
}

/// Upstream `ConditionsAreUpToDate`.
fn conditions_up_to_date(pdb: &PodDisruptionBudget) -> bool {
    let Some(status) = &pdb.status else {
        return false;
    };
    let Some(cond) = status
        .conditions
        .as_deref()
        .unwrap_or_default()
        .iter()
        .find(|c| c.type_ == DISRUPTION_ALLOWED)
    else {
        return false;
    };
    if status.observed_generation != pdb.metadata.generation {
        return false;
    }
    if status.disruptions_allowed > 0 {
        cond.status == "True" && cond.reason == SUFFICIENT_PODS
    } else {
        cond.status == "False" && cond.reason == INSUFFICIENT_PODS
    }
}

/// What one sync observed.
#[derive(Debug, Clone, PartialEq)]
pub struct Observed {
    pub current_healthy: i32,
    pub desired_healthy: i32,
    pub expected_pods: i32,
    pub disrupted_pods: BTreeMap<String, Time>,
}

/// Upstream `updatePdbStatus`: the status to write, or `None` when the
/// stored one already says all of it.
pub fn new_status(
    pdb: &PodDisruptionBudget,
    o: Observed,
    now: DateTime<Utc>,
) -> Option<PodDisruptionBudgetStatus> {
    let mut allowed = o.current_healthy.saturating_sub(o.desired_healthy);
    if o.expected_pods <= 0 || allowed <= 0 {
        allowed = 0;
    }
    let old = pdb.status.clone().unwrap_or_default();
    let old_disrupted = old.disrupted_pods.clone().unwrap_or_default();
    if old.current_healthy == o.current_healthy
        && old.desired_healthy == o.desired_healthy
        && old.expected_pods == o.expected_pods
        && old.disruptions_allowed == allowed
        && old_disrupted == o.disrupted_pods
        && old.observed_generation == pdb.metadata.generation
        && conditions_up_to_date(pdb)
    {
        return None;
    }
    let mut status = PodDisruptionBudgetStatus {
        current_healthy: o.current_healthy,
        desired_healthy: o.desired_healthy,
        expected_pods: o.expected_pods,
        disruptions_allowed: allowed,
        disrupted_pods: (!o.disrupted_pods.is_empty()).then_some(o.disrupted_pods),
        observed_generation: pdb.metadata.generation,
        conditions: old.conditions,
    };
    update_disruption_allowed_condition(&mut status, now);
    Some(status)
}

/// Upstream `failSafe`: after a failed sync, no disruption is allowed and
/// `DisruptionAllowed` is `False`/`SyncFailed` with the error; the rest of
/// the status is kept.
pub fn fail_safe_status(
    pdb: &PodDisruptionBudget,
    error: &str,
    now: DateTime<Utc>,
) -> PodDisruptionBudgetStatus {
    let mut status = pdb.status.clone().unwrap_or_default();
    status.disruptions_allowed = 0;
    let cond = Condition {
        type_: DISRUPTION_ALLOWED.into(),
        status: "False".into(),
        reason: SYNC_FAILED.into(),
        message: error.to_string(),
        observed_generation: status.observed_generation,
        last_transition_time: to_time(now),
    };
    set_condition(status.conditions.get_or_insert_with(Vec::new), cond, now);
    status
}

/// Upstream `nonTerminatingPodHasStaleDisruptionCondition`: whether the pod
/// (not being deleted, not terminal) carries a `DisruptionTarget=True`
/// condition that was not set by the kubelet, and how long until it is
/// stale (zero: now).
pub fn stale_disruption_condition(pod: &Pod, now: DateTime<Utc>) -> Option<chrono::Duration> {
    if pod.metadata.deletion_timestamp.is_some() {
        return None;
    }
    let status = pod.status.as_ref()?;
    if matches!(status.phase.as_deref(), Some("Succeeded" | "Failed")) {
        return None;
    }
    let cond = status
        .conditions
        .as_deref()?
        .iter()
        .find(|c| c.type_ == "DisruptionTarget")?;
    if cond.status != "True" || cond.reason() == Some("TerminationByKubelet") {
        return None;
    }
    let since = cond
        .last_transition_time
        .as_ref()
        .and_then(time_of)
        .map_or(chrono::Duration::MAX, |t| now - t);
    Some((STALE_POD_DISRUPTION_TIMEOUT - since).max(chrono::Duration::zero()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::policy::v1::PodDisruptionBudgetSpec;
    use serde_json::json;

    fn pdb(spec: serde_json::Value) -> PodDisruptionBudget {
        let mut v = json!({
            "apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
            "metadata": {"name": "pdb", "namespace": "default", "generation": 1},
            "spec": {"selector": {"matchLabels": {"app": "x"}}},
        });
        if let (Some(s), Some(extra)) = (v["spec"].as_object_mut(), spec.as_object()) {
            for (k, val) in extra {
                s.insert(k.clone(), val.clone());
            }
        }
        serde_json::from_value(v).unwrap()
    }

    fn pod(name: &str, ready: bool, owner: Option<&str>) -> Pod {
        let mut v = json!({
            "metadata": {"name": name, "namespace": "default", "labels": {"app": "x"}},
            "status": {"phase": "Running", "conditions": [
                {"type": "Ready", "status": if ready { "True" } else { "False" }}]},
        });
        if let Some(uid) = owner {
            v["metadata"]["ownerReferences"] = json!([{"apiVersion": "apps/v1",
                "kind": "ReplicaSet", "name": uid, "uid": uid, "controller": true}]);
        }
        serde_json::from_value(v).unwrap()
    }

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000, 0).unwrap()
    }

    /// A sync's (disruptionsAllowed, currentHealthy, desiredHealthy,
    /// expectedPods), as upstream's `VerifyPdbStatus`.
    fn sync(pdb: &PodDisruptionBudget, pods: &[&Pod], scale: Option<i32>) -> (i32, i32, i32, i32) {
        let selected: Vec<&Pod> = pods.iter().copied().filter(|p| selects(pdb, p)).collect();
        let (expected, desired) = expected_and_desired(pdb, selected.len(), scale).unwrap();
        let (disrupted, _, _) = build_disrupted_pod_map(&selected, pdb, now());
        let current = count_healthy(&selected, &disrupted, now());
        let s = new_status(
            pdb,
            Observed {
                current_healthy: current,
                desired_healthy: desired,
                expected_pods: expected,
                disrupted_pods: disrupted,
            },
            now(),
        )
        .unwrap();
        (
            s.disruptions_allowed,
            s.current_healthy,
            s.desired_healthy,
            s.expected_pods,
        )
    }

    #[test]
    fn no_selector_selects_every_pod_and_a_missing_one_none() {
        // TestNoSelector: an empty selector matches every pod (policy/v1).
        let mut p = pdb(json!({"minAvailable": 3}));
        p.spec.as_mut().unwrap().selector = Some(LabelSelector::default());
        let unready = pod("a", false, None);
        assert_eq!(sync(&p, &[&unready], None), (0, 0, 3, 1));
        let ready = pod("a", true, None);
        assert_eq!(sync(&p, &[&ready], None), (0, 1, 3, 1));
        p.spec = Some(PodDisruptionBudgetSpec::default());
        assert!(!selects(&p, &ready));
    }

    #[test]
    fn unavailable() {
        // TestUnavailable: minAvailable 3 with 4 ready pods allows one
        // disruption; one pod going unready allows none.
        let p = pdb(json!({"minAvailable": 3}));
        let pods: Vec<Pod> = (0..4).map(|i| pod(&format!("p{i}"), true, None)).collect();
        let refs: Vec<&Pod> = pods.iter().collect();
        assert_eq!(sync(&p, &refs, None), (1, 4, 3, 4));
        let mut pods = pods;
        pods[0] = pod("p0", false, None);
        let refs: Vec<&Pod> = pods.iter().collect();
        assert_eq!(sync(&p, &refs, None), (0, 3, 3, 4));
    }

    #[test]
    fn integer_max_unavailable_with_scaling() {
        // TestIntegerMaxUnavailableWithScaling: maxUnavailable 2 of a
        // ReplicaSet of 7, then of 5.
        let p = pdb(json!({"maxUnavailable": 2}));
        let a = pod("a", true, Some("rs"));
        assert_eq!(sync(&p, &[&a], Some(7)), (0, 1, 5, 7));
        assert_eq!(sync(&p, &[&a], Some(5)), (0, 1, 3, 5));
    }

    #[test]
    fn percentage_max_unavailable_with_scaling() {
        // TestPercentageMaxUnavailableWithScaling: 30% of 7 rounds up to 3
        // unavailable (4 desired); of 3, to 1 (2 desired).
        let p = pdb(json!({"maxUnavailable": "30%"}));
        let a = pod("a", true, Some("rs"));
        assert_eq!(sync(&p, &[&a], Some(7)), (0, 1, 4, 7));
        assert_eq!(sync(&p, &[&a], Some(3)), (0, 1, 2, 3));
    }

    #[test]
    fn percentages_of_a_replication_controller_of_three() {
        // TestReplicationController / TestStatefulSetController: 34% of 3
        // is 2 (1.02 rounded up); the third ready pod allows a disruption.
        let p = pdb(json!({"minAvailable": "34%"}));
        let pods: Vec<Pod> = (0..3)
            .map(|i| pod(&format!("p{i}"), true, Some("rc")))
            .collect();
        assert_eq!(sync(&p, &[&pods[0]], Some(3)), (0, 1, 2, 3));
        assert_eq!(sync(&p, &[&pods[0], &pods[1]], Some(3)), (0, 2, 2, 3));
        assert_eq!(
            sync(&p, &[&pods[0], &pods[1], &pods[2]], Some(3)),
            (1, 3, 2, 3)
        );
    }

    #[test]
    fn replica_set_percentage() {
        // TestReplicaSet: 20% of a ReplicaSet of 10 is 2.
        let p = pdb(json!({"minAvailable": "20%"}));
        let a = pod("a", true, Some("rs"));
        assert_eq!(sync(&p, &[&a], Some(10)), (0, 1, 2, 10));
    }

    #[test]
    fn two_controllers() {
        // TestTwoControllers: 28% of an RC of 11 plus a Deployment of 11:
        // expected 22, desired ceil(6.16) = 7; their uids are added once.
        let p = pdb(json!({"minAvailable": "28%"}));
        let pods: Vec<Pod> = (0..8)
            .map(|i| {
                pod(
                    &format!("p{i}"),
                    true,
                    Some(if i < 4 { "rc" } else { "rs" }),
                )
            })
            .collect();
        let refs: Vec<&Pod> = pods.iter().collect();
        let (controllers, unmanaged) = pod_controllers(&refs);
        assert_eq!(controllers.len(), 2);
        assert!(unmanaged.is_empty());
        let scale = sum_scales(&[
            ("rc".to_string(), 11),
            ("dep".to_string(), 11),
            ("dep".to_string(), 11),
        ]);
        assert_eq!(scale, 22);
        assert_eq!(sync(&p, &refs, Some(scale)), (1, 8, 7, 22));
    }

    #[test]
    fn naked_pod_with_a_percentage_expects_nothing() {
        // TestNakedPod: an unmanaged pod and a percentage: expected 0, so
        // no disruption is allowed.
        let p = pdb(json!({"minAvailable": "28%"}));
        let a = pod("a", true, None);
        let (controllers, unmanaged) = pod_controllers(&[&a]);
        assert!(controllers.is_empty());
        assert_eq!(unmanaged, ["a"]);
        assert_eq!(sync(&p, &[&a], Some(0)), (0, 1, 0, 0));
    }

    #[test]
    fn scaled_values_as_intstr() {
        assert_eq!(
            scaled_value(&IntOrString::String("50%".into()), 5, true),
            Ok(3)
        );
        assert_eq!(
            scaled_value(&IntOrString::String("50%".into()), 5, false),
            Ok(2)
        );
        assert_eq!(scaled_value(&IntOrString::Int(4), 1, true), Ok(4));
        assert!(scaled_value(&IntOrString::String("5".into()), 5, true).is_err());
    }

    #[test]
    fn disrupted_pods_are_not_healthy_until_they_expire() {
        // TestUpdateDisruptedPods: a pod approved for eviction is not
        // counted for 2 minutes; an expired entry is dropped.
        let mut p = pdb(json!({"minAvailable": 1}));
        let recent = to_time(now() - chrono::Duration::seconds(30));
        let old = to_time(now() - chrono::Duration::minutes(3));
        p.status = Some(PodDisruptionBudgetStatus {
            disrupted_pods: Some(BTreeMap::from([
                ("p0".to_string(), recent),
                ("p1".to_string(), old),
                ("gone".to_string(), to_time(now())),
            ])),
            ..Default::default()
        });
        let pods: Vec<Pod> = (0..3).map(|i| pod(&format!("p{i}"), true, None)).collect();
        let refs: Vec<&Pod> = pods.iter().collect();
        let (map, recheck, expired) = build_disrupted_pod_map(&refs, &p, now());
        assert_eq!(map.keys().collect::<Vec<_>>(), ["p0"]);
        assert_eq!(recheck, Some(now() + chrono::Duration::seconds(90)));
        assert_eq!(expired, ["p1"]);
        assert_eq!(count_healthy(&refs, &map, now()), 2);
        assert_eq!(sync(&p, &refs, None), (1, 2, 1, 3));
    }

    #[test]
    fn being_deleted_is_not_healthy() {
        let p = pdb(json!({"minAvailable": 1}));
        let mut a = pod("a", true, None);
        a.metadata.deletion_timestamp = Some(to_time(now()));
        let b = pod("b", true, None);
        assert_eq!(sync(&p, &[&a, &b], None), (0, 1, 1, 2));
    }

    #[test]
    fn status_and_condition() {
        let p = pdb(json!({"minAvailable": 1}));
        let a = pod("a", true, None);
        let b = pod("b", true, None);
        let o = Observed {
            current_healthy: 2,
            desired_healthy: 1,
            expected_pods: 2,
            disrupted_pods: BTreeMap::new(),
        };
        let s = new_status(&p, o.clone(), now()).unwrap();
        assert_eq!(s.observed_generation, Some(1));
        assert_eq!(s.disrupted_pods, None);
        let c = &s.conditions.as_ref().unwrap()[0];
        assert_eq!(
            (c.type_.as_str(), c.status.as_str(), c.reason.as_str()),
            ("DisruptionAllowed", "True", "SufficientPods")
        );
        assert_eq!(c.observed_generation, Some(1));
        // Written: nothing more to write.
        let mut written = p.clone();
        written.status = Some(s.clone());
        assert_eq!(new_status(&written, o, now()), None);
        // A later generation must be observed again.
        written.metadata.generation = Some(2);
        let later = now() + chrono::Duration::seconds(10);
        let o = Observed {
            current_healthy: 1,
            desired_healthy: 1,
            expected_pods: 2,
            disrupted_pods: BTreeMap::new(),
        };
        let s2 = new_status(&written, o, later).unwrap();
        let c = &s2.conditions.as_ref().unwrap()[0];
        assert_eq!(
            (c.status.as_str(), c.reason.as_str()),
            ("False", "InsufficientPods")
        );
        assert_eq!(c.last_transition_time, to_time(later));
        let _ = (a, b);
    }

    #[test]
    fn fail_safe_forbids_disruptions() {
        let mut p = pdb(json!({"minAvailable": "50%"}));
        p.status = Some(PodDisruptionBudgetStatus {
            disruptions_allowed: 2,
            current_healthy: 4,
            observed_generation: Some(1),
            ..Default::default()
        });
        let s = fail_safe_status(&p, "found no controllers for pod \"a\"", now());
        assert_eq!(s.disruptions_allowed, 0);
        assert_eq!(s.current_healthy, 4);
        let c = &s.conditions.as_ref().unwrap()[0];
        assert_eq!(
            (c.status.as_str(), c.reason.as_str()),
            ("False", "SyncFailed")
        );
        assert_eq!(c.message, "found no controllers for pod \"a\"");
    }

    #[test]
    fn stale_disruption_target() {
        let mut v = json!({"metadata": {"name": "a", "namespace": "default"},
            "status": {"phase": "Running", "conditions": [{"type": "DisruptionTarget", "status": "True",
            "reason": "EvictionByEvictionAPI", "lastTransitionTime": "2023-11-14T22:12:20Z"}]}});
        let a: Pod = serde_json::from_value(v.clone()).unwrap();
        // 2023-11-14T22:12:20Z is 1,699,999,940: 60 s before `now`.
        assert_eq!(
            stale_disruption_condition(&a, now()),
            Some(chrono::Duration::seconds(60))
        );
        v["status"]["conditions"][0]["reason"] = json!("TerminationByKubelet");
        let b: Pod = serde_json::from_value(v).unwrap();
        assert_eq!(stale_disruption_condition(&b, now()), None);
    }
}
