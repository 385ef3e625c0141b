//! The disruption controller's I/O loop. Upstream:
//! `pkg/controller/disruption/disruption.go`.
//!
//! Every PodDisruptionBudget is synced when it changes, when one of the pods
//! it selects changes, and when an entry of its `disruptedPods` is due to
//! expire. A sync reads the PDB's pods from the shared pod informer, and,
//! when the budget is a percentage or a `maxUnavailable`, the scale of
//! their controllers (upstream's `finders`: a ReplicaSet's Deployment or the
//! ReplicaSet from the informers; anything else — a StatefulSet, a
//! ReplicationController, a custom resource — through its `/scale`
//! subresource, found by discovery, as upstream's `getScaleController`), then
//! writes `status` (`logic.rs`) through `poddisruptionbudgets/status`. A
//! failed sync writes upstream's fail-safe status (no disruption allowed,
//! `SyncFailed`).
//!
//! A third loop resets `DisruptionTarget=True` conditions that the eviction
//! subresource set on pods that were then not deleted (upstream's
//! stale-pod-disruption worker).

pub mod logic;

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::controllers::replicaset::logic as rs_logic;
use crate::controllers::shared::AbortOnDrop;
use crate::controllers::shared::cached_pod::Pod;
use crate::controllers::shared::discovery::{Discovery, DiscoveryClient};
use crate::controllers::shared::events::{Kind as EventType, Recorder};
use crate::controllers::shared::informer::{Change, Informers, Key, key_of};
use crate::controllers::shared::workqueue::{Queue, run_workers};

/// Upstream runs one worker per queue.
const WORKERS: usize = 1;

struct Ctx {
    client: kube::Client,
    recorder: Recorder,
    informers: Arc<Informers>,
    discovery: Mutex<(DiscoveryClient, Discovery)>,
}

fn key_string((ns, name): &Key) -> String {
    format!("{ns}/{name}")
}

pub async fn run(client: kube::Client, informers: Arc<Informers>) {
    let queue: Arc<Queue<Key>> = Queue::new();
    let stale: Arc<Queue<Key>> = Queue::new();
    let ctx = Arc::new(Ctx {
        recorder: Recorder::new(client.clone(), "controllermanager"),
        discovery: Mutex::new((DiscoveryClient::new(client.clone()), Discovery::default())),
        client,
        informers: informers.clone(),
    });
    let mut pdb_changes = informers.pod_disruption_budgets.subscribe();
    let mut pod_changes = informers.pods.subscribe();
    let q = queue.clone();
    let _pdbs = AbortOnDrop(tokio::spawn(async move {
        while let Some(change) = pdb_changes.recv().await {
            let (Change::Added(p) | Change::Updated { new: p, .. } | Change::Deleted(p)) =
                change.as_ref();
            q.add(key_of(&p.metadata));
        }
    }));
    let c = ctx.clone();
    let (q, s) = (queue.clone(), stale.clone());
    let _pods = AbortOnDrop(tokio::spawn(async move {
        while let Some(change) = pod_changes.recv().await {
            let (old, new) = change.old_new();
            // Upstream queues the PDB of the new pod (of the old one for a
            // delete); the PDB the pod left is queued too.
            let mut keys = Vec::new();
            for pod in [old, new].into_iter().flatten() {
                for pdb in pdbs_for_pod(&c, pod) {
                    let k = key_of(&pdb.metadata);
                    if !keys.contains(&k) {
                        keys.push(k);
                    }
                }
            }
            if let Some(pod) = new {
                let matching = pdbs_for_pod(&c, pod);
                if matching.len() > 1 && !matches!(change.as_ref(), Change::Deleted(_)) {
                    multiple_pdbs_event(&c, pod, &matching).await;
                }
                if let Some(after) = logic::stale_disruption_condition(pod, Utc::now()) {
                    s.add_after(key_of(&pod.metadata), after.to_std().unwrap_or_default());
                }
            }
            for k in keys {
                q.add(k);
            }
        }
    }));
    informers.pods.wait_synced().await;
    informers.pod_disruption_budgets.wait_synced().await;
    informers.replica_sets.wait_synced().await;
    informers.deployments.wait_synced().await;
    let c = ctx.clone();
    let _stale = AbortOnDrop(tokio::spawn(run_workers(stale, 1, move |key| {
        let c = c.clone();
        async move {
            match sync_stale_pod_disruption(&c, &key).await {
                Ok(again) => again,
                Err(e) => {
                    tracing::debug!(error = %e, pod = %key_string(&key), "clearing a stale DisruptionTarget condition");
                    Some(crate::controllers::RETRY)
                }
            }
        }
    })));
    run_workers(queue, WORKERS, move |key| {
        let ctx = ctx.clone();
        async move {
            match sync(&ctx, &key).await {
                Ok(again) => again,
                Err(e) => {
                    tracing::debug!(error = %e, pdb = %key_string(&key), "syncing PodDisruptionBudget");
                    Some(crate::controllers::RETRY)
                }
            }
        }
    })
    .await;
}

/// The PDBs of the pod's namespace that select it (client-go's
/// `GetPodPodDisruptionBudgets`), sorted by name.
fn pdbs_for_pod(ctx: &Ctx, pod: &Pod) -> Vec<Arc<PodDisruptionBudget>> {
    let ns = pod.metadata.namespace.as_deref().unwrap_or_default();
    let mut pdbs: Vec<Arc<PodDisruptionBudget>> = ctx
        .informers
        .pod_disruption_budgets
        .cache()
        .list_namespace(ns)
        .into_iter()
        .filter(|p| logic::selects(p, pod))
        .collect();
    pdbs.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    pdbs
}

fn pdb_ref(pdb: &PodDisruptionBudget) -> ObjectReference {
    ObjectReference {
        api_version: Some("policy/v1".into()),
        kind: Some("PodDisruptionBudget".into()),
        name: pdb.metadata.name.clone(),
        namespace: pdb.metadata.namespace.clone(),
        uid: pdb.metadata.uid.clone(),
        resource_version: pdb.metadata.resource_version.clone(),
        field_path: None,
    }
}

fn pod_ref(pod: &Pod) -> ObjectReference {
    ObjectReference {
        api_version: Some("v1".into()),
        kind: Some("Pod".into()),
        name: pod.metadata.name.clone(),
        namespace: pod.metadata.namespace.clone(),
        uid: pod.metadata.uid.clone(),
        resource_version: pod.metadata.resource_version.clone(),
        field_path: None,
    }
}

/// Upstream `getPdbForPod`'s warning.
async fn multiple_pdbs_event(ctx: &Ctx, pod: &Pod, pdbs: &[Arc<PodDisruptionBudget>]) {
    let ns = pod.metadata.namespace.as_deref().unwrap_or_default();
    let name = pod.metadata.name.as_deref().unwrap_or_default();
    let first = pdbs
        .first()
        .and_then(|p| p.metadata.name.as_deref())
        .unwrap_or_default();
    let msg = format!(
        "Pod \"{ns}\"/\"{name}\" matches multiple PodDisruptionBudgets.  Chose \"{first}\" arbitrarily."
    );
    ctx.recorder
        .publish(
            &pod_ref(pod),
            EventType::Warning,
            "MultiplePodDisruptionBudgets",
            &msg,
        )
        .await;
}

/// One sync of a PDB; the delay after which it wants another.
async fn sync(ctx: &Ctx, key: &Key) -> anyhow::Result<Option<Duration>> {
    let Some(pdb) = ctx
        .informers
        .pod_disruption_budgets
        .cache()
        .get(&key.0, &key.1)
    else {
        return Ok(None);
    };
    match try_sync(ctx, &pdb).await {
        Ok(again) => Ok(again),
        Err(SyncError::Conflict) => Ok(Some(crate::controllers::RETRY)),
        Err(SyncError::Failed(msg)) => {
            tracing::debug!(pdb = %key_string(key), error = %msg, "failed to sync PDB");
            let status = logic::fail_safe_status(&pdb, &msg, Utc::now());
            write_status(ctx, &pdb, status).await?;
            // Upstream requeues with backoff when the fail-safe write
            // succeeds too (the sync still failed).
            Ok(Some(Duration::from_secs(5)))
        }
    }
}

enum SyncError {
    /// The status write lost a race: sync again from the cache.
    Conflict,
    /// Anything else: upstream's `failSafe`.
    Failed(String),
}

/// Upstream `trySync`.
async fn try_sync(ctx: &Ctx, pdb: &PodDisruptionBudget) -> Result<Option<Duration>, SyncError> {
    let ns = pdb.metadata.namespace.as_deref().unwrap_or_default();
    let all = ctx.informers.pods.cache().list_namespace(ns);
    let mut pods: Vec<&Pod> = all
        .iter()
        .map(|p| p.as_ref())
        .filter(|p| logic::selects(pdb, p))
        .collect();
    pods.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    if pods.is_empty() {
        ctx.recorder
            .publish(
                &pdb_ref(pdb),
                EventType::Normal,
                "NoPods",
                "No matching pods found",
            )
            .await;
    }
    let scale = if logic::needs_scale(pdb) {
        match expected_scale(ctx, ns, &pods).await {
            Ok((scale, unmanaged)) => {
                if !unmanaged.is_empty() {
                    let selector = pdb
                        .spec
                        .as_ref()
                        .and_then(|s| s.selector.as_ref())
                        .map(logic::go_selector_string)
                        .unwrap_or_else(|| "nil".into());
                    let msg = format!(
                        "Pods selected by this PodDisruptionBudget (selector: {selector}) were found to be unmanaged. As a result, the status of the PDB cannot be calculated correctly, which may result in undefined behavior. To account for these pods please set \".spec.minAvailable\" field of the PDB to an integer value."
                    );
                    ctx.recorder
                        .publish(&pdb_ref(pdb), EventType::Warning, "UnmanagedPods", &msg)
                        .await;
                }
                Some(scale)
            }
            Err(e) => {
                ctx.recorder
                    .publish(
                        &pdb_ref(pdb),
                        EventType::Warning,
                        "CalculateExpectedPodCountFailed",
                        &format!("Failed to calculate the number of expected pods: {e}"),
                    )
                    .await;
                return Err(SyncError::Failed(e));
            }
        }
    } else {
        None
    };
    let (expected, desired) = match logic::expected_and_desired(pdb, pods.len(), scale) {
        Ok(v) => v,
        Err(e) => {
            ctx.recorder
                .publish(
                    &pdb_ref(pdb),
                    EventType::Warning,
                    "CalculateExpectedPodCountFailed",
                    &format!("Failed to calculate the number of expected pods: {e}"),
                )
                .await;
            return Err(SyncError::Failed(e));
        }
    };
    let now = Utc::now();
    let (disrupted, recheck, expired) = logic::build_disrupted_pod_map(&pods, pdb, now);
    for name in expired {
        if let Some(pod) = pods
            .iter()
            .find(|p| p.metadata.name.as_deref() == Some(&name))
        {
            // (Upstream's message names the namespace twice.)
            let msg = format!("Pod was expected by PDB {ns}/{ns} to be deleted but it wasn't");
            ctx.recorder
                .publish(&pod_ref(pod), EventType::Warning, "NotDeleted", &msg)
                .await;
        }
    }
    let current = logic::count_healthy(&pods, &disrupted, now);
    let observed = logic::Observed {
        current_healthy: current,
        desired_healthy: desired,
        expected_pods: expected,
        disrupted_pods: disrupted,
    };
    if let Some(status) = logic::new_status(pdb, observed, now) {
        match write_status(ctx, pdb, status).await {
            Ok(()) => {}
            Err(e) if is_conflict(&e) => return Err(SyncError::Conflict),
            Err(e) => return Err(SyncError::Failed(e.to_string())),
        }
    }
    Ok(recheck.map(|t| (t - now).to_std().unwrap_or_default() + Duration::from_millis(100)))
}

fn is_conflict(e: &anyhow::Error) -> bool {
    matches!(e.downcast_ref::<kube::Error>(), Some(kube::Error::Api(s)) if s.code == 409)
}

/// Upstream `writePdbStatus`: an update of `status` at the cached
/// resourceVersion (a conflict means the cache is behind: sync again).
async fn write_status(
    ctx: &Ctx,
    pdb: &PodDisruptionBudget,
    status: k8s_openapi::api::policy::v1::PodDisruptionBudgetStatus,
) -> anyhow::Result<()> {
    let ns = pdb.metadata.namespace.as_deref().unwrap_or_default();
    let name = pdb.metadata.name.as_deref().unwrap_or_default();
    let mut new = pdb.clone();
    new.status = Some(status);
    let api: Api<PodDisruptionBudget> = Api::namespaced(ctx.client.clone(), ns);
    api.replace_status(name, &PostParams::default(), &new)
        .await?;
    Ok(())
}

/// Upstream `getExpectedScale`: the summed scale of the pods' controllers
/// and the names of the pods without one.
async fn expected_scale(ctx: &Ctx, ns: &str, pods: &[&Pod]) -> Result<(i32, Vec<String>), String> {
    let (controllers, unmanaged) = logic::pod_controllers(pods);
    let mut found: Vec<(String, i32)> = Vec::new();
    for (pod, controller) in &controllers {
        match find_controller(ctx, controller, ns).await? {
            Some(scale) => found.push(scale),
            None => return Err(logic::no_controller_error(pod)),
        }
    }
    Ok((logic::sum_scales(&found), unmanaged))
}

/// `(group, kind)` of an ownerReference, as `schema.ParseGroupVersion`.
fn group_kind(r: &OwnerReference) -> Result<(&str, &str), String> {
    let av = r.api_version.as_str();
    let group = match av.split_once('/') {
        None => "",
        Some((g, v)) if !v.contains('/') => g,
        Some(_) => return Err(format!("unexpected GroupVersion string: {av}")),
    };
    Ok((group, r.kind.as_str()))
}

/// Upstream's `finders`, in order: the Deployment of a ReplicaSet, a
/// ReplicaSet not controlled by a Deployment (both from the informers), then
/// any controller's `/scale` (which also answers for StatefulSets and
/// ReplicationControllers, upstream's listers for them being a cache of the
/// same numbers). `(uid, replicas)` of the object that answered.
async fn find_controller(
    ctx: &Ctx,
    controller: &OwnerReference,
    ns: &str,
) -> Result<Option<(String, i32)>, String> {
    let (group, kind) = group_kind(controller)?;
    if kind == "ReplicaSet" && matches!(group, "apps" | "extensions") {
        let rs = ctx
            .informers
            .replica_sets
            .cache()
            .get(ns, &controller.name)
            .filter(|rs| rs.metadata.uid.as_deref() == Some(controller.uid.as_str()));
        if let Some(rs) = rs {
            match rs_logic::controller_ref(&rs.metadata) {
                Some(d) => {
                    // getPodDeployment.
                    let (dg, dk) = group_kind(d)?;
                    if dk == "Deployment" && matches!(dg, "apps" | "extensions") {
                        let dep = ctx
                            .informers
                            .deployments
                            .cache()
                            .get(ns, &d.name)
                            .filter(|x| x.metadata.uid.as_deref() == Some(d.uid.as_str()));
                        if let Some(dep) = dep {
                            let replicas = dep.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
                            return Ok(Some((d.uid.clone(), replicas)));
                        }
                    }
                    // getPodReplicaSet skips a ReplicaSet controlled by a
                    // Deployment (whatever its group).
                    if d.kind != "Deployment" {
                        let replicas = rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
                        return Ok(Some((controller.uid.clone(), replicas)));
                    }
                }
                None => {
                    let replicas = rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
                    return Ok(Some((controller.uid.clone(), replicas)));
                }
            }
        }
    }
    scale_of(ctx, controller, ns).await
}

/// Upstream `getScaleController`: the controller's `/scale`, its resource
/// found by discovery (discovery is asked again once when the kind is not
/// known yet).
async fn scale_of(
    ctx: &Ctx,
    controller: &OwnerReference,
    ns: &str,
) -> Result<Option<(String, i32)>, String> {
    let resource = {
        let mut d = ctx.discovery.lock().await;
        match d.1.resource_for(&controller.api_version, &controller.kind) {
            Some(r) => Some(r),
            None => {
                let fresh = d.0.discover().await.map_err(|e| e.to_string())?;
                d.1 = fresh;
                d.1.resource_for(&controller.api_version, &controller.kind)
            }
        }
    };
    let Some(resource) = resource else {
        return Err(format!(
            "no matches for kind \"{}\" in version \"{}\"",
            controller.kind, controller.api_version
        ));
    };
    let prefix = if resource.group.is_empty() {
        format!("/api/{}", resource.version)
    } else {
        format!("/apis/{}/{}", resource.group, resource.version)
    };
    let path = if resource.namespaced {
        format!(
            "{prefix}/namespaces/{ns}/{}/{}/scale",
            resource.plural, controller.name
        )
    } else {
        format!("{prefix}/{}/{}/scale", resource.plural, controller.name)
    };
    let req = http::Request::get(path)
        .body(Vec::new())
        .map_err(|e| e.to_string())?;
    match ctx.client.request::<Value>(req).await {
        Ok(scale) => {
            let uid = scale.pointer("/metadata/uid").and_then(Value::as_str);
            if uid != Some(controller.uid.as_str()) {
                return Ok(None);
            }
            let replicas = scale
                .pointer("/spec/replicas")
                .and_then(Value::as_i64)
                .unwrap_or(0);
            Ok(Some((
                controller.uid.clone(),
                i32::try_from(replicas).unwrap_or(i32::MAX),
            )))
        }
        Err(kube::Error::Api(s)) if s.code == 404 => {
            // Either the object is gone, or its resource has no `/scale`.
            if s.message == "the server could not find the requested resource" {
                let gr = if resource.group.is_empty() {
                    resource.plural.clone()
                } else {
                    format!("{}.{}", resource.plural, resource.group)
                };
                return Err(format!("{gr} does not implement the scale subresource"));
            }
            Ok(None)
        }
        Err(e) => Err(e.to_string()),
    }
}

/// Upstream `syncStalePodDisruption`: a `DisruptionTarget=True` condition
/// left on a pod that was not deleted within 2 minutes is set to `False`.
async fn sync_stale_pod_disruption(ctx: &Ctx, key: &Key) -> anyhow::Result<Option<Duration>> {
    let Some(pod) = ctx.informers.pods.cache().get(&key.0, &key.1) else {
        return Ok(None);
    };
    let Some(wait) = logic::stale_disruption_condition(&pod, Utc::now()) else {
        return Ok(None);
    };
    if wait > chrono::Duration::zero() {
        return Ok(Some(wait.to_std().unwrap_or_default()));
    }
    let now = logic::to_time(Utc::now());
    let patch = json!({
        "metadata": {"resourceVersion": pod.metadata.resource_version},
        "status": {"conditions": [{
            "type": "DisruptionTarget", "status": "False", "lastTransitionTime": now,
            "reason": null, "message": null, "lastProbeTime": null,
        }]},
    });
    let api: Api<k8s_openapi::api::core::v1::Pod> = Api::namespaced(ctx.client.clone(), &key.0);
    api.patch_status(&key.1, &PatchParams::default(), &Patch::Strategic(patch))
        .await?;
    Ok(None)
}
