//! Pure decisions of the Job controller, as upstream's
//! `pkg/controller/job/job_controller.go` (`syncJob`, `manageJob`,
//! `trackJobStatusAndRemoveFinalizers`) with the 1.33 feature gates on
//! (`JobPodReplacementPolicy`, `JobSuccessPolicy`, `JobBackoffLimitPerIndex`,
//! `JobManagedBy`, `PodIndexLabel`). No I/O, no clock.
//!
//! One sync has three phases, each decided here and applied by the I/O
//! loop (`mod.rs`) in order:
//!
//! 1. [`decide`]: the terminal condition the Job has reached, if any, and
//!    what to do with its pods (delete active pods, create pods for the
//!    missing completions or indexes, or wait out the failure back-off).
//! 2. [`track`], after those writes: the status to flush *before* any
//!    tracking finalizer is removed (finished pods' UIDs in
//!    `uncountedTerminatedPods`, the interim `FailureTarget` /
//!    `SuccessCriteriaMet` condition), and the pods whose
//!    `batch.kubernetes.io/job-tracking` finalizer may now go.
//! 3. [`after_removal`]: the UIDs whose finalizer is gone move from
//!    `uncountedTerminatedPods` into `succeeded` / `failed`; once nothing is
//!    uncounted or terminating, the terminal `Complete` / `Failed` condition.
//!
//! A pod is counted exactly once: its UID enters the uncounted lists in a
//! status write that succeeded before its finalizer is removed, and leaves
//! them when the finalizer is gone.

use std::collections::{BTreeSet, HashSet};
use std::time::Duration;

use chrono::{DateTime, Utc};
use k8s_openapi::api::batch::v1::{Job, JobCondition, JobStatus, UncountedTerminatedPods};

use super::indexed::{self, completion_index};
use super::pod_failure_policy::match_policy;
use crate::controllers::nodesim::logic::{from_time, to_time};
use crate::controllers::replicaset::logic::{is_pod_active, is_pod_ready};
use crate::controllers::shared::cached_pod::Pod;

/// The finalizer the controller puts on every pod it creates.
pub const TRACKING_FINALIZER: &str = "batch.kubernetes.io/job-tracking";
/// Upstream `MaxUncountedPods`.
pub const MAX_UNCOUNTED_PODS: usize = 500;
/// Upstream `MaxPodCreateDeletePerSync`.
pub const MAX_POD_CREATE_DELETE_PER_SYNC: usize = 500;
/// Upstream `DefaultJobPodFailureBackOff` and `MaxJobPodFailureBackOff`.
pub const POD_FAILURE_BACKOFF: Duration = Duration::from_secs(10);
pub const MAX_POD_FAILURE_BACKOFF: Duration = Duration::from_secs(360);

pub const COND_COMPLETE: &str = "Complete";
pub const COND_FAILED: &str = "Failed";
pub const COND_FAILURE_TARGET: &str = "FailureTarget";
pub const COND_SUCCESS_CRITERIA_MET: &str = "SuccessCriteriaMet";
pub const COND_SUSPENDED: &str = "Suspended";

/// An event to record on the Job.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub warning: bool,
    pub reason: String,
    pub message: String,
}

fn event(warning: bool, reason: &str, message: &str) -> Event {
    Event {
        warning,
        reason: reason.into(),
        message: message.into(),
    }
}

/// A pod to delete.
#[derive(Debug, Clone, PartialEq)]
pub struct PodRef {
    pub name: String,
    pub uid: String,
    pub ready: bool,
}

/// Phase 1's decision.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// The (interim) terminal condition reached, if any.
    pub finished: Option<JobCondition>,
    /// Active pods to delete.
    pub deletes: Vec<PodRef>,
    /// Whether each deletion first removes the tracking finalizer (upstream
    /// `deleteJobPods`, for excess and suspended pods) or keeps it so the
    /// pod is counted when it terminates (`deleteActivePods`, once the Job
    /// has finished).
    pub deletes_remove_finalizer: bool,
    /// Pods to create: `Some(index)` for an `Indexed` Job.
    pub creates: Vec<Option<usize>>,
    /// Sync again after this long (active deadline, back-off).
    pub requeue_after: Option<Duration>,
    pub events: Vec<Event>,
    /// The status with phase 1's changes (start time, `Suspended`).
    pub status: JobStatus,
    /// Whether `status` differs from the stored one in a way that must be
    /// written even if nothing else changes.
    pub status_changed: bool,
    /// Active, ready and terminating pods before the writes.
    pub active: i32,
    pub ready: i32,
    pub terminating: i32,
    /// Whether `manageJob` ran (expectations satisfied).
    pub managed: bool,
}

/// What the controller observed.
pub struct Observed<'a> {
    pub job: &'a Job,
    /// Pods the Job controls.
    pub pods: &'a [&'a Pod],
    /// Whether the Job's expectations are satisfied (the cache shows every
    /// create and delete of earlier syncs).
    pub satisfied: bool,
    /// UIDs whose finalizer removal the cache has not shown yet.
    pub expected_removals: &'a HashSet<String>,
}

fn spec_i32(
    job: &Job,
    f: impl Fn(&k8s_openapi::api::batch::v1::JobSpec) -> Option<i32>,
) -> Option<i32> {
    job.spec.as_ref().and_then(f)
}

pub fn completions(job: &Job) -> Option<i32> {
    spec_i32(job, |s| s.completions)
}

fn parallelism(job: &Job) -> i32 {
    spec_i32(job, |s| s.parallelism).unwrap_or(1)
}

fn backoff_limit(job: &Job) -> i32 {
    spec_i32(job, |s| s.backoff_limit).unwrap_or(6)
}

pub fn is_indexed(job: &Job) -> bool {
    job.spec.as_ref().and_then(|s| s.completion_mode.as_deref()) == Some("Indexed")
}

pub fn suspended(job: &Job) -> bool {
    job.spec.as_ref().and_then(|s| s.suspend) == Some(true)
}

fn has_backoff_limit_per_index(job: &Job) -> bool {
    spec_i32(job, |s| s.backoff_limit_per_index).is_some()
}

fn restart_policy(job: &Job) -> &str {
    job.spec
        .as_ref()
        .and_then(|s| s.template.spec.as_ref())
        .and_then(|s| s.restart_policy.as_deref())
        .unwrap_or("")
}

/// Upstream `onlyReplaceFailedPods`: with a pod failure policy, or
/// `podReplacementPolicy: Failed`, a pod is replaced only once it has
/// failed, not while it terminates.
fn only_replace_failed(job: &Job) -> bool {
    let spec = job.spec.as_ref();
    spec.and_then(|s| s.pod_replacement_policy.as_deref()) == Some("Failed")
        || spec.is_some_and(|s| s.pod_failure_policy.is_some())
}

fn phase(pod: &Pod) -> &str {
    pod.status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or("")
}

fn has_finalizer(pod: &Pod) -> bool {
    pod.metadata
        .finalizers
        .as_ref()
        .is_some_and(|f| f.iter().any(|x| x == TRACKING_FINALIZER))
}

fn uid(pod: &Pod) -> String {
    pod.metadata.uid.clone().unwrap_or_default()
}

/// Upstream `isPodFailed`.
pub fn is_pod_failed(pod: &Pod, job: &Job) -> bool {
    if phase(pod) == "Failed" {
        return true;
    }
    if job
        .spec
        .as_ref()
        .is_some_and(|s| s.pod_failure_policy.is_some())
    {
        return false;
    }
    if only_replace_failed(job) {
        return false;
    }
    // A deleted pod that never reached a phase counts as failed (orphans).
    pod.metadata.deletion_timestamp.is_some() && phase(pod) != "Succeeded"
}

/// Upstream `controller.CountTerminatingPods`.
fn is_terminating(pod: &Pod) -> bool {
    pod.metadata.deletion_timestamp.is_some() && phase(pod) != "Succeeded" && phase(pod) != "Failed"
}

/// Upstream `newCondition`.
pub fn new_condition(type_: &str, reason: &str, message: &str, now: DateTime<Utc>) -> JobCondition {
    JobCondition {
        type_: type_.into(),
        status: "True".into(),
        reason: (!reason.is_empty()).then(|| reason.to_string()),
        message: (!message.is_empty()).then(|| message.to_string()),
        last_probe_time: Some(to_time(now)),
        last_transition_time: Some(to_time(now)),
    }
}

fn find_condition<'a>(status: &'a JobStatus, type_: &str) -> Option<&'a JobCondition> {
    status
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == type_)
}

fn condition_true(status: &JobStatus, type_: &str) -> bool {
    find_condition(status, type_).is_some_and(|c| c.status == "True")
}

/// Upstream `IsJobFinished`: a `Complete` or `Failed` condition that is true.
pub fn is_finished(job: &Job) -> bool {
    job.status
        .as_ref()
        .is_some_and(|s| condition_true(s, COND_COMPLETE) || condition_true(s, COND_FAILED))
}

/// Upstream `ensureJobConditionStatus`: appends or updates the condition;
/// never appends a condition whose status is False.
pub fn ensure_condition(
    status: &mut JobStatus,
    type_: &str,
    cond_status: &str,
    reason: &str,
    message: &str,
    now: DateTime<Utc>,
) -> bool {
    let list = status.conditions.get_or_insert_with(Vec::new);
    if let Some(c) = list.iter_mut().find(|c| c.type_ == type_) {
        if c.status != cond_status
            || c.reason.as_deref().unwrap_or("") != reason
            || c.message.as_deref().unwrap_or("") != message
        {
            let mut n = new_condition(type_, reason, message, now);
            n.status = cond_status.into();
            *c = n;
            return true;
        }
        return false;
    }
    if cond_status == "True" {
        list.push(new_condition(type_, reason, message, now));
        return true;
    }
    false
}

/// Seconds since the job's start time, if it has one.
fn past_active_deadline(job: &Job, status: &JobStatus, now: DateTime<Utc>) -> Option<bool> {
    let deadline = job.spec.as_ref()?.active_deadline_seconds?;
    if suspended(job) {
        return Some(false);
    }
    let start = from_time(status.start_time.as_ref()?)?;
    Some(now - start >= chrono::Duration::seconds(deadline))
}

/// Upstream `pastBackoffLimitOnFailure`: for `restartPolicy: OnFailure`, the
/// restarts of running and pending pods' containers reach the back-off limit.
fn past_backoff_limit_on_failure(job: &Job, pods: &[&Pod]) -> bool {
    if restart_policy(job) != "OnFailure" {
        return false;
    }
    let mut restarts = 0i64;
    for p in pods {
        let ph = phase(p);
        if ph != "Running" && ph != "Pending" {
            continue;
        }
        let Some(st) = p.status.as_ref() else {
            continue;
        };
        let init = st
            .rare
            .as_ref()
            .and_then(|r| r.init_container_statuses.as_deref())
            .unwrap_or_default();
        for c in st
            .container_statuses
            .as_deref()
            .unwrap_or_default()
            .iter()
            .chain(init)
        {
            restarts += i64::from(c.restart_count);
        }
    }
    let limit = i64::from(backoff_limit(job));
    if limit == 0 {
        restarts > 0
    } else {
        restarts >= limit
    }
}

/// When a finished pod finished: its containers' latest `finishedAt`, else
/// its deletion time, else its Ready condition's transition (upstream
/// `getFinishedTime`).
fn finished_time(pod: &Pod) -> Option<DateTime<Utc>> {
    let st = pod.status.as_ref();
    let latest = st
        .and_then(|s| s.container_statuses.as_ref())
        .into_iter()
        .flatten()
        .filter_map(|c| c.state.as_ref()?.terminated.as_ref()?.finished_at.as_ref())
        .filter_map(from_time)
        .max();
    latest
        .or_else(|| pod.metadata.deletion_timestamp.as_ref().and_then(from_time))
        .or_else(|| {
            st?.conditions
                .as_ref()?
                .iter()
                .find(|c| c.type_ == "Ready")?
                .last_transition_time
                .as_ref()
                .and_then(from_time)
        })
}

/// The failure back-off still to wait before creating pods (upstream's
/// `backoffRecord.getRemainingTime`): failures after the last success
/// double the delay from 10 s up to 6 min, counted from the last failure.
/// Upstream keeps the record in memory; here it is derived from the pods
/// still present, so it survives a restart of the controller.
pub fn remaining_backoff(job: &Job, pods: &[&Pod], now: DateTime<Utc>) -> Duration {
    let last_success = pods
        .iter()
        .filter(|p| phase(p) == "Succeeded")
        .filter_map(|p| finished_time(p))
        .max();
    let failures: Vec<DateTime<Utc>> = pods
        .iter()
        .filter(|p| is_pod_failed(p, job))
        .filter_map(|p| finished_time(p))
        .filter(|t| last_success.is_none_or(|s| *t > s))
        .collect();
    let Some(last) = failures.iter().max().copied() else {
        return Duration::ZERO;
    };
    let n = failures.len().min(32) as u32;
    let backoff = POD_FAILURE_BACKOFF
        .saturating_mul(1u32 << (n - 1).min(20))
        .min(MAX_POD_FAILURE_BACKOFF);
    let elapsed = (now - last).to_std().unwrap_or(Duration::ZERO);
    backoff.saturating_sub(elapsed)
}

/// The succeeded indexes: those already in the status plus those of
/// succeeded pods (upstream `calculateSucceededIndexes`).
fn succeeded_indexes(job: &Job, pods: &[&Pod]) -> BTreeSet<usize> {
    let completions = completions(job).unwrap_or(0).max(0) as usize;
    let prev = job
        .status
        .as_ref()
        .and_then(|s| s.completed_indexes.as_deref())
        .unwrap_or("");
    let mut set = indexed::parse_intervals(prev, completions);
    for p in pods {
        if phase(p) == "Succeeded"
            && has_finalizer(p)
            && let Some(i) = completion_index(p)
            && i < completions
        {
            set.insert(i);
        }
    }
    set
}

/// Indexes failed for good under `backoffLimitPerIndex` (upstream
/// `calculateFailedIndexes`): a failed pod whose index has used up its
/// retries, or matched a `FailIndex` rule.
fn failed_indexes(job: &Job, pods: &[&Pod]) -> BTreeSet<usize> {
    let completions = completions(job).unwrap_or(0).max(0) as usize;
    let prev = job
        .status
        .as_ref()
        .and_then(|s| s.failed_indexes.as_deref())
        .unwrap_or("");
    let mut set = indexed::parse_intervals(prev, completions);
    let limit = spec_i32(job, |s| s.backoff_limit_per_index).unwrap_or(0);
    let policy = job
        .spec
        .as_ref()
        .and_then(|s| s.pod_failure_policy.as_ref());
    for p in pods {
        if !is_pod_failed(p, job) || !has_finalizer(p) {
            continue;
        }
        let Some(i) = completion_index(p) else {
            continue;
        };
        if i >= completions {
            continue;
        }
        if let Some(policy) = policy
            && match_policy(policy, p).action.as_deref() == Some("FailIndex")
        {
            set.insert(i);
            continue;
        }
        if index_failure_count(p) >= limit {
            set.insert(i);
        }
    }
    set
}

/// Annotation counting an index's failures before this pod (upstream
/// `batch.kubernetes.io/job-index-failure-count`).
pub const INDEX_FAILURE_COUNT_ANNOTATION: &str = "batch.kubernetes.io/job-index-failure-count";

fn index_failure_count(pod: &Pod) -> i32 {
    pod.metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(INDEX_FAILURE_COUNT_ANNOTATION))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// For a new pod of `index`: its index failure count, one more than the
/// failures of the index's pods seen so far.
pub fn next_index_failure_count(job: &Job, pods: &[&Pod], index: usize) -> i32 {
    pods.iter()
        .filter(|p| completion_index(p) == Some(index) && is_pod_failed(p, job))
        .map(|p| index_failure_count(p) + 1)
        .max()
        .unwrap_or(0)
}

/// Upstream `matchSuccessPolicy`: the first rule whose indexes / count are met.
fn match_success_policy(job: &Job, succeeded: &BTreeSet<usize>) -> Option<String> {
    let policy = job.spec.as_ref()?.success_policy.as_ref()?;
    let completions = completions(job).unwrap_or(0).max(0) as usize;
    for (index, rule) in policy.rules.iter().enumerate() {
        let selected: BTreeSet<usize> = match &rule.succeeded_indexes {
            Some(s) => indexed::parse_intervals(s, completions),
            None => (0..completions).collect(),
        };
        let met = selected.intersection(succeeded).count();
        let ok = match (rule.succeeded_indexes.is_some(), rule.succeeded_count) {
            (_, Some(n)) => met >= n.max(0) as usize,
            (true, None) => met == selected.len(),
            (false, None) => false,
        };
        if ok {
            return Some(format!("Matched rules at index {index}"));
        }
    }
    None
}

/// Upstream's order of active pods for removal (`controller.ActivePods`):
/// unscheduled before scheduled, pending before running, not ready before
/// ready, then younger first.
fn removal_order(pods: &mut [&Pod]) {
    pods.sort_by(|a, b| {
        let node = |p: &Pod| {
            p.spec
                .as_ref()
                .and_then(|s| s.node_name.as_deref())
                .is_some_and(|n| !n.is_empty())
        };
        let ph = |p: &Pod| match phase(p) {
            "Pending" => 0,
            "Unknown" => 1,
            "Running" => 2,
            _ => 3,
        };
        let created = |p: &Pod| p.metadata.creation_timestamp.as_ref().map(|t| t.0);
        node(a)
            .cmp(&node(b))
            .then(ph(a).cmp(&ph(b)))
            .then(is_pod_ready(a).cmp(&is_pod_ready(b)))
            .then(created(b).cmp(&created(a)))
    });
}

fn pod_ref(p: &Pod) -> PodRef {
    PodRef {
        name: p.metadata.name.clone().unwrap_or_default(),
        uid: uid(p),
        ready: is_pod_ready(p),
    }
}

/// Upstream `activePodsForRemoval`: for an Indexed Job, pods with an
/// invalid, duplicated or succeeded index first; then the least advanced.
fn active_pods_for_removal<'a>(
    job: &Job,
    active: &[&'a Pod],
    at_least: usize,
    succeeded: &BTreeSet<usize>,
) -> Vec<&'a Pod> {
    let mut rm: Vec<&Pod> = Vec::new();
    let mut left: Vec<&Pod> = Vec::new();
    if is_indexed(job) {
        let completions = completions(job).unwrap_or(0).max(0) as usize;
        let mut seen: HashSet<usize> = HashSet::new();
        let mut sorted: Vec<&Pod> = active.to_vec();
        // Keep the most advanced pod of a duplicated index.
        removal_order(&mut sorted);
        sorted.reverse();
        for p in sorted {
            match completion_index(p) {
                Some(i) if i < completions && !succeeded.contains(&i) && seen.insert(i) => {
                    left.push(p)
                }
                _ => rm.push(p),
            }
        }
    } else {
        left = active.to_vec();
    }
    if rm.len() < at_least {
        removal_order(&mut left);
        let need = at_least - rm.len();
        rm.extend(left.into_iter().take(need));
    }
    rm
}

/// Phase 1: `syncJob` up to `trackJobStatusAndRemoveFinalizers`.
pub fn decide(obs: &Observed, now: DateTime<Utc>) -> Decision {
    let job = obs.job;
    let pods = obs.pods;
    let mut status = job.status.clone().unwrap_or_default();
    let mut events = Vec::new();
    let mut requeue_after: Option<Duration> = None;
    let mut status_changed = false;

    let active_pods: Vec<&Pod> = pods.iter().copied().filter(|p| is_pod_active(p)).collect();
    // The I/O loop adjusts these by the writes that succeed.
    let active = active_pods.len() as i32;
    let ready = active_pods.iter().filter(|p| is_pod_ready(p)).count() as i32;
    let terminating = pods.iter().filter(|p| is_terminating(p)).count() as i32;
    let uncounted = status.uncounted_terminated_pods.clone().unwrap_or_default();
    let unc_s: HashSet<&str> = uncounted
        .succeeded
        .iter()
        .flatten()
        .map(String::as_str)
        .collect();
    let unc_f: HashSet<&str> = uncounted
        .failed
        .iter()
        .flatten()
        .map(String::as_str)
        .collect();
    let completions_n = completions(job);
    let valid = |p: &Pod, uncounted: &HashSet<&str>| {
        let u = uid(p);
        if !has_finalizer(p) || uncounted.contains(u.as_str()) || obs.expected_removals.contains(&u)
        {
            return false;
        }
        if is_indexed(job) {
            let c = completions_n.unwrap_or(0).max(0) as usize;
            return completion_index(p).is_some_and(|i| i < c);
        }
        true
    };
    let new_succeeded = pods
        .iter()
        .filter(|p| valid(p, &unc_s) && phase(p) == "Succeeded")
        .count() as i32;
    let policy = job
        .spec
        .as_ref()
        .and_then(|s| s.pod_failure_policy.as_ref());
    let new_failed = pods
        .iter()
        .filter(|p| valid(p, &unc_f) && is_pod_failed(p, job))
        .filter(|p| policy.is_none_or(|pol| match_policy(pol, p).count_failed))
        .count() as i32;
    let mut succeeded = status.succeeded.unwrap_or(0) + new_succeeded + unc_s.len() as i32;
    let failed = status.failed.unwrap_or(0) + new_failed + unc_f.len() as i32;

    if status.start_time.is_none() && !suspended(job) {
        status.start_time = Some(to_time(now));
        status_changed = true;
    }

    let mut finished: Option<JobCondition> = find_condition(&status, COND_SUCCESS_CRITERIA_MET)
        .filter(|c| c.status == "True")
        .cloned();
    if finished.is_none() {
        if let Some(ft) =
            find_condition(&status, COND_FAILURE_TARGET).filter(|c| c.status == "True")
        {
            finished = Some(new_condition(
                COND_FAILED,
                ft.reason.as_deref().unwrap_or(""),
                ft.message.as_deref().unwrap_or(""),
                now,
            ));
        } else if let Some(policy) = policy {
            for p in pods.iter().filter(|p| is_pod_failed(p, job)) {
                if let Some(msg) = match_policy(policy, p).fail_job_message {
                    finished = Some(new_condition(
                        COND_FAILURE_TARGET,
                        "PodFailurePolicy",
                        &msg,
                        now,
                    ));
                    break;
                }
            }
        }
    }
    if finished.is_none() {
        if failed > backoff_limit(job) || past_backoff_limit_on_failure(job, pods) {
            finished = Some(new_condition(
                COND_FAILURE_TARGET,
                "BackoffLimitExceeded",
                "Job has reached the specified backoff limit",
                now,
            ));
        } else if past_active_deadline(job, &status, now) == Some(true) {
            finished = Some(new_condition(
                COND_FAILURE_TARGET,
                "DeadlineExceeded",
                "Job was active longer than specified deadline",
                now,
            ));
        } else if let (Some(deadline), Some(start)) = (
            job.spec.as_ref().and_then(|s| s.active_deadline_seconds),
            status.start_time.as_ref().and_then(from_time),
        ) && !suspended(job)
        {
            let left = chrono::Duration::seconds(deadline) - (now - start);
            requeue_after = left.to_std().ok();
        }
    }

    let mut succeeded_idx = BTreeSet::new();
    if is_indexed(job) {
        succeeded_idx = succeeded_indexes(job, pods);
        succeeded = succeeded_idx.len() as i32;
        if has_backoff_limit_per_index(job) {
            let failed_idx = failed_indexes(job, pods);
            if finished.is_none() {
                let max_failed = spec_i32(job, |s| s.max_failed_indexes);
                if max_failed.is_some_and(|m| failed_idx.len() as i32 > m) {
                    finished = Some(new_condition(
                        COND_FAILURE_TARGET,
                        "MaxFailedIndexesExceeded",
                        "Job has exceeded the specified maximal number of failed indexes",
                        now,
                    ));
                } else if !failed_idx.is_empty()
                    && (failed_idx.len() + succeeded_idx.len()) as i32 >= completions_n.unwrap_or(0)
                {
                    finished = Some(new_condition(
                        COND_FAILURE_TARGET,
                        "FailedIndexes",
                        "Job has failed indexes",
                        now,
                    ));
                }
            }
            let s = indexed::format_intervals(&failed_idx);
            if status.failed_indexes.as_deref() != Some(s.as_str()) {
                status.failed_indexes = Some(s);
                status_changed = true;
            }
        }
        if finished.is_none()
            && let Some(msg) = match_success_policy(job, &succeeded_idx)
        {
            finished = Some(new_condition(
                COND_SUCCESS_CRITERIA_MET,
                "SuccessPolicy",
                &msg,
                now,
            ));
        }
    }

    let mut deletes = Vec::new();
    let mut deletes_remove_finalizer = false;
    let mut creates = Vec::new();
    let mut managed = false;
    if finished.is_some() {
        // Every active pod goes; their finalizers stay so they are counted.
        deletes = active_pods.iter().map(|p| pod_ref(p)).collect();
    } else {
        if obs.satisfied && job.metadata.deletion_timestamp.is_none() {
            managed = true;
            let m = manage(
                job,
                pods,
                &active_pods,
                succeeded,
                terminating,
                &succeeded_idx,
                now,
            );
            deletes = m.0;
            deletes_remove_finalizer = true;
            creates = m.1;
            if let Some(after) = m.2 {
                requeue_after = Some(requeue_after.map_or(after, |r| r.min(after)));
            }
        }
        let complete = match completions_n {
            None => succeeded > 0 && active - deletes.len() as i32 + creates.len() as i32 == 0,
            Some(c) => succeeded >= c && active - deletes.len() as i32 + creates.len() as i32 == 0,
        };
        if complete {
            finished = Some(new_condition(
                COND_SUCCESS_CRITERIA_MET,
                "CompletionsReached",
                "Reached expected number of succeeded pods",
                now,
            ));
        } else if managed {
            if suspended(job) {
                if ensure_condition(
                    &mut status,
                    COND_SUSPENDED,
                    "True",
                    "JobSuspended",
                    "Job suspended",
                    now,
                ) {
                    status_changed = true;
                    events.push(event(false, "Suspended", "Job suspended"));
                }
            } else if ensure_condition(
                &mut status,
                COND_SUSPENDED,
                "False",
                "JobResumed",
                "Job resumed",
                now,
            ) {
                status_changed = true;
                events.push(event(false, "Resumed", "Job resumed"));
                // The active deadline counts from the resumption.
                status.start_time = Some(to_time(now));
            }
        }
    }
    Decision {
        finished,
        deletes,
        deletes_remove_finalizer,
        creates,
        requeue_after,
        events,
        status,
        status_changed,
        active,
        ready,
        terminating,
        managed,
    }
}

/// Upstream `manageJob`: (pods to delete, pods to create, requeue).
#[allow(clippy::type_complexity)]
fn manage(
    job: &Job,
    pods: &[&Pod],
    active_pods: &[&Pod],
    succeeded: i32,
    terminating: i32,
    succeeded_idx: &BTreeSet<usize>,
    now: DateTime<Utc>,
) -> (Vec<PodRef>, Vec<Option<usize>>, Option<Duration>) {
    let active = active_pods.len() as i32;
    if suspended(job) {
        let rm = active_pods_for_removal(job, active_pods, active_pods.len(), succeeded_idx);
        return (rm.iter().map(|p| pod_ref(p)).collect(), Vec::new(), None);
    }
    let parallelism = parallelism(job);
    let want = match completions(job) {
        None if succeeded > 0 => active,
        None => parallelism,
        Some(c) => (c - succeeded).min(parallelism).max(0),
    };
    let rm_at_least = (active - want).max(0) as usize;
    let mut rm = active_pods_for_removal(job, active_pods, rm_at_least, succeeded_idx);
    rm.truncate(MAX_POD_CREATE_DELETE_PER_SYNC);
    if !rm.is_empty() {
        return (rm.iter().map(|p| pod_ref(p)).collect(), Vec::new(), None);
    }
    let terminating = if only_replace_failed(job) {
        terminating
    } else {
        0
    };
    let diff = want - terminating - active;
    if diff <= 0 {
        return (Vec::new(), Vec::new(), None);
    }
    if !has_backoff_limit_per_index(job) {
        let wait = remaining_backoff(job, pods, now);
        if !wait.is_zero() {
            return (Vec::new(), Vec::new(), Some(wait));
        }
    }
    let diff = (diff as usize).min(MAX_POD_CREATE_DELETE_PER_SYNC);
    if is_indexed(job) {
        let c = completions(job).unwrap_or(0).max(0) as usize;
        let mut taken: BTreeSet<usize> = active_pods
            .iter()
            .filter_map(|p| completion_index(p))
            .collect();
        if has_backoff_limit_per_index(job) {
            taken.extend(failed_indexes(job, pods));
        }
        if only_replace_failed(job) {
            taken.extend(
                pods.iter()
                    .filter(|p| is_terminating(p))
                    .filter_map(|p| completion_index(p)),
            );
        }
        let idx = indexed::first_pending(diff, c, succeeded_idx, &taken);
        return (Vec::new(), idx.into_iter().map(Some).collect(), None);
    }
    (Vec::new(), vec![None; diff], None)
}

/// Phase 2's result.
#[derive(Debug, Clone, PartialEq)]
pub struct Tracking {
    /// The status to write before removing finalizers, if it changed.
    pub flush: Option<JobStatus>,
    /// The status as phase 3 starts from.
    pub status: JobStatus,
    /// Pods whose tracking finalizer may be removed now.
    pub remove_finalizers: Vec<PodRef>,
    /// UIDs of the Job's pods that still have the finalizer.
    pub with_finalizer: HashSet<String>,
    /// The terminal condition to set once nothing is uncounted or terminating.
    pub finished: Option<JobCondition>,
    /// Whether the per-sync limit of uncounted pods was reached.
    pub reached_max: bool,
}

/// Phase 2: `trackJobStatusAndRemoveFinalizers` up to the finalizer removals.
/// `active`, `ready` and `terminating` are the counts after phase 1's writes;
/// `finished` is phase 1's condition unless a deletion failed.
#[allow(clippy::too_many_arguments)]
pub fn track(
    obs: &Observed,
    decision: &Decision,
    finished: Option<JobCondition>,
    active: i32,
    ready: i32,
    terminating: i32,
    now: DateTime<Utc>,
) -> Tracking {
    let job = obs.job;
    let old = job.status.clone().unwrap_or_default();
    let mut status = decision.status.clone();
    let mut needs_flush = decision.status_changed
        || old.active.unwrap_or(0) != active
        || old.ready != Some(ready)
        || old.terminating != Some(terminating);
    status.active = (active != 0).then_some(active);
    status.ready = Some(ready);
    status.terminating = Some(terminating);
    let mut uncounted = status.uncounted_terminated_pods.clone().unwrap_or_default();
    let indexed = is_indexed(job);
    let completions_n = completions(job).unwrap_or(0).max(0) as usize;

    let mut pods: Vec<&Pod> = obs.pods.to_vec();
    if indexed {
        pods.sort_by_key(|p| completion_index(p).unwrap_or(usize::MAX));
    }
    let with_finalizer: HashSet<String> = pods
        .iter()
        .filter(|p| has_finalizer(p) && !obs.expected_removals.contains(&uid(p)))
        .map(|p| uid(p))
        .collect();
    if clean_uncounted(&mut status, &mut uncounted, &with_finalizer) {
        needs_flush = true;
    }
    let unc_s: HashSet<String> = uncounted.succeeded.iter().flatten().cloned().collect();
    let unc_f: HashSet<String> = uncounted.failed.iter().flatten().cloned().collect();
    let prev_succeeded_idx = {
        let prev = old.completed_indexes.as_deref().unwrap_or("");
        indexed::parse_intervals(prev, completions_n)
    };
    let mut succeeded_idx = if indexed {
        succeeded_indexes(job, obs.pods)
    } else {
        BTreeSet::new()
    };
    let failing = finished
        .as_ref()
        .is_some_and(|c| c.type_ != COND_SUCCESS_CRITERIA_MET);
    let policy = job
        .spec
        .as_ref()
        .and_then(|s| s.pod_failure_policy.as_ref());
    let mut remove = Vec::new();
    let mut new_succeeded_idx = Vec::new();
    let mut added = 0usize;
    let mut reached_max = false;
    for p in &pods {
        let u = uid(p);
        if !has_finalizer(p) || obs.expected_removals.contains(&u) {
            continue;
        }
        let considered_failed = is_pod_failed(p, job);
        let can_remove = job.metadata.deletion_timestamp.is_some()
            || finished.is_some()
            || phase(p) == "Succeeded"
            || considered_failed;
        if !can_remove {
            continue;
        }
        remove.push(pod_ref(p));
        if phase(p) == "Succeeded" && !unc_f.contains(&u) {
            if indexed {
                if let Some(i) = completion_index(p)
                    && i < completions_n
                    && !prev_succeeded_idx.contains(&i)
                {
                    new_succeeded_idx.push(i);
                    added += 1;
                }
            } else if !unc_s.contains(&u) {
                uncounted
                    .succeeded
                    .get_or_insert_with(Vec::new)
                    .push(u.clone());
                added += 1;
            }
        } else if (considered_failed || failing)
            && !unc_f.contains(&u)
            && (!indexed || completion_index(p).is_some_and(|i| i < completions_n))
            && policy.is_none_or(|pol| match_policy(pol, p).count_failed)
        {
            uncounted
                .failed
                .get_or_insert_with(Vec::new)
                .push(u.clone());
            added += 1;
        }
        if added >= MAX_UNCOUNTED_PODS {
            reached_max = true;
            break;
        }
    }
    if added > 0 {
        needs_flush = true;
    }
    if indexed {
        succeeded_idx.extend(new_succeeded_idx);
        let s = indexed::format_intervals(&succeeded_idx);
        if status.completed_indexes.as_deref().unwrap_or("") != s {
            needs_flush = true;
        }
        let n = succeeded_idx.len() as i32;
        status.succeeded = (n != 0).then_some(n);
        status.completed_indexes = Some(s);
    }
    let mut finished = finished;
    if let Some(c) = finished.clone() {
        if c.type_ == COND_FAILURE_TARGET {
            status
                .conditions
                .get_or_insert_with(Vec::new)
                .push(c.clone());
            needs_flush = true;
            finished = Some(new_condition(
                COND_FAILED,
                c.reason.as_deref().unwrap_or(""),
                c.message.as_deref().unwrap_or(""),
                now,
            ));
        } else if c.type_ == COND_SUCCESS_CRITERIA_MET {
            if !condition_true(&status, COND_SUCCESS_CRITERIA_MET) {
                status
                    .conditions
                    .get_or_insert_with(Vec::new)
                    .push(c.clone());
                needs_flush = true;
            }
            finished = Some(new_condition(
                COND_COMPLETE,
                c.reason.as_deref().unwrap_or(""),
                c.message.as_deref().unwrap_or(""),
                now,
            ));
        }
    }
    status.uncounted_terminated_pods = Some(normalize_uncounted(uncounted));
    Tracking {
        flush: needs_flush.then(|| status.clone()),
        status,
        remove_finalizers: remove,
        with_finalizer,
        finished,
        reached_max,
    }
}

fn normalize_uncounted(mut u: UncountedTerminatedPods) -> UncountedTerminatedPods {
    if u.succeeded.as_ref().is_some_and(|v| v.is_empty()) {
        u.succeeded = None;
    }
    if u.failed.as_ref().is_some_and(|v| v.is_empty()) {
        u.failed = None;
    }
    u
}

/// Upstream `cleanUncountedPodsWithoutFinalizers`: UIDs whose finalizer is
/// gone are counted.
fn clean_uncounted(
    status: &mut JobStatus,
    uncounted: &mut UncountedTerminatedPods,
    with_finalizer: &HashSet<String>,
) -> bool {
    let mut changed = false;
    if let Some(list) = uncounted.succeeded.as_mut() {
        let before = list.len();
        list.retain(|u| with_finalizer.contains(u));
        let moved = (before - list.len()) as i32;
        if moved > 0 {
            changed = true;
            status.succeeded = Some(status.succeeded.unwrap_or(0) + moved);
        }
    }
    if let Some(list) = uncounted.failed.as_mut() {
        let before = list.len();
        list.retain(|u| with_finalizer.contains(u));
        let moved = (before - list.len()) as i32;
        if moved > 0 {
            changed = true;
            status.failed = Some(status.failed.unwrap_or(0) + moved);
        }
    }
    changed
}

/// Phase 3: counts the pods whose finalizer was removed (`removed`), and
/// sets the terminal condition when nothing is uncounted or terminating.
/// Returns the status to write, if it changed, and whether the Job
/// finished (to record its event).
pub fn after_removal(
    mut t: Tracking,
    removed: &[String],
    terminating: i32,
    now: DateTime<Utc>,
) -> (Option<JobStatus>, Option<JobCondition>) {
    let mut status = t.status;
    for u in removed {
        t.with_finalizer.remove(u);
    }
    let mut uncounted = status.uncounted_terminated_pods.clone().unwrap_or_default();
    let mut changed = clean_uncounted(&mut status, &mut uncounted, &t.with_finalizer);
    status.uncounted_terminated_pods = Some(normalize_uncounted(uncounted));
    let mut finished_now = None;
    if !t.reached_max
        && let Some(c) = t.finished
    {
        let unc = status.uncounted_terminated_pods.as_ref();
        let pending = unc.map_or(0, |u| {
            u.succeeded.as_ref().map_or(0, Vec::len) + u.failed.as_ref().map_or(0, Vec::len)
        });
        if pending == 0 && terminating == 0 {
            ensure_condition(
                &mut status,
                &c.type_,
                "True",
                c.reason.as_deref().unwrap_or(""),
                c.message.as_deref().unwrap_or(""),
                now,
            );
            if c.type_ == COND_COMPLETE {
                status.completion_time = Some(to_time(now));
            }
            changed = true;
            finished_now = Some(c);
        }
    }
    (changed.then_some(status), finished_now)
}

/// Events for a Job that just finished (upstream `recordJobFinished`).
pub fn finished_events(job: &Job, status: &JobStatus, cond: &JobCondition) -> Vec<Event> {
    if cond.type_ == COND_COMPLETE {
        let mut v = Vec::new();
        if let Some(c) = completions(job)
            && status.succeeded.unwrap_or(0) > c
        {
            v.push(event(
                true,
                "TooManySucceededPods",
                "Too many succeeded pods running after completion count reached",
            ));
        }
        v.push(event(false, "Completed", "Job completed"));
        v
    } else {
        vec![event(
            true,
            cond.reason.as_deref().unwrap_or(""),
            cond.message.as_deref().unwrap_or(""),
        )]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::{Value, json};

    fn at(s: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_700_000_000 + s, 0)
            .single()
            .expect("a time")
    }

    fn job(spec: Value) -> Job {
        let mut spec = spec;
        if let Some(m) = spec.as_object_mut() {
            m.entry("template").or_insert(json!({"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "i"}]}}));
        }
        serde_json::from_value(json!({
            "metadata": {"name": "j", "namespace": "ns", "uid": "job-uid"},
            "spec": spec,
        }))
        .expect("a job")
    }

    fn pod(name: &str, phase: &str, extra: Value) -> Pod {
        let mut v = json!({
            "metadata": {"name": name, "namespace": "ns", "uid": format!("uid-{name}"),
                          "finalizers": [TRACKING_FINALIZER]},
            "spec": {"containers": [{"name": "c"}], "nodeName": "n"},
            "status": {"phase": phase},
        });
        merge(&mut v, extra);
        serde_json::from_value(v).expect("a pod")
    }

    fn merge(a: &mut Value, b: Value) {
        match (a, b) {
            (Value::Object(a), Value::Object(b)) => {
                for (k, v) in b {
                    merge(a.entry(k).or_insert(Value::Null), v);
                }
            }
            (a, b) => *a = b,
        }
    }

    fn run(job: &Job, pods: &[Pod], now: DateTime<Utc>) -> (Decision, Tracking) {
        let refs: Vec<&Pod> = pods.iter().collect();
        let none = HashSet::new();
        let obs = Observed {
            job,
            pods: &refs,
            satisfied: true,
            expected_removals: &none,
        };
        let d = decide(&obs, now);
        let active = d.active - d.deletes.len() as i32 + d.creates.len() as i32;
        let term = d.terminating
            + if d.finished.is_some() {
                d.deletes.len() as i32
            } else {
                0
            };
        let t = track(&obs, &d, d.finished.clone(), active, d.ready, term, now);
        (d, t)
    }

    #[test]
    fn creates_parallelism_pods_then_counts_and_completes() {
        let j = job(json!({"parallelism": 2, "completions": 3}));
        let (d, _) = run(&j, &[], at(0));
        assert_eq!(d.creates, vec![None, None]);
        assert!(d.status.start_time.is_some());

        // One succeeded, one running: its UID goes uncounted first, then
        // one more pod is created.
        let pods = [
            pod("a", "Succeeded", json!({})),
            pod("b", "Running", json!({})),
        ];
        let (d, t) = run(&j, &pods, at(5));
        assert_eq!(d.creates, vec![None]);
        let flush = t.flush.clone().expect("a flush");
        assert_eq!(
            flush.uncounted_terminated_pods.and_then(|u| u.succeeded),
            Some(vec!["uid-a".to_string()])
        );
        assert_eq!(t.remove_finalizers.len(), 1);
        let (st, fin) = after_removal(t, &["uid-a".into()], 0, at(5));
        let st = st.expect("a status");
        assert_eq!(st.succeeded, Some(1));
        assert_eq!(st.uncounted_terminated_pods, Some(Default::default()));
        assert!(fin.is_none());
    }

    #[test]
    fn completion_goes_through_success_criteria_met() {
        let mut j = job(json!({"completions": 1}));
        j.status = Some(JobStatus {
            start_time: Some(to_time(at(0))),
            ..Default::default()
        });
        let pods = [pod("a", "Succeeded", json!({}))];
        let (d, t) = run(&j, &pods, at(3));
        let c = d.finished.clone().expect("finished");
        assert_eq!(c.type_, COND_SUCCESS_CRITERIA_MET);
        assert_eq!(c.reason.as_deref(), Some("CompletionsReached"));
        assert_eq!(
            c.message.as_deref(),
            Some("Reached expected number of succeeded pods")
        );
        let conds = t
            .flush
            .clone()
            .and_then(|s| s.conditions)
            .expect("conditions");
        assert_eq!(conds[0].type_, COND_SUCCESS_CRITERIA_MET);
        let (st, fin) = after_removal(t, &["uid-a".into()], 0, at(3));
        let st = st.expect("status");
        assert_eq!(fin.map(|c| c.type_), Some(COND_COMPLETE.to_string()));
        assert_eq!(st.succeeded, Some(1));
        assert!(st.completion_time.is_some());
        let types: Vec<_> = st
            .conditions
            .iter()
            .flatten()
            .map(|c| c.type_.as_str())
            .collect();
        assert_eq!(types, vec![COND_SUCCESS_CRITERIA_MET, COND_COMPLETE]);
    }

    #[test]
    fn backoff_limit_exceeded_fails_through_failure_target() {
        let mut j = job(json!({"completions": 1, "backoffLimit": 1}));
        j.status = Some(JobStatus {
            start_time: Some(to_time(at(0))),
            failed: Some(1),
            ..Default::default()
        });
        let pods = [pod("b", "Failed", json!({}))];
        let (d, t) = run(&j, &pods, at(30));
        let c = d.finished.clone().expect("finished");
        assert_eq!(c.type_, COND_FAILURE_TARGET);
        assert_eq!(c.reason.as_deref(), Some("BackoffLimitExceeded"));
        assert_eq!(
            c.message.as_deref(),
            Some("Job has reached the specified backoff limit")
        );
        assert!(d.creates.is_empty());
        let (st, fin) = after_removal(t, &["uid-b".into()], 0, at(30));
        let st = st.expect("status");
        assert_eq!(st.failed, Some(2));
        assert_eq!(fin.map(|c| c.type_), Some(COND_FAILED.to_string()));
        let types: Vec<_> = st
            .conditions
            .iter()
            .flatten()
            .map(|c| c.type_.as_str())
            .collect();
        assert_eq!(types, vec![COND_FAILURE_TARGET, COND_FAILED]);
        assert!(st.completion_time.is_none());
    }

    #[test]
    fn pod_failure_policy_fail_job_deletes_active_pods_and_waits_for_them() {
        let j = job(json!({
            "completions": 2, "parallelism": 2,
            "podFailurePolicy": {"rules": [{"action": "FailJob",
                "onExitCodes": {"operator": "In", "values": [42]}}]}
        }));
        let failed = pod(
            "a",
            "Failed",
            json!({"status": {"containerStatuses": [{"name": "c", "image": "i", "imageID": "",
                "ready": false, "restartCount": 0, "state": {"terminated": {"exitCode": 42}}}]}}),
        );
        let pods = [failed, pod("b", "Running", json!({}))];
        let (d, t) = run(&j, &pods, at(10));
        let c = d.finished.clone().expect("finished");
        assert_eq!(c.reason.as_deref(), Some("PodFailurePolicy"));
        assert_eq!(
            c.message.as_deref(),
            Some(
                "Container c for pod ns/a failed with exit code 42 matching FailJob rule at index 0"
            )
        );
        assert_eq!(d.deletes.len(), 1);
        assert!(!d.deletes_remove_finalizer);
        // b is terminating: Failed waits.
        let (st, fin) = after_removal(t, &["uid-a".into(), "uid-b".into()], 1, at(10));
        assert!(fin.is_none());
        let st = st.expect("status");
        assert!(
            st.conditions
                .iter()
                .flatten()
                .any(|c| c.type_ == COND_FAILURE_TARGET)
        );
    }

    #[test]
    fn failure_backoff_delays_replacement() {
        let j = job(json!({"completions": 1}));
        let failed = pod(
            "a",
            "Failed",
            json!({"metadata": {"finalizers": []},
                   "status": {"containerStatuses": [{"name": "c", "image": "i", "imageID": "",
                "ready": false, "restartCount": 0,
                "state": {"terminated": {"exitCode": 1, "finishedAt": "2023-11-14T22:13:30Z"}}}]}}),
        );
        let finished_at = Utc
            .with_ymd_and_hms(2023, 11, 14, 22, 13, 30)
            .single()
            .expect("t");
        let refs = [&failed];
        assert_eq!(
            remaining_backoff(&j, &refs, finished_at + chrono::Duration::seconds(4)),
            Duration::from_secs(6)
        );
        let (d, _) = run(
            &j,
            std::slice::from_ref(&failed),
            finished_at + chrono::Duration::seconds(4),
        );
        assert!(d.creates.is_empty());
        assert_eq!(d.requeue_after, Some(Duration::from_secs(6)));
        let (d, _) = run(
            &j,
            std::slice::from_ref(&failed),
            finished_at + chrono::Duration::seconds(11),
        );
        assert_eq!(d.creates, vec![None]);
    }

    #[test]
    fn indexed_job_creates_missing_indexes_and_tracks_completed_indexes() {
        let j = job(json!({"completions": 4, "parallelism": 2, "completionMode": "Indexed"}));
        let (d, _) = run(&j, &[], at(0));
        assert_eq!(d.creates, vec![Some(0), Some(1)]);
        let ann = |i: usize| json!({"metadata": {"annotations": {indexed::COMPLETION_INDEX_ANNOTATION: i.to_string()}}});
        let pods = [pod("a", "Succeeded", ann(0)), pod("b", "Running", ann(1))];
        let (d, t) = run(&j, &pods, at(2));
        assert_eq!(d.creates, vec![Some(2)]);
        assert_eq!(
            t.flush.and_then(|s| s.completed_indexes).as_deref(),
            Some("0")
        );
    }

    #[test]
    fn suspend_deletes_active_pods_and_sets_condition() {
        let j = job(json!({"suspend": true, "completions": 2}));
        let (d, _) = run(&j, &[pod("a", "Running", json!({}))], at(0));
        assert_eq!(d.deletes.len(), 1);
        assert!(d.deletes_remove_finalizer);
        assert!(d.status.start_time.is_none());
        let c = find_condition(&d.status, COND_SUSPENDED).expect("suspended");
        assert_eq!(c.reason.as_deref(), Some("JobSuspended"));
        assert_eq!(d.events[0].reason, "Suspended");
    }

    #[test]
    fn active_deadline_fails_the_job_and_requeues_before() {
        let mut j = job(json!({"activeDeadlineSeconds": 10}));
        j.status = Some(JobStatus {
            start_time: Some(to_time(at(0))),
            ..Default::default()
        });
        let pods = [pod("a", "Running", json!({}))];
        let (d, _) = run(&j, &pods, at(4));
        assert!(d.finished.is_none());
        assert_eq!(d.requeue_after, Some(Duration::from_secs(6)));
        let (d, _) = run(&j, &pods, at(10));
        let c = d.finished.expect("finished");
        assert_eq!(c.reason.as_deref(), Some("DeadlineExceeded"));
        assert_eq!(d.deletes.len(), 1);
    }

    #[test]
    fn no_completions_completes_when_one_succeeded_and_none_active() {
        let j = job(json!({"parallelism": 2}));
        let pods = [
            pod("a", "Succeeded", json!({})),
            pod("b", "Running", json!({})),
        ];
        let (d, _) = run(&j, &pods, at(1));
        assert!(d.finished.is_none());
        assert!(d.creates.is_empty() && d.deletes.is_empty());
        let pods = [
            pod("a", "Succeeded", json!({})),
            pod("b", "Succeeded", json!({})),
        ];
        let (d, _) = run(&j, &pods, at(1));
        assert!(d.finished.is_some());
    }
}
