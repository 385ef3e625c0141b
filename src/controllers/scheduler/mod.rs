//! The scheduler's I/O loop (decisions in `scheduler_logic.rs`): binds
//! pending pods through `pods/{name}/binding`, as upstream's scheduler does.
//! Upstream: `pkg/scheduler/schedule_one.go`.
//!
//! Nodes and pods come from the shared informer caches (`informer.rs`);
//! every notification (and a periodic tick, for pods that are waiting)
//! triggers a pass over the pending pods in priority then creation order.
//! As upstream's scheduler cache, a pod is *assumed* on its node as soon as
//! it is chosen: it counts there, and is not scheduled again, until the cache
//! shows it bound (or gone), the binding fails, or the assumption expires
//! ([`logic::AssumedPods`]). So a pass never places pods on a stale view of
//! the previous pass's bindings. Bindings of one pass are sent concurrently.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use futures::{FutureExt, StreamExt};
use k8s_openapi::api::core::v1::Node;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::{Resource, ResourceExt};
use serde_json::json;

use crate::controllers::shared::cached_pod::Pod;
use crate::controllers::shared::events::{Kind, Recorder};
use crate::controllers::shared::informer::{Change, Informer};

/// What the scheduler watches: pods and nodes.
pub struct Informers {
    pub pods: Arc<Informer<Pod>>,
    pub nodes: Arc<Informer<Node>>,
}
pub mod logic;

/// How many bindings are in flight at once.
const BIND_CONCURRENCY: usize = 64;

/// Runs the scheduler until the task is aborted.
pub async fn run(client: kube::Client, informers: Arc<Informers>) {
    let mut node_changes = informers.nodes.subscribe();
    let mut pod_changes = informers.pods.subscribe_map(|c| {
        let (old, new) = c.old_new();
        logic::PodEvent::of(old, new)
    });
    let recorder = Recorder::new(client.clone(), logic::DEFAULT_SCHEDULER_NAME);
    let mut assumed = logic::AssumedPods::default();
    let mut parked = logic::UnschedulablePods::default();
    informers.nodes.wait_synced().await;
    informers.pods.wait_synced().await;
    loop {
        tokio::select! {
            c = node_changes.recv() => match c {
                Some(c) => node_changed(&c, &mut parked),
                None => return,
            },
            c = pod_changes.recv() => match c {
                Some(e) => parked.apply(e),
                None => return,
            },
            _ = tokio::time::sleep(Duration::from_secs(2)) => {},
        }
        // Take in what else has arrived, then do one pass.
        while let Some(Some(c)) = node_changes.recv().now_or_never() {
            node_changed(&c, &mut parked);
        }
        while let Some(Some(e)) = pod_changes.recv().now_or_never() {
            parked.apply(e);
        }
        if informers.nodes.cache().is_empty() && informers.pods.cache().is_empty() {
            continue;
        }
        pass(&client, &informers, &recorder, &mut assumed, &mut parked).await;
    }
}

fn node_changed(c: &Change<Node>, parked: &mut logic::UnschedulablePods) {
    let (old, new) = c.old_new();
    parked.node_changed(old, new);
}

fn priority(p: &Pod) -> i32 {
    p.spec.as_ref().and_then(|s| s.priority).unwrap_or(0)
}

fn pod_key(p: &Pod) -> String {
    format!("{}/{}", p.namespace().unwrap_or_default(), p.name_any())
}

async fn pass(
    client: &kube::Client,
    informers: &Informers,
    recorder: &Recorder,
    assumed: &mut logic::AssumedPods,
    parked: &mut logic::UnschedulablePods,
) {
    let all_pods = informers.pods.cache().list();
    let now = std::time::Instant::now();
    // Forget assumptions the cache has caught up with (or that expired).
    assumed.reconcile(
        all_pods.iter().map(|p| p.as_ref()),
        now,
        logic::ASSUMED_POD_TTL,
    );
    let mut pending: Vec<&Arc<Pod>> = all_pods
        .iter()
        .filter(|p| logic::is_schedulable_candidate(p, logic::DEFAULT_SCHEDULER_NAME))
        .filter(|p| {
            let uid = p.metadata.uid.as_deref().unwrap_or_default();
            !assumed.contains(uid) && !parked.is_parked(uid, now)
        })
        .collect();
    if pending.is_empty() {
        return;
    }
    pending.sort_by(|a, b| {
        priority(b).cmp(&priority(a)).then_with(|| {
            a.metadata
                .creation_timestamp
                .cmp(&b.metadata.creation_timestamp)
        })
    });
    let node_list = informers.nodes.cache().list();
    // Pods by node, once per pass: bound ones from the cache, then assumed ones.
    let mut by_node: HashMap<&str, Vec<&Pod>> = HashMap::new();
    for p in all_pods.iter() {
        if let Some(n) = p.spec.as_ref().and_then(|s| s.node_name.as_deref()) {
            by_node.entry(n).or_default().push(p);
        }
    }
    for (node, pod) in assumed.pods() {
        by_node.entry(node).or_default().push(pod);
    }
    let infos: Vec<logic::NodeInfo> = node_list
        .iter()
        .map(|n| logic::NodeInfo {
            node: n.as_ref(),
            pods: by_node
                .remove(n.metadata.name.as_deref().unwrap_or_default())
                .unwrap_or_default(),
        })
        .collect();
    let mut snapshot = logic::Snapshot::new(&infos);
    let mut binds: Vec<(Arc<Pod>, String)> = Vec::new();
    // Pods to tell they cannot be scheduled: (pod, message, nominated node).
    let mut failures: Vec<(&Arc<Pod>, String, Option<String>)> = Vec::new();
    for (i, pod) in pending.iter().enumerate() {
        let decision = snapshot.schedule(pod, i as u64);
        let uid = pod.metadata.uid.as_deref().unwrap_or_default();
        match decision {
            logic::Decision::Bind { node } => {
                // Counted on the node for the rest of the pass (only the
                // node's sums and pod list matter, not the pod's nodeName).
                snapshot.assume(&node, pod);
                binds.push(((*pod).clone(), node));
            }
            logic::Decision::Unschedulable { message } => {
                parked.park(uid, now);
                failures.push((pod, message, None));
            }
            logic::Decision::Preempt {
                node,
                victims,
                message,
            } => {
                // Retried when the victims are gone (they free room).
                parked.park(uid, now);
                let api: Api<Pod> =
                    Api::namespaced(client.clone(), &pod.namespace().unwrap_or_default());
                if !logic::told_unschedulable(pod, &message, Some(&node)) {
                    tell_unschedulable(&api, pod, &message, Some(&node), recorder).await;
                }
                for v in victims {
                    let vapi: Api<Pod> = Api::namespaced(client.clone(), &v.namespace);
                    let cond = logic::preemption_victim_condition(
                        logic::DEFAULT_SCHEDULER_NAME,
                        Utc::now(),
                    );
                    let _ = vapi
                        .patch_status(
                            &v.name,
                            &PatchParams::default(),
                            &Patch::Strategic(json!({"status": {"conditions": [cond]}})),
                        )
                        .await;
                    let _ = vapi.delete(&v.name, &DeleteParams::default()).await;
                    recorder
                        .publish(
                            &pod.object_ref(&()),
                            Kind::Normal,
                            "Preempted",
                            &format!(
                                "Preempted by pod {}",
                                pod.metadata.uid.clone().unwrap_or_default()
                            ),
                        )
                        .await;
                }
            }
        }
    }
    drop(snapshot);
    drop(infos);
    // Told concurrently: thousands of pods can find no room in one pass.
    let to_tell: Vec<(Arc<Pod>, String, Option<String>)> = failures
        .into_iter()
        .filter(|(pod, message, _)| !logic::told_unschedulable(pod, message, None))
        .map(|(pod, message, nominated)| (pod.clone(), message, nominated))
        .collect();
    let _: Vec<bool> =
        futures::stream::iter(
            to_tell.into_iter().map(|(pod, message, nominated)| {
                let api: Api<Pod> =
                    Api::namespaced(client.clone(), &pod.namespace().unwrap_or_default());
                async move {
                    tell_unschedulable(&api, &pod, &message, nominated.as_deref(), recorder).await
                }
            }),
        )
        .buffer_unordered(BIND_CONCURRENCY)
        .collect()
        .await;
    for (pod, node) in &binds {
        assumed.assume(
            pod.metadata.uid.clone().unwrap_or_default(),
            node,
            pod.clone(),
            now,
        );
    }
    // The binding cycles, concurrently.
    let results: Vec<(Arc<Pod>, String, Result<serde_json::Value, kube::Error>)> =
        futures::stream::iter(binds.into_iter().map(|(pod, node)| {
            let api: Api<Pod> =
                Api::namespaced(client.clone(), &pod.namespace().unwrap_or_default());
            async move {
                let binding = logic::binding_for(&pod, &node);
                let r = api
                    .create_subresource::<_, serde_json::Value>(
                        "binding",
                        &pod.name_any(),
                        &PostParams::default(),
                        &binding,
                    )
                    .await;
                (pod, node, r)
            }
        }))
        .buffer_unordered(BIND_CONCURRENCY)
        .collect()
        .await;
    for (pod, node, r) in results {
        let key = pod_key(&pod);
        match r {
            Ok(_) => {
                recorder
                    .publish(
                        &pod.object_ref(&()),
                        Kind::Normal,
                        "Scheduled",
                        &format!("Successfully assigned {key} to {node}"),
                    )
                    .await;
            }
            Err(e) => {
                tracing::debug!(error = %e, pod = %key, "binding failed");
                assumed.forget(pod.metadata.uid.as_deref().unwrap_or_default());
                // The room it held in this pass may fit a parked pod.
                parked.move_all();
            }
        }
    }
}

/// Sets the pod's PodScheduled=False condition and records a
/// FailedScheduling event; whether the status was written.
async fn tell_unschedulable(
    api: &Api<Pod>,
    pod: &Pod,
    message: &str,
    nominated: Option<&str>,
    recorder: &Recorder,
) -> bool {
    let cond = logic::unschedulable_condition(message, Utc::now());
    let mut status = json!({"conditions": [cond]});
    if let Some(n) = nominated {
        status["nominatedNodeName"] = json!(n);
    }
    if api
        .patch_status(
            &pod.name_any(),
            &PatchParams::default(),
            &Patch::Strategic(json!({"status": status})),
        )
        .await
        .is_err()
    {
        return false;
    }
    recorder
        .publish(
            &pod.object_ref(&()),
            Kind::Warning,
            "FailedScheduling",
            message,
        )
        .await;
    true
}
