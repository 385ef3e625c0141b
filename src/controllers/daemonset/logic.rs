//! Pure decisions of the DaemonSet controller, as upstream's
//! `pkg/controller/daemon/{daemon_controller,update}.go` and
//! `pkg/controller/daemon/util/daemonset_util.go`: which nodes should run
//! a daemon pod, which pods to create and delete (including the rolling
//! update within `maxUnavailable` / `maxSurge`), and the status. No I/O.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use k8s_openapi::api::apps::v1::{DaemonSet, DaemonSetStatus};
use k8s_openapi::api::core::v1::{
    Node, NodeAffinity, NodeSelector, NodeSelectorRequirement, NodeSelectorTerm, Toleration,
};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::controllers::deployment::util::get_scaled_value_from_int_or_percent;
use crate::controllers::replicaset::logic::{is_pod_available, is_pod_ready};
use crate::controllers::scheduler::logic::{required_affinity_matches, tolerated_by_any};
use crate::controllers::shared::cached_pod::Pod;
use crate::controllers::shared::history::CONTROLLER_REVISION_HASH_LABEL;

/// The deprecated label with the DaemonSet's generation on each pod.
pub const TEMPLATE_GENERATION_LABEL: &str = "pod-template-generation";

/// Upstream `AddOrUpdateDaemonPodTolerations`: daemon pods tolerate the
/// node-condition taints, so they run on (and stay on) unhealthy nodes.
pub fn add_daemon_tolerations(tolerations: &mut Vec<Toleration>, host_network: bool) {
    let mut add = |key: &str, effect: &str| {
        let t = Toleration {
            key: Some(key.into()),
            operator: Some("Exists".into()),
            effect: Some(effect.into()),
            ..Default::default()
        };
        if !tolerations.iter().any(|x| {
            x.key == t.key && x.effect == t.effect && x.operator == t.operator && x.value == t.value
        }) {
            tolerations.push(t);
        }
    };
    add("node.kubernetes.io/not-ready", "NoExecute");
    add("node.kubernetes.io/unreachable", "NoExecute");
    add("node.kubernetes.io/disk-pressure", "NoSchedule");
    add("node.kubernetes.io/memory-pressure", "NoSchedule");
    add("node.kubernetes.io/pid-pressure", "NoSchedule");
    add("node.kubernetes.io/unschedulable", "NoSchedule");
    if host_network {
        add("node.kubernetes.io/network-unavailable", "NoSchedule");
    }
}

/// Upstream `ReplaceDaemonSetPodNodeNameNodeAffinity`: pins the pod to
/// `node` with a `matchFields` `metadata.name In [node]` requirement in
/// every required term (one term if there were none).
pub fn pin_to_node(affinity: Option<NodeAffinity>, node: &str) -> NodeAffinity {
    let field = NodeSelectorRequirement {
        key: "metadata.name".into(),
        operator: "In".into(),
        values: Some(vec![node.to_string()]),
    };
    let mut na = affinity.unwrap_or_default();
    let required = na
        .required_during_scheduling_ignored_during_execution
        .get_or_insert_with(NodeSelector::default);
    if required.node_selector_terms.is_empty() {
        required.node_selector_terms.push(NodeSelectorTerm {
            match_fields: Some(vec![field]),
            ..Default::default()
        });
    } else {
        for term in &mut required.node_selector_terms {
            term.match_fields = Some(vec![field.clone()]);
        }
    }
    na
}

/// The node a daemon pod is for: its `nodeName`, else the node its affinity
/// pins it to (upstream `GetTargetNodeName`).
pub fn target_node(pod: &Pod) -> Option<String> {
    let spec = pod.spec.as_ref()?;
    if let Some(n) = spec.node_name.as_deref().filter(|n| !n.is_empty()) {
        return Some(n.to_string());
    }
    let terms = &spec
        .affinity
        .as_ref()?
        .node_affinity
        .as_ref()?
        .required_during_scheduling_ignored_during_execution
        .as_ref()?
        .node_selector_terms;
    terms.iter().find_map(|t| {
        t.match_fields.iter().flatten().find_map(|r| {
            (r.key == "metadata.name" && r.operator == "In")
                .then(|| r.values.as_ref()?.first().cloned())
                .flatten()
        })
    })
}

/// Upstream `NodeShouldRunDaemonPod`: (should run, should continue running).
/// `pod` is the DaemonSet's template as a pod with the daemon tolerations.
pub fn node_should_run(pod: &Pod, node: &Node) -> (bool, bool) {
    let node_name = node.metadata.name.as_deref().unwrap_or_default();
    let pinned = pod
        .spec
        .as_ref()
        .and_then(|s| s.node_name.as_deref())
        .filter(|n| !n.is_empty());
    if pinned.is_some_and(|n| n != node_name) || !required_affinity_matches(pod, node) {
        return (false, false);
    }
    let tolerations = pod
        .spec
        .as_ref()
        .and_then(|s| s.tolerations.as_deref())
        .unwrap_or_default();
    let taints = node
        .spec
        .as_ref()
        .and_then(|s| s.taints.as_deref())
        .unwrap_or_default();
    let untolerated = |effect: &str| {
        taints
            .iter()
            .filter(|t| t.effect == effect)
            .any(|t| !tolerated_by_any(tolerations, t))
    };
    if untolerated("NoExecute") {
        return (false, false);
    }
    if untolerated("NoSchedule") {
        return (false, true);
    }
    (true, true)
}

fn phase(pod: &Pod) -> &str {
    pod.status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or("")
}

fn created(pod: &Pod) -> Option<i64> {
    pod.metadata
        .creation_timestamp
        .as_ref()
        .map(|t| t.0.as_second())
}

/// Whether a pod runs the current template: its hash label, or (older
/// pods) its generation label (upstream `IsPodUpdated`).
pub fn is_updated(pod: &Pod, hash: &str, generation: Option<i64>) -> bool {
    let labels = pod.metadata.labels.as_ref();
    let by_hash = labels
        .and_then(|l| l.get(CONTROLLER_REVISION_HASH_LABEL))
        .is_some_and(|h| h == hash);
    let by_gen = generation.is_some_and(|g| {
        labels
            .and_then(|l| l.get(TEMPLATE_GENERATION_LABEL))
            .is_some_and(|v| v == &g.to_string())
    });
    by_hash || by_gen
}

/// One node as the controller sees it.
pub struct NodeView<'a> {
    pub name: String,
    pub should_run: bool,
    pub should_continue: bool,
    /// The DaemonSet's pods for this node that are not being deleted,
    /// oldest first.
    pub pods: Vec<&'a Pod>,
}

/// Pods to create (node names) and delete (pod names).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Plan {
    pub create_on: Vec<String>,
    pub delete: Vec<String>,
    /// Failed pods deleted (for the `FailedDaemonPod` event).
    pub failed: Vec<(String, String)>,
}

fn name(p: &Pod) -> String {
    p.metadata.name.clone().unwrap_or_default()
}

/// Upstream `podsShouldBeOnNode` over every node, then the rolling update.
pub fn plan(ds: &DaemonSet, nodes: &[NodeView], hash: &str, now: DateTime<Utc>) -> Plan {
    let mut plan = Plan::default();
    let min_ready = ds
        .spec
        .as_ref()
        .and_then(|s| s.min_ready_seconds)
        .unwrap_or(0);
    let generation = ds.metadata.generation;
    for n in nodes {
        let live: Vec<&Pod> = n.pods.to_vec();
        if n.should_run {
            if live.is_empty() {
                plan.create_on.push(n.name.clone());
                continue;
            }
            let mut keep: Vec<&Pod> = Vec::new();
            for p in &live {
                if phase(p) == "Failed" {
                    plan.delete.push(name(p));
                    plan.failed.push((name(p), n.name.clone()));
                } else {
                    keep.push(p);
                }
            }
            if keep.is_empty() {
                // Replaced on the next sync, once the deletion is seen.
                continue;
            }
            // More than one pod: keep the oldest (and with surge, an old
            // and a new one while the new one becomes available).
            let surge = surge_allowed(ds);
            if keep.len() > 1 {
                if surge {
                    let new: Vec<&&Pod> = keep
                        .iter()
                        .filter(|p| is_updated(p, hash, generation))
                        .collect();
                    let old: Vec<&&Pod> = keep
                        .iter()
                        .filter(|p| !is_updated(p, hash, generation))
                        .collect();
                    // Keep the oldest new pod and (until it is available) the oldest old one.
                    for p in new.iter().skip(1) {
                        plan.delete.push(name(p));
                    }
                    let new_available = new
                        .first()
                        .is_some_and(|p| is_pod_available(p, min_ready, now));
                    for (i, p) in old.iter().enumerate() {
                        if i > 0 || (new_available && !new.is_empty()) {
                            plan.delete.push(name(p));
                        }
                    }
                } else {
                    for p in keep.iter().skip(1) {
                        plan.delete.push(name(p));
                    }
                }
            }
        } else if !n.should_continue {
            for p in &live {
                plan.delete.push(name(p));
            }
        }
    }
    rolling_update(ds, nodes, hash, now, &mut plan);
    plan
}

fn update_strategy_rolling(ds: &DaemonSet) -> Option<(IntOrString, IntOrString)> {
    let s = ds.spec.as_ref()?.update_strategy.as_ref();
    if s.and_then(|s| s.type_.as_deref())
        .unwrap_or("RollingUpdate")
        != "RollingUpdate"
    {
        return None;
    }
    let ru = s.and_then(|s| s.rolling_update.as_ref());
    Some((
        ru.and_then(|r| r.max_unavailable.clone())
            .unwrap_or(IntOrString::Int(1)),
        ru.and_then(|r| r.max_surge.clone())
            .unwrap_or(IntOrString::Int(0)),
    ))
}

fn surge_allowed(ds: &DaemonSet) -> bool {
    let desired = ds
        .status
        .as_ref()
        .map(|s| s.desired_number_scheduled)
        .unwrap_or(0);
    update_strategy_rolling(ds).is_some_and(|(_, s)| {
        get_scaled_value_from_int_or_percent(&s, desired, true).unwrap_or(0) > 0
    })
}

/// Upstream `updatedDesiredNodeCounts` / `unavailableCount`: (max surge,
/// max unavailable) for `desired` nodes; both zero means one unavailable.
pub fn fenceposts(ds: &DaemonSet, desired: i32) -> (i32, i32) {
    let Some((mu, ms)) = update_strategy_rolling(ds) else {
        return (0, 0);
    };
    let surge = get_scaled_value_from_int_or_percent(&ms, desired, true).unwrap_or(0);
    let mut unavailable = get_scaled_value_from_int_or_percent(&mu, desired, true).unwrap_or(0);
    if surge == 0 && unavailable == 0 {
        unavailable = 1;
    }
    (surge.max(0), unavailable.max(0))
}

/// Upstream `rollingUpdate`: old pods go within `maxUnavailable`; with
/// `maxSurge`, new pods come first on nodes whose old pod is available.
fn rolling_update(
    ds: &DaemonSet,
    nodes: &[NodeView],
    hash: &str,
    now: DateTime<Utc>,
    plan: &mut Plan,
) {
    if update_strategy_rolling(ds).is_none() {
        return;
    }
    let min_ready = ds
        .spec
        .as_ref()
        .and_then(|s| s.min_ready_seconds)
        .unwrap_or(0);
    let generation = ds.metadata.generation;
    let desired = nodes.iter().filter(|n| n.should_run).count() as i32;
    let (max_surge, max_unavailable) = fenceposts(ds, desired);
    let already: std::collections::HashSet<String> = plan.delete.iter().cloned().collect();
    let deleting = |p: &Pod| already.contains(&name(p));
    let mut unavailable = 0;
    let mut candidates: Vec<String> = Vec::new();
    let mut surge_candidates: Vec<String> = Vec::new();
    let mut surging = 0;
    for n in nodes.iter().filter(|n| n.should_run) {
        let live: Vec<&Pod> = n
            .pods
            .iter()
            .copied()
            .filter(|p| phase(p) != "Failed" && !deleting(p))
            .collect();
        let new = live.iter().find(|p| is_updated(p, hash, generation));
        let old = live.iter().find(|p| !is_updated(p, hash, generation));
        match (old, new) {
            (None, None) => unavailable += 1,
            (None, Some(n)) => {
                if !is_pod_available(n, min_ready, now) {
                    unavailable += 1;
                }
            }
            (Some(o), None) => {
                if !is_pod_available(o, min_ready, now) {
                    unavailable += 1;
                    // An unavailable old pod is replaced at once.
                    plan.delete.push(name(o));
                } else if max_surge > 0 {
                    surge_candidates.push(n.name.clone());
                } else {
                    candidates.push(name(o));
                }
            }
            (Some(_), Some(n)) => {
                surging += 1;
                if !is_pod_available(n, min_ready, now) {
                    unavailable += 1;
                }
            }
        }
    }
    if max_surge > 0 {
        for node in surge_candidates {
            if surging >= max_surge {
                break;
            }
            plan.create_on.push(node);
            surging += 1;
        }
        return;
    }
    for pod in candidates {
        if unavailable >= max_unavailable {
            break;
        }
        plan.delete.push(pod);
        unavailable += 1;
    }
}

/// Upstream `updateDaemonSetStatus`.
pub fn status(
    ds: &DaemonSet,
    nodes: &[NodeView],
    hash: &str,
    now: DateTime<Utc>,
) -> DaemonSetStatus {
    let min_ready = ds
        .spec
        .as_ref()
        .and_then(|s| s.min_ready_seconds)
        .unwrap_or(0);
    let generation = ds.metadata.generation;
    let mut st = DaemonSetStatus {
        collision_count: ds.status.as_ref().and_then(|s| s.collision_count),
        conditions: ds.status.as_ref().and_then(|s| s.conditions.clone()),
        observed_generation: generation,
        ..Default::default()
    };
    for n in nodes {
        if n.should_run {
            st.desired_number_scheduled += 1;
            if let Some(p) = n.pods.first() {
                st.current_number_scheduled += 1;
                if is_pod_ready(p) {
                    st.number_ready += 1;
                    if is_pod_available(p, min_ready, now) {
                        st.number_available = Some(st.number_available.unwrap_or(0) + 1);
                    }
                }
                if is_updated(p, hash, generation) {
                    st.updated_number_scheduled =
                        Some(st.updated_number_scheduled.unwrap_or(0) + 1);
                }
            }
        } else if !n.pods.is_empty() {
            st.number_misscheduled += 1;
        }
    }
    let unavailable = st.desired_number_scheduled - st.number_available.unwrap_or(0);
    if unavailable > 0 {
        st.number_unavailable = Some(unavailable);
    }
    st
}

/// Orders a node's pods oldest first (creation, then name).
pub fn sort_oldest_first(pods: &mut [&Pod]) {
    pods.sort_by(|a, b| {
        created(a)
            .cmp(&created(b))
            .then_with(|| a.metadata.name.cmp(&b.metadata.name))
    });
}

/// The labels of a new daemon pod.
pub fn pod_labels(
    template: Option<&BTreeMap<String, String>>,
    hash: &str,
    generation: Option<i64>,
) -> BTreeMap<String, String> {
    let mut l = template.cloned().unwrap_or_default();
    l.insert(CONTROLLER_REVISION_HASH_LABEL.into(), hash.into());
    if let Some(g) = generation {
        l.insert(TEMPLATE_GENERATION_LABEL.into(), g.to_string());
    }
    l
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::{Value, json};

    fn ds(strategy: Value) -> DaemonSet {
        serde_json::from_value(json!({
            "metadata": {"name": "d", "namespace": "ns", "generation": 2},
            "spec": {"selector": {"matchLabels": {"app": "d"}}, "updateStrategy": strategy,
                     "template": {"metadata": {"labels": {"app": "d"}}, "spec": {"containers": [{"name": "c"}]}}},
        }))
        .expect("a daemonset")
    }

    fn node(name: &str, labels: Value, taints: Value) -> Node {
        serde_json::from_value(
            json!({"metadata": {"name": name, "labels": labels}, "spec": {"taints": taints}}),
        )
        .expect("a node")
    }

    fn pod(name: &str, node: &str, hash: &str, ready: bool) -> Pod {
        serde_json::from_value(json!({
            "metadata": {"name": name, "labels": {CONTROLLER_REVISION_HASH_LABEL: hash},
                         "creationTimestamp": "2026-01-01T00:00:00Z"},
            "spec": {"nodeName": node, "containers": [{"name": "c"}]},
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": if ready {"True"} else {"False"},
                       "lastTransitionTime": "2026-01-01T00:00:00Z"}]},
        }))
        .expect("a pod")
    }

    fn template_pod(spec: Value) -> Pod {
        serde_json::from_value(json!({"spec": spec})).expect("a pod")
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 1, 1, 0, 0)
            .single()
            .expect("t")
    }

    // daemon_controller_test.go: TestNodeShouldRunDaemonPod cases.
    #[test]
    fn should_run_follows_selector_affinity_and_taints() {
        let mut tol = Vec::new();
        add_daemon_tolerations(&mut tol, false);
        let p = template_pod(json!({"containers": [], "nodeSelector": {"disk": "ssd"},
            "tolerations": serde_json::to_value(&tol).expect("json")}));
        assert_eq!(
            node_should_run(&p, &node("a", json!({"disk": "ssd"}), json!([]))),
            (true, true)
        );
        assert_eq!(
            node_should_run(&p, &node("b", json!({}), json!([]))),
            (false, false)
        );
        // A NoSchedule taint: not scheduled there, but an existing pod stays.
        let tainted = node(
            "c",
            json!({"disk": "ssd"}),
            json!([{"key": "k", "effect": "NoSchedule"}]),
        );
        assert_eq!(node_should_run(&p, &tainted), (false, true));
        let tainted = node(
            "c",
            json!({"disk": "ssd"}),
            json!([{"key": "k", "effect": "NoExecute"}]),
        );
        assert_eq!(node_should_run(&p, &tainted), (false, false));
        // Cordoned and not-ready nodes are tolerated by daemon pods.
        let cordoned = node(
            "d",
            json!({"disk": "ssd"}),
            json!([
            {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"},
            {"key": "node.kubernetes.io/not-ready", "effect": "NoExecute"}]),
        );
        assert_eq!(node_should_run(&p, &cordoned), (true, true));
    }

    #[test]
    fn pinning_and_target_node() {
        let na = pin_to_node(None, "n1");
        let p: Pod = serde_json::from_value(json!({"spec": {"containers": [],
            "affinity": {"nodeAffinity": serde_json::to_value(&na).expect("json")}}}))
        .expect("pod");
        assert_eq!(target_node(&p), Some("n1".into()));
    }

    #[test]
    fn creates_on_missing_nodes_and_rolls_within_max_unavailable() {
        let d = ds(json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}}));
        let (a, b, c) = (
            pod("a", "n1", "old", true),
            pod("b", "n2", "old", true),
            pod("c", "n3", "new", true),
        );
        let nodes = vec![
            NodeView {
                name: "n1".into(),
                should_run: true,
                should_continue: true,
                pods: vec![&a],
            },
            NodeView {
                name: "n2".into(),
                should_run: true,
                should_continue: true,
                pods: vec![&b],
            },
            NodeView {
                name: "n3".into(),
                should_run: true,
                should_continue: true,
                pods: vec![&c],
            },
            NodeView {
                name: "n4".into(),
                should_run: true,
                should_continue: true,
                pods: vec![],
            },
        ];
        let p = plan(&d, &nodes, "new", now());
        assert_eq!(p.create_on, vec!["n4".to_string()]);
        // n4 has no pod: already one unavailable, so no old pod goes yet.
        assert!(p.delete.is_empty());
        let nodes: Vec<NodeView> = nodes.into_iter().filter(|n| n.name != "n4").collect();
        let p = plan(&d, &nodes, "new", now());
        assert_eq!(p.delete, vec!["a".to_string()]);
        let st = status(&d, &nodes, "new", now());
        assert_eq!(st.desired_number_scheduled, 3);
        assert_eq!(st.updated_number_scheduled, Some(1));
        assert_eq!(st.number_available, Some(3));
        assert_eq!(st.number_unavailable, None);
        assert_eq!(st.observed_generation, Some(2));
    }

    #[test]
    fn surge_creates_new_before_deleting_old() {
        let d = ds(
            json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}}),
        );
        let a = pod("a", "n1", "old", true);
        let nodes = vec![NodeView {
            name: "n1".into(),
            should_run: true,
            should_continue: true,
            pods: vec![&a],
        }];
        let p = plan(&d, &nodes, "new", now());
        assert_eq!(p.create_on, vec!["n1".to_string()]);
        assert!(p.delete.is_empty());
        let mut d2 = d.clone();
        d2.status = Some(DaemonSetStatus {
            desired_number_scheduled: 1,
            ..Default::default()
        });
        let n = pod("n", "n1", "new", true);
        let nodes = vec![NodeView {
            name: "n1".into(),
            should_run: true,
            should_continue: true,
            pods: vec![&a, &n],
        }];
        let p = plan(&d2, &nodes, "new", now());
        assert_eq!(p.delete, vec!["a".to_string()]);
    }

    #[test]
    fn misscheduled_pods_go_and_on_delete_waits() {
        let d = ds(json!({"type": "OnDelete"}));
        let a = pod("a", "n1", "old", true);
        let nodes = vec![NodeView {
            name: "n1".into(),
            should_run: false,
            should_continue: false,
            pods: vec![&a],
        }];
        let p = plan(&d, &nodes, "new", now());
        assert_eq!(p.delete, vec!["a".to_string()]);
        let nodes = vec![NodeView {
            name: "n1".into(),
            should_run: true,
            should_continue: true,
            pods: vec![&a],
        }];
        assert_eq!(plan(&d, &nodes, "new", now()), Plan::default());
        assert_eq!(
            fenceposts(
                &ds(json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "10%"}})),
                25
            ),
            (0, 3)
        );
    }
}
