//! Pure decision logic of the ReplicaSet controller (no I/O, no async, no clock).
//!
//! Reproduces the decisions of upstream Kubernetes 1.33:
//! - `pkg/controller/replicaset/replica_set.go` (manageReplicas, getPodsToDelete,
//!   getPodsRankedByRelatedPodsOnSameNode, getIndirectlyRelatedPods, slowStartBatch,
//!   the min-ready-seconds requeue in syncReplicaSet),
//! - `pkg/controller/replicaset/replica_set_utils.go` (calculateStatus, condition helpers,
//!   the no-op check of updateReplicaSetStatus),
//! - `pkg/controller/controller_utils.go` (IsPodActive, ActivePodsWithRanks.Less,
//!   GetPodFromTemplate, pod control event strings),
//! - `pkg/controller/controller_ref_manager.go` (ClaimObject decisions, adopt/release patches),
//! - `pkg/api/v1/pod/util.go` (IsPodReady, IsPodAvailable).
//!
//! Time is always a parameter (`now`). Feature gates are fixed at their 1.33 defaults:
//! `LogarithmicScaleDown` and `PodDeletionCost` on, `DeploymentReplicaSetTerminatingReplicas` off
//! (alpha, default false in 1.33), so `status.terminatingReplicas` is never set.

use std::borrow::Borrow;
use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};
use k8s_openapi::api::apps::v1::{ReplicaSet, ReplicaSetCondition, ReplicaSetStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{
    LabelSelector, ObjectMeta, OwnerReference, Time,
};
use serde_json::{Value, json};

use crate::controllers::shared::cached_pod::Pod;

/// Upstream `BurstReplicas`: the most pods one sync creates or deletes.
pub const BURST_REPLICAS: usize = 500;
/// Upstream `controller.SlowStartInitialBatchSize`.
pub const SLOW_START_INITIAL_BATCH_SIZE: usize = 1;

/// Condition type `ReplicaFailure` (`apps.ReplicaSetReplicaFailure`).
pub const REPLICA_FAILURE_CONDITION: &str = "ReplicaFailure";
/// Event / condition reason when a pod could not be created.
pub const FAILED_CREATE_POD_REASON: &str = "FailedCreate";
/// Event reason when a pod was created.
pub const SUCCESSFUL_CREATE_POD_REASON: &str = "SuccessfulCreate";
/// Event / condition reason when a pod could not be deleted.
pub const FAILED_DELETE_POD_REASON: &str = "FailedDelete";
/// Event reason when a pod was deleted.
pub const SUCCESSFUL_DELETE_POD_REASON: &str = "SuccessfulDelete";
/// Error returned by upstream `createPods` when the pod would have no labels.
pub const NO_LABELS_ERROR: &str = "unable to create pods, no labels";
/// Annotation holding the pod deletion cost (`core.PodDeletionCost`).
pub const POD_DELETION_COST_ANNOTATION: &str = "controller.kubernetes.io/pod-deletion-cost";

/// Message of the Normal `SuccessfulCreate` event.
pub fn created_pod_event_message(pod_name: &str) -> String {
    format!("Created pod: {pod_name}")
}

/// Message of the Warning `FailedCreate` event (not sent when the namespace is terminating).
pub fn error_creating_event_message(err: &str) -> String {
    format!("Error creating: {err}")
}

/// Message of the Normal `SuccessfulDelete` event.
pub fn deleted_pod_event_message(pod_name: &str) -> String {
    format!("Deleted pod: {pod_name}")
}

/// Message of the Warning `FailedDelete` event (not sent for NotFound).
pub fn error_deleting_event_message(err: &str) -> String {
    format!("Error deleting: {err}")
}

/// Error text upstream `DeletePod` returns (and which ends up in the ReplicaFailure condition).
pub fn unable_to_delete_error(err: &str) -> String {
    format!("unable to delete pods: {err}")
}

// ---------------------------------------------------------------------------------------------
// Time helpers
// ---------------------------------------------------------------------------------------------

/// Go's zero `time.Time` (0001-01-01T00:00:00Z) in Unix nanoseconds; `IsZero()` is true for it.
const GO_ZERO_TIME_NANOS: i128 = -62_135_596_800 * 1_000_000_000;

/// Unix nanoseconds of a `metav1.Time`, `None` when it is Go's zero time (absent or year 1).
fn time_nanos(t: Option<&Time>) -> Option<i128> {
    let n = t?.0.as_nanosecond();
    if n == GO_ZERO_TIME_NANOS {
        None
    } else {
        Some(n)
    }
}

fn chrono_nanos(now: DateTime<Utc>) -> i128 {
    i128::from(now.timestamp()) * 1_000_000_000 + i128::from(now.timestamp_subsec_nanos())
}

/// `now` as a `metav1.Time`, truncated to whole seconds as Go's RFC 3339 marshalling does.
fn time_from_chrono(now: DateTime<Utc>) -> Option<Time> {
    k8s_openapi::jiff::Timestamp::from_second(now.timestamp())
        .ok()
        .map(Time)
}

/// Go's `math.Log2`, computed the way Go does (frexp, then `Log(frac)/Ln2 + exp`), so that the
/// bucket boundaries of the logarithmic comparison round like upstream's. `x` must be > 0.
fn go_log2(x: f64) -> f64 {
    let bits = x.to_bits();
    let raw_exp = ((bits >> 52) & 0x7ff) as i64;
    if raw_exp == 0 || raw_exp == 0x7ff {
        // Subnormal/inf/nan cannot occur for durations >= 1ns; fall back to the libm result.
        return x.log2();
    }
    let exp = raw_exp - 1022;
    let frac = f64::from_bits((bits & !(0x7ff_u64 << 52)) | (1022_u64 << 52));
    if frac == 0.5 {
        return (exp - 1) as f64;
    }
    frac.ln() * (1.0 / std::f64::consts::LN_2) + exp as f64
}

/// Upstream `logarithmicRankDiff`: floor(log2(now - t)) compared between two timestamps
/// (durations are Go `time.Duration` nanoseconds, saturated to int64; non-positive ranks -1).
fn logarithmic_rank_diff(t1: i128, t2: i128, now: i128) -> i64 {
    let rank = |t: i128| -> i64 {
        let d = (now - t).clamp(i128::from(i64::MIN), i128::from(i64::MAX));
        if d > 0 { go_log2(d as f64) as i64 } else { -1 }
    };
    rank(t1) - rank(t2)
}

/// Upstream `afterOrZero`: is `t1` after `t2`, a zero time counting as after any non-zero time.
fn after_or_zero(t1: Option<i128>, t2: Option<i128>) -> bool {
    match (t1, t2) {
        (Some(a), Some(b)) => a > b,
        (a, _) => a.is_none(),
    }
}

// ---------------------------------------------------------------------------------------------
// Pod predicates
// ---------------------------------------------------------------------------------------------

fn pod_phase(pod: &Pod) -> &str {
    pod.status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or("")
}

fn pod_node_name(pod: &Pod) -> &str {
    pod.spec
        .as_ref()
        .and_then(|s| s.node_name.as_deref())
        .unwrap_or("")
}

/// Upstream `controller.IsPodActive`: not Succeeded, not Failed, no deletionTimestamp.
pub fn is_pod_active(pod: &Pod) -> bool {
    let phase = pod_phase(pod);
    phase != "Succeeded" && phase != "Failed" && pod.metadata.deletion_timestamp.is_none()
}

/// Upstream `controller.FilterActivePods`; returns indices into `pods`, in order.
pub fn filter_active_pods<P: Borrow<Pod>>(pods: &[P]) -> Vec<usize> {
    pods.iter()
        .enumerate()
        .filter(|(_, p)| is_pod_active((*p).borrow()))
        .map(|(i, _)| i)
        .collect()
}

/// The first condition of type `Ready` (upstream `GetPodReadyCondition`).
fn pod_ready_condition(pod: &Pod) -> Option<&crate::controllers::shared::cached_pod::PodCondition> {
    pod.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == "Ready")
}

/// Upstream `podutil.IsPodReady`: the (first) `Ready` condition has status `True`.
pub fn is_pod_ready(pod: &Pod) -> bool {
    pod_ready_condition(pod).is_some_and(|c| c.status == "True")
}

/// Upstream `podutil.IsPodAvailable`: ready, and either `min_ready_seconds == 0` or the Ready
/// condition's lastTransitionTime (non-zero) plus `min_ready_seconds` is strictly before `now`.
pub fn is_pod_available(pod: &Pod, min_ready_seconds: i32, now: DateTime<Utc>) -> bool {
    let Some(cond) = pod_ready_condition(pod) else {
        return false;
    };
    if cond.status != "True" {
        return false;
    }
    if min_ready_seconds == 0 {
        return true;
    }
    match time_nanos(cond.last_transition_time.as_ref()) {
        Some(ltt) => ltt + i128::from(min_ready_seconds) * 1_000_000_000 < chrono_nanos(now),
        None => false,
    }
}

/// Upstream `podReadyTime`: lastTransitionTime of the first Ready=True condition of a ready pod.
fn pod_ready_time(pod: &Pod) -> Option<i128> {
    if !is_pod_ready(pod) {
        return None;
    }
    let conds = pod.status.as_ref()?.conditions.as_ref()?;
    let c = conds
        .iter()
        .find(|c| c.type_ == "Ready" && c.status == "True")?;
    time_nanos(c.last_transition_time.as_ref())
}

/// Upstream `maxContainerRestarts` (regular container statuses only).
fn max_container_restarts(pod: &Pod) -> i32 {
    pod.status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .map(|cs| cs.iter().map(|c| c.restart_count).max().unwrap_or(0).max(0))
        .unwrap_or(0)
}

/// Upstream `getDeletionCostFromPodAnnotations`: 0 when absent or invalid ("+1", "007", "",
/// out of int32 range are invalid).
fn pod_deletion_cost(pod: &Pod) -> i32 {
    let Some(value) = pod
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(POD_DELETION_COST_ANNOTATION))
    else {
        return 0;
    };
    let first_ok = match value.as_bytes().first() {
        None => false,
        Some(b'-') => true,
        Some(b'0') => value == "0",
        Some(b) => b.is_ascii_digit(),
    };
    if !first_ok {
        return 0;
    }
    // Go's strconv.ParseInt(base 10) accepts an optional sign and digits only; the leading sign
    // has been restricted to '-' above, which Rust's parser also accepts.
    value.parse::<i32>().unwrap_or(0)
}

// ---------------------------------------------------------------------------------------------
// Scale-down victim ordering (ActivePodsWithRanks)
// ---------------------------------------------------------------------------------------------

/// Precomputed sort key of one pod for `ActivePodsWithRanks.Less`.
struct RankKey<'a> {
    node_name: &'a str,
    phase_ordinal: u8,
    ready: bool,
    deletion_cost: i32,
    rank: usize,
    ready_time: Option<i128>,
    restarts: i32,
    created: Option<i128>,
    uid: &'a str,
}

impl<'a> RankKey<'a> {
    fn new(pod: &'a Pod, rank: usize) -> Self {
        // podPhaseToOrdinal: Pending 0, Unknown 1, Running 2; anything else is the map default 0.
        let phase_ordinal = match pod_phase(pod) {
            "Unknown" => 1,
            "Running" => 2,
            _ => 0,
        };
        RankKey {
            node_name: pod_node_name(pod),
            phase_ordinal,
            ready: is_pod_ready(pod),
            deletion_cost: pod_deletion_cost(pod),
            rank,
            ready_time: pod_ready_time(pod),
            restarts: max_container_restarts(pod),
            created: time_nanos(pod.metadata.creation_timestamp.as_ref()),
            uid: pod.metadata.uid.as_deref().unwrap_or(""),
        }
    }
}

/// Upstream `ActivePodsWithRanks.Less` (controller_utils.go) with LogarithmicScaleDown and
/// PodDeletionCost enabled: true when `a` should be deleted before `b`.
fn rank_less(a: &RankKey<'_>, b: &RankKey<'_>, now: i128) -> bool {
    // 1. Unassigned < assigned.
    if a.node_name != b.node_name && (a.node_name.is_empty() || b.node_name.is_empty()) {
        return a.node_name.is_empty();
    }
    // 2. Pending < Unknown < Running.
    if a.phase_ordinal != b.phase_ordinal {
        return a.phase_ordinal < b.phase_ordinal;
    }
    // 3. Not ready < ready.
    if a.ready != b.ready {
        return !a.ready;
    }
    // 4. Lower pod-deletion-cost < higher.
    if a.deletion_cost != b.deletion_cost {
        return a.deletion_cost < b.deletion_cost;
    }
    // 5. Doubled up (higher rank) < not doubled up.
    if a.rank != b.rank {
        return a.rank > b.rank;
    }
    // 6. Ready for a shorter time < longer (logarithmic buckets; UID breaks bucket ties and,
    //    as upstream, then decides without looking at restarts or creation time).
    if a.ready && b.ready && a.ready_time != b.ready_time {
        return match (a.ready_time, b.ready_time) {
            (Some(t1), Some(t2)) => {
                let diff = logarithmic_rank_diff(t1, t2, now);
                if diff == 0 { a.uid < b.uid } else { diff < 0 }
            }
            (t1, t2) => after_or_zero(t1, t2),
        };
    }
    // 7. More restarts < fewer restarts.
    if a.restarts != b.restarts {
        return a.restarts > b.restarts;
    }
    // 8. Empty creation time < newer < older (logarithmic buckets, UID tie-break).
    if a.created != b.created {
        return match (a.created, b.created) {
            (Some(t1), Some(t2)) => {
                let diff = logarithmic_rank_diff(t1, t2, now);
                if diff == 0 { a.uid < b.uid } else { diff < 0 }
            }
            (t1, t2) => after_or_zero(t1, t2),
        };
    }
    false
}

/// Stable merge sort of `idx` by `less`. Hand-written so that a comparator that is not a strict
/// weak order (upstream's step 6 can be intransitive) can never panic.
fn merge_sort_by(idx: &mut Vec<usize>, less: &dyn Fn(usize, usize) -> bool) {
    let n = idx.len();
    let mut buf = idx.clone();
    let mut width = 1;
    while width < n {
        let mut start = 0;
        while start < n {
            let mid = (start + width).min(n);
            let end = (start + 2 * width).min(n);
            let (mut i, mut j, mut k) = (start, mid, start);
            while i < mid && j < end {
                // Take from the right run only when strictly less: keeps the sort stable.
                if less(idx[j], idx[i]) {
                    buf[k] = idx[j];
                    j += 1;
                } else {
                    buf[k] = idx[i];
                    i += 1;
                }
                k += 1;
            }
            while i < mid {
                buf[k] = idx[i];
                i += 1;
                k += 1;
            }
            while j < end {
                buf[k] = idx[j];
                j += 1;
                k += 1;
            }
            start = end;
        }
        std::mem::swap(idx, &mut buf);
        width *= 2;
    }
}

/// Upstream `getPodsRankedByRelatedPodsOnSameNode`: each pod's rank is the number of *active*
/// pods in `related_pods` on the same node name (unassigned pods share the node name "").
pub fn ranks_by_related_pods_on_same_node<P: Borrow<Pod>, Q: Borrow<Pod>>(
    pods_to_rank: &[P],
    related_pods: &[Q],
) -> Vec<usize> {
    let mut on_node: HashMap<&str, usize> = HashMap::new();
    for p in related_pods
        .iter()
        .map(|p| p.borrow())
        .filter(|p| is_pod_active(p))
    {
        *on_node.entry(pod_node_name(p)).or_insert(0) += 1;
    }
    pods_to_rank
        .iter()
        .map(|p| on_node.get(pod_node_name(p.borrow())).copied().unwrap_or(0))
        .collect()
}

/// Indices of `pods` sorted by upstream `ActivePodsWithRanks.Less` (deletion preference first).
/// `ranks[i]` belongs to `pods[i]`; a missing rank counts as 0.
pub fn sort_active_pods_with_ranks<P: Borrow<Pod>>(
    pods: &[P],
    ranks: &[usize],
    now: DateTime<Utc>,
) -> Vec<usize> {
    let keys: Vec<RankKey<'_>> = pods
        .iter()
        .enumerate()
        .map(|(i, p)| RankKey::new(p.borrow(), ranks.get(i).copied().unwrap_or(0)))
        .collect();
    let now_ns = chrono_nanos(now);
    let mut idx: Vec<usize> = (0..pods.len()).collect();
    merge_sort_by(&mut idx, &|a, b| match (keys.get(a), keys.get(b)) {
        (Some(ka), Some(kb)) => rank_less(ka, kb, now_ns),
        _ => false,
    });
    idx
}

/// Upstream `getPodsToDelete`: which `diff` pods of `filtered_pods` to delete, as indices into
/// `filtered_pods`. When all of them go (`diff >= len`) no sorting happens and the original order
/// is kept; otherwise pods are ranked by related active pods on the same node and sorted with
/// `ActivePodsWithRanks.Less` (evaluated at `now`, upstream's `metav1.Now()`).
pub fn pods_to_delete<P: Borrow<Pod>, Q: Borrow<Pod>>(
    filtered_pods: &[P],
    related_pods: &[Q],
    diff: usize,
    now: DateTime<Utc>,
) -> Vec<usize> {
    if diff >= filtered_pods.len() {
        return (0..filtered_pods.len()).collect();
    }
    let ranks = ranks_by_related_pods_on_same_node(filtered_pods, related_pods);
    let mut order = sort_active_pods_with_ranks(filtered_pods, &ranks, now);
    order.truncate(diff);
    order
}

/// Upstream `getIndirectlyRelatedPods`: the pods (indices into `pods`, which should be all pods
/// of the ReplicaSet's namespace) selected by any ReplicaSet in `all_replica_sets` that has the
/// same controller (owner UID) as `rs`, each pod counted once. Empty when `rs` has no controller.
/// A ReplicaSet with an invalid selector selects nothing.
pub fn indirectly_related_pods<R: Borrow<ReplicaSet>, P: Borrow<Pod>>(
    rs: &ReplicaSet,
    all_replica_sets: &[R],
    pods: &[P],
) -> Vec<usize> {
    let Some(owner) = controller_ref(&rs.metadata) else {
        return Vec::new();
    };
    let mut seen: HashSet<usize> = HashSet::new();
    let mut out = Vec::new();
    for other in all_replica_sets.iter().map(|r| r.borrow()) {
        if controller_ref(&other.metadata).map(|r| r.uid.as_str()) != Some(owner.uid.as_str()) {
            continue;
        }
        if other.metadata.namespace != rs.metadata.namespace {
            continue;
        }
        for (i, pod) in pods.iter().map(|p| p.borrow()).enumerate() {
            if pod.metadata.namespace == other.metadata.namespace
                && rs_selects(other, pod)
                && seen.insert(i)
            {
                out.push(i);
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Create / delete counts
// ---------------------------------------------------------------------------------------------

/// Batch sizes upstream `slowStartBatch(count, initial, fn)` runs when every call succeeds:
/// `initial, 2*initial, 4*initial, ...`, each capped by what remains.
pub fn slow_start_batches(count: usize, initial: usize) -> Vec<usize> {
    let mut out = Vec::new();
    let mut remaining = count;
    let mut batch = remaining.min(initial);
    while batch > 0 {
        out.push(batch);
        remaining -= batch;
        batch = batch.saturating_mul(2).min(remaining);
    }
    out
}

/// Upstream `manageReplicas` counts: `(creates, deletes)` for `active` claimed active pods and
/// `desired` = `spec.replicas`, each capped at [`BURST_REPLICAS`]. A negative `desired` (which
/// validation rejects) is treated as 0.
pub fn manage_diff(active: usize, desired: i32) -> (usize, usize) {
    let desired = usize::try_from(desired).unwrap_or(0);
    if active < desired {
        ((desired - active).min(BURST_REPLICAS), 0)
    } else {
        (0, (active - desired).min(BURST_REPLICAS))
    }
}

/// Desired replicas of a ReplicaSet (`spec.replicas`, defaulted to 1 as the API server does).
pub fn desired_replicas(rs: &ReplicaSet) -> i32 {
    rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1)
}

fn min_ready_seconds(rs: &ReplicaSet) -> i32 {
    rs.spec
        .as_ref()
        .and_then(|s| s.min_ready_seconds)
        .unwrap_or(0)
}

// ---------------------------------------------------------------------------------------------
// Pod creation
// ---------------------------------------------------------------------------------------------

/// The controller reference the ReplicaSet controller puts on pods it creates or adopts
/// (`metav1.NewControllerRef(rs, apps/v1 ReplicaSet)`).
pub fn rs_controller_ref(rs: &ReplicaSet) -> OwnerReference {
    OwnerReference {
        api_version: "apps/v1".to_string(),
        kind: "ReplicaSet".to_string(),
        name: rs.metadata.name.clone().unwrap_or_default(),
        uid: rs.metadata.uid.clone().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

/// Upstream `GetPodFromTemplate` for a ReplicaSet: `generateName` `<rs-name>-` (the API server
/// appends 5 random characters), the RS namespace, labels / annotations / finalizers copied from
/// the template (omitted when empty), one controller ownerReference, spec from the template.
///
/// Upstream never sets `metadata.name`. `name_suffix` is an ironkube extension: when non-empty,
/// `metadata.name` is set to `<rs-name>-<name_suffix>` as well (for callers that pick the random
/// suffix themselves); pass `""` for upstream behaviour. Callers should refuse to create the pod
/// with [`NO_LABELS_ERROR`] when `metadata.labels` is `None`, as upstream `createPods` does.
pub fn pod_from_template(rs: &ReplicaSet, name_suffix: &str) -> k8s_openapi::api::core::v1::Pod {
    let template = rs.spec.as_ref().and_then(|s| s.template.as_ref());
    let tmeta = template.and_then(|t| t.metadata.as_ref());
    let non_empty_map = |m: Option<&BTreeMap<String, String>>| m.filter(|m| !m.is_empty()).cloned();
    let rs_name = rs.metadata.name.clone().unwrap_or_default();
    // getPodsPrefix: "<name>-" unless that fails pod-name prefix validation, which for a valid
    // ReplicaSet name (a DNS subdomain) it never does.
    let prefix = format!("{rs_name}-");
    let name = if name_suffix.is_empty() {
        None
    } else {
        Some(format!("{prefix}{name_suffix}"))
    };
    k8s_openapi::api::core::v1::Pod {
        metadata: ObjectMeta {
            name,
            generate_name: Some(prefix),
            namespace: rs.metadata.namespace.clone(),
            labels: non_empty_map(tmeta.and_then(|m| m.labels.as_ref())),
            annotations: non_empty_map(tmeta.and_then(|m| m.annotations.as_ref())),
            finalizers: tmeta
                .and_then(|m| m.finalizers.as_ref())
                .filter(|f| !f.is_empty())
                .cloned(),
            owner_references: Some(vec![rs_controller_ref(rs)]),
            ..ObjectMeta::default()
        },
        spec: template.and_then(|t| t.spec.clone()),
        status: None,
    }
}

// ---------------------------------------------------------------------------------------------
// Label selectors
// ---------------------------------------------------------------------------------------------

/// `metav1.LabelSelectorAsSelector(sel).Matches(labels)`. An empty selector matches everything;
/// an invalid one (unknown operator, In/NotIn without values, Exists/DoesNotExist with values)
/// matches nothing. Key/value syntax is not re-validated (the API server already did).
pub fn selector_matches(sel: &LabelSelector, labels: Option<&BTreeMap<String, String>>) -> bool {
    let get = |k: &str| labels.and_then(|l| l.get(k));
    if let Some(ml) = &sel.match_labels {
        for (k, v) in ml {
            if get(k) != Some(v) {
                return false;
            }
        }
    }
    // Validate every expression before matching, as LabelSelectorAsSelector fails as a whole.
    let exprs = sel.match_expressions.as_deref().unwrap_or(&[]);
    for e in exprs {
        let n = e.values.as_ref().map_or(0, Vec::len);
        let valid = match e.operator.as_str() {
            "In" | "NotIn" => n > 0,
            "Exists" | "DoesNotExist" => n == 0,
            _ => false,
        };
        if !valid {
            return false;
        }
    }
    exprs.iter().all(|e| {
        let values = e.values.as_deref().unwrap_or(&[]);
        let have = get(&e.key);
        match e.operator.as_str() {
            "In" => have.is_some_and(|v| values.contains(v)),
            "NotIn" => have.is_none_or(|v| !values.contains(v)),
            "Exists" => have.is_some(),
            _ => have.is_none(),
        }
    })
}

/// Whether the ReplicaSet's `spec.selector` selects the pod's labels (namespaces not checked).
/// A ReplicaSet without a spec selects nothing.
pub fn rs_selects(rs: &ReplicaSet, pod: &Pod) -> bool {
    rs.spec
        .as_ref()
        .is_some_and(|s| selector_matches(&s.selector, pod.metadata.labels.as_ref()))
}

// ---------------------------------------------------------------------------------------------
// Adoption / release (controller_ref_manager.go)
// ---------------------------------------------------------------------------------------------

/// Upstream `metav1.GetControllerOf`: the first ownerReference with `controller: true`.
pub fn controller_ref(meta: &ObjectMeta) -> Option<&OwnerReference> {
    meta.owner_references
        .as_ref()?
        .iter()
        .find(|r| r.controller == Some(true))
}

/// What `ClaimPods` decides for one pod.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimDecision {
    /// Controlled by this ReplicaSet and selected: it is one of its pods.
    Owned,
    /// An orphan this ReplicaSet should adopt (send [`adopt_patch`]; on success it is owned).
    Adopt,
    /// Controlled by this ReplicaSet but no longer selected: send [`release_patch`].
    Release,
    /// Not this ReplicaSet's business.
    Ignore,
}

/// Upstream `BaseControllerRefManager.ClaimObject` for one pod. Upstream only claims active
/// pods (`FilterActivePods` runs first), so pass active pods. The uncached re-check of the
/// ReplicaSet before adopting (`RecheckDeletionTimestamp`) is left to the caller.
pub fn claim_decision(rs: &ReplicaSet, pod: &Pod) -> ClaimDecision {
    let rs_deleting = rs.metadata.deletion_timestamp.is_some();
    if let Some(r) = controller_ref(&pod.metadata) {
        if Some(r.uid.as_str()) != rs.metadata.uid.as_deref() {
            return ClaimDecision::Ignore;
        }
        if rs_selects(rs, pod) {
            return ClaimDecision::Owned;
        }
        if rs_deleting {
            return ClaimDecision::Ignore;
        }
        return ClaimDecision::Release;
    }
    if rs_deleting || !rs_selects(rs, pod) {
        return ClaimDecision::Ignore;
    }
    if pod.metadata.deletion_timestamp.is_some() {
        return ClaimDecision::Ignore;
    }
    let rs_ns = rs.metadata.namespace.as_deref().unwrap_or("");
    if !rs_ns.is_empty() && Some(rs_ns) != pod.metadata.namespace.as_deref() {
        return ClaimDecision::Ignore;
    }
    ClaimDecision::Adopt
}

/// Orphan pod the ReplicaSet should adopt: selector matches, no controller ref, neither object
/// being deleted, same namespace.
pub fn should_adopt(rs: &ReplicaSet, pod: &Pod) -> bool {
    claim_decision(rs, pod) == ClaimDecision::Adopt
}

/// Pod controlled by this ReplicaSet (by UID) whose labels no longer match, RS not being deleted.
pub fn should_release(rs: &ReplicaSet, pod: &Pod) -> bool {
    claim_decision(rs, pod) == ClaimDecision::Release
}

/// Strategic merge patch upstream `AdoptPod` sends (`ownerRefControllerPatch`): the controller
/// ownerReference plus the pod's UID as a precondition.
pub fn adopt_patch(rs: &ReplicaSet, pod: &Pod) -> Value {
    let r = rs_controller_ref(rs);
    json!({
        "metadata": {
            "ownerReferences": [{
                "apiVersion": r.api_version,
                "kind": r.kind,
                "name": r.name,
                "uid": r.uid,
                "controller": true,
                "blockOwnerDeletion": true,
            }],
            "uid": pod.metadata.uid.clone().unwrap_or_default(),
        }
    })
}

/// Strategic merge patch upstream `ReleasePod` sends (`GenerateDeleteOwnerRefStrategicMergeBytes`):
/// the pod's UID as a precondition and a `$patch: delete` directive for the RS's ownerReference.
pub fn release_patch(rs: &ReplicaSet, pod: &Pod) -> Value {
    json!({
        "metadata": {
            "uid": pod.metadata.uid.clone().unwrap_or_default(),
            "ownerReferences": [{
                "$patch": "delete",
                "uid": rs.metadata.uid.clone().unwrap_or_default(),
            }],
        }
    })
}

// ---------------------------------------------------------------------------------------------
// Status
// ---------------------------------------------------------------------------------------------

fn non_zero_i32(v: usize) -> Option<i32> {
    let v = i32::try_from(v).unwrap_or(i32::MAX);
    if v == 0 { None } else { Some(v) }
}

/// Upstream `calculateStatus` followed by the `observedGeneration` stamp
/// `updateReplicaSetStatus` applies: `filtered_pods` are the claimed active pods;
/// `manage_error` is the text of the error `manageReplicas` returned, if any.
///
/// - `replicas` = number of pods; `fullyLabeledReplicas` = pods carrying every template label;
///   `readyReplicas`; `availableReplicas` (ready for `minReadySeconds` at `now`).
/// - `ReplicaFailure`: added (status True, reason `FailedCreate` when there are fewer pods than
///   desired, `FailedDelete` when more, empty otherwise, message = error, lastTransitionTime =
///   `now`) only if absent; an existing one is kept untouched while errors persist and removed
///   when `manage_error` is `None`.
/// - `terminatingReplicas` is always cleared (feature gate off in 1.33).
/// - Zero counters are `None`, as Go's `omitempty` omits them on the wire.
pub fn calculate_status<P: Borrow<Pod>>(
    rs: &ReplicaSet,
    filtered_pods: &[P],
    manage_error: Option<&str>,
    now: DateTime<Utc>,
) -> ReplicaSetStatus {
    let mut status = rs.status.clone().unwrap_or_default();
    let template_labels = rs
        .spec
        .as_ref()
        .and_then(|s| s.template.as_ref())
        .and_then(|t| t.metadata.as_ref())
        .and_then(|m| m.labels.as_ref());
    let min_ready = min_ready_seconds(rs);
    let (mut fully, mut ready, mut available) = (0usize, 0usize, 0usize);
    for pod in filtered_pods.iter().map(|p| p.borrow()) {
        let fully_labeled = template_labels.is_none_or(|tl| {
            let pl = pod.metadata.labels.as_ref();
            tl.iter().all(|(k, v)| pl.and_then(|l| l.get(k)) == Some(v))
        });
        if fully_labeled {
            fully += 1;
        }
        if is_pod_ready(pod) {
            ready += 1;
            if is_pod_available(pod, min_ready, now) {
                available += 1;
            }
        }
    }

    let has_failure = status
        .conditions
        .as_ref()
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == REPLICA_FAILURE_CONDITION));
    match manage_error {
        Some(msg) if !has_failure => {
            let diff = filtered_pods.len() as i64 - i64::from(desired_replicas(rs));
            let reason = match diff {
                d if d < 0 => Some(FAILED_CREATE_POD_REASON.to_string()),
                d if d > 0 => Some(FAILED_DELETE_POD_REASON.to_string()),
                _ => None,
            };
            let cond = ReplicaSetCondition {
                last_transition_time: time_from_chrono(now),
                message: (!msg.is_empty()).then(|| msg.to_string()),
                reason,
                status: "True".to_string(),
                type_: REPLICA_FAILURE_CONDITION.to_string(),
            };
            status.conditions.get_or_insert_with(Vec::new).push(cond);
        }
        None if has_failure => {
            let kept: Vec<ReplicaSetCondition> = status
                .conditions
                .take()
                .unwrap_or_default()
                .into_iter()
                .filter(|c| c.type_ != REPLICA_FAILURE_CONDITION)
                .collect();
            status.conditions = if kept.is_empty() { None } else { Some(kept) };
        }
        _ => {}
    }

    status.replicas = i32::try_from(filtered_pods.len()).unwrap_or(i32::MAX);
    status.fully_labeled_replicas = non_zero_i32(fully);
    status.ready_replicas = non_zero_i32(ready);
    status.available_replicas = non_zero_i32(available);
    status.terminating_replicas = None;
    status.observed_generation = rs.metadata.generation.filter(|g| *g != 0);
    status
}

/// Whether two statuses are the same for upstream's "skip the status write" check
/// (replicas, fullyLabeled, ready, available, terminating, observedGeneration, conditions deep
/// equality). Absent and zero counters are equal; absent and empty condition lists are equal.
pub fn status_equal(a: &ReplicaSetStatus, b: &ReplicaSetStatus) -> bool {
    let z = |v: Option<i32>| v.unwrap_or(0);
    let conds = |s: &ReplicaSetStatus| s.conditions.clone().unwrap_or_default();
    a.replicas == b.replicas
        && z(a.fully_labeled_replicas) == z(b.fully_labeled_replicas)
        && z(a.ready_replicas) == z(b.ready_replicas)
        && z(a.available_replicas) == z(b.available_replicas)
        && a.terminating_replicas == b.terminating_replicas
        && a.observed_generation.unwrap_or(0) == b.observed_generation.unwrap_or(0)
        && conds(a) == conds(b)
}

/// Upstream `updateReplicaSetStatus` no-op check: true when `new_status` (from
/// [`calculate_status`]) differs from what the ReplicaSet already has and must be written.
pub fn needs_status_update(rs: &ReplicaSet, new_status: &ReplicaSetStatus) -> bool {
    let current = rs.status.clone().unwrap_or_default();
    !status_equal(&current, new_status)
}

/// The delayed resync of `syncReplicaSet`: when managing succeeded, `minReadySeconds > 0`, all
/// desired replicas are ready but not all available, requeue after `minReadySeconds`.
/// `rs` is the ReplicaSet (spec), `status` the status just written.
pub fn min_ready_requeue_after(
    rs: &ReplicaSet,
    status: &ReplicaSetStatus,
    manage_failed: bool,
) -> Option<std::time::Duration> {
    let min_ready = min_ready_seconds(rs);
    let desired = desired_replicas(rs);
    if !manage_failed
        && min_ready > 0
        && status.ready_replicas.unwrap_or(0) == desired
        && status.available_replicas.unwrap_or(0) != desired
    {
        Some(std::time::Duration::from_secs(u64::from(
            min_ready.unsigned_abs(),
        )))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controllers::shared::cached_pod::{
        ContainerStatus, PodCondition, PodSpec, PodStatus,
    };
    use chrono::TimeZone;
    use k8s_openapi::api::apps::v1::ReplicaSetSpec;
    use k8s_openapi::api::core::v1::{Container, PodTemplateSpec};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelectorRequirement;
    use std::sync::Arc;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 6, 1, 12, 0, 0)
            .single()
            .unwrap_or_default()
    }

    fn t(dt: DateTime<Utc>) -> Time {
        time_from_chrono(dt).unwrap_or(Time(k8s_openapi::jiff::Timestamp::UNIX_EPOCH))
    }

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// Upstream test helper `newReplicaSet`: selector = given labels, template labels fixed to
    /// name=foo,type=production.
    fn new_rs(replicas: i32, selector: &[(&str, &str)]) -> ReplicaSet {
        ReplicaSet {
            metadata: ObjectMeta {
                name: Some("foobar".into()),
                namespace: Some("default".into()),
                uid: Some("rs-uid".into()),
                generation: Some(1),
                ..Default::default()
            },
            spec: Some(ReplicaSetSpec {
                replicas: Some(replicas),
                selector: LabelSelector {
                    match_labels: Some(labels(selector)),
                    match_expressions: None,
                },
                template: Some(PodTemplateSpec {
                    metadata: Some(ObjectMeta {
                        labels: Some(labels(&[("name", "foo"), ("type", "production")])),
                        ..Default::default()
                    }),
                    spec: Some(k8s_openapi::api::core::v1::PodSpec {
                        containers: vec![Container {
                            name: "c".into(),
                            image: Some("foo/bar".into()),
                            ..Default::default()
                        }],
                        ..Default::default()
                    }),
                }),
                min_ready_seconds: None,
            }),
            status: None,
        }
    }

    /// Upstream test helper `newPod`: Running pods get Ready=True (lastTransitionTime given or
    /// zero); labels = the RS selector's matchLabels.
    fn new_pod(name: &str, rs: &ReplicaSet, phase: &str, ltt: Option<Time>, owned: bool) -> Pod {
        let conditions = (phase == "Running").then(|| {
            vec![PodCondition {
                type_: "Ready".into(),
                status: "True".into(),
                last_transition_time: ltt,
                ..Default::default()
            }]
        });
        let owner = owned.then(|| {
            vec![OwnerReference {
                api_version: "apps/v1".into(),
                kind: "ReplicaSet".into(),
                name: "foobar".into(),
                uid: rs.metadata.uid.clone().unwrap_or_default(),
                controller: Some(true),
                block_owner_deletion: None,
            }]
        });
        Pod {
            metadata: ObjectMeta {
                name: Some(name.into()),
                namespace: rs.metadata.namespace.clone(),
                uid: Some(format!("uid-{name}")),
                labels: rs
                    .spec
                    .as_ref()
                    .and_then(|s| s.selector.match_labels.clone()),
                owner_references: owner,
                ..Default::default()
            },
            spec: None,
            status: Some(PodStatus {
                phase: Some(phase.into()),
                conditions,
                ..Default::default()
            }),
        }
    }

    /// Upstream `TestSortingActivePodsWithRanks` helper `pod(...)`.
    #[allow(clippy::too_many_arguments)]
    fn rpod(
        name: &str,
        node: &str,
        phase: &str,
        ready: bool,
        restarts: i32,
        ready_since: Option<DateTime<Utc>>,
        created: Option<DateTime<Utc>>,
        cost: Option<&str>,
    ) -> Pod {
        let (conditions, statuses) = if ready {
            (
                Some(vec![PodCondition {
                    type_: "Ready".into(),
                    status: "True".into(),
                    last_transition_time: ready_since.map(t),
                    ..Default::default()
                }]),
                Some(vec![ContainerStatus {
                    restart_count: restarts,
                    ..Default::default()
                }]),
            )
        } else {
            (None, None)
        };
        Pod {
            metadata: ObjectMeta {
                name: Some(name.into()),
                creation_timestamp: created.map(t),
                annotations: cost.map(|c| labels(&[(POD_DELETION_COST_ANNOTATION, c)])),
                ..Default::default()
            },
            spec: Some(Arc::new(PodSpec {
                node_name: (!node.is_empty()).then(|| node.to_string()),
                ..Default::default()
            })),
            status: Some(PodStatus {
                phase: Some(phase.into()),
                conditions,
                container_statuses: statuses,
                ..Default::default()
            }),
        }
    }

    fn less(a: &Pod, ra: usize, b: &Pod, rb: usize) -> bool {
        rank_less(
            &RankKey::new(a, ra),
            &RankKey::new(b, rb),
            chrono_nanos(now()),
        )
    }

    fn names(pods: &[Pod], idx: &[usize]) -> Vec<String> {
        idx.iter()
            .filter_map(|i| pods.get(*i))
            .map(|p| p.metadata.name.clone().unwrap_or_default())
            .collect()
    }

    struct RankPods {
        unscheduled: Pod,
        pending: Pod,
        unknown: Pod,
        not_ready: Pod,
        ready_no_ltt: Pod,
        ready_now: Pod,
        ready_then: Pod,
        ready_high_restarts: Pod,
        ready_now_created_then: Pod,
        low_cost: Pod,
        high_cost: Pod,
        unscheduled_5h: Pod,
        unscheduled_8h: Pod,
        ready_2h: Pod,
        ready_5h: Pod,
        ready_8h: Pod,
    }

    fn rank_pods() -> RankPods {
        let n = now();
        let month = n.checked_sub_months(chrono::Months::new(1)).unwrap_or(n);
        let h = |x: i64| n - chrono::Duration::hours(x);
        RankPods {
            unscheduled: rpod("unscheduled", "", "Pending", false, 0, None, None, None),
            pending: rpod("pending", "node", "Pending", false, 0, None, None, None),
            unknown: rpod(
                "unknown-phase",
                "node",
                "Unknown",
                false,
                0,
                None,
                None,
                None,
            ),
            not_ready: rpod("not-ready", "node", "Running", false, 0, None, None, None),
            ready_no_ltt: rpod("ready-no-ltt", "node", "Running", true, 0, None, None, None),
            ready_now: rpod(
                "ready-now",
                "node",
                "Running",
                true,
                0,
                Some(n),
                Some(n),
                None,
            ),
            ready_then: rpod(
                "ready-then",
                "node",
                "Running",
                true,
                0,
                Some(month),
                Some(month),
                None,
            ),
            ready_high_restarts: rpod(
                "ready-high-restarts",
                "node",
                "Running",
                true,
                9001,
                Some(n),
                Some(n),
                None,
            ),
            ready_now_created_then: rpod(
                "ready-now-created-then",
                "node",
                "Running",
                true,
                0,
                Some(n),
                Some(month),
                None,
            ),
            low_cost: rpod(
                "low-deletion-cost",
                "node",
                "Running",
                true,
                0,
                Some(n),
                Some(month),
                Some("10"),
            ),
            high_cost: rpod(
                "high-deletion-cost",
                "node",
                "Running",
                true,
                0,
                Some(n),
                Some(month),
                Some("100"),
            ),
            unscheduled_5h: rpod(
                "unscheduled-5-hours",
                "",
                "Pending",
                false,
                0,
                Some(h(5)),
                Some(h(5)),
                None,
            ),
            unscheduled_8h: rpod(
                "unscheduled-8-hours",
                "",
                "Pending",
                false,
                0,
                Some(h(8)),
                Some(h(8)),
                None,
            ),
            ready_2h: rpod(
                "ready-2-hours",
                "",
                "Running",
                true,
                0,
                Some(h(2)),
                Some(month),
                None,
            ),
            ready_5h: rpod(
                "ready-5-hours",
                "",
                "Running",
                true,
                0,
                Some(h(5)),
                Some(month),
                None,
            ),
            ready_8h: rpod(
                "ready-8-hours",
                "",
                "Running",
                true,
                0,
                Some(h(8)),
                Some(month),
                None,
            ),
        }
    }

    #[test]
    fn active_pods_with_ranks_equality() {
        // Port of the equality cases of upstream TestSortingActivePodsWithRanks.
        let p = rank_pods();
        let cases: Vec<(&Pod, &Pod)> = vec![
            (&p.unscheduled, &p.unscheduled),
            (&p.pending, &p.pending),
            (&p.unknown, &p.unknown),
            (&p.not_ready, &p.not_ready),
            (&p.ready_now_created_then, &p.ready_now_created_then),
            (&p.ready_now, &p.ready_now),
            (&p.ready_then, &p.ready_then),
            (&p.ready_high_restarts, &p.ready_high_restarts),
            (&p.unscheduled_5h, &p.unscheduled_8h),
            (&p.ready_5h, &p.ready_8h),
        ];
        for (i, (a, b)) in cases.into_iter().enumerate() {
            assert!(!less(a, 1, b, 1) && !less(b, 1, a, 1), "equality case {i}");
        }
    }

    #[test]
    fn active_pods_with_ranks_inequality() {
        // Port of the inequality cases (PodDeletionCost and LogarithmicScaleDown enabled).
        let p = rank_pods();
        type PodRank<'a> = (&'a Pod, usize);
        let cases: Vec<(PodRank<'_>, PodRank<'_>)> = vec![
            ((&p.unscheduled, 1), (&p.pending, 2)),
            ((&p.unscheduled, 2), (&p.pending, 1)),
            ((&p.pending, 1), (&p.unknown, 2)),
            ((&p.unknown, 1), (&p.not_ready, 2)),
            ((&p.not_ready, 1), (&p.ready_no_ltt, 1)),
            ((&p.ready_no_ltt, 1), (&p.ready_now, 1)),
            ((&p.ready_now, 2), (&p.ready_no_ltt, 1)),
            ((&p.ready_now, 1), (&p.ready_then, 1)),
            ((&p.ready_now, 2), (&p.ready_then, 1)),
            ((&p.ready_high_restarts, 1), (&p.ready_now, 1)),
            ((&p.ready_now, 2), (&p.ready_high_restarts, 1)),
            ((&p.ready_now, 1), (&p.ready_now_created_then, 1)),
            ((&p.ready_now_created_then, 2), (&p.ready_now, 1)),
            ((&p.low_cost, 2), (&p.high_cost, 1)),
            ((&p.ready_2h, 1), (&p.ready_5h, 1)),
        ];
        for (i, ((a, ra), (b, rb))) in cases.into_iter().enumerate() {
            assert!(less(a, ra, b, rb), "case {i}: lesser not less");
            assert!(!less(b, rb, a, ra), "case {i}: greater less");
        }
    }

    #[test]
    fn sorting_active_pods_full_order() {
        // Port of upstream TestSortingActivePods (ranks all equal).
        let n = now();
        let then = n - chrono::Duration::days(31);
        let mk =
            |name: &str, node: &str, phase: &str, ready: bool, restarts: [i32; 2], ltt, created| {
                let mut p = rpod(name, node, phase, ready, 0, ltt, created, None);
                if ready && let Some(s) = p.status.as_mut() {
                    s.container_statuses = Some(
                        restarts
                            .iter()
                            .map(|r| ContainerStatus {
                                restart_count: *r,
                                ..Default::default()
                            })
                            .collect(),
                    );
                }
                p
            };
        let pods = vec![
            mk(
                "oldest",
                "foo",
                "Running",
                true,
                [2, 1],
                Some(then),
                Some(then),
            ),
            mk(
                "runningLongerTime",
                "foo",
                "Running",
                true,
                [3, 0],
                Some(then),
                None,
            ),
            mk("unknownPhase", "foo", "Unknown", false, [0, 0], None, None),
            mk(
                "lowerContainerRestartCount",
                "foo",
                "Running",
                true,
                [2, 1],
                Some(then),
                Some(n),
            ),
            mk("unscheduled", "", "Pending", false, [0, 0], None, None),
            mk(
                "runningWithLastTransitionTime",
                "foo",
                "Running",
                true,
                [3, 0],
                Some(n),
                None,
            ),
            mk(
                "runningButNotReady",
                "foo",
                "Running",
                false,
                [0, 0],
                None,
                None,
            ),
            mk(
                "scheduledButPending",
                "bar",
                "Pending",
                false,
                [0, 0],
                None,
                None,
            ),
            mk(
                "runningNoLastTransitionTime",
                "foo",
                "Running",
                true,
                [3, 0],
                None,
                None,
            ),
        ];
        let order = sort_active_pods_with_ranks(&pods, &[0; 9], n);
        assert_eq!(
            names(&pods, &order),
            [
                "unscheduled",
                "scheduledButPending",
                "unknownPhase",
                "runningButNotReady",
                "runningNoLastTransitionTime",
                "runningWithLastTransitionTime",
                "runningLongerTime",
                "lowerContainerRestartCount",
                "oldest",
            ]
        );
    }

    #[test]
    fn logarithmic_buckets_and_uid_tiebreak() {
        let n = now();
        let mut a = rpod(
            "a",
            "node",
            "Running",
            true,
            5,
            Some(n - chrono::Duration::hours(5)),
            None,
            None,
        );
        let mut b = rpod(
            "b",
            "node",
            "Running",
            true,
            0,
            Some(n - chrono::Duration::hours(7)),
            None,
            None,
        );
        a.metadata.uid = Some("uid-b".into());
        b.metadata.uid = Some("uid-a".into());
        // Same log2 bucket (2^44 ns ~ 4.9h .. 9.8h): decided by UID, restarts not consulted.
        assert!(less(&b, 0, &a, 0));
        assert!(!less(&a, 0, &b, 0));
        assert_eq!(logarithmic_rank_diff(0, 0, 1 << 44), 0);
        assert_eq!(logarithmic_rank_diff(0, 1, (1 << 44) + 1), 0);
        // 2^44 - 1 ns is still bucket 43 (Go's frexp-based Log2 keeps it below 44).
        assert_eq!(logarithmic_rank_diff(0, 2, (1 << 44) + 1), 1);
        assert_eq!(logarithmic_rank_diff(10, 0, 10), -4);
        assert_eq!(logarithmic_rank_diff(20, 0, 10), -4);
        assert_eq!(go_log2(1024.0), 10.0);
        assert_eq!(go_log2(1023.0) as i64, 9);
    }

    #[test]
    fn deletion_cost_parsing() {
        let with = |v: &str| rpod("x", "n", "Running", false, 0, None, None, Some(v));
        for (v, want) in [
            ("10", 10),
            ("-5", -5),
            ("0", 0),
            ("+10", 0),
            ("008", 0),
            ("", 0),
            ("abc", 0),
            ("2147483647", i32::MAX),
            ("2147483648", 0),
            ("-2147483648", i32::MIN),
        ] {
            assert_eq!(pod_deletion_cost(&with(v)), want, "value {v:?}");
        }
    }

    #[test]
    fn get_pods_to_delete() {
        // Port of upstream TestGetPodsToDelete.
        let rs = new_rs(1, &[("name", "foo")]);
        let unscheduled_pending = new_pod("unscheduled-pending-pod", &rs, "Pending", None, true);
        let mut scheduled_pending = new_pod("scheduled-pending-pod", &rs, "Pending", None, true);
        let on = |p: &mut Pod, node: &str| {
            p.spec = Some(Arc::new(PodSpec {
                node_name: Some(node.into()),
                ..Default::default()
            }));
        };
        on(&mut scheduled_pending, "fake-node");
        let mut not_ready = new_pod(
            "scheduled-running-not-ready-pod",
            &rs,
            "Running",
            None,
            true,
        );
        on(&mut not_ready, "fake-node");
        if let Some(s) = not_ready.status.as_mut() {
            s.conditions = Some(vec![PodCondition {
                type_: "Ready".into(),
                status: "False".into(),
                ..Default::default()
            }]);
        }
        let mut ready1 = new_pod(
            "scheduled-running-ready-pod-on-node-1",
            &rs,
            "Running",
            None,
            true,
        );
        on(&mut ready1, "fake-node-1");
        let mut ready2 = new_pod(
            "scheduled-running-ready-pod-on-node-2",
            &rs,
            "Running",
            None,
            true,
        );
        on(&mut ready2, "fake-node-2");

        type Case<'a> = (
            &'a str,
            Vec<&'a Pod>,
            Option<Vec<&'a Pod>>,
            usize,
            Vec<&'a str>,
        );
        let cases: Vec<Case<'_>> = vec![
            ("len(pods) = 0", vec![], None, 0, vec![]),
            (
                "diff = len(pods)",
                vec![&not_ready, &ready1],
                None,
                2,
                vec![
                    "scheduled-running-not-ready-pod",
                    "scheduled-running-ready-pod-on-node-1",
                ],
            ),
            (
                "diff < len(pods)",
                vec![&ready1, &not_ready],
                None,
                1,
                vec!["scheduled-running-not-ready-pod"],
            ),
            (
                "various pod phases and conditions, diff = len(pods)",
                vec![
                    &ready1,
                    &ready2,
                    &not_ready,
                    &scheduled_pending,
                    &unscheduled_pending,
                ],
                None,
                5,
                vec![
                    "scheduled-running-ready-pod-on-node-1",
                    "scheduled-running-ready-pod-on-node-2",
                    "scheduled-running-not-ready-pod",
                    "scheduled-pending-pod",
                    "unscheduled-pending-pod",
                ],
            ),
            (
                "scheduled vs unscheduled, diff < len(pods)",
                vec![&scheduled_pending, &unscheduled_pending],
                None,
                1,
                vec!["unscheduled-pending-pod"],
            ),
            (
                "ready vs not-ready, diff < len(pods)",
                vec![&ready1, &not_ready, &not_ready],
                None,
                2,
                vec![
                    "scheduled-running-not-ready-pod",
                    "scheduled-running-not-ready-pod",
                ],
            ),
            (
                "ready and colocated with another ready pod vs not colocated, diff < len(pods)",
                vec![&ready1, &ready2],
                Some(vec![&ready1, &ready2, &ready2]),
                1,
                vec!["scheduled-running-ready-pod-on-node-2"],
            ),
            (
                "pending vs running, diff < len(pods)",
                vec![&scheduled_pending, &not_ready],
                None,
                1,
                vec!["scheduled-pending-pod"],
            ),
            (
                "various pod phases and conditions, diff < len(pods)",
                vec![
                    &ready1,
                    &ready2,
                    &not_ready,
                    &scheduled_pending,
                    &unscheduled_pending,
                ],
                None,
                3,
                vec![
                    "unscheduled-pending-pod",
                    "scheduled-pending-pod",
                    "scheduled-running-not-ready-pod",
                ],
            ),
        ];
        for (name, pods, related, diff, want) in cases {
            let pods: Vec<Pod> = pods.into_iter().cloned().collect();
            let related: Vec<Pod> = match related {
                Some(r) => r.into_iter().cloned().collect(),
                None => pods.clone(),
            };
            let got = pods_to_delete(&pods, &related, diff, now());
            assert_eq!(names(&pods, &got), want, "{name}");
        }
    }

    #[test]
    fn ranks_count_only_active_related_pods() {
        let rs = new_rs(1, &[("name", "foo")]);
        let mut a = new_pod("a", &rs, "Running", None, true);
        a.spec = Some(Arc::new(PodSpec {
            node_name: Some("n1".into()),
            ..Default::default()
        }));
        let mut dead = a.clone();
        dead.status = Some(PodStatus {
            phase: Some("Failed".into()),
            ..Default::default()
        });
        let mut b = a.clone();
        b.spec = Some(Arc::new(PodSpec {
            node_name: Some("n2".into()),
            ..Default::default()
        }));
        let ranks = ranks_by_related_pods_on_same_node(
            &[a.clone(), b.clone()],
            &[a.clone(), dead, b.clone(), b.clone()],
        );
        assert_eq!(ranks, vec![1, 2]);
    }

    #[test]
    fn indirectly_related() {
        let owner = |uid: &str| {
            Some(vec![OwnerReference {
                api_version: "apps/v1".into(),
                kind: "Deployment".into(),
                name: "d".into(),
                uid: uid.into(),
                controller: Some(true),
                block_owner_deletion: Some(true),
            }])
        };
        let mut rs1 = new_rs(1, &[("app", "x"), ("hash", "1")]);
        rs1.metadata.owner_references = owner("dep");
        let mut rs2 = new_rs(1, &[("app", "x"), ("hash", "2")]);
        rs2.metadata.uid = Some("rs2".into());
        rs2.metadata.owner_references = owner("dep");
        let mut rs3 = new_rs(1, &[("app", "x")]);
        rs3.metadata.owner_references = owner("other");
        let p1 = new_pod("p1", &rs1, "Running", None, false);
        let p2 = new_pod("p2", &rs2, "Running", None, false);
        let p3 = new_pod("p3", &rs3, "Running", None, false);
        let all = [rs1.clone(), rs2, rs3];
        let pods = [p1, p2, p3];
        assert_eq!(indirectly_related_pods(&rs1, &all, &pods), vec![0, 1]);
        let mut orphan = rs1.clone();
        orphan.metadata.owner_references = None;
        assert!(indirectly_related_pods(&orphan, &all, &pods).is_empty());
    }

    #[test]
    fn slow_start_batch_sizes() {
        assert_eq!(slow_start_batches(10, 1), vec![1, 2, 4, 3]);
        assert_eq!(slow_start_batches(0, 1), Vec::<usize>::new());
        assert_eq!(slow_start_batches(1, 1), vec![1]);
        assert_eq!(slow_start_batches(7, 1), vec![1, 2, 4]);
        assert_eq!(
            slow_start_batches(500, 1),
            vec![1, 2, 4, 8, 16, 32, 64, 128, 245]
        );
        assert_eq!(slow_start_batches(5, 0), Vec::<usize>::new());
        assert_eq!(slow_start_batches(3, 10), vec![3]);
        assert_eq!(slow_start_batches(100, 1).iter().sum::<usize>(), 100);
    }

    #[test]
    fn manage_diff_caps_at_burst() {
        assert_eq!(manage_diff(2, 2), (0, 0));
        assert_eq!(manage_diff(0, 3), (3, 0));
        assert_eq!(manage_diff(5, 2), (0, 3));
        assert_eq!(manage_diff(0, 1000), (500, 0));
        assert_eq!(manage_diff(1200, 100), (0, 500));
        assert_eq!(manage_diff(3, -1), (0, 3));
    }

    #[test]
    fn pod_activity_readiness_availability() {
        let rs = new_rs(1, &[("name", "foo")]);
        let n = now();
        assert!(is_pod_active(&new_pod("a", &rs, "Running", None, true)));
        assert!(is_pod_active(&new_pod("a", &rs, "Pending", None, true)));
        assert!(!is_pod_active(&new_pod("a", &rs, "Succeeded", None, true)));
        assert!(!is_pod_active(&new_pod("a", &rs, "Failed", None, true)));
        let mut deleting = new_pod("a", &rs, "Running", None, true);
        deleting.metadata.deletion_timestamp = Some(t(n));
        assert!(!is_pod_active(&deleting));
        let pods = vec![
            new_pod("a", &rs, "Running", None, true),
            new_pod("b", &rs, "Failed", None, true),
            deleting,
            new_pod("d", &rs, "Pending", None, true),
        ];
        assert_eq!(filter_active_pods(&pods), vec![0, 3]);

        let ready_since = |secs: i64| {
            new_pod(
                "r",
                &rs,
                "Running",
                Some(t(n - chrono::Duration::seconds(secs))),
                true,
            )
        };
        assert!(is_pod_ready(&ready_since(0)));
        assert!(!is_pod_ready(&new_pod("p", &rs, "Pending", None, true)));
        assert!(is_pod_available(&ready_since(0), 0, n));
        assert!(!is_pod_available(&ready_since(10), 10, n)); // not strictly before now
        assert!(is_pod_available(&ready_since(11), 10, n));
        assert!(!is_pod_available(
            &new_pod("z", &rs, "Running", None, true),
            10,
            n
        )); // zero LTT
        assert!(is_pod_available(
            &new_pod("z", &rs, "Running", None, true),
            0,
            n
        ));
        assert!(!is_pod_available(
            &new_pod("p", &rs, "Pending", None, true),
            0,
            n
        ));
    }

    #[test]
    fn calculate_status_counts() {
        // Port of upstream TestCalculateStatus (DeploymentReplicaSetTerminatingReplicas off).
        let not_fully = new_rs(1, &[("name", "foo")]);
        let fully = new_rs(2, &[("name", "foo"), ("type", "production")]);
        let mut long_min_ready = new_rs(1, &[("name", "foo"), ("type", "production")]);
        if let Some(s) = long_min_ready.spec.as_mut() {
            s.min_ready_seconds = Some(3600);
        }
        let st = |r: i32, f: i32, rd: i32, a: i32| ReplicaSetStatus {
            replicas: r,
            fully_labeled_replicas: (f != 0).then_some(f),
            ready_replicas: (rd != 0).then_some(rd),
            available_replicas: (a != 0).then_some(a),
            observed_generation: Some(1),
            ..Default::default()
        };
        let run = |name: &str, rs: &ReplicaSet| new_pod(name, rs, "Running", None, true);
        let cases: Vec<(&str, &ReplicaSet, Vec<Pod>, ReplicaSetStatus)> = vec![
            (
                "1 fully labelled pod",
                &fully,
                vec![run("pod1", &fully)],
                st(1, 1, 1, 1),
            ),
            (
                "1 not fully labelled pod",
                &not_fully,
                vec![run("pod1", &not_fully)],
                st(1, 0, 1, 1),
            ),
            (
                "2 fully labelled pods",
                &fully,
                vec![run("pod1", &fully), run("pod2", &fully)],
                st(2, 2, 2, 2),
            ),
            (
                "2 not fully labelled pods",
                &not_fully,
                vec![run("pod1", &not_fully), run("pod2", &not_fully)],
                st(2, 0, 2, 2),
            ),
            (
                "1 fully labelled pod, 1 not fully labelled pod",
                &not_fully,
                vec![run("pod1", &not_fully), run("pod2", &fully)],
                st(2, 1, 2, 2),
            ),
            (
                "1 non-ready pod",
                &fully,
                vec![new_pod("pod1", &fully, "Pending", None, true)],
                st(1, 1, 0, 0),
            ),
            (
                "1 ready but non-available pod",
                &long_min_ready,
                vec![run("pod1", &long_min_ready)],
                st(1, 1, 1, 0),
            ),
        ];
        for (name, rs, pods, want) in cases {
            assert_eq!(calculate_status(rs, &pods, None, now()), want, "{name}");
        }
    }

    #[test]
    fn calculate_status_conditions() {
        // Port of upstream TestCalculateStatusConditions.
        let rs = new_rs(2, &[("name", "foo")]);
        let mut failing = new_rs(10, &[("name", "foo")]);
        let existing = ReplicaSetCondition {
            type_: "ReplicaFailure".into(),
            status: "True".into(),
            ..Default::default()
        };
        failing.status = Some(ReplicaSetStatus {
            conditions: Some(vec![existing.clone()]),
            ..Default::default()
        });
        let pods = |rs: &ReplicaSet, n: usize| -> Vec<Pod> {
            (1..=n)
                .map(|i| new_pod(&format!("pod{i}"), rs, "Running", None, true))
                .collect()
        };
        let fresh = |reason: &str| ReplicaSetCondition {
            type_: "ReplicaFailure".into(),
            status: "True".into(),
            reason: Some(reason.into()),
            message: Some("fake manageReplicasErr".into()),
            last_transition_time: time_from_chrono(now()),
        };
        let err = Some("fake manageReplicasErr");
        type CondCase<'a> = (
            &'a str,
            &'a ReplicaSet,
            Vec<Pod>,
            Option<&'a str>,
            Option<Vec<ReplicaSetCondition>>,
        );
        let cases: Vec<CondCase<'_>> = vec![
            (
                "err, no cond, diff < 0",
                &rs,
                pods(&rs, 1),
                err,
                Some(vec![fresh("FailedCreate")]),
            ),
            (
                "err, no cond, diff > 0",
                &rs,
                pods(&rs, 3),
                err,
                Some(vec![fresh("FailedDelete")]),
            ),
            ("no err, cond", &failing, pods(&failing, 1), None, None),
            (
                "err, cond kept untouched",
                &failing,
                pods(&failing, 1),
                err,
                Some(vec![existing.clone()]),
            ),
            ("no err, no cond", &rs, pods(&rs, 1), None, None),
        ];
        for (name, rs, pods, err, want) in cases {
            assert_eq!(
                calculate_status(rs, &pods, err, now()).conditions,
                want,
                "{name}"
            );
        }
        // The condition time is truncated to whole seconds, like the wire format.
        let sub = now() + chrono::Duration::milliseconds(700);
        let c = calculate_status(&rs, &pods(&rs, 1), err, sub).conditions;
        assert_eq!(
            c.and_then(|c| c.first().and_then(|c| c.last_transition_time.clone())),
            time_from_chrono(now())
        );
        // diff == 0 with an error: empty reason (omitted).
        let c = calculate_status(&rs, &pods(&rs, 2), err, now()).conditions;
        assert_eq!(
            c.and_then(|c| c.first().map(|c| c.reason.clone())),
            Some(None)
        );
    }

    #[test]
    fn status_condition_other_types_preserved_and_terminating_cleared() {
        let mut rs = new_rs(1, &[("name", "foo")]);
        let other = ReplicaSetCondition {
            type_: "Other".into(),
            status: "False".into(),
            ..Default::default()
        };
        let fail = ReplicaSetCondition {
            type_: "ReplicaFailure".into(),
            status: "True".into(),
            ..Default::default()
        };
        rs.status = Some(ReplicaSetStatus {
            conditions: Some(vec![fail, other.clone()]),
            terminating_replicas: Some(3),
            ..Default::default()
        });
        let s = calculate_status::<Pod>(&rs, &[], None, now());
        assert_eq!(s.conditions, Some(vec![other]));
        assert_eq!(s.terminating_replicas, None);
        assert_eq!(s.replicas, 0);
    }

    #[test]
    fn status_equality_and_update_need() {
        let mut rs = new_rs(2, &[("name", "foo")]);
        let pods: Vec<Pod> = (0..2)
            .map(|i| new_pod(&format!("p{i}"), &rs, "Running", None, true))
            .collect();
        let s = calculate_status(&rs, &pods, None, now());
        assert!(needs_status_update(&rs, &s));
        rs.status = Some(s.clone());
        let again = calculate_status(&rs, &pods, None, now());
        assert!(!needs_status_update(&rs, &again));
        // A generation bump alone forces a write (observedGeneration).
        rs.metadata.generation = Some(2);
        let bumped = calculate_status(&rs, &pods, None, now());
        assert_eq!(bumped.observed_generation, Some(2));
        assert!(needs_status_update(&rs, &bumped));
        let mut a = s.clone();
        a.ready_replicas = Some(0);
        a.conditions = Some(vec![]);
        let mut b = s;
        b.ready_replicas = None;
        b.conditions = None;
        assert!(status_equal(&a, &b));
        b.terminating_replicas = Some(0);
        assert!(!status_equal(&a, &b));
    }

    #[test]
    fn min_ready_requeue() {
        let mut rs = new_rs(2, &[("name", "foo")]);
        let st = |ready: i32, avail: i32| ReplicaSetStatus {
            replicas: 2,
            ready_replicas: Some(ready),
            available_replicas: Some(avail),
            ..Default::default()
        };
        assert_eq!(min_ready_requeue_after(&rs, &st(2, 0), false), None);
        if let Some(s) = rs.spec.as_mut() {
            s.min_ready_seconds = Some(30);
        }
        assert_eq!(
            min_ready_requeue_after(&rs, &st(2, 0), false),
            Some(std::time::Duration::from_secs(30))
        );
        assert_eq!(min_ready_requeue_after(&rs, &st(2, 0), true), None);
        assert_eq!(min_ready_requeue_after(&rs, &st(1, 0), false), None);
        assert_eq!(min_ready_requeue_after(&rs, &st(2, 2), false), None);
    }

    #[test]
    fn pod_from_template_matches_get_pod_from_template() {
        let mut rs = new_rs(1, &[("name", "foo")]);
        if let Some(tm) = rs
            .spec
            .as_mut()
            .and_then(|s| s.template.as_mut())
            .and_then(|t| t.metadata.as_mut())
        {
            tm.annotations = Some(labels(&[("a", "b")]));
            tm.finalizers = Some(vec!["example.com/f".into()]);
            tm.name = Some("ignored".into());
        }
        let pod = pod_from_template(&rs, "");
        let v = serde_json::to_value(&pod).unwrap_or_default();
        assert_eq!(
            v,
            json!({
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {
                    "annotations": {"a": "b"},
                    "finalizers": ["example.com/f"],
                    "generateName": "foobar-",
                    "labels": {"name": "foo", "type": "production"},
                    "namespace": "default",
                    "ownerReferences": [{
                        "apiVersion": "apps/v1",
                        "blockOwnerDeletion": true,
                        "controller": true,
                        "kind": "ReplicaSet",
                        "name": "foobar",
                        "uid": "rs-uid"
                    }]
                },
                "spec": {"containers": [{"image": "foo/bar", "name": "c"}]}
            })
        );
        assert_eq!(
            pod_from_template(&rs, "x7k2q").metadata.name.as_deref(),
            Some("foobar-x7k2q")
        );
        // Empty template metadata: no labels/annotations/finalizers.
        if let Some(t) = rs.spec.as_mut().and_then(|s| s.template.as_mut()) {
            t.metadata = Some(ObjectMeta {
                labels: Some(BTreeMap::new()),
                ..Default::default()
            });
        }
        let bare = pod_from_template(&rs, "");
        assert_eq!(bare.metadata.labels, None);
        assert_eq!(bare.metadata.annotations, None);
        assert_eq!(bare.metadata.finalizers, None);
    }

    #[test]
    fn adopt_and_release_decisions() {
        let rs = new_rs(1, &[("name", "foo")]);
        let orphan = new_pod("orphan", &rs, "Running", None, false);
        let owned = new_pod("owned", &rs, "Running", None, true);
        assert_eq!(claim_decision(&rs, &owned), ClaimDecision::Owned);
        assert_eq!(claim_decision(&rs, &orphan), ClaimDecision::Adopt);
        assert!(should_adopt(&rs, &orphan));
        assert!(!should_release(&rs, &orphan));

        // Owned but labels changed: release, unless the RS is being deleted.
        let mut relabeled = owned.clone();
        relabeled.metadata.labels = Some(labels(&[("name", "bar")]));
        assert!(should_release(&rs, &relabeled));
        let mut deleting_rs = rs.clone();
        deleting_rs.metadata.deletion_timestamp = Some(t(now()));
        assert!(!should_release(&deleting_rs, &relabeled));
        assert!(!should_adopt(&deleting_rs, &orphan));
        assert_eq!(claim_decision(&deleting_rs, &owned), ClaimDecision::Owned);

        // Owned by another controller: ignored even when selected.
        let mut other = owned.clone();
        if let Some(refs) = other.metadata.owner_references.as_mut() {
            refs[0].uid = "someone-else".into();
        }
        assert_eq!(claim_decision(&rs, &other), ClaimDecision::Ignore);
        // Non-controller owner refs do not count as a controller.
        let mut weak = other.clone();
        if let Some(refs) = weak.metadata.owner_references.as_mut() {
            refs[0].controller = None;
        }
        assert!(controller_ref(&weak.metadata).is_none());
        assert!(should_adopt(&rs, &weak));
        // Orphan being deleted, non-matching orphan, other namespace: ignored.
        let mut dying = orphan.clone();
        dying.metadata.deletion_timestamp = Some(t(now()));
        assert!(!should_adopt(&rs, &dying));
        let mut nomatch = orphan.clone();
        nomatch.metadata.labels = None;
        assert!(!should_adopt(&rs, &nomatch));
        let mut elsewhere = orphan.clone();
        elsewhere.metadata.namespace = Some("other".into());
        assert!(!should_adopt(&rs, &elsewhere));
    }

    #[test]
    fn adopt_and_release_patches() {
        let rs = new_rs(1, &[("name", "foo")]);
        let pod = new_pod("p", &rs, "Running", None, false);
        assert_eq!(
            serde_json::to_string(&adopt_patch(&rs, &pod)).unwrap_or_default(),
            r#"{"metadata":{"ownerReferences":[{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"foobar","uid":"rs-uid","controller":true,"blockOwnerDeletion":true}],"uid":"uid-p"}}"#
        );
        assert_eq!(
            serde_json::to_string(&release_patch(&rs, &pod)).unwrap_or_default(),
            r#"{"metadata":{"uid":"uid-p","ownerReferences":[{"$patch":"delete","uid":"rs-uid"}]}}"#
        );
    }

    #[test]
    fn label_selector_matching() {
        let l = labels(&[("app", "web"), ("tier", "fe")]);
        let req = |key: &str, op: &str, vals: &[&str]| LabelSelectorRequirement {
            key: key.into(),
            operator: op.into(),
            values: (!vals.is_empty()).then(|| vals.iter().map(|v| v.to_string()).collect()),
        };
        let sel = |ml: &[(&str, &str)], me: Vec<LabelSelectorRequirement>| LabelSelector {
            match_labels: (!ml.is_empty()).then(|| labels(ml)),
            match_expressions: (!me.is_empty()).then_some(me),
        };
        let cases = vec![
            (sel(&[], vec![]), true),
            (sel(&[("app", "web")], vec![]), true),
            (sel(&[("app", "db")], vec![]), false),
            (sel(&[], vec![req("tier", "In", &["fe", "be"])]), true),
            (sel(&[], vec![req("tier", "In", &["be"])]), false),
            (sel(&[], vec![req("tier", "NotIn", &["be"])]), true),
            (sel(&[], vec![req("zone", "NotIn", &["a"])]), true),
            (sel(&[], vec![req("tier", "NotIn", &["fe"])]), false),
            (sel(&[], vec![req("app", "Exists", &[])]), true),
            (sel(&[], vec![req("zone", "Exists", &[])]), false),
            (sel(&[], vec![req("zone", "DoesNotExist", &[])]), true),
            (sel(&[], vec![req("app", "DoesNotExist", &[])]), false),
            // Invalid selectors match nothing.
            (sel(&[], vec![req("app", "In", &[])]), false),
            (sel(&[], vec![req("app", "Exists", &["x"])]), false),
            (sel(&[], vec![req("app", "Bogus", &["web"])]), false),
            (
                sel(
                    &[],
                    vec![req("zone", "DoesNotExist", &[]), req("app", "Gt", &["1"])],
                ),
                false,
            ),
        ];
        for (i, (s, want)) in cases.into_iter().enumerate() {
            assert_eq!(selector_matches(&s, Some(&l)), want, "case {i}");
        }
        assert!(selector_matches(&sel(&[], vec![]), None));
        assert!(!selector_matches(&sel(&[("a", "b")], vec![]), None));
    }

    #[test]
    fn event_strings() {
        assert_eq!(
            created_pod_event_message("foobar-abcde"),
            "Created pod: foobar-abcde"
        );
        assert_eq!(error_creating_event_message("boom"), "Error creating: boom");
        assert_eq!(deleted_pod_event_message("p"), "Deleted pod: p");
        assert_eq!(error_deleting_event_message("boom"), "Error deleting: boom");
        assert_eq!(
            unable_to_delete_error("boom"),
            "unable to delete pods: boom"
        );
    }

    #[test]
    fn merge_sort_is_stable_and_total() {
        let mut v: Vec<usize> = vec![5, 3, 9, 1, 3, 7, 0, 8, 2, 6, 4];
        merge_sort_by(&mut v, &|a, b| a / 2 < b / 2);
        assert_eq!(v, vec![1, 0, 3, 3, 2, 5, 4, 7, 6, 9, 8]);
        // An inconsistent comparator must not panic.
        let mut w: Vec<usize> = (0..50).collect();
        merge_sort_by(&mut w, &|a, b| (a * 7 + b) % 3 == 0);
        assert_eq!(w.len(), 50);
    }
}
