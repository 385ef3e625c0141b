//! The controllers of kube-controller-manager, a scheduler and simulated
//! nodes, all started by `ironkube serve`.
//!
//! Invariant: controllers reach state only through the API. They run on the
//! `kube` crate's runtime with a `kube::Client` whose transport is the
//! in-process router ([`in_process_client`]): every read and write is a real
//! Kubernetes API request (authenticated, validated, admitted, watched), just
//! without a socket.
//!
//! The shape is upstream's `pkg/controller`: what every controller shares is
//! in [`shared`] (informers and the slim cached pod, the work queue,
//! expectations, the event recorder, discovery, leader election); each
//! controller is a folder whose `mod.rs` is its I/O loop and whose other
//! files hold its pure decisions with their unit tests (`logic.rs`, or split
//! by concern as the Deployment controller's `sync`, `rolling`, `recreate`,
//! `progress` and `util`).
//!
//! Reads come from shared informers (`shared::informer`: one watch per kind,
//! an indexed cache, add/update/delete notifications), as
//! kube-controller-manager reads from its informer caches;
//! `shared::expectations` and the scheduler's assumed pods keep controllers
//! from acting on a cache that has not yet seen their own writes;
//! `shared::workqueue` is client-go's work queue.

use std::sync::Arc;

use http::HeaderValue;
use tokio::task::JoinHandle;

pub mod shared;

pub mod clusterroleaggregation;
pub mod cronjob;
pub mod daemonset;
pub mod deployment;
pub mod disruption;
pub mod gc;
pub mod job;
pub mod namespace;
pub mod nodelifecycle;
pub mod nodesim;
pub mod replicaset;
pub mod scheduler;
pub mod serviceaccount;
pub mod statefulset;
pub mod tokens;
pub mod ttlafterfinished;

use shared::informer;

/// What `serve` configures the controllers with.
#[derive(Debug, Clone)]
pub struct Config {
    /// PEM of the cluster CA, published as `kube-root-ca.crt` in every namespace.
    pub ca_cert_pem: String,
    /// The simulated nodes.
    pub nodes: nodesim::NodesConfig,
    /// Signs legacy service-account token secrets.
    pub sa_key: Arc<crate::auth::satokens::SigningKey>,
}

/// The User-Agent of each component, as upstream's binaries send it: the
/// server derives the default field manager from it (the part before `/`),
/// so status written by the controllers shows up in `managedFields` as
/// `kube-controller-manager`, `kube-scheduler` and `kubelet`, as upstream.
const CONTROLLER_MANAGER_UA: &str = "kube-controller-manager/v1.33.0 (linux/amd64) ironkube";
const SCHEDULER_UA: &str = "kube-scheduler/v1.33.0 (linux/amd64) ironkube";
const KUBELET_UA: &str = "kubelet/v1.33.0 (linux/amd64) ironkube";

/// A `kube::Client` whose requests go straight into `router`, authenticated
/// with `token`, sent as `user_agent`.
pub fn in_process_client(router: axum::Router, token: &str, user_agent: &str) -> kube::Client {
    let value = HeaderValue::from_str(&format!("Bearer {token}"))
        .unwrap_or_else(|_| HeaderValue::from_static("Bearer invalid"));
    client_with(router, user_agent, move |req| {
        req.headers_mut()
            .insert(http::header::AUTHORIZATION, value.clone());
    })
}

/// A `kube::Client` whose requests go straight into `router` as `user`
/// (an in-process identity: no token exists for it), sent as `user_agent`.
pub fn in_process_client_as(
    router: axum::Router,
    user: crate::auth::UserInfo,
    user_agent: &str,
) -> kube::Client {
    let who = crate::auth::InProcessUser(Arc::new(user));
    client_with(router, user_agent, move |req| {
        req.extensions_mut().insert(who.clone());
    })
}

fn client_with(
    router: axum::Router,
    user_agent: &str,
    authenticate: impl Fn(&mut http::Request<kube::client::Body>) + Clone + Send + Sync + 'static,
) -> kube::Client {
    let agent =
        HeaderValue::from_str(user_agent).unwrap_or_else(|_| HeaderValue::from_static("ironkube"));
    // A response (not its body: watches stream for long) that takes this long
    // is an error the controller retries, never a stuck controller.
    let service = tower::ServiceBuilder::new()
        .timeout(std::time::Duration::from_secs(30))
        .map_request(move |mut req: http::Request<kube::client::Body>| {
            authenticate(&mut req);
            req.headers_mut()
                .insert(http::header::USER_AGENT, agent.clone());
            req
        })
        .service(router);
    kube::Client::new(service, "default")
}

/// The identities the components act as, as upstream's
/// kube-controller-manager with `--use-service-account-credentials`: its
/// shared informers and token controller as `system:kube-controller-manager`,
/// each other controller as its own service account in `kube-system`
/// (bound to `system:controller:<name>` by the bootstrap policy), the
/// scheduler as `system:kube-scheduler`, each simulated kubelet as
/// `system:node:<name>`.
pub mod identity {
    use crate::auth::UserInfo;

    fn user(name: &str, groups: &[&str]) -> UserInfo {
        let mut groups: Vec<String> = groups.iter().map(|g| g.to_string()).collect();
        groups.push("system:authenticated".into());
        UserInfo {
            name: name.into(),
            groups,
            ..Default::default()
        }
    }

    pub fn controller_manager() -> UserInfo {
        user("system:kube-controller-manager", &[])
    }

    pub fn scheduler() -> UserInfo {
        user("system:kube-scheduler", &[])
    }

    /// A controller's service account (`kube-system/<name>`).
    pub fn controller(name: &str) -> UserInfo {
        user(
            &format!("system:serviceaccount:kube-system:{name}"),
            &[
                "system:serviceaccounts",
                "system:serviceaccounts:kube-system",
            ],
        )
    }

    pub fn node(name: &str) -> UserInfo {
        user(&format!("system:node:{name}"), &["system:nodes"])
    }

    /// The API server's own loopback identity (`system:apiserver`, a
    /// superuser), for the controllers that run inside it.
    pub fn apiserver() -> UserInfo {
        user("system:apiserver", &[crate::auth::authorizer::MASTERS])
    }
}

/// Starts every controller; the returned tasks run until aborted.
pub fn start(router: axum::Router, config: Config, with_scheduler: bool) -> Vec<JoinHandle<()>> {
    let as_controller = |name: &str| {
        in_process_client_as(
            router.clone(),
            identity::controller(name),
            CONTROLLER_MANAGER_UA,
        )
    };
    let root = in_process_client_as(
        router.clone(),
        identity::controller_manager(),
        CONTROLLER_MANAGER_UA,
    );
    let config = Arc::new(config);
    // One watch per kind, shared by the controllers that read it.
    let (informers, mut tasks) = informer::Informers::start(&root);
    tasks.push(tokio::spawn(ensure_service_accounts(root.clone())));
    tasks.extend([
        tokio::spawn(namespace::run(as_controller("namespace-controller"))),
        tokio::spawn(gc::run(as_controller("generic-garbage-collector"))),
        tokio::spawn(replicaset::run(
            as_controller("replicaset-controller"),
            informers.clone(),
            replicaset::Flavor::ReplicaSet,
        )),
        tokio::spawn(replicaset::run(
            as_controller("replication-controller"),
            informers.clone(),
            replicaset::Flavor::ReplicationController,
        )),
        tokio::spawn(deployment::run(
            as_controller("deployment-controller"),
            informers.clone(),
        )),
        tokio::spawn(job::run(as_controller("job-controller"), informers.clone())),
        tokio::spawn(disruption::run(
            as_controller("disruption-controller"),
            informers.clone(),
        )),
        tokio::spawn(cronjob::run(
            as_controller("cronjob-controller"),
            informers.clone(),
        )),
        tokio::spawn(daemonset::run(
            as_controller("daemon-set-controller"),
            informers.clone(),
        )),
        tokio::spawn(statefulset::run(
            as_controller("statefulset-controller"),
            informers.clone(),
        )),
        tokio::spawn(ttlafterfinished::run(
            as_controller("ttl-after-finished-controller"),
            informers.clone(),
        )),
        tokio::spawn(nodelifecycle::run(
            as_controller("node-controller"),
            root.clone(),
            config.nodes.lifecycle,
            informers.clone(),
        )),
        tokio::spawn(nodesim::run(
            Kubelets::new(router.clone()),
            config.nodes.clone(),
            informers.clone(),
        )),
        tokio::spawn(tokens::run(
            root.clone(),
            config.sa_key.clone(),
            config.ca_cert_pem.clone(),
        )),
        tokio::spawn(serviceaccount::run(
            serviceaccount::Clients {
                reads: root.clone(),
                service_accounts: as_controller("service-account-controller"),
                root_ca: as_controller("root-ca-cert-publisher"),
            },
            config.clone(),
        )),
        tokio::spawn(clusterroleaggregation::run(as_controller(
            "clusterrole-aggregation-controller",
        ))),
    ]);
    if with_scheduler {
        // Sharing the controllers' pod and node caches.
        let client = in_process_client_as(router.clone(), identity::scheduler(), SCHEDULER_UA);
        let own = Arc::new(scheduler::Informers {
            pods: informers.pods.clone(),
            nodes: informers.nodes.clone(),
        });
        tasks.push(tokio::spawn(scheduler::run(client, own)));
    }
    tasks
}

/// Starts the scheduler with pod and node informers of its own (as
/// kube-scheduler, a separate process upstream, has): it is elected apart
/// from the controllers.
pub fn start_scheduler(router: axum::Router) -> Vec<JoinHandle<()>> {
    use kube::api::Api;
    use kube::runtime::watcher;
    let client = in_process_client_as(router, identity::scheduler(), SCHEDULER_UA);
    let (pods, t1) =
        informer::Informer::start(Api::all(client.clone()), watcher::Config::default());
    let (nodes, t2) =
        informer::Informer::start(Api::all(client.clone()), watcher::Config::default());
    let informers = Arc::new(scheduler::Informers { pods, nodes });
    vec![t1, t2, tokio::spawn(scheduler::run(client, informers))]
}

/// The controllers that act as a `kube-system` service account.
const CONTROLLER_ACCOUNTS: [&str; 15] = [
    "clusterrole-aggregation-controller",
    "cronjob-controller",
    "daemon-set-controller",
    "deployment-controller",
    "disruption-controller",
    "generic-garbage-collector",
    "job-controller",
    "namespace-controller",
    "node-controller",
    "replicaset-controller",
    "replication-controller",
    "root-ca-cert-publisher",
    "service-account-controller",
    "statefulset-controller",
    "ttl-after-finished-controller",
];

/// Creates each controller's service account in `kube-system`, as
/// kube-controller-manager's client builder does before starting the
/// controller (`kubectl -n kube-system get serviceaccounts` lists them).
/// The identities work without them (they are in-process).
async fn ensure_service_accounts(root: kube::Client) {
    use k8s_openapi::api::core::v1::ServiceAccount;
    use kube::api::{Api, ObjectMeta, PostParams};
    let api: Api<ServiceAccount> = Api::namespaced(root, "kube-system");
    for name in CONTROLLER_ACCOUNTS {
        loop {
            let sa = ServiceAccount {
                metadata: ObjectMeta {
                    name: Some(name.into()),
                    ..Default::default()
                },
                ..Default::default()
            };
            match api.get_opt(name).await {
                Ok(Some(_)) => break,
                Ok(None) => match api.create(&PostParams::default(), &sa).await {
                    Ok(_) => break,
                    Err(kube::Error::Api(s)) if s.code == 409 => break,
                    Err(e) => {
                        tracing::debug!(error = %e, name, "creating a controller's service account")
                    }
                },
                Err(e) => {
                    tracing::debug!(error = %e, name, "reading a controller's service account")
                }
            }
            tokio::time::sleep(RETRY).await;
        }
    }
}

/// One client per simulated node, each as that node's identity.
#[derive(Clone)]
pub struct Kubelets {
    router: axum::Router,
    clients: Arc<std::sync::Mutex<std::collections::HashMap<String, kube::Client>>>,
}

impl Kubelets {
    pub fn new(router: axum::Router) -> Self {
        Kubelets {
            router,
            clients: Default::default(),
        }
    }

    /// The kubelet of `node`.
    pub fn of(&self, node: &str) -> kube::Client {
        if let Ok(m) = self.clients.lock()
            && let Some(c) = m.get(node)
        {
            return c.clone();
        }
        let c = in_process_client_as(self.router.clone(), identity::node(node), KUBELET_UA);
        if let Ok(mut m) = self.clients.lock() {
            m.insert(node.to_string(), c.clone());
        }
        c
    }
}

/// How long to wait before retrying after an error.
pub(crate) const RETRY: std::time::Duration = std::time::Duration::from_secs(1);
