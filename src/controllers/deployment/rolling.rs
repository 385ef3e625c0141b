//! The `RollingUpdate` strategy, as upstream's `pkg/controller/deployment/rolling.go`:
//! scale the new ReplicaSet up within `maxSurge`, the old ones down within
//! `maxUnavailable`, unhealthy replicas first.

use k8s_openapi::api::apps::v1::Deployment;

use super::sync::*;
use super::util::*;

impl Work {
    /// `reconcileNewReplicaSet`.
    pub(super) fn reconcile_new_replica_set(
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
    pub(super) fn reconcile_old_replica_sets(
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
    pub(super) fn cleanup_unhealthy_replicas(
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
    pub(super) fn scale_down_old_replica_sets_for_rolling_update(
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
}

impl Sync<'_> {
    /// `rolloutRolling`.
    pub(super) fn rollout_rolling(&mut self) -> Result<(), String> {
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
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;

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
}
