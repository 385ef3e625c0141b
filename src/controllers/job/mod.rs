//! The Job controller's I/O loop. Upstream: `pkg/controller/job/job_controller.go`.
//!
//! Decisions are pure (`logic.rs`, with `indexed.rs` and
//! `pod_failure_policy.rs`); this file reads the shared informers, applies a
//! sync's three phases in upstream's order (pod deletes and creates; the
//! status with newly finished pods' UIDs in `uncountedTerminatedPods`; the
//! tracking finalizers removed; the counters and, once nothing is uncounted
//! or terminating, the terminal condition) and records events.
//!
//! Expectations, as upstream's: creates and deletes of a sync must show in
//! the pod cache before the next sync creates or deletes again, and a UID
//! whose finalizer removal is not yet in the cache is not counted twice.

pub mod indexed;
pub mod logic;
pub mod pod_failure_policy;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use k8s_openapi::api::batch::v1::{Job, JobStatus};
use k8s_openapi::api::core::v1::{EnvVar, EnvVarSource, ObjectFieldSelector};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams, Preconditions};
use kube::{Resource, ResourceExt};
use serde_json::json;

use crate::controllers::replicaset::logic as rs_logic;
use crate::controllers::shared::AbortOnDrop;
use crate::controllers::shared::cached_pod::Pod;
use crate::controllers::shared::events::{Kind as EventType, Recorder};
use crate::controllers::shared::expectations::Expectations;
use crate::controllers::shared::informer::{Change, Informers, Key, key_of};
use crate::controllers::shared::workqueue::{Queue, run_workers};

/// Upstream's `ConcurrentJobSyncs` default.
const WORKERS: usize = 5;
const RESYNC: Duration = Duration::from_secs(30);

struct Ctx {
    client: kube::Client,
    recorder: Recorder,
    informers: Arc<Informers>,
    expectations: Mutex<Expectations>,
    /// Job key → UIDs whose finalizer removal the cache has not shown.
    finalizer_removals: Mutex<HashMap<String, HashSet<String>>>,
    queue: Arc<Queue<Key>>,
}

impl Ctx {
    fn expectations(&self) -> std::sync::MutexGuard<'_, Expectations> {
        self.expectations.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn removals(&self) -> std::sync::MutexGuard<'_, HashMap<String, HashSet<String>>> {
        self.finalizer_removals
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }
}

fn key_string((ns, name): &Key) -> String {
    format!("{ns}/{name}")
}

fn pod_key(pod: &Pod) -> String {
    key_string(&key_of(&pod.metadata))
}

pub async fn run(client: kube::Client, informers: Arc<Informers>) {
    let queue: Arc<Queue<Key>> = Queue::new();
    let ctx = Arc::new(Ctx {
        recorder: Recorder::new(client.clone(), "job-controller"),
        client,
        informers: informers.clone(),
        expectations: Mutex::new(Expectations::new()),
        finalizer_removals: Mutex::new(HashMap::new()),
        queue: queue.clone(),
    });
    let mut job_changes = informers.jobs.subscribe();
    let mut pod_changes = informers.pods.subscribe();
    let c = ctx.clone();
    let _jobs = AbortOnDrop(tokio::spawn(async move {
        while let Some(change) = job_changes.recv().await {
            match change.as_ref() {
                Change::Added(j) | Change::Updated { new: j, .. } => {
                    c.queue.add(key_of(&j.metadata))
                }
                Change::Deleted(j) => {
                    let key = key_of(&j.metadata);
                    c.expectations().delete(&key_string(&key));
                    c.removals().remove(&key_string(&key));
                }
            }
        }
    }));
    let c = ctx.clone();
    let _pods = AbortOnDrop(tokio::spawn(async move {
        while let Some(change) = pod_changes.recv().await {
            match change.as_ref() {
                Change::Added(p) => pod_seen(&c, p, true, false),
                Change::Updated { old, new } => {
                    if old.metadata.resource_version != new.metadata.resource_version {
                        let newly_deleting = old.metadata.deletion_timestamp.is_none()
                            && new.metadata.deletion_timestamp.is_some();
                        pod_seen(&c, new, false, newly_deleting);
                    }
                }
                Change::Deleted(p) => pod_seen(&c, p, false, true),
            }
        }
    }));
    let c = ctx.clone();
    let _resync = AbortOnDrop(tokio::spawn(async move {
        loop {
            tokio::time::sleep(RESYNC).await;
            for j in c.informers.jobs.cache().list() {
                if !logic::is_finished(&j) {
                    c.queue.add(key_of(&j.metadata));
                }
            }
        }
    }));
    informers.pods.wait_synced().await;
    informers.jobs.wait_synced().await;
    run_workers(queue, WORKERS, move |key| {
        let ctx = ctx.clone();
        async move {
            match sync(&ctx, &key).await {
                Ok(again) => again,
                Err(e) => {
                    tracing::debug!(error = %e, job = %key_string(&key), "syncing job");
                    Some(crate::controllers::RETRY)
                }
            }
        }
    })
    .await;
}

/// The Job controlling `pod`, if it is one the cache knows.
fn owner(ctx: &Ctx, pod: &Pod) -> Option<Key> {
    let r = rs_logic::controller_ref(&pod.metadata)?;
    if r.kind != "Job" || !r.api_version.starts_with("batch/") {
        return None;
    }
    let ns = pod.metadata.namespace.clone().unwrap_or_default();
    let job = ctx.informers.jobs.cache().get(&ns, &r.name)?;
    (job.metadata.uid.as_deref() == Some(r.uid.as_str())).then(|| (ns, r.name.clone()))
}

/// Upstream `addPod` / `updatePod` / `deletePod`: observe expectations and
/// queue the owning Job.
fn pod_seen(ctx: &Ctx, pod: &Pod, added: bool, deleted: bool) {
    let Some(key) = owner(ctx, pod) else { return };
    let k = key_string(&key);
    if added && pod.metadata.deletion_timestamp.is_none() {
        ctx.expectations().creation_observed(&k);
    }
    if deleted || (added && pod.metadata.deletion_timestamp.is_some()) {
        ctx.expectations().deletion_observed(&k, &pod_key(pod));
    }
    let has_finalizer = pod
        .metadata
        .finalizers
        .as_ref()
        .is_some_and(|f| f.iter().any(|x| x == logic::TRACKING_FINALIZER));
    if (!has_finalizer || deleted)
        && let Some(uid) = pod.metadata.uid.as_deref()
        && let Some(set) = ctx.removals().get_mut(&k)
    {
        set.remove(uid);
    }
    ctx.queue.add(key);
}

fn controller_ref(job: &Job) -> OwnerReference {
    OwnerReference {
        api_version: "batch/v1".into(),
        kind: "Job".into(),
        name: job.metadata.name.clone().unwrap_or_default(),
        uid: job.metadata.uid.clone().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

/// The pod for one completion (upstream `GetPodFromTemplate` plus the Job
/// controller's index annotation, label, hostname, env and finalizer).
fn pod_for(job: &Job, pods: &[&Pod], index: Option<usize>) -> k8s_openapi::api::core::v1::Pod {
    let name = job.metadata.name.clone().unwrap_or_default();
    let template = job
        .spec
        .as_ref()
        .map(|s| s.template.clone())
        .unwrap_or_default();
    let tmeta = template.metadata.unwrap_or_default();
    let non_empty =
        |m: Option<std::collections::BTreeMap<String, String>>| m.filter(|m| !m.is_empty());
    let mut labels = non_empty(tmeta.labels);
    let mut annotations = non_empty(tmeta.annotations);
    let mut finalizers = tmeta.finalizers.unwrap_or_default();
    if !finalizers.iter().any(|f| f == logic::TRACKING_FINALIZER) {
        finalizers.push(logic::TRACKING_FINALIZER.to_string());
    }
    let mut spec = template.spec.unwrap_or_default();
    let mut generate_name = format!("{name}-");
    if let Some(i) = index {
        let value = i.to_string();
        annotations
            .get_or_insert_with(Default::default)
            .insert(indexed::COMPLETION_INDEX_ANNOTATION.into(), value.clone());
        labels
            .get_or_insert_with(Default::default)
            .insert(indexed::COMPLETION_INDEX_ANNOTATION.into(), value);
        if job
            .spec
            .as_ref()
            .and_then(|s| s.backoff_limit_per_index)
            .is_some()
        {
            annotations.get_or_insert_with(Default::default).insert(
                logic::INDEX_FAILURE_COUNT_ANNOTATION.into(),
                logic::next_index_failure_count(job, pods, i).to_string(),
            );
        }
        spec.hostname = Some(format!("{name}-{i}"));
        generate_name = format!("{name}-{i}-");
        let env = EnvVar {
            name: indexed::COMPLETION_INDEX_ENV.into(),
            value: None,
            value_from: Some(EnvVarSource {
                field_ref: Some(ObjectFieldSelector {
                    api_version: None,
                    field_path: format!(
                        "metadata.annotations['{}']",
                        indexed::COMPLETION_INDEX_ANNOTATION
                    ),
                }),
                ..Default::default()
            }),
        };
        let add = |c: &mut k8s_openapi::api::core::v1::Container| {
            let list = c.env.get_or_insert_with(Vec::new);
            if !list.iter().any(|e| e.name == indexed::COMPLETION_INDEX_ENV) {
                list.push(env.clone());
            }
        };
        spec.containers.iter_mut().for_each(add);
        spec.init_containers.iter_mut().flatten().for_each(add);
    }
    k8s_openapi::api::core::v1::Pod {
        metadata: ObjectMeta {
            generate_name: Some(generate_name),
            namespace: job.metadata.namespace.clone(),
            labels,
            annotations,
            finalizers: Some(finalizers),
            owner_references: Some(vec![controller_ref(job)]),
            ..Default::default()
        },
        spec: Some(spec),
        status: None,
    }
}

async fn record(ctx: &Ctx, job: &Job, ev: &logic::Event) {
    let kind = if ev.warning {
        EventType::Warning
    } else {
        EventType::Normal
    };
    ctx.recorder
        .publish(&job.object_ref(&()), kind, &ev.reason, &ev.message)
        .await;
}

/// Writes the Job's status; a conflict means the cache was behind.
async fn write_status(api: &Api<Job>, job: &Job, status: JobStatus) -> Result<Job, kube::Error> {
    let mut j = job.clone();
    j.status = Some(status);
    api.replace_status(&job.name_any(), &PostParams::default(), &j)
        .await
}

fn removal_patch() -> serde_json::Value {
    json!({"metadata": {"$deleteFromPrimitiveList/finalizers": [logic::TRACKING_FINALIZER]}})
}

/// Upstream `syncJob`.
async fn sync(ctx: &Ctx, key: &Key) -> Result<Option<Duration>, kube::Error> {
    let (ns, name) = key;
    let exp_key = key_string(key);
    let Some(job) = ctx.informers.jobs.cache().get(ns, name) else {
        ctx.expectations().delete(&exp_key);
        ctx.removals().remove(&exp_key);
        return Ok(None);
    };
    if logic::is_finished(&job) {
        return Ok(None);
    }
    // Managed by another controller (`spec.managedBy`).
    if job
        .spec
        .as_ref()
        .and_then(|s| s.managed_by.as_deref())
        .is_some_and(|m| m != "kubernetes.io/job-controller")
    {
        return Ok(None);
    }
    let mode = job.spec.as_ref().and_then(|s| s.completion_mode.as_deref());
    if mode.is_some_and(|m| m != "NonIndexed" && m != "Indexed") {
        let ev = logic::Event {
            warning: true,
            reason: "UnknownCompletionMode".into(),
            message: "Skipped Job sync because completion mode is unknown".into(),
        };
        record(ctx, &job, &ev).await;
        return Ok(None);
    }
    // Read before the pods: a pod observed after this point is in the cache.
    let satisfied = ctx.expectations().satisfied(&exp_key, Instant::now());
    let uid = job.metadata.uid.clone().unwrap_or_default();
    let owned = ctx.informers.pods.cache().controlled_by(&uid);
    let pods: Vec<&Pod> = owned.iter().map(|p| p.as_ref()).collect();
    let expected_removals = ctx.removals().get(&exp_key).cloned().unwrap_or_default();
    let obs = logic::Observed {
        job: &job,
        pods: &pods,
        satisfied,
        expected_removals: &expected_removals,
    };
    let now = Utc::now();
    let decision = logic::decide(&obs, now);
    let jobs_api: Api<Job> = Api::namespaced(ctx.client.clone(), ns);
    let pods_api: Api<Pod> = Api::namespaced(ctx.client.clone(), ns);
    let mut error: Option<kube::Error> = None;

    // Phase 1: deletes, creates.
    let mut active = decision.active;
    let mut ready = decision.ready;
    let mut terminating = decision.terminating;
    let mut finished = decision.finished.clone();
    if !decision.deletes.is_empty() {
        if decision.deletes_remove_finalizer {
            let keys: Vec<String> = decision
                .deletes
                .iter()
                .map(|p| format!("{ns}/{}", p.name))
                .collect();
            ctx.expectations()
                .expect_deletions(&exp_key, &keys, Instant::now());
        }
        let results = futures::future::join_all(decision.deletes.iter().map(|p| {
            let pods_api = &pods_api;
            let remove_first = decision.deletes_remove_finalizer;
            async move {
                if remove_first {
                    let r = pods_api
                        .patch(
                            &p.name,
                            &PatchParams::default(),
                            &Patch::Strategic(removal_patch()),
                        )
                        .await;
                    if let Err(e) = r {
                        return (p, Err(e));
                    }
                }
                let dp = DeleteParams {
                    preconditions: Some(Preconditions {
                        uid: Some(p.uid.clone()),
                        resource_version: None,
                    }),
                    ..Default::default()
                };
                (p, pods_api.delete(&p.name, &dp).await.map(|_| ()))
            }
        }))
        .await;
        let mut deleted = 0;
        for (p, r) in results {
            match r {
                Ok(()) => {
                    deleted += 1;
                    if p.ready {
                        ready -= 1;
                    }
                }
                Err(kube::Error::Api(s)) if s.code == 404 => {
                    if decision.deletes_remove_finalizer {
                        ctx.expectations()
                            .deletion_observed(&exp_key, &format!("{ns}/{}", p.name));
                    }
                    deleted += 1;
                }
                Err(e) => {
                    if decision.deletes_remove_finalizer {
                        ctx.expectations()
                            .deletion_observed(&exp_key, &format!("{ns}/{}", p.name));
                    }
                    error = Some(e);
                }
            }
        }
        active -= deleted;
        terminating += deleted;
        if finished.is_some() && (deleted as usize != decision.deletes.len() || !satisfied) {
            // Not finished until every pod is gone from the cache's view.
            finished = None;
        }
    } else if finished.is_some() && !satisfied {
        finished = None;
    }
    if !decision.creates.is_empty() {
        let creates = decision.creates.len();
        ctx.expectations()
            .expect_creations(&exp_key, creates, Instant::now());
        let create_api: Api<k8s_openapi::api::core::v1::Pod> =
            Api::namespaced(ctx.client.clone(), ns);
        let pp = PostParams::default();
        let mut attempted = 0usize;
        let mut created = 0usize;
        for batch in rs_logic::slow_start_batches(creates, rs_logic::SLOW_START_INITIAL_BATCH_SIZE)
        {
            let chunk = &decision.creates[attempted..(attempted + batch).min(creates)];
            attempted += chunk.len();
            let templates: Vec<_> = chunk.iter().map(|i| pod_for(&job, &pods, *i)).collect();
            let results =
                futures::future::join_all(templates.iter().map(|t| create_api.create(&pp, t)))
                    .await;
            let mut failed = false;
            for r in results {
                match r {
                    Ok(p) => {
                        created += 1;
                        let ev = logic::Event {
                            warning: false,
                            reason: rs_logic::SUCCESSFUL_CREATE_POD_REASON.into(),
                            message: rs_logic::created_pod_event_message(&p.name_any()),
                        };
                        record(ctx, &job, &ev).await;
                    }
                    Err(e) => {
                        let terminating_ns = matches!(&e, kube::Error::Api(s)
                            if s.message.contains("because it is being terminated"));
                        if !terminating_ns {
                            let ev = logic::Event {
                                warning: true,
                                reason: rs_logic::FAILED_CREATE_POD_REASON.into(),
                                message: rs_logic::error_creating_event_message(&e.to_string()),
                            };
                            record(ctx, &job, &ev).await;
                            error = Some(e);
                        }
                        failed = true;
                    }
                }
            }
            if failed {
                break;
            }
        }
        let mut exp = ctx.expectations();
        for _ in created..creates {
            exp.creation_observed(&exp_key);
        }
        drop(exp);
        active += created as i32;
    }
    for ev in &decision.events {
        record(ctx, &job, ev).await;
    }

    // Phase 2: the uncounted pods and interim condition, then finalizers.
    let tracking = logic::track(&obs, &decision, finished, active, ready, terminating, now);
    let mut current = (*job).clone();
    if let Some(status) = tracking.flush.clone() {
        match write_status(&jobs_api, &current, status).await {
            Ok(j) => current = j,
            Err(kube::Error::Api(s)) if s.code == 409 || s.code == 404 => {
                return Ok(Some(Duration::from_millis(100)));
            }
            Err(e) => return Err(e),
        }
    }
    let mut removed: Vec<String> = Vec::new();
    if !tracking.remove_finalizers.is_empty() {
        ctx.removals()
            .entry(exp_key.clone())
            .or_default()
            .extend(tracking.remove_finalizers.iter().map(|p| p.uid.clone()));
        let results = futures::future::join_all(tracking.remove_finalizers.iter().map(|p| {
            let pods_api = &pods_api;
            async move {
                let r = pods_api
                    .patch(
                        &p.name,
                        &PatchParams::default(),
                        &Patch::Strategic(removal_patch()),
                    )
                    .await;
                (p, r)
            }
        }))
        .await;
        for (p, r) in results {
            match r {
                Ok(_) => removed.push(p.uid.clone()),
                Err(kube::Error::Api(s)) if s.code == 404 => removed.push(p.uid.clone()),
                Err(e) => {
                    if let Some(set) = ctx.removals().get_mut(&exp_key) {
                        set.remove(&p.uid);
                    }
                    error = Some(e);
                }
            }
        }
    }

    // Phase 3: count, and finish.
    let (status, finished_now) = logic::after_removal(tracking, &removed, terminating, now);
    if let Some(status) = status {
        match write_status(&jobs_api, &current, status.clone()).await {
            Ok(_) => {
                if let Some(cond) = finished_now {
                    for ev in logic::finished_events(&job, &status, &cond) {
                        record(ctx, &job, &ev).await;
                    }
                }
            }
            Err(kube::Error::Api(s)) if s.code == 409 || s.code == 404 => {
                return Ok(Some(Duration::from_millis(100)));
            }
            Err(e) => return Err(e),
        }
    }
    if let Some(e) = error {
        return Err(e);
    }
    Ok(decision
        .requeue_after
        .map(|d| d + Duration::from_millis(100)))
}
