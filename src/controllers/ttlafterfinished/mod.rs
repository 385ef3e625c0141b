//! The TTL-after-finished controller: deletes a finished Job
//! `ttlSecondsAfterFinished` after it finished, with its pods (foreground).
//! Upstream: `pkg/controller/ttlafterfinished/ttlafterfinished_controller.go`.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use k8s_openapi::api::batch::v1::Job;
use kube::api::{Api, DeleteParams, Preconditions, PropagationPolicy};

use crate::controllers::nodesim::logic::from_time;
use crate::controllers::shared::AbortOnDrop;
use crate::controllers::shared::informer::{Change, Informers, Key, key_of};
use crate::controllers::shared::workqueue::{Queue, run_workers};

/// Upstream's `ConcurrentTTLSyncs` default.
const WORKERS: usize = 5;

/// When the Job finished: the transition time of its true `Complete` or
/// `Failed` condition (upstream `jobFinishTime`).
pub fn finish_time(job: &Job) -> Option<DateTime<Utc>> {
    job.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| (c.type_ == "Complete" || c.type_ == "Failed") && c.status == "True")?
        .last_transition_time
        .as_ref()
        .and_then(from_time)
}

/// How long until the Job expires (`Some(ZERO)`: now), or `None` if it has
/// no TTL, has not finished, or is already being deleted (upstream `needsCleanup`
/// and `timeLeft`).
pub fn time_left(job: &Job, now: DateTime<Utc>) -> Option<Duration> {
    if job.metadata.deletion_timestamp.is_some() {
        return None;
    }
    let ttl = job.spec.as_ref()?.ttl_seconds_after_finished?;
    let finished = finish_time(job)?;
    let expire = finished + chrono::Duration::seconds(i64::from(ttl));
    Some((expire - now).to_std().unwrap_or(Duration::ZERO))
}

pub async fn run(client: kube::Client, informers: Arc<Informers>) {
    let queue: Arc<Queue<Key>> = Queue::new();
    let mut changes = informers.jobs.subscribe();
    let q = queue.clone();
    let _handler = AbortOnDrop(tokio::spawn(async move {
        while let Some(change) = changes.recv().await {
            if let Change::Added(j) | Change::Updated { new: j, .. } = change.as_ref()
                && time_left(j, Utc::now()).is_some()
            {
                q.add(key_of(&j.metadata));
            }
        }
    }));
    informers.jobs.wait_synced().await;
    run_workers(queue, WORKERS, move |key| {
        let client = client.clone();
        let informers = informers.clone();
        async move {
            match sync(&client, &informers, &key).await {
                Ok(again) => again,
                Err(e) => {
                    tracing::debug!(error = %e, job = %format!("{}/{}", key.0, key.1), "ttl-after-finished");
                    Some(crate::controllers::RETRY)
                }
            }
        }
    })
    .await;
}

async fn sync(
    client: &kube::Client,
    informers: &Informers,
    (ns, name): &Key,
) -> Result<Option<Duration>, kube::Error> {
    let Some(job) = informers.jobs.cache().get(ns, name) else {
        return Ok(None);
    };
    match time_left(&job, Utc::now()) {
        None => return Ok(None),
        Some(left) if !left.is_zero() => return Ok(Some(left)),
        Some(_) => {}
    }
    // The cached Job may be stale: check the TTL against a fresh read, as
    // upstream does before deleting.
    let api: Api<Job> = Api::namespaced(client.clone(), ns);
    let Some(fresh) = api.get_opt(name).await? else {
        return Ok(None);
    };
    match time_left(&fresh, Utc::now()) {
        None => return Ok(None),
        Some(left) if !left.is_zero() => return Ok(Some(left)),
        Some(_) => {}
    }
    let dp = DeleteParams {
        propagation_policy: Some(PropagationPolicy::Foreground),
        preconditions: Some(Preconditions {
            uid: fresh.metadata.uid.clone(),
            resource_version: None,
        }),
        ..Default::default()
    };
    match api.delete(name, &dp).await {
        Ok(_) => Ok(None),
        Err(kube::Error::Api(s)) if s.code == 404 || s.code == 409 => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::json;

    fn job(ttl: Option<i32>, cond: Option<(&str, &str)>) -> Job {
        let conditions: Vec<_> = cond
            .into_iter()
            .map(|(t, s)| json!({"type": t, "status": s, "lastTransitionTime": "2026-01-01T00:00:00Z"}))
            .collect();
        serde_json::from_value(json!({
            "metadata": {"name": "j", "namespace": "ns"},
            "spec": {"ttlSecondsAfterFinished": ttl, "template": {}},
            "status": {"conditions": conditions},
        }))
        .expect("a job")
    }

    // ttlafterfinished_controller_test.go: TestTimeLeft.
    #[test]
    fn time_left_counts_from_the_finish_condition() {
        let t0 = Utc
            .with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
            .single()
            .expect("t");
        let j = job(Some(10), Some(("Complete", "True")));
        assert_eq!(
            time_left(&j, t0 + chrono::Duration::seconds(4)),
            Some(Duration::from_secs(6))
        );
        assert_eq!(
            time_left(&j, t0 + chrono::Duration::seconds(11)),
            Some(Duration::ZERO)
        );
        assert_eq!(
            time_left(&job(Some(0), Some(("Failed", "True"))), t0),
            Some(Duration::ZERO)
        );
        // Not finished, no TTL, or only SuccessCriteriaMet: nothing to do.
        assert_eq!(time_left(&job(Some(10), None), t0), None);
        assert_eq!(time_left(&job(None, Some(("Complete", "True"))), t0), None);
        assert_eq!(
            time_left(&job(Some(10), Some(("SuccessCriteriaMet", "True"))), t0),
            None
        );
        assert_eq!(
            time_left(&job(Some(10), Some(("Complete", "False"))), t0),
            None
        );
    }
}
