//! The namespace controller: a deleted namespace (phase `Terminating`, spec
//! finalizer `kubernetes`) has all its content deleted, then the finalizer is
//! removed through `/finalize` and the API server removes the namespace.
//! Upstream: `pkg/controller/namespace/deletion/namespaced_resources_deleter.go`.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::watcher;

use crate::registry::resources::RESOURCES;

struct Ctx {
    client: kube::Client,
}

/// Runs the controller until the task is aborted.
pub async fn run(client: kube::Client) {
    let api: Api<Namespace> = Api::all(client.clone());
    let ctx = Arc::new(Ctx { client });
    Controller::new(api, watcher::Config::default())
        .run(reconcile, error_policy, ctx)
        .for_each(|_| async {})
        .await;
}

fn error_policy(_ns: Arc<Namespace>, err: &kube::Error, _ctx: Arc<Ctx>) -> Action {
    tracing::debug!(error = %err, "namespace controller retry");
    Action::requeue(super::RETRY)
}

/// The namespaced resources whose content a namespace deletion removes.
fn namespaced_resources() -> impl Iterator<Item = ApiResource> {
    RESOURCES.iter().filter(|r| r.namespaced).map(|r| {
        ApiResource::from_gvk_with_plural(
            &GroupVersionKind::gvk(r.group, r.version, r.kind),
            r.plural,
        )
    })
}

async fn reconcile(ns: Arc<Namespace>, ctx: Arc<Ctx>) -> Result<Action, kube::Error> {
    if ns.metadata.deletion_timestamp.is_none() {
        return Ok(Action::await_change());
    }
    let finalizers = ns
        .spec
        .as_ref()
        .and_then(|s| s.finalizers.clone())
        .unwrap_or_default();
    if !finalizers.iter().any(|f| f == "kubernetes") {
        return Ok(Action::await_change());
    }
    let name = ns.metadata.name.clone().unwrap_or_default();
    let mut remaining: Vec<String> = Vec::new();
    for ar in namespaced_resources() {
        // events.k8s.io events are the same objects as core events.
        if ar.group == "events.k8s.io" {
            continue;
        }
        let api: Api<DynamicObject> = Api::namespaced_with(ctx.client.clone(), &name, &ar);
        let _ = api
            .delete_collection(&DeleteParams::background(), &ListParams::default())
            .await?;
        let left = api.list(&ListParams::default()).await?;
        if !left.items.is_empty() {
            remaining.push(format!(
                "{}.{} has {} resource instances",
                ar.plural,
                ar.group,
                left.items.len()
            ));
        }
    }
    if !remaining.is_empty() {
        tracing::debug!(namespace = %name, ?remaining, "waiting for content to go");
        // Pods wait for their kubelet; finalizers wait for their controllers.
        return Ok(Action::requeue(Duration::from_millis(500)));
    }
    // All content is gone: drop our finalizer (`PUT .../finalize`).
    let api: Api<Namespace> = Api::all(ctx.client.clone());
    let mut body = (*ns).clone();
    if let Some(spec) = body.spec.as_mut() {
        spec.finalizers = Some(
            finalizers
                .into_iter()
                .filter(|f| f != "kubernetes")
                .collect(),
        );
    }
    match api
        .replace_subresource("finalize", &name, &PostParams::default(), &body)
        .await
    {
        Ok(_) => Ok(Action::await_change()),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(Action::await_change()),
        Err(e) => Err(e),
    }
}
