//! The ReplicaSet controller's I/O loop (decisions in `logic.rs`,
//! expectations in `shared/expectations.rs`), which also runs for ReplicationControllers.
//! Upstream: `pkg/controller/replicaset/replica_set.go`.
//!
//! Reads come from the shared informer caches (`informer.rs`): the
//! ReplicaSet, its pods (by controller uid) and the namespace's orphans, so a
//! sync costs no API request unless it writes. Pod notifications are handled
//! as upstream's `addPod`/`updatePod`/`deletePod`: they lower the owner's
//! expectations and queue the owner (or, for an orphan, every ReplicaSet
//! that selects it).
//!
//! Because the cache lags the API, a sync creates or deletes pods only when
//! the owner's expectations are satisfied, i.e. the cache has shown every
//! create and delete of the previous sync (or they expired after five
//! minutes); otherwise it only updates status. Creates go in slow-start
//! batches (1, 2, 4, …) of at most `BURST_REPLICAS` per sync. Writes (pods,
//! adoption patches, status) are API requests; a status write made against
//! a stale cached ReplicaSet gets a conflict and the key is queued again.
//! Keys are processed by a few workers from a work queue that never hands
//! one key to two workers at once.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::{ObjectReference, ReplicationController};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams, Preconditions};
use kube::{Resource, ResourceExt};

use crate::controllers::shared::AbortOnDrop;
use crate::controllers::shared::cached_pod::Pod;
use crate::controllers::shared::events::{Kind as EventType, Recorder};
use crate::controllers::shared::expectations::Expectations;
use crate::controllers::shared::informer::{Change, Informers, Key, key_of};
pub mod logic;
use crate::controllers::shared::workqueue::{Queue, run_workers};

const RESYNC: Duration = Duration::from_secs(30);
/// Upstream's `ConcurrentRSSyncs` default.
const WORKERS: usize = 5;

/// Which kind the controller runs for. Upstream runs the ReplicationController
/// manager as the ReplicaSet controller behind conversion adapters
/// (`pkg/controller/replication/conversion.go`); so does ironkube: an RC is
/// read as the equivalent ReplicaSet (its selector map as `matchLabels`),
/// and only owner references, events and status writes name the RC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    ReplicaSet,
    ReplicationController,
}

/// A ReplicationController read as a ReplicaSet.
pub fn rc_as_rs(rc: &ReplicationController) -> ReplicaSet {
    let spec = rc.spec.as_ref();
    ReplicaSet {
        metadata: rc.metadata.clone(),
        spec: Some(k8s_openapi::api::apps::v1::ReplicaSetSpec {
            replicas: spec.and_then(|s| s.replicas),
            min_ready_seconds: spec.and_then(|s| s.min_ready_seconds),
            selector: k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector {
                match_labels: spec.and_then(|s| s.selector.clone()),
                match_expressions: None,
            },
            template: spec.and_then(|s| s.template.clone()),
        }),
        status: rc
            .status
            .as_ref()
            .and_then(|s| serde_json::to_value(s).ok())
            .and_then(|v| serde_json::from_value(v).ok()),
    }
}

struct Ctx {
    flavor: Flavor,
    client: kube::Client,
    recorder: Recorder,
    informers: Arc<Informers>,
    expectations: Mutex<Expectations>,
    queue: Arc<Queue<Key>>,
}

impl Ctx {
    fn get(&self, ns: &str, name: &str) -> Option<Arc<ReplicaSet>> {
        match self.flavor {
            Flavor::ReplicaSet => self.informers.replica_sets.cache().get(ns, name),
            Flavor::ReplicationController => self
                .informers
                .replication_controllers
                .cache()
                .get(ns, name)
                .map(|rc| Arc::new(rc_as_rs(&rc))),
        }
    }

    fn list_namespace(&self, ns: &str) -> Vec<Arc<ReplicaSet>> {
        match self.flavor {
            Flavor::ReplicaSet => self.informers.replica_sets.cache().list_namespace(ns),
            Flavor::ReplicationController => self
                .informers
                .replication_controllers
                .cache()
                .list_namespace(ns)
                .iter()
                .map(|rc| Arc::new(rc_as_rs(rc)))
                .collect(),
        }
    }

    fn keys(&self) -> Vec<Key> {
        match self.flavor {
            Flavor::ReplicaSet => self
                .informers
                .replica_sets
                .cache()
                .list()
                .iter()
                .map(|r| key_of(&r.metadata))
                .collect(),
            Flavor::ReplicationController => self
                .informers
                .replication_controllers
                .cache()
                .list()
                .iter()
                .map(|r| key_of(&r.metadata))
                .collect(),
        }
    }

    fn owner_ref(&self, rs: &ReplicaSet) -> OwnerReference {
        let mut r = logic::rs_controller_ref(rs);
        if self.flavor == Flavor::ReplicationController {
            r.api_version = "v1".into();
            r.kind = "ReplicationController".into();
        }
        r
    }

    fn object_ref(&self, rs: &ReplicaSet) -> ObjectReference {
        let mut r = rs.object_ref(&());
        if self.flavor == Flavor::ReplicationController {
            r.api_version = Some("v1".into());
            r.kind = Some("ReplicationController".into());
        }
        r
    }

    /// Writes the status through the kind's `/status`.
    async fn write_status(
        &self,
        rs: &ReplicaSet,
        status: &k8s_openapi::api::apps::v1::ReplicaSetStatus,
    ) -> Result<(), kube::Error> {
        let ns = rs.metadata.namespace.as_deref().unwrap_or_default();
        let name = rs.metadata.name.as_deref().unwrap_or_default();
        match self.flavor {
            Flavor::ReplicaSet => {
                let api: Api<ReplicaSet> = Api::namespaced(self.client.clone(), ns);
                let mut updated = rs.clone();
                updated.status = Some(status.clone());
                api.replace_status(name, &PostParams::default(), &updated)
                    .await
                    .map(|_| ())
            }
            Flavor::ReplicationController => {
                let Some(rc) = self.informers.replication_controllers.cache().get(ns, name) else {
                    return Ok(());
                };
                let api: Api<ReplicationController> = Api::namespaced(self.client.clone(), ns);
                let mut updated = (*rc).clone();
                updated.status = serde_json::to_value(status)
                    .ok()
                    .and_then(|v| serde_json::from_value(v).ok());
                api.replace_status(name, &PostParams::default(), &updated)
                    .await
                    .map(|_| ())
            }
        }
    }

    fn expectations(&self) -> std::sync::MutexGuard<'_, Expectations> {
        self.expectations.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn key_string((ns, name): &Key) -> String {
    format!("{ns}/{name}")
}

pub async fn run(client: kube::Client, informers: Arc<Informers>, flavor: Flavor) {
    let component = match flavor {
        Flavor::ReplicaSet => "replicaset-controller",
        Flavor::ReplicationController => "replication-controller",
    };
    let recorder = Recorder::new(client.clone(), component);
    let queue: Arc<Queue<Key>> = Queue::new();
    let ctx = Arc::new(Ctx {
        flavor,
        client,
        recorder,
        informers: informers.clone(),
        expectations: Mutex::new(Expectations::new()),
        queue: queue.clone(),
    });
    // (key, deleted) of each change of the controller's kind.
    let (owner_tx, mut owner_changes) = tokio::sync::mpsc::unbounded_channel::<(Key, bool)>();
    let _owner_feed = match flavor {
        Flavor::ReplicaSet => {
            let mut rx = informers.replica_sets.subscribe();
            AbortOnDrop(tokio::spawn(async move {
                while let Some(change) = rx.recv().await {
                    let (key, deleted) = match change.as_ref() {
                        Change::Added(o) | Change::Updated { new: o, .. } => {
                            (key_of(&o.metadata), false)
                        }
                        Change::Deleted(o) => (key_of(&o.metadata), true),
                    };
                    if owner_tx.send((key, deleted)).is_err() {
                        return;
                    }
                }
            }))
        }
        Flavor::ReplicationController => {
            let mut rx = informers.replication_controllers.subscribe();
            AbortOnDrop(tokio::spawn(async move {
                while let Some(change) = rx.recv().await {
                    let (key, deleted) = match change.as_ref() {
                        Change::Added(o) | Change::Updated { new: o, .. } => {
                            (key_of(&o.metadata), false)
                        }
                        Change::Deleted(o) => (key_of(&o.metadata), true),
                    };
                    if owner_tx.send((key, deleted)).is_err() {
                        return;
                    }
                }
            }))
        }
    };
    let mut pod_changes = informers.pods.subscribe();
    let c = ctx.clone();
    let _rs_handler = AbortOnDrop(tokio::spawn(async move {
        while let Some((key, deleted)) = owner_changes.recv().await {
            if deleted {
                c.expectations().delete(&key_string(&key));
            }
            c.queue.add(key);
        }
    }));
    let c = ctx.clone();
    let _pod_handler = AbortOnDrop(tokio::spawn(async move {
        while let Some(change) = pod_changes.recv().await {
            match change.as_ref() {
                Change::Added(p) => add_pod(&c, p),
                Change::Updated { old, new } => update_pod(&c, old, new),
                Change::Deleted(p) => delete_pod(&c, p),
            }
        }
    }));
    // Informer resync: look at every ReplicaSet now and then, which bounds
    // the effect of anything missed.
    let c = ctx.clone();
    let _resync = AbortOnDrop(tokio::spawn(async move {
        loop {
            tokio::time::sleep(RESYNC).await;
            for key in c.keys() {
                c.queue.add(key);
            }
        }
    }));
    informers.pods.wait_synced().await;
    match flavor {
        Flavor::ReplicaSet => informers.replica_sets.wait_synced().await,
        Flavor::ReplicationController => informers.replication_controllers.wait_synced().await,
    }
    run_workers(queue, WORKERS, move |key| {
        let ctx = ctx.clone();
        async move {
            match sync(&ctx, &key).await {
                Ok(again) => again,
                Err(e) => {
                    tracing::debug!(error = %e, rs = %key_string(&key), "replicaset controller retry");
                    Some(crate::controllers::RETRY)
                }
            }
        }
    })
    .await;
}

/// Upstream `resolveControllerRef`: the cached ReplicaSet a pod's controller
/// reference names, if it is one and the uid matches.
fn resolve_owner(ctx: &Ctx, pod: &Pod) -> Option<Key> {
    let r = logic::controller_ref(&pod.metadata)?;
    let ours = match ctx.flavor {
        Flavor::ReplicaSet => r.kind == "ReplicaSet" && r.api_version.starts_with("apps/"),
        Flavor::ReplicationController => r.kind == "ReplicationController" && r.api_version == "v1",
    };
    if !ours {
        return None;
    }
    let ns = pod.metadata.namespace.clone().unwrap_or_default();
    let rs = ctx.get(&ns, &r.name)?;
    (rs.metadata.uid.as_deref() == Some(r.uid.as_str())).then(|| (ns, r.name.clone()))
}

/// Queues every ReplicaSet of the pod's namespace that selects it (orphans).
fn enqueue_selecting(ctx: &Ctx, pod: &Pod) {
    let ns = pod.metadata.namespace.clone().unwrap_or_default();
    for rs in ctx.list_namespace(&ns) {
        if logic::rs_selects(&rs, pod) {
            ctx.queue.add(key_of(&rs.metadata));
        }
    }
}

fn pod_key(pod: &Pod) -> String {
    key_string(&key_of(&pod.metadata))
}

/// Upstream `addPod`.
fn add_pod(ctx: &Ctx, pod: &Pod) {
    if pod.metadata.deletion_timestamp.is_some() {
        // Seen for the first time already being deleted (e.g. after a relist).
        delete_pod(ctx, pod);
        return;
    }
    if logic::controller_ref(&pod.metadata).is_some() {
        if let Some(key) = resolve_owner(ctx, pod) {
            ctx.expectations().creation_observed(&key_string(&key));
            ctx.queue.add(key);
        }
        return;
    }
    enqueue_selecting(ctx, pod);
}

/// Upstream `updatePod`.
fn update_pod(ctx: &Ctx, old: &Pod, cur: &Pod) {
    if old.metadata.resource_version == cur.metadata.resource_version {
        return;
    }
    let labels_changed = old.metadata.labels != cur.metadata.labels;
    if cur.metadata.deletion_timestamp.is_some() {
        // A graceful deletion counts as observed now, as upstream.
        delete_pod(ctx, cur);
        if labels_changed {
            delete_pod(ctx, old);
        }
        return;
    }
    let old_ref = logic::controller_ref(&old.metadata);
    let cur_ref = logic::controller_ref(&cur.metadata);
    let ref_changed = old_ref != cur_ref;
    if ref_changed
        && old_ref.is_some()
        && let Some(key) = resolve_owner(ctx, old)
    {
        ctx.queue.add(key);
    }
    if cur_ref.is_some() {
        if let Some(key) = resolve_owner(ctx, cur) {
            let min_ready = ctx
                .get(&key.0, &key.1)
                .and_then(|rs| rs.spec.as_ref().and_then(|s| s.min_ready_seconds))
                .unwrap_or(0);
            if min_ready > 0 && !logic::is_pod_ready(old) && logic::is_pod_ready(cur) {
                // Available only minReadySeconds later: look again then.
                ctx.queue.add_after(
                    key.clone(),
                    Duration::from_secs(u64::from(min_ready.unsigned_abs()))
                        + Duration::from_secs(1),
                );
            }
            ctx.queue.add(key);
        }
        return;
    }
    if labels_changed || ref_changed {
        enqueue_selecting(ctx, cur);
    }
}

/// Upstream `deletePod`.
fn delete_pod(ctx: &Ctx, pod: &Pod) {
    if let Some(key) = resolve_owner(ctx, pod) {
        ctx.expectations()
            .deletion_observed(&key_string(&key), &pod_key(pod));
        ctx.queue.add(key);
    }
}

async fn event(ctx: &Ctx, rs: &ReplicaSet, type_: EventType, reason: &str, note: String) {
    ctx.recorder
        .publish(&ctx.object_ref(rs), type_, reason, &note)
        .await;
}

/// Upstream `syncReplicaSet`; the result asks for the key again after a delay.
async fn sync(ctx: &Ctx, key: &Key) -> Result<Option<Duration>, kube::Error> {
    let (ns, name) = key;
    let exp_key = key_string(key);
    let Some(rs) = ctx.get(ns, name) else {
        ctx.expectations().delete(&exp_key);
        return Ok(None);
    };
    // Read before the pods: an add observed after this point is in the cache.
    let needs_sync = ctx.expectations().satisfied(&exp_key, Instant::now());
    let pods_api: Api<Pod> = Api::namespaced(ctx.client.clone(), ns);
    let now = Utc::now();

    // Candidates: the pods it controls and the namespace's orphans.
    let uid = rs.metadata.uid.clone().unwrap_or_default();
    let pods_cache = ctx.informers.pods.cache();
    let mut candidates = pods_cache.controlled_by(&uid);
    candidates.extend(pods_cache.orphans(ns));

    // Claim: adopt matching orphans, release owned pods that stopped matching.
    let mut owned: Vec<Arc<Pod>> = Vec::new();
    if rs.metadata.deletion_timestamp.is_none() {
        for pod in &candidates {
            match logic::claim_decision(&rs, pod) {
                logic::ClaimDecision::Owned => owned.push(pod.clone()),
                logic::ClaimDecision::Adopt => {
                    let patch = logic::adopt_patch_owned(pod, ctx.owner_ref(&rs));
                    match pods_api
                        .patch(
                            &pod.name_any(),
                            &PatchParams::default(),
                            &Patch::Strategic(&patch),
                        )
                        .await
                    {
                        Ok(p) => owned.push(Arc::new(p)),
                        Err(kube::Error::Api(s)) if s.code == 404 || s.code == 422 => {}
                        Err(e) => return Err(e),
                    }
                }
                logic::ClaimDecision::Release => {
                    let patch = logic::release_patch(&rs, pod);
                    match pods_api
                        .patch(
                            &pod.name_any(),
                            &PatchParams::default(),
                            &Patch::Strategic(&patch),
                        )
                        .await
                    {
                        Ok(_) => {}
                        Err(kube::Error::Api(s)) if s.code == 404 || s.code == 422 => {}
                        Err(e) => return Err(e),
                    }
                }
                logic::ClaimDecision::Ignore => {}
            }
        }
    }
    let active: Vec<Arc<Pod>> = logic::filter_active_pods(&owned)
        .into_iter()
        .filter_map(|i| owned.get(i).cloned())
        .collect();

    let mut manage_error: Option<String> = None;
    if needs_sync && rs.metadata.deletion_timestamp.is_none() {
        manage_error = manage(ctx, &rs, &exp_key, &active, &pods_api, now).await;
    }

    let status = logic::calculate_status(&rs, &active, manage_error.as_deref(), now);
    if logic::needs_status_update(&rs, &status) {
        match ctx.write_status(&rs, &status).await {
            Ok(_) => {}
            // The cache was behind; the newer version's event brings us back,
            // and a short requeue covers the case where it already came.
            Err(kube::Error::Api(s)) if s.code == 409 || s.code == 404 => {
                return Ok(Some(Duration::from_millis(100)));
            }
            Err(e) => return Err(e),
        }
    }
    if manage_error.is_some() {
        return Ok(Some(crate::controllers::RETRY));
    }
    Ok(logic::min_ready_requeue_after(&rs, &status, false))
}

/// Upstream `manageReplicas`: creates or deletes pods, with expectations
/// recorded first. Returns the error to put in the status, if any.
async fn manage(
    ctx: &Ctx,
    rs: &ReplicaSet,
    exp_key: &str,
    active: &[Arc<Pod>],
    pods_api: &Api<Pod>,
    now: chrono::DateTime<Utc>,
) -> Option<String> {
    let (creates, deletes) = logic::manage_diff(active.len(), logic::desired_replicas(rs));
    let mut manage_error: Option<String> = None;
    if creates > 0 {
        // Written as a full pod; the cache's slim type is only for reading.
        let create_api: Api<k8s_openapi::api::core::v1::Pod> = Api::namespaced(
            ctx.client.clone(),
            &rs.metadata.namespace.clone().unwrap_or_default(),
        );
        let template = logic::pod_from_template_owned(rs, "", ctx.owner_ref(rs));
        if template
            .metadata
            .labels
            .as_ref()
            .is_none_or(|l| l.is_empty())
        {
            return Some(logic::NO_LABELS_ERROR.to_string());
        }
        ctx.expectations()
            .expect_creations(exp_key, creates, Instant::now());
        let pp = PostParams::default();
        let mut succeeded = 0usize;
        'batches: for batch in
            logic::slow_start_batches(creates, logic::SLOW_START_INITIAL_BATCH_SIZE)
        {
            let results =
                futures::future::join_all((0..batch).map(|_| create_api.create(&pp, &template)))
                    .await;
            let mut failed = false;
            for r in results {
                match r {
                    Ok(p) => {
                        succeeded += 1;
                        event(
                            ctx,
                            rs,
                            EventType::Normal,
                            logic::SUCCESSFUL_CREATE_POD_REASON,
                            logic::created_pod_event_message(&p.name_any()),
                        )
                        .await;
                    }
                    Err(e) => {
                        let msg = e.to_string();
                        event(
                            ctx,
                            rs,
                            EventType::Warning,
                            logic::FAILED_CREATE_POD_REASON,
                            logic::error_creating_event_message(&msg),
                        )
                        .await;
                        manage_error = Some(msg);
                        failed = true;
                    }
                }
            }
            if failed {
                break 'batches;
            }
        }
        // Failed and never attempted creates will not be observed.
        let mut exp = ctx.expectations();
        for _ in succeeded..creates {
            exp.creation_observed(exp_key);
        }
    } else if deletes > 0 {
        let ns = rs.metadata.namespace.clone().unwrap_or_default();
        let victims: Vec<Arc<Pod>> = {
            let all_rs = ctx.list_namespace(&ns);
            let all_pods = ctx.informers.pods.cache().list_namespace(&ns);
            let related: Vec<Arc<Pod>> = logic::indirectly_related_pods(rs, &all_rs, &all_pods)
                .into_iter()
                .filter_map(|i| all_pods.get(i).cloned())
                .collect();
            let related = if related.is_empty() {
                active.to_vec()
            } else {
                related
            };
            logic::pods_to_delete(active, &related, deletes, now)
                .into_iter()
                .filter_map(|i| active.get(i).cloned())
                .collect()
        };
        let keys: Vec<String> = victims.iter().map(|p| pod_key(p)).collect();
        ctx.expectations()
            .expect_deletions(exp_key, &keys, Instant::now());
        let results = futures::future::join_all(victims.iter().map(|p| {
            let dp = DeleteParams {
                preconditions: Some(Preconditions {
                    uid: p.metadata.uid.clone(),
                    resource_version: None,
                }),
                ..Default::default()
            };
            let name = p.name_any();
            let key = pod_key(p);
            async move { (name.clone(), key, pods_api.delete(&name, &dp).await) }
        }))
        .await;
        for (pod_name, key, r) in results {
            match r {
                Ok(_) => {}
                Err(kube::Error::Api(s)) if s.code == 404 => {
                    // Already gone: the cache will not show a deletion by us.
                    ctx.expectations().deletion_observed(exp_key, &key);
                }
                Err(e) => {
                    ctx.expectations().deletion_observed(exp_key, &key);
                    let msg = e.to_string();
                    event(
                        ctx,
                        rs,
                        EventType::Warning,
                        logic::FAILED_DELETE_POD_REASON,
                        logic::error_deleting_event_message(&msg),
                    )
                    .await;
                    manage_error = Some(logic::unable_to_delete_error(&msg));
                    continue;
                }
            }
            event(
                ctx,
                rs,
                EventType::Normal,
                logic::SUCCESSFUL_DELETE_POD_REASON,
                logic::deleted_pod_event_message(&pod_name),
            )
            .await;
        }
    }
    manage_error
}
