//! The controllers of kube-controller-manager, a scheduler and simulated
//! nodes, all started by `ironkube serve`.
//!
//! Invariant: controllers reach state only through the API. They run on the
//! `kube` crate's runtime with a `kube::Client` whose transport is the
//! in-process router ([`in_process_client`]): every read and write is a real
//! Kubernetes API request (authenticated, validated, admitted, watched), just
//! without a socket. The pure decisions live in `*_logic.rs` files with unit
//! tests; the files named after a controller hold only its I/O loop.
//!
//! Reads come from shared informers (`informer.rs`: one watch per kind, an
//! indexed cache, add/update/delete notifications), as kube-controller-manager
//! reads from its informer caches; `expectations.rs` and the scheduler's
//! assumed pods keep controllers from acting on a cache that has not yet seen
//! their own writes; `workqueue.rs` is client-go's work queue.

use std::sync::Arc;

use http::HeaderValue;
use tokio::task::JoinHandle;

pub mod cached_pod;
pub mod deployment;
pub mod deployment_logic;
pub mod discovery;
pub mod events;
pub mod expectations;
pub mod gc;
pub mod informer;
pub mod namespace;
pub mod nodelifecycle;
pub mod nodelifecycle_logic;
pub mod nodesim;
pub mod nodesim_logic;
pub mod replicaset;
pub mod replicaset_logic;
pub mod scheduler;
pub mod scheduler_logic;
pub mod serviceaccount;
pub mod tokens;
pub mod workqueue;

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
    let agent =
        HeaderValue::from_str(user_agent).unwrap_or_else(|_| HeaderValue::from_static("ironkube"));
    // A response (not its body: watches stream for long) that takes this long
    // is an error the controller retries, never a stuck controller.
    let service = tower::ServiceBuilder::new()
        .timeout(std::time::Duration::from_secs(30))
        .map_request(move |mut req: http::Request<kube::client::Body>| {
            req.headers_mut()
                .insert(http::header::AUTHORIZATION, value.clone());
            req.headers_mut()
                .insert(http::header::USER_AGENT, agent.clone());
            req
        })
        .service(router);
    kube::Client::new(service, "default")
}

/// Starts every controller; the returned tasks run until aborted.
pub fn start(router: axum::Router, token: &str, config: Config) -> Vec<JoinHandle<()>> {
    let client = in_process_client(router.clone(), token, CONTROLLER_MANAGER_UA);
    let scheduler_client = in_process_client(router.clone(), token, SCHEDULER_UA);
    let kubelet_client = in_process_client(router, token, KUBELET_UA);
    let config = Arc::new(config);
    // One watch per kind, shared by the controllers that read it.
    let (informers, mut tasks) = informer::Informers::start(&client);
    tasks.extend([
        tokio::spawn(namespace::run(client.clone())),
        tokio::spawn(gc::run(client.clone())),
        tokio::spawn(replicaset::run(client.clone(), informers.clone())),
        tokio::spawn(deployment::run(client.clone(), informers.clone())),
        tokio::spawn(scheduler::run(scheduler_client, informers.clone())),
        tokio::spawn(nodelifecycle::run(
            client.clone(),
            config.nodes.lifecycle,
            informers.clone(),
        )),
        tokio::spawn(nodesim::run(
            kubelet_client,
            config.nodes.clone(),
            informers.clone(),
        )),
        tokio::spawn(tokens::run(
            client.clone(),
            config.sa_key.clone(),
            config.ca_cert_pem.clone(),
        )),
        tokio::spawn(serviceaccount::run(client.clone(), config.clone())),
    ]);
    tasks
}

/// How long to wait before retrying after an error.
pub(crate) const RETRY: std::time::Duration = std::time::Duration::from_secs(1);
