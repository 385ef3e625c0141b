//! The StatefulSet update algorithm, after upstream's
//! `pkg/controller/statefulset/stateful_set_control.go` (`updateStatefulSet`,
//! `processReplica`, `processCondemned`, 1.33 with `MaxUnavailableStatefulSet`
//! off, its default until 1.35). Pure: [`plan`] turns one observation of a
//! set, its pods and its claims into the writes of one sync, which the I/O
//! loop (`mod.rs`) performs in order.
//!
//! The plan has four phases, as upstream's four passes:
//!
//! 1. every replica slot `start..=end`: delete a failed or succeeded pod,
//!    create a missing one (not while a claim of it still belongs to an
//!    earlier pod of its name), create the missing claims of a pending pod,
//!    repair identity, storage or claim ownership;
//! 2. the claims of condemned pods (ordinals out of range) get the
//!    ownerReferences the retention policy wants;
//! 3. condemned pods are deleted, highest ordinal first;
//! 4. with `RollingUpdate`, the highest-ordinal pod at or above the
//!    partition whose revision is not the update revision is deleted (it is
//!    recreated at the update revision by phase 1 of a later sync), once
//!    every pod above it is healthy.
//!
//! With `OrderedReady` ("monotonic") a pass stops at the first pod that is
//! not Running, Ready and available for `minReadySeconds` (or is
//! terminating), and after each create or delete, so pods come up one at a
//! time in ordinal order and go away in reverse order; the I/O loop runs the
//! steps one after another and stops at the first error. With `Parallel`
//! nothing waits: each phase's steps run in slow-start batches (1, 2, 4, …
//! at most [`MAX_BATCH_SIZE`]) and a failed batch ends the sync.

use chrono::{DateTime, Utc};
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::Pod as CorePod;

use super::utils::{self, Claims, Counts, PodId};
use crate::controllers::shared::cached_pod::Pod;

/// Upstream `MaxBatchSize`.
pub const MAX_BATCH_SIZE: usize = 500;

/// What one sync observed.
pub struct Input<'a> {
    pub set: &'a StatefulSet,
    /// The set with the current revision's template (`ApplyRevision`).
    pub current_set: &'a StatefulSet,
    /// The set with the update revision's template.
    pub update_set: &'a StatefulSet,
    pub current_revision: &'a str,
    pub update_revision: &'a str,
    pub collision_count: i32,
    /// The pods the set owns (after adoption and release).
    pub pods: &'a [&'a Pod],
    /// The claims of the namespace, when the set has claim templates and
    /// the API serves claims.
    pub claims: Option<&'a Claims>,
    pub now: DateTime<Utc>,
}

/// One write.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// A failed or succeeded replica (`processReplica`); it is recreated
    /// once gone.
    DeleteFailed { pod: String },
    /// `CreateStatefulPod`: its claims, then the pod, then the claims'
    /// retention ownerReferences.
    Create { pod: Box<CorePod> },
    /// `createMissingPersistentVolumeClaims` for a pending pod.
    CreateMissingClaims { pod: String, uid: String },
    /// `UpdateStatefulPod`: identity, storage, claim ownership.
    Update { pod: String },
    /// `UpdatePodClaimForRetentionPolicy` for a condemned pod.
    FixClaims { pod: String, uid: String },
    /// Scale down (`processCondemned`).
    DeleteCondemned { pod: String },
    /// Rolling update: the pod goes to come back at the update revision;
    /// a success (or NotFound) lowers `currentReplicas` by one.
    DeleteForUpdate { pod: String },
}

/// The actions for one pod, in order; a failure ends the step.
pub type Step = Vec<Action>;

#[derive(Debug, Clone)]
pub struct Plan {
    /// `OrderedReady`: steps one by one; else slow-start batches.
    pub monotonic: bool,
    /// The four phases (fewer when the sync stops early); a phase runs
    /// only if every earlier one succeeded.
    pub phases: Vec<Vec<Step>>,
    /// The pods as counted for the status.
    pub counts: Counts,
    /// Why an `OrderedReady` sync stopped early, for logs.
    pub waiting: Option<String>,
}

/// A replica slot: the pod there, or the one to create.
enum Slot<'a> {
    Existing(&'a Pod),
    New(Box<CorePod>),
}

impl Slot<'_> {
    fn name(&self) -> &str {
        match self {
            Slot::Existing(p) => p.metadata.name.as_deref().unwrap_or_default(),
            Slot::New(p) => p.metadata.name.as_deref().unwrap_or_default(),
        }
    }

    fn healthy(&self) -> bool {
        matches!(self, Slot::Existing(p) if utils::is_healthy(p))
    }

    fn terminating(&self) -> bool {
        matches!(self, Slot::Existing(p) if utils::is_terminating(p))
    }

    fn revision(&self) -> &str {
        match self {
            Slot::Existing(p) => utils::pod_revision(p.metadata.labels.as_ref()),
            Slot::New(p) => utils::pod_revision(p.metadata.labels.as_ref()),
        }
    }
}

fn pod_id(pod: &Pod) -> PodId<'_> {
    PodId {
        name: pod.metadata.name.as_deref().unwrap_or_default(),
        uid: pod.metadata.uid.as_deref().unwrap_or_default(),
    }
}

/// Upstream `updateStatefulSet` as a plan.
pub fn plan(input: &Input) -> Plan {
    let set = input.set;
    let min_ready = utils::min_ready_seconds(set);
    let start = utils::start_ordinal(set);
    let count = usize::try_from(utils::replicas(set)).unwrap_or(0);
    let counter = |pods: &mut dyn Iterator<Item = &Pod>| {
        utils::count(
            pods,
            min_ready,
            input.current_revision,
            input.update_revision,
            input.now,
        )
    };

    // Partition the pods into replica slots and condemned pods; pods
    // without an ordinal are ignored.
    let mut slots: Vec<Option<&Pod>> = vec![None; count];
    let mut condemned: Vec<&Pod> = Vec::new();
    for pod in input.pods.iter().copied() {
        let name = pod.metadata.name.as_deref().unwrap_or_default();
        let ord = utils::ordinal(name);
        if utils::in_ordinal_range(name, set) {
            if let Some(slot) = usize::try_from(ord - start)
                .ok()
                .and_then(|i| slots.get_mut(i))
            {
                *slot = Some(pod);
            }
        } else if ord >= 0 {
            condemned.push(pod);
        }
    }
    let replicas: Vec<Slot> = slots
        .into_iter()
        .enumerate()
        .map(|(i, s)| match s {
            Some(p) => Slot::Existing(p),
            None => Slot::New(Box::new(utils::new_versioned_pod(
                input.current_set,
                input.update_set,
                input.current_revision,
                input.update_revision,
                start + i32::try_from(i).unwrap_or(i32::MAX),
            ))),
        })
        .collect();
    condemned.sort_by_key(|p| {
        std::cmp::Reverse(utils::ordinal(
            p.metadata.name.as_deref().unwrap_or_default(),
        ))
    });

    // The first unhealthy pod: a replica in ordinal order, else the
    // lowest-ordinal condemned pod. Only whether it is a given condemned
    // pod matters below.
    let first_unhealthy_condemned: Option<usize> = if replicas.iter().any(|s| !s.healthy()) {
        None
    } else {
        (0..condemned.len())
            .rev()
            .find(|i| !utils::is_healthy(condemned[*i]))
    };

    if set.metadata.deletion_timestamp.is_some() {
        // Status only.
        return Plan {
            monotonic: !utils::allows_burst(set),
            phases: Vec::new(),
            counts: counter(&mut input.pods.iter().copied()),
            waiting: None,
        };
    }
    let counts = counter(
        &mut replicas
            .iter()
            .filter_map(|s| match s {
                Slot::Existing(p) => Some(*p),
                Slot::New(_) => None,
            })
            .chain(condemned.iter().copied()),
    );
    let monotonic = !utils::allows_burst(set);
    let mut plan = Plan {
        monotonic,
        phases: Vec::new(),
        counts,
        waiting: None,
    };

    // 1. Replicas.
    let mut steps = Vec::new();
    for slot in &replicas {
        let (step, stop) = process_replica(input, monotonic, slot);
        if !step.is_empty() {
            steps.push(step);
        }
        if monotonic && let Some(why) = stop {
            plan.phases.push(steps);
            plan.waiting = Some(why);
            return plan;
        }
    }
    plan.phases.push(steps);

    // 2. The claims of condemned pods.
    if let Some(claims) = input.claims {
        let steps: Vec<Step> = condemned
            .iter()
            .filter(|p| !utils::claims_match_retention_policy(input.update_set, claims, pod_id(p)))
            .map(|p| {
                let id = pod_id(p);
                vec![Action::FixClaims {
                    pod: id.name.to_string(),
                    uid: id.uid.to_string(),
                }]
            })
            .collect();
        plan.phases.push(steps);
    }

    // 3. Condemned pods, highest ordinal first.
    let mut steps = Vec::new();
    for (i, pod) in condemned.iter().enumerate() {
        let name = pod.metadata.name.clone().unwrap_or_default();
        let first = first_unhealthy_condemned == Some(i);
        if utils::is_terminating(pod) {
            if monotonic {
                plan.phases.push(steps);
                plan.waiting = Some(format!(
                    "waiting for {name} to terminate prior to scale down"
                ));
                return plan;
            }
            continue;
        }
        if monotonic && !first && !utils::is_running_and_ready(pod) {
            plan.phases.push(steps);
            plan.waiting = Some(format!(
                "waiting for {name} to be Running and Ready prior to scale down"
            ));
            return plan;
        }
        if monotonic && !first && !utils::is_running_and_available(pod, min_ready, input.now) {
            plan.phases.push(steps);
            plan.waiting = Some(format!(
                "waiting for {name} to be Available prior to scale down"
            ));
            return plan;
        }
        steps.push(vec![Action::DeleteCondemned { pod: name }]);
        if monotonic {
            plan.phases.push(steps);
            plan.waiting = Some("terminating a pod for scale down".into());
            return plan;
        }
    }
    plan.phases.push(steps);

    // 4. The rolling update.
    if utils::strategy_type(set) == utils::ON_DELETE {
        return plan;
    }
    let update_min = usize::try_from(utils::partition(set).unwrap_or(0)).unwrap_or(0);
    let mut steps = Vec::new();
    for slot in replicas.iter().skip(update_min).rev() {
        if slot.revision() != input.update_revision && !slot.terminating() {
            steps.push(vec![Action::DeleteForUpdate {
                pod: slot.name().to_string(),
            }]);
            break;
        }
        if !slot.healthy() {
            plan.waiting = Some(format!("waiting for {} to update", slot.name()));
            break;
        }
    }
    plan.phases.push(steps);
    plan
}

/// Upstream `processReplica`: the actions for one slot, and whether (and
/// why) an `OrderedReady` pass stops there.
fn process_replica(input: &Input, monotonic: bool, slot: &Slot) -> (Step, Option<String>) {
    let set = input.set;
    let mut step = Vec::new();
    let pod = match slot {
        Slot::New(pod) => {
            let id = PodId {
                name: pod.metadata.name.as_deref().unwrap_or_default(),
                uid: "",
            };
            if input
                .claims
                .is_some_and(|c| utils::pod_claim_is_stale(set, c, id))
            {
                return (step, Some(format!("a claim of {} is stale", id.name)));
            }
            let name = id.name.to_string();
            step.push(Action::Create { pod: pod.clone() });
            // A new pod matches its identity, storage and policy.
            let stop = monotonic.then(|| format!("created {name}"));
            return (step, stop);
        }
        Slot::Existing(pod) => *pod,
    };
    let id = pod_id(pod);
    if utils::is_failed(pod) || utils::is_succeeded(pod) {
        if !utils::is_terminating(pod) {
            step.push(Action::DeleteFailed {
                pod: id.name.to_string(),
            });
        }
        return (
            step,
            Some(format!("{} has terminated and is replaced", id.name)),
        );
    }
    if !utils::is_created(pod) {
        // Never seen from the API (every stored pod has a phase).
        return (step, Some(format!("waiting for {} to be created", id.name)));
    }
    if utils::is_pending(pod)
        && let Some(claims) = input.claims
        && utils::claims_need_work(set, claims, id)
    {
        step.push(Action::CreateMissingClaims {
            pod: id.name.to_string(),
            uid: id.uid.to_string(),
        });
    }
    if monotonic && utils::is_terminating(pod) {
        return (step, Some(format!("waiting for {} to terminate", id.name)));
    }
    if monotonic && !utils::is_running_and_ready(pod) {
        return (
            step,
            Some(format!("waiting for {} to be Running and Ready", id.name)),
        );
    }
    if monotonic && !utils::is_running_and_available(pod, utils::min_ready_seconds(set), input.now)
    {
        return (
            step,
            Some(format!("waiting for {} to be Available", id.name)),
        );
    }
    let retention_match = input
        .claims
        .is_none_or(|c| utils::claims_match_retention_policy(input.update_set, c, id));
    if !(utils::identity_matches(set, pod) && utils::storage_matches(set, pod) && retention_match) {
        step.push(Action::Update {
            pod: id.name.to_string(),
        });
    }
    (step, None)
}

/// Upstream `slowStartBatch(1, n)`: batch sizes 1, 2, 4, … capped at
/// [`MAX_BATCH_SIZE`].
pub fn slow_start_batches(n: usize) -> Vec<usize> {
    let mut out = Vec::new();
    let mut remaining = n;
    let mut batch = remaining.min(1);
    while batch > 0 {
        out.push(batch);
        remaining -= batch;
        batch = (batch * 2).min(remaining).min(MAX_BATCH_SIZE);
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, HashSet};

    use super::*;
    use crate::controllers::shared::cached_pod::PodCondition;
    use crate::controllers::statefulset::utils::tests::{cached, new_set};
    use k8s_openapi::api::apps::v1::StatefulSetUpdateStrategy;
    use k8s_openapi::api::core::v1::PersistentVolumeClaim;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap()
    }

    fn at(t: DateTime<Utc>) -> Time {
        crate::controllers::nodesim::logic::to_time(t)
    }

    /// A tiny cluster: the pods the API holds, which the test moves
    /// through their phases, as upstream's tests do with their fake pod
    /// control (`setPodRunning`, `setPodReady`, `setPodTerminated`, …).
    struct Cluster {
        set: StatefulSet,
        current_set: StatefulSet,
        update_set: StatefulSet,
        current: String,
        update: String,
        pods: BTreeMap<String, Pod>,
        claims: Option<Claims>,
        uid: u32,
        now: DateTime<Utc>,
        /// Every write, as `verb name`.
        log: Vec<String>,
    }

    impl Cluster {
        fn new(set: StatefulSet) -> Self {
            Cluster {
                current_set: set.clone(),
                update_set: set.clone(),
                set,
                current: "foo-r1".into(),
                update: "foo-r1".into(),
                pods: BTreeMap::new(),
                claims: None,
                uid: 0,
                now: now(),
                log: Vec::new(),
            }
        }

        fn plan(&self) -> Plan {
            let pods: Vec<&Pod> = self.pods.values().collect();
            plan(&Input {
                set: &self.set,
                current_set: &self.current_set,
                update_set: &self.update_set,
                current_revision: &self.current,
                update_revision: &self.update,
                collision_count: 0,
                pods: &pods,
                claims: self.claims.as_ref(),
                now: self.now,
            })
        }

        /// One sync: performs the plan's writes (none fail).
        fn sync(&mut self) -> Plan {
            let plan = self.plan();
            for step in plan.phases.iter().flatten() {
                for action in step {
                    self.apply(action);
                }
            }
            plan
        }

        fn apply(&mut self, action: &Action) {
            match action {
                Action::Create { pod } => {
                    self.uid += 1;
                    let name = pod.metadata.name.clone().unwrap();
                    let c = cached(pod, &format!("uid-{}", self.uid));
                    assert!(self.pods.insert(name.clone(), c).is_none(), "{name} exists");
                    self.log.push(format!("create {name}"));
                }
                Action::DeleteFailed { pod }
                | Action::DeleteCondemned { pod }
                | Action::DeleteForUpdate { pod } => {
                    if let Some(p) = self.pods.get_mut(pod) {
                        p.metadata.deletion_timestamp = Some(at(self.now));
                    }
                    self.log.push(format!("delete {pod}"));
                }
                Action::Update { pod } => self.log.push(format!("update {pod}")),
                Action::CreateMissingClaims { pod, .. } => self.log.push(format!("claims {pod}")),
                Action::FixClaims { pod, .. } => self.log.push(format!("fix {pod}")),
            }
        }

        fn pod(&mut self, name: &str) -> &mut Pod {
            self.pods.get_mut(name).unwrap()
        }

        /// The kubelet starts the pod and it becomes ready now.
        fn ready(&mut self, name: &str) {
            let now = self.now;
            let p = self.pod(name);
            let st = p.status.get_or_insert_with(Default::default);
            st.phase = Some("Running".into());
            st.conditions = Some(vec![PodCondition {
                type_: "Ready".into(),
                status: "True".into(),
                last_transition_time: Some(at(now)),
                rare: None,
            }]);
        }

        fn fail(&mut self, name: &str) {
            self.pod(name)
                .status
                .get_or_insert_with(Default::default)
                .phase = Some("Failed".into());
        }

        fn unready(&mut self, name: &str) {
            if let Some(cs) = self
                .pod(name)
                .status
                .as_mut()
                .and_then(|s| s.conditions.as_mut())
            {
                cs[0].status = "False".into();
            }
        }

        /// Graceful deletions complete.
        fn reap(&mut self) {
            self.pods
                .retain(|_, p| p.metadata.deletion_timestamp.is_none());
        }

        fn names(&self) -> Vec<String> {
            self.pods.keys().cloned().collect()
        }

        fn revision_of(&self, name: &str) -> String {
            utils::pod_revision(self.pods[name].metadata.labels.as_ref()).to_string()
        }

        fn take_log(&mut self) -> Vec<String> {
            std::mem::take(&mut self.log)
        }

        /// A template change: a new update revision with image `image`.
        fn update_template(&mut self, image: &str, revision: &str) {
            let mut s = self.set.clone();
            s.spec
                .as_mut()
                .unwrap()
                .template
                .spec
                .as_mut()
                .unwrap()
                .containers[0]
                .image = Some(image.into());
            self.update_set = s.clone();
            self.set = s;
            self.update = revision.into();
        }

        fn set_partition(&mut self, p: i32) {
            for s in [&mut self.set, &mut self.current_set, &mut self.update_set] {
                s.spec
                    .as_mut()
                    .unwrap()
                    .update_strategy
                    .as_mut()
                    .unwrap()
                    .rolling_update
                    .as_mut()
                    .unwrap()
                    .partition = Some(p);
            }
        }

        fn scale(&mut self, n: i32) {
            for s in [&mut self.set, &mut self.current_set, &mut self.update_set] {
                s.spec.as_mut().unwrap().replicas = Some(n);
            }
        }
    }

    fn no_claims(mut set: StatefulSet) -> StatefulSet {
        set.spec.as_mut().unwrap().volume_claim_templates = None;
        set
    }

    /// Upstream TestStatefulSetControlScaleUp with OrderedReady: one pod per
    /// sync, each only once its predecessor is Running and Ready.
    #[test]
    fn ordered_ready_creates_one_pod_at_a_time_in_order() {
        let mut c = Cluster::new(no_claims(new_set(3)));
        let p = c.sync();
        assert_eq!(c.take_log(), vec!["create foo-0"]);
        assert_eq!(p.waiting.as_deref(), Some("created foo-0"));
        // foo-0 is Pending: nothing more.
        let p = c.sync();
        assert!(c.take_log().is_empty());
        assert_eq!(
            p.waiting.as_deref(),
            Some("waiting for foo-0 to be Running and Ready")
        );
        assert_eq!(p.counts.replicas, 1);
        c.ready("foo-0");
        c.sync();
        assert_eq!(c.take_log(), vec!["create foo-1"]);
        c.ready("foo-1");
        c.sync();
        assert_eq!(c.take_log(), vec!["create foo-2"]);
        c.ready("foo-2");
        let p = c.sync();
        assert!(c.take_log().is_empty());
        assert_eq!(p.waiting, None);
        assert_eq!(
            p.counts,
            Counts {
                replicas: 3,
                ready: 3,
                available: 3,
                current: 3,
                updated: 3
            }
        );
        for n in ["foo-0", "foo-1", "foo-2"] {
            assert_eq!(c.revision_of(n), "foo-r1");
        }
    }

    #[test]
    fn min_ready_seconds_holds_back_the_next_pod() {
        let mut set = no_claims(new_set(2));
        set.spec.as_mut().unwrap().min_ready_seconds = Some(10);
        let mut c = Cluster::new(set);
        c.sync();
        c.ready("foo-0");
        let p = c.sync();
        assert!(c.take_log() == vec!["create foo-0"]);
        assert_eq!(
            p.waiting.as_deref(),
            Some("waiting for foo-0 to be Available")
        );
        assert_eq!((p.counts.ready, p.counts.available), (1, 0));
        c.now += chrono::Duration::seconds(11);
        c.sync();
        assert_eq!(c.take_log(), vec!["create foo-1"]);
    }

    #[test]
    fn parallel_creates_every_pod_in_one_sync() {
        let mut set = no_claims(new_set(3));
        set.spec.as_mut().unwrap().pod_management_policy = Some(utils::PARALLEL.into());
        let mut c = Cluster::new(set);
        let p = c.sync();
        assert!(!p.monotonic);
        assert_eq!(
            c.take_log(),
            vec!["create foo-0", "create foo-1", "create foo-2"]
        );
        // Scaling down deletes every condemned pod at once, ready or not.
        c.scale(1);
        c.sync();
        assert_eq!(c.take_log(), vec!["delete foo-2", "delete foo-1"]);
    }

    /// Upstream TestStatefulSetControlScaleDown: highest ordinal first, one
    /// at a time, each after the previous one is gone.
    #[test]
    fn ordered_ready_scales_down_from_the_highest_ordinal() {
        let mut c = Cluster::new(no_claims(new_set(3)));
        for n in ["foo-0", "foo-1", "foo-2"] {
            c.sync();
            c.ready(n);
        }
        c.take_log();
        c.scale(1);
        let p = c.sync();
        assert_eq!(c.take_log(), vec!["delete foo-2"]);
        assert_eq!(p.counts.replicas, 3);
        let p = c.sync();
        assert!(c.take_log().is_empty());
        assert_eq!(
            p.waiting.as_deref(),
            Some("waiting for foo-2 to terminate prior to scale down")
        );
        c.reap();
        c.sync();
        assert_eq!(c.take_log(), vec!["delete foo-1"]);
        c.reap();
        c.sync();
        assert!(c.take_log().is_empty());
        assert_eq!(c.names(), vec!["foo-0"]);
    }

    #[test]
    fn scale_down_waits_for_unhealthy_pods_except_the_first_unhealthy_condemned() {
        let mut c = Cluster::new(no_claims(new_set(3)));
        for n in ["foo-0", "foo-1", "foo-2"] {
            c.sync();
            c.ready(n);
        }
        c.take_log();
        // A replica that stays is unhealthy: no scale down.
        c.unready("foo-0");
        c.scale(2);
        let p = c.sync();
        assert!(c.take_log().is_empty());
        assert_eq!(
            p.waiting.as_deref(),
            Some("waiting for foo-0 to be Running and Ready")
        );
        // The condemned pod itself unhealthy (and the first unhealthy): it goes.
        c.ready("foo-0");
        c.unready("foo-2");
        c.sync();
        assert_eq!(c.take_log(), vec!["delete foo-2"]);
        // Two condemned, the lower one unhealthy: the higher (healthy) waits
        // for it? No: the highest goes first only if healthy or the first
        // unhealthy; foo-2 is healthy here, so it goes.
        let mut c = Cluster::new(no_claims(new_set(3)));
        for n in ["foo-0", "foo-1", "foo-2"] {
            c.sync();
            c.ready(n);
        }
        c.take_log();
        c.unready("foo-2");
        c.unready("foo-1");
        c.scale(1);
        let p = c.sync();
        // foo-2 is unhealthy and not the first unhealthy (foo-1 is).
        assert!(c.take_log().is_empty());
        assert_eq!(
            p.waiting.as_deref(),
            Some("waiting for foo-2 to be Running and Ready prior to scale down")
        );
    }

    #[test]
    fn failed_pods_are_deleted_and_recreated() {
        let mut c = Cluster::new(no_claims(new_set(2)));
        for n in ["foo-0", "foo-1"] {
            c.sync();
            c.ready(n);
        }
        c.take_log();
        c.fail("foo-0");
        let p = c.sync();
        assert_eq!(c.take_log(), vec!["delete foo-0"]);
        assert_eq!(
            p.waiting.as_deref(),
            Some("foo-0 has terminated and is replaced")
        );
        // Still there, terminating: no second delete.
        c.sync();
        assert!(c.take_log().is_empty());
        c.reap();
        c.sync();
        assert_eq!(c.take_log(), vec!["create foo-0"]);
    }

    /// Upstream TestStatefulSetControlRollingUpdate: highest ordinal first,
    /// each recreated at the update revision, the next only once the
    /// previous is healthy again.
    #[test]
    fn rolling_update_replaces_pods_from_the_highest_ordinal() {
        let mut c = Cluster::new(no_claims(new_set(3)));
        for n in ["foo-0", "foo-1", "foo-2"] {
            c.sync();
            c.ready(n);
        }
        c.take_log();
        c.update_template("nginx:2", "foo-r2");
        let mut order = Vec::new();
        for _ in 0..20 {
            let p = c.sync();
            for l in c.take_log() {
                order.push(l);
            }
            c.reap();
            for n in c.names() {
                if c.pods[&n].status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Pending") {
                    c.ready(&n);
                }
            }
            if p.counts.updated == 3 && p.counts.ready == 3 {
                break;
            }
        }
        assert_eq!(
            order,
            vec![
                "delete foo-2",
                "create foo-2",
                "delete foo-1",
                "create foo-1",
                "delete foo-0",
                "create foo-0"
            ]
        );
        for n in ["foo-0", "foo-1", "foo-2"] {
            assert_eq!(c.revision_of(n), "foo-r2");
            let image = c.pods[n].spec.as_ref().unwrap().containers[0].image.clone();
            assert_eq!(image.as_deref(), Some("nginx:2"));
        }
    }

    /// Upstream TestStatefulSetControlRollingUpdateWithPartition: only the
    /// ordinals at or above the partition are updated; a pod below it that
    /// is recreated keeps the current revision.
    #[test]
    fn partition_limits_the_update_to_high_ordinals() {
        let mut c = Cluster::new(no_claims(new_set(3)));
        for n in ["foo-0", "foo-1", "foo-2"] {
            c.sync();
            c.ready(n);
        }
        c.take_log();
        c.set_partition(2);
        c.update_template("nginx:2", "foo-r2");
        let p = c.sync();
        assert_eq!(c.take_log(), vec!["delete foo-2"]);
        assert_eq!(p.counts.current, 3);
        c.reap();
        c.sync();
        assert_eq!(c.take_log(), vec!["create foo-2"]);
        c.ready("foo-2");
        let p = c.sync();
        assert!(c.take_log().is_empty());
        assert_eq!((p.counts.current, p.counts.updated), (2, 1));
        assert_eq!(c.revision_of("foo-2"), "foo-r2");
        assert_eq!(c.revision_of("foo-1"), "foo-r1");
        // foo-0 fails: it comes back at the current revision.
        c.fail("foo-0");
        c.sync();
        c.reap();
        c.sync();
        assert_eq!(c.take_log(), vec!["delete foo-0", "create foo-0"]);
        assert_eq!(c.revision_of("foo-0"), "foo-r1");
        let image = c.pods["foo-0"].spec.as_ref().unwrap().containers[0]
            .image
            .clone();
        assert_eq!(image.as_deref(), Some("nginx"));
        // Lowering the partition continues the update.
        c.ready("foo-0");
        c.set_partition(0);
        c.sync();
        assert_eq!(c.take_log(), vec!["delete foo-1"]);
    }

    #[test]
    fn rolling_update_waits_for_unhealthy_updated_pods() {
        let mut c = Cluster::new(no_claims(new_set(3)));
        for n in ["foo-0", "foo-1", "foo-2"] {
            c.sync();
            c.ready(n);
        }
        c.update_template("nginx:2", "foo-r2");
        c.sync();
        c.reap();
        c.sync();
        c.take_log();
        // foo-2 is back at the update revision but not ready: in
        // OrderedReady, phase 1 waits already; in Parallel, phase 4 does.
        let mut parallel = c.set.clone();
        parallel.spec.as_mut().unwrap().pod_management_policy = Some(utils::PARALLEL.into());
        c.set = parallel;
        let p = c.sync();
        assert!(c.take_log().is_empty());
        assert_eq!(p.waiting.as_deref(), Some("waiting for foo-2 to update"));
    }

    #[test]
    fn on_delete_never_deletes_for_an_update() {
        let mut set = no_claims(new_set(2));
        set.spec.as_mut().unwrap().update_strategy = Some(StatefulSetUpdateStrategy {
            type_: Some(utils::ON_DELETE.into()),
            rolling_update: None,
        });
        let mut c = Cluster::new(set);
        for n in ["foo-0", "foo-1"] {
            c.sync();
            c.ready(n);
        }
        c.take_log();
        c.update_template("nginx:2", "foo-r2");
        c.sync();
        assert!(c.take_log().is_empty());
        // A pod deleted by the user comes back at the update revision.
        c.pod("foo-1").metadata.deletion_timestamp = Some(at(c.now));
        c.reap();
        c.sync();
        assert_eq!(c.take_log(), vec!["create foo-1"]);
        assert_eq!(c.revision_of("foo-1"), "foo-r2");
        assert_eq!(c.revision_of("foo-0"), "foo-r1");
    }

    #[test]
    fn start_ordinal_names_pods_from_the_start() {
        let mut set = no_claims(new_set(2));
        set.spec.as_mut().unwrap().ordinals =
            Some(k8s_openapi::api::apps::v1::StatefulSetOrdinals { start: Some(3) });
        let mut c = Cluster::new(set);
        c.sync();
        c.ready("foo-3");
        c.sync();
        assert_eq!(c.take_log(), vec!["create foo-3", "create foo-4"]);
        // Moving the start condemns foo-3.
        for s in [&mut c.set, &mut c.current_set, &mut c.update_set] {
            s.spec.as_mut().unwrap().ordinals =
                Some(k8s_openapi::api::apps::v1::StatefulSetOrdinals { start: Some(4) });
        }
        c.ready("foo-4");
        c.sync();
        assert_eq!(c.take_log(), vec!["create foo-5"]);
        c.ready("foo-5");
        c.sync();
        assert_eq!(c.take_log(), vec!["delete foo-3"]);
    }

    #[test]
    fn a_deleting_set_only_counts() {
        let mut c = Cluster::new(no_claims(new_set(2)));
        c.sync();
        c.take_log();
        c.set.metadata.deletion_timestamp = Some(at(c.now));
        let p = c.sync();
        assert!(p.phases.is_empty());
        assert_eq!(p.counts.replicas, 1);
    }

    fn claim(
        name: &str,
        refs: Vec<k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference>,
    ) -> PersistentVolumeClaim {
        PersistentVolumeClaim {
            metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
                name: Some(name.into()),
                owner_references: Some(refs),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    #[test]
    fn claims_are_made_for_pending_pods_and_stale_claims_block_creation() {
        let mut set = new_set(1);
        set.spec
            .as_mut()
            .unwrap()
            .persistent_volume_claim_retention_policy = Some(
            k8s_openapi::api::apps::v1::StatefulSetPersistentVolumeClaimRetentionPolicy {
                when_scaled: Some(utils::DELETE.into()),
                when_deleted: Some(utils::RETAIN.into()),
            },
        );
        let mut c = Cluster::new(set);
        // An earlier foo-0's claim, about to be collected.
        let old = k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference {
            api_version: "v1".into(),
            kind: "Pod".into(),
            name: "foo-0".into(),
            uid: "gone".into(),
            controller: Some(true),
            block_owner_deletion: Some(true),
        };
        c.claims = Some(
            [(
                "datadir-foo-0".to_string(),
                claim("datadir-foo-0", vec![old]),
            )]
            .into(),
        );
        let p = c.sync();
        assert!(c.take_log().is_empty());
        assert_eq!(p.waiting.as_deref(), Some("a claim of foo-0 is stale"));
        // Collected: the pod is created; while pending its claims are made.
        c.claims = Some(Claims::new());
        c.sync();
        assert_eq!(c.take_log(), vec!["create foo-0"]);
        c.sync();
        assert_eq!(c.take_log(), vec!["claims foo-0"]);
        // Once they exist with the right owners, nothing to do.
        c.claims = Some(
            [
                ("datadir-foo-0".to_string(), claim("datadir-foo-0", vec![])),
                ("home-foo-0".to_string(), claim("home-foo-0", vec![])),
            ]
            .into(),
        );
        c.sync();
        assert!(c.take_log().is_empty());
        // Scaled down: the condemned pod's claims get its reference first.
        c.ready("foo-0");
        c.scale(0);
        c.sync();
        assert_eq!(c.take_log(), vec!["fix foo-0", "delete foo-0"]);
    }

    #[test]
    fn pods_with_a_wrong_identity_are_updated() {
        let mut c = Cluster::new(no_claims(new_set(2)));
        c.sync();
        c.ready("foo-0");
        c.take_log();
        c.pod("foo-0")
            .metadata
            .labels
            .as_mut()
            .unwrap()
            .remove(utils::POD_NAME_LABEL);
        c.sync();
        assert_eq!(c.take_log(), vec!["update foo-0", "create foo-1"]);
    }

    #[test]
    fn slow_start_batches_double_up_to_the_cap() {
        assert_eq!(slow_start_batches(0), Vec::<usize>::new());
        assert_eq!(slow_start_batches(1), vec![1]);
        assert_eq!(slow_start_batches(10), vec![1, 2, 4, 3]);
        let big = slow_start_batches(2000);
        assert_eq!(big.iter().sum::<usize>(), 2000);
        assert!(big.iter().all(|b| *b <= MAX_BATCH_SIZE));
        let _: HashSet<usize> = big.into_iter().collect();
    }
}
