//! The Deployment controller's helpers, as upstream's
//! `pkg/controller/deployment/util/deployment_util.go`: replica arithmetic and
//! fenceposts, revisions and annotations, the pod-template hash, conditions.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use k8s_openapi::api::apps::v1::{
    Deployment, DeploymentCondition, DeploymentStatus, ReplicaSet, ReplicaSetSpec,
};
use k8s_openapi::api::core::v1::PodTemplateSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::Value;

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

pub(super) const STRATEGY_ROLLING_UPDATE: &str = "RollingUpdate";

pub(super) const STRATEGY_RECREATE: &str = "Recreate";

pub(super) const MAX_INT32: i32 = i32::MAX;

pub(super) fn d_replicas(d: &Deployment) -> i32 {
    d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1)
}

pub(super) fn d_strategy_type(d: &Deployment) -> &str {
    d.spec
        .as_ref()
        .and_then(|s| s.strategy.as_ref())
        .and_then(|s| s.type_.as_deref())
        .unwrap_or(STRATEGY_ROLLING_UPDATE)
}

pub(super) fn d_paused(d: &Deployment) -> bool {
    d.spec.as_ref().and_then(|s| s.paused).unwrap_or(false)
}

pub(super) fn d_min_ready_seconds(d: &Deployment) -> i32 {
    d.spec
        .as_ref()
        .and_then(|s| s.min_ready_seconds)
        .unwrap_or(0)
}

pub(super) fn d_name(d: &Deployment) -> &str {
    d.metadata.name.as_deref().unwrap_or("")
}

/// maxSurge / maxUnavailable as defaulted by the API server (25% each when absent).
pub(super) fn d_rolling_params(d: &Deployment) -> (IntOrString, IntOrString) {
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

pub(super) fn d_template(d: &Deployment) -> PodTemplateSpec {
    d.spec
        .as_ref()
        .map(|s| s.template.clone())
        .unwrap_or_default()
}

pub(super) fn d_status(d: &Deployment) -> DeploymentStatus {
    d.status.clone().unwrap_or_default()
}

pub(super) fn rs_name(rs: &ReplicaSet) -> &str {
    rs.metadata.name.as_deref().unwrap_or("")
}

pub(super) fn rs_template(rs: &ReplicaSet) -> PodTemplateSpec {
    rs.spec
        .as_ref()
        .and_then(|s| s.template.clone())
        .unwrap_or_default()
}

pub(super) fn rs_replicas(rs: &ReplicaSet) -> i32 {
    rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1)
}

pub(super) fn set_rs_replicas(rs: &mut ReplicaSet, n: i32) {
    rs.spec.get_or_insert_with(ReplicaSetSpec::default).replicas = Some(n);
}

pub(super) fn rs_status_replicas(rs: &ReplicaSet) -> i32 {
    rs.status.as_ref().map(|s| s.replicas).unwrap_or(0)
}

pub(super) fn rs_available(rs: &ReplicaSet) -> i32 {
    rs.status
        .as_ref()
        .and_then(|s| s.available_replicas)
        .unwrap_or(0)
}

pub(super) fn rs_ready(rs: &ReplicaSet) -> i32 {
    rs.status
        .as_ref()
        .and_then(|s| s.ready_replicas)
        .unwrap_or(0)
}

pub(super) fn rs_annotation<'a>(rs: &'a ReplicaSet, key: &str) -> Option<&'a String> {
    rs.metadata.annotations.as_ref().and_then(|a| a.get(key))
}

pub(super) fn time_secs(t: Option<&Time>) -> i64 {
    // A missing timestamp is Go's zero time (year 1), i.e. older than everything.
    t.map(|t| t.0.as_second()).unwrap_or(i64::MIN)
}

/// A `metav1.Time` for `now`, truncated to seconds as it is serialized.
pub(super) fn to_time(now: DateTime<Utc>) -> Time {
    Time(
        k8s_openapi::jiff::Timestamp::from_second(now.timestamp())
            .unwrap_or(k8s_openapi::jiff::Timestamp::UNIX_EPOCH),
    )
}

pub(super) fn from_time(t: &Time) -> DateTime<Utc> {
    let nanos = u32::try_from(t.0.subsec_nanosecond()).unwrap_or(0);
    DateTime::from_timestamp(t.0.as_second(), nanos).unwrap_or_default()
}

/// `ReplicaSetsByCreationTimestamp.Less`: older first, name as tie breaker.
pub(super) fn rs_older(a: &ReplicaSet, b: &ReplicaSet) -> bool {
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
pub(super) fn sort_by_less<T>(v: &mut [T], less: impl Fn(&T, &T) -> bool) {
    for i in 1..v.len() {
        let mut j = i;
        while j > 0 && less(&v[j], &v[j - 1]) {
            v.swap(j, j - 1);
            j -= 1;
        }
    }
}

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

pub(super) fn get_int_from_annotation(rs: &ReplicaSet, key: &str) -> Option<i32> {
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
pub(super) fn get_replica_set_fraction(rs: &ReplicaSet, d: &Deployment) -> i32 {
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

pub(super) fn skip_copy_annotation(key: &str) -> bool {
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

pub(super) const SAFE_ALPHANUMS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// `rand.SafeEncodeString`: maps every character onto a vowel-free alphabet.
pub fn safe_encode_string(s: &str) -> String {
    s.chars()
        .map(|c| SAFE_ALPHANUMS[(c as usize) % SAFE_ALPHANUMS.len()] as char)
        .collect()
}

pub(super) fn fnv32a(hash: u32, bytes: &[u8]) -> u32 {
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
pub(super) fn prune_empty(v: &mut Value) -> bool {
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

pub(super) fn template_value_ignoring_hash(t: &PodTemplateSpec) -> Value {
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

pub(super) fn cond_reason(c: &DeploymentCondition) -> &str {
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

pub(super) fn nz(v: Option<i32>) -> Option<i32> {
    v.filter(|v| *v != 0)
}

pub(super) fn non_empty(s: &Option<String>) -> Option<String> {
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

pub(super) fn status_equal(a: &DeploymentStatus, b: &DeploymentStatus) -> bool {
    normalize_status(a) == normalize_status(b)
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

pub(super) fn progress_deadline(d: &Deployment) -> chrono::Duration {
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

#[cfg(test)]
mod tests {
    use super::super::progress::requeue_stuck_deployment;
    use super::super::testing::*;
    use super::*;
    use chrono::TimeZone;
    use std::time::Duration;

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
}
