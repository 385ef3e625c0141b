//! The tokens controller: a Secret of type
//! `kubernetes.io/service-account-token` annotated with
//! `kubernetes.io/service-account.name` gets `data.token` (a signed legacy
//! JWT), `data.ca.crt` and `data.namespace`, and the account's uid in
//! `kubernetes.io/service-account.uid`; such secrets are deleted when their
//! account goes away. Upstream: `pkg/controller/serviceaccount/tokens_controller.go`.

use std::collections::BTreeMap;
use std::sync::Arc;

use futures::StreamExt;
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{Secret, ServiceAccount};
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, PostParams, Preconditions};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher;

use crate::auth::satokens::{self, SigningKey};

const TOKEN_TYPE: &str = "kubernetes.io/service-account-token";
const SA_NAME: &str = "kubernetes.io/service-account.name";
const SA_UID: &str = "kubernetes.io/service-account.uid";

struct Ctx {
    client: kube::Client,
    key: Arc<SigningKey>,
    ca_cert_pem: String,
}

pub async fn run(client: kube::Client, key: Arc<SigningKey>, ca_cert_pem: String) {
    let secrets: Api<Secret> = Api::all(client.clone());
    let sas: Api<ServiceAccount> = Api::all(client.clone());
    let ctx = Arc::new(Ctx {
        client,
        key,
        ca_cert_pem,
    });
    let controller = Controller::new(
        secrets,
        watcher::Config::default().fields(&format!("type={TOKEN_TYPE}")),
    );
    let store = controller.store();
    controller
        .watches(
            sas,
            watcher::Config::default(),
            move |sa: ServiceAccount| {
                store
                    .state()
                    .iter()
                    .filter(|s| {
                        s.namespace() == sa.namespace()
                            && s.annotations().get(SA_NAME).map(String::as_str)
                                == sa.metadata.name.as_deref()
                    })
                    .map(|s| ObjectRef::from_obj(s.as_ref()))
                    .collect::<Vec<_>>()
            },
        )
        .run(reconcile, error_policy, ctx)
        .for_each(|_| async {})
        .await;
}

fn error_policy(_s: Arc<Secret>, err: &kube::Error, _ctx: Arc<Ctx>) -> Action {
    tracing::debug!(error = %err, "tokens controller retry");
    Action::requeue(crate::controllers::RETRY)
}

async fn reconcile(secret: Arc<Secret>, ctx: Arc<Ctx>) -> Result<Action, kube::Error> {
    let ns = secret.namespace().unwrap_or_default();
    let name = secret.name_any();
    let Some(sa_name) = secret.annotations().get(SA_NAME).cloned() else {
        return Ok(Action::await_change());
    };
    if secret.metadata.deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    let sa_api: Api<ServiceAccount> = Api::namespaced(ctx.client.clone(), &ns);
    let secrets: Api<Secret> = Api::namespaced(ctx.client.clone(), &ns);
    let sa = sa_api.get_opt(&sa_name).await?;
    let want_uid = secret.annotations().get(SA_UID).cloned();
    let sa_uid = sa.as_ref().and_then(|s| s.metadata.uid.clone());
    let gone = match (&sa_uid, &want_uid) {
        (None, _) => true,
        (Some(have), Some(want)) => !want.is_empty() && have != want,
        (Some(_), None) => false,
    };
    if gone {
        // The account this token was for no longer exists.
        let dp = DeleteParams {
            preconditions: Some(Preconditions {
                uid: secret.metadata.uid.clone(),
                resource_version: None,
            }),
            ..Default::default()
        };
        return match secrets.delete(&name, &dp).await {
            Ok(_) => Ok(Action::await_change()),
            Err(kube::Error::Api(s)) if s.code == 404 || s.code == 409 => {
                Ok(Action::await_change())
            }
            Err(e) => Err(e),
        };
    }
    let sa_uid = sa_uid.unwrap_or_default();
    let data = secret.data.clone().unwrap_or_default();
    let has = |k: &str| data.get(k).is_some_and(|v| !v.0.is_empty());
    if has("token")
        && has("ca.crt")
        && has("namespace")
        && want_uid.as_deref() == Some(sa_uid.as_str())
    {
        return Ok(Action::await_change());
    }
    let mut updated = (*secret).clone();
    let mut data: BTreeMap<String, ByteString> = updated.data.take().unwrap_or_default();
    if !has("token") {
        let token = satokens::legacy_token(&ctx.key, &ns, &sa_name, &sa_uid, &name)
            .map_err(|e| kube::Error::Service(e.into()))?;
        data.insert("token".into(), ByteString(token.into_bytes()));
    }
    data.insert(
        "ca.crt".into(),
        ByteString(ctx.ca_cert_pem.clone().into_bytes()),
    );
    data.insert("namespace".into(), ByteString(ns.clone().into_bytes()));
    updated.data = Some(data);
    updated
        .metadata
        .annotations
        .get_or_insert_with(BTreeMap::new)
        .insert(SA_UID.into(), sa_uid);
    match secrets
        .replace(&name, &PostParams::default(), &updated)
        .await
    {
        Ok(_) => Ok(Action::await_change()),
        Err(kube::Error::Api(s)) if s.code == 409 || s.code == 404 => {
            Ok(Action::requeue(crate::controllers::RETRY))
        }
        Err(e) => Err(e),
    }
}
