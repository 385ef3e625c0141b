//! Every active namespace gets a `default` ServiceAccount (upstream
//! `pkg/controller/serviceaccount/serviceaccounts_controller.go`) and the
//! `kube-root-ca.crt` ConfigMap with the cluster CA (`pkg/controller/certificates/rootcacertpublisher`).

use std::collections::BTreeMap;
use std::sync::Arc;

use futures::StreamExt;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, ServiceAccount};
use kube::api::{Api, ObjectMeta, PostParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher;

use crate::controllers::Config;

const ROOT_CA: &str = "kube-root-ca.crt";
const ROOT_CA_DESCRIPTION: &str = "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.";

/// The clients of the two upstream controllers this one plays, each with
/// only its bootstrap role's rights: reads as kube-controller-manager (its
/// shared informers), writes as `service-account-controller` (service
/// accounts) and `root-ca-cert-publisher` (the CA config map).
pub struct Clients {
    pub reads: kube::Client,
    pub service_accounts: kube::Client,
    pub root_ca: kube::Client,
}

struct Ctx {
    clients: Clients,
    config: Arc<Config>,
}

pub async fn run(clients: Clients, config: Arc<Config>) {
    let namespaces: Api<Namespace> = Api::all(clients.reads.clone());
    let sas: Api<ServiceAccount> = Api::all(clients.reads.clone());
    let cms: Api<ConfigMap> = Api::all(clients.reads.clone());
    let to_ns = |meta: &ObjectMeta| {
        meta.namespace
            .clone()
            .map(|ns| ObjectRef::<Namespace>::new(&ns))
    };
    let ctx = Arc::new(Ctx { clients, config });
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
    Action::requeue(crate::controllers::RETRY)
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
    let sas: Api<ServiceAccount> = Api::namespaced(ctx.clients.reads.clone(), &name);
    if sas.get_opt("default").await?.is_none() {
        let sas: Api<ServiceAccount> = Api::namespaced(ctx.clients.service_accounts.clone(), &name);
        let sa = ServiceAccount {
            metadata: ObjectMeta {
                name: Some("default".into()),
                ..Default::default()
            },
            ..Default::default()
        };
        ignore_expected(sas.create(&PostParams::default(), &sa).await.map(|_| ()))?;
    }
    let cms: Api<ConfigMap> = Api::namespaced(ctx.clients.reads.clone(), &name);
    let writes: Api<ConfigMap> = Api::namespaced(ctx.clients.root_ca.clone(), &name);
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
            ignore_expected(writes.create(&PostParams::default(), &cm).await.map(|_| ()))?;
        }
        Some(mut cm) if cm.data.as_ref() != Some(&want) => {
            // An update, as upstream's publisher writes (its role has no patch).
            cm.data = Some(want);
            ignore_expected(
                writes
                    .replace(ROOT_CA, &PostParams::default(), &cm)
                    .await
                    .map(|_| ()),
            )?;
        }
        Some(_) => {}
    }
    Ok(Action::await_change())
}
