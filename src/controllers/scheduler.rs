//! The scheduler's I/O loop (decisions in `scheduler_logic.rs`): binds
//! pending pods through `pods/{name}/binding`, as upstream's scheduler does.
//! Upstream: `pkg/scheduler/schedule_one.go`.
//!
//! Caches of nodes and pods are kept by reflectors; every change (and a
//! periodic tick, for pods that are waiting) triggers a pass over the pending
//! pods in priority then creation order. Pods bound during a pass count as
//! "assumed" on their node for the rest of the pass.

use std::collections::HashMap;
use std::time::Duration;

use chrono::Utc;
use futures::{FutureExt, StreamExt};
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Resource, ResourceExt};
use serde_json::json;

use super::events::{Kind, Recorder};
use super::scheduler_logic as logic;

/// Runs the scheduler until the task is aborted.
pub async fn run(client: kube::Client) {
    let (nodes, node_writer) = reflector::store::<Node>();
    let (pods, pod_writer) = reflector::store::<Pod>();
    let node_events = reflector::reflector(
        node_writer,
        watcher(Api::<Node>::all(client.clone()), watcher::Config::default()),
    )
    .default_backoff()
    .map(|_| ());
    let pod_events = reflector::reflector(
        pod_writer,
        watcher(Api::<Pod>::all(client.clone()), watcher::Config::default()),
    )
    .default_backoff()
    .map(|_| ());
    let mut changes = futures::stream::select(node_events, pod_events).boxed();
    let recorder = Recorder::new(client.clone(), logic::DEFAULT_SCHEDULER_NAME);
    // What we last told each unschedulable pod, so the status is written once.
    let mut told: HashMap<String, String> = HashMap::new();
    loop {
        tokio::select! {
            c = changes.next() => if c.is_none() { return },
            _ = tokio::time::sleep(Duration::from_secs(2)) => {},
        }
        // Drain what else has arrived, then do one pass.
        while let Some(Some(())) = changes.next().now_or_never() {}
        if nodes.is_empty() && pods.is_empty() {
            continue;
        }
        pass(&client, &nodes, &pods, &recorder, &mut told).await;
    }
}

fn priority(p: &Pod) -> i32 {
    p.spec.as_ref().and_then(|s| s.priority).unwrap_or(0)
}

async fn pass(
    client: &kube::Client,
    nodes: &Store<Node>,
    pods: &Store<Pod>,
    recorder: &Recorder,
    told: &mut HashMap<String, String>,
) {
    let all_pods = pods.state();
    let mut pending: Vec<_> = all_pods
        .iter()
        .filter(|p| logic::is_schedulable_candidate(p, logic::DEFAULT_SCHEDULER_NAME))
        .cloned()
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
    let node_list = nodes.state();
    // Pods by node, once per pass; pods bound during the pass are added.
    let mut by_node: HashMap<String, Vec<Pod>> = HashMap::new();
    for p in all_pods.iter() {
        if let Some(n) = p.spec.as_ref().and_then(|s| s.node_name.as_deref()) {
            by_node
                .entry(n.to_string())
                .or_default()
                .push((**p).clone());
        }
    }
    for (i, pod) in pending.iter().enumerate() {
        let infos: Vec<logic::NodeInfo> = node_list
            .iter()
            .map(|n| logic::NodeInfo {
                node: n.as_ref(),
                pods: by_node
                    .get(&n.name_any())
                    .map(|v| v.iter().collect())
                    .unwrap_or_default(),
            })
            .collect();
        let decision = logic::schedule(pod, &infos, i as u64);
        let ns = pod.namespace().unwrap_or_default();
        let name = pod.name_any();
        let key = format!("{ns}/{name}");
        let api: Api<Pod> = Api::namespaced(client.clone(), &ns);
        match decision {
            logic::Decision::Bind { node } => {
                let binding = logic::binding_for(pod, &node);
                match api
                    .create_subresource::<_, serde_json::Value>(
                        "binding",
                        &name,
                        &PostParams::default(),
                        &binding,
                    )
                    .await
                {
                    Ok(_) => {
                        told.remove(&key);
                        let mut bound = (**pod).clone();
                        if let Some(spec) = bound.spec.as_mut() {
                            spec.node_name = Some(node.clone());
                        }
                        by_node.entry(node.clone()).or_default().push(bound);
                        recorder
                            .publish(
                                &pod.object_ref(&()),
                                Kind::Normal,
                                "Scheduled",
                                &format!("Successfully assigned {key} to {node}"),
                            )
                            .await;
                    }
                    Err(e) => tracing::debug!(error = %e, pod = %key, "binding failed"),
                }
            }
            logic::Decision::Unschedulable { message } => {
                unschedulable(&api, pod, &message, None, recorder, told).await;
            }
            logic::Decision::Preempt {
                node,
                victims,
                message,
            } => {
                unschedulable(&api, pod, &message, Some(&node), recorder, told).await;
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
}

async fn unschedulable(
    api: &Api<Pod>,
    pod: &Pod,
    message: &str,
    nominated: Option<&str>,
    recorder: &Recorder,
    told: &mut HashMap<String, String>,
) {
    let key = format!("{}/{}", pod.namespace().unwrap_or_default(), pod.name_any());
    if told.get(&key).map(String::as_str) == Some(message) {
        return;
    }
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
        .is_ok()
    {
        told.insert(key, message.to_string());
        recorder
            .publish(
                &pod.object_ref(&()),
                Kind::Warning,
                "FailedScheduling",
                message,
            )
            .await;
    }
}
