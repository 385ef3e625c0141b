//! The node lifecycle controller's health decisions (upstream
//! `pkg/controller/nodelifecycle/node_lifecycle_controller.go`), for every
//! node, simulated or not. Pure: the loop in `nodelifecycle.rs` observes
//! nodes and their Leases, calls these, and writes what they return.
//!
//! - `tryUpdateNodeHealth`: a node's probe time is when the controller last
//!   *saw* its Ready heartbeat or its Lease renewal change (its own clock,
//!   not the times the kubelet reported). A node that never posted a Ready
//!   condition counts from its creation with the startup grace period (60 s);
//!   otherwise the monitor grace period applies (50 s in v1.36). Past it,
//!   `Ready`, `MemoryPressure`, `DiskPressure`, `PIDPressure` become
//!   `Unknown` (`NodeStatusUnknown` / "Kubelet stopped posting node status.",
//!   or `NodeStatusNeverUpdated` / "Kubelet never posted node status." for a
//!   condition that was never posted).
//! - `doNoScheduleTaintingPass`: `Ready=Unknown` → `node.kubernetes.io/
//!   unreachable:NoSchedule`, `Ready=False` → `node.kubernetes.io/
//!   not-ready:NoSchedule`; removed once Ready.
//! - `doNoExecuteTaintingPass` with the zone states (`ComputeZoneState`): the
//!   matching `NoExecute` taint only while the node's zone is not fully (or,
//!   for fewer than 50 nodes, partially) disrupted, and none at all while
//!   every zone is fully disrupted (`markAllNodesAsReachable`). Upstream's
//!   eviction rate limit (0.1 node/s per zone) is not modelled.
//!
//! Taints the controller adds get `timeAdded` (`SwapNodeControllerTaint`).

use std::collections::HashMap;

use chrono::{DateTime, TimeDelta, Utc};
use k8s_openapi::api::core::v1::{Node, NodeCondition, NodeStatus, Taint};

use crate::controllers::nodesim::logic::{TAINT_NOT_READY, TAINT_UNREACHABLE, from_time, to_time};

/// Upstream's defaults (`kube-controller-manager --help`, v1.36).
pub const DEFAULT_MONITOR_GRACE: TimeDelta = TimeDelta::seconds(50);
pub const DEFAULT_STARTUP_GRACE: TimeDelta = TimeDelta::seconds(60);
/// `--node-monitor-period`.
pub const MONITOR_PERIOD: TimeDelta = TimeDelta::seconds(5);
/// `--unhealthy-zone-threshold` and `--large-cluster-size-threshold`.
const UNHEALTHY_ZONE_THRESHOLD: f64 = 0.55;
const LARGE_CLUSTER_SIZE: usize = 50;

const REGION_LABEL: &str = "topology.kubernetes.io/region";
const ZONE_LABEL: &str = "topology.kubernetes.io/zone";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LifecycleConfig {
    /// `--node-monitor-grace-period`.
    pub monitor_grace: TimeDelta,
    /// `--node-startup-grace-period`.
    pub startup_grace: TimeDelta,
}

impl Default for LifecycleConfig {
    fn default() -> Self {
        LifecycleConfig {
            monitor_grace: DEFAULT_MONITOR_GRACE,
            startup_grace: DEFAULT_STARTUP_GRACE,
        }
    }
}

/// What the controller remembers of one node (upstream's `nodeHealthData`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Health {
    /// When a heartbeat (Ready or Lease) was last seen to change.
    pub probe: DateTime<Utc>,
    /// The Ready condition's `lastHeartbeatTime` last seen (None: no Ready condition).
    pub ready_heartbeat: Option<DateTime<Utc>>,
    /// The node's Lease `renewTime` last seen.
    pub lease_renew: Option<DateTime<Utc>>,
}

fn condition<'a>(node: &'a Node, type_: &str) -> Option<&'a NodeCondition> {
    node.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|c| c.iter().find(|c| c.type_ == type_))
}

fn created(node: &Node) -> Option<DateTime<Utc>> {
    node.metadata
        .creation_timestamp
        .as_ref()
        .and_then(from_time)
}

/// Updates what is known of a node's heartbeats from its latest version and
/// its Lease's `renewTime`.
pub fn observe(
    prev: Option<&Health>,
    node: &Node,
    lease_renew: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Health {
    let ready = condition(node, "Ready");
    let heartbeat = ready.and_then(|c| c.last_heartbeat_time.as_ref().and_then(from_time));
    let mut h = match (prev, ready) {
        // Never posted: counted from creation (startup grace).
        (None, None) => Health {
            probe: created(node).unwrap_or(now),
            ready_heartbeat: None,
            lease_renew: None,
        },
        // First sight, or a Ready condition appeared or vanished.
        (None, Some(_)) => Health {
            probe: now,
            ready_heartbeat: heartbeat,
            lease_renew: None,
        },
        (Some(p), None) if p.ready_heartbeat.is_some() => Health {
            probe: now,
            ready_heartbeat: None,
            lease_renew: p.lease_renew,
        },
        (Some(p), Some(_)) if p.ready_heartbeat.is_none() || p.ready_heartbeat != heartbeat => {
            Health {
                probe: now,
                ready_heartbeat: heartbeat,
                lease_renew: p.lease_renew,
            }
        }
        (Some(p), _) => p.clone(),
    };
    // A renewed Lease always counts.
    if let Some(renew) = lease_renew
        && h.lease_renew.is_none_or(|saved| saved < renew)
    {
        h.lease_renew = Some(renew);
        h.probe = now;
    }
    h
}

/// The node status to write when the node's heartbeats are overdue, or
/// `None` when nothing changes.
pub fn overdue_status(
    node: &Node,
    health: &Health,
    cfg: &LifecycleConfig,
    now: DateTime<Utc>,
) -> Option<NodeStatus> {
    let grace = if condition(node, "Ready").is_some() {
        cfg.monitor_grace
    } else {
        cfg.startup_grace
    };
    if now <= health.probe + grace {
        return None;
    }
    // The same write the simulated kubelet's NotReady path uses; nothing
    // to write when every condition already says Unknown.
    let status = crate::controllers::nodesim::logic::not_ready_status(node, now);
    (node.status.as_ref().and_then(|s| s.conditions.as_ref()) != status.conditions.as_ref())
        .then_some(status)
}

/// A zone's health (`ComputeZoneState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ZoneState {
    Normal,
    PartialDisruption,
    FullDisruption,
}

/// `region:\0:zone`, upstream's zone key (empty for unlabelled nodes).
pub fn zone_of(node: &Node) -> String {
    let labels = node.metadata.labels.as_ref();
    let get = |k: &str| {
        labels
            .and_then(|l| l.get(k))
            .map(String::as_str)
            .unwrap_or("")
    };
    let (region, zone) = (get(REGION_LABEL), get(ZONE_LABEL));
    if region.is_empty() && zone.is_empty() {
        String::new()
    } else {
        format!("{region}:\x00:{zone}")
    }
}

fn is_ready(node: &Node) -> bool {
    condition(node, "Ready").is_some_and(|c| c.status == "True")
}

/// Each zone's state and size, from the nodes' (updated) Ready conditions.
pub fn zone_states(nodes: &[&Node]) -> HashMap<String, (ZoneState, usize)> {
    let mut counts: HashMap<String, (usize, usize)> = HashMap::new();
    for n in nodes {
        let e = counts.entry(zone_of(n)).or_default();
        if is_ready(n) {
            e.0 += 1;
        } else {
            e.1 += 1;
        }
    }
    counts
        .into_iter()
        .map(|(zone, (ready, not_ready))| {
            let state = if ready == 0 && not_ready > 0 {
                ZoneState::FullDisruption
            } else if not_ready > 2
                && not_ready as f64 / (ready + not_ready) as f64 >= UNHEALTHY_ZONE_THRESHOLD
            {
                ZoneState::PartialDisruption
            } else {
                ZoneState::Normal
            };
            (zone, (state, ready + not_ready))
        })
        .collect()
}

fn is_controller_taint(t: &Taint, effect: &str) -> bool {
    t.effect == effect && (t.key == TAINT_UNREACHABLE || t.key == TAINT_NOT_READY)
}

/// The node's `spec.taints` after the NoSchedule and NoExecute passes, or
/// `None` when they stay as they are. `zone` is the node's zone state and
/// size; `all_fully_disrupted` says every zone is.
pub fn desired_taints(
    node: &Node,
    zone: (ZoneState, usize),
    all_fully_disrupted: bool,
    now: DateTime<Utc>,
) -> Option<Vec<Taint>> {
    let current: &[Taint] = node
        .spec
        .as_ref()
        .and_then(|s| s.taints.as_deref())
        .unwrap_or(&[]);
    let wanted_key = match condition(node, "Ready").map(|c| c.status.as_str()) {
        Some("True") => None,
        Some("False") => Some(TAINT_NOT_READY),
        Some(_) => Some(TAINT_UNREACHABLE),
        // A node that never posted is left to the startup grace period.
        None => None,
    };
    let no_execute_allowed = !all_fully_disrupted
        && match zone.0 {
            ZoneState::Normal => true,
            ZoneState::PartialDisruption => zone.1 >= LARGE_CLUSTER_SIZE,
            ZoneState::FullDisruption => false,
        };
    let mut out: Vec<Taint> = Vec::with_capacity(current.len() + 2);
    for effect in ["NoSchedule", "NoExecute"] {
        let want = match (effect, wanted_key) {
            ("NoSchedule", k) => k,
            ("NoExecute", Some(k)) if no_execute_allowed => Some(k),
            // While evictions are stopped, a NoExecute taint already there
            // stays (upstream only lifts them all at full disruption).
            ("NoExecute", Some(_)) if !all_fully_disrupted => current
                .iter()
                .find(|t| is_controller_taint(t, "NoExecute"))
                .map(|t| {
                    if t.key == TAINT_UNREACHABLE {
                        TAINT_UNREACHABLE
                    } else {
                        TAINT_NOT_READY
                    }
                }),
            _ => None,
        };
        if let Some(k) = want {
            let kept = current
                .iter()
                .find(|t| t.key == k && t.effect == effect)
                .cloned();
            out.push(kept.unwrap_or_else(|| Taint {
                key: k.into(),
                effect: effect.into(),
                time_added: Some(to_time(now)),
                value: None,
            }));
        }
    }
    // Everything else the node carries stays, in front.
    let others: Vec<Taint> = current
        .iter()
        .filter(|t| !is_controller_taint(t, "NoSchedule") && !is_controller_taint(t, "NoExecute"))
        .cloned()
        .collect();
    let mut taints = others;
    taints.extend(out);
    let same = taints.len() == current.len() && taints.iter().all(|t| current.contains(t));
    (!same).then_some(taints)
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::NodeSpec;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    fn t(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap()
    }

    fn node(ready: Option<(&str, i64)>) -> Node {
        Node {
            metadata: ObjectMeta {
                name: Some("n".into()),
                creation_timestamp: Some(to_time(t(0))),
                ..Default::default()
            },
            spec: Some(NodeSpec::default()),
            status: Some(NodeStatus {
                conditions: ready.map(|(s, hb)| {
                    vec![NodeCondition {
                        type_: "Ready".into(),
                        status: s.into(),
                        reason: Some("KubeletReady".into()),
                        message: Some("kubelet is posting ready status".into()),
                        last_heartbeat_time: Some(to_time(t(hb))),
                        last_transition_time: Some(to_time(t(hb))),
                    }]
                }),
                ..Default::default()
            }),
        }
    }

    #[test]
    fn a_node_that_never_posted_is_unknown_after_the_startup_grace() {
        let cfg = LifecycleConfig::default();
        let n = node(None);
        let h = observe(None, &n, None, t(3));
        assert_eq!(h.probe, t(0));
        assert_eq!(overdue_status(&n, &h, &cfg, t(60)), None);
        let s = overdue_status(&n, &h, &cfg, t(61)).unwrap();
        let c = s.conditions.unwrap();
        assert_eq!(
            c.iter().map(|c| c.type_.as_str()).collect::<Vec<_>>(),
            ["Ready", "MemoryPressure", "DiskPressure", "PIDPressure"]
        );
        for c in &c {
            assert_eq!(c.status, "Unknown");
            assert_eq!(c.reason.as_deref(), Some("NodeStatusNeverUpdated"));
            assert_eq!(
                c.message.as_deref(),
                Some("Kubelet never posted node status.")
            );
            assert_eq!(c.last_heartbeat_time, Some(to_time(t(0))));
            assert_eq!(c.last_transition_time, Some(to_time(t(61))));
        }
    }

    #[test]
    fn a_node_that_stops_heartbeating_is_unknown_after_the_grace_period() {
        let cfg = LifecycleConfig::default();
        let n = node(Some(("True", 5)));
        // First seen at 10: the grace period counts from then.
        let h = observe(None, &n, None, t(10));
        assert_eq!(h.probe, t(10));
        // The same heartbeat seen again does not move the probe.
        let h = observe(Some(&h), &n, None, t(40));
        assert_eq!(h.probe, t(10));
        assert_eq!(overdue_status(&n, &h, &cfg, t(60)), None);
        let s = overdue_status(&n, &h, &cfg, t(61)).unwrap();
        let c = s.conditions.unwrap();
        assert_eq!(c[0].type_, "Ready");
        assert_eq!(c[0].status, "Unknown");
        assert_eq!(c[0].reason.as_deref(), Some("NodeStatusUnknown"));
        assert_eq!(
            c[0].message.as_deref(),
            Some("Kubelet stopped posting node status.")
        );
        assert_eq!(c[0].last_heartbeat_time, Some(to_time(t(5))));
        assert_eq!(c[1].reason.as_deref(), Some("NodeStatusNeverUpdated"));
        // Already Unknown: nothing more to write.
        let mut marked = n.clone();
        marked.status = Some(NodeStatus {
            conditions: Some(c),
            ..Default::default()
        });
        assert_eq!(overdue_status(&marked, &h, &cfg, t(90)), None);
    }

    #[test]
    fn a_renewed_lease_or_a_new_heartbeat_keeps_the_node_healthy() {
        let cfg = LifecycleConfig {
            monitor_grace: TimeDelta::seconds(2),
            startup_grace: TimeDelta::seconds(2),
        };
        let n = node(Some(("True", 0)));
        let h = observe(None, &n, Some(t(0)), t(0));
        let h = observe(Some(&h), &n, Some(t(2)), t(2));
        assert_eq!(h.probe, t(2));
        assert_eq!(overdue_status(&n, &h, &cfg, t(4)), None);
        let n2 = node(Some(("True", 4)));
        let h = observe(Some(&h), &n2, Some(t(2)), t(4));
        assert_eq!(h.probe, t(4));
        assert!(overdue_status(&n2, &h, &cfg, t(7)).is_some());
    }

    #[test]
    fn taints_follow_ready_and_the_zone_state() {
        let normal = (ZoneState::Normal, 3);
        let unknown = node(Some(("Unknown", 0)));
        let taints = desired_taints(&unknown, normal, false, t(9)).unwrap();
        assert_eq!(
            taints
                .iter()
                .map(|t| (t.key.as_str(), t.effect.as_str()))
                .collect::<Vec<_>>(),
            [
                (TAINT_UNREACHABLE, "NoSchedule"),
                (TAINT_UNREACHABLE, "NoExecute")
            ]
        );
        assert!(taints.iter().all(|x| x.time_added == Some(to_time(t(9)))));
        // A lone node (its zone fully disrupted, as every zone): NoSchedule only,
        // as kube-controller-manager v1.36 does.
        let full = (ZoneState::FullDisruption, 1);
        let taints = desired_taints(&unknown, full, true, t(9)).unwrap();
        assert_eq!(taints.len(), 1);
        assert_eq!(taints[0].effect, "NoSchedule");
        // Applied: stable.
        let mut tainted = unknown.clone();
        tainted.spec = Some(NodeSpec {
            taints: Some(taints),
            ..Default::default()
        });
        assert_eq!(desired_taints(&tainted, full, true, t(20)), None);
        // Ready again: the controller's taints go, others stay.
        let mut ready = node(Some(("True", 30)));
        let mut spec_taints = tainted.spec.clone().unwrap().taints.unwrap();
        spec_taints.insert(
            0,
            Taint {
                key: "dedicated".into(),
                effect: "NoSchedule".into(),
                value: Some("x".into()),
                time_added: None,
            },
        );
        ready.spec = Some(NodeSpec {
            taints: Some(spec_taints),
            ..Default::default()
        });
        let after = desired_taints(&ready, normal, false, t(31)).unwrap();
        assert_eq!(after.len(), 1);
        assert_eq!(after[0].key, "dedicated");
        // Ready=False: not-ready.
        let not_ready = node(Some(("False", 0)));
        let taints = desired_taints(&not_ready, normal, false, t(9)).unwrap();
        assert!(taints.iter().all(|t| t.key == TAINT_NOT_READY));
        // A node that never posted gets nothing before the startup grace marks it.
        assert_eq!(desired_taints(&node(None), normal, false, t(9)), None);
    }

    #[test]
    fn zone_states_as_upstream_computes_them() {
        let r = node(Some(("True", 0)));
        let u = node(Some(("Unknown", 0)));
        let z = |ns: &[&Node]| zone_states(ns)[""];
        assert_eq!(z(&[&r, &u]), (ZoneState::Normal, 2));
        assert_eq!(z(&[&u]), (ZoneState::FullDisruption, 1));
        assert_eq!(z(&[&r, &u, &u, &u]), (ZoneState::PartialDisruption, 4));
        assert_eq!(z(&[&r, &r, &u, &u]), (ZoneState::Normal, 4));
        let mut zoned = r.clone();
        zoned.metadata.labels = Some(
            [(ZONE_LABEL.to_string(), "a".to_string())]
                .into_iter()
                .collect(),
        );
        assert_eq!(zone_of(&zoned), ":\u{0}:a");
    }
}
