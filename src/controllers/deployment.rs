//! The Deployment controller's I/O loop (decisions in `deployment_logic.rs`).
//! Upstream: `pkg/controller/deployment/deployment_controller.go`.
//!
//! Each sync reads the Deployment, the ReplicaSets it controls and (for
//! Recreate) their pods with consistent lists, asks `plan` for one rollout
//! step, and applies the resulting writes in order, stopping at the first
//! failure. The writes change watched objects, which brings the next sync.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::controller::{Action as Requeue, Controller};
use kube::runtime::watcher;
use kube::{Resource, ResourceExt};
use serde_json::json;

use super::deployment_logic as logic;
use super::events::{Kind, Recorder};

struct Ctx {
    client: kube::Client,
    recorder: Recorder,
}

pub async fn run(client: kube::Client) {
    let deployments: Api<Deployment> = Api::all(client.clone());
    let rs: Api<ReplicaSet> = Api::all(client.clone());
    let recorder = Recorder::new(client.clone(), "deployment-controller");
    let ctx = Arc::new(Ctx { client, recorder });
    Controller::new(deployments, watcher::Config::default())
        .owns(rs, watcher::Config::default())
        .run(reconcile, error_policy, ctx)
        .for_each(|_| async {})
        .await;
}

fn error_policy(_d: Arc<Deployment>, err: &kube::Error, _ctx: Arc<Ctx>) -> Requeue {
    tracing::debug!(error = %err, "deployment controller retry");
    Requeue::requeue(super::RETRY)
}

fn controlled_by(meta: &kube::api::ObjectMeta, uid: &str) -> bool {
    meta.owner_references.as_ref().is_some_and(|refs| {
        refs.iter()
            .any(|r| r.controller == Some(true) && r.uid == uid)
    })
}

async fn reconcile(d: Arc<Deployment>, ctx: Arc<Ctx>) -> Result<Requeue, kube::Error> {
    let ns = d.namespace().unwrap_or_default();
    let name = d.name_any();
    let d_api: Api<Deployment> = Api::namespaced(ctx.client.clone(), &ns);
    let Some(d) = d_api.get_opt(&name).await? else {
        return Ok(Requeue::await_change());
    };
    let uid = d.metadata.uid.clone().unwrap_or_default();
    let rs_api: Api<ReplicaSet> = Api::namespaced(ctx.client.clone(), &ns);
    let owned: Vec<ReplicaSet> = rs_api
        .list(&ListParams::default())
        .await?
        .items
        .into_iter()
        .filter(|rs| controlled_by(&rs.metadata, &uid))
        .collect();
    let mut pods_by_rs: BTreeMap<String, Vec<Pod>> = BTreeMap::new();
    if d.spec
        .as_ref()
        .and_then(|s| s.strategy.as_ref())
        .and_then(|s| s.type_.as_deref())
        == Some("Recreate")
    {
        let pods: Api<Pod> = Api::namespaced(ctx.client.clone(), &ns);
        for p in pods.list(&ListParams::default()).await?.items {
            if let Some(owner) = p
                .metadata
                .owner_references
                .as_ref()
                .and_then(|r| r.iter().find(|o| o.controller == Some(true)))
            {
                pods_by_rs.entry(owner.uid.clone()).or_default().push(p);
            }
        }
    }
    let observed = logic::Observed {
        deployment: &d,
        replica_sets: owned.iter().collect(),
        pods_by_rs_uid: &pods_by_rs,
    };
    let actions = logic::plan(&observed, chrono::Utc::now());
    let mut requeue: Option<Duration> = None;
    for action in actions {
        match action {
            logic::Action::CreateReplicaSet(rs) => {
                match rs_api.create(&PostParams::default(), &rs).await {
                    Ok(_) => {}
                    Err(kube::Error::Api(s)) if s.code == 409 => {
                        let existing = rs_api.get(&rs.name_any()).await?;
                        if let Some(status) = logic::on_create_already_exists(&d, &existing) {
                            write_status(&d_api, &d, status).await?;
                        }
                        return Ok(Requeue::requeue(Duration::from_millis(100)));
                    }
                    Err(e) => {
                        for a in logic::on_create_failed(
                            &d,
                            &rs.name_any(),
                            &e.to_string(),
                            chrono::Utc::now(),
                        ) {
                            match a {
                                logic::Action::UpdateDeploymentStatus(s) => {
                                    write_status(&d_api, &d, s).await?
                                }
                                logic::Action::Event {
                                    type_,
                                    reason,
                                    message,
                                } => event(&ctx, &d, &type_, &reason, &message).await,
                                _ => {}
                            }
                        }
                        return Err(e);
                    }
                }
            }
            logic::Action::UpdateReplicaSet {
                name: rs_name,
                replicas,
                min_ready_seconds,
                annotations,
            } => {
                let Some(mut rs) = owned.iter().find(|r| r.name_any() == rs_name).cloned() else {
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
                        return Ok(Requeue::requeue(Duration::from_millis(100)));
                    }
                    Err(e) => return Err(e),
                }
            }
            logic::Action::DeleteReplicaSet { name: rs_name } => {
                match rs_api.delete(&rs_name, &DeleteParams::background()).await {
                    Ok(_) => {}
                    Err(kube::Error::Api(s)) if s.code == 404 => {}
                    Err(e) => return Err(e),
                }
            }
            logic::Action::UpdateDeploymentAnnotations(want) => {
                let current = d.metadata.annotations.clone().unwrap_or_default();
                let mut patch = serde_json::Map::new();
                for (k, v) in &want {
                    if current.get(k) != Some(v) {
                        patch.insert(k.clone(), json!(v));
                    }
                }
                for k in current.keys() {
                    if !want.contains_key(k) {
                        patch.insert(k.clone(), serde_json::Value::Null);
                    }
                }
                if !patch.is_empty() {
                    let body = json!({"metadata": {"annotations": patch}});
                    d_api
                        .patch(&name, &PatchParams::default(), &Patch::Merge(&body))
                        .await?;
                }
            }
            logic::Action::UpdateDeploymentStatus(status) => {
                if d.status.as_ref() != Some(&status) {
                    match write_status(&d_api, &d, status).await {
                        Ok(()) => {}
                        Err(kube::Error::Api(s)) if s.code == 409 => {
                            return Ok(Requeue::requeue(Duration::from_millis(100)));
                        }
                        Err(e) => return Err(e),
                    }
                }
            }
            logic::Action::Event {
                type_,
                reason,
                message,
            } => event(&ctx, &d, &type_, &reason, &message).await,
            logic::Action::RequeueAfter(after) => {
                requeue = Some(if after.is_zero() {
                    Duration::from_millis(200)
                } else {
                    after
                });
            }
            logic::Action::Fail(msg) => {
                tracing::debug!(deployment = %name, error = %msg, "deployment sync failed");
                requeue = Some(super::RETRY);
            }
        }
    }
    // Recreate waits for old pods to disappear, which changes no watched
    // object: look again shortly while the rollout is not complete.
    let complete = d
        .status
        .as_ref()
        .is_some_and(|s| logic::deployment_complete(&d, s));
    if requeue.is_none() && !complete {
        requeue = Some(Duration::from_secs(1));
    }
    Ok(match requeue {
        Some(after) => Requeue::requeue(after),
        None => Requeue::await_change(),
    })
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
