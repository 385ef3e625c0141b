//! Simulated nodes: the I/O loop of ironkube's fake kubelets and of the
//! node lifecycle controller's NotReady handling (decisions and the stage
//! table in `nodesim_logic.rs`).
//!
//! One task owns every simulated node. It registers the `Node` objects and
//! their `kube-node-lease` Leases, renews the leases, and drives each pod
//! bound to one of its nodes through the stage table: a timer per pod fires
//! at the step's time, the step is recomputed from the latest pod (it may
//! have changed) and applied through the API (`pods/status`, or a delete with
//! grace period 0 as a kubelet does). Nodes and pods are read from the shared
//! informer caches (`informer.rs`); a pod version already acted on is not
//! acted on again until the cache shows a newer one.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::{FutureExt, StreamExt};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Node;
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams, Preconditions};
use serde_json::json;

use crate::controllers::Kubelets;
use crate::controllers::shared::cached_pod::Pod;
use crate::controllers::shared::informer::{Cache, Informers};
pub mod logic;
pub use crate::controllers::nodesim::logic::SimConfig;

/// How many nodes, and how they behave.
#[derive(Debug, Clone)]
pub struct NodesConfig {
    pub count: usize,
    pub sim: SimConfig,
    /// The node lifecycle controller's grace periods (every node).
    pub lifecycle: crate::controllers::nodelifecycle::logic::LifecycleConfig,
}

/// How many pod writes are in flight at once.
const APPLY_CONCURRENCY: usize = 64;

fn node_name(i: usize) -> String {
    format!("node-{i}")
}

async fn register(kubelets: &Kubelets, cfg: &NodesConfig) -> Result<(), kube::Error> {
    let now = Utc::now();
    for i in 0..cfg.count {
        let name = node_name(i);
        let client = &kubelets.of(&name);
        let nodes: Api<Node> = Api::all(client.clone());
        let node = match nodes.get_opt(&name).await? {
            Some(n) => n,
            None => match nodes
                .create(
                    &PostParams::default(),
                    &logic::node_object(&name, i, &cfg.sim, now),
                )
                .await
            {
                Ok(n) => n,
                Err(kube::Error::Api(s)) if s.code == 409 => nodes.get(&name).await?,
                Err(e) => return Err(e),
            },
        };
        if !logic::node_is_stopped(&node) {
            post_node_status(&nodes, &node, now).await?;
            renew_lease(client, &node, now).await?;
        }
    }
    Ok(())
}

async fn post_node_status(
    nodes: &Api<Node>,
    node: &Node,
    now: DateTime<Utc>,
) -> Result<(), kube::Error> {
    let status = logic::node_heartbeat(node, now);
    let patch = json!({"status": status});
    nodes
        .patch_status(
            &node.name_any(),
            &PatchParams::default(),
            &Patch::Merge(&patch),
        )
        .await
        .map(|_| ())
}

async fn renew_lease(
    client: &kube::Client,
    node: &Node,
    now: DateTime<Utc>,
) -> Result<(), kube::Error> {
    let leases: Api<Lease> = Api::namespaced(client.clone(), logic::NODE_LEASE_NAMESPACE);
    let name = node.name_any();
    let lease = logic::node_lease(
        &name,
        node.metadata.uid.as_deref().unwrap_or_default(),
        now,
        logic::NODE_LEASE_DURATION_SECONDS,
    );
    match leases.get_opt(&name).await? {
        None => match leases.create(&PostParams::default(), &lease).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(s)) if s.code == 409 => Ok(()),
            Err(e) => Err(e),
        },
        Some(_) => {
            let patch = json!({"spec": {"renewTime": lease.spec.and_then(|s| s.renew_time)}});
            leases
                .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
                .await
                .map(|_| ())
        }
    }
}

/// Index of a node we simulate, from its name.
fn our_index(name: &str, count: usize) -> Option<usize> {
    name.strip_prefix("node-")
        .and_then(|i| i.parse::<usize>().ok())
        .filter(|i| *i < count)
}

/// Runs the simulated nodes until the task is aborted.
pub async fn run(kubelets: Kubelets, cfg: NodesConfig, informers: Arc<Informers>) {
    if cfg.count == 0 {
        return;
    }
    while let Err(e) = register(&kubelets, &cfg).await {
        tracing::debug!(error = %e, "registering nodes");
        tokio::time::sleep(crate::controllers::RETRY).await;
    }
    // Only that something changed matters: each tick reads the caches.
    let mut node_changes = informers.nodes.subscribe_map(|_| ());
    let mut pod_changes = informers.pods.subscribe_map(|_| ());
    informers.nodes.wait_synced().await;
    informers.pods.wait_synced().await;
    let mut sim = Sim {
        kubelets: kubelets.clone(),
        cfg,
        ips: HashMap::new(),
        timers: BTreeSet::new(),
        last_lease: Utc::now(),
        last_status: Utc::now(),
        marked: HashMap::new(),
        acted: HashMap::new(),
    };
    loop {
        let next_timer = sim.timers.first().map(|(at, _)| *at);
        let wait = match next_timer {
            Some(at) => (at - Utc::now())
                .to_std()
                .unwrap_or(Duration::ZERO)
                .min(Duration::from_secs(1)),
            None => Duration::from_secs(1),
        };
        tokio::select! {
            c = node_changes.recv() => if c.is_none() { return },
            c = pod_changes.recv() => if c.is_none() { return },
            _ = tokio::time::sleep(wait) => {},
        }
        while let Some(Some(_)) = node_changes.recv().now_or_never() {}
        while let Some(Some(_)) = pod_changes.recv().now_or_never() {}
        sim.tick(informers.nodes.cache(), informers.pods.cache())
            .await;
    }
}

/// (pod, node) resourceVersions.
type Versions = (String, String);

struct Sim {
    /// Each node acts as itself (`system:node:<name>`).
    kubelets: Kubelets,
    cfg: NodesConfig,
    ips: HashMap<usize, logic::IpAllocator>,
    /// (when, "namespace/name") of pods that have a step due.
    timers: BTreeSet<(DateTime<Utc>, String)>,
    last_lease: DateTime<Utc>,
    last_status: DateTime<Utc>,
    /// Nodes currently marked NotReady, and when.
    marked: HashMap<String, bool>,
    /// Pod uid → the (pod, node) resourceVersions we last acted on, or found
    /// nothing to do at: until the watch shows a newer version of either,
    /// acting again would only conflict, and looking again would find the
    /// same (a step's time comes from the pod's own timestamps).
    acted: HashMap<String, Versions>,
}

impl Sim {
    async fn tick(&mut self, nodes: &Cache<Node>, pods: &Cache<Pod>) {
        let now = Utc::now();
        let node_list = nodes.list();
        let by_name: HashMap<String, (usize, &Node)> = node_list
            .iter()
            .filter(|n| {
                n.labels().get(logic::SIM_NODE_LABEL.0).map(String::as_str)
                    == Some(logic::SIM_NODE_LABEL.1)
            })
            .filter_map(|n| {
                // Any `node-<i>` with the simulation label is simulated, so
                // a node added later (`kubectl apply` of a Node labelled
                // `type: ironkube`) joins, as kwok adopts its nodes.
                our_index(&n.name_any(), usize::MAX).map(|i| (n.name_any(), (i, n.as_ref())))
            })
            .collect();
        self.heartbeats(&by_name, now).await;
        // Recompute every bound pod's next step; apply the due ones.
        self.timers.clear();
        let all = pods.list();
        let mut due = Vec::new();
        for pod in &all {
            let Some(node) = pod.spec.as_ref().and_then(|s| s.node_name.clone()) else {
                continue;
            };
            let Some((idx, node_obj)) = by_name.get(&node) else {
                continue;
            };
            let ips = self
                .ips
                .entry(*idx)
                .or_insert_with(|| logic::IpAllocator::new(*idx));
            if let (Some(uid), Some(ip)) = (
                pod.metadata.uid.as_deref(),
                pod.status.as_ref().and_then(|s| s.pod_ip.as_deref()),
            ) {
                ips.reserve(uid, ip);
            }
            let uid = pod.metadata.uid.clone().unwrap_or_default();
            let pod_rv = pod.metadata.resource_version.as_deref().unwrap_or_default();
            let node_rv = node_obj
                .metadata
                .resource_version
                .as_deref()
                .unwrap_or_default();
            if self
                .acted
                .get(&uid)
                .is_some_and(|(p, n)| p == pod_rv && n == node_rv)
            {
                continue;
            }
            let versions = (pod_rv.to_string(), node_rv.to_string());
            let Some(step) = logic::next_pod_step(pod, node_obj, &self.cfg.sim, ips, now) else {
                // Steady: nothing to do until the pod or its node changes.
                self.acted.insert(uid, versions);
                continue;
            };
            let key = format!("{}/{}", pod.namespace().unwrap_or_default(), pod.name_any());
            if step.at > now {
                self.timers.insert((step.at, key));
                continue;
            }
            due.push((
                pod.clone(),
                step.change,
                step.release_ip,
                uid,
                versions,
                *idx,
            ));
        }
        // Decisions were made one by one (IPs); the writes go concurrently,
        // as many kubelets would send them.
        let results: Vec<(bool, String, Versions, usize, bool)> = futures::stream::iter(
            due.into_iter()
                .map(|(pod, change, release, uid, versions, idx)| {
                    let this = &*self;
                    async move {
                        let applied = this.apply(&pod, change).await;
                        (release, uid, versions, idx, applied)
                    }
                }),
        )
        .buffer_unordered(APPLY_CONCURRENCY)
        .collect()
        .await;
        for (release, uid, versions, idx, applied) in results {
            if applied {
                self.acted.insert(uid.clone(), versions);
            }
            if applied
                && release
                && let Some(ips) = self.ips.get_mut(&idx)
            {
                ips.release(&uid);
            }
        }
        if self.acted.len() > all.len() * 2 + 1024 {
            let live: std::collections::HashSet<String> =
                all.iter().filter_map(|p| p.metadata.uid.clone()).collect();
            self.acted.retain(|uid, _| live.contains(uid));
        }
        // Taint-based eviction on nodes marked NotReady.
        for (name, (_, node)) in &by_name {
            if !logic::node_is_stopped(node) {
                continue;
            }
            let on_node: Vec<Pod> = all
                .iter()
                .filter(|p| {
                    p.spec.as_ref().and_then(|s| s.node_name.as_deref()) == Some(name.as_str())
                })
                .map(|p| (**p).clone())
                .collect();
            for (i, when) in logic::pods_to_evict(node, &on_node, now) {
                let Some(p) = on_node.get(i) else { continue };
                if when <= now {
                    let api: Api<Pod> =
                        Api::namespaced(self.kubelets.of(name), &p.namespace().unwrap_or_default());
                    let _ = api.delete(&p.name_any(), &DeleteParams::default()).await;
                } else {
                    self.timers
                        .insert((when, format!("evict {}", p.name_any())));
                }
            }
        }
    }

    /// Leases every 10 s, node status every 5 min, and the NotReady switch.
    async fn heartbeats(&mut self, by_name: &HashMap<String, (usize, &Node)>, now: DateTime<Utc>) {
        let lease_due = now - self.last_lease >= logic::NODE_LEASE_RENEW_INTERVAL;
        let status_due = now - self.last_status >= logic::NODE_STATUS_REPORT_INTERVAL;
        for (name, (idx, node)) in by_name {
            let client = self.kubelets.of(name);
            let nodes: Api<Node> = Api::all(client.clone());
            let stopped = logic::node_is_stopped(node);
            let registered = node
                .status
                .as_ref()
                .and_then(|s| s.conditions.as_ref())
                .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready"));
            if !registered && !stopped {
                // A node added by a user: the kubelet registers its labels,
                // capacity, addresses and conditions, as at start.
                let fresh = logic::node_object(name, *idx, &self.cfg.sim, now);
                let _ = nodes
                    .patch(
                        name,
                        &PatchParams::default(),
                        &Patch::Merge(&json!({"metadata": {"labels": fresh.metadata.labels}})),
                    )
                    .await;
                let _ = nodes
                    .patch_status(
                        name,
                        &PatchParams::default(),
                        &Patch::Merge(&json!({"status": fresh.status})),
                    )
                    .await;
                let _ = renew_lease(&client, &fresh, now).await;
                continue;
            }
            let was = self.marked.get(name).copied().unwrap_or(false);
            if stopped && !was {
                // What the node lifecycle controller does once the lease expires.
                let status = logic::not_ready_status(node, now);
                let taints = logic::not_ready_taints(node, now);
                let _ = nodes
                    .patch_status(
                        name,
                        &PatchParams::default(),
                        &Patch::Merge(&json!({"status": status})),
                    )
                    .await;
                let _ = nodes
                    .patch(
                        name,
                        &PatchParams::default(),
                        &Patch::Merge(&json!({"spec": {"taints": taints}})),
                    )
                    .await;
                self.marked.insert(name.clone(), true);
            } else if !stopped && was {
                let taints = logic::ready_taints(node);
                let taints = if taints.is_empty() {
                    serde_json::Value::Null
                } else {
                    json!(taints)
                };
                let _ = nodes
                    .patch(
                        name,
                        &PatchParams::default(),
                        &Patch::Merge(&json!({"spec": {"taints": taints}})),
                    )
                    .await;
                let _ = post_node_status(&nodes, node, now).await;
                self.marked.insert(name.clone(), false);
            } else if !stopped {
                if lease_due {
                    let _ = renew_lease(&client, node, now).await;
                }
                if status_due {
                    let _ = post_node_status(&nodes, node, now).await;
                }
            }
        }
        if lease_due {
            self.last_lease = now;
        }
        if status_due {
            self.last_status = now;
        }
    }

    /// Applies one change; true when it took effect.
    async fn apply(&self, pod: &Pod, change: logic::PodChange) -> bool {
        let node = pod
            .spec
            .as_ref()
            .and_then(|s| s.node_name.as_deref())
            .unwrap_or_default();
        let client = self.kubelets.of(node);
        let api: Api<Pod> = Api::namespaced(client.clone(), &pod.namespace().unwrap_or_default());
        let name = pod.name_any();
        match change {
            logic::PodChange::UpdateStatus(status) => {
                // The status subresource takes only `status` from the body
                // (and the resourceVersion precondition from its metadata):
                // the cached pod's slim spec is not sent.
                let full: Api<k8s_openapi::api::core::v1::Pod> =
                    Api::namespaced(client.clone(), &pod.namespace().unwrap_or_default());
                let updated = k8s_openapi::api::core::v1::Pod {
                    metadata: pod.metadata.clone(),
                    spec: None,
                    status: Some(status),
                };
                match full
                    .replace_status(&name, &PostParams::default(), &updated)
                    .await
                {
                    // A write that changed nothing keeps the version: not "acted".
                    Ok(p) => p.metadata.resource_version != pod.metadata.resource_version,
                    Err(e) => {
                        tracing::debug!(error = %e, pod = %name, "pod status");
                        false
                    }
                }
            }
            logic::PodChange::Delete => {
                let dp = DeleteParams {
                    grace_period_seconds: Some(0),
                    preconditions: Some(Preconditions {
                        uid: pod.metadata.uid.clone(),
                        resource_version: None,
                    }),
                    ..Default::default()
                };
                match api.delete(&name, &dp).await {
                    Ok(_) => true,
                    Err(e) => {
                        tracing::debug!(error = %e, pod = %name, "pod delete");
                        false
                    }
                }
            }
        }
    }
}
