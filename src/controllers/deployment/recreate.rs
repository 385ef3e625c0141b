//! The `Recreate` strategy, as upstream's `pkg/controller/deployment/recreate.go`:
//! every old ReplicaSet scaled to zero and its pods gone before the new one scales up.

use std::collections::BTreeMap;

use crate::controllers::shared::cached_pod::Pod;

use super::sync::*;
use super::util::*;

impl Work {
    /// `oldPodsRunning`.
    pub(super) fn old_pods_running(
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

impl Sync<'_> {
    /// `rolloutRecreate`.
    pub(super) fn rollout_recreate(&mut self) -> Result<(), String> {
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
}
