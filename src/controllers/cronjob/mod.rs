//! The CronJob controller's I/O loop. Upstream:
//! `pkg/controller/cronjob/cronjob_controllerv2.go` (`syncCronJob`).
//!
//! Each sync reconciles `status.active` with the Jobs the CronJob controls,
//! records `lastSuccessfulTime`, creates the Job of the most recent
//! activation if it is due (honouring `suspend`, `startingDeadlineSeconds`
//! and `concurrencyPolicy`), removes finished Jobs beyond the history
//! limits, and queues the CronJob again for its next activation.

pub mod logic;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use k8s_openapi::api::batch::v1::{CronJob, CronJobStatus, Job};
use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kube::api::{Api, DeleteParams, PostParams, PropagationPolicy};
use kube::{Resource, ResourceExt};

use crate::controllers::nodesim::logic::{from_time, to_time};
use crate::controllers::replicaset::logic::controller_ref;
use crate::controllers::shared::AbortOnDrop;
use crate::controllers::shared::events::{Kind as EventType, Recorder};
use crate::controllers::shared::informer::{Change, Informers, Key, key_of};
use crate::controllers::shared::workqueue::{Queue, run_workers};

/// Upstream's `ConcurrentCronJobSyncs` default.
const WORKERS: usize = 5;

struct Ctx {
    client: kube::Client,
    recorder: Recorder,
    informers: Arc<Informers>,
}

pub async fn run(client: kube::Client, informers: Arc<Informers>) {
    let queue: Arc<Queue<Key>> = Queue::new();
    let ctx = Arc::new(Ctx {
        recorder: Recorder::new(client.clone(), "cronjob-controller"),
        client,
        informers: informers.clone(),
    });
    let mut cj_changes = informers.cron_jobs.subscribe();
    let mut job_changes = informers.jobs.subscribe();
    let q = queue.clone();
    let _cj = AbortOnDrop(tokio::spawn(async move {
        while let Some(change) = cj_changes.recv().await {
            if let Change::Added(c) | Change::Updated { new: c, .. } = change.as_ref() {
                q.add(key_of(&c.metadata));
            }
        }
    }));
    let q = queue.clone();
    let _jobs = AbortOnDrop(tokio::spawn(async move {
        while let Some(change) = job_changes.recv().await {
            let (old, new) = change.old_new();
            for j in [old, new].into_iter().flatten() {
                if let Some(r) = controller_ref(&j.metadata)
                    && r.kind == "CronJob"
                {
                    q.add((
                        j.metadata.namespace.clone().unwrap_or_default(),
                        r.name.clone(),
                    ));
                }
            }
        }
    }));
    informers.cron_jobs.wait_synced().await;
    informers.jobs.wait_synced().await;
    run_workers(queue, WORKERS, move |key| {
        let ctx = ctx.clone();
        async move {
            match sync(&ctx, &key).await {
                Ok(again) => again,
                Err(e) => {
                    tracing::debug!(error = %e, cronjob = %format!("{}/{}", key.0, key.1), "syncing cronjob");
                    Some(crate::controllers::RETRY)
                }
            }
        }
    })
    .await;
}

async fn event(ctx: &Ctx, cj: &CronJob, kind: EventType, reason: &str, message: &str) {
    ctx.recorder
        .publish(&cj.object_ref(&()), kind, reason, message)
        .await;
}

fn job_ref(job: &Job) -> ObjectReference {
    ObjectReference {
        api_version: Some("batch/v1".into()),
        kind: Some("Job".into()),
        name: job.metadata.name.clone(),
        namespace: job.metadata.namespace.clone(),
        uid: job.metadata.uid.clone(),
        resource_version: job.metadata.resource_version.clone(),
        field_path: None,
    }
}

/// The Job for one activation (upstream `getJobFromTemplate2`).
fn job_for(cj: &CronJob, cron: &logic::Cron, scheduled: DateTime<Utc>) -> Job {
    let template = cj
        .spec
        .as_ref()
        .map(|s| s.job_template.clone())
        .unwrap_or_default();
    let tmeta = template.metadata.unwrap_or_default();
    let mut annotations = tmeta.annotations.unwrap_or_default();
    annotations.insert(
        logic::SCHEDULED_TIMESTAMP_ANNOTATION.into(),
        cron.format(scheduled),
    );
    Job {
        metadata: ObjectMeta {
            name: Some(logic::job_name(cj, scheduled)),
            namespace: cj.metadata.namespace.clone(),
            labels: tmeta.labels.filter(|l| !l.is_empty()),
            annotations: Some(annotations),
            owner_references: Some(vec![OwnerReference {
                api_version: "batch/v1".into(),
                kind: "CronJob".into(),
                name: cj.metadata.name.clone().unwrap_or_default(),
                uid: cj.metadata.uid.clone().unwrap_or_default(),
                controller: Some(true),
                block_owner_deletion: Some(true),
            }]),
            ..Default::default()
        },
        spec: template.spec,
        status: None,
    }
}

/// Upstream `syncCronJob`.
async fn sync(ctx: &Ctx, (ns, name): &Key) -> Result<Option<Duration>, kube::Error> {
    let Some(cj) = ctx.informers.cron_jobs.cache().get(ns, name) else {
        return Ok(None);
    };
    let cj_api: Api<CronJob> = Api::namespaced(ctx.client.clone(), ns);
    let job_api: Api<Job> = Api::namespaced(ctx.client.clone(), ns);
    let uid = cj.metadata.uid.clone().unwrap_or_default();
    let jobs: Vec<Arc<Job>> = ctx.informers.jobs.cache().controlled_by(&uid);
    let now = Utc::now();
    let old_status = cj.status.clone().unwrap_or_default();
    let mut status = old_status.clone();

    // Reconcile the active list with the Jobs that exist.
    let mut active: Vec<ObjectReference> = status.active.clone().unwrap_or_default();
    for j in &jobs {
        let listed = active.iter().any(|r| r.uid == j.metadata.uid);
        match logic::finished_condition(j) {
            None if !listed => {
                // Upstream lists an unfinished child it did not know of.
                active.push(job_ref(j));
            }
            Some(cond) if listed => {
                active.retain(|r| r.uid != j.metadata.uid);
                event(
                    ctx,
                    &cj,
                    EventType::Normal,
                    "SawCompletedJob",
                    &format!("Saw completed job: {}, condition: {cond}", j.name_any()),
                )
                .await;
            }
            _ => {}
        }
        if logic::finished_condition(j) == Some("Complete")
            && let Some(done) = j.status.as_ref().and_then(|s| s.completion_time.as_ref())
        {
            let newer = status
                .last_successful_time
                .as_ref()
                .and_then(from_time)
                .is_none_or(|t| from_time(done).is_some_and(|d| d > t));
            if newer {
                status.last_successful_time = Some(done.clone());
            }
        }
    }
    // Children the cache no longer has are gone.
    active.retain(|r| jobs.iter().any(|j| j.metadata.uid == r.uid));
    status.active = (!active.is_empty()).then_some(active);

    let mut requeue = None;
    if cj.metadata.deletion_timestamp.is_none() {
        requeue = schedule(ctx, &cj, &job_api, &mut status, &jobs, now).await?;
    }
    if status != old_status {
        let mut updated = (*cj).clone();
        updated.status = Some(status);
        match cj_api
            .replace_status(name, &PostParams::default(), &updated)
            .await
        {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 409 || s.code == 404 => {
                return Ok(Some(Duration::from_millis(100)));
            }
            Err(e) => return Err(e),
        }
    }

    // History limits.
    let refs: Vec<&Job> = jobs.iter().map(|j| j.as_ref()).collect();
    for j in logic::jobs_to_clean_up(&cj, &refs) {
        let dp = DeleteParams {
            propagation_policy: Some(PropagationPolicy::Background),
            ..Default::default()
        };
        match job_api.delete(&j.name_any(), &dp).await {
            Ok(_) => {
                event(
                    ctx,
                    &cj,
                    EventType::Normal,
                    "SuccessfulDelete",
                    &format!("Deleted job {}", j.name_any()),
                )
                .await
            }
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(e) => {
                event(
                    ctx,
                    &cj,
                    EventType::Warning,
                    "FailedDelete",
                    &format!("Deleted job: {e}"),
                )
                .await
            }
        }
    }
    Ok(requeue)
}

/// The scheduling part of `syncCronJob`: returns when to look again.
async fn schedule(
    ctx: &Ctx,
    cj: &CronJob,
    job_api: &Api<Job>,
    status: &mut CronJobStatus,
    jobs: &[Arc<Job>],
    now: DateTime<Utc>,
) -> Result<Option<Duration>, kube::Error> {
    let cron = match logic::cron_of(cj) {
        Ok(c) => c,
        Err((reason, message)) => {
            event(ctx, cj, EventType::Warning, reason, &message).await;
            return Ok(None);
        }
    };
    let until_next = |after: DateTime<Utc>| {
        cron.next(after)
            .map(|n| (n - now).to_std().unwrap_or(Duration::ZERO) + Duration::from_millis(100))
    };
    let spec = cj.spec.as_ref();
    if spec.and_then(|s| s.suspend) == Some(true) {
        return Ok(None);
    }
    let (scheduled, missed) = logic::most_recent_schedule(cj, &cron, now);
    if missed > 100 {
        event(
            ctx,
            cj,
            EventType::Warning,
            "TooManyMissedTimes",
            "too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew",
        )
        .await;
    }
    let Some(scheduled) = scheduled else {
        return Ok(until_next(now));
    };
    if let Some(deadline) = spec.and_then(|s| s.starting_deadline_seconds)
        && scheduled < now - chrono::Duration::seconds(deadline)
    {
        event(
            ctx,
            cj,
            EventType::Warning,
            "MissSchedule",
            &format!(
                "Missed scheduled time to start a job: {}",
                cron.format(scheduled)
            ),
        )
        .await;
        return Ok(until_next(now));
    }
    let name = logic::job_name(cj, scheduled);
    let already = jobs
        .iter()
        .any(|j| j.metadata.name.as_deref() == Some(name.as_str()))
        || status
            .last_schedule_time
            .as_ref()
            .and_then(from_time)
            .is_some_and(|t| t >= scheduled);
    if already {
        return Ok(until_next(now));
    }
    let active_now = status.active.as_ref().map_or(0, Vec::len);
    match spec.and_then(|s| s.concurrency_policy.as_deref()) {
        Some("Forbid") if active_now > 0 => {
            event(
                ctx,
                cj,
                EventType::Normal,
                "JobAlreadyActive",
                "Not starting job because prior execution is running and concurrency policy is Forbid",
            )
            .await;
            return Ok(until_next(now));
        }
        Some("Replace") => {
            for r in status.active.clone().unwrap_or_default() {
                let Some(job_name) = r.name.as_deref() else {
                    continue;
                };
                let dp = DeleteParams {
                    propagation_policy: Some(PropagationPolicy::Background),
                    ..Default::default()
                };
                match job_api.delete(job_name, &dp).await {
                    Ok(_) | Err(kube::Error::Api(_)) => {
                        event(
                            ctx,
                            cj,
                            EventType::Normal,
                            "SuccessfulDelete",
                            &format!("Deleted job {job_name}"),
                        )
                        .await;
                    }
                    Err(e) => return Err(e),
                }
            }
            status.active = None;
        }
        _ => {}
    }
    let job = job_for(cj, &cron, scheduled);
    match job_api.create(&PostParams::default(), &job).await {
        Ok(created) => {
            event(
                ctx,
                cj,
                EventType::Normal,
                "SuccessfulCreate",
                &format!("Created job {}", created.name_any()),
            )
            .await;
            status
                .active
                .get_or_insert_with(Vec::new)
                .push(job_ref(&created));
        }
        Err(kube::Error::Api(s)) if s.code == 409 => {
            // Created by an earlier sync whose status write was lost.
        }
        Err(kube::Error::Api(s)) => {
            event(
                ctx,
                cj,
                EventType::Warning,
                "FailedCreate",
                &format!("Error creating job: {}", s.message),
            )
            .await;
            return Ok(Some(crate::controllers::RETRY));
        }
        Err(e) => return Err(e),
    }
    status.last_schedule_time = Some(to_time(scheduled));
    Ok(until_next(now))
}
