//! Controller expectations, as upstream's `ControllerExpectations` and
//! `UIDTrackingControllerExpectations` (`pkg/controller/controller_utils.go`).
//!
//! A controller that reads from an informer cache records, before it creates
//! `n` pods for a controller key, "expect `n` adds", and before deleting pods,
//! the keys of the pods it deletes. Every ADDED pod the watch delivers for
//! that key (and every create that failed) lowers the adds; every observed
//! deletion of one of the recorded pods (a deletionTimestamp or a DELETED
//! event; a failed delete too) lowers the deletes. Until both reach zero the
//! cache has not seen the controller's own writes, so the controller must not
//! count pods to decide creates or deletes again, only update status.
//! An expectation older than [`EXPECTATIONS_TIMEOUT`] counts as satisfied, so
//! a lost notification cannot stall a controller forever.
//!
//! Pure: time is passed in.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

/// Upstream `ExpectationsTimeout`.
pub const EXPECTATIONS_TIMEOUT: Duration = Duration::from_secs(5 * 60);

#[derive(Debug, Clone)]
struct Record {
    add: i64,
    del: i64,
    /// Keys (`namespace/name`) of pods whose deletion is expected.
    deleting: HashSet<String>,
    timestamp: Instant,
}

/// Expectations of every controller key (`namespace/name` of the owner).
#[derive(Debug, Default)]
pub struct Expectations {
    records: HashMap<String, Record>,
}

impl Expectations {
    pub fn new() -> Self {
        Self::default()
    }

    /// Upstream `SatisfiedExpectations`: no record (never set, or deleted),
    /// all fulfilled, or expired.
    pub fn satisfied(&self, key: &str, now: Instant) -> bool {
        match self.records.get(key) {
            None => true,
            Some(r) => {
                (r.add <= 0 && r.del <= 0)
                    || now.saturating_duration_since(r.timestamp) > EXPECTATIONS_TIMEOUT
            }
        }
    }

    /// Upstream `ExpectCreations`: replaces the record.
    pub fn expect_creations(&mut self, key: &str, adds: usize, now: Instant) {
        self.records.insert(
            key.to_string(),
            Record {
                add: i64::try_from(adds).unwrap_or(i64::MAX),
                del: 0,
                deleting: HashSet::new(),
                timestamp: now,
            },
        );
    }

    /// Upstream `UIDTrackingControllerExpectations.ExpectDeletions`: replaces
    /// the record and remembers which pods are to go.
    pub fn expect_deletions(&mut self, key: &str, pod_keys: &[String], now: Instant) {
        let deleting: HashSet<String> = pod_keys.iter().cloned().collect();
        self.records.insert(
            key.to_string(),
            Record {
                add: 0,
                del: i64::try_from(deleting.len()).unwrap_or(i64::MAX),
                deleting,
                timestamp: now,
            },
        );
    }

    /// Upstream `CreationObserved`: one add seen (or one create failed).
    pub fn creation_observed(&mut self, key: &str) {
        if let Some(r) = self.records.get_mut(key) {
            r.add -= 1;
        }
    }

    /// Upstream `UIDTrackingControllerExpectations.DeletionObserved`: counts
    /// only pods this controller recorded, each once.
    pub fn deletion_observed(&mut self, key: &str, pod_key: &str) {
        if let Some(r) = self.records.get_mut(key)
            && r.deleting.remove(pod_key)
        {
            r.del -= 1;
        }
    }

    /// Upstream `DeleteExpectations`: the owner is gone.
    pub fn delete(&mut self, key: &str) {
        self.records.remove(key);
    }

    /// Outstanding (adds, deletes) of a key, for logs and tests.
    pub fn pending(&self, key: &str) -> Option<(i64, i64)> {
        self.records.get(key).map(|r| (r.add, r.del))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_record_is_satisfied() {
        let e = Expectations::new();
        assert!(e.satisfied("ns/rs", Instant::now()));
    }

    #[test]
    fn creations_are_satisfied_once_all_adds_are_observed() {
        let now = Instant::now();
        let mut e = Expectations::new();
        e.expect_creations("ns/rs", 3, now);
        assert!(!e.satisfied("ns/rs", now));
        e.creation_observed("ns/rs");
        e.creation_observed("ns/rs");
        assert!(!e.satisfied("ns/rs", now));
        assert_eq!(e.pending("ns/rs"), Some((1, 0)));
        // A failed create lowers it the same way.
        e.creation_observed("ns/rs");
        assert!(e.satisfied("ns/rs", now));
        // Other keys are independent.
        e.creation_observed("ns/other");
        assert_eq!(e.pending("ns/other"), None);
    }

    #[test]
    fn extra_adds_do_not_break_satisfaction() {
        let now = Instant::now();
        let mut e = Expectations::new();
        e.expect_creations("ns/rs", 1, now);
        e.creation_observed("ns/rs");
        e.creation_observed("ns/rs");
        assert!(e.satisfied("ns/rs", now));
    }

    #[test]
    fn deletions_count_each_recorded_pod_once() {
        let now = Instant::now();
        let mut e = Expectations::new();
        e.expect_deletions("ns/rs", &["ns/a".to_string(), "ns/b".to_string()], now);
        assert!(!e.satisfied("ns/rs", now));
        // A pod we did not delete, and the same pod twice (deletionTimestamp
        // then DELETED), count once or not at all.
        e.deletion_observed("ns/rs", "ns/zzz");
        e.deletion_observed("ns/rs", "ns/a");
        e.deletion_observed("ns/rs", "ns/a");
        assert_eq!(e.pending("ns/rs"), Some((0, 1)));
        assert!(!e.satisfied("ns/rs", now));
        e.deletion_observed("ns/rs", "ns/b");
        assert!(e.satisfied("ns/rs", now));
    }

    #[test]
    fn expectations_expire_after_the_timeout() {
        let start = Instant::now();
        let mut e = Expectations::new();
        e.expect_creations("ns/rs", 5, start);
        assert!(!e.satisfied("ns/rs", start + EXPECTATIONS_TIMEOUT));
        assert!(e.satisfied(
            "ns/rs",
            start + EXPECTATIONS_TIMEOUT + Duration::from_millis(1)
        ));
    }

    #[test]
    fn setting_replaces_and_delete_forgets() {
        let now = Instant::now();
        let mut e = Expectations::new();
        e.expect_creations("ns/rs", 5, now);
        e.expect_deletions("ns/rs", &["ns/a".to_string()], now);
        assert_eq!(e.pending("ns/rs"), Some((0, 1)));
        e.delete("ns/rs");
        assert!(e.satisfied("ns/rs", now));
    }
}
