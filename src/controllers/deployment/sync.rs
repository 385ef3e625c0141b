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
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, OwnerReference};

use crate::controllers::shared::cached_pod::Pod;

use super::util::*;

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

pub(super) enum Op {
    Create(usize),
    Touch(usize),
    Delete(usize),
    Event(&'static str, &'static str, String),
}

/// The ReplicaSets as the sync sees them after its own writes (upstream keeps the objects
/// returned by its updates), plus the chronological record of writes and events.
pub(super) struct Work {
    pub(super) rss: Vec<ReplicaSet>,
    pub(super) orig: Vec<Option<ReplicaSet>>,
    pub(super) ops: Vec<Op>,
}

impl Work {
    pub(super) fn new(rss: &[&ReplicaSet]) -> Self {
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

    pub(super) fn refs(&self, idx: &[usize]) -> Vec<&ReplicaSet> {
        idx.iter().filter_map(|i| self.rss.get(*i)).collect()
    }

    pub(super) fn replicas(&self, i: usize) -> i32 {
        self.rss.get(i).map_or(0, rs_replicas)
    }

    pub(super) fn event(&mut self, type_: &'static str, reason: &'static str, message: String) {
        self.ops.push(Op::Event(type_, reason, message));
    }

    pub(super) fn touch(&mut self, i: usize) {
        self.ops.push(Op::Touch(i));
    }

    /// `scaleReplicaSet`: writes size and replicas annotations if either differs.
    pub(super) fn scale_replica_set(&mut self, i: usize, new_scale: i32, d: &Deployment) -> bool {
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
    pub(super) fn scale_and_record(&mut self, i: usize, new_scale: i32, d: &Deployment) -> bool {
        if self.replicas(i) == new_scale {
            return false;
        }
        self.scale_replica_set(i, new_scale, d)
    }

    pub(super) fn filter_active(&self, idx: &[usize]) -> Vec<usize> {
        idx.iter()
            .copied()
            .filter(|i| self.replicas(*i) > 0)
            .collect()
    }

    pub(super) fn sort_by_creation(&self, idx: &mut [usize]) {
        let rss = &self.rss;
        sort_by_less(idx, |a, b| match (rss.get(*a), rss.get(*b)) {
            (Some(x), Some(y)) => rs_older(x, y),
            _ => false,
        });
    }

    // -- rolling.go --------------------------------------------------------------------------

    /// `FindActiveOrLatest`.
    pub(super) fn find_active_or_latest(&self, new: Option<usize>, old: &[usize]) -> Option<usize> {
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
    pub(super) fn scale(&mut self, d: &Deployment, new: Option<usize>, old: &[usize]) {
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
    pub(super) fn cleanup_deployment(&mut self, old: &[usize], d: &Deployment) {
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

pub(super) struct Sync<'a> {
    pub(super) d: Deployment,
    pub(super) w: Work,
    pub(super) now: DateTime<Utc>,
    pub(super) pods: &'a BTreeMap<String, Vec<Pod>>,
    pub(super) requeue: Option<Duration>,
}

impl Sync<'_> {
    pub(super) fn status(&self) -> DeploymentStatus {
        d_status(&self.d)
    }

    pub(super) fn set_condition(&mut self, cond: DeploymentCondition) {
        let mut st = self.status();
        set_deployment_condition(&mut st, cond);
        self.d.status = Some(st);
    }

    /// `getAllReplicaSetsAndSyncRevision` + `getNewReplicaSet`.
    pub(super) fn get_all_and_sync_revision(
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

    pub(super) fn all_of(new: Option<usize>, old: &[usize]) -> Vec<usize> {
        let mut all = old.to_vec();
        all.extend(new);
        all
    }

    /// `checkPausedConditions`.
    pub(super) fn check_paused_conditions(&mut self) {
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
    pub(super) fn is_scaling_event(&mut self) -> Result<bool, String> {
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
    pub(super) fn sync_deployment_status(&mut self, new: Option<usize>, old: &[usize]) {
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
    pub(super) fn sync(&mut self) -> Result<(), String> {
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
    pub(super) fn sync_status_only(&mut self) -> Result<(), String> {
        let (new, old) = self.get_all_and_sync_revision(false)?;
        self.sync_deployment_status(new, &old);
        Ok(())
    }

    /// `syncDeployment` after the listers.
    pub(super) fn run(&mut self) -> Result<(), String> {
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
    use super::super::testing::*;
    use super::*;

    use k8s_openapi::api::apps::v1::ReplicaSetStatus;

    use serde_json::json;

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
