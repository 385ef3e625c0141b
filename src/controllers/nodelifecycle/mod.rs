//! The node lifecycle controller's loop (decisions in
//! `nodelifecycle_logic.rs`): every monitor period (5 s) it reads every Node
//! from the shared informer and the node Leases (one list), marks nodes
//! whose heartbeats are overdue `Unknown`, and keeps the controller's
//! `unreachable` / `not-ready` taints in line with each node's Ready
//! condition. It runs for every node, simulated or created by hand.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::Utc;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Node;
use kube::ResourceExt;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use serde_json::json;

use crate::controllers::shared::informer::Informers;
pub mod logic;
use crate::controllers::nodesim::logic::NODE_LEASE_NAMESPACE;

/// `client` writes as the node controller; `reads` lists the node leases
/// as kube-controller-manager's shared informers do (the node controller's
/// own role cannot list them).
pub async fn run(
    client: kube::Client,
    reads: kube::Client,
    cfg: logic::LifecycleConfig,
    informers: Arc<Informers>,
) {
    informers.nodes.wait_synced().await;
    let nodes: Api<Node> = Api::all(client);
    let leases: Api<Lease> = Api::namespaced(reads, NODE_LEASE_NAMESPACE);
    let mut health: HashMap<String, logic::Health> = HashMap::new();
    let period = logic::MONITOR_PERIOD.to_std().unwrap_or_default();
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let renewals: HashMap<String, chrono::DateTime<Utc>> =
            match leases.list(&ListParams::default()).await {
                Ok(list) => list
                    .items
                    .iter()
                    .filter_map(|l| {
                        let renew = l.spec.as_ref()?.renew_time.as_ref()?;
                        let t = chrono::DateTime::from_timestamp(
                            renew.0.as_second(),
                            u32::try_from(renew.0.subsec_nanosecond()).unwrap_or(0),
                        )?;
                        Some((l.name_any(), t))
                    })
                    .collect(),
                Err(e) => {
                    tracing::debug!(error = %e, "listing node leases");
                    HashMap::new()
                }
            };
        let now = Utc::now();
        let list = informers.nodes.cache().list();
        health.retain(|name, _| list.iter().any(|n| &n.name_any() == name));
        // Health first: nodes whose heartbeats are overdue become Unknown.
        let mut views: Vec<Node> = Vec::with_capacity(list.len());
        for node in &list {
            let name = node.name_any();
            let h = logic::observe(health.get(&name), node, renewals.get(&name).copied(), now);
            let mut view = (**node).clone();
            if let Some(status) = logic::overdue_status(node, &h, &cfg, now) {
                view.status = Some(status);
                match nodes
                    .replace_status(&name, &PostParams::default(), &view)
                    .await
                {
                    Ok(updated) => view = updated,
                    Err(e) => tracing::debug!(error = %e, node = %name, "node status"),
                }
            }
            health.insert(name, h);
            views.push(view);
        }
        // Then the taints, from the zones' states.
        let refs: Vec<&Node> = views.iter().collect();
        let zones = logic::zone_states(&refs);
        let all_fully_disrupted = !zones.is_empty()
            && zones
                .values()
                .all(|(s, _)| *s == logic::ZoneState::FullDisruption);
        for view in &views {
            let zone = zones
                .get(&logic::zone_of(view))
                .copied()
                .unwrap_or((logic::ZoneState::Normal, 0));
            let Some(taints) = logic::desired_taints(view, zone, all_fully_disrupted, now) else {
                continue;
            };
            let taints = if taints.is_empty() {
                serde_json::Value::Null
            } else {
                json!(taints)
            };
            let patch = json!({
                "metadata": {"resourceVersion": view.resource_version()},
                "spec": {"taints": taints},
            });
            if let Err(e) = nodes
                .patch(
                    &view.name_any(),
                    &PatchParams::default(),
                    &Patch::Merge(&patch),
                )
                .await
            {
                tracing::debug!(error = %e, node = %view.name_any(), "node taints");
            }
        }
    }
}
