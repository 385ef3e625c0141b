//! A small operator written with kube-rs, run against ironkube as against any
//! Kubernetes API server: a `Website` custom resource (`#[derive(CustomResource)]`)
//! becomes a Deployment owned by it, and the Website's status reports the
//! Deployment's ready replicas through the `status` subresource.
//!
//! ```text
//! cargo run --release -- serve &                  # writes ./data/admin.kubeconfig
//! KUBECONFIG=data/admin.kubeconfig cargo run --example website_controller
//! kubectl apply -f - <<EOF
//! apiVersion: example.ironkube.dev/v1
//! kind: Website
//! metadata: {name: blog}
//! spec: {image: nginx:1.27, replicas: 2}
//! EOF
//! kubectl get websites        # READY turns 2/2 once the simulated nodes run the pods
//! ```
//!
//! The controller installs its CustomResourceDefinition itself (server-side
//! apply of `Website::crd()`) and waits until it is `Established`.
//! `tests/e2e_crd.rs` runs this example against `ironkube serve`.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::wait::{await_condition, conditions};
use kube::runtime::watcher;
use kube::{Client, CustomResource, CustomResourceExt, Resource, ResourceExt};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;

const MANAGER: &str = "website-controller";

/// The desired state of a Website.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, JsonSchema)]
#[kube(
    group = "example.ironkube.dev",
    version = "v1",
    kind = "Website",
    namespaced,
    status = "WebsiteStatus",
    shortname = "web",
    printcolumn = r#"{"name":"Image","type":"string","jsonPath":".spec.image"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.ready"}"#
)]
pub struct WebsiteSpec {
    pub image: String,
    pub replicas: i32,
}

/// What the controller observed.
#[derive(Serialize, Deserialize, Clone, Debug, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebsiteStatus {
    pub deployment: String,
    pub ready_replicas: i32,
    /// `ready/desired`, for the printer column.
    pub ready: String,
}

#[derive(Debug, thiserror::Error)]
enum Error {
    #[error("kube: {0}")]
    Kube(#[from] kube::Error),
    #[error("website has no namespace")]
    NoNamespace,
}

struct Ctx {
    client: Client,
}

/// The Deployment a Website asks for, owned by it.
fn deployment_for(site: &Website) -> Option<serde_json::Value> {
    let owner = site.controller_owner_ref(&())?;
    let name = site.name_any();
    Some(json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "ownerReferences": [owner]},
        "spec": {
            "replicas": site.spec.replicas,
            "selector": {"matchLabels": {"website": name}},
            "template": {
                "metadata": {"labels": {"website": name}},
                "spec": {"containers": [{"name": "web", "image": site.spec.image}]}
            }
        }
    }))
}

async fn reconcile(site: Arc<Website>, ctx: Arc<Ctx>) -> Result<Action, Error> {
    let ns = site.namespace().ok_or(Error::NoNamespace)?;
    let name = site.name_any();
    let deployments: Api<Deployment> = Api::namespaced(ctx.client.clone(), &ns);
    let ssa = PatchParams::apply(MANAGER).force();
    let Some(desired) = deployment_for(&site) else {
        return Ok(Action::await_change());
    };
    let dep = deployments
        .patch(&name, &ssa, &Patch::Apply(desired))
        .await?;
    let ready = dep
        .status
        .as_ref()
        .and_then(|s| s.ready_replicas)
        .unwrap_or(0);
    let status = WebsiteStatus {
        deployment: name.clone(),
        ready_replicas: ready,
        ready: format!("{ready}/{}", site.spec.replicas),
    };
    if site.status.as_ref().map(|s| &s.ready) != Some(&status.ready) {
        let sites: Api<Website> = Api::namespaced(ctx.client.clone(), &ns);
        let patch = json!({"status": status});
        sites
            .patch_status(&name, &PatchParams::default(), &Patch::Merge(patch))
            .await?;
    }
    Ok(Action::requeue(Duration::from_secs(300)))
}

fn error_policy(_site: Arc<Website>, err: &Error, _ctx: Arc<Ctx>) -> Action {
    eprintln!("website-controller: {err}");
    Action::requeue(Duration::from_secs(1))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let client = Client::try_default().await?;

    // Install (or update) the CRD and wait until the API serves it.
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let crd = Website::crd();
    let crd_name = crd.meta().name.clone().unwrap_or_default();
    crds.patch(
        &crd_name,
        &PatchParams::apply(MANAGER).force(),
        &Patch::Apply(&crd),
    )
    .await?;
    tokio::time::timeout(
        Duration::from_secs(30),
        await_condition(crds, &crd_name, conditions::is_crd_established()),
    )
    .await??;
    println!("website-controller: {crd_name} established");

    let sites: Api<Website> = Api::all(client.clone());
    let owned: Api<Deployment> = Api::all(client.clone());
    Controller::new(sites, watcher::Config::default())
        .owns(owned, watcher::Config::default())
        .run(reconcile, error_policy, Arc::new(Ctx { client }))
        .for_each(|res| async move {
            match res {
                Ok((obj, _)) => println!("website-controller: reconciled {}", obj.name),
                Err(e) => eprintln!("website-controller: {e}"),
            }
        })
        .await;
    Ok(())
}
