//! Pure decision logic of the Deployment controller (kube-controller-manager's
//! `pkg/controller/deployment`): given the observed Deployment, the ReplicaSets it owns and
//! (for `Recreate`) their pods, [`plan`] returns the writes upstream's `syncDeployment` would
//! perform in one sync, plus events and a requeue hint. No I/O, no clock, no randomness.
//!
//! # Contract of [`plan`]
//!
//! * Input: the Deployment as stored (status included), the ReplicaSets whose controller
//!   ownerReference points at it (adoption/orphaning is the I/O loop's job, as upstream's
//!   `ClaimReplicaSets`), and pods grouped by the UID of their controlling ReplicaSet (only
//!   consulted by `Recreate`).
//! * Output, in order: ReplicaSet writes (`CreateReplicaSet`, `UpdateReplicaSet`,
//!   `DeleteReplicaSet`) interleaved with the `Event`s that follow them, then at most one
//!   `UpdateDeploymentAnnotations`, at most one `UpdateDeploymentStatus`, then at most one of
//!   `RequeueAfter` / `Fail`.
//! * The I/O loop applies the actions in order and stops at the first failed write (then
//!   requeues with rate limiting, like an error returned from upstream's `syncDeployment`).
//!   Every write changes an object the loop watches, which triggers the next sync; the
//!   controller never needs more than "sync again on any change" plus `RequeueAfter`.
//! * Upstream sometimes writes the same object twice in one sync (e.g. the revision/condition
//!   status update in `getNewReplicaSet` and the final one in `syncRolloutStatus`, or two
//!   scale-downs of one old ReplicaSet); here such writes are merged into one write carrying the
//!   final value. Everything else (which ReplicaSets get scaled, by how much, which step ends
//!   the sync) follows upstream step for step: one rollout step per sync.
//! * `UpdateDeploymentAnnotations` carries the complete desired `metadata.annotations` (only the
//!   `deployment.kubernetes.io/revision` key is ever changed). Upstream writes it through the
//!   `/status` subresource together with the status (the deployment status strategy keeps
//!   metadata changes other than labels); the loop may do the same or PATCH it separately.
//! * `UpdateReplicaSet` carries the complete desired `spec.replicas`, `spec.minReadySeconds` and
//!   `metadata.annotations`; upstream PUTs the whole object with those fields changed.
//! * If a `CreateReplicaSet` fails with AlreadyExists, call [`on_create_already_exists`]; for any
//!   other create error call [`on_create_failed`] (upstream's `ReplicaSetCreateError` condition).
//! * `RequeueAfter(Duration::ZERO)` means "requeue now, rate limited" (upstream's
//!   `enqueueRateLimited` in `requeueStuckDeployment`); otherwise requeue after the duration.
//!   `minReadySeconds` needs no requeue here: availability is computed by the ReplicaSet
//!   controller, whose status change triggers the next Deployment sync.
//!
//! Upstream sources: `pkg/controller/deployment/{deployment_controller,sync,rolling,recreate,
//! progress}.go`, `pkg/controller/deployment/util/deployment_util.go`,
//! `pkg/controller/controller_utils.go` (`ComputeHash`, sort orders, `FilterActiveReplicaSets`).

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use k8s_openapi::api::apps::v1::{
    Deployment, DeploymentCondition, DeploymentStatus, ReplicaSet, ReplicaSetSpec,
};
use k8s_openapi::api::core::v1::PodTemplateSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, OwnerReference, Time};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::Value;

use super::cached_pod::Pod;

/// Label added to ReplicaSets, their selectors and pod templates (`apps.DefaultDeploymentUniqueLabelKey`).
pub const DEFAULT_DEPLOYMENT_UNIQUE_LABEL_KEY: &str = "pod-template-hash";
/// Rollout sequence number of a ReplicaSet / Deployment.
pub const REVISION_ANNOTATION: &str = "deployment.kubernetes.io/revision";
/// Old revisions a re-used ReplicaSet has served.
pub const REVISION_HISTORY_ANNOTATION: &str = "deployment.kubernetes.io/revision-history";
/// Deployment `spec.replicas` recorded on its ReplicaSets.
pub const DESIRED_REPLICAS_ANNOTATION: &str = "deployment.kubernetes.io/desired-replicas";
/// Deployment `spec.replicas + maxSurge` recorded on its ReplicaSets.
pub const MAX_REPLICAS_ANNOTATION: &str = "deployment.kubernetes.io/max-replicas";
/// `kubectl apply` annotation, never copied to ReplicaSets.
pub const LAST_APPLIED_CONFIG_ANNOTATION: &str = "kubectl.kubernetes.io/last-applied-configuration";
/// Round-tripped `extensions/v1beta1` `spec.rollbackTo`, never copied to ReplicaSets.
pub const DEPRECATED_ROLLBACK_TO: &str = "deprecated.deployment.rollback.to";

/// Condition type `Progressing`.
pub const CONDITION_PROGRESSING: &str = "Progressing";
/// Condition type `Available`.
pub const CONDITION_AVAILABLE: &str = "Available";
/// Condition type `ReplicaFailure`.
pub const CONDITION_REPLICA_FAILURE: &str = "ReplicaFailure";

/// Progressing reason: a replica set was scaled as part of the rollout.
pub const REPLICA_SET_UPDATED_REASON: &str = "ReplicaSetUpdated";
/// Progressing reason: creating the new replica set failed.
pub const FAILED_RS_CREATE_REASON: &str = "ReplicaSetCreateError";
/// Progressing reason: the new replica set was created.
pub const NEW_REPLICA_SET_REASON: &str = "NewReplicaSetCreated";
/// Progressing reason: an existing new replica set was found.
pub const FOUND_NEW_RS_REASON: &str = "FoundNewReplicaSet";
/// Progressing reason: the rollout completed.
pub const NEW_RS_AVAILABLE_REASON: &str = "NewReplicaSetAvailable";
/// Progressing reason: no progress within `progressDeadlineSeconds`.
pub const TIMED_OUT_REASON: &str = "ProgressDeadlineExceeded";
/// Progressing reason: the deployment is paused.
pub const PAUSED_DEPLOY_REASON: &str = "DeploymentPaused";
/// Progressing reason: the deployment was resumed.
pub const RESUMED_DEPLOY_REASON: &str = "DeploymentResumed";
/// Available reason: enough replicas are available.
pub const MINIMUM_REPLICAS_AVAILABLE: &str = "MinimumReplicasAvailable";
/// Available reason: not enough replicas are available.
pub const MINIMUM_REPLICAS_UNAVAILABLE: &str = "MinimumReplicasUnavailable";

/// `maxRevHistoryLengthInChars` in sync.go.
pub const MAX_REV_HISTORY_LENGTH_IN_CHARS: usize = 2000;

const STRATEGY_ROLLING_UPDATE: &str = "RollingUpdate";
const STRATEGY_RECREATE: &str = "Recreate";
const MAX_INT32: i32 = i32::MAX;

/// What the I/O loop observed for one Deployment.
#[derive(Debug, Clone)]
pub struct Observed<'a> {
    /// The Deployment as stored.
    pub deployment: &'a Deployment,
    /// ReplicaSets controlled by the Deployment (controller ownerReference UID matches).
    pub replica_sets: Vec<&'a ReplicaSet>,
    /// Pods keyed by the UID of their controlling ReplicaSet (every owned RS may have an entry).
    pub pods_by_rs_uid: &'a BTreeMap<String, Vec<Pod>>,
}

/// One write (or hint) decided by [`plan`]. See the module docs for the contract.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// POST this ReplicaSet (name `<deployment>-<pod-template-hash>`).
    CreateReplicaSet(Box<ReplicaSet>),
    /// PUT the named ReplicaSet with these complete values.
    UpdateReplicaSet {
        /// ReplicaSet name.
        name: String,
        /// Desired `spec.replicas`.
        replicas: i32,
        /// Desired `spec.minReadySeconds` (`None` = 0).
        min_ready_seconds: Option<i32>,
        /// Complete desired `metadata.annotations`.
        annotations: BTreeMap<String, String>,
    },
    /// DELETE the named ReplicaSet (revision history cleanup).
    DeleteReplicaSet {
        /// ReplicaSet name.
        name: String,
    },
    /// Complete desired `metadata.annotations` of the Deployment.
    UpdateDeploymentAnnotations(BTreeMap<String, String>),
    /// Complete desired `status` of the Deployment (zero counts omitted as on upstream's wire).
    UpdateDeploymentStatus(DeploymentStatus),
    /// Record an event on the Deployment (source component `deployment-controller`).
    Event {
        /// `Normal` or `Warning`.
        type_: String,
        /// Event reason.
        reason: String,
        /// Event message.
        message: String,
    },
    /// Sync this Deployment again after the duration (`ZERO` = now, rate limited).
    RequeueAfter(Duration),
    /// Upstream's sync would return this error: log it and requeue with rate limiting.
    Fail(String),
}

// ---------------------------------------------------------------------------------------------
// Small accessors (with the API server's defaults for absent fields)
// ---------------------------------------------------------------------------------------------

fn d_replicas(d: &Deployment) -> i32 {
    d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1)
}

fn d_strategy_type(d: &Deployment) -> &str {
    d.spec
        .as_ref()
        .and_then(|s| s.strategy.as_ref())
        .and_then(|s| s.type_.as_deref())
        .unwrap_or(STRATEGY_ROLLING_UPDATE)
}

fn d_paused(d: &Deployment) -> bool {
    d.spec.as_ref().and_then(|s| s.paused).unwrap_or(false)
}

fn d_min_ready_seconds(d: &Deployment) -> i32 {
    d.spec
        .as_ref()
        .and_then(|s| s.min_ready_seconds)
        .unwrap_or(0)
}

fn d_name(d: &Deployment) -> &str {
    d.metadata.name.as_deref().unwrap_or("")
}

/// maxSurge / maxUnavailable as defaulted by the API server (25% each when absent).
fn d_rolling_params(d: &Deployment) -> (IntOrString, IntOrString) {
    let default = || IntOrString::String("25%".to_string());
    match d
        .spec
        .as_ref()
        .and_then(|s| s.strategy.as_ref())
        .and_then(|s| s.rolling_update.as_ref())
    {
        Some(ru) => (
            ru.max_surge.clone().unwrap_or_else(default),
            ru.max_unavailable.clone().unwrap_or_else(default),
        ),
        None => (default(), default()),
    }
}

fn d_template(d: &Deployment) -> PodTemplateSpec {
    d.spec
        .as_ref()
        .map(|s| s.template.clone())
        .unwrap_or_default()
}

fn d_status(d: &Deployment) -> DeploymentStatus {
    d.status.clone().unwrap_or_default()
}

fn rs_name(rs: &ReplicaSet) -> &str {
    rs.metadata.name.as_deref().unwrap_or("")
}

fn rs_template(rs: &ReplicaSet) -> PodTemplateSpec {
    rs.spec
        .as_ref()
        .and_then(|s| s.template.clone())
        .unwrap_or_default()
}

fn rs_replicas(rs: &ReplicaSet) -> i32 {
    rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1)
}

fn set_rs_replicas(rs: &mut ReplicaSet, n: i32) {
    rs.spec.get_or_insert_with(ReplicaSetSpec::default).replicas = Some(n);
}

fn rs_status_replicas(rs: &ReplicaSet) -> i32 {
    rs.status.as_ref().map(|s| s.replicas).unwrap_or(0)
}

fn rs_available(rs: &ReplicaSet) -> i32 {
    rs.status
        .as_ref()
        .and_then(|s| s.available_replicas)
        .unwrap_or(0)
}

fn rs_ready(rs: &ReplicaSet) -> i32 {
    rs.status
        .as_ref()
        .and_then(|s| s.ready_replicas)
        .unwrap_or(0)
}

fn rs_annotation<'a>(rs: &'a ReplicaSet, key: &str) -> Option<&'a String> {
    rs.metadata.annotations.as_ref().and_then(|a| a.get(key))
}

fn time_secs(t: Option<&Time>) -> i64 {
    // A missing timestamp is Go's zero time (year 1), i.e. older than everything.
    t.map(|t| t.0.as_second()).unwrap_or(i64::MIN)
}

/// A `metav1.Time` for `now`, truncated to seconds as it is serialized.
fn to_time(now: DateTime<Utc>) -> Time {
    Time(
        k8s_openapi::jiff::Timestamp::from_second(now.timestamp())
            .unwrap_or(k8s_openapi::jiff::Timestamp::UNIX_EPOCH),
    )
}

fn from_time(t: &Time) -> DateTime<Utc> {
    let nanos = u32::try_from(t.0.subsec_nanosecond()).unwrap_or(0);
    DateTime::from_timestamp(t.0.as_second(), nanos).unwrap_or_default()
}

/// `ReplicaSetsByCreationTimestamp.Less`: older first, name as tie breaker.
fn rs_older(a: &ReplicaSet, b: &ReplicaSet) -> bool {
    let (ta, tb) = (
        time_secs(a.metadata.creation_timestamp.as_ref()),
        time_secs(b.metadata.creation_timestamp.as_ref()),
    );
    if ta == tb {
        rs_name(a) < rs_name(b)
    } else {
        ta < tb
    }
}

/// Insertion sort with a Go-style `Less`; never panics on inconsistent orders (Go's
/// `sort.Sort` also uses insertion sort for the short slices seen here).
fn sort_by_less<T>(v: &mut [T], less: impl Fn(&T, &T) -> bool) {
    for i in 1..v.len() {
        let mut j = i;
        while j > 0 && less(&v[j], &v[j - 1]) {
            v.swap(j, j - 1);
            j -= 1;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// intstr / fenceposts
// ---------------------------------------------------------------------------------------------

/// `intstr.GetScaledValueFromIntOrPercent`: an int, or `"N%"` of `total` rounded up or down.
pub fn get_scaled_value_from_int_or_percent(
    v: &IntOrString,
    total: i32,
    round_up: bool,
) -> Result<i32, String> {
    match v {
        IntOrString::Int(i) => Ok(*i),
        IntOrString::String(s) => {
            let Some(num) = s.strip_suffix('%') else {
                return Err(
                    "invalid value for IntOrString: invalid type: string is not a percentage"
                        .to_string(),
                );
            };
            let value: i64 = num.parse().map_err(|_| {
                format!(
                    "invalid value for IntOrString: invalid value \"{s}\": strconv.Atoi: parsing \"{num}\": invalid syntax"
                )
            })?;
            let scaled = value as f64 * f64::from(total) / 100.0;
            let r = if round_up {
                scaled.ceil()
            } else {
                scaled.floor()
            };
            Ok(r as i32)
        }
    }
}

/// `ResolveFenceposts`: maxSurge rounds up, maxUnavailable rounds down, absent values are 0,
/// and if both resolve to 0 maxUnavailable becomes 1. Returns `(surge, unavailable)`.
pub fn resolve_fenceposts(
    max_surge: Option<&IntOrString>,
    max_unavailable: Option<&IntOrString>,
    desired: i32,
) -> Result<(i32, i32), String> {
    let zero = IntOrString::Int(0);
    let surge = get_scaled_value_from_int_or_percent(max_surge.unwrap_or(&zero), desired, true)?;
    let mut unavailable =
        get_scaled_value_from_int_or_percent(max_unavailable.unwrap_or(&zero), desired, false)?;
    if surge == 0 && unavailable == 0 {
        unavailable = 1;
    }
    Ok((surge, unavailable))
}

/// `IsRollingUpdate`.
pub fn is_rolling_update(d: &Deployment) -> bool {
    d_strategy_type(d) == STRATEGY_ROLLING_UPDATE
}

/// `MaxUnavailable`: 0 unless rolling; capped at `spec.replicas`; invalid values count as 0.
pub fn max_unavailable(d: &Deployment) -> i32 {
    let replicas = d_replicas(d);
    if !is_rolling_update(d) || replicas == 0 {
        return 0;
    }
    let (surge, unavail) = d_rolling_params(d);
    let (_, mu) = resolve_fenceposts(Some(&surge), Some(&unavail), replicas).unwrap_or((0, 0));
    mu.min(replicas)
}

/// `MinAvailable`: `spec.replicas - MaxUnavailable` for rolling deployments, else 0.
pub fn min_available(d: &Deployment) -> i32 {
    if !is_rolling_update(d) {
        return 0;
    }
    d_replicas(d).saturating_sub(max_unavailable(d))
}

/// `MaxSurge`: 0 unless rolling; invalid values count as 0.
pub fn max_surge(d: &Deployment) -> i32 {
    if !is_rolling_update(d) {
        return 0;
    }
    let (surge, unavail) = d_rolling_params(d);
    resolve_fenceposts(Some(&surge), Some(&unavail), d_replicas(d))
        .map(|(s, _)| s)
        .unwrap_or(0)
}

// ---------------------------------------------------------------------------------------------
// Replica counting
// ---------------------------------------------------------------------------------------------

/// `GetReplicaCountForReplicaSets`: sum of `spec.replicas`.
pub fn get_replica_count_for_replica_sets(rss: &[&ReplicaSet]) -> i32 {
    rss.iter()
        .map(|rs| rs_replicas(rs))
        .fold(0, i32::saturating_add)
}

/// `GetActualReplicaCountForReplicaSets`: sum of `status.replicas`.
pub fn get_actual_replica_count_for_replica_sets(rss: &[&ReplicaSet]) -> i32 {
    rss.iter()
        .map(|rs| rs_status_replicas(rs))
        .fold(0, i32::saturating_add)
}

/// `GetReadyReplicaCountForReplicaSets`: sum of `status.readyReplicas`.
pub fn get_ready_replica_count_for_replica_sets(rss: &[&ReplicaSet]) -> i32 {
    rss.iter()
        .map(|rs| rs_ready(rs))
        .fold(0, i32::saturating_add)
}

/// `GetAvailableReplicaCountForReplicaSets`: sum of `status.availableReplicas`.
pub fn get_available_replica_count_for_replica_sets(rss: &[&ReplicaSet]) -> i32 {
    rss.iter()
        .map(|rs| rs_available(rs))
        .fold(0, i32::saturating_add)
}

/// `NewRSNewReplicas`: the size the new ReplicaSet may have now.
pub fn new_rs_new_replicas(
    d: &Deployment,
    all_rss: &[&ReplicaSet],
    new_rs: &ReplicaSet,
) -> Result<i32, String> {
    match d_strategy_type(d) {
        STRATEGY_ROLLING_UPDATE => {
            let (surge, _) = d_rolling_params(d);
            let max_surge = get_scaled_value_from_int_or_percent(&surge, d_replicas(d), true)?;
            let current = get_replica_count_for_replica_sets(all_rss);
            let max_total = d_replicas(d).saturating_add(max_surge);
            let new_replicas = rs_replicas(new_rs);
            if current >= max_total {
                return Ok(new_replicas);
            }
            let scale_up = max_total
                .saturating_sub(current)
                .min(d_replicas(d).saturating_sub(new_replicas));
            Ok(new_replicas.saturating_add(scale_up))
        }
        STRATEGY_RECREATE => Ok(d_replicas(d)),
        other => Err(format!("deployment type {other} isn't supported")),
    }
}

fn get_int_from_annotation(rs: &ReplicaSet, key: &str) -> Option<i32> {
    // strconv.Atoi then int32(): wraps like Go on (absurd) overflow.
    rs_annotation(rs, key)
        .and_then(|v| v.parse::<i64>().ok())
        .map(|v| v as i32)
}

/// `GetDesiredReplicasAnnotation`.
pub fn get_desired_replicas_annotation(rs: &ReplicaSet) -> Option<i32> {
    get_int_from_annotation(rs, DESIRED_REPLICAS_ANNOTATION)
}

/// `getMaxReplicasAnnotation`.
pub fn get_max_replicas_annotation(rs: &ReplicaSet) -> Option<i32> {
    get_int_from_annotation(rs, MAX_REPLICAS_ANNOTATION)
}

/// `getReplicaSetFraction`: how many replicas `rs` gains/loses in a proportional scale.
fn get_replica_set_fraction(rs: &ReplicaSet, d: &Deployment) -> i32 {
    if d_replicas(d) == 0 {
        return 0i32.saturating_sub(rs_replicas(rs));
    }
    let deployment_replicas = d_replicas(d).saturating_add(max_surge(d));
    let annotated =
        get_max_replicas_annotation(rs).unwrap_or_else(|| d_status(d).replicas.unwrap_or(0));
    let new_size =
        (i64::from(rs_replicas(rs)) * i64::from(deployment_replicas)) as f64 / f64::from(annotated);
    // integer.RoundToInt32 = int32(math.Round(x)) (half away from zero); saturating here.
    (new_size.round() as i32).saturating_sub(rs_replicas(rs))
}

/// `GetReplicaSetProportion` (formerly `GetProportion`).
pub fn get_replica_set_proportion(
    rs: Option<&ReplicaSet>,
    d: &Deployment,
    to_add: i32,
    added: i32,
) -> i32 {
    let Some(rs) = rs else { return 0 };
    if rs_replicas(rs) == 0 || to_add == 0 || to_add == added {
        return 0;
    }
    let fraction = get_replica_set_fraction(rs, d);
    let allowed = to_add.saturating_sub(added);
    if to_add > 0 {
        fraction.min(allowed)
    } else {
        fraction.max(allowed)
    }
}

// ---------------------------------------------------------------------------------------------
// Annotations and revisions
// ---------------------------------------------------------------------------------------------

/// `Revision`: the revision annotation (missing = 0; `Err` if unparsable).
pub fn revision(annotations: Option<&BTreeMap<String, String>>) -> Result<i64, String> {
    match annotations.and_then(|a| a.get(REVISION_ANNOTATION)) {
        None => Ok(0),
        Some(v) => v
            .parse::<i64>()
            .map_err(|_| format!("strconv.ParseInt: parsing \"{v}\": invalid syntax")),
    }
}

/// `MaxRevision`: highest parsable revision among the ReplicaSets (0 if none).
pub fn max_revision(rss: &[&ReplicaSet]) -> i64 {
    rss.iter()
        .filter_map(|rs| revision(rs.metadata.annotations.as_ref()).ok())
        .fold(0, i64::max)
}

/// `SetReplicasAnnotations`; returns whether anything changed.
pub fn set_replicas_annotations(rs: &mut ReplicaSet, desired: i32, max: i32) -> bool {
    let ann = rs.metadata.annotations.get_or_insert_with(BTreeMap::new);
    let mut updated = false;
    for (k, v) in [
        (DESIRED_REPLICAS_ANNOTATION, desired.to_string()),
        (MAX_REPLICAS_ANNOTATION, max.to_string()),
    ] {
        if ann.get(k) != Some(&v) {
            ann.insert(k.to_string(), v);
            updated = true;
        }
    }
    updated
}

/// `ReplicasAnnotationsNeedUpdate`.
pub fn replicas_annotations_need_update(rs: &ReplicaSet, desired: i32, max: i32) -> bool {
    let Some(ann) = rs.metadata.annotations.as_ref() else {
        return true;
    };
    ann.get(DESIRED_REPLICAS_ANNOTATION) != Some(&desired.to_string())
        || ann.get(MAX_REPLICAS_ANNOTATION) != Some(&max.to_string())
}

fn skip_copy_annotation(key: &str) -> bool {
    matches!(
        key,
        LAST_APPLIED_CONFIG_ANNOTATION
            | REVISION_ANNOTATION
            | REVISION_HISTORY_ANNOTATION
            | DESIRED_REPLICAS_ANNOTATION
            | MAX_REPLICAS_ANNOTATION
            | DEPRECATED_ROLLBACK_TO
    )
}

/// `SetNewReplicaSetAnnotations`: copy the deployment's annotations (minus the skip list), bump
/// the revision (recording the previous one in `revision-history` when an existing ReplicaSet is
/// re-used), and for a ReplicaSet about to be created add the replicas annotations. Returns
/// whether the annotations changed.
pub fn set_new_replica_set_annotations(
    d: &Deployment,
    rs: &mut ReplicaSet,
    new_revision: &str,
    exists: bool,
    rev_history_limit_in_chars: usize,
) -> bool {
    let ann = rs.metadata.annotations.get_or_insert_with(BTreeMap::new);
    let mut changed = false;
    if let Some(d_ann) = d.metadata.annotations.as_ref() {
        for (k, v) in d_ann {
            if skip_copy_annotation(k) || ann.get(k) == Some(v) {
                continue;
            }
            ann.insert(k.clone(), v.clone());
            changed = true;
        }
    }
    let old_revision = ann.get(REVISION_ANNOTATION).cloned();
    let had_revision = old_revision.is_some();
    let old_revision = old_revision.unwrap_or_default();
    let old_rev_int = match old_revision.parse::<i64>() {
        Ok(v) => v,
        Err(_) if old_revision.is_empty() => 0,
        Err(_) => return false,
    };
    let Ok(new_rev_int) = new_revision.parse::<i64>() else {
        return false;
    };
    if old_rev_int < new_rev_int {
        ann.insert(REVISION_ANNOTATION.to_string(), new_revision.to_string());
        changed = true;
    }
    if had_revision && old_rev_int < new_rev_int {
        let history = ann
            .get(REVISION_HISTORY_ANNOTATION)
            .cloned()
            .unwrap_or_default();
        let old_revisions: Vec<&str> = history.split(',').collect();
        if old_revisions.first().is_none_or(|s| s.is_empty()) {
            ann.insert(REVISION_HISTORY_ANNOTATION.to_string(), old_revision);
        } else {
            let mut total_len = history.len() + old_revision.len() + 1;
            let mut start = 0;
            while total_len > rev_history_limit_in_chars && start < old_revisions.len() {
                total_len = total_len.saturating_sub(old_revisions[start].len() + 1);
                start += 1;
            }
            if total_len <= rev_history_limit_in_chars {
                let mut kept: Vec<&str> = old_revisions[start..].to_vec();
                kept.push(&old_revision);
                ann.insert(REVISION_HISTORY_ANNOTATION.to_string(), kept.join(","));
            }
        }
    }
    if !exists
        && set_replicas_annotations(
            rs,
            d_replicas(d),
            d_replicas(d).saturating_add(max_surge(d)),
        )
    {
        changed = true;
    }
    changed
}

/// `SetDeploymentRevision`; returns whether the annotation changed.
pub fn set_deployment_revision(d: &mut Deployment, revision: &str) -> bool {
    let ann = d.metadata.annotations.get_or_insert_with(BTreeMap::new);
    if ann.get(REVISION_ANNOTATION).map(String::as_str) != Some(revision) {
        ann.insert(REVISION_ANNOTATION.to_string(), revision.to_string());
        return true;
    }
    false
}

// ---------------------------------------------------------------------------------------------
// Pod template hash and template equality
// ---------------------------------------------------------------------------------------------

const SAFE_ALPHANUMS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// `rand.SafeEncodeString`: maps every character onto a vowel-free alphabet.
pub fn safe_encode_string(s: &str) -> String {
    s.chars()
        .map(|c| SAFE_ALPHANUMS[(c as usize) % SAFE_ALPHANUMS.len()] as char)
        .collect()
}

fn fnv32a(hash: u32, bytes: &[u8]) -> u32 {
    bytes
        .iter()
        .fold(hash, |h, b| (h ^ u32::from(*b)).wrapping_mul(0x0100_0193))
}

/// `controller.ComputeHash`, with the template's canonical JSON standing in for Go's `spew` dump
/// (so values differ from upstream's, but have the same shape and properties): FNV-32a over the
/// JSON, then (if set) the collision count as 8 little-endian bytes, rendered in decimal and
/// passed through `SafeEncodeString`.
pub fn pod_template_hash(template: &PodTemplateSpec, collision_count: Option<i32>) -> String {
    let json = serde_json::to_vec(template).unwrap_or_default();
    let mut h = fnv32a(0x811c_9dc5, &json);
    if let Some(c) = collision_count {
        let mut buf = [0u8; 8];
        buf[..4].copy_from_slice(&(c as u32).to_le_bytes());
        h = fnv32a(h, &buf);
    }
    safe_encode_string(&h.to_string())
}

/// Drop nulls, empty arrays and empty objects (Go's semantic equality treats nil and empty
/// slices/maps alike).
fn prune_empty(v: &mut Value) -> bool {
    match v {
        Value::Null => true,
        Value::Array(a) => {
            for x in a.iter_mut() {
                prune_empty(x);
            }
            a.is_empty()
        }
        Value::Object(m) => {
            let keys: Vec<String> = m.keys().cloned().collect();
            for k in keys {
                if m.get_mut(&k).is_some_and(prune_empty) {
                    m.remove(&k);
                }
            }
            m.is_empty()
        }
        _ => false,
    }
}

fn template_value_ignoring_hash(t: &PodTemplateSpec) -> Value {
    let mut t = t.clone();
    if let Some(labels) = t.metadata.as_mut().and_then(|m| m.labels.as_mut()) {
        labels.remove(DEFAULT_DEPLOYMENT_UNIQUE_LABEL_KEY);
    }
    let mut v = serde_json::to_value(&t).unwrap_or(Value::Null);
    prune_empty(&mut v);
    v
}

/// `EqualIgnoreHash`: templates equal apart from the `pod-template-hash` label.
pub fn equal_ignore_hash(t1: &PodTemplateSpec, t2: &PodTemplateSpec) -> bool {
    template_value_ignoring_hash(t1) == template_value_ignoring_hash(t2)
}

/// `FindNewReplicaSet`: the oldest ReplicaSet whose template equals the deployment's.
pub fn find_new_replica_set<'a>(d: &Deployment, rss: &[&'a ReplicaSet]) -> Option<&'a ReplicaSet> {
    let template = d_template(d);
    let mut sorted: Vec<&'a ReplicaSet> = rss.to_vec();
    sort_by_less(&mut sorted, |a, b| rs_older(a, b));
    sorted
        .into_iter()
        .find(|rs| equal_ignore_hash(&rs_template(rs), &template))
}

// ---------------------------------------------------------------------------------------------
// Conditions and status
// ---------------------------------------------------------------------------------------------

/// `NewDeploymentCondition` with both timestamps set to `now` (truncated to seconds).
pub fn new_deployment_condition(
    type_: &str,
    status: &str,
    reason: &str,
    message: &str,
    now: DateTime<Utc>,
) -> DeploymentCondition {
    DeploymentCondition {
        type_: type_.to_string(),
        status: status.to_string(),
        last_update_time: Some(to_time(now)),
        last_transition_time: Some(to_time(now)),
        reason: Some(reason.to_string()),
        message: Some(message.to_string()),
    }
}

/// `GetDeploymentCondition`.
pub fn get_deployment_condition<'a>(
    status: &'a DeploymentStatus,
    type_: &str,
) -> Option<&'a DeploymentCondition> {
    status
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == type_)
}

fn cond_reason(c: &DeploymentCondition) -> &str {
    c.reason.as_deref().unwrap_or("")
}

/// `SetDeploymentCondition`: no-op if status and reason are unchanged; keeps
/// `lastTransitionTime` if only the reason changes; the condition moves to the end.
pub fn set_deployment_condition(status: &mut DeploymentStatus, mut cond: DeploymentCondition) {
    if let Some(cur) = get_deployment_condition(status, &cond.type_) {
        if cur.status == cond.status && cond_reason(cur) == cond_reason(&cond) {
            return;
        }
        if cur.status == cond.status {
            cond.last_transition_time = cur.last_transition_time.clone();
        }
    }
    remove_deployment_condition(status, &cond.type_);
    status.conditions.get_or_insert_with(Vec::new).push(cond);
}

/// `RemoveDeploymentCondition`.
pub fn remove_deployment_condition(status: &mut DeploymentStatus, type_: &str) {
    if let Some(conds) = status.conditions.as_mut() {
        conds.retain(|c| c.type_ != type_);
        if conds.is_empty() {
            status.conditions = None;
        }
    }
}

fn nz(v: Option<i32>) -> Option<i32> {
    v.filter(|v| *v != 0)
}

fn non_empty(s: &Option<String>) -> Option<String> {
    s.clone().filter(|s| !s.is_empty())
}

/// The status as upstream puts it on the wire (`omitempty`: zero counts and empty strings and
/// lists dropped), used both for output and for upstream's `reflect.DeepEqual` comparisons.
pub fn normalize_status(s: &DeploymentStatus) -> DeploymentStatus {
    let conditions: Vec<DeploymentCondition> = s
        .conditions
        .iter()
        .flatten()
        .map(|c| DeploymentCondition {
            type_: c.type_.clone(),
            status: c.status.clone(),
            last_update_time: c.last_update_time.clone(),
            last_transition_time: c.last_transition_time.clone(),
            reason: non_empty(&c.reason),
            message: non_empty(&c.message),
        })
        .collect();
    DeploymentStatus {
        available_replicas: nz(s.available_replicas),
        collision_count: s.collision_count,
        conditions: (!conditions.is_empty()).then_some(conditions),
        observed_generation: s.observed_generation.filter(|g| *g != 0),
        ready_replicas: nz(s.ready_replicas),
        replicas: nz(s.replicas),
        terminating_replicas: s.terminating_replicas,
        unavailable_replicas: nz(s.unavailable_replicas),
        updated_replicas: nz(s.updated_replicas),
    }
}

fn status_equal(a: &DeploymentStatus, b: &DeploymentStatus) -> bool {
    normalize_status(a) == normalize_status(b)
}

/// `calculateStatus`: counts from the ReplicaSets' statuses, conditions carried over, and the
/// `Available` condition recomputed.
pub fn calculate_status(
    all_rss: &[&ReplicaSet],
    new_rs: Option<&ReplicaSet>,
    d: &Deployment,
    now: DateTime<Utc>,
) -> DeploymentStatus {
    let available = get_available_replica_count_for_replica_sets(all_rss);
    let total = get_replica_count_for_replica_sets(all_rss);
    let unavailable = total.saturating_sub(available).max(0);
    let old = d_status(d);
    let updated = new_rs.map_or(0, rs_status_replicas);
    let mut status = DeploymentStatus {
        observed_generation: d.metadata.generation,
        replicas: Some(get_actual_replica_count_for_replica_sets(all_rss)),
        updated_replicas: Some(updated),
        ready_replicas: Some(get_ready_replica_count_for_replica_sets(all_rss)),
        available_replicas: Some(available),
        unavailable_replicas: Some(unavailable),
        collision_count: old.collision_count,
        conditions: old.conditions.clone(),
        terminating_replicas: None,
    };
    let cond = if available >= d_replicas(d).saturating_sub(max_unavailable(d)) {
        new_deployment_condition(
            CONDITION_AVAILABLE,
            "True",
            MINIMUM_REPLICAS_AVAILABLE,
            "Deployment has minimum availability.",
            now,
        )
    } else {
        new_deployment_condition(
            CONDITION_AVAILABLE,
            "False",
            MINIMUM_REPLICAS_UNAVAILABLE,
            "Deployment does not have minimum availability.",
            now,
        )
    };
    set_deployment_condition(&mut status, cond);
    normalize_status(&status)
}

/// `DeploymentComplete`: what `kubectl rollout status` ultimately waits for — all replicas
/// updated and available, no old replicas, and the current generation observed.
pub fn deployment_complete(d: &Deployment, status: &DeploymentStatus) -> bool {
    let r = d_replicas(d);
    status.updated_replicas.unwrap_or(0) == r
        && status.replicas.unwrap_or(0) == r
        && status.available_replicas.unwrap_or(0) == r
        && status.observed_generation.unwrap_or(0) >= d.metadata.generation.unwrap_or(0)
}

/// `DeploymentProgressing`: more updated/ready/available pods or fewer old pods than the
/// deployment's current status.
pub fn deployment_progressing(d: &Deployment, new_status: &DeploymentStatus) -> bool {
    let old = d_status(d);
    let g = |v: Option<i32>| v.unwrap_or(0);
    let old_old = i64::from(g(old.replicas)) - i64::from(g(old.updated_replicas));
    let new_old = i64::from(g(new_status.replicas)) - i64::from(g(new_status.updated_replicas));
    g(new_status.updated_replicas) > g(old.updated_replicas)
        || new_old < old_old
        || g(new_status.ready_replicas) > g(old.ready_replicas)
        || g(new_status.available_replicas) > g(old.available_replicas)
}

/// `HasProgressDeadline`: set and not `MaxInt32`.
pub fn has_progress_deadline(d: &Deployment) -> bool {
    d.spec
        .as_ref()
        .and_then(|s| s.progress_deadline_seconds)
        .is_some_and(|p| p != MAX_INT32)
}

/// `HasRevisionHistoryLimit`: set and not `MaxInt32`.
pub fn has_revision_history_limit(d: &Deployment) -> bool {
    d.spec
        .as_ref()
        .and_then(|s| s.revision_history_limit)
        .is_some_and(|p| p != MAX_INT32)
}

fn progress_deadline(d: &Deployment) -> chrono::Duration {
    chrono::Duration::seconds(i64::from(
        d.spec
            .as_ref()
            .and_then(|s| s.progress_deadline_seconds)
            .unwrap_or(0),
    ))
}

/// `DeploymentTimedOut`: the Progressing condition's `lastUpdateTime` plus
/// `progressDeadlineSeconds` lies before `now` (or it already says `ProgressDeadlineExceeded`).
pub fn deployment_timed_out(
    d: &Deployment,
    new_status: &DeploymentStatus,
    now: DateTime<Utc>,
) -> bool {
    if !has_progress_deadline(d) {
        return false;
    }
    let Some(cond) = get_deployment_condition(new_status, CONDITION_PROGRESSING) else {
        return false;
    };
    match cond_reason(cond) {
        NEW_RS_AVAILABLE_REASON => return false,
        TIMED_OUT_REASON => return true,
        _ => {}
    }
    match cond.last_update_time.as_ref() {
        // Go's zero time plus any deadline is long past.
        None => true,
        Some(from) => from_time(from) + progress_deadline(d) < now,
    }
}

/// `requeueStuckDeployment`: when to check an unchanged, incomplete rollout for its deadline.
/// `Some(ZERO)` = now (rate limited); otherwise the remaining time plus one second.
pub fn requeue_stuck_deployment(
    d: &Deployment,
    new_status: &DeploymentStatus,
    now: DateTime<Utc>,
) -> Option<Duration> {
    let status = d_status(d);
    let cur = get_deployment_condition(&status, CONDITION_PROGRESSING)?;
    if !has_progress_deadline(d) {
        return None;
    }
    if deployment_complete(d, new_status) || cond_reason(cur) == TIMED_OUT_REASON {
        return None;
    }
    let last = cur
        .last_update_time
        .as_ref()
        .map(from_time)
        .unwrap_or_default();
    let after = last + progress_deadline(d) - now;
    if after < chrono::Duration::seconds(1) {
        return Some(Duration::ZERO);
    }
    let after = after.to_std().unwrap_or(Duration::ZERO);
    Some(after + Duration::from_secs(1))
}

/// `IsSaturated`: the new ReplicaSet owns all desired replicas and they are all available.
pub fn is_saturated(d: &Deployment, rs: Option<&ReplicaSet>) -> bool {
    let Some(rs) = rs else { return false };
    let Some(desired) =
        rs_annotation(rs, DESIRED_REPLICAS_ANNOTATION).and_then(|v| v.parse::<i64>().ok())
    else {
        return false;
    };
    let r = d_replicas(d);
    rs_replicas(rs) == r && desired as i32 == r && rs_available(rs) == r
}

// ---------------------------------------------------------------------------------------------
// Working state of one sync
// ---------------------------------------------------------------------------------------------

enum Op {
    Create(usize),
    Touch(usize),
    Delete(usize),
    Event(&'static str, &'static str, String),
}

/// The ReplicaSets as the sync sees them after its own writes (upstream keeps the objects
/// returned by its updates), plus the chronological record of writes and events.
struct Work {
    rss: Vec<ReplicaSet>,
    orig: Vec<Option<ReplicaSet>>,
    ops: Vec<Op>,
}

impl Work {
    fn new(rss: &[&ReplicaSet]) -> Self {
        let mut v: Vec<ReplicaSet> = rss.iter().map(|rs| (*rs).clone()).collect();
        // FindNewReplicaSet sorts the shared list by creation timestamp in place.
        sort_by_less(&mut v, rs_older);
        let orig = v.iter().cloned().map(Some).collect();
        Work {
            rss: v,
            orig,
            ops: Vec::new(),
        }
    }

    fn refs(&self, idx: &[usize]) -> Vec<&ReplicaSet> {
        idx.iter().filter_map(|i| self.rss.get(*i)).collect()
    }

    fn replicas(&self, i: usize) -> i32 {
        self.rss.get(i).map_or(0, rs_replicas)
    }

    fn event(&mut self, type_: &'static str, reason: &'static str, message: String) {
        self.ops.push(Op::Event(type_, reason, message));
    }

    fn touch(&mut self, i: usize) {
        self.ops.push(Op::Touch(i));
    }

    /// `scaleReplicaSet`: writes size and replicas annotations if either differs.
    fn scale_replica_set(&mut self, i: usize, new_scale: i32, d: &Deployment) -> bool {
        let desired = d_replicas(d);
        let max = desired.saturating_add(max_surge(d));
        let Some(rs) = self.rss.get_mut(i) else {
            return false;
        };
        let old_scale = rs_replicas(rs);
        let size_needs_update = old_scale != new_scale;
        let annotations_need_update = replicas_annotations_need_update(rs, desired, max);
        if !(size_needs_update || annotations_need_update) {
            return false;
        }
        set_rs_replicas(rs, new_scale);
        set_replicas_annotations(rs, desired, max);
        let name = rs_name(rs).to_string();
        self.touch(i);
        if size_needs_update {
            let op = if old_scale < new_scale { "up" } else { "down" };
            self.event(
                "Normal",
                "ScalingReplicaSet",
                format!("Scaled {op} replica set {name} from {old_scale} to {new_scale}"),
            );
        }
        size_needs_update
    }

    /// `scaleReplicaSetAndRecordEvent`: only if the size differs.
    fn scale_and_record(&mut self, i: usize, new_scale: i32, d: &Deployment) -> bool {
        if self.replicas(i) == new_scale {
            return false;
        }
        self.scale_replica_set(i, new_scale, d)
    }

    fn filter_active(&self, idx: &[usize]) -> Vec<usize> {
        idx.iter()
            .copied()
            .filter(|i| self.replicas(*i) > 0)
            .collect()
    }

    fn sort_by_creation(&self, idx: &mut [usize]) {
        let rss = &self.rss;
        sort_by_less(idx, |a, b| match (rss.get(*a), rss.get(*b)) {
            (Some(x), Some(y)) => rs_older(x, y),
            _ => false,
        });
    }

    // -- rolling.go --------------------------------------------------------------------------

    /// `reconcileNewReplicaSet`.
    fn reconcile_new_replica_set(
        &mut self,
        all: &[usize],
        new: usize,
        d: &Deployment,
    ) -> Result<bool, String> {
        let cur = self.replicas(new);
        let desired = d_replicas(d);
        if cur == desired {
            return Ok(false);
        }
        if cur > desired {
            return Ok(self.scale_and_record(new, desired, d));
        }
        let Some(new_rs) = self.rss.get(new) else {
            return Ok(false);
        };
        let count = new_rs_new_replicas(d, &self.refs(all), new_rs)?;
        Ok(self.scale_and_record(new, count, d))
    }

    /// `reconcileOldReplicaSets`.
    fn reconcile_old_replica_sets(
        &mut self,
        all: &[usize],
        old: &[usize],
        new: usize,
        d: &Deployment,
    ) -> bool {
        let old_pods = get_replica_count_for_replica_sets(&self.refs(old));
        if old_pods == 0 {
            return false;
        }
        let all_pods = get_replica_count_for_replica_sets(&self.refs(all));
        let min_available = d_replicas(d).saturating_sub(max_unavailable(d));
        let new_unavailable = self
            .rss
            .get(new)
            .map_or(0, |rs| rs_replicas(rs).saturating_sub(rs_available(rs)));
        let max_scaled_down = all_pods
            .saturating_sub(min_available)
            .saturating_sub(new_unavailable);
        if max_scaled_down <= 0 {
            return false;
        }
        let mut old = old.to_vec();
        let cleanup = self.cleanup_unhealthy_replicas(&mut old, d, max_scaled_down);
        let mut all2 = old.clone();
        all2.push(new);
        let scaled = self.scale_down_old_replica_sets_for_rolling_update(&all2, &mut old, d);
        cleanup.saturating_add(scaled) > 0
    }

    /// `cleanupUnhealthyReplicas`: scale old ReplicaSets down by their unavailable replicas.
    fn cleanup_unhealthy_replicas(
        &mut self,
        old: &mut [usize],
        d: &Deployment,
        max_cleanup: i32,
    ) -> i32 {
        self.sort_by_creation(old);
        let mut total = 0;
        for &i in old.iter() {
            if total >= max_cleanup {
                break;
            }
            let (replicas, available) = match self.rss.get(i) {
                Some(rs) => (rs_replicas(rs), rs_available(rs)),
                None => continue,
            };
            if replicas == 0 || replicas == available {
                continue;
            }
            let down = max_cleanup
                .saturating_sub(total)
                .min(replicas.saturating_sub(available));
            let new_count = replicas.saturating_sub(down);
            if new_count > replicas {
                // Upstream returns an error here, which reconcileOldReplicaSets swallows.
                return 0;
            }
            self.scale_and_record(i, new_count, d);
            total = total.saturating_add(down);
        }
        total
    }

    /// `scaleDownOldReplicaSetsForRollingUpdate`: scale old ReplicaSets down (oldest first) by
    /// the available pods above `minAvailable`.
    fn scale_down_old_replica_sets_for_rolling_update(
        &mut self,
        all: &[usize],
        old: &mut [usize],
        d: &Deployment,
    ) -> i32 {
        let min_available = d_replicas(d).saturating_sub(max_unavailable(d));
        let available = get_available_replica_count_for_replica_sets(&self.refs(all));
        if available <= min_available {
            return 0;
        }
        self.sort_by_creation(old);
        let mut total = 0;
        let target = available.saturating_sub(min_available);
        for &i in old.iter() {
            if total >= target {
                break;
            }
            let replicas = self.replicas(i);
            if replicas == 0 {
                continue;
            }
            let down = replicas.min(target.saturating_sub(total));
            self.scale_and_record(i, replicas.saturating_sub(down), d);
            total = total.saturating_add(down);
        }
        total
    }

    // -- sync.go -----------------------------------------------------------------------------

    /// `FindActiveOrLatest`.
    fn find_active_or_latest(&self, new: Option<usize>, old: &[usize]) -> Option<usize> {
        if new.is_none() && old.is_empty() {
            return None;
        }
        let mut old = old.to_vec();
        self.sort_by_creation(&mut old);
        old.reverse();
        let mut all = old.clone();
        all.extend(new);
        let active = self.filter_active(&all);
        match active.len() {
            0 => new.or_else(|| old.first().copied()),
            1 => active.first().copied(),
            _ => None,
        }
    }

    /// `scale`: proportional scaling on scaling events and while paused.
    fn scale(&mut self, d: &Deployment, new: Option<usize>, old: &[usize]) {
        let desired = d_replicas(d);
        if let Some(i) = self.find_active_or_latest(new, old) {
            if self.replicas(i) == desired {
                return;
            }
            self.scale_and_record(i, desired, d);
            return;
        }
        if is_saturated(d, new.and_then(|i| self.rss.get(i))) {
            for i in self.filter_active(old) {
                self.scale_and_record(i, 0, d);
            }
            return;
        }
        if !is_rolling_update(d) {
            return;
        }
        let mut all_idx = old.to_vec();
        all_idx.extend(new);
        let mut all = self.filter_active(&all_idx);
        let all_replicas = get_replica_count_for_replica_sets(&self.refs(&all));
        let allowed = if desired > 0 {
            desired.saturating_add(max_surge(d))
        } else {
            0
        };
        let to_add = allowed.saturating_sub(all_replicas);
        {
            let rss = &self.rss;
            let size = |i: &usize| rss.get(*i).map_or(0, rs_replicas);
            let older = |a: &usize, b: &usize| match (rss.get(*a), rss.get(*b)) {
                (Some(x), Some(y)) => rs_older(x, y),
                _ => false,
            };
            if to_add > 0 {
                // ReplicaSetsBySizeNewer
                sort_by_less(&mut all, |a, b| {
                    if size(a) == size(b) {
                        older(b, a)
                    } else {
                        size(a) > size(b)
                    }
                });
            } else if to_add < 0 {
                // ReplicaSetsBySizeOlder
                sort_by_less(&mut all, |a, b| {
                    if size(a) == size(b) {
                        older(a, b)
                    } else {
                        size(a) > size(b)
                    }
                });
            }
        }
        let mut added = 0;
        let mut sizes = Vec::with_capacity(all.len());
        for &i in &all {
            let cur = self.replicas(i);
            if to_add != 0 {
                let p = get_replica_set_proportion(self.rss.get(i), d, to_add, added);
                sizes.push(cur.saturating_add(p));
                added = added.saturating_add(p);
            } else {
                sizes.push(cur);
            }
        }
        for (n, &i) in all.iter().enumerate() {
            let mut size = sizes.get(n).copied().unwrap_or(0);
            if n == 0 && to_add != 0 {
                size = size.saturating_add(to_add.saturating_sub(added)).max(0);
            }
            self.scale_replica_set(i, size, d);
        }
    }

    /// `cleanupDeployment`: delete the oldest surplus old ReplicaSets that are fully scaled down.
    fn cleanup_deployment(&mut self, old: &[usize], d: &Deployment) {
        if !has_revision_history_limit(d) {
            return;
        }
        let limit = d
            .spec
            .as_ref()
            .and_then(|s| s.revision_history_limit)
            .unwrap_or(0);
        let mut cleanable: Vec<usize> = old
            .iter()
            .copied()
            .filter(|i| {
                self.rss
                    .get(*i)
                    .is_some_and(|rs| rs.metadata.deletion_timestamp.is_none())
            })
            .collect();
        let diff = i64::try_from(cleanable.len()).unwrap_or(i64::MAX) - i64::from(limit);
        if diff <= 0 {
            return;
        }
        {
            // ReplicaSetsByRevision
            let rss = &self.rss;
            sort_by_less(&mut cleanable, |a, b| match (rss.get(*a), rss.get(*b)) {
                (Some(x), Some(y)) => {
                    let rx = revision(x.metadata.annotations.as_ref());
                    let ry = revision(y.metadata.annotations.as_ref());
                    match (rx, ry) {
                        (Ok(rx), Ok(ry)) if rx != ry => rx < ry,
                        _ => rs_older(x, y),
                    }
                }
                _ => false,
            });
        }
        for &i in cleanable
            .iter()
            .take(usize::try_from(diff).unwrap_or(usize::MAX))
        {
            let Some(rs) = self.rss.get(i) else { continue };
            let generation = rs.metadata.generation.unwrap_or(0);
            let observed = rs
                .status
                .as_ref()
                .and_then(|s| s.observed_generation)
                .unwrap_or(0);
            if rs_status_replicas(rs) != 0
                || rs_replicas(rs) != 0
                || generation > observed
                || rs.metadata.deletion_timestamp.is_some()
            {
                continue;
            }
            self.ops.push(Op::Delete(i));
        }
    }

    // -- recreate.go -------------------------------------------------------------------------

    /// `oldPodsRunning`.
    fn old_pods_running(
        &self,
        new: Option<usize>,
        old: &[usize],
        pods: &BTreeMap<String, Vec<Pod>>,
    ) -> bool {
        if get_actual_replica_count_for_replica_sets(&self.refs(old)) > 0 {
            return true;
        }
        let new_uid = new
            .and_then(|i| self.rss.get(i))
            .and_then(|rs| rs.metadata.uid.clone());
        pods.iter()
            .filter(|(uid, _)| new_uid.as_deref() != Some(uid.as_str()))
            .flat_map(|(_, list)| list.iter())
            .any(|p| {
                let phase = p.status.as_ref().and_then(|s| s.phase.as_deref());
                !matches!(phase, Some("Failed") | Some("Succeeded"))
            })
    }
}

// ---------------------------------------------------------------------------------------------
// The sync itself
// ---------------------------------------------------------------------------------------------

struct Sync<'a> {
    d: Deployment,
    w: Work,
    now: DateTime<Utc>,
    pods: &'a BTreeMap<String, Vec<Pod>>,
    requeue: Option<Duration>,
}

impl Sync<'_> {
    fn status(&self) -> DeploymentStatus {
        d_status(&self.d)
    }

    fn set_condition(&mut self, cond: DeploymentCondition) {
        let mut st = self.status();
        set_deployment_condition(&mut st, cond);
        self.d.status = Some(st);
    }

    /// `getAllReplicaSetsAndSyncRevision` + `getNewReplicaSet`.
    fn get_all_and_sync_revision(
        &mut self,
        create: bool,
    ) -> Result<(Option<usize>, Vec<usize>), String> {
        let template = d_template(&self.d);
        let existing = (0..self.w.rss.len()).find(|i| {
            self.w
                .rss
                .get(*i)
                .is_some_and(|rs| equal_ignore_hash(&rs_template(rs), &template))
        });
        let old: Vec<usize> = (0..self.w.rss.len())
            .filter(|i| Some(*i) != existing)
            .collect();
        let new_revision = max_revision(&self.w.refs(&old))
            .saturating_add(1)
            .to_string();

        if let Some(i) = existing {
            let Some(mut copy) = self.w.rss.get(i).cloned() else {
                return Ok((None, old));
            };
            let ann_updated = set_new_replica_set_annotations(
                &self.d,
                &mut copy,
                &new_revision,
                true,
                MAX_REV_HISTORY_LENGTH_IN_CHARS,
            );
            let want_mrs = d_min_ready_seconds(&self.d);
            let has_mrs = copy
                .spec
                .as_ref()
                .and_then(|s| s.min_ready_seconds)
                .unwrap_or(0);
            if ann_updated || has_mrs != want_mrs {
                copy.spec
                    .get_or_insert_with(ReplicaSetSpec::default)
                    .min_ready_seconds = (want_mrs != 0).then_some(want_mrs);
                if let Some(slot) = self.w.rss.get_mut(i) {
                    *slot = copy;
                }
                self.w.touch(i);
                return Ok((Some(i), old));
            }
            let rev = rs_annotation(&copy, REVISION_ANNOTATION)
                .cloned()
                .unwrap_or_default();
            set_deployment_revision(&mut self.d, &rev);
            if has_progress_deadline(&self.d)
                && get_deployment_condition(&self.status(), CONDITION_PROGRESSING).is_none()
            {
                let msg = format!("Found new replica set \"{}\"", rs_name(&copy));
                let c = new_deployment_condition(
                    CONDITION_PROGRESSING,
                    "True",
                    FOUND_NEW_RS_REASON,
                    &msg,
                    self.now,
                );
                self.set_condition(c);
            }
            return Ok((Some(i), old));
        }
        if !create {
            return Ok((None, old));
        }

        // Create the new ReplicaSet.
        let collision_count = self.status().collision_count;
        let hash = pod_template_hash(&template, collision_count);
        let name = format!("{}-{}", d_name(&self.d), hash);
        if self.w.rss.iter().any(|rs| rs_name(rs) == name) {
            // Owned by us but a different template: a hash collision (sync.go bumps
            // collisionCount, writes the status and returns the AlreadyExists error).
            let mut st = self.status();
            st.collision_count = Some(st.collision_count.unwrap_or(0).saturating_add(1));
            self.d.status = Some(st);
            return Err(format!("replicasets.apps \"{name}\" already exists"));
        }
        let mut rs_template = template.clone();
        rs_template
            .metadata
            .get_or_insert_with(Default::default)
            .labels
            .get_or_insert_with(BTreeMap::new)
            .insert(
                DEFAULT_DEPLOYMENT_UNIQUE_LABEL_KEY.to_string(),
                hash.clone(),
            );
        let mut selector: LabelSelector = self
            .d
            .spec
            .as_ref()
            .map(|s| s.selector.clone())
            .unwrap_or_default();
        selector
            .match_labels
            .get_or_insert_with(BTreeMap::new)
            .insert(
                DEFAULT_DEPLOYMENT_UNIQUE_LABEL_KEY.to_string(),
                hash.clone(),
            );
        let mrs = d_min_ready_seconds(&self.d);
        let mut rs = ReplicaSet {
            metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
                name: Some(name.clone()),
                namespace: self.d.metadata.namespace.clone(),
                owner_references: Some(vec![OwnerReference {
                    api_version: "apps/v1".to_string(),
                    kind: "Deployment".to_string(),
                    name: d_name(&self.d).to_string(),
                    uid: self.d.metadata.uid.clone().unwrap_or_default(),
                    controller: Some(true),
                    block_owner_deletion: Some(true),
                }]),
                labels: rs_template.metadata.as_ref().and_then(|m| m.labels.clone()),
                ..Default::default()
            },
            spec: Some(ReplicaSetSpec {
                replicas: Some(0),
                min_ready_seconds: (mrs != 0).then_some(mrs),
                selector,
                template: Some(rs_template),
            }),
            status: None,
        };
        let count = {
            let mut all = self.w.refs(&old);
            all.push(&rs);
            new_rs_new_replicas(&self.d, &all, &rs)?
        };
        set_rs_replicas(&mut rs, count);
        set_new_replica_set_annotations(
            &self.d,
            &mut rs,
            &new_revision,
            false,
            MAX_REV_HISTORY_LENGTH_IN_CHARS,
        );
        self.w.rss.push(rs);
        self.w.orig.push(None);
        let idx = self.w.rss.len() - 1;
        self.w.ops.push(Op::Create(idx));
        if count > 0 {
            self.w.event(
                "Normal",
                "ScalingReplicaSet",
                format!("Scaled up replica set {name} from 0 to {count}"),
            );
        }
        set_deployment_revision(&mut self.d, &new_revision);
        if has_progress_deadline(&self.d) {
            let msg = format!("Created new replica set \"{name}\"");
            let c = new_deployment_condition(
                CONDITION_PROGRESSING,
                "True",
                NEW_REPLICA_SET_REASON,
                &msg,
                self.now,
            );
            self.set_condition(c);
        }
        Ok((Some(idx), old))
    }

    fn all_of(new: Option<usize>, old: &[usize]) -> Vec<usize> {
        let mut all = old.to_vec();
        all.extend(new);
        all
    }

    /// `checkPausedConditions`.
    fn check_paused_conditions(&mut self) {
        if !has_progress_deadline(&self.d) {
            return;
        }
        let st = self.status();
        let cond = get_deployment_condition(&st, CONDITION_PROGRESSING);
        if cond.is_some_and(|c| cond_reason(c) == TIMED_OUT_REASON) {
            return;
        }
        let paused_exists = cond.is_some_and(|c| cond_reason(c) == PAUSED_DEPLOY_REASON);
        let paused = d_paused(&self.d);
        if paused && !paused_exists {
            let c = new_deployment_condition(
                CONDITION_PROGRESSING,
                "Unknown",
                PAUSED_DEPLOY_REASON,
                "Deployment is paused",
                self.now,
            );
            self.set_condition(c);
        } else if !paused && paused_exists {
            let c = new_deployment_condition(
                CONDITION_PROGRESSING,
                "Unknown",
                RESUMED_DEPLOY_REASON,
                "Deployment is resumed",
                self.now,
            );
            self.set_condition(c);
        }
    }

    /// `isScalingEvent`.
    fn is_scaling_event(&mut self) -> Result<bool, String> {
        let (new, old) = self.get_all_and_sync_revision(false)?;
        let desired = d_replicas(&self.d);
        let all = self.w.filter_active(&Self::all_of(new, &old));
        Ok(all.iter().any(|i| {
            self.w
                .rss
                .get(*i)
                .and_then(get_desired_replicas_annotation)
                .is_some_and(|v| v != desired)
        }))
    }

    /// `syncDeploymentStatus`.
    fn sync_deployment_status(&mut self, new: Option<usize>, old: &[usize]) {
        let all = Self::all_of(new, old);
        let new_status = calculate_status(
            &self.w.refs(&all),
            new.and_then(|i| self.w.rss.get(i)),
            &self.d,
            self.now,
        );
        if !status_equal(&self.status(), &new_status) {
            self.d.status = Some(new_status);
        }
    }

    /// `sync`: scaling events and paused deployments.
    fn sync(&mut self) -> Result<(), String> {
        let (new, old) = self.get_all_and_sync_revision(false)?;
        let d = self.d.clone();
        self.w.scale(&d, new, &old);
        if d_paused(&self.d) {
            self.w.cleanup_deployment(&old, &d);
        }
        self.sync_deployment_status(new, &old);
        Ok(())
    }

    /// `syncStatusOnly`: deployments being deleted.
    fn sync_status_only(&mut self) -> Result<(), String> {
        let (new, old) = self.get_all_and_sync_revision(false)?;
        self.sync_deployment_status(new, &old);
        Ok(())
    }

    /// `getReplicaFailures`.
    fn replica_failures(&self, all: &[usize], new: Option<usize>) -> Option<DeploymentCondition> {
        let conv = |rs: &ReplicaSet| -> Option<DeploymentCondition> {
            rs.status
                .as_ref()?
                .conditions
                .as_ref()?
                .iter()
                .find(|c| c.type_ == CONDITION_REPLICA_FAILURE)
                .map(|c| DeploymentCondition {
                    type_: c.type_.clone(),
                    status: c.status.clone(),
                    last_transition_time: c.last_transition_time.clone(),
                    last_update_time: c.last_transition_time.clone(),
                    reason: c.reason.clone(),
                    message: c.message.clone(),
                })
        };
        if let Some(c) = new.and_then(|i| self.w.rss.get(i)).and_then(conv) {
            return Some(c);
        }
        all.iter().filter_map(|i| self.w.rss.get(*i)).find_map(conv)
    }

    /// `syncRolloutStatus`: status plus progress estimation.
    fn sync_rollout_status(&mut self, new: Option<usize>, old: &[usize]) {
        let all = Self::all_of(new, old);
        let new_rs = new.and_then(|i| self.w.rss.get(i));
        let mut new_status = calculate_status(&self.w.refs(&all), new_rs, &self.d, self.now);
        let hpd = has_progress_deadline(&self.d);
        if !hpd {
            remove_deployment_condition(&mut new_status, CONDITION_PROGRESSING);
        }
        let cur_status = self.status();
        let current = get_deployment_condition(&cur_status, CONDITION_PROGRESSING);
        let is_complete_deployment = new_status.replicas == new_status.updated_replicas
            && current.is_some_and(|c| cond_reason(c) == NEW_RS_AVAILABLE_REASON);
        let name = d_name(&self.d).to_string();
        let subject = match new_rs {
            Some(rs) => format!("ReplicaSet \"{}\"", rs_name(rs)),
            None => format!("Deployment \"{name}\""),
        };
        if hpd && !is_complete_deployment {
            if deployment_complete(&self.d, &new_status) {
                let c = new_deployment_condition(
                    CONDITION_PROGRESSING,
                    "True",
                    NEW_RS_AVAILABLE_REASON,
                    &format!("{subject} has successfully progressed."),
                    self.now,
                );
                set_deployment_condition(&mut new_status, c);
            } else if deployment_progressing(&self.d, &new_status) {
                let mut c = new_deployment_condition(
                    CONDITION_PROGRESSING,
                    "True",
                    REPLICA_SET_UPDATED_REASON,
                    &format!("{subject} is progressing."),
                    self.now,
                );
                if let Some(cur) = current {
                    if cur.status == "True" {
                        c.last_transition_time = cur.last_transition_time.clone();
                    }
                    remove_deployment_condition(&mut new_status, CONDITION_PROGRESSING);
                }
                set_deployment_condition(&mut new_status, c);
            } else if deployment_timed_out(&self.d, &new_status, self.now) {
                let c = new_deployment_condition(
                    CONDITION_PROGRESSING,
                    "False",
                    TIMED_OUT_REASON,
                    &format!("{subject} has timed out progressing."),
                    self.now,
                );
                set_deployment_condition(&mut new_status, c);
            }
        }
        match self.replica_failures(&all, new) {
            Some(c) => set_deployment_condition(&mut new_status, c),
            None => remove_deployment_condition(&mut new_status, CONDITION_REPLICA_FAILURE),
        }
        let new_status = normalize_status(&new_status);
        if status_equal(&cur_status, &new_status) {
            self.requeue = requeue_stuck_deployment(&self.d, &new_status, self.now);
            return;
        }
        self.d.status = Some(new_status);
    }

    /// `rolloutRolling`.
    fn rollout_rolling(&mut self) -> Result<(), String> {
        let (new, old) = self.get_all_and_sync_revision(true)?;
        let Some(new_idx) = new else {
            return Ok(());
        };
        let d = self.d.clone();
        let all = Self::all_of(new, &old);
        if self.w.reconcile_new_replica_set(&all, new_idx, &d)? {
            self.sync_rollout_status(new, &old);
            return Ok(());
        }
        let active_old = self.w.filter_active(&old);
        if self
            .w
            .reconcile_old_replica_sets(&all, &active_old, new_idx, &d)
        {
            self.sync_rollout_status(new, &old);
            return Ok(());
        }
        if deployment_complete(&self.d, &self.status()) {
            self.w.cleanup_deployment(&old, &d);
        }
        self.sync_rollout_status(new, &old);
        Ok(())
    }

    /// `rolloutRecreate`.
    fn rollout_recreate(&mut self) -> Result<(), String> {
        let (mut new, mut old) = self.get_all_and_sync_revision(false)?;
        let d = self.d.clone();
        let mut scaled_down = false;
        for i in self.w.filter_active(&old) {
            if self.w.scale_and_record(i, 0, &d) {
                scaled_down = true;
            }
        }
        if scaled_down || self.w.old_pods_running(new, &old, self.pods) {
            self.sync_rollout_status(new, &old);
            return Ok(());
        }
        if new.is_none() {
            (new, old) = self.get_all_and_sync_revision(true)?;
        }
        let d = self.d.clone();
        if let Some(i) = new {
            self.w.scale_and_record(i, d_replicas(&d), &d);
        }
        if deployment_complete(&self.d, &self.status()) {
            self.w.cleanup_deployment(&old, &d);
        }
        self.sync_rollout_status(new, &old);
        Ok(())
    }

    /// `syncDeployment` after the listers.
    fn run(&mut self) -> Result<(), String> {
        if self.d.metadata.deletion_timestamp.is_some() {
            return self.sync_status_only();
        }
        self.check_paused_conditions();
        if d_paused(&self.d) {
            return self.sync();
        }
        // getRollbackTo: only extensions/v1beta1 clients set the rollback annotation; kubectl
        // 1.32 `rollout undo` patches the template instead, so rollback is not implemented.
        if self.is_scaling_event()? {
            return self.sync();
        }
        match d_strategy_type(&self.d) {
            STRATEGY_RECREATE => self.rollout_recreate(),
            STRATEGY_ROLLING_UPDATE => self.rollout_rolling(),
            other => Err(format!("unexpected deployment strategy type: {other}")),
        }
    }
}

fn rs_differs(a: &ReplicaSet, b: &ReplicaSet) -> bool {
    let mrs = |rs: &ReplicaSet| {
        rs.spec
            .as_ref()
            .and_then(|s| s.min_ready_seconds)
            .unwrap_or(0)
    };
    rs_replicas(a) != rs_replicas(b)
        || mrs(a) != mrs(b)
        || a.metadata.annotations.clone().unwrap_or_default()
            != b.metadata.annotations.clone().unwrap_or_default()
}

/// Decide everything one sync of the Deployment controller does. See the module docs.
pub fn plan(obs: &Observed, now: DateTime<Utc>) -> Vec<Action> {
    let observed = obs.deployment;
    let mut actions = Vec::new();

    // A nil selector selects everything: upstream refuses to act (deployment_controller.go).
    let selects_all = observed.spec.as_ref().is_none_or(|s| {
        s.selector.match_labels.is_none() && s.selector.match_expressions.is_none()
    });
    if selects_all {
        actions.push(Action::Event {
            type_: "Warning".to_string(),
            reason: "SelectingAll".to_string(),
            message: "This deployment is selecting all pods. A non-empty selector is required."
                .to_string(),
        });
        let mut st = d_status(observed);
        let generation = observed.metadata.generation.unwrap_or(0);
        if st.observed_generation.unwrap_or(0) < generation {
            st.observed_generation = Some(generation);
            actions.push(Action::UpdateDeploymentStatus(normalize_status(&st)));
        }
        return actions;
    }

    let mut s = Sync {
        d: observed.clone(),
        w: Work::new(&obs.replica_sets),
        now,
        pods: obs.pods_by_rs_uid,
        requeue: None,
    };
    let result = s.run();

    let mut emitted = vec![false; s.w.rss.len()];
    for op in &s.w.ops {
        match op {
            Op::Create(i) => {
                if let Some(rs) = s.w.rss.get(*i) {
                    actions.push(Action::CreateReplicaSet(Box::new(rs.clone())));
                }
            }
            Op::Touch(i) => {
                let (Some(rs), Some(Some(orig))) = (s.w.rss.get(*i), s.w.orig.get(*i)) else {
                    continue;
                };
                if emitted.get(*i).copied().unwrap_or(true) || !rs_differs(rs, orig) {
                    continue;
                }
                if let Some(e) = emitted.get_mut(*i) {
                    *e = true;
                }
                actions.push(Action::UpdateReplicaSet {
                    name: rs_name(rs).to_string(),
                    replicas: rs_replicas(rs),
                    min_ready_seconds: rs.spec.as_ref().and_then(|s| s.min_ready_seconds),
                    annotations: rs.metadata.annotations.clone().unwrap_or_default(),
                });
            }
            Op::Delete(i) => {
                if let Some(rs) = s.w.rss.get(*i) {
                    actions.push(Action::DeleteReplicaSet {
                        name: rs_name(rs).to_string(),
                    });
                }
            }
            Op::Event(t, r, m) => actions.push(Action::Event {
                type_: (*t).to_string(),
                reason: (*r).to_string(),
                message: m.clone(),
            }),
        }
    }
    let want_ann = s.d.metadata.annotations.clone().unwrap_or_default();
    if want_ann != observed.metadata.annotations.clone().unwrap_or_default() {
        actions.push(Action::UpdateDeploymentAnnotations(want_ann));
    }
    let want_status = s.status();
    if !status_equal(&want_status, &d_status(observed)) {
        actions.push(Action::UpdateDeploymentStatus(normalize_status(
            &want_status,
        )));
    }
    match result {
        Err(e) => actions.push(Action::Fail(e)),
        Ok(()) => {
            if let Some(after) = s.requeue {
                actions.push(Action::RequeueAfter(after));
            }
        }
    }
    actions
}

/// A `CreateReplicaSet` failed with AlreadyExists and the I/O loop fetched the existing object.
/// If it is ours with the same template (a stale cache), returns `None`: just requeue. Otherwise
/// it is a hash collision: returns the status (with `collisionCount` bumped) to write before
/// requeueing, as sync.go does.
pub fn on_create_already_exists(d: &Deployment, existing: &ReplicaSet) -> Option<DeploymentStatus> {
    let ours = existing
        .metadata
        .owner_references
        .iter()
        .flatten()
        .find(|r| r.controller == Some(true))
        .is_some_and(|r| Some(&r.uid) == d.metadata.uid.as_ref());
    if ours && equal_ignore_hash(&d_template(d), &rs_template(existing)) {
        return None;
    }
    let mut st = d_status(d);
    st.collision_count = Some(st.collision_count.unwrap_or(0).saturating_add(1));
    Some(normalize_status(&st))
}

/// A `CreateReplicaSet` failed with another error (`err` is its message). Returns the
/// `ReplicaSetCreateError` status update (only with a progress deadline) and the warning event.
/// Upstream skips both when the namespace is terminating.
pub fn on_create_failed(
    d: &Deployment,
    rs_name: &str,
    err: &str,
    now: DateTime<Utc>,
) -> Vec<Action> {
    let msg = format!("Failed to create new replica set \"{rs_name}\": {err}");
    let mut out = Vec::new();
    if has_progress_deadline(d) {
        let mut st = d_status(d);
        set_deployment_condition(
            &mut st,
            new_deployment_condition(
                CONDITION_PROGRESSING,
                "False",
                FAILED_RS_CREATE_REASON,
                &msg,
                now,
            ),
        );
        out.push(Action::UpdateDeploymentStatus(normalize_status(&st)));
    }
    out.push(Action::Event {
        type_: "Warning".to_string(),
        reason: FAILED_RS_CREATE_REASON.to_string(),
        message: msg,
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use k8s_openapi::api::apps::v1::{ReplicaSetStatus, RollingUpdateDeployment};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
    use serde_json::json;

    // ---- helpers mirroring upstream's test fixtures -------------------------------------------

    fn int(i: i32) -> IntOrString {
        IntOrString::Int(i)
    }
    fn pct(s: &str) -> IntOrString {
        IntOrString::String(s.to_string())
    }
    fn labels(sel: &[(&str, &str)]) -> Option<BTreeMap<String, String>> {
        (!sel.is_empty()).then(|| {
            sel.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        })
    }
    fn template(sel: &[(&str, &str)]) -> PodTemplateSpec {
        serde_json::from_value(json!({
            "metadata": {"labels": labels(sel)},
            "spec": {"containers": [{"name": "", "image": "foo/bar"}]}
        }))
        .unwrap()
    }
    fn at(h: u32, m: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2016, 5, 20, h, m, s).unwrap()
    }
    fn t(h: u32) -> Option<Time> {
        Some(to_time(at(h, 0, 0)))
    }

    /// deployment_controller_test.go `newDeployment`: maxSurge/maxUnavailable default to 0.
    fn new_deployment(
        name: &str,
        replicas: i32,
        rhl: Option<i32>,
        max_surge: Option<IntOrString>,
        max_unavailable: Option<IntOrString>,
        sel: &[(&str, &str)],
    ) -> Deployment {
        Deployment {
            metadata: ObjectMeta {
                name: Some(name.to_string()),
                namespace: Some("default".to_string()),
                uid: Some(format!("{name}-uid")),
                annotations: Some(BTreeMap::new()),
                ..Default::default()
            },
            spec: Some(k8s_openapi::api::apps::v1::DeploymentSpec {
                replicas: Some(replicas),
                revision_history_limit: rhl,
                selector: LabelSelector {
                    match_labels: labels(sel),
                    match_expressions: None,
                },
                strategy: Some(k8s_openapi::api::apps::v1::DeploymentStrategy {
                    type_: Some("RollingUpdate".to_string()),
                    rolling_update: Some(RollingUpdateDeployment {
                        max_surge: Some(max_surge.unwrap_or(int(0))),
                        max_unavailable: Some(max_unavailable.unwrap_or(int(0))),
                    }),
                }),
                template: template(sel),
                ..Default::default()
            }),
            status: None,
        }
    }

    /// deployment_controller_test.go `rs`.
    fn rs(name: &str, replicas: i32, sel: &[(&str, &str)], ts: Option<Time>) -> ReplicaSet {
        ReplicaSet {
            metadata: ObjectMeta {
                name: Some(name.to_string()),
                namespace: Some("default".to_string()),
                uid: Some(format!("{name}-uid")),
                creation_timestamp: ts,
                ..Default::default()
            },
            spec: Some(ReplicaSetSpec {
                replicas: Some(replicas),
                selector: LabelSelector {
                    match_labels: labels(sel),
                    match_expressions: None,
                },
                template: Some(template(sel)),
                min_ready_seconds: None,
            }),
            status: Some(ReplicaSetStatus::default()),
        }
    }

    fn with_available(mut r: ReplicaSet, n: i32) -> ReplicaSet {
        r.status
            .get_or_insert_with(Default::default)
            .available_replicas = Some(n);
        r
    }

    fn with_status_replicas(mut r: ReplicaSet, n: i32) -> ReplicaSet {
        r.status.get_or_insert_with(Default::default).replicas = n;
        r
    }

    impl Work {
        fn unsorted(rss: Vec<ReplicaSet>) -> Self {
            let orig = rss.iter().cloned().map(Some).collect();
            Work {
                rss,
                orig,
                ops: Vec::new(),
            }
        }
        fn deletions(&self) -> Vec<String> {
            self.ops
                .iter()
                .filter_map(|o| match o {
                    Op::Delete(i) => self.rss.get(*i).map(|r| rs_name(r).to_string()),
                    _ => None,
                })
                .collect()
        }
        fn touched(&self) -> usize {
            self.ops
                .iter()
                .filter(|o| matches!(o, Op::Touch(_)))
                .count()
        }
    }

    // ---- deployment_util_test.go -----------------------------------------------------------

    #[test]
    fn resolve_fenceposts_table() {
        type Case<'a> = (Option<&'a str>, Option<&'a str>, i32, i32, i32, bool);
        let cases: [Case; 7] = [
            (Some("0%"), Some("0%"), 0, 0, 1, false),
            (Some("39%"), Some("39%"), 10, 4, 3, false),
            (Some("oops"), Some("39%"), 10, 0, 0, true),
            (Some("55%"), Some("urg"), 10, 0, 0, true),
            (None, Some("39%"), 10, 0, 3, false),
            (Some("39%"), None, 10, 4, 0, false),
            (None, None, 10, 0, 1, false),
        ];
        for (n, (s, u, desired, es, eu, err)) in cases.into_iter().enumerate() {
            let s = s.map(pct);
            let u = u.map(pct);
            let got = resolve_fenceposts(s.as_ref(), u.as_ref(), desired);
            assert_eq!(got.is_err(), err, "case {n}");
            assert_eq!(got.unwrap_or((0, 0)), (es, eu), "case {n}");
        }
        assert_eq!(
            resolve_fenceposts(Some(&pct("oops")), None, 10).unwrap_err(),
            "invalid value for IntOrString: invalid type: string is not a percentage"
        );
        assert_eq!(
            resolve_fenceposts(Some(&int(2)), Some(&pct("25%")), 3),
            Ok((2, 0))
        );
        assert_eq!(
            resolve_fenceposts(Some(&pct("25%")), Some(&pct("25%")), 3),
            Ok((1, 0))
        );
    }

    #[test]
    fn new_rs_new_replicas_table() {
        // (strategy, depReplicas, newRSReplicas, maxSurge, expected); allRSs = [rs5].
        let cases = [
            ("RollingUpdate", 1, 5, 1, 5),
            ("RollingUpdate", 6, 2, 10, 6),
            ("Recreate", 3, 1, 1, 3),
        ];
        for (strategy, dep, new, surge, expected) in cases {
            let mut d = new_deployment("nginx", dep, None, Some(int(surge)), Some(int(1)), &[]);
            if let Some(s) = d.spec.as_mut().and_then(|s| s.strategy.as_mut()) {
                s.type_ = Some(strategy.to_string());
            }
            let rs5 = rs("rs5", 5, &[], None);
            let new_rs = rs("new", new, &[], None);
            assert_eq!(new_rs_new_replicas(&d, &[&rs5], &new_rs), Ok(expected));
        }
        let mut d = new_deployment("nginx", 1, None, None, None, &[]);
        if let Some(s) = d.spec.as_mut().and_then(|s| s.strategy.as_mut()) {
            s.type_ = Some("Canary".to_string());
        }
        assert_eq!(
            new_rs_new_replicas(&d, &[], &rs("x", 0, &[], None)),
            Err("deployment type Canary isn't supported".to_string())
        );
    }

    #[test]
    fn max_unavailable_and_min_available_tables() {
        let dep = |replicas, mu| new_deployment("d", replicas, None, Some(int(1)), Some(mu), &[]);
        let cases = [
            (dep(10, int(5)), 5, 5),
            (dep(10, int(10)), 10, 0),
            (dep(5, int(10)), 5, 0),
            (dep(0, int(10)), 0, 0),
            (dep(10, pct("50%")), 5, 5),
            (dep(10, pct("100%")), 10, 0),
            (dep(5, pct("100%")), 5, 0),
            (dep(10, pct("60%")), 6, 4),
        ];
        for (n, (d, mu, ma)) in cases.iter().enumerate() {
            assert_eq!(max_unavailable(d), *mu, "case {n}");
            assert_eq!(min_available(d), *ma, "case {n}");
        }
        let mut recreate = dep(10, int(5));
        if let Some(s) = recreate.spec.as_mut() {
            s.strategy = Some(k8s_openapi::api::apps::v1::DeploymentStrategy {
                type_: Some("Recreate".to_string()),
                rolling_update: None,
            });
        }
        assert_eq!(max_unavailable(&recreate), 0);
        assert_eq!(min_available(&recreate), 0);
        assert_eq!(max_surge(&recreate), 0);
    }

    #[test]
    fn deployment_complete_table() {
        let dep = |desired, current, updated, available, mu, ms| {
            let mut d = new_deployment("d", desired, None, Some(int(ms)), Some(int(mu)), &[]);
            d.status = Some(DeploymentStatus {
                replicas: Some(current),
                updated_replicas: Some(updated),
                available_replicas: Some(available),
                ..Default::default()
            });
            d
        };
        let cases = [
            (dep(5, 5, 5, 4, 1, 0), false),
            (dep(5, 5, 5, 3, 1, 0), false),
            (dep(5, 5, 5, 5, 0, 0), true),
            (dep(5, 5, 4, 5, 0, 0), false),
            (dep(1, 2, 1, 1, 0, 1), false),
            (dep(1, 1, 1, 0, 1, 1), false),
        ];
        for (n, (d, want)) in cases.iter().enumerate() {
            assert_eq!(deployment_complete(d, &d_status(d)), *want, "case {n}");
        }
        // Generation not yet observed.
        let mut d = dep(5, 5, 5, 5, 0, 0);
        d.metadata.generation = Some(2);
        assert!(!deployment_complete(&d, &d_status(&d)));
    }

    fn counts(current: i32, updated: i32, ready: i32, available: i32) -> DeploymentStatus {
        DeploymentStatus {
            replicas: Some(current),
            updated_replicas: Some(updated),
            ready_replicas: Some(ready),
            available_replicas: Some(available),
            ..Default::default()
        }
    }

    #[test]
    fn deployment_progressing_table() {
        let cases = [
            ((10, 4, 4, 4), (10, 6, 4, 4), true),
            ((10, 4, 4, 4), (10, 4, 4, 4), false),
            ((10, 4, 6, 6), (8, 4, 6, 6), true),
            ((10, 7, 3, 3), (10, 6, 3, 3), false),
            ((10, 4, 7, 7), (8, 8, 5, 5), true),
            ((10, 10, 9, 8), (10, 10, 10, 8), true),
            ((10, 10, 10, 9), (10, 10, 10, 10), true),
        ];
        for (n, (old, new, want)) in cases.into_iter().enumerate() {
            let d = Deployment {
                status: Some(counts(old.0, old.1, old.2, old.3)),
                ..Default::default()
            };
            let ns = counts(new.0, new.1, new.2, new.3);
            assert_eq!(deployment_progressing(&d, &ns), want, "case {n}");
        }
    }

    #[test]
    fn deployment_timed_out_table() {
        let time_fn = |min, sec| Utc.with_ymd_and_hms(2016, 1, 1, 0, min, sec).unwrap();
        let dep = |reason: &str, pds: Option<i32>, from: Option<DateTime<Utc>>| Deployment {
            spec: Some(k8s_openapi::api::apps::v1::DeploymentSpec {
                progress_deadline_seconds: pds,
                ..Default::default()
            }),
            status: Some(DeploymentStatus {
                conditions: Some(vec![DeploymentCondition {
                    type_: "Progressing".to_string(),
                    status: "True".to_string(),
                    reason: Some(reason.to_string()),
                    last_update_time: from.map(to_time),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
            ..Default::default()
        };
        let now = time_fn(1, 20);
        let cases = [
            (dep("", None, Some(time_fn(1, 9))), false),
            (dep("", Some(i32::MAX), Some(time_fn(1, 9))), false),
            (dep("", Some(10), Some(time_fn(1, 9))), true),
            (dep("", Some(10), Some(time_fn(1, 11))), false),
            (dep(NEW_RS_AVAILABLE_REASON, None, None), false),
            (dep(TIMED_OUT_REASON, Some(10), Some(time_fn(1, 19))), true),
        ];
        for (n, (d, want)) in cases.iter().enumerate() {
            assert_eq!(
                deployment_timed_out(d, &d_status(d), now),
                *want,
                "case {n}"
            );
        }
        // requeueStuckDeployment: 00:01:11 + 10s - 00:01:20 = 1s -> after 2s.
        let d = dep(REPLICA_SET_UPDATED_REASON, Some(10), Some(time_fn(1, 11)));
        assert_eq!(
            requeue_stuck_deployment(&d, &d_status(&d), now),
            Some(Duration::from_secs(2))
        );
        let d = dep(REPLICA_SET_UPDATED_REASON, Some(10), Some(time_fn(1, 10)));
        assert_eq!(
            requeue_stuck_deployment(&d, &d_status(&d), now),
            Some(Duration::ZERO)
        );
        let d = dep(TIMED_OUT_REASON, Some(10), Some(time_fn(1, 11)));
        assert_eq!(requeue_stuck_deployment(&d, &d_status(&d), now), None);
        let d = dep(REPLICA_SET_UPDATED_REASON, None, Some(time_fn(1, 11)));
        assert_eq!(requeue_stuck_deployment(&d, &d_status(&d), now), None);
    }

    fn cond(type_: &str, status: &str, reason: &str) -> DeploymentCondition {
        DeploymentCondition {
            type_: type_.to_string(),
            status: status.to_string(),
            reason: Some(reason.to_string()),
            ..Default::default()
        }
    }

    #[test]
    fn set_get_remove_condition() {
        let progressing = cond("Progressing", "False", "ForSomeReason");
        let progressing2 = cond("Progressing", "True", "BecauseItIs");
        let available = cond("Available", "True", "AwesomeController");

        let mut st = DeploymentStatus::default();
        set_deployment_condition(&mut st, available.clone());
        assert_eq!(st.conditions, Some(vec![available.clone()]));

        let mut st = DeploymentStatus {
            conditions: Some(vec![progressing.clone()]),
            ..Default::default()
        };
        set_deployment_condition(&mut st, available.clone());
        assert_eq!(
            st.conditions,
            Some(vec![progressing.clone(), available.clone()])
        );
        assert!(get_deployment_condition(&st, "Available").is_some());
        assert!(get_deployment_condition(&st, "ReplicaFailure").is_none());
        remove_deployment_condition(&mut st, "ReplicaFailure");
        assert_eq!(st.conditions.as_ref().map(Vec::len), Some(2));

        let mut st = DeploymentStatus {
            conditions: Some(vec![progressing.clone()]),
            ..Default::default()
        };
        set_deployment_condition(&mut st, progressing2.clone());
        assert_eq!(st.conditions, Some(vec![progressing2]));
        remove_deployment_condition(&mut st, "Progressing");
        assert_eq!(st, DeploymentStatus::default());

        // Same status, new reason: lastTransitionTime kept, lastUpdateTime new.
        let mut st = DeploymentStatus::default();
        set_deployment_condition(
            &mut st,
            new_deployment_condition("Progressing", "True", "A", "a", at(1, 0, 0)),
        );
        set_deployment_condition(
            &mut st,
            new_deployment_condition("Progressing", "True", "B", "b", at(2, 0, 0)),
        );
        let c = get_deployment_condition(&st, "Progressing").unwrap();
        assert_eq!(c.last_transition_time, Some(to_time(at(1, 0, 0))));
        assert_eq!(c.last_update_time, Some(to_time(at(2, 0, 0))));
        // Same status and reason: untouched.
        set_deployment_condition(
            &mut st,
            new_deployment_condition("Progressing", "True", "B", "c", at(3, 0, 0)),
        );
        let c = get_deployment_condition(&st, "Progressing").unwrap();
        assert_eq!(c.message.as_deref(), Some("b"));
    }

    #[test]
    fn annotation_utils() {
        let mut d = new_deployment("nginx", 1, None, None, None, &[("name", "nginx")]);
        d.metadata
            .annotations
            .get_or_insert_with(BTreeMap::new)
            .insert(REVISION_ANNOTATION.to_string(), "1".to_string());
        let mut r = rs("nginx-rs", 1, &[("name", "nginx")], None);
        for i in 10..20 {
            let next = (i + 1).to_string();
            set_new_replica_set_annotations(&d, &mut r, &next, true, 5);
            if i >= 12 {
                assert_eq!(
                    rs_annotation(&r, REVISION_HISTORY_ANNOTATION).cloned(),
                    Some(format!("{},{}", i - 1, i))
                );
            }
            assert_eq!(rs_annotation(&r, REVISION_ANNOTATION), Some(&next));
        }
        assert!(set_replicas_annotations(&mut r, 10, 11));
        assert_eq!(
            rs_annotation(&r, DESIRED_REPLICAS_ANNOTATION).map(String::as_str),
            Some("10")
        );
        assert_eq!(
            rs_annotation(&r, MAX_REPLICAS_ANNOTATION).map(String::as_str),
            Some("11")
        );
        assert!(!set_replicas_annotations(&mut r, 10, 11));

        set_replicas_annotations(&mut r, 1, 1);
        let r = with_available(r, 1);
        assert!(is_saturated(&d, Some(&r)));
        assert!(!is_saturated(&d, None));
    }

    #[test]
    fn set_new_replica_set_annotations_copies_and_skips() {
        let mut d = new_deployment(
            "d",
            3,
            None,
            Some(pct("25%")),
            Some(pct("25%")),
            &[("a", "b")],
        );
        let ann = d.metadata.annotations.get_or_insert_with(BTreeMap::new);
        ann.insert(
            "kubernetes.io/change-cause".into(),
            "kubectl set image".into(),
        );
        ann.insert(LAST_APPLIED_CONFIG_ANNOTATION.into(), "{}".into());
        ann.insert(REVISION_ANNOTATION.into(), "7".into());
        let mut r = rs("d-x", 0, &[("a", "b")], None);
        assert!(set_new_replica_set_annotations(
            &d, &mut r, "3", false, 2000
        ));
        let got = r.metadata.annotations.clone().unwrap();
        let want: BTreeMap<String, String> = [
            ("kubernetes.io/change-cause", "kubectl set image"),
            (REVISION_ANNOTATION, "3"),
            (DESIRED_REPLICAS_ANNOTATION, "3"),
            (MAX_REPLICAS_ANNOTATION, "4"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(got, want);
        // Re-using a ReplicaSet: history records the old revision; a lower revision is kept.
        assert!(set_new_replica_set_annotations(&d, &mut r, "5", true, 2000));
        assert_eq!(
            rs_annotation(&r, REVISION_HISTORY_ANNOTATION).map(String::as_str),
            Some("3")
        );
        assert!(!set_new_replica_set_annotations(
            &d, &mut r, "4", true, 2000
        ));
        assert_eq!(
            rs_annotation(&r, REVISION_ANNOTATION).map(String::as_str),
            Some("5")
        );
    }

    #[test]
    fn replicas_annotations_need_update_table() {
        let mk = |ann: Option<[(&str, &str); 2]>| {
            let mut r = rs("hello", 1, &[("foo", "bar")], None);
            r.metadata.annotations = ann.map(|a| {
                a.iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect()
            });
            r
        };
        let cases = [
            (mk(None), true),
            (
                mk(Some([
                    (DESIRED_REPLICAS_ANNOTATION, "8"),
                    (MAX_REPLICAS_ANNOTATION, "20"),
                ])),
                true,
            ),
            (
                mk(Some([
                    (DESIRED_REPLICAS_ANNOTATION, "10"),
                    (MAX_REPLICAS_ANNOTATION, "16"),
                ])),
                true,
            ),
            (
                mk(Some([
                    (DESIRED_REPLICAS_ANNOTATION, "10"),
                    (MAX_REPLICAS_ANNOTATION, "20"),
                ])),
                false,
            ),
        ];
        for (n, (r, want)) in cases.iter().enumerate() {
            assert_eq!(
                replicas_annotations_need_update(r, 10, 20),
                *want,
                "case {n}"
            );
        }
    }

    #[test]
    fn replica_counts() {
        let rs1 = with_status_replicas(rs("foo", 1, &[], None), 2);
        let rs2 = with_status_replicas(rs("bar", 2, &[], None), 3);
        assert_eq!(get_replica_count_for_replica_sets(&[&rs1]), 1);
        assert_eq!(get_actual_replica_count_for_replica_sets(&[&rs1]), 2);
        assert_eq!(get_replica_count_for_replica_sets(&[&rs1, &rs2]), 3);
        assert_eq!(get_actual_replica_count_for_replica_sets(&[&rs1, &rs2]), 5);
    }

    #[test]
    fn proportion_table() {
        // d: 10 -> 20 with maxSurge 2 (allowed 22); RS annotated max-replicas 12.
        let d = new_deployment("foo", 20, None, Some(int(2)), None, &[]);
        let mut r = rs("r", 6, &[], None);
        set_replicas_annotations(&mut r, 10, 12);
        assert_eq!(get_replica_set_proportion(Some(&r), &d, 10, 0), 5);
        assert_eq!(get_replica_set_proportion(Some(&r), &d, 10, 7), 3);
        assert_eq!(get_replica_set_proportion(Some(&r), &d, 10, 10), 0);
        assert_eq!(get_replica_set_proportion(None, &d, 10, 0), 0);
        assert_eq!(
            get_replica_set_proportion(Some(&rs("z", 0, &[], None)), &d, 10, 0),
            0
        );
        // Scaling down to 0 removes everything, bounded by what is left to remove.
        let d0 = new_deployment("foo", 0, None, None, None, &[]);
        assert_eq!(get_replica_set_proportion(Some(&r), &d0, -4, 0), -4);
        assert_eq!(get_replica_set_proportion(Some(&r), &d0, -10, 0), -6);
        // No annotation: falls back to status.replicas; 1.5 rounds away from zero.
        let mut d4 = new_deployment("foo", 3, None, None, None, &[]);
        d4.status = Some(DeploymentStatus {
            replicas: Some(2),
            ..Default::default()
        });
        assert_eq!(
            get_replica_set_proportion(Some(&rs("a", 1, &[], None)), &d4, 1, 0),
            1
        );
    }

    // ---- rolling_test.go ---------------------------------------------------------------------

    #[test]
    fn reconcile_new_replica_set_table() {
        // (deploymentReplicas, maxSurge, oldReplicas, newReplicas, scaleExpected, expectedNew)
        let cases = [
            (10, 0, 10, 0, false, 0),
            (10, 2, 10, 0, true, 2),
            (10, 2, 5, 0, true, 7),
            (10, 2, 10, 2, false, 0),
            (10, 2, 2, 11, true, 10),
        ];
        for (n, (dr, surge, old, new, scale, expected)) in cases.into_iter().enumerate() {
            let d = new_deployment(
                "foo",
                dr,
                None,
                Some(int(surge)),
                Some(int(0)),
                &[("foo", "bar")],
            );
            let mut w = Work::unsorted(vec![
                rs("foo-v2", new, &[], None),
                rs("foo-v2", old, &[], None),
            ]);
            let scaled = w.reconcile_new_replica_set(&[0, 1], 0, &d).unwrap();
            assert_eq!(scaled, scale, "case {n}");
            if scale {
                assert_eq!(w.replicas(0), expected, "case {n}");
                assert_eq!(w.touched(), 1, "case {n}");
            } else {
                assert_eq!(w.touched(), 0, "case {n}");
            }
        }
    }

    #[test]
    fn reconcile_old_replica_sets_table() {
        // (replicas, maxUnavailable, old, new, readyOld, readyNew, scaleExpected, expectedOld)
        let cases = [
            (10, 0, 10, 0, 10, 0, true, 9),
            (10, 2, 10, 0, 10, 0, true, 8),
            (10, 2, 10, 0, 8, 0, true, 8),
            (10, 2, 10, 0, 9, 0, true, 8),
            (10, 2, 8, 2, 8, 0, false, 8),
        ];
        for (n, (dr, mu, old, new, ready_old, ready_new, scale, expected)) in
            cases.into_iter().enumerate()
        {
            let d = new_deployment(
                "foo",
                dr,
                None,
                Some(int(0)),
                Some(int(mu)),
                &[("foo", "new")],
            );
            let old_rs = with_available(rs("foo-old", old, &[("foo", "old")], None), ready_old);
            let new_rs = with_available(rs("foo-new", new, &[("foo", "new")], None), ready_new);
            let mut w = Work::unsorted(vec![old_rs, new_rs]);
            let scaled = w.reconcile_old_replica_sets(&[0, 1], &[0], 1, &d);
            assert_eq!(scaled, scale, "case {n}");
            assert_eq!(w.replicas(0), expected, "case {n}");
        }
    }

    #[test]
    fn cleanup_unhealthy_replicas_table() {
        // (oldReplicas, readyPods, maxCleanupCount, cleanupCountExpected)
        let cases = [(10, 8, 1, 1), (10, 8, 3, 2), (10, 8, 0, 0), (10, 10, 3, 0)];
        for (n, (old, ready, max, expected)) in cases.into_iter().enumerate() {
            let d = new_deployment("foo", 10, None, Some(int(2)), Some(int(2)), &[]);
            let mut w = Work::unsorted(vec![with_available(rs("foo-v2", old, &[], None), ready)]);
            let mut old_idx = vec![0];
            assert_eq!(
                w.cleanup_unhealthy_replicas(&mut old_idx, &d, max),
                expected,
                "case {n}"
            );
            assert_eq!(w.replicas(0), old - expected, "case {n}");
        }
    }

    #[test]
    fn scale_down_old_replica_sets_for_rolling_update_table() {
        // (replicas, maxUnavailable, readyPods, oldReplicas, scaleExpected, expectedOld)
        let cases = [
            (10, 0, 10, 10, true, 9),
            (10, 2, 10, 10, true, 8),
            (10, 2, 8, 10, false, 10),
            (10, 2, 10, 0, false, 0),
            (10, 2, 1, 10, false, 10),
        ];
        for (n, (dr, mu, ready, old, scale, expected)) in cases.into_iter().enumerate() {
            let d = new_deployment(
                "foo",
                dr,
                None,
                Some(int(0)),
                Some(int(mu)),
                &[("foo", "bar")],
            );
            let mut w = Work::unsorted(vec![with_available(rs("foo-v2", old, &[], None), ready)]);
            let mut old_idx = vec![0];
            let scaled = w.scale_down_old_replica_sets_for_rolling_update(&[0], &mut old_idx, &d);
            assert_eq!(scaled > 0, scale, "case {n}");
            assert_eq!(w.replicas(0), expected, "case {n}");
            assert_eq!(w.touched(), usize::from(scale), "case {n}");
        }
    }

    // ---- sync_test.go ------------------------------------------------------------------------

    struct ScaleCase {
        name: &'static str,
        deployment: Deployment,
        old_deployment: Deployment,
        new_rs: Option<ReplicaSet>,
        old_rss: Vec<ReplicaSet>,
        expected_new: Option<i32>,
        expected_old: Vec<i32>,
        desired_annotations: Vec<(&'static str, i32)>,
    }

    #[test]
    fn scale_table() {
        let (new_ts, old_ts, older_ts) = (t(2), t(1), t(0));
        let nd = |r: i32| new_deployment("foo", r, None, None, None, &[]);
        let nds = |r: i32, s: i32| new_deployment("foo", r, None, Some(int(s)), None, &[]);
        let rsn = |name: &str, r: i32| rs(name, r, &[], new_ts.clone());
        let rso = |name: &str, r: i32| rs(name, r, &[], old_ts.clone());
        let rsoo = |name: &str, r: i32| rs(name, r, &[], older_ts.clone());
        let mut updated_template = new_deployment("foo", 14, None, None, None, &[("foo", "bar")]);
        if let Some(l) = updated_template
            .spec
            .as_mut()
            .and_then(|s| s.template.metadata.as_mut())
            .and_then(|m| m.labels.as_mut())
        {
            l.insert("another".into(), "label".into());
        }
        let mut broken = rsn("foo-v2", 2);
        broken = with_available(broken, 0);
        let cases = vec![
            ScaleCase {
                name: "normal scaling event: 10 -> 12",
                deployment: nd(12),
                old_deployment: nd(10),
                new_rs: Some(rsn("foo-v1", 10)),
                old_rss: vec![],
                expected_new: Some(12),
                expected_old: vec![],
                desired_annotations: vec![],
            },
            ScaleCase {
                name: "normal scaling event: 10 -> 5",
                deployment: nd(5),
                old_deployment: nd(10),
                new_rs: Some(rsn("foo-v1", 10)),
                old_rss: vec![],
                expected_new: Some(5),
                expected_old: vec![],
                desired_annotations: vec![],
            },
            ScaleCase {
                name: "proportional scaling: 5 -> 10",
                deployment: nd(10),
                old_deployment: nd(5),
                new_rs: Some(rsn("foo-v2", 2)),
                old_rss: vec![rso("foo-v1", 3)],
                expected_new: Some(4),
                expected_old: vec![6],
                desired_annotations: vec![],
            },
            ScaleCase {
                name: "proportional scaling: 5 -> 3",
                deployment: nd(3),
                old_deployment: nd(5),
                new_rs: Some(rsn("foo-v2", 2)),
                old_rss: vec![rso("foo-v1", 3)],
                expected_new: Some(1),
                expected_old: vec![2],
                desired_annotations: vec![],
            },
            ScaleCase {
                name: "proportional scaling: 9 -> 4",
                deployment: nd(4),
                old_deployment: nd(9),
                new_rs: Some(rsn("foo-v2", 8)),
                old_rss: vec![rso("foo-v1", 1)],
                expected_new: Some(4),
                expected_old: vec![0],
                desired_annotations: vec![],
            },
            ScaleCase {
                name: "proportional scaling: 7 -> 10",
                deployment: nd(10),
                old_deployment: nd(7),
                new_rs: Some(rsn("foo-v3", 2)),
                old_rss: vec![rso("foo-v2", 3), rsoo("foo-v1", 2)],
                expected_new: Some(3),
                expected_old: vec![4, 3],
                desired_annotations: vec![],
            },
            ScaleCase {
                name: "proportional scaling: 13 -> 8",
                deployment: nd(8),
                old_deployment: nd(13),
                new_rs: Some(rsn("foo-v3", 2)),
                old_rss: vec![rso("foo-v2", 8), rsoo("foo-v1", 3)],
                expected_new: Some(1),
                expected_old: vec![5, 2],
                desired_annotations: vec![],
            },
            ScaleCase {
                name: "leftover distribution: 3 -> 4",
                deployment: nd(4),
                old_deployment: nd(3),
                new_rs: Some(rsn("foo-v3", 1)),
                old_rss: vec![rso("foo-v2", 1), rsoo("foo-v1", 1)],
                expected_new: Some(2),
                expected_old: vec![1, 1],
                desired_annotations: vec![],
            },
            ScaleCase {
                name: "leftover distribution: 3 -> 2",
                deployment: nd(2),
                old_deployment: nd(3),
                new_rs: Some(rsn("foo-v3", 1)),
                old_rss: vec![rso("foo-v2", 1), rsoo("foo-v1", 1)],
                expected_new: Some(1),
                expected_old: vec![1, 0],
                desired_annotations: vec![],
            },
            ScaleCase {
                name: "proportional scaling (no new rs): 4 -> 5",
                deployment: nd(5),
                old_deployment: nd(4),
                new_rs: None,
                old_rss: vec![rso("foo-v2", 2), rsoo("foo-v1", 2)],
                expected_new: None,
                expected_old: vec![3, 2],
                desired_annotations: vec![],
            },
            ScaleCase {
                name: "proportional scaling: 6 -> 0",
                deployment: nd(0),
                old_deployment: nd(6),
                new_rs: Some(rsn("foo-v3", 3)),
                old_rss: vec![rso("foo-v2", 2), rsoo("foo-v1", 1)],
                expected_new: Some(0),
                expected_old: vec![0, 0],
                desired_annotations: vec![],
            },
            ScaleCase {
                name: "proportional scaling: 0 -> 6",
                deployment: nd(6),
                old_deployment: nd(6),
                new_rs: Some(rsn("foo-v3", 0)),
                old_rss: vec![rso("foo-v2", 0), rsoo("foo-v1", 0)],
                expected_new: Some(6),
                expected_old: vec![0, 0],
                desired_annotations: vec![],
            },
            ScaleCase {
                name: "failed rs update",
                deployment: nd(5),
                old_deployment: nd(5),
                new_rs: Some(rsn("foo-v3", 2)),
                old_rss: vec![rso("foo-v2", 1), rsoo("foo-v1", 1)],
                expected_new: Some(2),
                expected_old: vec![2, 1],
                desired_annotations: vec![("foo-v2", 3)],
            },
            ScaleCase {
                name: "deployment with surge pods",
                deployment: nds(20, 2),
                old_deployment: nds(10, 2),
                new_rs: Some(rsn("foo-v2", 6)),
                old_rss: vec![rso("foo-v1", 6)],
                expected_new: Some(11),
                expected_old: vec![11],
                desired_annotations: vec![],
            },
            ScaleCase {
                name: "change both surge and size",
                deployment: nds(50, 6),
                old_deployment: nds(10, 3),
                new_rs: Some(rsn("foo-v2", 5)),
                old_rss: vec![rso("foo-v1", 8)],
                expected_new: Some(22),
                expected_old: vec![34],
                desired_annotations: vec![],
            },
            ScaleCase {
                name: "change both size and template",
                deployment: updated_template,
                old_deployment: new_deployment("foo", 10, None, None, None, &[("foo", "bar")]),
                new_rs: None,
                old_rss: vec![rsn("foo-v2", 7), rso("foo-v1", 3)],
                expected_new: None,
                expected_old: vec![10, 4],
                desired_annotations: vec![],
            },
            ScaleCase {
                name: "saturated but broken new replica set does not affect old pods",
                deployment: new_deployment("foo", 2, None, Some(int(1)), Some(int(1)), &[]),
                old_deployment: new_deployment("foo", 2, None, Some(int(1)), Some(int(1)), &[]),
                new_rs: Some(broken),
                old_rss: vec![rso("foo-v1", 1)],
                expected_new: Some(2),
                expected_old: vec![1],
                desired_annotations: vec![],
            },
        ];
        for c in cases {
            let annotate = |mut r: ReplicaSet| {
                let desired = c
                    .desired_annotations
                    .iter()
                    .find(|(n, _)| *n == rs_name(&r))
                    .map_or(d_replicas(&c.old_deployment), |(_, v)| *v);
                set_replicas_annotations(&mut r, desired, desired + max_surge(&c.old_deployment));
                r
            };
            let mut rss: Vec<ReplicaSet> = c.old_rss.iter().cloned().map(annotate).collect();
            let old_idx: Vec<usize> = (0..rss.len()).collect();
            let new_idx = c.new_rs.clone().map(|r| {
                rss.push(annotate(r));
                rss.len() - 1
            });
            let mut w = Work::unsorted(rss);
            w.scale(&c.deployment, new_idx, &old_idx);
            if let (Some(e), Some(i)) = (c.expected_new, new_idx) {
                assert_eq!(w.replicas(i), e, "{}: new", c.name);
            }
            for (n, e) in c.expected_old.iter().enumerate() {
                assert_eq!(w.replicas(n), *e, "{}: old {n}", c.name);
            }
        }
    }

    fn rs_with_status(name: &str, spec: i32, status: i32) -> ReplicaSet {
        with_status_replicas(rs(name, spec, &[("foo", "bar")], None), status)
    }

    #[test]
    fn cleanup_deployment_table() {
        let mut already_deleted = rs_with_status("foo-1", 0, 0);
        already_deleted.metadata.deletion_timestamp = t(1);
        let cases: Vec<(Vec<ReplicaSet>, i32, usize)> = vec![
            (
                vec![
                    rs_with_status("foo-1", 0, 0),
                    rs_with_status("foo-2", 0, 0),
                    rs_with_status("foo-3", 0, 0),
                ],
                1,
                2,
            ),
            (
                vec![
                    rs_with_status("foo-1", 0, 0),
                    rs_with_status("foo-2", 0, 1),
                    rs_with_status("foo-3", 1, 0),
                    rs_with_status("foo-4", 1, 1),
                ],
                0,
                1,
            ),
            (
                vec![rs_with_status("foo-1", 0, 0), rs_with_status("foo-2", 0, 0)],
                0,
                2,
            ),
            (
                vec![rs_with_status("foo-1", 1, 1), rs_with_status("foo-2", 1, 1)],
                0,
                0,
            ),
            (vec![already_deleted], 0, 0),
            (
                vec![
                    rs_with_status("foo-1", 0, 0),
                    rs_with_status("foo-2", 0, 0),
                    rs_with_status("foo-3", 0, 0),
                ],
                i32::MAX,
                0,
            ),
        ];
        for (n, (rss, limit, expected)) in cases.into_iter().enumerate() {
            let d = new_deployment("foo", 1, Some(limit), None, None, &[("foo", "bar")]);
            let idx: Vec<usize> = (0..rss.len()).collect();
            let mut w = Work::unsorted(rss);
            w.cleanup_deployment(&idx, &d);
            assert_eq!(w.deletions().len(), expected, "case {n}");
        }
        // A ReplicaSet whose latest generation is not yet observed is kept.
        let mut pending = rs_with_status("foo-1", 0, 0);
        pending.metadata.generation = Some(2);
        let d = new_deployment("foo", 1, Some(0), None, None, &[("foo", "bar")]);
        let mut w = Work::unsorted(vec![pending]);
        w.cleanup_deployment(&[0], &d);
        assert!(w.deletions().is_empty());
    }

    #[test]
    fn cleanup_deployment_order_table() {
        let mk = |name: &str, replicas: i32, minute: u32, rev: &str| {
            let mut r = rs(
                name,
                replicas,
                &[("foo", "bar")],
                Some(to_time(at(1, minute, 0))),
            );
            if !rev.is_empty() {
                r.metadata.annotations =
                    Some([(REVISION_ANNOTATION.to_string(), rev.to_string())].into());
            }
            with_status_replicas(r, replicas)
        };
        let cases: Vec<(Vec<ReplicaSet>, i32, Vec<&str>)> = vec![
            (
                vec![mk("foo-1", 0, 0, "1"), mk("foo-2", 0, 1, "2")],
                1,
                vec!["foo-1"],
            ),
            (
                vec![mk("foo-1", 0, 0, "2"), mk("foo-2", 0, 1, "1")],
                1,
                vec!["foo-2"],
            ),
            (
                vec![mk("foo-1", 0, 0, "1"), mk("foo-2", 0, 1, "")],
                1,
                vec!["foo-2"],
            ),
            (
                vec![mk("foo-1", 0, 0, ""), mk("foo-2", 0, 1, "2")],
                1,
                vec!["foo-1"],
            ),
            (
                vec![
                    mk("foo-1", 1, 0, "1"),
                    mk("foo-2", 0, 1, "2"),
                    mk("foo-3", 0, 2, "3"),
                ],
                1,
                vec!["foo-2"],
            ),
            (
                vec![
                    mk("foo-1", 1, 0, "1"),
                    mk("foo-2", 1, 1, "2"),
                    mk("foo-3", 0, 2, "3"),
                ],
                1,
                vec![],
            ),
            (
                vec![
                    mk("foo-1", 0, 0, "3"),
                    mk("foo-2", 0, 1, "1"),
                    mk("foo-3", 0, 2, "4"),
                    mk("foo-4", 0, 3, "2"),
                ],
                2,
                vec!["foo-2", "foo-4"],
            ),
        ];
        for (n, (rss, limit, expected)) in cases.into_iter().enumerate() {
            let d = new_deployment("foo", 1, Some(limit), None, None, &[("foo", "bar")]);
            let idx: Vec<usize> = (0..rss.len()).collect();
            let mut w = Work::unsorted(rss);
            w.cleanup_deployment(&idx, &d);
            let mut got = w.deletions();
            got.sort();
            assert_eq!(got, expected, "case {n}");
        }
    }

    // ---- hash / template equality ------------------------------------------------------------

    #[test]
    fn hash_encoding() {
        assert_eq!(fnv32a(0x811c_9dc5, b""), 0x811c_9dc5);
        assert_eq!(fnv32a(0x811c_9dc5, b"a"), 0xe40c_292c);
        assert_eq!(fnv32a(0x811c_9dc5, b"foobar"), 0xbf9c_f968);
        // '0'..'9' map to "4567 89bcdf" in SafeEncodeString's alphabet.
        assert_eq!(safe_encode_string("0123456789"), "456789bcdf");
        assert_eq!(safe_encode_string("2166136261"), "65bb57b6b5");

        let tpl = template(&[("app", "nginx")]);
        let h = pod_template_hash(&tpl, None);
        assert_eq!(h, pod_template_hash(&tpl.clone(), None));
        assert!(!h.is_empty() && h.len() <= 10);
        assert!(h.chars().all(|c| "456789bcdf".contains(c)), "{h}");
        let h1 = pod_template_hash(&tpl, Some(1));
        assert_ne!(h, h1);
        assert_ne!(h1, pod_template_hash(&tpl, Some(2)));
        assert_ne!(h, pod_template_hash(&tpl, Some(0)));
        assert_ne!(h, pod_template_hash(&template(&[("app", "other")]), None));
    }

    #[test]
    fn equal_ignore_hash_cases() {
        let a = template(&[("app", "nginx")]);
        let mut b = a.clone();
        b.metadata
            .as_mut()
            .and_then(|m| m.labels.as_mut())
            .unwrap()
            .insert(DEFAULT_DEPLOYMENT_UNIQUE_LABEL_KEY.into(), "abc".into());
        assert!(equal_ignore_hash(&a, &b));
        // nil vs empty maps/slices are equal.
        let mut c = a.clone();
        c.metadata.as_mut().unwrap().annotations = Some(BTreeMap::new());
        if let Some(spec) = c.spec.as_mut() {
            spec.volumes = Some(vec![]);
        }
        assert!(equal_ignore_hash(&a, &c));
        let mut e = a.clone();
        if let Some(spec) = e.spec.as_mut() {
            spec.containers[0].image = Some("foo/baz".into());
        }
        assert!(!equal_ignore_hash(&a, &e));
        let mut f = a.clone();
        f.metadata
            .as_mut()
            .and_then(|m| m.labels.as_mut())
            .unwrap()
            .insert("x".into(), "y".into());
        assert!(!equal_ignore_hash(&a, &f));
    }

    // ---- end-to-end plan() sequences -------------------------------------------------------

    /// A tiny cluster: applies plans like the I/O loop, and plays the ReplicaSet controller.
    struct Cluster {
        d: Deployment,
        rss: Vec<ReplicaSet>,
        pods: BTreeMap<String, Vec<Pod>>,
        now: DateTime<Utc>,
        /// Pods of these ReplicaSets never become available.
        broken: Vec<String>,
    }

    fn deployment(strategy: serde_json::Value, replicas: i32, image: &str) -> Deployment {
        serde_json::from_value(json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "default", "uid": "d-uid", "generation": 1},
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": {"app": "web"}},
                "strategy": strategy,
                "revisionHistoryLimit": 10,
                "progressDeadlineSeconds": 600,
                "template": {
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "c", "image": image}]}
                }
            }
        }))
        .unwrap()
    }

    fn rolling() -> serde_json::Value {
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}})
    }

    impl Cluster {
        fn new(d: Deployment) -> Self {
            Cluster {
                d,
                rss: vec![],
                pods: BTreeMap::new(),
                now: at(10, 0, 0),
                broken: vec![],
            }
        }

        fn plan(&self) -> Vec<Action> {
            let obs = Observed {
                deployment: &self.d,
                replica_sets: self.rss.iter().collect(),
                pods_by_rs_uid: &self.pods,
            };
            plan(&obs, self.now)
        }

        fn apply(&mut self, actions: &[Action]) {
            for a in actions {
                match a {
                    Action::CreateReplicaSet(r) => {
                        let mut r = (**r).clone();
                        r.metadata.uid = Some(format!("{}-uid", rs_name(&r)));
                        r.metadata.creation_timestamp = Some(to_time(self.now));
                        r.metadata.generation = Some(1);
                        self.rss.push(r);
                    }
                    Action::UpdateReplicaSet {
                        name,
                        replicas,
                        min_ready_seconds,
                        annotations,
                    } => {
                        let r = self.rss.iter_mut().find(|r| rs_name(r) == name).unwrap();
                        set_rs_replicas(r, *replicas);
                        r.spec.as_mut().unwrap().min_ready_seconds = *min_ready_seconds;
                        r.metadata.annotations = Some(annotations.clone());
                    }
                    Action::DeleteReplicaSet { name } => self.rss.retain(|r| rs_name(r) != name),
                    Action::UpdateDeploymentAnnotations(a) => {
                        self.d.metadata.annotations = Some(a.clone());
                    }
                    Action::UpdateDeploymentStatus(s) => self.d.status = Some(s.clone()),
                    Action::Event { .. } | Action::RequeueAfter(_) | Action::Fail(_) => {}
                }
            }
        }

        /// The ReplicaSet controller catches up: pods exist (and are available unless broken).
        fn settle(&mut self) {
            for r in &mut self.rss {
                let n = rs_replicas(r);
                let ok = !self.broken.contains(&rs_name(r).to_string());
                r.status = Some(ReplicaSetStatus {
                    replicas: n,
                    ready_replicas: Some(if ok { n } else { 0 }),
                    available_replicas: Some(if ok { n } else { 0 }),
                    observed_generation: Some(1),
                    ..Default::default()
                });
            }
        }

        fn step(&mut self) -> Vec<Action> {
            let a = self.plan();
            self.apply(&a);
            self.settle();
            self.now += chrono::Duration::seconds(5);
            a
        }

        fn sizes(&self) -> Vec<(String, i32)> {
            let mut v: Vec<(String, i32)> = self
                .rss
                .iter()
                .map(|r| {
                    (
                        rs_annotation(r, REVISION_ANNOTATION)
                            .cloned()
                            .unwrap_or_default(),
                        rs_replicas(r),
                    )
                })
                .collect();
            v.sort();
            v
        }

        fn cond(&self, type_: &str) -> Option<DeploymentCondition> {
            get_deployment_condition(&d_status(&self.d), type_).cloned()
        }

        fn set_image(&mut self, image: &str) {
            let spec = self.d.spec.as_mut().unwrap();
            spec.template.spec.as_mut().unwrap().containers[0].image = Some(image.into());
            self.d.metadata.generation = Some(self.d.metadata.generation.unwrap_or(0) + 1);
        }

        fn writes(a: &[Action]) -> usize {
            a.iter()
                .filter(|a| !matches!(a, Action::Event { .. } | Action::RequeueAfter(_)))
                .count()
        }

        fn run_until_quiet(&mut self, max: usize) -> Vec<Vec<(String, i32)>> {
            let mut history = vec![];
            for _ in 0..max {
                let a = self.step();
                if Self::writes(&a) == 0 {
                    return history;
                }
                history.push(self.sizes());
            }
            panic!("did not converge: {history:?}");
        }
    }

    fn ann(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn e2e_create_scales_new_rs_to_replicas() {
        let mut c = Cluster::new(deployment(rolling(), 3, "nginx:1"));
        let actions = c.plan();
        let hash = pod_template_hash(&c.d.spec.as_ref().unwrap().template, None);
        let name = format!("web-{hash}");
        let Some(Action::CreateReplicaSet(created)) = actions.first() else {
            panic!("{actions:?}")
        };
        let want: ReplicaSet = serde_json::from_value(json!({
            "metadata": {
                "name": name, "namespace": "default",
                "labels": {"app": "web", "pod-template-hash": hash},
                "annotations": {
                    "deployment.kubernetes.io/desired-replicas": "3",
                    "deployment.kubernetes.io/max-replicas": "4",
                    "deployment.kubernetes.io/revision": "1"
                },
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web",
                    "uid": "d-uid", "controller": true, "blockOwnerDeletion": true}]
            },
            "spec": {
                "replicas": 3,
                "selector": {"matchLabels": {"app": "web", "pod-template-hash": hash}},
                "template": {
                    "metadata": {"labels": {"app": "web", "pod-template-hash": hash}},
                    "spec": {"containers": [{"name": "c", "image": "nginx:1"}]}
                }
            }
        }))
        .unwrap();
        assert_eq!(**created, want);
        let now = to_time(c.now);
        let status: DeploymentStatus = serde_json::from_value(json!({
            "observedGeneration": 1,
            "unavailableReplicas": 3,
            "conditions": [
                {"type": "Progressing", "status": "True", "reason": "NewReplicaSetCreated",
                 "message": format!("Created new replica set \"{name}\""),
                 "lastUpdateTime": now, "lastTransitionTime": now},
                {"type": "Available", "status": "False", "reason": "MinimumReplicasUnavailable",
                 "message": "Deployment does not have minimum availability.",
                 "lastUpdateTime": now, "lastTransitionTime": now}
            ]
        }))
        .unwrap();
        assert_eq!(
            actions[1..],
            [
                Action::Event {
                    type_: "Normal".into(),
                    reason: "ScalingReplicaSet".into(),
                    message: format!("Scaled up replica set {name} from 0 to 3"),
                },
                Action::UpdateDeploymentAnnotations(ann(&[(REVISION_ANNOTATION, "1")])),
                Action::UpdateDeploymentStatus(status),
            ]
        );
        c.apply(&actions);
        c.settle();
        c.now += chrono::Duration::seconds(3);
        let actions = c.plan();
        let now2 = to_time(c.now);
        let status: DeploymentStatus = serde_json::from_value(json!({
            "observedGeneration": 1, "replicas": 3, "updatedReplicas": 3, "readyReplicas": 3,
            "availableReplicas": 3,
            "conditions": [
                {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable",
                 "message": "Deployment has minimum availability.",
                 "lastUpdateTime": now2, "lastTransitionTime": now2},
                {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable",
                 "message": format!("ReplicaSet \"{name}\" has successfully progressed."),
                 "lastUpdateTime": now2, "lastTransitionTime": now}
            ]
        }))
        .unwrap();
        assert_eq!(
            actions,
            vec![Action::UpdateDeploymentStatus(status.clone())]
        );
        c.apply(&actions);
        assert!(deployment_complete(&c.d, &status));
        // Steady state: nothing to do, no requeue.
        assert_eq!(c.plan(), vec![]);
    }

    #[test]
    fn e2e_rolling_image_change_3_replicas_25_25() {
        let mut c = Cluster::new(deployment(rolling(), 3, "nginx:1"));
        c.run_until_quiet(5);
        assert_eq!(c.sizes(), vec![("1".into(), 3)]);
        c.set_image("nginx:2");
        let history = c.run_until_quiet(20);
        let s = |a: i32, b: i32| vec![("1".to_string(), a), ("2".to_string(), b)];
        assert_eq!(
            history,
            vec![
                s(3, 1),
                s(2, 1),
                s(2, 2),
                s(1, 2),
                s(1, 3),
                s(0, 3),
                s(0, 3)
            ]
        );
        let st = d_status(&c.d);
        assert_eq!(
            (
                st.replicas,
                st.updated_replicas,
                st.available_replicas,
                st.observed_generation
            ),
            (Some(3), Some(3), Some(3), Some(2))
        );
        assert!(deployment_complete(&c.d, &st));
        let p = c.cond("Progressing").unwrap();
        assert_eq!(p.reason.as_deref(), Some(NEW_RS_AVAILABLE_REASON));
        let new_name = c
            .rss
            .iter()
            .find(|r| rs_replicas(r) == 3)
            .map(|r| rs_name(r).to_string())
            .unwrap();
        assert_eq!(
            p.message,
            Some(format!(
                "ReplicaSet \"{new_name}\" has successfully progressed."
            ))
        );
        assert_eq!(
            c.d.metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get(REVISION_ANNOTATION))
                .map(String::as_str),
            Some("2")
        );
    }

    #[test]
    fn e2e_first_rolling_step_surges_and_reports_progress() {
        let mut c = Cluster::new(deployment(rolling(), 3, "nginx:1"));
        c.run_until_quiet(5);
        c.set_image("nginx:2");
        let a = c.plan();
        let created = a
            .iter()
            .find_map(|a| match a {
                Action::CreateReplicaSet(r) => Some(r.clone()),
                _ => None,
            })
            .unwrap();
        assert_eq!(rs_replicas(&created), 1);
        assert_eq!(
            rs_annotation(&created, REVISION_ANNOTATION).map(String::as_str),
            Some("2")
        );
        assert!(a.contains(&Action::UpdateDeploymentAnnotations(ann(&[(
            REVISION_ANNOTATION,
            "2"
        )]))));
        c.apply(&a);
        // Before the new pod is up: old RS may not shrink (3 available, minAvailable 3).
        let a = c.plan();
        assert!(
            !a.iter()
                .any(|a| matches!(a, Action::UpdateReplicaSet { .. })),
            "{a:?}"
        );
        let p = c.cond("Progressing").unwrap();
        assert_eq!(p.reason.as_deref(), Some(NEW_REPLICA_SET_REASON));
        // Unchanged status with a deadline: requeue for the progress check (600s + 1s).
        assert_eq!(
            a.last(),
            Some(&Action::RequeueAfter(Duration::from_secs(601)))
        );
        c.settle();
        c.now += chrono::Duration::seconds(10);
        let a = c.plan();
        let old_name = c
            .rss
            .iter()
            .find(|r| rs_annotation(r, REVISION_ANNOTATION).map(String::as_str) == Some("1"))
            .map(|r| rs_name(r).to_string())
            .unwrap();
        assert!(a.contains(&Action::Event {
            type_: "Normal".into(),
            reason: "ScalingReplicaSet".into(),
            message: format!("Scaled down replica set {old_name} from 3 to 2"),
        }));
        let Some(Action::UpdateDeploymentStatus(st)) = a
            .iter()
            .find(|a| matches!(a, Action::UpdateDeploymentStatus(_)))
        else {
            panic!("{a:?}")
        };
        let p = get_deployment_condition(st, "Progressing").unwrap();
        assert_eq!(p.reason.as_deref(), Some(REPLICA_SET_UPDATED_REASON));
        assert_eq!(
            p.message,
            Some(format!(
                "ReplicaSet \"{}\" is progressing.",
                rs_name(&created)
            ))
        );
        assert_eq!(p.last_update_time, Some(to_time(c.now)));
    }

    #[test]
    fn e2e_progress_deadline_exceeded() {
        let mut c = Cluster::new(deployment(rolling(), 3, "nginx:1"));
        c.run_until_quiet(5);
        c.set_image("nginx:broken");
        let a = c.plan();
        let created = a
            .iter()
            .find_map(|a| match a {
                Action::CreateReplicaSet(r) => Some(rs_name(r).to_string()),
                _ => None,
            })
            .unwrap();
        c.broken.push(created.clone());
        c.apply(&a);
        c.settle();
        // The new (never available) pod exists: that counts as progress (updatedReplicas grew).
        c.now += chrono::Duration::seconds(100);
        let started = c.now;
        let a = c.plan();
        c.apply(&a);
        let p = c.cond("Progressing").unwrap();
        assert_eq!(p.reason.as_deref(), Some(REPLICA_SET_UPDATED_REASON));
        assert_eq!(p.last_update_time, Some(to_time(started)));
        assert_eq!(c.sizes(), vec![("1".into(), 3), ("2".into(), 1)]);
        // No further progress: requeue for the deadline (600 - 50 + 1 seconds).
        c.now += chrono::Duration::seconds(50);
        assert_eq!(
            c.plan(),
            vec![Action::RequeueAfter(Duration::from_secs(551))]
        );
        c.now = started + chrono::Duration::seconds(601);
        let a = c.plan();
        c.apply(&a);
        let p = c.cond("Progressing").unwrap();
        assert_eq!(p.status, "False");
        assert_eq!(p.reason.as_deref(), Some(TIMED_OUT_REASON));
        assert_eq!(
            p.message,
            Some(format!(
                "ReplicaSet \"{created}\" has timed out progressing."
            ))
        );
        assert_eq!(p.last_transition_time, Some(to_time(c.now)));
        // Once timed out, no more requeues.
        assert_eq!(c.plan(), vec![]);
    }

    #[test]
    fn e2e_recreate_waits_for_old_pods() {
        let mut c = Cluster::new(deployment(json!({"type": "Recreate"}), 3, "nginx:1"));
        c.run_until_quiet(5);
        assert_eq!(c.sizes(), vec![("1".into(), 3)]);
        let old_uid = c.rss[0].metadata.uid.clone().unwrap();
        c.set_image("nginx:2");
        // Step 1: scale the old RS to 0, nothing created.
        let a = c.plan();
        assert!(!a.iter().any(|a| matches!(a, Action::CreateReplicaSet(_))));
        c.apply(&a);
        assert_eq!(c.sizes(), vec![("1".into(), 0)]);
        // The RS controller has not caught up (status.replicas 3): still waiting.
        let a = c.plan();
        assert!(
            !a.iter().any(|a| matches!(a, Action::CreateReplicaSet(_))),
            "{a:?}"
        );
        // Status caught up but a pod is still terminating (Running): still waiting.
        c.settle();
        let running: Pod = serde_json::from_value(
            json!({"metadata": {"name": "p"}, "status": {"phase": "Running"}}),
        )
        .unwrap();
        let done: Pod = serde_json::from_value(
            json!({"metadata": {"name": "q"}, "status": {"phase": "Succeeded"}}),
        )
        .unwrap();
        c.pods.insert(old_uid.clone(), vec![running, done.clone()]);
        let a = c.plan();
        assert!(
            !a.iter().any(|a| matches!(a, Action::CreateReplicaSet(_))),
            "{a:?}"
        );
        // Only terminal pods left: create the new RS at full size.
        c.pods.insert(old_uid, vec![done]);
        let a = c.plan();
        let Some(Action::CreateReplicaSet(created)) = a.first() else {
            panic!("{a:?}")
        };
        assert_eq!(rs_replicas(created), 3);
        assert_eq!(
            rs_annotation(created, MAX_REPLICAS_ANNOTATION).map(String::as_str),
            Some("3")
        );
        c.apply(&a);
        c.settle();
        c.run_until_quiet(5);
        assert_eq!(c.sizes(), vec![("1".into(), 0), ("2".into(), 3)]);
        assert!(deployment_complete(&c.d, &d_status(&c.d)));
    }

    #[test]
    fn e2e_paused_scales_but_does_not_roll_out() {
        let mut c = Cluster::new(deployment(rolling(), 3, "nginx:1"));
        c.run_until_quiet(5);
        c.d.spec.as_mut().unwrap().paused = Some(true);
        c.set_image("nginx:2");
        c.d.spec.as_mut().unwrap().replicas = Some(5);
        let a = c.plan();
        assert!(
            !a.iter().any(|a| matches!(a, Action::CreateReplicaSet(_))),
            "{a:?}"
        );
        c.apply(&a);
        c.settle();
        assert_eq!(c.sizes(), vec![("1".into(), 5)]);
        let p = c.cond("Progressing").unwrap();
        assert_eq!(
            (p.status.as_str(), p.reason.as_deref(), p.message.as_deref()),
            (
                "Unknown",
                Some(PAUSED_DEPLOY_REASON),
                Some("Deployment is paused")
            )
        );
        // desired-replicas annotation follows the scale.
        assert_eq!(
            rs_annotation(&c.rss[0], DESIRED_REPLICAS_ANNOTATION).map(String::as_str),
            Some("5")
        );
        c.run_until_quiet(3);
        assert_eq!(c.rss.len(), 1);
        // Resume: condition flips to DeploymentResumed, rollout begins in the same sync.
        c.d.spec.as_mut().unwrap().paused = Some(false);
        let a = c.plan();
        assert!(a.iter().any(|a| matches!(a, Action::CreateReplicaSet(_))));
        c.apply(&a);
        let p = c.cond("Progressing").unwrap();
        assert_eq!(p.reason.as_deref(), Some(NEW_REPLICA_SET_REASON));
        c.settle();
        c.run_until_quiet(20);
        assert_eq!(c.sizes(), vec![("1".into(), 0), ("2".into(), 5)]);
    }

    #[test]
    fn e2e_resume_condition_without_rollout() {
        let mut c = Cluster::new(deployment(rolling(), 2, "nginx:1"));
        c.run_until_quiet(5);
        c.d.spec.as_mut().unwrap().paused = Some(true);
        c.run_until_quiet(3);
        let p = c.cond("Progressing").unwrap();
        assert_eq!(p.reason.as_deref(), Some(PAUSED_DEPLOY_REASON));
        c.d.spec.as_mut().unwrap().paused = Some(false);
        // checkPausedConditions writes DeploymentResumed, then syncRolloutStatus of the same
        // sync finds the rollout complete and overwrites it (merged into one status write).
        let a = c.plan();
        c.apply(&a);
        let p = c.cond("Progressing").unwrap();
        assert_eq!(
            (p.status.as_str(), p.reason.as_deref()),
            ("True", Some(NEW_RS_AVAILABLE_REASON))
        );
        assert_eq!(p.last_transition_time, Some(to_time(c.now)));
        // Paused while a rollout is stuck, resumed later: the resume resets the deadline clock.
        let mut c = Cluster::new(deployment(rolling(), 2, "nginx:1"));
        c.run_until_quiet(5);
        c.d.spec.as_mut().unwrap().paused = Some(true);
        c.set_image("nginx:2");
        c.step();
        c.now += chrono::Duration::seconds(3600);
        c.d.spec.as_mut().unwrap().paused = Some(false);
        c.d.spec.as_mut().unwrap().replicas = Some(2);
        let mut s = Sync {
            d: c.d.clone(),
            w: Work::new(&c.rss.iter().collect::<Vec<_>>()),
            now: c.now,
            pods: &c.pods,
            requeue: None,
        };
        s.check_paused_conditions();
        let p = get_deployment_condition(&s.status(), "Progressing")
            .cloned()
            .unwrap();
        assert_eq!(
            (p.status.as_str(), p.reason.as_deref(), p.message.as_deref()),
            (
                "Unknown",
                Some(RESUMED_DEPLOY_REASON),
                Some("Deployment is resumed")
            )
        );
        assert_eq!(p.last_update_time, Some(to_time(c.now)));
    }

    #[test]
    fn e2e_history_cleanup_keeps_revision_history_limit() {
        let mut c = Cluster::new(deployment(rolling(), 2, "nginx:1"));
        c.d.spec.as_mut().unwrap().revision_history_limit = Some(1);
        c.run_until_quiet(5);
        for img in ["nginx:2", "nginx:3", "nginx:4"] {
            c.set_image(img);
            c.run_until_quiet(20);
        }
        assert_eq!(c.sizes(), vec![("3".into(), 0), ("4".into(), 2)]);
    }

    #[test]
    fn e2e_rollback_reuses_old_rs_with_revision_history() {
        let mut c = Cluster::new(deployment(rolling(), 2, "nginx:1"));
        c.run_until_quiet(5);
        c.set_image("nginx:2");
        c.run_until_quiet(20);
        // `kubectl rollout undo` patches the template back.
        c.set_image("nginx:1");
        let a = c.plan();
        let old_name = rs_name(&c.rss[0]).to_string();
        let Some(Action::UpdateReplicaSet {
            name, annotations, ..
        }) = a.first()
        else {
            panic!("{a:?}")
        };
        assert_eq!(name, &old_name);
        assert_eq!(
            annotations.get(REVISION_ANNOTATION).map(String::as_str),
            Some("3")
        );
        assert_eq!(
            annotations
                .get(REVISION_HISTORY_ANNOTATION)
                .map(String::as_str),
            Some("1")
        );
        c.apply(&a);
        c.settle();
        c.run_until_quiet(20);
        assert_eq!(c.sizes(), vec![("2".into(), 0), ("3".into(), 2)]);
        assert_eq!(
            c.d.metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get(REVISION_ANNOTATION))
                .map(String::as_str),
            Some("3")
        );
    }

    #[test]
    fn e2e_scaling_event_mid_rollout_is_proportional() {
        let mut c = Cluster::new(deployment(rolling(), 10, "nginx:1"));
        c.run_until_quiet(5);
        c.set_image("nginx:2");
        let a = c.step(); // new RS created with 3 (surge 3 of 10)
        assert!(a.iter().any(|a| matches!(a, Action::CreateReplicaSet(_))));
        // The same sync also scales the old RS down: minAvailable 8, 3 new pods unavailable,
        // maxScaledDown = 13 - 8 - 3 = 2.
        assert_eq!(c.sizes(), vec![("1".into(), 8), ("2".into(), 3)]);
        c.d.spec.as_mut().unwrap().replicas = Some(20);
        let a = c.plan();
        c.apply(&a);
        // allowed 20+5=25, 11 now, +14: old 8 -> round(8*25/13)=15 (+7), new 3 -> round(5.77)=6
        // (+3); leftover 4 goes to the largest (old): 19.
        assert_eq!(c.sizes(), vec![("1".into(), 19), ("2".into(), 6)]);
        assert!(a.contains(&Action::Event {
            type_: "Normal".into(),
            reason: "ScalingReplicaSet".into(),
            message: format!("Scaled up replica set {} from 8 to 19", rs_name(&c.rss[0])),
        }));
    }

    #[test]
    fn e2e_hash_collision_bumps_collision_count() {
        let mut c = Cluster::new(deployment(rolling(), 1, "nginx:1"));
        let hash = pod_template_hash(&c.d.spec.as_ref().unwrap().template, None);
        // An owned RS with the would-be name but another template.
        let mut squatter = rs(
            &format!("web-{hash}"),
            0,
            &[("app", "web")],
            Some(to_time(c.now)),
        );
        squatter.spec.as_mut().unwrap().template = Some(template(&[("app", "web"), ("x", "y")]));
        c.rss.push(squatter);
        let a = c.plan();
        assert_eq!(
            a.last(),
            Some(&Action::Fail(format!(
                "replicasets.apps \"web-{hash}\" already exists"
            )))
        );
        c.apply(&a);
        assert_eq!(d_status(&c.d).collision_count, Some(1));
        let a = c.plan();
        let Some(Action::CreateReplicaSet(r)) = a.first() else {
            panic!("{a:?}")
        };
        let hash1 = pod_template_hash(&c.d.spec.as_ref().unwrap().template, Some(1));
        assert_eq!(rs_name(r), format!("web-{hash1}"));
    }

    #[test]
    fn create_conflict_and_failure_helpers() {
        let d = deployment(rolling(), 1, "nginx:1");
        let mut existing = rs("web-x", 1, &[("app", "web")], None);
        existing.spec.as_mut().unwrap().template = Some(d.spec.as_ref().unwrap().template.clone());
        existing.metadata.owner_references = Some(vec![OwnerReference {
            api_version: "apps/v1".into(),
            kind: "Deployment".into(),
            name: "web".into(),
            uid: "d-uid".into(),
            controller: Some(true),
            block_owner_deletion: Some(true),
        }]);
        assert_eq!(on_create_already_exists(&d, &existing), None);
        existing.metadata.owner_references = None;
        assert_eq!(
            on_create_already_exists(&d, &existing).and_then(|s| s.collision_count),
            Some(1)
        );

        let now = at(1, 2, 3);
        let out = on_create_failed(&d, "web-x", "quota exceeded", now);
        let msg = "Failed to create new replica set \"web-x\": quota exceeded".to_string();
        let st = DeploymentStatus {
            conditions: Some(vec![new_deployment_condition(
                "Progressing",
                "False",
                FAILED_RS_CREATE_REASON,
                &msg,
                now,
            )]),
            ..Default::default()
        };
        assert_eq!(
            out,
            vec![
                Action::UpdateDeploymentStatus(st),
                Action::Event {
                    type_: "Warning".into(),
                    reason: FAILED_RS_CREATE_REASON.into(),
                    message: msg
                },
            ]
        );
    }

    #[test]
    fn e2e_selecting_all_and_deleting() {
        let mut d = deployment(rolling(), 1, "nginx:1");
        d.spec.as_mut().unwrap().selector = LabelSelector::default();
        let c = Cluster::new(d);
        let a = c.plan();
        assert_eq!(
            a[0],
            Action::Event {
                type_: "Warning".into(),
                reason: "SelectingAll".into(),
                message: "This deployment is selecting all pods. A non-empty selector is required."
                    .into(),
            }
        );
        assert_eq!(
            a[1],
            Action::UpdateDeploymentStatus(DeploymentStatus {
                observed_generation: Some(1),
                ..Default::default()
            })
        );

        let mut c = Cluster::new(deployment(rolling(), 2, "nginx:1"));
        c.run_until_quiet(5);
        c.d.metadata.deletion_timestamp = Some(to_time(c.now));
        c.d.spec.as_mut().unwrap().replicas = Some(5);
        c.set_image("nginx:2");
        let a = c.plan();
        // Status only: no ReplicaSet writes.
        assert!(
            a.iter()
                .all(|a| matches!(a, Action::UpdateDeploymentStatus(_))),
            "{a:?}"
        );
    }

    #[test]
    fn min_ready_seconds_propagates_to_new_rs() {
        let mut c = Cluster::new(deployment(rolling(), 1, "nginx:1"));
        c.run_until_quiet(5);
        c.d.spec.as_mut().unwrap().min_ready_seconds = Some(7);
        let a = c.plan();
        let Some(Action::UpdateReplicaSet {
            min_ready_seconds, ..
        }) = a.first()
        else {
            panic!("{a:?}")
        };
        assert_eq!(*min_ready_seconds, Some(7));
    }
}
