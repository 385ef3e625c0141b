//! Every active namespace gets a `default` ServiceAccount (upstream
//! `pkg/controller/serviceaccount/serviceaccounts_controller.go`) and the
//! `kube-root-ca.crt` ConfigMap with the cluster CA (`pkg/controller/certificates/rootcacertpublisher`).

use std::collections::BTreeMap;
use std::sync::Arc;

use futures::StreamExt;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, ServiceAccount};
use kube::api::{Api, ObjectMeta, Patch, PatchParams, PostParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher;

use super::Config;

const ROOT_CA: &str = "kube-root-ca.crt";
const ROOT_CA_DESCRIPTION: &str = "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.";

struct Ctx {
    client: kube::Client,
    config: Arc<Config>,
}

pub async fn run(client: kube::Client, config: Arc<Config>) {
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let sas: Api<ServiceAccount> = Api::all(client.clone());
    let cms: Api<ConfigMap> = Api::all(client.clone());
    let to_ns = |meta: &ObjectMeta| {
        meta.namespace
            .clone()
            .map(|ns| ObjectRef::<Namespace>::new(&ns))
    };
    let ctx = Arc::new(Ctx { client, config });
    Controller::new(namespaces, watcher::Config::default())
        .watches(
            sas,
            watcher::Config::default().fields("metadata.name=default"),
            move |sa: ServiceAccount| to_ns(&sa.metadata),
        )
        .watches(
            cms,
            watcher::Config::default().fields(&format!("metadata.name={ROOT_CA}")),
            move |cm: ConfigMap| to_ns(&cm.metadata),
        )
        .run(reconcile, error_policy, ctx)
        .for_each(|_| async {})
        .await;
}

fn error_policy(_ns: Arc<Namespace>, err: &kube::Error, _ctx: Arc<Ctx>) -> Action {
    tracing::debug!(error = %err, "serviceaccount controller retry");
    Action::requeue(super::RETRY)
}

/// Creating into a namespace that is going away is refused; that is fine.
fn ignore_expected(r: Result<(), kube::Error>) -> Result<(), kube::Error> {
    match r {
        Err(kube::Error::Api(s)) if matches!(s.code, 403 | 404 | 409) => Ok(()),
        other => other,
    }
}

async fn reconcile(ns: Arc<Namespace>, ctx: Arc<Ctx>) -> Result<Action, kube::Error> {
    if ns.metadata.deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    let name = ns.metadata.name.clone().unwrap_or_default();
    let sas: Api<ServiceAccount> = Api::namespaced(ctx.client.clone(), &name);
    if sas.get_opt("default").await?.is_none() {
        let sa = ServiceAccount {
            metadata: ObjectMeta {
                name: Some("default".into()),
                ..Default::default()
            },
            ..Default::default()
        };
        ignore_expected(sas.create(&PostParams::default(), &sa).await.map(|_| ()))?;
    }
    let cms: Api<ConfigMap> = Api::namespaced(ctx.client.clone(), &name);
    let want = BTreeMap::from([("ca.crt".to_string(), ctx.config.ca_cert_pem.clone())]);
    match cms.get_opt(ROOT_CA).await? {
        None => {
            let cm = ConfigMap {
                metadata: ObjectMeta {
                    name: Some(ROOT_CA.into()),
                    annotations: Some(BTreeMap::from([(
                        "kubernetes.io/description".to_string(),
                        ROOT_CA_DESCRIPTION.to_string(),
                    )])),
                    ..Default::default()
                },
                data: Some(want),
                ..Default::default()
            };
            ignore_expected(cms.create(&PostParams::default(), &cm).await.map(|_| ()))?;
        }
        Some(cm) if cm.data.as_ref() != Some(&want) => {
            let patch = serde_json::json!({"data": want});
            ignore_expected(
                cms.patch(ROOT_CA, &PatchParams::default(), &Patch::Merge(&patch))
                    .await
                    .map(|_| ()),
            )?;
        }
        Some(_) => {}
    }
    Ok(Action::await_change())
}
