//! Rollout progress, as upstream's `pkg/controller/deployment/progress.go`: the
//! `Progressing` condition, `ProgressDeadlineExceeded`, replica failures and
//! requeueing a Deployment whose deadline is still ahead.

use std::time::Duration;

use chrono::{DateTime, Utc};
use k8s_openapi::api::apps::v1::{Deployment, DeploymentCondition, DeploymentStatus, ReplicaSet};

use super::sync::*;
use super::util::*;

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

impl Sync<'_> {
    /// `getReplicaFailures`.
    pub(super) fn replica_failures(
        &self,
        all: &[usize],
        new: Option<usize>,
    ) -> Option<DeploymentCondition> {
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
    pub(super) fn sync_rollout_status(&mut self, new: Option<usize>, old: &[usize]) {
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
}
