//! The namespace controller: a deleted namespace (phase `Terminating`, spec
//! finalizer `kubernetes`) has all its content deleted, then the finalizer is
//! removed through `/finalize` and the API server removes the namespace.
//! Upstream: `pkg/controller/namespace/deletion/namespaced_resources_deleter.go`.
//!
//! The content is found through discovery at each deletion, as upstream's
//! `ServerPreferredNamespacedResources` filtered by the `delete` verb: every
//! namespaced resource of a preferred version, custom resources included.
//! A resource whose discovery lists `deletecollection` is emptied with one
//! request, any other is listed (if it supports `list`) and deleted item by
//! item, as upstream's `deleteAllContentForGroupVersionResource`.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::watcher;
use tokio::sync::Mutex;

use crate::controllers::shared::discovery::{DiscoveredResource, Discovery, DiscoveryClient};

struct Ctx {
    client: kube::Client,
    /// Remembers the last discovery answers (and their ETags).
    discovery: Mutex<DiscoveryClient>,
}

/// Runs the controller until the task is aborted.
pub async fn run(client: kube::Client) {
    let api: Api<Namespace> = Api::all(client.clone());
    let ctx = Arc::new(Ctx {
        discovery: Mutex::new(DiscoveryClient::new(client.clone())),
        client,
    });
    Controller::new(api, watcher::Config::default())
        .run(reconcile, error_policy, ctx)
        .for_each(|_| async {})
        .await;
}

fn error_policy(_ns: Arc<Namespace>, err: &Error, _ctx: Arc<Ctx>) -> Action {
    tracing::debug!(error = %err, "namespace controller retry");
    Action::requeue(crate::controllers::RETRY)
}

/// The namespaced resources whose content a namespace deletion removes:
/// those of preferred versions that support `delete`.
fn namespaced_resources(discovery: &Discovery) -> Vec<Arc<DiscoveredResource>> {
    discovery
        .preferred()
        .filter(|r| r.namespaced && r.supports_all(&["delete"]))
        // events.k8s.io events are the same objects as core events.
        .filter(|r| !(r.group == "events.k8s.io" && r.plural == "events"))
        .cloned()
        .collect()
}

#[derive(Debug)]
enum Error {
    Api(kube::Error),
    Discovery(crate::controllers::shared::discovery::DiscoveryError),
}

impl From<kube::Error> for Error {
    fn from(e: kube::Error) -> Self {
        Error::Api(e)
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Api(e) => write!(f, "{e}"),
            Error::Discovery(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for Error {}

async fn reconcile(ns: Arc<Namespace>, ctx: Arc<Ctx>) -> Result<Action, Error> {
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
    let discovery = ctx
        .discovery
        .lock()
        .await
        .discover()
        .await
        .map_err(Error::Discovery)?;
    let mut remaining: Vec<String> = Vec::new();
    for res in namespaced_resources(&discovery) {
        let api = res.api(&ctx.client, Some(&name));
        let can_list = res.supports_all(&["list"]);
        if res.supports_all(&["deletecollection"]) {
            let _ = api
                .delete_collection(&DeleteParams::background(), &ListParams::default())
                .await?;
        } else if can_list {
            for item in api.list(&ListParams::default()).await?.items {
                let Some(item_name) = item.metadata.name.as_deref() else {
                    continue;
                };
                match api.delete(item_name, &DeleteParams::background()).await {
                    Ok(_) => {}
                    Err(kube::Error::Api(s)) if s.code == 404 || s.code == 405 => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
        if !can_list {
            continue;
        }
        let left = api.list(&ListParams::default()).await?;
        if !left.items.is_empty() {
            remaining.push(format!(
                "{}.{} has {} resource instances",
                res.plural,
                res.group,
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
        Err(e) => Err(e.into()),
    }
}
