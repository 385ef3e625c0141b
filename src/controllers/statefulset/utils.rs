//! The StatefulSet controller's pure helpers, after upstream's
//! `pkg/controller/statefulset/stateful_set_utils.go` (1.33): ordinals and
//! pod identity, claims and their retention-policy ownerReferences, pod
//! health, revisions, status, and claiming pods. No I/O, no clock.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};
use k8s_openapi::api::apps::v1::{
    ControllerRevision, StatefulSet, StatefulSetSpec, StatefulSetStatus,
};
use k8s_openapi::api::core::v1::{
    PersistentVolumeClaim, PersistentVolumeClaimVolumeSource, Pod as CorePod, PodTemplateSpec,
    Volume,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use serde_json::{Value, json};

use crate::controllers::replicaset::logic as rs_logic;
use crate::controllers::shared::cached_pod::Pod;
use crate::controllers::shared::history;

/// Upstream `apps.StatefulSetPodNameLabel`.
pub const POD_NAME_LABEL: &str = "statefulset.kubernetes.io/pod-name";
/// Upstream `apps.PodIndexLabel` (the `PodIndexLabel` gate is GA in 1.33).
pub const POD_INDEX_LABEL: &str = "apps.kubernetes.io/pod-index";
/// Upstream `apps.StatefulSetRevisionLabel`: the name of the pod's revision.
pub const REVISION_LABEL: &str = history::CONTROLLER_REVISION_HASH_LABEL;

pub const PARALLEL: &str = "Parallel";
pub const ROLLING_UPDATE: &str = "RollingUpdate";
pub const ON_DELETE: &str = "OnDelete";
pub const RETAIN: &str = "Retain";
pub const DELETE: &str = "Delete";

/// The API version and kind of the owners the controller writes.
pub const SET_API_VERSION: &str = "apps/v1";
pub const SET_KIND: &str = "StatefulSet";
pub const POD_API_VERSION: &str = "v1";
pub const POD_KIND: &str = "Pod";

// ---------------------------------------------------------------------------------------------
// The set's spec, with the API server's defaults
// ---------------------------------------------------------------------------------------------

fn spec(set: &StatefulSet) -> Option<&StatefulSetSpec> {
    set.spec.as_ref()
}

pub fn name(set: &StatefulSet) -> &str {
    set.metadata.name.as_deref().unwrap_or_default()
}

pub fn namespace(set: &StatefulSet) -> &str {
    set.metadata.namespace.as_deref().unwrap_or_default()
}

pub fn uid(set: &StatefulSet) -> &str {
    set.metadata.uid.as_deref().unwrap_or_default()
}

/// `spec.replicas` (defaulted to 1).
pub fn replicas(set: &StatefulSet) -> i32 {
    spec(set).and_then(|s| s.replicas).unwrap_or(1).max(0)
}

/// Upstream `getStartOrdinal`: `spec.ordinals.start`, else 0.
pub fn start_ordinal(set: &StatefulSet) -> i32 {
    spec(set)
        .and_then(|s| s.ordinals.as_ref())
        .and_then(|o| o.start)
        .unwrap_or(0)
}

/// Upstream `getEndOrdinal` (inclusive).
pub fn end_ordinal(set: &StatefulSet) -> i32 {
    start_ordinal(set) + replicas(set) - 1
}

pub fn min_ready_seconds(set: &StatefulSet) -> i32 {
    spec(set).and_then(|s| s.min_ready_seconds).unwrap_or(0)
}

/// Upstream `allowsBurst`: `podManagementPolicy: Parallel`.
pub fn allows_burst(set: &StatefulSet) -> bool {
    spec(set).and_then(|s| s.pod_management_policy.as_deref()) == Some(PARALLEL)
}

/// `spec.updateStrategy.type` (defaulted to `RollingUpdate`).
pub fn strategy_type(set: &StatefulSet) -> &str {
    spec(set)
        .and_then(|s| s.update_strategy.as_ref())
        .and_then(|u| u.type_.as_deref())
        .unwrap_or(ROLLING_UPDATE)
}

/// `spec.updateStrategy.rollingUpdate.partition` when `rollingUpdate` is
/// set (the API server sets it, partition 0, for `RollingUpdate`).
pub fn partition(set: &StatefulSet) -> Option<i32> {
    spec(set)
        .and_then(|s| s.update_strategy.as_ref())
        .and_then(|u| u.rolling_update.as_ref())
        .map(|r| r.partition.unwrap_or(0))
}

/// `spec.revisionHistoryLimit` (defaulted to 10).
pub fn revision_history_limit(set: &StatefulSet) -> i32 {
    spec(set)
        .and_then(|s| s.revision_history_limit)
        .unwrap_or(10)
}

pub fn service_name(set: &StatefulSet) -> &str {
    spec(set)
        .and_then(|s| s.service_name.as_deref())
        .unwrap_or_default()
}

pub fn claim_templates(set: &StatefulSet) -> &[PersistentVolumeClaim] {
    spec(set)
        .and_then(|s| s.volume_claim_templates.as_deref())
        .unwrap_or_default()
}

fn match_labels(set: &StatefulSet) -> Option<&BTreeMap<String, String>> {
    spec(set).and_then(|s| s.selector.match_labels.as_ref())
}

/// Whether the set's selector selects `labels` (an invalid selector
/// selects nothing; upstream does not sync such a set).
pub fn selects(set: &StatefulSet, labels: Option<&BTreeMap<String, String>>) -> bool {
    spec(set).is_some_and(|s| rs_logic::selector_matches(&s.selector, labels))
}

/// Upstream `metav1.LabelSelectorAsSelector` succeeding: every expression
/// has a known operator and the values it needs.
pub fn selector_is_valid(set: &StatefulSet) -> bool {
    let Some(s) = spec(set) else { return false };
    s.selector.match_expressions.iter().flatten().all(|e| {
        let n = e.values.as_ref().map_or(0, Vec::len);
        match e.operator.as_str() {
            "In" | "NotIn" => n > 0,
            "Exists" | "DoesNotExist" => n == 0,
            _ => false,
        }
    })
}

/// `metav1.NewControllerRef(set, apps/v1 StatefulSet)`.
pub fn controller_ref(set: &StatefulSet) -> OwnerReference {
    OwnerReference {
        api_version: SET_API_VERSION.into(),
        kind: SET_KIND.into(),
        name: name(set).into(),
        uid: uid(set).into(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

// ---------------------------------------------------------------------------------------------
// Ordinals and identity
// ---------------------------------------------------------------------------------------------

/// Upstream `getParentNameAndOrdinal` (`(.*)-([0-9]+)$`): the parent's name
/// and the ordinal, `("", -1)` for a name without one, and the parent with
/// -1 when the digits do not fit an `int32`.
pub fn parent_and_ordinal(pod_name: &str) -> (&str, i32) {
    match pod_name.rsplit_once('-') {
        Some((parent, digits))
            if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) =>
        {
            (parent, digits.parse::<i32>().unwrap_or(-1))
        }
        _ => ("", -1),
    }
}

/// Upstream `getOrdinal`.
pub fn ordinal(pod_name: &str) -> i32 {
    parent_and_ordinal(pod_name).1
}

/// Upstream `podInOrdinalRange`.
pub fn in_ordinal_range(pod_name: &str, set: &StatefulSet) -> bool {
    let o = ordinal(pod_name);
    o >= start_ordinal(set) && o <= end_ordinal(set)
}

/// Upstream `getPodName`.
pub fn pod_name(set: &StatefulSet, ordinal: i32) -> String {
    format!("{}-{ordinal}", name(set))
}

/// Upstream `getPersistentVolumeClaimName`: `<claim>-<set>-<ordinal>`.
pub fn claim_name(set: &StatefulSet, template: &PersistentVolumeClaim, ordinal: i32) -> String {
    format!(
        "{}-{}-{ordinal}",
        template.metadata.name.as_deref().unwrap_or_default(),
        name(set)
    )
}

/// Upstream `isMemberOf`.
pub fn is_member_of(set: &StatefulSet, pod_name: &str) -> bool {
    parent_and_ordinal(pod_name).0 == name(set)
}

/// Upstream `identityMatches`, over a pod's name, namespace and labels.
fn identity_matches_meta(set: &StatefulSet, meta: &ObjectMeta) -> bool {
    let pod = meta.name.as_deref().unwrap_or_default();
    let (parent, ord) = parent_and_ordinal(pod);
    ord >= 0
        && parent == name(set)
        && pod == pod_name(set, ord)
        && meta.namespace.as_deref().unwrap_or_default() == namespace(set)
        && meta
            .labels
            .as_ref()
            .and_then(|l| l.get(POD_NAME_LABEL))
            .map(String::as_str)
            == Some(pod)
}

pub fn identity_matches(set: &StatefulSet, pod: &Pod) -> bool {
    identity_matches_meta(set, &pod.metadata)
}

pub fn identity_matches_full(set: &StatefulSet, pod: &CorePod) -> bool {
    identity_matches_meta(set, &pod.metadata)
}

/// Upstream `storageMatches`: every claim template has a volume of its
/// name backed by the pod's claim. `claim_of(volume)` is `Some(claim name)`
/// for a claim-backed volume, `Some(None)` for another volume, `None` when
/// the pod has no volume of that name.
fn storage_matches_by(
    set: &StatefulSet,
    pod_name: &str,
    claim_of: impl Fn(&str) -> Option<Option<String>>,
) -> bool {
    let ord = ordinal(pod_name);
    if ord < 0 {
        return false;
    }
    claim_templates(set).iter().all(|t| {
        let vol = t.metadata.name.as_deref().unwrap_or_default();
        matches!(claim_of(vol), Some(Some(c)) if c == claim_name(set, t, ord))
    })
}

pub fn storage_matches(set: &StatefulSet, pod: &Pod) -> bool {
    let volumes = pod.spec.as_ref().and_then(|s| s.volumes.as_deref());
    storage_matches_by(
        set,
        pod.metadata.name.as_deref().unwrap_or_default(),
        |vol| {
            // The cache keeps only claim-backed volumes.
            volumes?.iter().find(|v| v.name == vol).map(|v| {
                v.persistent_volume_claim
                    .as_ref()
                    .map(|c| c.claim_name.clone())
            })
        },
    )
}

pub fn storage_matches_full(set: &StatefulSet, pod: &CorePod) -> bool {
    let volumes = pod.spec.as_ref().and_then(|s| s.volumes.as_deref());
    storage_matches_by(
        set,
        pod.metadata.name.as_deref().unwrap_or_default(),
        |vol| {
            volumes?.iter().find(|v| v.name == vol).map(|v| {
                v.persistent_volume_claim
                    .as_ref()
                    .map(|c| c.claim_name.clone())
            })
        },
    )
}

/// Upstream `getPersistentVolumeClaims`: the claims of the pod with this
/// ordinal, as `(template name, claim)` in template order; each is the
/// template named for the pod, in the set's namespace, labelled with the
/// template's labels and the selector's `matchLabels`.
pub fn claims_for(set: &StatefulSet, ordinal: i32) -> Vec<(String, PersistentVolumeClaim)> {
    claim_templates(set)
        .iter()
        .map(|t| {
            let mut claim = t.clone();
            claim.metadata.name = Some(claim_name(set, t, ordinal));
            claim.metadata.namespace = Some(namespace(set).to_string());
            match (claim.metadata.labels.as_mut(), match_labels(set)) {
                (Some(labels), Some(sel)) => {
                    labels.extend(sel.iter().map(|(k, v)| (k.clone(), v.clone())))
                }
                (Some(_), None) => {}
                (None, sel) => claim.metadata.labels = sel.cloned(),
            }
            (t.metadata.name.clone().unwrap_or_default(), claim)
        })
        .collect()
}

/// Upstream `updateStorage`: a volume per claim template, backed by the
/// pod's claim, replacing any volume of that name; then the pod's other
/// volumes.
pub fn update_storage(set: &StatefulSet, pod: &mut CorePod) {
    let ord = ordinal(pod.metadata.name.as_deref().unwrap_or_default());
    let claims = claims_for(set, ord);
    let spec = pod.spec.get_or_insert_with(Default::default);
    let current = spec.volumes.take().unwrap_or_default();
    let mut volumes: Vec<Volume> = claims
        .iter()
        .map(|(vol, claim)| Volume {
            name: vol.clone(),
            persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
                claim_name: claim.metadata.name.clone().unwrap_or_default(),
                read_only: None,
            }),
            ..Default::default()
        })
        .collect();
    volumes.extend(
        current
            .into_iter()
            .filter(|v| !claims.iter().any(|(vol, _)| *vol == v.name)),
    );
    spec.volumes = (!volumes.is_empty()).then_some(volumes);
}

/// Upstream `updateIdentity`: name, namespace, and the pod-name and
/// pod-index labels.
pub fn update_identity(set: &StatefulSet, pod: &mut CorePod) {
    let ord = ordinal(pod.metadata.name.as_deref().unwrap_or_default());
    let name = pod_name(set, ord);
    pod.metadata.name = Some(name.clone());
    pod.metadata.namespace = Some(namespace(set).to_string());
    let labels = pod.metadata.labels.get_or_insert_with(Default::default);
    labels.insert(POD_NAME_LABEL.into(), name);
    labels.insert(POD_INDEX_LABEL.into(), ord.to_string());
}

/// Upstream `newStatefulSetPod`: `GetPodFromTemplate` (labels, annotations,
/// finalizers and spec of the template, `generateName: <set>-`, the
/// controller reference), then `initIdentity` (name, namespace, labels,
/// `hostname`, `subdomain`) and `updateStorage`.
pub fn new_pod(set: &StatefulSet, ordinal: i32) -> CorePod {
    let template = spec(set).map(|s| &s.template);
    let tmeta = template.and_then(|t| t.metadata.as_ref());
    let non_empty = |m: Option<&BTreeMap<String, String>>| m.filter(|m| !m.is_empty()).cloned();
    let mut pod = CorePod {
        metadata: ObjectMeta {
            name: Some(pod_name(set, ordinal)),
            generate_name: Some(format!("{}-", name(set))),
            labels: non_empty(tmeta.and_then(|m| m.labels.as_ref())),
            annotations: non_empty(tmeta.and_then(|m| m.annotations.as_ref())),
            finalizers: tmeta
                .and_then(|m| m.finalizers.as_ref())
                .filter(|f| !f.is_empty())
                .cloned(),
            owner_references: Some(vec![controller_ref(set)]),
            ..Default::default()
        },
        spec: Some(template.and_then(|t| t.spec.clone()).unwrap_or_default()),
        status: None,
    };
    update_identity(set, &mut pod);
    if let Some(s) = pod.spec.as_mut() {
        s.hostname = pod.metadata.name.clone();
        let service = service_name(set);
        s.subdomain = (!service.is_empty()).then(|| service.to_string());
    }
    update_storage(set, &mut pod);
    pod
}

/// Upstream `newVersionedStatefulSetPod`: the pod from the current
/// revision's template when it is below the partition, else from the
/// update revision's. The condition keeps upstream's operator precedence:
/// `(RollingUpdate && rollingUpdate == nil && ordinal < start +
/// currentReplicas) || (rollingUpdate != nil && ordinal < start + partition)`.
pub fn new_versioned_pod(
    current_set: &StatefulSet,
    update_set: &StatefulSet,
    current_revision: &str,
    update_revision: &str,
    ordinal: i32,
) -> CorePod {
    let start = start_ordinal(current_set);
    let current_replicas = current_set
        .status
        .as_ref()
        .and_then(|s| s.current_replicas)
        .unwrap_or(0);
    let at_current = match partition(current_set) {
        None => strategy_type(current_set) == ROLLING_UPDATE && ordinal < start + current_replicas,
        Some(p) => ordinal < start + p,
    };
    let (set, revision) = if at_current {
        (current_set, current_revision)
    } else {
        (update_set, update_revision)
    };
    let mut pod = new_pod(set, ordinal);
    pod.metadata
        .labels
        .get_or_insert_with(Default::default)
        .insert(REVISION_LABEL.into(), revision.to_string());
    pod
}

/// Upstream `getPodRevision`: the `controller-revision-hash` label.
pub fn pod_revision(labels: Option<&BTreeMap<String, String>>) -> &str {
    labels
        .and_then(|l| l.get(REVISION_LABEL))
        .map(String::as_str)
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// Pod health
// ---------------------------------------------------------------------------------------------

fn phase(pod: &Pod) -> &str {
    pod.status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or_default()
}

/// Upstream `isCreated`: the API server has given it a phase.
pub fn is_created(pod: &Pod) -> bool {
    !phase(pod).is_empty()
}

pub fn is_pending(pod: &Pod) -> bool {
    phase(pod) == "Pending"
}

pub fn is_failed(pod: &Pod) -> bool {
    phase(pod) == "Failed"
}

pub fn is_succeeded(pod: &Pod) -> bool {
    phase(pod) == "Succeeded"
}

/// Upstream `isTerminating`: a deletionTimestamp.
pub fn is_terminating(pod: &Pod) -> bool {
    pod.metadata.deletion_timestamp.is_some()
}

/// Upstream `isRunningAndReady`.
pub fn is_running_and_ready(pod: &Pod) -> bool {
    phase(pod) == "Running" && rs_logic::is_pod_ready(pod)
}

/// Upstream `isRunningAndAvailable` (1.33: `podutil.IsPodAvailable`, which
/// does not look at the phase).
pub fn is_running_and_available(pod: &Pod, min_ready_seconds: i32, now: DateTime<Utc>) -> bool {
    rs_logic::is_pod_available(pod, min_ready_seconds, now)
}

/// Upstream `isHealthy`: running, ready and not terminating.
pub fn is_healthy(pod: &Pod) -> bool {
    is_running_and_ready(pod) && !is_terminating(pod)
}

// ---------------------------------------------------------------------------------------------
// Claims and the retention policy
// ---------------------------------------------------------------------------------------------

/// `persistentVolumeClaimRetentionPolicy` (`whenScaled`, `whenDeleted`),
/// each defaulted to `Retain`. Upstream treats an unknown combination as
/// `Retain`/`Retain`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retention {
    /// Retain on scale-down and on deletion: no ownerReference.
    Retain,
    /// Retain on scale-down, delete with the set: a set reference.
    DeleteWithSet,
    /// Delete on scale-down, retain with the set: a pod reference once
    /// the pod is condemned.
    DeleteOnScaleDown,
    /// Delete on both: the set's reference, the pod's once condemned.
    DeleteAlways,
}

pub fn retention(set: &StatefulSet) -> Retention {
    let p = spec(set).and_then(|s| s.persistent_volume_claim_retention_policy.as_ref());
    let scaled = p.and_then(|p| p.when_scaled.as_deref()).unwrap_or(RETAIN);
    let deleted = p.and_then(|p| p.when_deleted.as_deref()).unwrap_or(RETAIN);
    match (scaled, deleted) {
        (RETAIN, DELETE) => Retention::DeleteWithSet,
        (DELETE, RETAIN) => Retention::DeleteOnScaleDown,
        (DELETE, DELETE) => Retention::DeleteAlways,
        _ => Retention::Retain,
    }
}

/// A pod as a claim's owner: its name and uid (empty before it exists).
#[derive(Debug, Clone, Copy)]
pub struct PodId<'a> {
    pub name: &'a str,
    pub uid: &'a str,
}

fn owner_refs(claim: &PersistentVolumeClaim) -> &[OwnerReference] {
    claim
        .metadata
        .owner_references
        .as_deref()
        .unwrap_or_default()
}

/// Upstream `matchesRef`: same group-version, kind and name.
fn matches_ref(r: &OwnerReference, name: &str, api_version: &str, kind: &str) -> bool {
    r.api_version == api_version && r.kind == kind && r.name == name
}

fn refs_set(r: &OwnerReference, set: &StatefulSet) -> bool {
    matches_ref(r, name(set), SET_API_VERSION, SET_KIND)
}

fn refs_pod(r: &OwnerReference, pod: PodId) -> bool {
    matches_ref(r, pod.name, POD_API_VERSION, POD_KIND)
}

/// Upstream `hasOwnerRef`: a reference with the owner's uid.
fn has_owner_ref(claim: &PersistentVolumeClaim, uid: &str) -> bool {
    owner_refs(claim).iter().any(|r| r.uid == uid)
}

/// Upstream `hasStaleOwnerRef`: the first reference naming the owner has
/// another uid.
fn has_stale_ref(
    claim: &PersistentVolumeClaim,
    matches: impl Fn(&OwnerReference) -> bool,
    uid: &str,
) -> bool {
    owner_refs(claim)
        .iter()
        .find(|r| matches(r))
        .is_some_and(|r| r.uid != uid)
}

/// Upstream `hasUnexpectedController`: under a deleting policy, a
/// controller other than the set and the pod, or a reference to them with
/// a stale uid.
pub fn has_unexpected_controller(
    claim: &PersistentVolumeClaim,
    set: &StatefulSet,
    pod: PodId,
) -> bool {
    if retention(set) == Retention::Retain {
        return false;
    }
    owner_refs(claim).iter().any(|r| {
        if refs_set(r, set) {
            return r.uid != uid(set);
        }
        if refs_pod(r, pod) {
            return r.uid != pod.uid;
        }
        r.controller == Some(true)
    })
}

/// Upstream `hasNonControllerOwner`: the set or pod owns it without being
/// its controller.
fn has_non_controller_owner(claim: &PersistentVolumeClaim, set: &StatefulSet, pod: PodId) -> bool {
    owner_refs(claim)
        .iter()
        .any(|r| (r.uid == uid(set) || r.uid == pod.uid) && r.controller != Some(true))
}

/// Upstream `isClaimOwnerUpToDate`: whether the claim's ownerReferences
/// agree with the retention policy (a claim with stale references or
/// another controller is left alone: up to date).
pub fn is_claim_owner_up_to_date(
    claim: &PersistentVolumeClaim,
    set: &StatefulSet,
    pod: PodId,
) -> bool {
    if has_stale_ref(claim, |r| refs_set(r, set), uid(set))
        || has_stale_ref(claim, |r| refs_pod(r, pod), pod.uid)
    {
        return true;
    }
    if has_unexpected_controller(claim, set, pod) {
        return !(has_owner_ref(claim, uid(set)) || has_owner_ref(claim, pod.uid));
    }
    if has_non_controller_owner(claim, set, pod) {
        return false;
    }
    let set_ref = has_owner_ref(claim, uid(set));
    let pod_ref = has_owner_ref(claim, pod.uid);
    let scaled_down = !in_ordinal_range(pod.name, set);
    match retention(set) {
        Retention::Retain => !set_ref && !pod_ref,
        Retention::DeleteWithSet => set_ref && !pod_ref,
        Retention::DeleteOnScaleDown => !set_ref && scaled_down == pod_ref,
        Retention::DeleteAlways => scaled_down != set_ref && scaled_down == pod_ref,
    }
}

/// Upstream `updateClaimOwnerRefForSetAndPod`: the claim's ownerReferences
/// with those to the set and pod replaced as the policy wants (none, when
/// another controller owns it).
pub fn updated_claim_owner_refs(
    claim: &PersistentVolumeClaim,
    set: &StatefulSet,
    pod: PodId,
) -> Vec<OwnerReference> {
    let unexpected = has_unexpected_controller(claim, set, pod);
    let mut refs: Vec<OwnerReference> = owner_refs(claim)
        .iter()
        .filter(|r| !refs_set(r, set) && !refs_pod(r, pod))
        .cloned()
        .collect();
    if unexpected {
        return refs;
    }
    let set_ref = controller_ref(set);
    let pod_ref = OwnerReference {
        api_version: POD_API_VERSION.into(),
        kind: POD_KIND.into(),
        name: pod.name.into(),
        uid: pod.uid.into(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    };
    let scaled_down = !in_ordinal_range(pod.name, set);
    let mut add = |r: OwnerReference| {
        if !refs.iter().any(|x| x.uid == r.uid) {
            refs.push(r);
        }
    };
    match retention(set) {
        Retention::Retain => {}
        Retention::DeleteWithSet => add(set_ref),
        Retention::DeleteOnScaleDown => {
            if scaled_down {
                add(pod_ref);
            }
        }
        Retention::DeleteAlways => add(if scaled_down { pod_ref } else { set_ref }),
    }
    refs
}

/// The claims the controller has looked up, by name.
pub type Claims = HashMap<String, PersistentVolumeClaim>;

/// Upstream `ClaimsMatchRetentionPolicy` (a missing claim matches).
pub fn claims_match_retention_policy(set: &StatefulSet, claims: &Claims, pod: PodId) -> bool {
    let ord = ordinal(pod.name);
    claim_templates(set).iter().all(|t| {
        claims
            .get(&claim_name(set, t, ord))
            .is_none_or(|c| is_claim_owner_up_to_date(c, set, pod))
    })
}

/// Upstream `PodClaimIsStale`: under `whenScaled: Delete`, a claim of the
/// pod refers to a pod of its name with another uid (an earlier pod whose
/// claim the garbage collector is about to delete), so the pod must wait.
pub fn pod_claim_is_stale(set: &StatefulSet, claims: &Claims, pod: PodId) -> bool {
    if matches!(retention(set), Retention::Retain | Retention::DeleteWithSet) {
        return false;
    }
    claims_for(set, ordinal(pod.name)).iter().any(|(_, c)| {
        claims
            .get(c.metadata.name.as_deref().unwrap_or_default())
            .is_some_and(|found| has_stale_ref(found, |r| refs_pod(r, pod), pod.uid))
    })
}

/// Whether `createMissingPersistentVolumeClaims` would do anything for the
/// pod: a claim missing or being deleted, or one whose ownerReferences
/// disagree with the retention policy.
pub fn claims_need_work(set: &StatefulSet, claims: &Claims, pod: PodId) -> bool {
    claims_for(set, ordinal(pod.name)).iter().any(|(_, c)| {
        match claims.get(c.metadata.name.as_deref().unwrap_or_default()) {
            None => true,
            Some(found) => {
                found.metadata.deletion_timestamp.is_some()
                    || !is_claim_owner_up_to_date(found, set, pod)
            }
        }
    })
}

/// Whether an API error says the resource is not served at all (a 404
/// without the name of a missing object), as opposed to a missing object.
pub fn is_unserved(code: u16, details_name: Option<&str>, message: &str) -> bool {
    code == 404
        && (details_name.is_none_or(str::is_empty)
            || message == "the server could not find the requested resource")
}

// ---------------------------------------------------------------------------------------------
// Revisions
// ---------------------------------------------------------------------------------------------

/// The set's pod template as JSON, as Go encodes the typed template
/// (upstream `getPatch`, and kubectl's `getStatefulSetPatch` that `rollout
/// undo` compares with a revision's data): the template's `metadata` is a
/// struct, always written, with `creationTimestamp: null`. The rest is as
/// the API server returned it.
fn template_value(set: &StatefulSet) -> Value {
    let mut t = spec(set)
        .and_then(|s| serde_json::to_value(&s.template).ok())
        .unwrap_or_else(|| json!({}));
    if let Some(m) = t.as_object_mut() {
        let meta = m.entry("metadata").or_insert_with(|| json!({}));
        if let Some(meta) = meta.as_object_mut() {
            meta.entry("creationTimestamp").or_insert(Value::Null);
        }
    }
    t
}

/// Upstream `newRevision`: the template patch as data, the template's
/// labels and the set's annotations, named by hash.
pub fn new_revision(set: &StatefulSet, revision: i64, collision_count: i32) -> ControllerRevision {
    let labels = spec(set).and_then(|s| s.template.metadata.as_ref()?.labels.as_ref());
    let mut rev = history::new_revision(
        name(set),
        set.metadata.namespace.as_deref(),
        controller_ref(set),
        labels,
        history::template_patch(&template_value(set)),
        revision,
        Some(collision_count),
    );
    rev.metadata.annotations = set.metadata.annotations.clone().filter(|a| !a.is_empty());
    rev
}

/// The revision's name when created with another collision count
/// (upstream `CreateControllerRevision` renames on a collision).
pub fn renamed_for_collision(
    set: &StatefulSet,
    rev: &ControllerRevision,
    collision_count: i32,
) -> String {
    let data = rev
        .data
        .as_ref()
        .map(|d| d.0.clone())
        .unwrap_or(Value::Null);
    history::revision_name(name(set), &history::hash(&data, Some(collision_count)))
}

/// Upstream `ApplyRevision`: the set with the revision's template (its
/// data replaces `spec.template`).
pub fn apply_revision(set: &StatefulSet, rev: &ControllerRevision) -> Result<StatefulSet, String> {
    let template = history::template_of(rev).ok_or_else(|| {
        format!(
            "revision {} has no template",
            rev.metadata.name.as_deref().unwrap_or_default()
        )
    })?;
    let template: PodTemplateSpec = serde_json::from_value(template).map_err(|e| e.to_string())?;
    let mut out = set.clone();
    if let Some(s) = out.spec.as_mut() {
        s.template = template;
    }
    Ok(out)
}

/// What `getStatefulSetRevisions` decides for the update revision.
#[derive(Debug, Clone, PartialEq)]
pub enum UpdateRevision {
    /// The latest revision has the set's template.
    Latest(usize),
    /// An older revision has it: it becomes the latest by taking this
    /// revision number (a rollback).
    Rollback { index: usize, revision: i64 },
    /// No revision has it: create this one.
    Create(Box<ControllerRevision>),
}

/// Upstream `getStatefulSetRevisions`' choice for the update revision;
/// `revisions` sorted ([`history::sort_revisions`]).
pub fn choose_update_revision(
    revisions: &[&ControllerRevision],
    candidate: ControllerRevision,
) -> UpdateRevision {
    let equal: Vec<usize> = (0..revisions.len())
        .filter(|i| history::equal_revision(revisions[*i], &candidate))
        .collect();
    match equal.last() {
        Some(&i) if i + 1 == revisions.len() => UpdateRevision::Latest(i),
        Some(&i) => UpdateRevision::Rollback {
            index: i,
            revision: candidate.revision,
        },
        None => UpdateRevision::Create(Box::new(candidate)),
    }
}

/// Upstream `truncateHistory`: the revisions to delete, oldest first —
/// those neither current, nor the update revision, nor any pod's, beyond
/// `revisionHistoryLimit`.
pub fn history_to_delete<'a>(
    set: &StatefulSet,
    pod_revisions: &HashSet<&str>,
    revisions: &[&'a ControllerRevision],
    current: &str,
    update: &str,
) -> Vec<&'a ControllerRevision> {
    let historic: Vec<&'a ControllerRevision> = revisions
        .iter()
        .copied()
        .filter(|r| {
            let n = r.metadata.name.as_deref().unwrap_or_default();
            n != current && n != update && !pod_revisions.contains(n)
        })
        .collect();
    let limit = revision_history_limit(set);
    let Ok(limit) = usize::try_from(limit) else {
        return Vec::new();
    };
    if historic.len() <= limit {
        return Vec::new();
    }
    historic[..historic.len() - limit].to_vec()
}

// ---------------------------------------------------------------------------------------------
// Status
// ---------------------------------------------------------------------------------------------

/// Upstream `replicaStatus`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub replicas: i32,
    pub ready: i32,
    pub available: i32,
    pub current: i32,
    pub updated: i32,
}

/// Upstream `computeReplicaStatus` over some pods.
pub fn count<'a>(
    pods: impl IntoIterator<Item = &'a Pod>,
    min_ready_seconds: i32,
    current_revision: &str,
    update_revision: &str,
    now: DateTime<Utc>,
) -> Counts {
    let mut c = Counts::default();
    for pod in pods {
        if is_created(pod) {
            c.replicas += 1;
        }
        if is_running_and_ready(pod) {
            c.ready += 1;
            if is_running_and_available(pod, min_ready_seconds, now) {
                c.available += 1;
            }
        }
        if is_created(pod) && !is_terminating(pod) {
            let rev = pod_revision(pod.metadata.labels.as_ref());
            if rev == current_revision {
                c.current += 1;
            }
            if rev == update_revision {
                c.updated += 1;
            }
        }
    }
    c
}

fn non_zero(v: i32) -> Option<i32> {
    (v != 0).then_some(v)
}

/// The status `updateStatefulSet` computes, written as upstream's JSON has
/// it (`omitempty` fields absent when zero; `replicas`,
/// `availableReplicas` and `collisionCount` always present).
pub fn status(
    set: &StatefulSet,
    current_revision: &str,
    update_revision: &str,
    collision_count: i32,
    c: Counts,
) -> StatefulSetStatus {
    let non_empty = |s: &str| (!s.is_empty()).then(|| s.to_string());
    StatefulSetStatus {
        observed_generation: set.metadata.generation.filter(|g| *g != 0),
        replicas: c.replicas,
        ready_replicas: non_zero(c.ready),
        available_replicas: Some(c.available),
        current_replicas: non_zero(c.current),
        updated_replicas: non_zero(c.updated),
        current_revision: non_empty(current_revision),
        update_revision: non_empty(update_revision),
        collision_count: Some(collision_count),
        conditions: None,
    }
}

/// Upstream `completeRollingUpdate`: once every replica is updated and
/// ready, the update revision becomes the current one.
pub fn complete_rolling_update(set: &StatefulSet, status: &mut StatefulSetStatus) {
    let want = replicas(set);
    if strategy_type(set) == ROLLING_UPDATE
        && status.updated_replicas.unwrap_or(0) == want
        && status.ready_replicas.unwrap_or(0) == want
        && status.replicas == want
    {
        status.current_replicas = status.updated_replicas;
        status.current_revision = status.update_revision.clone();
    }
}

/// Upstream `inconsistentStatus`: whether the status must be written
/// (`collisionCount` and conditions are not compared, as upstream).
pub fn inconsistent_status(set: &StatefulSet, status: &StatefulSetStatus) -> bool {
    let old = set.status.clone().unwrap_or_default();
    let n = |v: Option<i32>| v.unwrap_or(0);
    status.observed_generation.unwrap_or(0) > old.observed_generation.unwrap_or(0)
        || status.replicas != old.replicas
        || n(status.current_replicas) != n(old.current_replicas)
        || n(status.ready_replicas) != n(old.ready_replicas)
        || n(status.updated_replicas) != n(old.updated_replicas)
        || status.current_revision.as_deref().unwrap_or_default()
            != old.current_revision.as_deref().unwrap_or_default()
        || n(status.available_replicas) != n(old.available_replicas)
        || status.update_revision.as_deref().unwrap_or_default()
            != old.update_revision.as_deref().unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// Claiming pods and revisions (controller_ref_manager.go)
// ---------------------------------------------------------------------------------------------

/// What `ClaimObject` decides for one pod or revision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    Owned,
    Adopt,
    Release,
    Ignore,
}

/// Upstream `ClaimObject` with `match` = selected by the set (and, for
/// pods, named as its member: `isMemberOf`).
pub fn claim(set: &StatefulSet, meta: &ObjectMeta, matches: bool) -> Claim {
    let set_deleting = set.metadata.deletion_timestamp.is_some();
    if let Some(r) = rs_logic::controller_ref(meta) {
        if r.uid != uid(set) {
            return Claim::Ignore;
        }
        if matches {
            return Claim::Owned;
        }
        return if set_deleting {
            Claim::Ignore
        } else {
            Claim::Release
        };
    }
    if set_deleting || !matches || meta.deletion_timestamp.is_some() {
        return Claim::Ignore;
    }
    if !namespace(set).is_empty() && meta.namespace.as_deref() != Some(namespace(set)) {
        return Claim::Ignore;
    }
    Claim::Adopt
}

/// [`claim`] for a pod: selected and a member by name.
pub fn claim_pod(set: &StatefulSet, pod: &Pod) -> Claim {
    let matches = selects(set, pod.metadata.labels.as_ref())
        && is_member_of(set, pod.metadata.name.as_deref().unwrap_or_default());
    claim(set, &pod.metadata, matches)
}

/// Upstream `ListControllerRevisions`: selected, and controlled by the set
/// or by nothing.
pub fn is_set_revision(set: &StatefulSet, rev: &ControllerRevision) -> bool {
    selects(set, rev.metadata.labels.as_ref())
        && rs_logic::controller_ref(&rev.metadata).is_none_or(|r| r.uid == uid(set))
}

/// The strategic merge patch upstream `AdoptPod` and
/// `AdoptControllerRevision` send: the controller reference, with the
/// object's uid as a precondition.
pub fn adopt_patch(set: &StatefulSet, object_uid: &str) -> Value {
    json!({
        "metadata": {
            "ownerReferences": [controller_ref(set)],
            "uid": object_uid,
        }
    })
}

/// The strategic merge patch upstream `ReleasePod` sends.
pub fn release_patch(set: &StatefulSet, object_uid: &str) -> Value {
    json!({
        "metadata": {
            "ownerReferences": [{"$patch": "delete", "uid": uid(set)}],
            "uid": object_uid,
        }
    })
}

// ---------------------------------------------------------------------------------------------
// Events (stateful_pod_control.go)
// ---------------------------------------------------------------------------------------------

fn title(verb: &str) -> String {
    let mut c = verb.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}

/// Upstream `recordPodEvent`: (warning, reason, message).
pub fn pod_event(verb: &str, pod: &str, set: &str, err: Option<&str>) -> (bool, String, String) {
    let verb = verb.to_lowercase();
    match err {
        None => (
            false,
            format!("Successful{}", title(&verb)),
            format!("{verb} Pod {pod} in StatefulSet {set} successful"),
        ),
        Some(e) => (
            true,
            format!("Failed{}", title(&verb)),
            format!("{verb} Pod {pod} in StatefulSet {set} failed error: {e}"),
        ),
    }
}

/// Upstream `recordClaimEvent`: (warning, reason, message).
pub fn claim_event(
    verb: &str,
    claim: &str,
    pod: &str,
    set: &str,
    err: Option<&str>,
) -> (bool, String, String) {
    let verb = verb.to_lowercase();
    match err {
        None => (
            false,
            format!("Successful{}", title(&verb)),
            format!("{verb} Claim {claim} Pod {pod} in StatefulSet {set} success"),
        ),
        Some(e) => (
            true,
            format!("Failed{}", title(&verb)),
            format!("{verb} Claim {claim} for Pod {pod} in StatefulSet {set} failed error: {e}"),
        ),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use k8s_openapi::api::apps::v1::{
        RollingUpdateStatefulSetStrategy, StatefulSetPersistentVolumeClaimRetentionPolicy,
        StatefulSetUpdateStrategy,
    };
    use k8s_openapi::api::core::v1::{Container, PodSpec};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

    /// Upstream's test `newStatefulSet`: `foo` in `default`, selector and
    /// template labels `foo: bar`, one container, claim templates
    /// `datadir` and `home`, `RollingUpdate` with partition 0.
    pub fn new_set(replicas: i32) -> StatefulSet {
        let labels: BTreeMap<String, String> = [("foo".to_string(), "bar".to_string())].into();
        let claim = |n: &str| PersistentVolumeClaim {
            metadata: ObjectMeta {
                name: Some(n.into()),
                ..Default::default()
            },
            ..Default::default()
        };
        StatefulSet {
            metadata: ObjectMeta {
                name: Some("foo".into()),
                namespace: Some("default".into()),
                uid: Some("test".into()),
                generation: Some(1),
                ..Default::default()
            },
            spec: Some(StatefulSetSpec {
                replicas: Some(replicas),
                selector: LabelSelector {
                    match_labels: Some(labels.clone()),
                    match_expressions: None,
                },
                service_name: Some("governingsvc".into()),
                template: PodTemplateSpec {
                    metadata: Some(ObjectMeta {
                        labels: Some(labels),
                        ..Default::default()
                    }),
                    spec: Some(PodSpec {
                        containers: vec![Container {
                            name: "nginx".into(),
                            image: Some("nginx".into()),
                            ..Default::default()
                        }],
                        ..Default::default()
                    }),
                },
                update_strategy: Some(StatefulSetUpdateStrategy {
                    type_: Some(ROLLING_UPDATE.into()),
                    rolling_update: Some(RollingUpdateStatefulSetStrategy {
                        partition: Some(0),
                        max_unavailable: None,
                    }),
                }),
                volume_claim_templates: Some(vec![claim("datadir"), claim("home")]),
                revision_history_limit: Some(2),
                ..Default::default()
            }),
            status: None,
        }
    }

    /// A cached pod as the API would return the created pod.
    pub fn cached(pod: &CorePod, uid: &str) -> Pod {
        let mut v = serde_json::to_value(pod).unwrap();
        v["metadata"]["uid"] = json!(uid);
        v["status"] = json!({"phase": "Pending"});
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn parent_name_and_ordinal() {
        assert_eq!(parent_and_ordinal("foo-1"), ("foo", 1));
        assert_eq!(parent_and_ordinal("1-bar"), ("", -1));
        assert_eq!(parent_and_ordinal("a-b-12"), ("a-b", 12));
        assert_eq!(parent_and_ordinal("web-007"), ("web", 7));
        assert_eq!(parent_and_ordinal("web-"), ("", -1));
        assert_eq!(parent_and_ordinal("web-99999999999"), ("web", -1));
        assert_eq!(parent_and_ordinal("-3"), ("", 3));
    }

    #[test]
    fn new_pods_have_identity_and_storage() {
        let set = new_set(3);
        let pod = new_pod(&set, 1);
        assert_eq!(pod.metadata.name.as_deref(), Some("foo-1"));
        assert_eq!(pod.metadata.generate_name.as_deref(), Some("foo-"));
        assert_eq!(pod.metadata.namespace.as_deref(), Some("default"));
        let labels = pod.metadata.labels.clone().unwrap();
        assert_eq!(
            labels.get(POD_NAME_LABEL).map(String::as_str),
            Some("foo-1")
        );
        assert_eq!(labels.get(POD_INDEX_LABEL).map(String::as_str), Some("1"));
        assert_eq!(labels.get("foo").map(String::as_str), Some("bar"));
        let spec = pod.spec.clone().unwrap();
        assert_eq!(spec.hostname.as_deref(), Some("foo-1"));
        assert_eq!(spec.subdomain.as_deref(), Some("governingsvc"));
        let vols: Vec<(String, String)> = spec
            .volumes
            .unwrap()
            .into_iter()
            .map(|v| (v.name, v.persistent_volume_claim.unwrap().claim_name))
            .collect();
        assert_eq!(
            vols,
            vec![
                ("datadir".into(), "datadir-foo-1".into()),
                ("home".into(), "home-foo-1".into())
            ]
        );
        let owner = &pod.metadata.owner_references.clone().unwrap()[0];
        assert_eq!(
            (owner.kind.as_str(), owner.controller),
            ("StatefulSet", Some(true))
        );
        assert!(identity_matches_full(&set, &pod));
        assert!(storage_matches_full(&set, &pod));
        let c = cached(&pod, "u1");
        assert!(identity_matches(&set, &c));
        assert!(storage_matches(&set, &c));
        assert!(is_member_of(&set, "foo-1"));
        let mut other = set.clone();
        other.metadata.name = Some("foo2".into());
        assert!(!is_member_of(&other, "foo-1"));
    }

    #[test]
    fn identity_and_storage_mismatches_are_repaired() {
        // Upstream TestIdentityMatches / TestUpdateIdentity / TestStorageMatches / TestUpdateStorage.
        let set = new_set(3);
        let mut pod = new_pod(&set, 1);
        pod.metadata.namespace = Some(String::new());
        assert!(!identity_matches_full(&set, &pod));
        update_identity(&set, &mut pod);
        assert!(identity_matches_full(&set, &pod));
        pod.metadata.labels.as_mut().unwrap().remove(POD_NAME_LABEL);
        assert!(!identity_matches_full(&set, &pod));
        update_identity(&set, &mut pod);
        assert!(identity_matches_full(&set, &pod));
        let mut renamed = new_pod(&set, 1);
        renamed.metadata.name = Some("foo".into());
        assert!(!identity_matches_full(&set, &renamed));

        let mut pod = new_pod(&set, 1);
        pod.spec.as_mut().unwrap().volumes = None;
        assert!(!storage_matches_full(&set, &pod));
        update_storage(&set, &mut pod);
        assert!(storage_matches_full(&set, &pod));
        for v in pod.spec.as_mut().unwrap().volumes.as_mut().unwrap() {
            v.persistent_volume_claim.as_mut().unwrap().claim_name = "foo".into();
        }
        assert!(!storage_matches_full(&set, &pod));
        update_storage(&set, &mut pod);
        assert!(storage_matches_full(&set, &pod));
        let mut pod = new_pod(&set, 1);
        for v in pod.spec.as_mut().unwrap().volumes.as_mut().unwrap() {
            v.persistent_volume_claim = None;
            v.empty_dir = Some(Default::default());
        }
        assert!(!storage_matches_full(&set, &pod));
        assert!(!storage_matches(&set, &cached(&pod, "u")));
        let mut pod = new_pod(&set, 1);
        pod.metadata.name = Some("bar".into());
        assert!(!storage_matches_full(&set, &pod));
    }

    #[test]
    fn claims_are_named_and_labelled_for_the_pod() {
        let mut set = new_set(3);
        set.spec
            .as_mut()
            .unwrap()
            .volume_claim_templates
            .as_mut()
            .unwrap()[1]
            .metadata
            .labels = Some([("tier".to_string(), "x".to_string())].into());
        let claims = claims_for(&set, 2);
        assert_eq!(claims[0].0, "datadir");
        assert_eq!(claims[0].1.metadata.name.as_deref(), Some("datadir-foo-2"));
        assert_eq!(claims[0].1.metadata.namespace.as_deref(), Some("default"));
        assert_eq!(
            claims[0].1.metadata.labels,
            Some([("foo".to_string(), "bar".to_string())].into())
        );
        assert_eq!(
            claims[1].1.metadata.labels,
            Some(
                [
                    ("foo".to_string(), "bar".to_string()),
                    ("tier".to_string(), "x".to_string())
                ]
                .into()
            )
        );
    }

    #[test]
    fn start_ordinal_shifts_the_range() {
        let mut set = new_set(3);
        set.spec.as_mut().unwrap().ordinals =
            Some(k8s_openapi::api::apps::v1::StatefulSetOrdinals { start: Some(5) });
        assert_eq!((start_ordinal(&set), end_ordinal(&set)), (5, 7));
        assert!(!in_ordinal_range("foo-4", &set));
        assert!(in_ordinal_range("foo-5", &set));
        assert!(in_ordinal_range("foo-7", &set));
        assert!(!in_ordinal_range("foo-8", &set));
    }

    fn with_policy(set: &mut StatefulSet, scaled: &str, deleted: &str) {
        set.spec
            .as_mut()
            .unwrap()
            .persistent_volume_claim_retention_policy =
            Some(StatefulSetPersistentVolumeClaimRetentionPolicy {
                when_scaled: Some(scaled.into()),
                when_deleted: Some(deleted.into()),
            });
    }

    fn claim_with(refs: Vec<OwnerReference>) -> PersistentVolumeClaim {
        PersistentVolumeClaim {
            metadata: ObjectMeta {
                name: Some("target-claim".into()),
                owner_references: Some(refs),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    fn pod_ref(name: &str, uid: &str) -> OwnerReference {
        OwnerReference {
            api_version: "v1".into(),
            kind: "Pod".into(),
            name: name.into(),
            uid: uid.into(),
            controller: Some(true),
            block_owner_deletion: Some(true),
        }
    }

    /// Upstream TestIsClaimOwnerUpToDate: every combination of pod, set and
    /// unrelated references against each policy.
    #[test]
    fn claim_owner_up_to_date_by_policy() {
        // (name, whenScaled, whenDeleted, needs pod ref, needs set ref, replicas, ordinal)
        let cases = [
            ("retain", RETAIN, RETAIN, false, false, 0, 0),
            ("on SS delete", RETAIN, DELETE, false, true, 0, 0),
            (
                "on scaledown only, condemned",
                DELETE,
                RETAIN,
                true,
                false,
                2,
                2,
            ),
            (
                "on scaledown only, remains",
                DELETE,
                RETAIN,
                false,
                false,
                2,
                1,
            ),
            ("on both, condemned", DELETE, DELETE, true, false, 2, 2),
            ("on both, remains", DELETE, DELETE, false, true, 2, 1),
        ];
        for (name, scaled, deleted, needs_pod, needs_set, replicas, ord) in cases {
            for others in [false, true] {
                for set_pod_ref in [false, true] {
                    for set_set_ref in [false, true] {
                        let mut set = new_set(replicas);
                        set.metadata.name = Some("stateful-set".into());
                        set.metadata.uid = Some("ss-456".into());
                        with_policy(&mut set, scaled, deleted);
                        let pod_name = format!("pod-{ord}");
                        let pod = PodId {
                            name: &pod_name,
                            uid: "pod-123",
                        };
                        let mut refs = Vec::new();
                        if set_pod_ref {
                            refs.push(pod_ref(&pod_name, "pod-123"));
                        }
                        if set_set_ref {
                            refs.push(controller_ref(&set));
                        }
                        if others {
                            let mut r1 = pod_ref("rand1", "rand1-uid");
                            r1.controller = None;
                            let mut r2 = pod_ref("rand2", "rand2-uid");
                            r2.controller = None;
                            refs.extend([r1, r2]);
                        }
                        let claim = claim_with(refs);
                        let want = set_pod_ref == needs_pod && set_set_ref == needs_set;
                        assert_eq!(
                            is_claim_owner_up_to_date(&claim, &set, pod),
                            want,
                            "{name} pod={set_pod_ref} set={set_set_ref} others={others}"
                        );
                        // Updating makes it up to date, keeping the others.
                        let mut fixed = claim.clone();
                        fixed.metadata.owner_references =
                            Some(updated_claim_owner_refs(&claim, &set, pod));
                        assert!(is_claim_owner_up_to_date(&fixed, &set, pod), "{name}");
                        let kept = owner_refs(&fixed)
                            .iter()
                            .filter(|r| r.name.starts_with("rand"))
                            .count();
                        assert_eq!(kept, if others { 2 } else { 0 });
                    }
                }
            }
        }
    }

    #[test]
    fn claims_with_stale_or_foreign_controllers_are_left_alone() {
        let mut set = new_set(2);
        with_policy(&mut set, DELETE, DELETE);
        let pod = PodId {
            name: "foo-1",
            uid: "pod-123",
        };
        // A reference to an earlier pod of the same name: up to date (left
        // to the garbage collector), and stale for a new pod.
        let claim = claim_with(vec![pod_ref("foo-1", "old-uid")]);
        assert!(is_claim_owner_up_to_date(&claim, &set, pod));
        let claims: Claims = [("datadir-foo-1".to_string(), claim)].into();
        assert!(pod_claim_is_stale(
            &set,
            &claims,
            PodId {
                name: "foo-1",
                uid: ""
            }
        ));
        with_policy(&mut set, RETAIN, DELETE);
        assert!(!pod_claim_is_stale(
            &set,
            &claims,
            PodId {
                name: "foo-1",
                uid: ""
            }
        ));
        // Another controller: up to date while neither set nor pod refers.
        with_policy(&mut set, DELETE, DELETE);
        let mut other = pod_ref("x", "x-uid");
        other.kind = "Other".into();
        let claim = claim_with(vec![other.clone()]);
        assert!(has_unexpected_controller(&claim, &set, pod));
        assert!(is_claim_owner_up_to_date(&claim, &set, pod));
        let claim = claim_with(vec![other, controller_ref(&set)]);
        assert!(!is_claim_owner_up_to_date(&claim, &set, pod));
        let refs = updated_claim_owner_refs(&claim, &set, pod);
        assert_eq!(refs.len(), 1);
        assert_eq!(refs[0].kind, "Other");
        // A non-controller reference to the set is fixed.
        let mut plain = controller_ref(&set);
        plain.controller = None;
        assert!(!is_claim_owner_up_to_date(
            &claim_with(vec![plain]),
            &set,
            pod
        ));
    }

    #[test]
    fn revisions_restore_templates_and_are_chosen_as_upstream() {
        let set = new_set(3);
        let r1 = new_revision(&set, 1, 0);
        let name1 = r1.metadata.name.clone().unwrap();
        assert!(name1.starts_with("foo-"));
        assert_eq!(
            r1.metadata
                .labels
                .as_ref()
                .and_then(|l| l.get("foo"))
                .map(String::as_str),
            Some("bar")
        );
        assert_eq!(
            r1.metadata.owner_references.as_ref().unwrap()[0].kind,
            "StatefulSet"
        );
        // The data is Go's encoding of the template: sorted keys, the
        // template's creationTimestamp null.
        assert_eq!(
            serde_json::to_string(&r1.data.as_ref().unwrap().0).unwrap(),
            r#"{"spec":{"template":{"$patch":"replace","metadata":{"creationTimestamp":null,"labels":{"foo":"bar"}},"spec":{"containers":[{"image":"nginx","name":"nginx"}]}}}}"#
        );
        let applied = apply_revision(&set, &r1).unwrap();
        assert_eq!(applied.spec, set.spec);
        // A new template gives a new name; the same template the same one.
        let mut set2 = set.clone();
        set2.spec
            .as_mut()
            .unwrap()
            .template
            .spec
            .as_mut()
            .unwrap()
            .containers[0]
            .image = Some("nginx:2".into());
        let r2 = new_revision(&set2, 2, 0);
        assert_ne!(r2.metadata.name, r1.metadata.name);
        assert_eq!(new_revision(&set, 7, 0).metadata.name, r1.metadata.name);
        let restored = apply_revision(&set2, &r1).unwrap();
        assert_eq!(
            restored.spec.unwrap().template,
            set.spec.clone().unwrap().template
        );
        // Another collision count, another name.
        assert_ne!(renamed_for_collision(&set, &r1, 1), name1);
        assert_eq!(renamed_for_collision(&set, &r1, 0), name1);

        let revs = [&r1, &r2];
        assert_eq!(
            choose_update_revision(&revs, new_revision(&set2, 3, 0)),
            UpdateRevision::Latest(1)
        );
        assert_eq!(
            choose_update_revision(&revs, new_revision(&set, 3, 0)),
            UpdateRevision::Rollback {
                index: 0,
                revision: 3
            }
        );
        let mut set3 = set.clone();
        set3.spec
            .as_mut()
            .unwrap()
            .template
            .spec
            .as_mut()
            .unwrap()
            .containers[0]
            .image = Some("nginx:3".into());
        assert!(matches!(
            choose_update_revision(&revs, new_revision(&set3, 3, 0)),
            UpdateRevision::Create(r) if r.revision == 3
        ));
        assert!(matches!(
            choose_update_revision(&[], new_revision(&set, 1, 0)),
            UpdateRevision::Create(_)
        ));
    }

    /// Upstream's `testdata/compatibility_set_1.33.0.json` and the revision
    /// kube-controller-manager 1.33 made of it (`test-c77f6d978`).
    #[test]
    fn revisions_are_named_as_kube_controller_manager_1_33_names_them() {
        let set: StatefulSet = serde_json::from_value(json!({
            "apiVersion": "apps/v1", "kind": "StatefulSet",
            "metadata": {"generation": 1, "labels": {"sslabel": "value"}, "name": "test",
                "namespace": "default", "uid": "ec335e25-1045-4216-8634-50cfbe05f3d6"},
            "spec": {
                "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain", "whenScaled": "Retain"},
                "podManagementPolicy": "OrderedReady", "replicas": 1, "revisionHistoryLimit": 10,
                "selector": {"matchLabels": {"app": "foo"}}, "serviceName": "",
                "template": {
                    "metadata": {"annotations": {"test": "value"}, "creationTimestamp": null, "labels": {"app": "foo"}},
                    "spec": {"containers": [{"image": "test", "imagePullPolicy": "Always", "name": "test",
                        "resources": {}, "terminationMessagePath": "/dev/termination-log",
                        "terminationMessagePolicy": "File"}],
                        "dnsPolicy": "ClusterFirst", "restartPolicy": "Always",
                        "schedulerName": "default-scheduler", "securityContext": {},
                        "terminationGracePeriodSeconds": 30}},
                "updateStrategy": {"rollingUpdate": {"partition": 0}, "type": "RollingUpdate"},
            },
            "status": {"collisionCount": 0, "replicas": 1},
        }))
        .unwrap();
        let rev = new_revision(&set, 1, 0);
        assert_eq!(rev.metadata.name.as_deref(), Some("test-c77f6d978"));
        assert_eq!(
            rev.metadata.labels,
            Some(
                [
                    ("app".to_string(), "foo".to_string()),
                    (
                        history::REVISION_HASH_LABEL.to_string(),
                        "c77f6d978".to_string()
                    )
                ]
                .into()
            )
        );
        assert_eq!(rev.metadata.annotations, None);
        assert_eq!(
            history::go_json(&rev.data.unwrap().0),
            r#"{"spec":{"template":{"$patch":"replace","metadata":{"annotations":{"test":"value"},"creationTimestamp":null,"labels":{"app":"foo"}},"spec":{"containers":[{"image":"test","imagePullPolicy":"Always","name":"test","resources":{},"terminationMessagePath":"/dev/termination-log","terminationMessagePolicy":"File"}],"dnsPolicy":"ClusterFirst","restartPolicy":"Always","schedulerName":"default-scheduler","securityContext":{},"terminationGracePeriodSeconds":30}}}}"#
        );
    }

    /// Upstream TestStatefulSetControlLimitsHistory's rule: live revisions
    /// (current, update, any pod's) are kept; the oldest others go beyond
    /// the limit.
    #[test]
    fn history_is_truncated_oldest_first_keeping_live_revisions() {
        let set = new_set(3); // limit 2
        let revs: Vec<ControllerRevision> = (1..=6)
            .map(|i| {
                let mut r = new_revision(&set, i, 0);
                r.metadata.name = Some(format!("foo-r{i}"));
                r
            })
            .collect();
        let refs: Vec<&ControllerRevision> = revs.iter().collect();
        let pods: HashSet<&str> = ["foo-r2"].into();
        let gone: Vec<&str> = history_to_delete(&set, &pods, &refs, "foo-r5", "foo-r6")
            .iter()
            .map(|r| r.metadata.name.as_deref().unwrap())
            .collect();
        // Historic: r1, r3, r4; keep the newest 2.
        assert_eq!(gone, vec!["foo-r1"]);
        let gone = history_to_delete(&set, &HashSet::new(), &refs, "foo-r6", "foo-r6");
        assert_eq!(gone.len(), 3);
        let mut unlimited = set.clone();
        unlimited.spec.as_mut().unwrap().revision_history_limit = Some(10);
        assert!(history_to_delete(&unlimited, &HashSet::new(), &refs, "x", "y").is_empty());
    }

    #[test]
    fn status_completes_a_rolling_update_and_compares_as_upstream() {
        let mut set = new_set(3);
        let c = Counts {
            replicas: 3,
            ready: 3,
            available: 3,
            current: 1,
            updated: 3,
        };
        let mut st = status(&set, "foo-a", "foo-b", 0, c);
        assert_eq!(st.collision_count, Some(0));
        assert_eq!(st.observed_generation, Some(1));
        complete_rolling_update(&set, &mut st);
        assert_eq!(st.current_revision.as_deref(), Some("foo-b"));
        assert_eq!(st.current_replicas, Some(3));
        assert!(inconsistent_status(&set, &st));
        set.status = Some(st.clone());
        assert!(!inconsistent_status(&set, &st));
        // The collision count alone does not trigger a write.
        let mut other = st.clone();
        other.collision_count = Some(4);
        assert!(!inconsistent_status(&set, &other));
        // Not all ready: no completion.
        let mut st = status(&set, "foo-a", "foo-b", 0, Counts { ready: 2, ..c });
        complete_rolling_update(&set, &mut st);
        assert_eq!(st.current_revision.as_deref(), Some("foo-a"));
        // OnDelete never completes.
        set.spec.as_mut().unwrap().update_strategy = Some(StatefulSetUpdateStrategy {
            type_: Some(ON_DELETE.into()),
            rolling_update: None,
        });
        let mut st = status(&set, "foo-a", "foo-b", 0, c);
        complete_rolling_update(&set, &mut st);
        assert_eq!(st.current_revision.as_deref(), Some("foo-a"));
    }

    #[test]
    fn pods_are_claimed_by_selector_and_name() {
        let set = new_set(3);
        let mut pod = cached(&new_pod(&set, 0), "p0");
        assert_eq!(claim_pod(&set, &pod), Claim::Owned);
        pod.metadata
            .labels
            .as_mut()
            .unwrap()
            .insert("foo".into(), "baz".into());
        assert_eq!(claim_pod(&set, &pod), Claim::Release);
        let mut orphan = cached(&new_pod(&set, 1), "p1");
        orphan.metadata.owner_references = None;
        assert_eq!(claim_pod(&set, &orphan), Claim::Adopt);
        let mut stranger = orphan.clone();
        stranger.metadata.name = Some("bar-1".into());
        assert_eq!(claim_pod(&set, &stranger), Claim::Ignore);
        let mut other = cached(&new_pod(&set, 2), "p2");
        other.metadata.owner_references.as_mut().unwrap()[0].uid = "other".into();
        assert_eq!(claim_pod(&set, &other), Claim::Ignore);
    }

    #[test]
    fn events_read_as_upstream() {
        assert_eq!(
            pod_event("create", "web-0", "web", None),
            (
                false,
                "SuccessfulCreate".into(),
                "create Pod web-0 in StatefulSet web successful".into()
            )
        );
        assert_eq!(
            pod_event("delete", "web-2", "web", Some("boom")).2,
            "delete Pod web-2 in StatefulSet web failed error: boom"
        );
        assert_eq!(
            claim_event("create", "data-web-0", "web-0", "web", None).2,
            "create Claim data-web-0 Pod web-0 in StatefulSet web success"
        );
        assert_eq!(
            claim_event("create", "data-web-0", "web-0", "web", Some("x")),
            (
                true,
                "FailedCreate".into(),
                "create Claim data-web-0 for Pod web-0 in StatefulSet web failed error: x".into()
            )
        );
    }

    #[test]
    fn unserved_resources_are_told_from_missing_objects() {
        assert!(is_unserved(
            404,
            None,
            "the server could not find the requested resource"
        ));
        assert!(is_unserved(404, Some(""), "whatever"));
        assert!(!is_unserved(
            404,
            Some("data-web-0"),
            "persistentvolumeclaims \"data-web-0\" not found"
        ));
        assert!(!is_unserved(409, None, ""));
    }
}
