//! The Deployment controller's I/O loop (decisions in `deployment_logic.rs`).
//! Upstream: `pkg/controller/deployment/deployment_controller.go`.
//!
//! Each sync reads the Deployment, the ReplicaSets it controls and (for
//! Recreate) their pods from the shared informer caches (`informer.rs`),
//! asks `plan` for one rollout step, and applies the resulting writes in
//! order, stopping at the first failure. The writes change watched objects,
//! which brings the next sync. As upstream, a stale cache is safe because
//! every write is checked by the API: a ReplicaSet that already exists gets
//! `AlreadyExists`, an update or status write made from an old version gets
//! a conflict, and the key is queued again shortly. Deployment, ReplicaSet
//! (by controller reference) and, for Recreate, pod deletion notifications
//! queue the Deployment; a few workers take keys from a work queue.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use kube::api::{Api, DeleteParams, PostParams};
use kube::{Resource, ResourceExt};

use crate::controllers::shared::cached_pod::Pod;
pub mod progress;
pub mod recreate;
pub mod rolling;
pub mod sync;
#[cfg(test)]
mod testing;
pub mod util;

use crate::controllers::shared::AbortOnDrop;
use crate::controllers::shared::events::{Kind, Recorder};
use crate::controllers::shared::informer::{Change, Informers, Key, key_of};
use crate::controllers::shared::workqueue::{Queue, run_workers};

/// Upstream's `ConcurrentDeploymentSyncs` default.
const WORKERS: usize = 5;
const RESYNC: Duration = Duration::from_secs(30);

struct Ctx {
    client: kube::Client,
    recorder: Recorder,
    informers: Arc<Informers>,
}

/// The Deployment controlling `meta` (kind and uid checked against the cache).
fn owning_deployment(informers: &Informers, meta: &kube::api::ObjectMeta) -> Option<Key> {
    let r = meta
        .owner_references
        .as_ref()?
        .iter()
        .find(|r| r.controller == Some(true))?;
    if r.kind != "Deployment" || !r.api_version.starts_with("apps/") {
        return None;
    }
    let ns = meta.namespace.clone().unwrap_or_default();
    let d = informers.deployments.cache().get(&ns, &r.name)?;
    (d.metadata.uid.as_deref() == Some(r.uid.as_str())).then(|| (ns, r.name.clone()))
}

fn is_recreate(d: &Deployment) -> bool {
    d.spec
        .as_ref()
        .and_then(|s| s.strategy.as_ref())
        .and_then(|s| s.type_.as_deref())
        == Some("Recreate")
}

pub async fn run(client: kube::Client, informers: Arc<Informers>) {
    let recorder = Recorder::new(client.clone(), "deployment-controller");
    let queue: Arc<Queue<Key>> = Queue::new();
    let ctx = Arc::new(Ctx {
        client,
        recorder,
        informers: informers.clone(),
    });
    let mut d_changes = informers.deployments.subscribe();
    let mut rs_changes = informers.replica_sets.subscribe();
    let mut pod_changes = informers.pods.subscribe();
    let q = queue.clone();
    let _d_handler = AbortOnDrop(tokio::spawn(async move {
        while let Some(change) = d_changes.recv().await {
            match change.as_ref() {
                Change::Added(d) | Change::Updated { new: d, .. } | Change::Deleted(d) => {
                    q.add(key_of(&d.metadata))
                }
            }
        }
    }));
    // A ReplicaSet change wakes its Deployment (old and new controller).
    let (q, inf) = (queue.clone(), informers.clone());
    let _rs_handler = AbortOnDrop(tokio::spawn(async move {
        while let Some(change) = rs_changes.recv().await {
            let (old, new) = match change.as_ref() {
                Change::Added(rs) | Change::Deleted(rs) => (None, rs),
                Change::Updated { old, new } => (Some(old), new),
            };
            if let Some(key) = owning_deployment(&inf, &new.metadata) {
                q.add(key);
            }
            if let Some(key) = old.and_then(|o| owning_deployment(&inf, &o.metadata)) {
                q.add(key);
            }
        }
    }));
    // Recreate waits for the old pods to be gone: a pod deletion wakes it.
    let (q, inf) = (queue.clone(), informers.clone());
    let _pod_handler = AbortOnDrop(tokio::spawn(async move {
        while let Some(change) = pod_changes.recv().await {
            let Change::Deleted(pod) = change.as_ref() else {
                continue;
            };
            let Some(r) = crate::controllers::replicaset::logic::controller_ref(&pod.metadata)
            else {
                continue;
            };
            let ns = pod.metadata.namespace.clone().unwrap_or_default();
            let Some(rs) = inf.replica_sets.cache().get(&ns, &r.name) else {
                continue;
            };
            if let Some(key) = owning_deployment(&inf, &rs.metadata)
                && inf
                    .deployments
                    .cache()
                    .get(&key.0, &key.1)
                    .is_some_and(|d| is_recreate(&d))
            {
                q.add(key);
            }
        }
    }));
    let (q, inf) = (queue.clone(), informers.clone());
    let _resync = AbortOnDrop(tokio::spawn(async move {
        loop {
            tokio::time::sleep(RESYNC).await;
            for d in inf.deployments.cache().list() {
                q.add(key_of(&d.metadata));
            }
        }
    }));
    informers.deployments.wait_synced().await;
    informers.replica_sets.wait_synced().await;
    informers.pods.wait_synced().await;
    run_workers(queue, WORKERS, move |key: Key| {
        let ctx = ctx.clone();
        async move {
            match reconcile(&ctx, &key).await {
                Ok(again) => again,
                Err(e) => {
                    tracing::debug!(error = %e, deployment = %key.1, "deployment controller retry");
                    Some(crate::controllers::RETRY)
                }
            }
        }
    })
    .await;
}

async fn reconcile(ctx: &Ctx, key: &Key) -> Result<Option<Duration>, kube::Error> {
    let (ns, name) = key;
    let Some(d) = ctx.informers.deployments.cache().get(ns, name) else {
        return Ok(None);
    };
    let d: &Deployment = &d;
    let name = name.clone();
    let uid = d.metadata.uid.clone().unwrap_or_default();
    let d_api: Api<Deployment> = Api::namespaced(ctx.client.clone(), ns);
    let rs_api: Api<ReplicaSet> = Api::namespaced(ctx.client.clone(), ns);
    let owned: Vec<Arc<ReplicaSet>> = ctx
        .informers
        .replica_sets
        .cache()
        .controlled_by(&uid)
        .into_iter()
        .filter(|rs| rs.metadata.namespace.as_deref() == Some(ns.as_str()))
        .collect();
    let mut pods_by_rs: BTreeMap<String, Vec<Pod>> = BTreeMap::new();
    if is_recreate(d) {
        for rs in &owned {
            let rs_uid = rs.metadata.uid.clone().unwrap_or_default();
            let pods: Vec<Pod> = ctx
                .informers
                .pods
                .cache()
                .controlled_by(&rs_uid)
                .iter()
                .map(|p| (**p).clone())
                .collect();
            if !pods.is_empty() {
                pods_by_rs.insert(rs_uid, pods);
            }
        }
    }
    let observed = sync::Observed {
        deployment: d,
        replica_sets: owned.iter().map(|r| r.as_ref()).collect(),
        pods_by_rs_uid: &pods_by_rs,
    };
    let actions = sync::plan(&observed, chrono::Utc::now());
    let mut requeue: Option<Duration> = None;
    for action in actions {
        match action {
            sync::Action::CreateReplicaSet(rs) => {
                match rs_api.create(&PostParams::default(), &rs).await {
                    Ok(_) => {}
                    Err(kube::Error::Api(s)) if s.code == 409 => {
                        let existing = rs_api.get(&rs.name_any()).await?;
                        if let Some(status) = sync::on_create_already_exists(d, &existing) {
                            write_status(&d_api, d, status).await?;
                        }
                        return Ok(Some(Duration::from_millis(100)));
                    }
                    Err(e) => {
                        for a in sync::on_create_failed(
                            d,
                            &rs.name_any(),
                            &e.to_string(),
                            chrono::Utc::now(),
                        ) {
                            match a {
                                sync::Action::UpdateDeploymentStatus(s) => {
                                    write_status(&d_api, d, s).await?
                                }
                                sync::Action::Event {
                                    type_,
                                    reason,
                                    message,
                                } => event(ctx, d, &type_, &reason, &message).await,
                                _ => {}
                            }
                        }
                        return Err(e);
                    }
                }
            }
            sync::Action::UpdateReplicaSet {
                name: rs_name,
                replicas,
                min_ready_seconds,
                annotations,
            } => {
                let Some(mut rs) = owned
                    .iter()
                    .find(|r| r.name_any() == rs_name)
                    .map(|r| (**r).clone())
                else {
                    continue;
                };
                if let Some(spec) = rs.spec.as_mut() {
                    spec.replicas = Some(replicas);
                    spec.min_ready_seconds = min_ready_seconds;
                }
                rs.metadata.annotations = Some(annotations);
                match rs_api.replace(&rs_name, &PostParams::default(), &rs).await {
                    Ok(_) => {}
                    Err(kube::Error::Api(s)) if s.code == 409 => {
                        return Ok(Some(Duration::from_millis(100)));
                    }
                    Err(e) => return Err(e),
                }
            }
            sync::Action::DeleteReplicaSet { name: rs_name } => {
                match rs_api.delete(&rs_name, &DeleteParams::background()).await {
                    Ok(_) => {}
                    Err(kube::Error::Api(s)) if s.code == 404 => {}
                    Err(e) => return Err(e),
                }
            }
            sync::Action::UpdateDeploymentAnnotations(want) => {
                if d.metadata.annotations.as_ref().cloned().unwrap_or_default() != want {
                    // An update, as upstream's controller writes (its role
                    // may update deployments, not patch them); a conflict
                    // retries from the newer copy the informer brings.
                    let mut updated = d.clone();
                    updated.metadata.annotations = Some(want);
                    updated.status = None;
                    match d_api.replace(&name, &PostParams::default(), &updated).await {
                        Ok(_) => {}
                        Err(kube::Error::Api(s)) if s.code == 409 => {
                            return Ok(Some(Duration::from_millis(100)));
                        }
                        Err(e) => return Err(e),
                    }
                }
            }
            sync::Action::UpdateDeploymentStatus(status) => {
                if d.status.as_ref() != Some(&status) {
                    match write_status(&d_api, d, status).await {
                        Ok(()) => {}
                        Err(kube::Error::Api(s)) if s.code == 409 => {
                            return Ok(Some(Duration::from_millis(100)));
                        }
                        Err(e) => return Err(e),
                    }
                }
            }
            sync::Action::Event {
                type_,
                reason,
                message,
            } => event(ctx, d, &type_, &reason, &message).await,
            sync::Action::RequeueAfter(after) => {
                requeue = Some(if after.is_zero() {
                    Duration::from_millis(200)
                } else {
                    after
                });
            }
            sync::Action::Fail(msg) => {
                tracing::debug!(deployment = %name, error = %msg, "deployment sync failed");
                requeue = Some(crate::controllers::RETRY);
            }
        }
    }
    // While the rollout is not complete, look again shortly even without a
    // notification (progress deadlines, Recreate waiting for old pods).
    let complete = d
        .status
        .as_ref()
        .is_some_and(|s| util::deployment_complete(d, s));
    if requeue.is_none() && !complete {
        requeue = Some(Duration::from_secs(1));
    }
    Ok(requeue)
}

async fn write_status(
    api: &Api<Deployment>,
    d: &Deployment,
    status: k8s_openapi::api::apps::v1::DeploymentStatus,
) -> Result<(), kube::Error> {
    let mut updated = d.clone();
    updated.status = Some(status);
    api.replace_status(&d.name_any(), &PostParams::default(), &updated)
        .await
        .map(|_| ())
}

async fn event(ctx: &Ctx, d: &Deployment, type_: &str, reason: &str, message: &str) {
    let kind = if type_ == "Warning" {
        Kind::Warning
    } else {
        Kind::Normal
    };
    ctx.recorder
        .publish(&d.object_ref(&()), kind, reason, message)
        .await;
}
