//! Completion indexes of `Indexed` Jobs, as upstream's
//! `pkg/controller/job/indexed_job_utils.go`: the index a pod carries, the
//! compressed interval form of `status.completedIndexes` /
//! `status.failedIndexes` (`"1,3-5,7"`), and which indexes still need a pod.

use std::collections::BTreeSet;

use crate::controllers::shared::cached_pod::Pod;

/// The annotation (and label) holding a pod's completion index.
pub const COMPLETION_INDEX_ANNOTATION: &str = "batch.kubernetes.io/job-completion-index";
/// The environment variable each container of an indexed pod gets.
pub const COMPLETION_INDEX_ENV: &str = "JOB_COMPLETION_INDEX";

/// The completion index of a pod, if its annotation holds a valid one
/// (upstream `getCompletionIndex`: a non-negative decimal integer).
pub fn completion_index(pod: &Pod) -> Option<usize> {
    let v = pod
        .metadata
        .annotations
        .as_ref()?
        .get(COMPLETION_INDEX_ANNOTATION)?;
    // Go's strconv.Atoi accepts a leading '+'; upstream then refuses negatives.
    let digits = v.strip_prefix('+').unwrap_or(v);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Parses the interval form, keeping indexes below `completions`; malformed
/// parts are skipped as upstream's `parseIndexesFromString` does.
pub fn parse_intervals(s: &str, completions: usize) -> BTreeSet<usize> {
    let mut out = BTreeSet::new();
    if s.is_empty() {
        return out;
    }
    for part in s.split(',') {
        let (a, b) = match part.split_once('-') {
            Some((a, b)) => (a.parse::<usize>(), b.parse::<usize>()),
            None => (part.parse::<usize>(), part.parse::<usize>()),
        };
        let (Ok(a), Ok(b)) = (a, b) else { continue };
        if a > b {
            continue;
        }
        for i in a..=b.min(completions.saturating_sub(1)) {
            if i < completions {
                out.insert(i);
            }
        }
    }
    out
}

/// The interval form of a set of indexes: runs of three or more consecutive
/// indexes as `a-b`, two as `a,b` (upstream's `orderedIntervals.String`
/// writes `a-b` for any run longer than one).
pub fn format_intervals(set: &BTreeSet<usize>) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut iter = set.iter().copied().peekable();
    while let Some(first) = iter.next() {
        let mut last = first;
        while iter.peek() == Some(&(last + 1)) {
            last += 1;
            iter.next();
        }
        if last == first {
            parts.push(first.to_string());
        } else {
            parts.push(format!("{first}-{last}"));
        }
    }
    parts.join(",")
}

/// Upstream `firstPendingIndexes`: the `count` lowest indexes below
/// `completions` that are neither succeeded nor taken by a pod in `taken`.
pub fn first_pending(
    count: usize,
    completions: usize,
    succeeded: &BTreeSet<usize>,
    taken: &BTreeSet<usize>,
) -> Vec<usize> {
    (0..completions)
        .filter(|i| !succeeded.contains(i) && !taken.contains(i))
        .take(count)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    fn pod_with(index: &str) -> Pod {
        Pod {
            metadata: ObjectMeta {
                annotations: Some(
                    [(COMPLETION_INDEX_ANNOTATION.to_string(), index.to_string())].into(),
                ),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    #[test]
    fn completion_index_is_a_non_negative_integer() {
        assert_eq!(completion_index(&pod_with("3")), Some(3));
        assert_eq!(completion_index(&pod_with("+3")), Some(3));
        assert_eq!(completion_index(&pod_with("-1")), None);
        assert_eq!(completion_index(&pod_with("x")), None);
        assert_eq!(completion_index(&pod_with("")), None);
        assert_eq!(completion_index(&Pod::default()), None);
    }

    // indexed_job_utils_test.go, TestCalculateSucceededIndexes / String cases.
    #[test]
    fn intervals_round_trip() {
        let set: BTreeSet<usize> = [0, 1, 2, 4, 6, 7].into();
        assert_eq!(format_intervals(&set), "0-2,4,6-7");
        assert_eq!(parse_intervals("0-2,4,6-7", 10), set);
        assert_eq!(format_intervals(&BTreeSet::new()), "");
        // Indexes at or beyond completions are dropped; junk is skipped.
        assert_eq!(parse_intervals("1,3-9,x,5-2", 5), [1, 3, 4].into());
    }

    #[test]
    fn first_pending_skips_succeeded_and_taken() {
        let succeeded: BTreeSet<usize> = [0, 2].into();
        let taken: BTreeSet<usize> = [1].into();
        assert_eq!(first_pending(2, 6, &succeeded, &taken), vec![3, 4]);
        assert_eq!(first_pending(9, 4, &succeeded, &taken), vec![3]);
    }
}
