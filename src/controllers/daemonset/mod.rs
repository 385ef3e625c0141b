//! The DaemonSet controller's I/O loop. Upstream:
//! `pkg/controller/daemon/daemon_controller.go` and `update.go`.
//!
//! A sync reads the DaemonSet, its ControllerRevisions, every node and the
//! DaemonSet's pods from the shared informers; makes sure a revision of the
//! current template exists (and is the newest); creates a pod pinned (by
//! node affinity, as upstream, so the scheduler binds it) on each node that
//! should run one and deletes the pods that should not run or are replaced
//! by the rolling update, with expectations; writes the status; and trims
//! the revision history.

pub mod logic;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use k8s_openapi::api::apps::v1::{ControllerRevision, DaemonSet};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kube::api::{Api, DeleteParams, PostParams};
use kube::{Resource, ResourceExt};

use crate::controllers::replicaset::logic as rs_logic;
use crate::controllers::shared::AbortOnDrop;
use crate::controllers::shared::cached_pod::Pod;
use crate::controllers::shared::events::{Kind as EventType, Recorder};
use crate::controllers::shared::expectations::Expectations;
use crate::controllers::shared::history;
use crate::controllers::shared::informer::{Change, Informers, Key, key_of};
use crate::controllers::shared::workqueue::{Queue, run_workers};

/// Upstream's `ConcurrentDaemonSetSyncs` default.
const WORKERS: usize = 2;
const RESYNC: Duration = Duration::from_secs(30);

struct Ctx {
    client: kube::Client,
    recorder: Recorder,
    informers: Arc<Informers>,
    expectations: Mutex<Expectations>,
    queue: Arc<Queue<Key>>,
}

impl Ctx {
    fn expectations(&self) -> std::sync::MutexGuard<'_, Expectations> {
        self.expectations.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn key_string((ns, name): &Key) -> String {
    format!("{ns}/{name}")
}

pub async fn run(client: kube::Client, informers: Arc<Informers>) {
    let queue: Arc<Queue<Key>> = Queue::new();
    let ctx = Arc::new(Ctx {
        recorder: Recorder::new(client.clone(), "daemonset-controller"),
        client,
        informers: informers.clone(),
        expectations: Mutex::new(Expectations::new()),
        queue: queue.clone(),
    });
    let mut ds_changes = informers.daemon_sets.subscribe();
    let mut pod_changes = informers.pods.subscribe();
    let mut node_changes = informers.nodes.subscribe();
    let c = ctx.clone();
    let _ds = AbortOnDrop(tokio::spawn(async move {
        while let Some(change) = ds_changes.recv().await {
            match change.as_ref() {
                Change::Added(d) | Change::Updated { new: d, .. } => {
                    c.queue.add(key_of(&d.metadata))
                }
                Change::Deleted(d) => c.expectations().delete(&key_string(&key_of(&d.metadata))),
            }
        }
    }));
    let c = ctx.clone();
    let _pods = AbortOnDrop(tokio::spawn(async move {
        while let Some(change) = pod_changes.recv().await {
            let (old, new) = change.old_new();
            let Some(pod) = new.or(old) else { continue };
            let Some(key) = owner(&c, pod) else { continue };
            let k = key_string(&key);
            match change.as_ref() {
                Change::Added(p) if p.metadata.deletion_timestamp.is_none() => {
                    c.expectations().creation_observed(&k)
                }
                Change::Deleted(p) => c.expectations().deletion_observed(&k, &pod_key(p)),
                Change::Updated { old, new }
                    if old.metadata.deletion_timestamp.is_none()
                        && new.metadata.deletion_timestamp.is_some() =>
                {
                    c.expectations().deletion_observed(&k, &pod_key(new))
                }
                _ => {}
            }
            c.queue.add(key);
        }
    }));
    let c = ctx.clone();
    let _nodes = AbortOnDrop(tokio::spawn(async move {
        while let Some(change) = node_changes.recv().await {
            let relevant = match change.as_ref() {
                Change::Updated { old, new } => {
                    old.metadata.labels != new.metadata.labels
                        || old.spec.as_ref().and_then(|s| s.taints.clone())
                            != new.spec.as_ref().and_then(|s| s.taints.clone())
                }
                _ => true,
            };
            if relevant {
                for d in c.informers.daemon_sets.cache().list() {
                    c.queue.add(key_of(&d.metadata));
                }
            }
        }
    }));
    let c = ctx.clone();
    let _resync = AbortOnDrop(tokio::spawn(async move {
        loop {
            tokio::time::sleep(RESYNC).await;
            for d in c.informers.daemon_sets.cache().list() {
                c.queue.add(key_of(&d.metadata));
            }
        }
    }));
    informers.pods.wait_synced().await;
    informers.nodes.wait_synced().await;
    informers.daemon_sets.wait_synced().await;
    informers.controller_revisions.wait_synced().await;
    run_workers(queue, WORKERS, move |key| {
        let ctx = ctx.clone();
        async move {
            match sync(&ctx, &key).await {
                Ok(again) => again,
                Err(e) => {
                    tracing::debug!(error = %e, ds = %key_string(&key), "syncing daemonset");
                    Some(crate::controllers::RETRY)
                }
            }
        }
    })
    .await;
}

fn pod_key(pod: &Pod) -> String {
    key_string(&key_of(&pod.metadata))
}

fn owner(ctx: &Ctx, pod: &Pod) -> Option<Key> {
    let r = rs_logic::controller_ref(&pod.metadata)?;
    if r.kind != "DaemonSet" {
        return None;
    }
    let ns = pod.metadata.namespace.clone().unwrap_or_default();
    let ds = ctx.informers.daemon_sets.cache().get(&ns, &r.name)?;
    (ds.metadata.uid.as_deref() == Some(r.uid.as_str())).then(|| (ns, r.name.clone()))
}

fn owner_ref(ds: &DaemonSet) -> OwnerReference {
    OwnerReference {
        api_version: "apps/v1".into(),
        kind: "DaemonSet".into(),
        name: ds.name_any(),
        uid: ds.metadata.uid.clone().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

/// The template as a cached pod with the daemon tolerations, for the
/// should-run predicates.
fn template_pod(ds: &DaemonSet) -> Pod {
    let spec = ds
        .spec
        .as_ref()
        .and_then(|s| s.template.spec.clone())
        .unwrap_or_default();
    let mut spec = spec;
    let mut tol = spec.tolerations.take().unwrap_or_default();
    logic::add_daemon_tolerations(&mut tol, spec.host_network == Some(true));
    spec.tolerations = Some(tol);
    let json = serde_json::json!({"spec": spec});
    serde_json::from_value(json).unwrap_or_default()
}

/// A new daemon pod for `node` (upstream `CreatePods` with
/// `util.CreatePodTemplate` and the node-name affinity).
fn pod_for(ds: &DaemonSet, hash: &str, node: &str) -> k8s_openapi::api::core::v1::Pod {
    let template = ds
        .spec
        .as_ref()
        .map(|s| s.template.clone())
        .unwrap_or_default();
    let tmeta = template.metadata.unwrap_or_default();
    let mut spec = template.spec.unwrap_or_default();
    let mut tol = spec.tolerations.take().unwrap_or_default();
    logic::add_daemon_tolerations(&mut tol, spec.host_network == Some(true));
    spec.tolerations = Some(tol);
    let mut affinity = spec.affinity.take().unwrap_or_default();
    affinity.node_affinity = Some(logic::pin_to_node(affinity.node_affinity.take(), node));
    spec.affinity = Some(affinity);
    k8s_openapi::api::core::v1::Pod {
        metadata: ObjectMeta {
            generate_name: Some(format!("{}-", ds.name_any())),
            namespace: ds.metadata.namespace.clone(),
            labels: Some(logic::pod_labels(
                tmeta.labels.as_ref(),
                hash,
                ds.metadata.generation,
            )),
            annotations: tmeta.annotations.filter(|a| !a.is_empty()),
            finalizers: tmeta.finalizers.filter(|f| !f.is_empty()),
            owner_references: Some(vec![owner_ref(ds)]),
            ..Default::default()
        },
        spec: Some(spec),
        status: None,
    }
}

async fn event(ctx: &Ctx, ds: &DaemonSet, kind: EventType, reason: &str, message: &str) {
    ctx.recorder
        .publish(&ds.object_ref(&()), kind, reason, message)
        .await;
}

/// Makes sure the current template has the newest revision; returns its
/// hash (upstream `constructHistory`).
async fn ensure_revision(
    ctx: &Ctx,
    ds: &DaemonSet,
) -> Result<Result<String, Duration>, kube::Error> {
    let ns = ds.namespace().unwrap_or_default();
    let uid = ds.metadata.uid.clone().unwrap_or_default();
    let api: Api<ControllerRevision> = Api::namespaced(ctx.client.clone(), &ns);
    let template = serde_json::to_value(ds.spec.as_ref().map(|s| &s.template)).unwrap_or_default();
    let data = history::template_patch(&template);
    let collision = ds.status.as_ref().and_then(|s| s.collision_count);
    let owned = ctx
        .informers
        .controller_revisions
        .cache()
        .controlled_by(&uid);
    let refs: Vec<&ControllerRevision> = owned.iter().map(|r| r.as_ref()).collect();
    let max = refs.iter().map(|r| r.revision).max().unwrap_or(0);
    if let Some(cur) = refs
        .iter()
        .find(|r| r.data.as_ref().is_some_and(|d| d.0 == data))
    {
        if cur.revision < max {
            let mut updated = (*cur).clone();
            updated.revision = max + 1;
            match api
                .replace(&cur.name_any(), &PostParams::default(), &updated)
                .await
            {
                Ok(_) => {}
                Err(kube::Error::Api(s)) if s.code == 409 => {
                    return Ok(Err(Duration::from_millis(100)));
                }
                Err(e) => return Err(e),
            }
        }
        return Ok(Ok(history::revision_hash(cur)));
    }
    let labels = ds
        .spec
        .as_ref()
        .and_then(|s| s.template.metadata.as_ref())
        .and_then(|m| m.labels.as_ref());
    let mut rev = history::new_revision(
        &ds.name_any(),
        Some(&ns),
        owner_ref(ds),
        labels,
        data,
        history::next_revision(&refs),
        collision,
    );
    let hash = history::revision_hash(&rev);
    // Upstream's DaemonSet builds its revisions itself (`daemon/update.go`
    // snapshot): the hash under `controller-revision-hash` (the label its
    // pods carry too), not history's `controller.kubernetes.io/hash`, and
    // the DaemonSet's annotations.
    if let Some(l) = rev.metadata.labels.as_mut() {
        l.remove(history::REVISION_HASH_LABEL);
        l.insert(history::CONTROLLER_REVISION_HASH_LABEL.into(), hash.clone());
    }
    rev.metadata.annotations = ds.metadata.annotations.clone().filter(|a| !a.is_empty());
    match api.create(&PostParams::default(), &rev).await {
        Ok(_) => Ok(Ok(hash)),
        Err(kube::Error::Api(s)) if s.code == 409 => {
            // A revision of that name with other data: bump the collision
            // count so the next hash differs (upstream does the same).
            let existing = api.get_opt(&rev.name_any()).await?;
            if existing.is_some_and(|e| history::equal_revision(&e, &rev)) {
                return Ok(Ok(hash));
            }
            let dsapi: Api<DaemonSet> = Api::namespaced(ctx.client.clone(), &ns);
            let mut d = ds.clone();
            let st = d.status.get_or_insert_with(Default::default);
            st.collision_count = Some(collision.unwrap_or(0) + 1);
            let _ = dsapi
                .replace_status(&ds.name_any(), &PostParams::default(), &d)
                .await;
            Ok(Err(Duration::from_millis(100)))
        }
        Err(e) => Err(e),
    }
}

async fn sync(ctx: &Ctx, key: &Key) -> Result<Option<Duration>, kube::Error> {
    let (ns, name) = key;
    let exp_key = key_string(key);
    let Some(ds) = ctx.informers.daemon_sets.cache().get(ns, name) else {
        ctx.expectations().delete(&exp_key);
        return Ok(None);
    };
    if ds.metadata.deletion_timestamp.is_some() {
        return Ok(None);
    }
    let hash = match ensure_revision(ctx, &ds).await? {
        Ok(h) => h,
        Err(again) => return Ok(Some(again)),
    };
    let satisfied = ctx.expectations().satisfied(&exp_key, Instant::now());
    let uid = ds.metadata.uid.clone().unwrap_or_default();
    let owned = ctx.informers.pods.cache().controlled_by(&uid);
    let mut by_node: HashMap<String, Vec<&Pod>> = HashMap::new();
    for p in &owned {
        if p.metadata.deletion_timestamp.is_some() {
            continue;
        }
        if let Some(n) = logic::target_node(p) {
            by_node.entry(n).or_default().push(p.as_ref());
        }
    }
    let tpod = template_pod(&ds);
    let nodes = ctx.informers.nodes.cache().list();
    let mut views: Vec<logic::NodeView> = nodes
        .iter()
        .map(|n| {
            let name = n.metadata.name.clone().unwrap_or_default();
            let (should_run, should_continue) = logic::node_should_run(&tpod, n);
            let mut pods = by_node.remove(&name).unwrap_or_default();
            logic::sort_oldest_first(&mut pods);
            logic::NodeView {
                name,
                should_run,
                should_continue,
                pods,
            }
        })
        .collect();
    views.sort_by(|a, b| a.name.cmp(&b.name));
    let now = Utc::now();
    let mut error = None;
    if satisfied {
        let plan = logic::plan(&ds, &views, &hash, now);
        if let Err(e) = apply(ctx, &ds, &exp_key, &hash, &plan).await {
            error = Some(e);
        }
    }
    let status = logic::status(&ds, &views, &hash, now);
    if ds.status.as_ref() != Some(&status) {
        let api: Api<DaemonSet> = Api::namespaced(ctx.client.clone(), ns);
        let mut d = (*ds).clone();
        d.status = Some(status.clone());
        match api.replace_status(name, &PostParams::default(), &d).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 409 || s.code == 404 => {
                return Ok(Some(Duration::from_millis(100)));
            }
            Err(e) => return Err(e),
        }
    }
    trim_history(ctx, &ds, &hash, &owned).await;
    if let Some(e) = error {
        return Err(e);
    }
    // Pods ready but not yet available count once minReadySeconds passes.
    let min_ready = ds
        .spec
        .as_ref()
        .and_then(|s| s.min_ready_seconds)
        .unwrap_or(0);
    if min_ready > 0 && status.number_ready > status.number_available.unwrap_or(0) {
        return Ok(Some(Duration::from_secs(min_ready.unsigned_abs().into())));
    }
    Ok(None)
}

async fn apply(
    ctx: &Ctx,
    ds: &DaemonSet,
    exp_key: &str,
    hash: &str,
    plan: &logic::Plan,
) -> Result<(), kube::Error> {
    let ns = ds.namespace().unwrap_or_default();
    let pods_api: Api<Pod> = Api::namespaced(ctx.client.clone(), &ns);
    let create_api: Api<k8s_openapi::api::core::v1::Pod> = Api::namespaced(ctx.client.clone(), &ns);
    for (pod, node) in &plan.failed {
        event(
            ctx,
            ds,
            EventType::Warning,
            "FailedDaemonPod",
            &format!("Found failed daemon pod {ns}/{pod} on node {node}, will try to kill it"),
        )
        .await;
    }
    let mut error = None;
    if !plan.delete.is_empty() {
        let keys: Vec<String> = plan.delete.iter().map(|n| format!("{ns}/{n}")).collect();
        ctx.expectations()
            .expect_deletions(exp_key, &keys, Instant::now());
        let results = futures::future::join_all(plan.delete.iter().map(|n| {
            let api = &pods_api;
            async move { (n, api.delete(n, &DeleteParams::default()).await) }
        }))
        .await;
        for (n, r) in results {
            match r {
                Ok(_) => {
                    event(
                        ctx,
                        ds,
                        EventType::Normal,
                        rs_logic::SUCCESSFUL_DELETE_POD_REASON,
                        &rs_logic::deleted_pod_event_message(n),
                    )
                    .await
                }
                Err(e) => {
                    ctx.expectations()
                        .deletion_observed(exp_key, &format!("{ns}/{n}"));
                    if !matches!(&e, kube::Error::Api(s) if s.code == 404) {
                        error = Some(e);
                    }
                }
            }
        }
    }
    if !plan.create_on.is_empty() {
        let creates = plan.create_on.len();
        ctx.expectations()
            .expect_creations(exp_key, creates, Instant::now());
        let pp = PostParams::default();
        let mut done = 0usize;
        let mut created = 0usize;
        for batch in rs_logic::slow_start_batches(creates, rs_logic::SLOW_START_INITIAL_BATCH_SIZE)
        {
            let chunk = &plan.create_on[done..(done + batch).min(creates)];
            done += chunk.len();
            let pods: Vec<_> = chunk.iter().map(|n| pod_for(ds, hash, n)).collect();
            let results =
                futures::future::join_all(pods.iter().map(|p| create_api.create(&pp, p))).await;
            let mut failed = false;
            for r in results {
                match r {
                    Ok(p) => {
                        created += 1;
                        event(
                            ctx,
                            ds,
                            EventType::Normal,
                            rs_logic::SUCCESSFUL_CREATE_POD_REASON,
                            &rs_logic::created_pod_event_message(&p.name_any()),
                        )
                        .await;
                    }
                    Err(e) => {
                        event(
                            ctx,
                            ds,
                            EventType::Warning,
                            rs_logic::FAILED_CREATE_POD_REASON,
                            &rs_logic::error_creating_event_message(&e.to_string()),
                        )
                        .await;
                        error = Some(e);
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
            exp.creation_observed(exp_key);
        }
    }
    match error {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Upstream `cleanupHistory`: revisions beyond `revisionHistoryLimit` that
/// no live pod uses go, oldest first.
async fn trim_history(ctx: &Ctx, ds: &DaemonSet, hash: &str, pods: &[Arc<Pod>]) {
    let limit = ds
        .spec
        .as_ref()
        .and_then(|s| s.revision_history_limit)
        .unwrap_or(10)
        .max(0) as usize;
    let uid = ds.metadata.uid.clone().unwrap_or_default();
    let owned = ctx
        .informers
        .controller_revisions
        .cache()
        .controlled_by(&uid);
    let live: std::collections::HashSet<String> = pods
        .iter()
        .filter_map(|p| {
            p.metadata
                .labels
                .as_ref()?
                .get(history::CONTROLLER_REVISION_HASH_LABEL)
                .cloned()
        })
        .chain(std::iter::once(hash.to_string()))
        .collect();
    let mut old: Vec<&ControllerRevision> = owned
        .iter()
        .map(|r| r.as_ref())
        .filter(|r| !live.contains(&history::revision_hash(r)))
        .collect();
    if old.len() <= limit {
        return;
    }
    history::sort_revisions(&mut old);
    let api: Api<ControllerRevision> =
        Api::namespaced(ctx.client.clone(), &ds.namespace().unwrap_or_default());
    let n = old.len() - limit;
    for r in old.into_iter().take(n) {
        let _ = api.delete(&r.name_any(), &DeleteParams::default()).await;
    }
}
