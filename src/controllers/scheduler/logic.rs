//! Pure decision logic of the default scheduler (no I/O, no async, no clock).
//!
//! Mirrors upstream kube-scheduler 1.33 with its default profile, restricted to the common
//! plugins: filters NodeUnschedulable, NodeName, TaintToleration, NodeAffinity, NodePorts and
//! NodeResourcesFit (run in that order, stopping at the first failing plugin per node, as
//! `framework/runtime/framework.go` RunFilterPlugins does); scores NodeResourcesFit
//! (LeastAllocated), NodeResourcesBalancedAllocation, TaintToleration, NodeAffinity and an
//! approximation of PodTopologySpread's system-default spreading; PostFilter DefaultPreemption
//! (dry run, victim selection and the `preemption: ...` part of the message).
//!
//! Upstream sources: `pkg/scheduler/schedule_one.go`, `pkg/scheduler/framework/types.go`
//! (FitError.Error), `pkg/scheduler/framework/plugins/*`, `pkg/scheduler/framework/preemption`
//! and `k8s.io/component-helpers/resource` (PodRequests).

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{
    Binding, Node, NodeSelectorRequirement, NodeSelectorTerm, ObjectReference, PodCondition,
    PodStatus, Taint, Toleration,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};

use crate::controllers::shared::cached_pod::{Container, Pod};

/// The scheduler name pods get by default (`spec.schedulerName` defaulting).
pub const DEFAULT_SCHEDULER_NAME: &str = "default-scheduler";
/// Upstream `framework.MaxNodeScore`.
const MAX_NODE_SCORE: i64 = 100;
/// Upstream `schedutil.DefaultMilliCPURequest` (used for scoring only).
const DEFAULT_MILLI_CPU_REQUEST: i64 = 100;
/// Upstream `schedutil.DefaultMemoryRequest` (200 MiB, used for scoring only).
const DEFAULT_MEMORY_REQUEST: i64 = 200 * 1024 * 1024;

const TAINT_NOT_READY: &str = "node.kubernetes.io/not-ready";
const TAINT_UNREACHABLE: &str = "node.kubernetes.io/unreachable";
const TAINT_UNSCHEDULABLE: &str = "node.kubernetes.io/unschedulable";
const LABEL_HOSTNAME: &str = "kubernetes.io/hostname";
const LABEL_ZONE: &str = "topology.kubernetes.io/zone";

const ERR_NODE_UNSCHEDULABLE: &str = "node(s) were unschedulable";
const ERR_NODE_NAME: &str = "node(s) didn't match the requested node name";
const ERR_NODE_AFFINITY: &str = "node(s) didn't match Pod's node affinity/selector";
const ERR_NODE_AFFINITY_CONFLICT: &str = "pod affinity terms conflict";
const ERR_NODE_PORTS: &str = "node(s) didn't have free ports for the requested pod ports";
const ERR_NO_NODES: &str = "no nodes available to schedule pods";
const PREEMPTION_NOT_HELPFUL: &str = "Preemption is not helpful for scheduling";
const PREEMPTION_NO_VICTIMS: &str = "No preemption victims found for incoming pod";

/// A node together with the pods assigned to it (bound or assumed).
pub struct NodeInfo<'a> {
    pub node: &'a Node,
    /// Pods assigned to the node, including assumed ones. Terminal pods (Succeeded/Failed)
    /// are ignored, as upstream's scheduler cache never holds them.
    pub pods: Vec<&'a Pod>,
}

/// Identifies a pod chosen as a preemption victim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodRef {
    pub namespace: String,
    pub name: String,
    pub uid: Option<String>,
}

/// Outcome of one scheduling cycle for one pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Bind the pod to `node` (POST `binding_for(pod, node)`).
    Bind { node: String },
    /// No node fits and preemption cannot help: set `unschedulable_condition(message)`.
    /// Upstream also clears a set `status.nominatedNodeName`, except when the pod was not
    /// eligible to preempt (message contains `preemption: not eligible`), where it is kept.
    Unschedulable { message: String },
    /// No node fits, but evicting `victims` from `node` makes room: set
    /// `unschedulable_condition(message)` and `status.nominatedNodeName = node` on the pod,
    /// add `preemption_victim_condition` to each victim and delete it; retry the pod later.
    Preempt {
        node: String,
        victims: Vec<PodRef>,
        message: String,
    },
}

// ---------------------------------------------------------------------------------------
// Quantities
// ---------------------------------------------------------------------------------------

/// An exactly parsed Kubernetes quantity: `(-1)^negative * digits * 10^exp10 * 2^exp2`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParsedQuantity {
    negative: bool,
    digits: u128,
    exp10: i32,
    exp2: u32,
}

/// Parses a quantity string (`"100m"`, `"1.5"`, `"128Mi"`, `"1G"`, `"1e3"`, `"-2"`, `".5"`),
/// following the grammar of `k8s.io/apimachinery/pkg/api/resource/quantity.go`.
pub fn parse_quantity(s: &str) -> Option<ParsedQuantity> {
    let bytes = s.as_bytes();
    let mut i = 0;
    let mut negative = false;
    if let Some(&c) = bytes.first()
        && (c == b'+' || c == b'-')
    {
        negative = c == b'-';
        i = 1;
    }
    let mut digits: u128 = 0;
    let mut exp10: i32 = 0;
    let mut n_digits = 0usize;
    let mut significant = 0usize;
    let mut seen_dot = false;
    while let Some(&c) = bytes.get(i) {
        if c.is_ascii_digit() {
            n_digits += 1;
            if digits == 0 && c == b'0' {
                // leading zero: contributes nothing but a decimal shift after the dot
            } else {
                significant += 1;
                if significant > 36 {
                    return None;
                }
                digits = digits * 10 + u128::from(c - b'0');
            }
            if seen_dot {
                exp10 -= 1;
            }
        } else if c == b'.' && !seen_dot {
            seen_dot = true;
        } else {
            break;
        }
        i += 1;
    }
    if n_digits == 0 {
        return None;
    }
    let suffix = s.get(i..)?;
    let (suffix_exp10, exp2) = match suffix {
        "" => (0, 0),
        "n" => (-9, 0),
        "u" => (-6, 0),
        "m" => (-3, 0),
        "k" => (3, 0),
        "M" => (6, 0),
        "G" => (9, 0),
        "T" => (12, 0),
        "P" => (15, 0),
        "E" => (18, 0),
        "Ki" => (0, 10),
        "Mi" => (0, 20),
        "Gi" => (0, 30),
        "Ti" => (0, 40),
        "Pi" => (0, 50),
        "Ei" => (0, 60),
        _ => {
            let rest = suffix.strip_prefix(['e', 'E'])?;
            let num = rest.strip_prefix('+').unwrap_or(rest);
            if num.is_empty() || num.len() > 6 {
                return None;
            }
            let body = num.strip_prefix('-').unwrap_or(num);
            if body.is_empty() || !body.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            (num.parse::<i32>().ok()?, 0)
        }
    };
    Some(ParsedQuantity {
        negative: negative && digits != 0,
        digits,
        exp10: exp10.checked_add(suffix_exp10)?,
        exp2,
    })
}

impl ParsedQuantity {
    /// `ceil(value * 10^scale)` saturated to i64, like upstream's `ScaledValue` rounding up.
    fn ceil_scaled(&self, scale: i32) -> i64 {
        if self.digits == 0 {
            return 0;
        }
        let exp = self.exp10.saturating_add(scale);
        // magnitude as (integer part, has_fraction)
        let (mag, frac): (u128, bool) = if exp >= 0 {
            let Some(p) = 10u128.checked_pow(exp.unsigned_abs()) else {
                return self.saturate();
            };
            let Some(v) = self.digits.checked_mul(p) else {
                return self.saturate();
            };
            let Some(v) = v.checked_mul(1u128 << self.exp2.min(100)) else {
                return self.saturate();
            };
            (v, false)
        } else {
            let num = match self.digits.checked_mul(1u128 << self.exp2.min(60)) {
                Some(v) => v,
                None => return self.saturate(),
            };
            match 10u128.checked_pow(exp.unsigned_abs()) {
                Some(div) => (num / div, num % div != 0),
                None => (0, true),
            }
        };
        let mag = i64::try_from(mag).unwrap_or(i64::MAX);
        if self.negative {
            // ceil of a negative number truncates toward zero
            -mag
        } else if frac {
            mag.saturating_add(1)
        } else {
            mag
        }
    }

    fn saturate(&self) -> i64 {
        if self.negative { i64::MIN } else { i64::MAX }
    }

    /// Upstream `Quantity.Value()`: the value rounded up to an integer.
    pub fn value(&self) -> i64 {
        self.ceil_scaled(0)
    }

    /// Upstream `Quantity.MilliValue()`: the value in thousandths, rounded up.
    pub fn milli_value(&self) -> i64 {
        self.ceil_scaled(3)
    }
}

fn qty_value(q: &Quantity) -> i64 {
    parse_quantity(q.0.trim()).map_or(0, |p| p.value())
}

fn qty_milli(q: &Quantity) -> i64 {
    parse_quantity(q.0.trim()).map_or(0, |p| p.milli_value())
}

// ---------------------------------------------------------------------------------------
// Resources
// ---------------------------------------------------------------------------------------

/// Aggregated compute resources, like upstream `framework.Resource`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resources {
    pub milli_cpu: i64,
    pub memory: i64,
    pub ephemeral_storage: i64,
    /// Allowed pod number (allocatable only).
    pub pods: i64,
    /// Extended, hugepages and other scalar resources, by name.
    pub scalars: BTreeMap<String, i64>,
}

/// Upstream `schedutil.IsScalarResourceName`: extended resources (domain-prefixed, outside
/// `kubernetes.io/`), prefixed native resources, hugepages and attachable volumes.
fn is_scalar_resource(name: &str) -> bool {
    name.starts_with("hugepages-")
        || name.starts_with("attachable-volumes-")
        || (name.contains('/') && !name.starts_with("requests."))
}

impl Resources {
    fn from_list(list: Option<&BTreeMap<String, Quantity>>) -> Resources {
        let mut r = Resources::default();
        if let Some(list) = list {
            for (name, q) in list {
                r.set(name, q);
            }
        }
        r
    }

    fn set(&mut self, name: &str, q: &Quantity) {
        match name {
            "cpu" => self.milli_cpu = qty_milli(q),
            "memory" => self.memory = qty_value(q),
            "ephemeral-storage" => self.ephemeral_storage = qty_value(q),
            "pods" => self.pods = qty_value(q),
            _ if is_scalar_resource(name) => {
                self.scalars.insert(name.to_string(), qty_value(q));
            }
            _ => {}
        }
    }

    fn add(&mut self, o: &Resources) {
        self.milli_cpu = self.milli_cpu.saturating_add(o.milli_cpu);
        self.memory = self.memory.saturating_add(o.memory);
        self.ephemeral_storage = self.ephemeral_storage.saturating_add(o.ephemeral_storage);
        self.pods = self.pods.saturating_add(o.pods);
        for (k, v) in &o.scalars {
            let e = self.scalars.entry(k.clone()).or_insert(0);
            *e = e.saturating_add(*v);
        }
    }

    fn max_with(&mut self, o: &Resources) {
        self.milli_cpu = self.milli_cpu.max(o.milli_cpu);
        self.memory = self.memory.max(o.memory);
        self.ephemeral_storage = self.ephemeral_storage.max(o.ephemeral_storage);
        for (k, v) in &o.scalars {
            let e = self.scalars.entry(k.clone()).or_insert(*v);
            *e = (*e).max(*v);
        }
    }
}

fn container_requests(c: &Container, non_zero: bool) -> Resources {
    let list = c.resources.as_ref().and_then(|r| r.requests.as_ref());
    let mut r = Resources::from_list(list);
    if non_zero {
        // Upstream applies the defaults only when the key is missing, not when it is zero.
        if !list.is_some_and(|l| l.contains_key("cpu")) {
            r.milli_cpu = DEFAULT_MILLI_CPU_REQUEST;
        }
        if !list.is_some_and(|l| l.contains_key("memory")) {
            r.memory = DEFAULT_MEMORY_REQUEST;
        }
    }
    r
}

/// The effective requests of a pod, as `k8s.io/component-helpers/resource` PodRequests
/// computes them: the sum of the regular containers and restartable (sidecar) init
/// containers, maxed per resource against every regular init container (plus the sidecars
/// started before it), plus `spec.overhead`. With `non_zero`, containers missing a cpu or
/// memory request count as 100m / 200Mi (what upstream uses for scoring).
pub fn pod_requests(pod: &Pod, non_zero: bool) -> Resources {
    let mut reqs = Resources::default();
    let Some(spec) = pod.spec.as_ref() else {
        return reqs;
    };
    for c in &spec.containers {
        reqs.add(&container_requests(c, non_zero));
    }
    let mut restartable = Resources::default();
    let mut init_max = Resources::default();
    for c in spec.init_containers.iter().flatten() {
        let cr = container_requests(c, non_zero);
        if c.restart_policy.as_deref() == Some("Always") {
            reqs.add(&cr);
            restartable.add(&cr);
            init_max.max_with(&restartable);
        } else {
            let mut tmp = cr;
            tmp.add(&restartable);
            init_max.max_with(&tmp);
        }
    }
    reqs.max_with(&init_max);
    if let Some(overhead) = spec.overhead.as_ref() {
        reqs.add(&Resources::from_list(Some(overhead)));
    }
    reqs
}

/// The node's allocatable resources; falls back to capacity when allocatable is unset (the
/// API server defaults allocatable to capacity).
pub fn node_allocatable(node: &Node) -> Resources {
    let status = node.status.as_ref();
    let list = status
        .and_then(|s| s.allocatable.as_ref())
        .or_else(|| status.and_then(|s| s.capacity.as_ref()));
    Resources::from_list(list)
}

// ---------------------------------------------------------------------------------------
// Small accessors
// ---------------------------------------------------------------------------------------

fn node_name(node: &Node) -> &str {
    node.metadata.name.as_deref().unwrap_or("")
}

fn node_labels(node: &Node) -> Option<&BTreeMap<String, String>> {
    node.metadata.labels.as_ref()
}

fn pod_namespace(pod: &Pod) -> &str {
    pod.metadata.namespace.as_deref().unwrap_or("")
}

fn pod_priority(pod: &Pod) -> i32 {
    pod.spec.as_ref().and_then(|s| s.priority).unwrap_or(0)
}

fn pod_is_terminal(pod: &Pod) -> bool {
    matches!(
        pod.status.as_ref().and_then(|s| s.phase.as_deref()),
        Some("Succeeded") | Some("Failed")
    )
}

fn pod_tolerations(pod: &Pod) -> &[Toleration] {
    pod.spec
        .as_ref()
        .and_then(|s| s.tolerations.as_deref())
        .unwrap_or(&[])
}

fn pod_controller_uid(pod: &Pod) -> Option<&str> {
    pod.metadata
        .owner_references
        .iter()
        .flatten()
        .find(|o| o.controller == Some(true))
        .map(|o| o.uid.as_str())
}

// ---------------------------------------------------------------------------------------
// Candidate selection, binding, conditions
// ---------------------------------------------------------------------------------------

/// Whether the scheduler named `scheduler_name` should try to schedule `pod`: not bound
/// (no `spec.nodeName`), not terminal (phase not Succeeded/Failed), not being deleted,
/// `spec.schedulerName` matching (unset means `default-scheduler`) and no
/// `spec.schedulingGates`.
pub fn is_schedulable_candidate(pod: &Pod, scheduler_name: &str) -> bool {
    let Some(spec) = pod.spec.as_ref() else {
        return false;
    };
    if spec.node_name.as_deref().is_some_and(|n| !n.is_empty()) {
        return false;
    }
    if pod_is_terminal(pod) || pod.metadata.deletion_timestamp.is_some() {
        return false;
    }
    let name = spec
        .scheduler_name
        .as_deref()
        .filter(|n| !n.is_empty())
        .unwrap_or(DEFAULT_SCHEDULER_NAME);
    if name != scheduler_name {
        return false;
    }
    spec.scheduling_gates.as_ref().is_none_or(|g| g.is_empty())
}

/// The `v1.Binding` the default binder POSTs to `pods/{name}/binding`.
pub fn binding_for(pod: &Pod, node: &str) -> Binding {
    Binding {
        metadata: ObjectMeta {
            name: pod.metadata.name.clone(),
            namespace: pod.metadata.namespace.clone(),
            uid: pod.metadata.uid.clone(),
            ..Default::default()
        },
        target: ObjectReference {
            kind: Some("Node".to_string()),
            name: Some(node.to_string()),
            ..Default::default()
        },
    }
}

fn to_time(now: chrono::DateTime<chrono::Utc>) -> Option<Time> {
    k8s_openapi::jiff::Timestamp::from_second(now.timestamp())
        .ok()
        .map(Time)
}

/// `PodScheduled=False`, reason `Unschedulable`, with `lastTransitionTime = now`.
pub fn unschedulable_condition(message: &str, now: chrono::DateTime<chrono::Utc>) -> PodCondition {
    PodCondition {
        type_: "PodScheduled".to_string(),
        status: "False".to_string(),
        reason: Some("Unschedulable".to_string()),
        message: Some(message.to_string()),
        last_transition_time: to_time(now),
        ..Default::default()
    }
}

/// The `DisruptionTarget` condition upstream's preemption adds to each victim before deleting
/// it (`framework/preemption/preemption.go` prepareCandidate).
pub fn preemption_victim_condition(
    scheduler_name: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> PodCondition {
    PodCondition {
        type_: "DisruptionTarget".to_string(),
        status: "True".to_string(),
        reason: Some("PreemptionByScheduler".to_string()),
        message: Some(format!(
            "{scheduler_name}: preempting to accommodate a higher priority pod"
        )),
        last_transition_time: to_time(now),
        ..Default::default()
    }
}

/// Whether the pod already shows this failure (PodScheduled False,
/// Unschedulable, the same message and nominated node), so that writing it
/// again would change nothing: upstream's `updatePod` skips the update then.
pub fn told_unschedulable(pod: &Pod, message: &str, nominated: Option<&str>) -> bool {
    let Some(status) = pod.status.as_ref() else {
        return false;
    };
    if nominated.is_some() && status.nominated_node_name() != nominated {
        return false;
    }
    status.conditions.iter().flatten().any(|c| {
        c.type_ == "PodScheduled"
            && c.status == "False"
            && c.reason() == Some("Unschedulable")
            && c.message() == Some(message)
    })
}

/// Upstream `podutil.UpdatePodCondition`: inserts or replaces the condition of the same type,
/// keeping the old `lastTransitionTime` when the status did not change. Returns whether
/// anything changed (i.e. whether a status update is needed).
pub fn update_pod_condition(status: &mut PodStatus, mut condition: PodCondition) -> bool {
    let conditions = status.conditions.get_or_insert_with(Vec::new);
    match conditions.iter_mut().find(|c| c.type_ == condition.type_) {
        None => {
            conditions.push(condition);
            true
        }
        Some(old) => {
            if condition.status == old.status {
                condition.last_transition_time = old.last_transition_time.clone();
            }
            let changed = *old != condition;
            *old = condition;
            changed
        }
    }
}

// ---------------------------------------------------------------------------------------
// Per-node state and filters
// ---------------------------------------------------------------------------------------

/// Result of a failing filter, like upstream `framework.Status`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FilterStatus {
    /// `UnschedulableAndUnresolvable` (preemption cannot help) vs `Unschedulable`.
    unresolvable: bool,
    reasons: Vec<String>,
}

impl FilterStatus {
    fn unresolvable(reason: &str) -> FilterStatus {
        FilterStatus {
            unresolvable: true,
            reasons: vec![reason.to_string()],
        }
    }
}

/// Aggregated state of one node, like upstream's `framework.NodeInfo`.
struct NodeState<'a> {
    node: &'a Node,
    pods: Vec<&'a Pod>,
    requested: Resources,
    non_zero_requested: Resources,
    allocatable: Resources,
    taints: Vec<Taint>,
}

impl<'a> NodeState<'a> {
    fn new(node: &'a Node, pods: Vec<&'a Pod>) -> NodeState<'a> {
        let mut requested = Resources::default();
        let mut non_zero_requested = Resources::default();
        for p in &pods {
            requested.add(&pod_requests(p, false));
            non_zero_requested.add(&pod_requests(p, true));
        }
        NodeState {
            node,
            pods,
            requested,
            non_zero_requested,
            allocatable: node_allocatable(node),
            taints: effective_taints(node),
        }
    }
}

/// The node's taints, plus the `NoSchedule` taint the node lifecycle controller adds for a
/// node whose Ready condition is not True (`node.kubernetes.io/not-ready` for False or a
/// missing condition, `node.kubernetes.io/unreachable` for Unknown) when not already present.
/// Upstream's scheduler only looks at taints; synthesising them keeps not-ready nodes out
/// with upstream's message even when the taint has not been written yet.
fn effective_taints(node: &Node) -> Vec<Taint> {
    let mut taints: Vec<Taint> = node
        .spec
        .as_ref()
        .and_then(|s| s.taints.clone())
        .unwrap_or_default();
    let ready = node
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.type_ == "Ready"))
        .map(|c| c.status.as_str());
    let key = match ready {
        Some("True") => None,
        Some("Unknown") => Some(TAINT_UNREACHABLE),
        _ => Some(TAINT_NOT_READY),
    };
    if let Some(key) = key
        && !taints
            .iter()
            .any(|t| t.key == key && t.effect == "NoSchedule")
    {
        taints.push(Taint {
            key: key.to_string(),
            effect: "NoSchedule".to_string(),
            ..Default::default()
        });
    }
    taints
}

/// Upstream `Toleration.ToleratesTaint` (k8s.io/api/core/v1/toleration.go).
fn tolerates(t: &Toleration, taint: &Taint) -> bool {
    if let Some(effect) = t.effect.as_deref().filter(|e| !e.is_empty())
        && effect != taint.effect
    {
        return false;
    }
    if let Some(key) = t.key.as_deref().filter(|k| !k.is_empty())
        && key != taint.key
    {
        return false;
    }
    match t.operator.as_deref().unwrap_or("") {
        "" | "Equal" => t.value.as_deref().unwrap_or("") == taint.value.as_deref().unwrap_or(""),
        "Exists" => true,
        _ => false,
    }
}

pub(crate) fn tolerated_by_any(tolerations: &[Toleration], taint: &Taint) -> bool {
    tolerations.iter().any(|t| tolerates(t, taint))
}

fn filter_node_unschedulable(pod: &Pod, ns: &NodeState) -> Option<FilterStatus> {
    let unschedulable = ns
        .node
        .spec
        .as_ref()
        .and_then(|s| s.unschedulable)
        .unwrap_or(false);
    if !unschedulable {
        return None;
    }
    let taint = Taint {
        key: TAINT_UNSCHEDULABLE.to_string(),
        effect: "NoSchedule".to_string(),
        ..Default::default()
    };
    if tolerated_by_any(pod_tolerations(pod), &taint) {
        return None;
    }
    Some(FilterStatus::unresolvable(ERR_NODE_UNSCHEDULABLE))
}

fn filter_node_name(pod: &Pod, ns: &NodeState) -> Option<FilterStatus> {
    let wanted = pod.spec.as_ref().and_then(|s| s.node_name.as_deref());
    match wanted {
        Some(n) if !n.is_empty() && n != node_name(ns.node) => {
            Some(FilterStatus::unresolvable(ERR_NODE_NAME))
        }
        _ => None,
    }
}

fn filter_taints(pod: &Pod, ns: &NodeState) -> Option<FilterStatus> {
    let tolerations = pod_tolerations(pod);
    let taint = ns.taints.iter().find(|t| {
        (t.effect == "NoSchedule" || t.effect == "NoExecute") && !tolerated_by_any(tolerations, t)
    })?;
    Some(FilterStatus::unresolvable(&format!(
        "node(s) had untolerated taint {{{}: {}}}",
        taint.key,
        taint.value.as_deref().unwrap_or("")
    )))
}

/// One label requirement (matchExpressions), `None` when invalid.
fn label_requirement_matches(
    r: &NodeSelectorRequirement,
    labels: Option<&BTreeMap<String, String>>,
) -> Option<bool> {
    let values: &[String] = r.values.as_deref().unwrap_or(&[]);
    let value = labels.and_then(|l| l.get(&r.key));
    match r.operator.as_str() {
        "In" | "NotIn" => {
            if values.is_empty() {
                return None;
            }
            let hit = value.is_some_and(|v| values.contains(v));
            Some(if r.operator == "In" { hit } else { !hit })
        }
        "Exists" | "DoesNotExist" => {
            if !values.is_empty() {
                return None;
            }
            Some((r.operator == "Exists") == value.is_some())
        }
        "Gt" | "Lt" => {
            let [bound] = values else {
                return None;
            };
            let bound: i64 = bound.parse().ok()?;
            let Some(v) = value.and_then(|v| v.parse::<i64>().ok()) else {
                return Some(false);
            };
            Some(if r.operator == "Gt" {
                v > bound
            } else {
                v < bound
            })
        }
        _ => None,
    }
}

/// One field requirement (matchFields); only `metadata.name` with In/NotIn and exactly one
/// value is valid, like upstream's field-selector conversion.
fn field_requirement_matches(r: &NodeSelectorRequirement, node: &Node) -> Option<bool> {
    if r.key != "metadata.name" {
        return None;
    }
    let [value] = r.values.as_deref().unwrap_or(&[]) else {
        return None;
    };
    match r.operator.as_str() {
        "In" => Some(node_name(node) == value),
        "NotIn" => Some(node_name(node) != value),
        _ => None,
    }
}

/// A node selector term: all requirements ANDed; an empty term or an invalid one matches
/// nothing (upstream ignores parse errors by not matching).
fn term_matches(term: &NodeSelectorTerm, node: &Node) -> bool {
    let exprs = term.match_expressions.as_deref().unwrap_or(&[]);
    let fields = term.match_fields.as_deref().unwrap_or(&[]);
    if exprs.is_empty() && fields.is_empty() {
        return false;
    }
    let labels = node_labels(node);
    exprs
        .iter()
        .all(|r| label_requirement_matches(r, labels) == Some(true))
        && fields
            .iter()
            .all(|r| field_requirement_matches(r, node) == Some(true))
}

/// `nodeaffinity.GetRequiredNodeAffinity(pod).Match(node)`: spec.nodeSelector and required
/// node affinity terms (ORed).
pub(crate) fn required_affinity_matches(pod: &Pod, node: &Node) -> bool {
    let Some(spec) = pod.spec.as_ref() else {
        return true;
    };
    if let Some(selector) = spec.node_selector.as_ref() {
        let labels = node_labels(node);
        if !selector
            .iter()
            .all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v))
        {
            return false;
        }
    }
    let required = spec
        .affinity
        .as_ref()
        .and_then(|a| a.node_affinity.as_ref())
        .and_then(|na| {
            na.required_during_scheduling_ignored_during_execution
                .as_ref()
        });
    match required {
        None => true,
        Some(sel) => sel
            .node_selector_terms
            .iter()
            .any(|t| term_matches(t, node)),
    }
}

fn filter_node_affinity(pod: &Pod, ns: &NodeState) -> Option<FilterStatus> {
    if required_affinity_matches(pod, ns.node) {
        None
    } else {
        Some(FilterStatus::unresolvable(ERR_NODE_AFFINITY))
    }
}

/// NodeAffinity PreFilter: the node names the pod is pinned to by `matchFields`
/// `metadata.name In` in every required term (`None` = all nodes).
fn affinity_node_names(pod: &Pod) -> Option<BTreeSet<String>> {
    let terms = &pod
        .spec
        .as_ref()?
        .affinity
        .as_ref()?
        .node_affinity
        .as_ref()?
        .required_during_scheduling_ignored_during_execution
        .as_ref()?
        .node_selector_terms;
    let mut names: Option<BTreeSet<String>> = None;
    for t in terms {
        let mut term_names: Option<BTreeSet<String>> = None;
        for r in t.match_fields.iter().flatten() {
            if r.key == "metadata.name" && r.operator == "In" {
                let s: BTreeSet<String> = r.values.iter().flatten().cloned().collect();
                term_names = Some(match term_names {
                    None => s,
                    Some(prev) => prev.intersection(&s).cloned().collect(),
                });
            }
        }
        let term_names = term_names?;
        names.get_or_insert_with(BTreeSet::new).extend(term_names);
    }
    names
}

/// (ip, protocol, port) after upstream's sanitising: empty ip = 0.0.0.0, empty protocol = TCP.
type HostPort = (String, String, i32);

fn host_ports(pod: &Pod) -> Vec<HostPort> {
    let mut out = Vec::new();
    let Some(spec) = pod.spec.as_ref() else {
        return out;
    };
    for c in &spec.containers {
        for p in c.ports.iter().flatten() {
            let Some(hp) = p.host_port.filter(|hp| *hp > 0) else {
                continue;
            };
            let ip = p
                .host_ip
                .as_deref()
                .filter(|s| !s.is_empty())
                .unwrap_or("0.0.0.0");
            let proto = p
                .protocol
                .as_deref()
                .filter(|s| !s.is_empty())
                .unwrap_or("TCP");
            out.push((ip.to_string(), proto.to_string(), hp));
        }
    }
    out
}

fn filter_node_ports(pod: &Pod, ns: &NodeState) -> Option<FilterStatus> {
    let wanted = host_ports(pod);
    if wanted.is_empty() {
        return None;
    }
    let used: Vec<HostPort> = ns.pods.iter().flat_map(|p| host_ports(p)).collect();
    let conflict = wanted.iter().any(|(ip, proto, port)| {
        used.iter().any(|(uip, uproto, uport)| {
            uport == port && uproto == proto && (ip == "0.0.0.0" || uip == "0.0.0.0" || uip == ip)
        })
    });
    conflict.then(|| FilterStatus {
        unresolvable: false,
        reasons: vec![ERR_NODE_PORTS.to_string()],
    })
}

fn filter_resources(req: &Resources, ns: &NodeState) -> Option<FilterStatus> {
    let mut reasons = Vec::new();
    let pods_on_node = i64::try_from(ns.pods.len()).unwrap_or(i64::MAX);
    if pods_on_node.saturating_add(1) > ns.allocatable.pods {
        reasons.push("Too many pods".to_string());
    }
    let alloc = &ns.allocatable;
    let used = &ns.requested;
    if req.milli_cpu > 0 && req.milli_cpu > alloc.milli_cpu.saturating_sub(used.milli_cpu) {
        reasons.push("Insufficient cpu".to_string());
    }
    if req.memory > 0 && req.memory > alloc.memory.saturating_sub(used.memory) {
        reasons.push("Insufficient memory".to_string());
    }
    if req.ephemeral_storage > 0
        && req.ephemeral_storage
            > alloc
                .ephemeral_storage
                .saturating_sub(used.ephemeral_storage)
    {
        reasons.push("Insufficient ephemeral-storage".to_string());
    }
    for (name, q) in &req.scalars {
        if *q == 0 {
            continue;
        }
        let a = alloc.scalars.get(name).copied().unwrap_or(0);
        let u = used.scalars.get(name).copied().unwrap_or(0);
        if *q > a.saturating_sub(u) {
            reasons.push(format!("Insufficient {name}"));
        }
    }
    (!reasons.is_empty()).then_some(FilterStatus {
        unresolvable: false,
        reasons,
    })
}

/// Runs the filter plugins in upstream's default order, stopping at the first failure.
fn run_filters(pod: &Pod, req: &Resources, ns: &NodeState) -> Option<FilterStatus> {
    filter_node_unschedulable(pod, ns)
        .or_else(|| filter_node_name(pod, ns))
        .or_else(|| filter_taints(pod, ns))
        .or_else(|| filter_node_affinity(pod, ns))
        .or_else(|| filter_node_ports(pod, ns))
        .or_else(|| filter_resources(req, ns))
}

// ---------------------------------------------------------------------------------------
// Scoring
// ---------------------------------------------------------------------------------------

/// Upstream `helper.DefaultNormalizeScore`.
fn default_normalize(scores: &mut [i64], reverse: bool) {
    let max = scores.iter().copied().max().unwrap_or(0).max(0);
    for s in scores.iter_mut() {
        if max == 0 {
            if reverse {
                *s = MAX_NODE_SCORE;
            }
            continue;
        }
        let v = MAX_NODE_SCORE * *s / max;
        *s = if reverse { MAX_NODE_SCORE - v } else { v };
    }
}

fn least_requested(requested: i64, capacity: i64) -> i64 {
    if capacity == 0 || requested > capacity {
        return 0;
    }
    (capacity - requested).saturating_mul(MAX_NODE_SCORE) / capacity
}

/// NodeResourcesFit score, LeastAllocated strategy over cpu and memory (weight 1 each).
fn score_least_allocated(pod_nz: &Resources, ns: &NodeState) -> i64 {
    let pairs = [
        (
            ns.non_zero_requested
                .milli_cpu
                .saturating_add(pod_nz.milli_cpu),
            ns.allocatable.milli_cpu,
        ),
        (
            ns.non_zero_requested.memory.saturating_add(pod_nz.memory),
            ns.allocatable.memory,
        ),
    ];
    let mut sum = 0;
    let mut weights = 0;
    for (req, alloc) in pairs {
        if alloc == 0 {
            continue;
        }
        sum += least_requested(req, alloc);
        weights += 1;
    }
    if weights == 0 { 0 } else { sum / weights }
}

/// NodeResourcesBalancedAllocation score over cpu and memory.
#[allow(clippy::cast_precision_loss, clippy::cast_possible_truncation)]
fn score_balanced(pod_req: &Resources, ns: &NodeState) -> i64 {
    let pairs = [
        (
            ns.requested.milli_cpu.saturating_add(pod_req.milli_cpu),
            ns.allocatable.milli_cpu,
        ),
        (
            ns.requested.memory.saturating_add(pod_req.memory),
            ns.allocatable.memory,
        ),
    ];
    let fractions: Vec<f64> = pairs
        .iter()
        .filter(|(_, alloc)| *alloc != 0)
        .map(|(req, alloc)| (*req as f64 / *alloc as f64).min(1.0))
        .collect();
    let std = match fractions.as_slice() {
        [a, b] => ((a - b) / 2.0).abs(),
        _ => 0.0,
    };
    ((1.0 - std) * MAX_NODE_SCORE as f64) as i64
}

/// TaintToleration raw score: untolerated PreferNoSchedule taints.
fn score_taints(pod: &Pod, ns: &NodeState) -> i64 {
    let prefer: Vec<Toleration> = pod_tolerations(pod)
        .iter()
        .filter(|t| {
            matches!(
                t.effect.as_deref(),
                None | Some("") | Some("PreferNoSchedule")
            )
        })
        .cloned()
        .collect();
    let n = ns
        .taints
        .iter()
        .filter(|t| t.effect == "PreferNoSchedule" && !tolerated_by_any(&prefer, t))
        .count();
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// NodeAffinity raw score: sum of weights of matching preferred terms.
fn score_node_affinity(pod: &Pod, ns: &NodeState) -> i64 {
    let preferred = pod
        .spec
        .as_ref()
        .and_then(|s| s.affinity.as_ref())
        .and_then(|a| a.node_affinity.as_ref())
        .and_then(|na| {
            na.preferred_during_scheduling_ignored_during_execution
                .as_ref()
        });
    preferred
        .iter()
        .flat_map(|v| v.iter())
        .filter(|t| t.weight != 0 && term_matches(&t.preference, ns.node))
        .map(|t| i64::from(t.weight))
        .sum()
}

/// Whether `other` counts towards `pod`'s default spreading. Upstream's system-default
/// PodTopologySpread selects pods with the selectors of the Services/ReplicaSets/...
/// selecting the pod; here: same namespace and same controller (ownerReference) UID.
fn spread_matches(pod: &Pod, controller: &str, other: &Pod) -> bool {
    other.metadata.deletion_timestamp.is_none()
        && pod_namespace(other) == pod_namespace(pod)
        && pod_controller_uid(other) == Some(controller)
}

/// PodTopologySpread scores with the system default constraints (hostname maxSkew 3, zone
/// maxSkew 5, ScheduleAnyway), normalised as upstream's NormalizeScore does. All zero when
/// the pod has no controller (upstream skips the plugin when the default selector is empty).
#[allow(clippy::cast_precision_loss, clippy::cast_possible_truncation)]
fn score_spread(pod: &Pod, all: &[NodeState], feasible: &[usize]) -> Vec<i64> {
    let Some(controller) = pod_controller_uid(pod) else {
        return vec![0; feasible.len()];
    };
    let has_own_constraints = pod
        .spec
        .as_ref()
        .and_then(|s| s.topology_spread_constraints.as_ref())
        .is_some_and(|c| !c.is_empty());
    if has_own_constraints {
        // Explicit constraints are not modelled; no spreading preference from this plugin.
        return vec![0; feasible.len()];
    }
    let count_on = |ns: &NodeState| -> i64 {
        let n = ns
            .pods
            .iter()
            .filter(|p| spread_matches(pod, controller, p))
            .count();
        i64::try_from(n).unwrap_or(i64::MAX)
    };
    let label = |ns: &NodeState, key: &str| -> Option<String> {
        node_labels(ns.node).and_then(|l| l.get(key)).cloned()
    };
    // Zone pairs associated with feasible nodes (a missing label counts as "", as upstream).
    let mut zone_counts: BTreeMap<String, i64> = BTreeMap::new();
    for &i in feasible {
        if let Some(ns) = all.get(i) {
            zone_counts.insert(label(ns, LABEL_ZONE).unwrap_or_default(), 0);
        }
    }
    let zone_weight = ((zone_counts.len() + 2) as f64).ln();
    let host_weight = ((feasible.len() + 2) as f64).ln();
    for ns in all {
        if !required_affinity_matches(pod, ns.node) {
            continue;
        }
        let z = label(ns, LABEL_ZONE).unwrap_or_default();
        if let Some(c) = zone_counts.get_mut(&z) {
            *c += count_on(ns);
        }
    }
    let raw: Vec<i64> = feasible
        .iter()
        .map(|&i| {
            let Some(ns) = all.get(i) else { return 0 };
            let mut score = 0.0;
            if label(ns, LABEL_HOSTNAME).is_some() {
                score += count_on(ns) as f64 * host_weight + 2.0;
            }
            if let Some(z) = label(ns, LABEL_ZONE) {
                let cnt = zone_counts.get(&z).copied().unwrap_or(0);
                score += cnt as f64 * zone_weight + 4.0;
            }
            score.round() as i64
        })
        .collect();
    let max = raw.iter().copied().max().unwrap_or(0);
    let min = raw.iter().copied().min().unwrap_or(0);
    raw.iter()
        .map(|&s| {
            if max == 0 {
                MAX_NODE_SCORE
            } else {
                MAX_NODE_SCORE * (max + min - s) / max
            }
        })
        .collect()
}

/// Weighted total scores of the feasible nodes (default plugin weights).
fn score_nodes(pod: &Pod, all: &[NodeState], feasible: &[usize]) -> Vec<i64> {
    let pod_req = pod_requests(pod, false);
    let pod_nz = pod_requests(pod, true);
    let best_effort = pod_req.milli_cpu == 0 && pod_req.memory == 0;
    let nodes: Vec<&NodeState> = feasible.iter().filter_map(|&i| all.get(i)).collect();
    let mut taint: Vec<i64> = nodes.iter().map(|ns| score_taints(pod, ns)).collect();
    default_normalize(&mut taint, true);
    let mut affinity: Vec<i64> = nodes
        .iter()
        .map(|ns| score_node_affinity(pod, ns))
        .collect();
    default_normalize(&mut affinity, false);
    let spread = score_spread(pod, all, feasible);
    nodes
        .iter()
        .enumerate()
        .map(|(k, ns)| {
            let fit = score_least_allocated(&pod_nz, ns);
            // Upstream skips BalancedAllocation for best-effort pods (kubernetes#129138).
            let balanced = if best_effort {
                0
            } else {
                score_balanced(&pod_req, ns)
            };
            fit + balanced
                + 3 * taint.get(k).copied().unwrap_or(0)
                + 2 * affinity.get(k).copied().unwrap_or(0)
                + 2 * spread.get(k).copied().unwrap_or(0)
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// Failure messages
// ---------------------------------------------------------------------------------------

/// Upstream `FitError.Error()`: `0/N nodes are available: <prefilter msg>.` or the sorted
/// histogram `<count> <reason>` of per-node reasons, then ` <postfilter msg>` if any.
fn fit_error_message(
    num_all_nodes: usize,
    prefilter_msg: Option<&str>,
    statuses: &[FilterStatus],
    post_filter_msg: Option<&str>,
) -> String {
    let mut msg = format!("0/{num_all_nodes} nodes are available:");
    if let Some(pre) = prefilter_msg {
        msg.push_str(&format!(" {pre}."));
    } else {
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for s in statuses {
            for r in &s.reasons {
                *counts.entry(r.as_str()).or_insert(0) += 1;
            }
        }
        let mut items: Vec<String> = counts.iter().map(|(r, n)| format!("{n} {r}")).collect();
        // Go's sort.Strings: byte-wise ordering of the "<count> <reason>" strings.
        items.sort();
        if !items.is_empty() {
            msg.push_str(&format!(" {}.", items.join(", ")));
        }
    }
    if let Some(post) = post_filter_msg.filter(|p| !p.is_empty()) {
        msg.push(' ');
        msg.push_str(post);
    }
    msg
}

// ---------------------------------------------------------------------------------------
// Preemption
// ---------------------------------------------------------------------------------------

struct Candidate {
    node_index: usize,
    victims: Vec<usize>, // indices into the node's pods, most important first
}

/// Upstream `corev1helpers` MoreImportantPod: higher priority first, then earlier start.
fn more_important_first(a: &Pod, b: &Pod) -> std::cmp::Ordering {
    pod_priority(b)
        .cmp(&pod_priority(a))
        .then_with(|| start_key(a).cmp(&start_key(b)))
}

/// Start time as a sortable key; pods without a start time sort last (treated as "now").
fn start_key(p: &Pod) -> (bool, i64) {
    match p.status.as_ref().and_then(|s| s.start_time.as_ref()) {
        Some(t) => (false, t.0.as_second()),
        None => (true, 0),
    }
}

/// `SelectVictimsOnNode` without PodDisruptionBudgets. `Err` is the node's dry-run status.
fn select_victims(pod: &Pod, req: &Resources, ns: &NodeState) -> Result<Vec<usize>, FilterStatus> {
    let prio = pod_priority(pod);
    let mut potential: Vec<usize> = (0..ns.pods.len())
        .filter(|&i| ns.pods.get(i).is_some_and(|p| pod_priority(p) < prio))
        .collect();
    if potential.is_empty() {
        return Err(FilterStatus::unresolvable(PREEMPTION_NO_VICTIMS));
    }
    let keep: Vec<&Pod> = (0..ns.pods.len())
        .filter(|i| !potential.contains(i))
        .filter_map(|i| ns.pods.get(i).copied())
        .collect();
    let reduced = NodeState::new(ns.node, keep.clone());
    if let Some(status) = run_filters(pod, req, &reduced) {
        return Err(status);
    }
    potential.sort_by(|&a, &b| match (ns.pods.get(a), ns.pods.get(b)) {
        (Some(pa), Some(pb)) => more_important_first(pa, pb),
        _ => std::cmp::Ordering::Equal,
    });
    // Reprieve as many pods as possible, most important first.
    let mut kept = keep;
    let mut victims = Vec::new();
    for i in potential {
        let Some(p) = ns.pods.get(i).copied() else {
            continue;
        };
        let mut trial = kept.clone();
        trial.push(p);
        if run_filters(pod, req, &NodeState::new(ns.node, trial.clone())).is_none() {
            kept = trial;
        } else {
            victims.push(i);
        }
    }
    Ok(victims)
}

/// Upstream `pickOneNodeForPreemption` (no PDB violations are modelled).
fn pick_candidate<'c>(cands: &'c [Candidate], nodes: &[NodeState]) -> Option<&'c Candidate> {
    let victim_pods = |c: &Candidate| -> Vec<&Pod> {
        let ns = nodes.get(c.node_index);
        c.victims
            .iter()
            .filter_map(|&i| ns.and_then(|n| n.pods.get(i).copied()))
            .collect()
    };
    let highest = |c: &Candidate| -> i64 {
        victim_pods(c)
            .iter()
            .map(|p| i64::from(pod_priority(p)))
            .max()
            .unwrap_or(i64::MIN)
    };
    let sum = |c: &Candidate| -> i64 {
        victim_pods(c)
            .iter()
            .map(|p| i64::from(pod_priority(p)) + i64::from(i32::MAX) + 1)
            .sum()
    };
    // Latest start time among the highest-priority victims (earliest of those pods).
    let latest_start = |c: &Candidate| -> i64 {
        let h = highest(c);
        victim_pods(c)
            .iter()
            .filter(|p| i64::from(pod_priority(p)) == h)
            .map(|p| match start_key(p) {
                (false, t) => t,
                (true, _) => i64::MAX,
            })
            .min()
            .unwrap_or(i64::MAX)
    };
    let mut best: Vec<&Candidate> = cands.iter().collect();
    let narrow = |set: Vec<&'c Candidate>, key: &dyn Fn(&Candidate) -> i64, min: bool| {
        let target = if min {
            set.iter().map(|c| key(c)).min()
        } else {
            set.iter().map(|c| key(c)).max()
        };
        set.into_iter()
            .filter(|c| Some(key(c)) == target)
            .collect::<Vec<_>>()
    };
    best = narrow(best, &highest, true);
    best = narrow(best, &sum, true);
    best = narrow(
        best,
        &|c| i64::try_from(c.victims.len()).unwrap_or(i64::MAX),
        true,
    );
    best = narrow(best, &latest_start, false);
    best.first().copied()
}

fn pod_ref(p: &Pod) -> PodRef {
    PodRef {
        namespace: pod_namespace(p).to_string(),
        name: p.metadata.name.clone().unwrap_or_default(),
        uid: p.metadata.uid.clone(),
    }
}

/// Upstream `PodEligibleToPreemptOthers`; `Err` holds the PostFilter message.
fn eligible_to_preempt(pod: &Pod, nodes: &[NodeState]) -> Result<(), String> {
    let spec = pod.spec.as_ref();
    if spec.and_then(|s| s.preemption_policy.as_deref()) == Some("Never") {
        return Err("not eligible due to preemptionPolicy=Never.".to_string());
    }
    let nominated = pod
        .status
        .as_ref()
        .and_then(|s| s.nominated_node_name())
        .filter(|n| !n.is_empty());
    if let Some(nominated) = nominated {
        let prio = pod_priority(pod);
        let terminating = nodes
            .iter()
            .filter(|ns| node_name(ns.node) == nominated)
            .flat_map(|ns| ns.pods.iter())
            .any(|p| p.metadata.deletion_timestamp.is_some() && pod_priority(p) < prio);
        if terminating {
            return Err("not eligible due to a terminating pod on the nominated node.".to_string());
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// The scheduling cycle
// ---------------------------------------------------------------------------------------

/// One scheduling cycle for `pod` over `nodes` (upstream `schedulingCycle` + DefaultBinder
/// target choice). `tie_break` picks among the best-scoring nodes (upstream picks randomly).
pub fn schedule(pod: &Pod, nodes: &[NodeInfo], tie_break: u64) -> Decision {
    Snapshot::new(nodes).schedule(pod, tie_break)
}

/// The nodes with their pods' summed requests computed once, as upstream's
/// scheduler cache snapshot: scheduling many pods in one pass costs one sum
/// per node, not one per node and pod. [`Snapshot::assume`] adds a pod just
/// placed, so the next decision sees it.
pub struct Snapshot<'a> {
    states: Vec<NodeState<'a>>,
}

impl<'a> Snapshot<'a> {
    pub fn new(nodes: &[NodeInfo<'a>]) -> Self {
        let states = nodes
            .iter()
            .map(|ni| {
                let pods = ni
                    .pods
                    .iter()
                    .copied()
                    .filter(|p| !pod_is_terminal(p))
                    .collect();
                NodeState::new(ni.node, pods)
            })
            .collect();
        Snapshot { states }
    }

    /// Same as [`schedule`] on the nodes this snapshot was made of (plus assumed pods).
    pub fn schedule(&self, pod: &Pod, tie_break: u64) -> Decision {
        schedule_states(pod, &self.states, tie_break)
    }

    /// Counts `pod` on the node named `node` from now on.
    pub fn assume(&mut self, node: &str, pod: &'a Pod) {
        if pod_is_terminal(pod) {
            return;
        }
        if let Some(ns) = self.states.iter_mut().find(|s| node_name(s.node) == node) {
            ns.requested.add(&pod_requests(pod, false));
            ns.non_zero_requested.add(&pod_requests(pod, true));
            ns.pods.push(pod);
        }
    }
}

fn schedule_states(pod: &Pod, states: &[NodeState], tie_break: u64) -> Decision {
    if states.is_empty() {
        return Decision::Unschedulable {
            message: ERR_NO_NODES.to_string(),
        };
    }
    let req = pod_requests(pod, false);
    let total = states.len();

    // PreFilter (NodeAffinity): pods pinned to node names via matchFields.
    let allowed = affinity_node_names(pod);
    if allowed.as_ref().is_some_and(|a| a.is_empty()) {
        let status = FilterStatus::unresolvable(ERR_NODE_AFFINITY_CONFLICT);
        let statuses = vec![status; total];
        return failure(
            pod,
            states,
            &req,
            Some(ERR_NODE_AFFINITY_CONFLICT),
            &statuses,
        );
    }

    // A pod nominated by an earlier preemption goes to its nominated node if it fits there
    // (upstream `evaluateNominatedNode`), without scoring.
    let nominated = pod
        .status
        .as_ref()
        .and_then(|s| s.nominated_node_name())
        .filter(|n| !n.is_empty());
    if let Some(nominated) = nominated {
        let fits = states.iter().any(|ns| {
            node_name(ns.node) == nominated
                && allowed.as_ref().is_none_or(|a| a.contains(nominated))
                && run_filters(pod, &req, ns).is_none()
        });
        if fits {
            return Decision::Bind {
                node: nominated.to_string(),
            };
        }
    }

    // Filter.
    let mut statuses: Vec<Option<FilterStatus>> = Vec::with_capacity(total);
    let mut feasible = Vec::new();
    for (i, ns) in states.iter().enumerate() {
        let status = if allowed
            .as_ref()
            .is_some_and(|a| !a.contains(node_name(ns.node)))
        {
            Some(FilterStatus::unresolvable(
                "node(s) didn't satisfy plugin(s) [NodeAffinity]",
            ))
        } else {
            run_filters(pod, &req, ns)
        };
        if status.is_none() {
            feasible.push(i);
        }
        statuses.push(status);
    }

    if feasible.is_empty() {
        let statuses: Vec<FilterStatus> = statuses.into_iter().flatten().collect();
        return failure(pod, states, &req, None, &statuses);
    }

    // Score and select.
    let scores = score_nodes(pod, states, &feasible);
    let best = scores.iter().copied().max().unwrap_or(0);
    let tied: Vec<usize> = feasible
        .iter()
        .zip(&scores)
        .filter(|(_, s)| **s == best)
        .map(|(i, _)| *i)
        .collect();
    // Among equal scores upstream picks at random; prefer the node with the fewest pods,
    // then use `tie_break`.
    let fewest = tied
        .iter()
        .filter_map(|&i| states.get(i).map(|s| s.pods.len()))
        .min()
        .unwrap_or(0);
    let tied: Vec<usize> = tied
        .into_iter()
        .filter(|&i| states.get(i).is_some_and(|s| s.pods.len() == fewest))
        .collect();
    let len = u64::try_from(tied.len()).unwrap_or(1).max(1);
    let pick = usize::try_from(tie_break % len).unwrap_or(0);
    match tied.get(pick).and_then(|&i| states.get(i)) {
        Some(ns) => Decision::Bind {
            node: node_name(ns.node).to_string(),
        },
        None => Decision::Unschedulable {
            message: ERR_NO_NODES.to_string(),
        },
    }
}

/// Builds the failure decision: runs DefaultPreemption's PostFilter over the node statuses
/// (one per node, in node order) and formats the message.
fn failure(
    pod: &Pod,
    states: &[NodeState],
    req: &Resources,
    prefilter_msg: Option<&str>,
    statuses: &[FilterStatus],
) -> Decision {
    let total = states.len();
    let post = match eligible_to_preempt(pod, states) {
        Err(msg) => Err(format!("preemption: {msg}")),
        Ok(()) => {
            let mut pstatuses = Vec::with_capacity(total);
            let mut candidates = Vec::new();
            for (i, (ns, st)) in states.iter().zip(statuses).enumerate() {
                if st.unresolvable {
                    pstatuses.push(FilterStatus::unresolvable(PREEMPTION_NOT_HELPFUL));
                    continue;
                }
                match select_victims(pod, req, ns) {
                    Ok(victims) => candidates.push(Candidate {
                        node_index: i,
                        victims,
                    }),
                    Err(s) => pstatuses.push(s),
                }
            }
            if candidates.is_empty() {
                Err(format!(
                    "preemption: {}",
                    fit_error_message(total, None, &pstatuses, None)
                ))
            } else {
                Ok(candidates)
            }
        }
    };
    match post {
        Err(post_msg) => Decision::Unschedulable {
            message: fit_error_message(total, prefilter_msg, statuses, Some(&post_msg)),
        },
        Ok(candidates) => {
            let message = fit_error_message(total, prefilter_msg, statuses, None);
            match pick_candidate(&candidates, states) {
                Some(c) => {
                    let ns = states.get(c.node_index);
                    Decision::Preempt {
                        node: ns
                            .map(|n| node_name(n.node).to_string())
                            .unwrap_or_default(),
                        victims: c
                            .victims
                            .iter()
                            .filter_map(|&i| ns.and_then(|n| n.pods.get(i)).map(|p| pod_ref(p)))
                            .collect(),
                        message,
                    }
                }
                None => Decision::Unschedulable {
                    message: format!("{message} preemption: no candidate node for preemption"),
                },
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Assumed pods (the scheduler cache's AssumePod / ForgetPod / expiry)
// ---------------------------------------------------------------------------------------------

/// How long a pod stays assumed when the cache never shows it bound.
pub const ASSUMED_POD_TTL: std::time::Duration = std::time::Duration::from_secs(30);

/// Pods chosen for a node whose binding the pod cache has not shown yet
/// (upstream `internal/cache` `AssumePod`): they count on their node and are
/// not scheduled again. Time is passed in.
#[derive(Debug, Default)]
pub struct AssumedPods {
    /// pod uid → (node, the pod as it was chosen, when assumed)
    pods: std::collections::HashMap<String, (String, std::sync::Arc<Pod>, std::time::Instant)>,
}

impl AssumedPods {
    pub fn assume(
        &mut self,
        uid: String,
        node: &str,
        pod: std::sync::Arc<Pod>,
        now: std::time::Instant,
    ) {
        self.pods.insert(uid, (node.to_string(), pod, now));
    }

    /// Upstream `ForgetPod`: the binding failed.
    pub fn forget(&mut self, uid: &str) {
        self.pods.remove(uid);
    }

    pub fn contains(&self, uid: &str) -> bool {
        self.pods.contains_key(uid)
    }

    pub fn len(&self) -> usize {
        self.pods.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pods.is_empty()
    }

    /// (node, pod) of every assumed pod.
    pub fn pods(&self) -> impl Iterator<Item = (&str, &std::sync::Arc<Pod>)> {
        self.pods.values().map(|(n, p, _)| (n.as_str(), p))
    }

    /// Given every cached pod: drops the assumptions the cache has caught up
    /// with (the pod shows a node, or is gone) and those older than `ttl`.
    pub fn reconcile<'a>(
        &mut self,
        cached: impl Iterator<Item = &'a Pod>,
        now: std::time::Instant,
        ttl: std::time::Duration,
    ) {
        if self.pods.is_empty() {
            return;
        }
        let mut bound: std::collections::HashMap<&str, bool> = std::collections::HashMap::new();
        for p in cached {
            if let Some(uid) = p.metadata.uid.as_deref()
                && self.pods.contains_key(uid)
            {
                let has_node = p
                    .spec
                    .as_ref()
                    .and_then(|s| s.node_name.as_deref())
                    .is_some_and(|n| !n.is_empty());
                bound.insert(uid, has_node);
            }
        }
        self.pods
            .retain(|uid, (_, _, at)| match bound.get(uid.as_str()) {
                Some(false) => now.saturating_duration_since(*at) <= ttl,
                _ => false,
            });
    }
}

/// Upstream `podMaxInUnschedulablePodsDuration`: a parked pod is retried
/// after this long even if no change seemed to help it.
pub const MAX_UNSCHEDULABLE: std::time::Duration = std::time::Duration::from_secs(300);

/// Pods found unschedulable, parked until a change in the cluster may help
/// them (upstream's `unschedulablePods` in
/// `pkg/scheduler/backend/queue/scheduling_queue.go`), so that thousands of
/// pods waiting for room cost nothing per pass. As upstream's queueing hints
/// for the plugins this scheduler runs (none looks at other pods' labels):
/// a node added, removed or changed in what the filters read moves every
/// parked pod; so does an assigned pod that goes away or ends, freeing room
/// and ports; a parked pod whose own spec or labels change is retried.
/// Time is passed in.
#[derive(Debug, Default)]
pub struct UnschedulablePods {
    /// pod uid → when it was parked
    parked: std::collections::HashMap<String, std::time::Instant>,
}

impl UnschedulablePods {
    pub fn park(&mut self, uid: &str, now: std::time::Instant) {
        self.parked.insert(uid.to_string(), now);
    }

    /// Whether the pod waits for a change (and has not waited too long).
    pub fn is_parked(&self, uid: &str, now: std::time::Instant) -> bool {
        self.parked
            .get(uid)
            .is_some_and(|at| now.saturating_duration_since(*at) < MAX_UNSCHEDULABLE)
    }

    pub fn len(&self) -> usize {
        self.parked.len()
    }

    pub fn is_empty(&self) -> bool {
        self.parked.is_empty()
    }

    /// Upstream `MoveAllToActiveOrBackoffQueue`.
    pub fn move_all(&mut self) {
        self.parked.clear();
    }

    /// A pod was added (`old` none), changed, or deleted (`new` none).
    pub fn pod_changed(&mut self, old: Option<&Pod>, new: Option<&Pod>) {
        self.apply(PodEvent::of(old, new));
    }

    pub fn apply(&mut self, event: PodEvent) {
        match event {
            PodEvent::MoveAll => self.move_all(),
            PodEvent::Retry(uid) | PodEvent::Forget(uid) => {
                self.parked.remove(&uid);
            }
            PodEvent::Other => {}
        }
    }

    /// A node was added (`old` none), changed, or deleted (`new` none).
    pub fn node_changed(&mut self, old: Option<&Node>, new: Option<&Node>) {
        let (Some(old), Some(new)) = (old, new) else {
            self.move_all();
            return;
        };
        // Heartbeats (condition times) change nothing the filters read.
        let allocatable = |n: &Node| n.status.as_ref().and_then(|s| s.allocatable.clone());
        if old.metadata.labels != new.metadata.labels
            || old.spec != new.spec
            || allocatable(old) != allocatable(new)
        {
            self.move_all();
        }
    }
}

/// What a pod change means to the parked pods. Computed as the change is
/// observed, so that the scheduler's queue of changes holds no pods.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PodEvent {
    /// An assigned pod went away or ended: room, ports and a preemptor's
    /// nomination are freed.
    MoveAll,
    /// This pod's spec or labels changed: look at it again.
    Retry(String),
    /// This pod was deleted.
    Forget(String),
    /// Nothing for the parked pods (a pending pod may still have arrived).
    Other,
}

impl PodEvent {
    /// A pod was added (`old` none), changed, or deleted (`new` none).
    pub fn of(old: Option<&Pod>, new: Option<&Pod>) -> PodEvent {
        let assigned_live = |p: &Pod| pod_node_name(p).is_some() && !pod_is_terminal(p);
        if old.is_some_and(assigned_live) && !new.is_some_and(assigned_live) {
            return PodEvent::MoveAll;
        }
        let uid = |p: &Pod| p.metadata.uid.clone().unwrap_or_default();
        match (old, new) {
            (Some(old), None) => PodEvent::Forget(uid(old)),
            (Some(old), Some(new))
                if old.spec != new.spec || old.metadata.labels != new.metadata.labels =>
            {
                PodEvent::Retry(uid(new))
            }
            _ => PodEvent::Other,
        }
    }
}

fn pod_node_name(pod: &Pod) -> Option<&str> {
    pod.spec
        .as_ref()
        .and_then(|s| s.node_name.as_deref())
        .filter(|n| !n.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn node_json(name: &str, cpu: &str, mem: &str, pods: &str) -> Value {
        json!({
            "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
            "spec": {},
            "status": {
                "allocatable": {"cpu": cpu, "memory": mem, "pods": pods},
                "conditions": [{"type": "Ready", "status": "True"}]
            }
        })
    }

    fn node(name: &str, cpu: &str, mem: &str, pods: &str) -> Node {
        from(node_json(name, cpu, mem, pods))
    }

    fn from<T: k8s_openapi::serde::de::DeserializeOwned>(v: Value) -> T {
        match serde_json::from_value(v) {
            Ok(t) => t,
            Err(e) => panic!("bad fixture: {e}"),
        }
    }

    fn with(mut base: Value, path: &[&str], v: Value) -> Value {
        let mut cur = &mut base;
        for (i, k) in path.iter().enumerate() {
            if i + 1 == path.len() {
                cur[*k] = v;
                break;
            }
            if cur.get(*k).is_none() {
                cur[*k] = json!({});
            }
            cur = &mut cur[*k];
        }
        base
    }

    fn pod_json(name: &str, cpu: Option<&str>, mem: Option<&str>) -> Value {
        let mut req = serde_json::Map::new();
        if let Some(c) = cpu {
            req.insert("cpu".into(), json!(c));
        }
        if let Some(m) = mem {
            req.insert("memory".into(), json!(m));
        }
        json!({
            "metadata": {"name": name, "namespace": "default", "uid": format!("uid-{name}")},
            "spec": {"containers": [{"name": "c", "image": "i", "resources": {"requests": req}}]}
        })
    }

    fn pod(name: &str, cpu: Option<&str>, mem: Option<&str>) -> Pod {
        from(pod_json(name, cpu, mem))
    }

    fn infos<'a>(nodes: &'a [Node], pods: &[Vec<&'a Pod>]) -> Vec<NodeInfo<'a>> {
        nodes
            .iter()
            .enumerate()
            .map(|(i, n)| NodeInfo {
                node: n,
                pods: pods.get(i).cloned().unwrap_or_default(),
            })
            .collect()
    }

    fn unsched(msg: &str) -> Decision {
        Decision::Unschedulable {
            message: msg.to_string(),
        }
    }

    fn bind(n: &str) -> Decision {
        Decision::Bind {
            node: n.to_string(),
        }
    }

    // ----- quantities -----

    #[test]
    fn quantity_parsing() {
        let cases: &[(&str, i64, i64)] = &[
            ("100m", 1, 100),
            ("1", 1, 1000),
            ("1.5", 2, 1500),
            ("0.1", 1, 100),
            (".5", 1, 500),
            ("5.", 5, 5000),
            ("128Mi", 134_217_728, 134_217_728_000),
            ("1Ki", 1024, 1_024_000),
            ("1.5Ki", 1536, 1_536_000),
            ("0.5Gi", 536_870_912, 536_870_912_000),
            ("1G", 1_000_000_000, 1_000_000_000_000),
            ("1k", 1000, 1_000_000),
            ("1M", 1_000_000, 1_000_000_000),
            ("1E", 1_000_000_000_000_000_000, i64::MAX),
            ("1e3", 1000, 1_000_000),
            ("1E3", 1000, 1_000_000),
            ("1e-3", 1, 1),
            ("1.5e+2", 150, 150_000),
            ("5n", 1, 1),
            ("250u", 1, 1),
            ("+2", 2, 2000),
            ("-1", -1, -1000),
            ("-100m", 0, -100),
            ("-1.5", -1, -1500),
            ("0", 0, 0),
            ("000.000", 0, 0),
            ("8Ei", i64::MAX, i64::MAX),
            ("100Gi", 107_374_182_400, 107_374_182_400_000),
        ];
        for (s, value, milli) in cases {
            let q = parse_quantity(s);
            assert_eq!(q.map(|q| q.value()), Some(*value), "value of {s}");
            assert_eq!(q.map(|q| q.milli_value()), Some(*milli), "milli of {s}");
        }
        for bad in [
            "", "abc", "1.2.3", "1Kb", "e3", "1e", "--1", "+", ".", "1 ", "1ki", "1e1.5", "1m5",
            "Mi",
        ] {
            assert_eq!(parse_quantity(bad), None, "{bad:?} must be rejected");
        }
    }

    // ----- resource accounting -----

    #[test]
    fn pod_requests_with_init_and_sidecar_containers_and_overhead() {
        let p: Pod = from(json!({
            "metadata": {"name": "p"},
            "spec": {
                "containers": [
                    {"name": "a", "resources": {"requests": {"cpu": "100m", "memory": "1Gi"}}},
                    {"name": "b", "resources": {"requests": {"cpu": "200m", "example.com/foo": "1"}}}
                ],
                "initContainers": [
                    {"name": "i1", "resources": {"requests": {"cpu": "500m", "memory": "100Mi"}}},
                    {"name": "i2", "resources": {"requests": {"example.com/foo": "3"}}}
                ],
                "overhead": {"cpu": "10m", "memory": "1Mi"}
            }
        }));
        let r = pod_requests(&p, false);
        assert_eq!(r.milli_cpu, 510);
        assert_eq!(r.memory, (1 << 30) + (1 << 20));
        assert_eq!(r.scalars.get("example.com/foo"), Some(&3));
        // Non-zero: container b lacks memory -> 200Mi; init i2 lacks both -> 100m/200Mi.
        let nz = pod_requests(&p, true);
        assert_eq!(nz.milli_cpu, 510);
        assert_eq!(nz.memory, (1 << 30) + 200 * 1024 * 1024 + (1 << 20));

        // Sidecars (restartPolicy Always) run alongside later init containers and the app.
        let p: Pod = from(json!({
            "metadata": {"name": "p"},
            "spec": {
                "initContainers": [
                    {"name": "s", "restartPolicy": "Always", "resources": {"requests": {"cpu": "1"}}},
                    {"name": "i", "resources": {"requests": {"cpu": "2"}}}
                ],
                "containers": [{"name": "a", "resources": {"requests": {"cpu": "1"}}}]
            }
        }));
        assert_eq!(pod_requests(&p, false).milli_cpu, 3000);
        let p: Pod = from(json!({
            "metadata": {"name": "p"},
            "spec": {
                "initContainers": [
                    {"name": "i", "resources": {"requests": {"cpu": "1"}}},
                    {"name": "s", "restartPolicy": "Always", "resources": {"requests": {"cpu": "1"}}}
                ],
                "containers": [{"name": "a", "resources": {"requests": {"cpu": "3"}}}]
            }
        }));
        assert_eq!(pod_requests(&p, false).milli_cpu, 4000);
        // Best-effort pod scores as 100m / 200Mi.
        let be = pod("be", None, None);
        assert_eq!(pod_requests(&be, false), Resources::default());
        let nz = pod_requests(&be, true);
        assert_eq!((nz.milli_cpu, nz.memory), (100, 200 * 1024 * 1024));
    }

    #[test]
    fn node_accounting_sums_existing_pods_and_ignores_terminal_ones() {
        let nodes = [node("n1", "1", "4Gi", "110")];
        let a = pod("a", Some("300m"), None);
        let b = pod("b", Some("300m"), None);
        let done: Pod = from(with(
            pod_json("done", Some("900m"), None),
            &["status", "phase"],
            json!("Succeeded"),
        ));
        let p = pod("p", Some("400m"), None);
        let d = schedule(&p, &infos(&nodes, &[vec![&a, &b, &done]]), 0);
        assert_eq!(d, bind("n1"));
        let p = pod("p", Some("401m"), None);
        let d = schedule(&p, &infos(&nodes, &[vec![&a, &b, &done]]), 0);
        assert_eq!(
            d,
            unsched(
                "0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod."
            )
        );
        // The init container's request is what does not fit.
        let p: Pod = from(with(
            pod_json("p", Some("100m"), None),
            &["spec", "initContainers"],
            json!([{"name": "i", "resources": {"requests": {"cpu": "500m"}}}]),
        ));
        let d = schedule(&p, &infos(&nodes, &[vec![&a, &b]]), 0);
        assert!(matches!(d, Decision::Unschedulable { .. }));
        // Allocatable missing: capacity is used.
        let n: Node = from(json!({
            "metadata": {"name": "cap"},
            "status": {"capacity": {"cpu": "2", "memory": "1Gi", "pods": "10"},
                       "conditions": [{"type": "Ready", "status": "True"}]}
        }));
        let p = pod("p", Some("2"), Some("1Gi"));
        assert_eq!(
            schedule(
                &p,
                &[NodeInfo {
                    node: &n,
                    pods: vec![]
                }],
                0
            ),
            bind("cap")
        );
    }

    // ----- filters and messages -----

    const NOT_HELPFUL_1: &str =
        "preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.";

    #[test]
    fn no_nodes() {
        assert_eq!(
            schedule(&pod("p", None, None), &[], 0),
            unsched("no nodes available to schedule pods")
        );
    }

    #[test]
    fn not_ready_node_gets_untolerated_taint_message() {
        let mut n = node_json("n1", "4", "8Gi", "110");
        n["status"]["conditions"] = json!([{"type": "Ready", "status": "False"}]);
        let nodes: [Node; 1] = [from(n.clone())];
        let p = pod("p", None, None);
        assert_eq!(
            schedule(&p, &infos(&nodes, &[]), 0),
            unsched(&format!(
                "0/1 nodes are available: 1 node(s) had untolerated taint {{node.kubernetes.io/not-ready: }}. {NOT_HELPFUL_1}"
            ))
        );
        // Unknown -> unreachable.
        n["status"]["conditions"] = json!([{"type": "Ready", "status": "Unknown"}]);
        let nodes: [Node; 1] = [from(n.clone())];
        assert_eq!(
            schedule(&p, &infos(&nodes, &[]), 0),
            unsched(&format!(
                "0/1 nodes are available: 1 node(s) had untolerated taint {{node.kubernetes.io/unreachable: }}. {NOT_HELPFUL_1}"
            ))
        );
        // A pod tolerating it is scheduled (like DaemonSet pods).
        let tp: Pod = from(with(
            pod_json("p", None, None),
            &["spec", "tolerations"],
            json!([{"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoSchedule"}]),
        ));
        assert_eq!(schedule(&tp, &infos(&nodes, &[]), 0), bind("n1"));
    }

    #[test]
    fn brief_example_taint_and_insufficient_cpu() {
        let mut tainted = node_json("a", "4", "8Gi", "110");
        tainted["spec"]["taints"] =
            json!([{"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule"}]);
        let nodes: [Node; 3] = [
            from(tainted),
            node("b", "1", "8Gi", "110"),
            node("c", "1", "8Gi", "110"),
        ];
        let p = pod("p", Some("2"), None);
        assert_eq!(
            schedule(&p, &infos(&nodes, &[]), 0),
            unsched(
                "0/3 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }, 2 Insufficient cpu. preemption: 0/3 nodes are available: 1 Preemption is not helpful for scheduling, 2 No preemption victims found for incoming pod."
            )
        );
    }

    #[test]
    fn taints_and_tolerations() {
        let mut n = node_json("n1", "4", "8Gi", "110");
        n["spec"]["taints"] = json!([
            {"key": "soft", "value": "x", "effect": "PreferNoSchedule"},
            {"key": "dedicated", "value": "gpu", "effect": "NoSchedule"},
            {"key": "evict", "effect": "NoExecute"}
        ]);
        let nodes: [Node; 1] = [from(n)];
        let cases: Vec<(Value, Option<&str>)> = vec![
            (json!([]), Some("{dedicated: gpu}")),
            (
                json!([{"key": "dedicated", "operator": "Equal", "value": "gpu"}]),
                Some("{evict: }"),
            ),
            (
                json!([{"key": "dedicated", "value": "cpu"}, {"key": "evict", "operator": "Exists"}]),
                Some("{dedicated: gpu}"),
            ),
            (
                json!([{"key": "dedicated", "value": "gpu", "effect": "NoExecute"}, {"key": "evict", "operator": "Exists"}]),
                Some("{dedicated: gpu}"),
            ),
            (
                json!([{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}, {"key": "evict", "operator": "Exists", "effect": "NoExecute"}]),
                None,
            ),
            (json!([{"operator": "Exists"}]), None),
            (
                json!([{"operator": "Exists", "effect": "NoSchedule"}]),
                Some("{evict: }"),
            ),
        ];
        for (tols, want) in cases {
            let p: Pod = from(with(
                pod_json("p", None, None),
                &["spec", "tolerations"],
                tols.clone(),
            ));
            let got = schedule(&p, &infos(&nodes, &[]), 0);
            let want = match want {
                None => bind("n1"),
                Some(t) => unsched(&format!(
                    "0/1 nodes are available: 1 node(s) had untolerated taint {t}. {NOT_HELPFUL_1}"
                )),
            };
            assert_eq!(got, want, "tolerations {tols}");
        }
    }

    #[test]
    fn unschedulable_node() {
        let mut n = node_json("n1", "4", "8Gi", "110");
        n["spec"]["unschedulable"] = json!(true);
        n["spec"]["taints"] =
            json!([{"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}]);
        let nodes: [Node; 1] = [from(n)];
        assert_eq!(
            schedule(&pod("p", None, None), &infos(&nodes, &[]), 0),
            unsched(&format!(
                "0/1 nodes are available: 1 node(s) were unschedulable. {NOT_HELPFUL_1}"
            ))
        );
        let p: Pod = from(with(
            pod_json("p", None, None),
            &["spec", "tolerations"],
            json!([{"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"}]),
        ));
        assert_eq!(schedule(&p, &infos(&nodes, &[]), 0), bind("n1"));
    }

    #[test]
    fn node_name_filter() {
        let nodes = [node("a", "4", "8Gi", "110"), node("b", "4", "8Gi", "110")];
        let p: Pod = from(with(
            pod_json("p", None, None),
            &["spec", "nodeName"],
            json!("b"),
        ));
        assert_eq!(schedule(&p, &infos(&nodes, &[]), 0), bind("b"));
        let p: Pod = from(with(
            pod_json("p", None, None),
            &["spec", "nodeName"],
            json!("zz"),
        ));
        assert_eq!(
            schedule(&p, &infos(&nodes, &[]), 0),
            unsched(
                "0/2 nodes are available: 2 node(s) didn't match the requested node name. preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling."
            )
        );
    }

    fn labelled(name: &str, labels: Value) -> Node {
        let mut n = node_json(name, "4", "8Gi", "110");
        n["metadata"]["labels"] = labels;
        from(n)
    }

    #[test]
    fn node_selector_and_required_affinity() {
        let nodes = [
            labelled("a", json!({"disk": "ssd", "gen": "3"})),
            labelled("b", json!({"disk": "hdd", "gen": "5"})),
            labelled("c", json!({"gen": "x"})),
        ];
        let expr = |e: Value| {
            json!({"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [{"matchExpressions": [e]}]}}})
        };
        let cases: Vec<(&str, Value, &[&str])> = vec![
            ("selector", json!({"nodeSelector": {"disk": "ssd"}}), &["a"]),
            (
                "selector none",
                json!({"nodeSelector": {"disk": "nvme"}}),
                &[],
            ),
            (
                "In",
                json!({"affinity": expr(json!({"key": "disk", "operator": "In", "values": ["ssd", "hdd"]}))}),
                &["a", "b"],
            ),
            (
                "NotIn",
                json!({"affinity": expr(json!({"key": "disk", "operator": "NotIn", "values": ["ssd"]}))}),
                &["b", "c"],
            ),
            (
                "Exists",
                json!({"affinity": expr(json!({"key": "disk", "operator": "Exists"}))}),
                &["a", "b"],
            ),
            (
                "DoesNotExist",
                json!({"affinity": expr(json!({"key": "disk", "operator": "DoesNotExist"}))}),
                &["c"],
            ),
            (
                "Gt",
                json!({"affinity": expr(json!({"key": "gen", "operator": "Gt", "values": ["4"]}))}),
                &["b"],
            ),
            (
                "Lt",
                json!({"affinity": expr(json!({"key": "gen", "operator": "Lt", "values": ["4"]}))}),
                &["a"],
            ),
            (
                "Gt invalid",
                json!({"affinity": expr(json!({"key": "gen", "operator": "Gt", "values": ["x"]}))}),
                &[],
            ),
            (
                "In no values",
                json!({"affinity": expr(json!({"key": "disk", "operator": "In"}))}),
                &[],
            ),
            (
                "matchFields NotIn",
                json!({"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [{"matchFields": [{"key": "metadata.name", "operator": "NotIn", "values": ["a"]}]}]}}}}),
                &["b", "c"],
            ),
            (
                "ORed terms",
                json!({"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [
                    {"matchExpressions": [{"key": "disk", "operator": "In", "values": ["hdd"]}]},
                    {"matchExpressions": [{"key": "gen", "operator": "In", "values": ["x"]}]},
                    {}
                ]}}}}),
                &["b", "c"],
            ),
            (
                "empty terms",
                json!({"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": []}}}}),
                &[],
            ),
            (
                "selector and affinity",
                json!({"nodeSelector": {"disk": "ssd"}, "affinity": expr(json!({"key": "gen", "operator": "Gt", "values": ["4"]}))}),
                &[],
            ),
        ];
        for (name, spec_extra, fits) in cases {
            let mut pj = pod_json("p", None, None);
            if let (Some(spec), Some(extra)) = (pj["spec"].as_object_mut(), spec_extra.as_object())
            {
                for (k, v) in extra {
                    spec.insert(k.clone(), v.clone());
                }
            }
            let p: Pod = from(pj);
            let states: Vec<NodeState> = nodes.iter().map(|n| NodeState::new(n, vec![])).collect();
            let got: Vec<&str> = states
                .iter()
                .filter(|ns| filter_node_affinity(&p, ns).is_none())
                .map(|ns| node_name(ns.node))
                .collect();
            assert_eq!(got, fits.to_vec(), "{name}");
            if fits.is_empty() {
                assert_eq!(
                    schedule(&p, &infos(&nodes, &[]), 0),
                    unsched(
                        "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling."
                    ),
                    "{name}"
                );
            }
        }
    }

    fn pinned(name: &str, cpu: &str, nodes: Value) -> Pod {
        from(with(
            pod_json(name, Some(cpu), None),
            &["spec", "affinity"],
            json!({"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [{"matchFields": [{"key": "metadata.name", "operator": "In", "values": nodes}]}]}}}),
        ))
    }

    #[test]
    fn daemonset_style_pinning_uses_prefilter_node_names() {
        let nodes = [
            node("a", "4", "8Gi", "110"),
            node("b", "1", "8Gi", "110"),
            node("c", "4", "8Gi", "110"),
        ];
        assert_eq!(
            schedule(&pinned("p", "100m", json!(["c"])), &infos(&nodes, &[]), 0),
            bind("c")
        );
        assert_eq!(
            schedule(&pinned("p", "2", json!(["b"])), &infos(&nodes, &[]), 0),
            unsched(
                "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) didn't satisfy plugin(s) [NodeAffinity]. preemption: 0/3 nodes are available: 1 No preemption victims found for incoming pod, 2 Preemption is not helpful for scheduling."
            )
        );
        // Pinned to a node that does not exist.
        assert_eq!(
            schedule(&pinned("p", "1", json!(["gone"])), &infos(&nodes, &[]), 0),
            unsched(
                "0/3 nodes are available: 3 node(s) didn't satisfy plugin(s) [NodeAffinity]. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling."
            )
        );
        // Conflicting terms: the PreFilter rejects the pod.
        let p: Pod = from(with(
            pod_json("p", None, None),
            &["spec", "affinity"],
            json!({"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [{"matchFields": [
                {"key": "metadata.name", "operator": "In", "values": ["a"]},
                {"key": "metadata.name", "operator": "In", "values": ["b"]}
            ]}]}}}),
        ));
        assert_eq!(
            schedule(&p, &infos(&nodes, &[]), 0),
            unsched(
                "0/3 nodes are available: pod affinity terms conflict. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling."
            )
        );
    }

    fn with_host_port(name: &str, port: Value) -> Pod {
        from(with(
            pod_json(name, None, None),
            &["spec", "containers"],
            json!([{"name": "c", "image": "i", "ports": [port]}]),
        ))
    }

    #[test]
    fn host_ports() {
        let nodes = [node("n1", "4", "8Gi", "110")];
        let used = with_host_port("used", json!({"containerPort": 80, "hostPort": 8080}));
        let used_ip = with_host_port(
            "used2",
            json!({"containerPort": 53, "hostPort": 53, "protocol": "UDP", "hostIP": "10.0.0.1"}),
        );
        let conflict = "0/1 nodes are available: 1 node(s) didn't have free ports for the requested pod ports. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.";
        let cases: Vec<(Value, bool)> = vec![
            (json!({"containerPort": 80, "hostPort": 8080}), false),
            (
                json!({"containerPort": 80, "hostPort": 8080, "protocol": "TCP", "hostIP": "10.0.0.2"}),
                false,
            ),
            (
                json!({"containerPort": 80, "hostPort": 8080, "protocol": "UDP"}),
                true,
            ),
            (json!({"containerPort": 80, "hostPort": 8081}), true),
            (json!({"containerPort": 8080}), true),
            (
                json!({"containerPort": 53, "hostPort": 53, "protocol": "UDP", "hostIP": "10.0.0.1"}),
                false,
            ),
            (
                json!({"containerPort": 53, "hostPort": 53, "protocol": "UDP", "hostIP": "10.0.0.2"}),
                true,
            ),
            (
                json!({"containerPort": 53, "hostPort": 53, "protocol": "UDP"}),
                false,
            ),
        ];
        for (port, fits) in cases {
            let p = with_host_port("p", port.clone());
            let want = if fits { bind("n1") } else { unsched(conflict) };
            assert_eq!(
                schedule(&p, &infos(&nodes, &[vec![&used, &used_ip]]), 0),
                want,
                "{port}"
            );
        }
    }

    #[test]
    fn resources_messages() {
        let n1 = [node("n1", "1", "1Gi", "2")];
        let a = pod("a", None, None);
        let b = pod("b", None, None);
        let p = pod("p", Some("2"), Some("2Gi"));
        assert_eq!(
            schedule(&p, &infos(&n1, &[]), 0),
            unsched(
                "0/1 nodes are available: 1 Insufficient cpu, 1 Insufficient memory. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod."
            )
        );
        assert_eq!(
            schedule(&pod("p", None, None), &infos(&n1, &[vec![&a, &b]]), 0),
            unsched(
                "0/1 nodes are available: 1 Too many pods. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod."
            )
        );
        let mut ext = node_json("gpu", "4", "8Gi", "110");
        ext["status"]["allocatable"]["example.com/gpu"] = json!("2");
        ext["status"]["allocatable"]["ephemeral-storage"] = json!("10Gi");
        let nodes: [Node; 2] = [from(ext), node("plain", "4", "8Gi", "110")];
        let want_gpu = |n: &str, q: &str| -> Pod {
            from(with(
                pod_json(n, None, None),
                &["spec", "containers"],
                json!([{"name": "c", "resources": {"requests": {"example.com/gpu": q}}}]),
            ))
        };
        let holder = want_gpu("holder", "1");
        assert_eq!(
            schedule(&want_gpu("p", "1"), &infos(&nodes, &[vec![&holder]]), 0),
            bind("gpu")
        );
        assert_eq!(
            schedule(&want_gpu("p", "2"), &infos(&nodes, &[vec![&holder]]), 0),
            unsched(
                "0/2 nodes are available: 2 Insufficient example.com/gpu. preemption: 0/2 nodes are available: 2 No preemption victims found for incoming pod."
            )
        );
        let eph: Pod = from(with(
            pod_json("p", None, None),
            &["spec", "containers"],
            json!([{"name": "c", "resources": {"requests": {"ephemeral-storage": "11Gi"}}}]),
        ));
        assert_eq!(
            schedule(&eph, &infos(&nodes, &[]), 0),
            unsched(
                "0/2 nodes are available: 2 Insufficient ephemeral-storage. preemption: 0/2 nodes are available: 2 No preemption victims found for incoming pod."
            )
        );
    }

    #[test]
    fn reasons_sorted_as_go_strings() {
        let mut nodes: Vec<Node> = (0..10)
            .map(|i| node(&format!("small{i}"), "1", "8Gi", "110"))
            .collect();
        for i in 0..2 {
            let mut n = node_json(&format!("t{i}"), "8", "8Gi", "110");
            n["spec"]["taints"] = json!([{"key": "k", "value": "v", "effect": "NoSchedule"}]);
            nodes.push(from(n));
        }
        let p = pod("p", Some("2"), None);
        assert_eq!(
            schedule(&p, &infos(&nodes, &[]), 0),
            unsched(
                "0/12 nodes are available: 10 Insufficient cpu, 2 node(s) had untolerated taint {k: v}. preemption: 0/12 nodes are available: 10 No preemption victims found for incoming pod, 2 Preemption is not helpful for scheduling."
            )
        );
    }

    // ----- preemption -----

    fn prio(name: &str, cpu: &str, priority: i32) -> Pod {
        from(with(
            pod_json(name, Some(cpu), None),
            &["spec", "priority"],
            json!(priority),
        ))
    }

    #[test]
    fn preemption_picks_minimal_victims() {
        let nodes = [node("a", "2", "8Gi", "110"), node("b", "2", "8Gi", "110")];
        let a1 = prio("a1", "1", 100);
        let a2 = prio("a2", "1", 5);
        let b1 = prio("b1", "1", 10);
        let b2 = prio("b2", "1", 10);
        let p = prio("p", "1", 1000);
        let d = schedule(&p, &infos(&nodes, &[vec![&a1, &a2], vec![&b1, &b2]]), 0);
        assert_eq!(
            d,
            Decision::Preempt {
                node: "a".into(),
                victims: vec![PodRef {
                    namespace: "default".into(),
                    name: "a2".into(),
                    uid: Some("uid-a2".into())
                }],
                message: "0/2 nodes are available: 2 Insufficient cpu.".into(),
            }
        );
        // Equal priority: nothing to preempt.
        let p = prio("p", "1", 5);
        assert_eq!(
            schedule(&p, &infos(&nodes, &[vec![&a1, &a2], vec![&b1, &b2]]), 0),
            unsched(
                "0/2 nodes are available: 2 Insufficient cpu. preemption: 0/2 nodes are available: 2 No preemption victims found for incoming pod."
            )
        );
        // Removing all lower-priority pods is still not enough.
        let p = prio("p", "3", 1000);
        assert_eq!(
            schedule(&p, &infos(&nodes, &[vec![&a1, &a2], vec![&b1, &b2]]), 0),
            unsched(
                "0/2 nodes are available: 2 Insufficient cpu. preemption: 0/2 nodes are available: 2 Insufficient cpu."
            )
        );
        // preemptionPolicy Never.
        let p: Pod = from(with(
            with(
                pod_json("p", Some("1"), None),
                &["spec", "priority"],
                json!(1000),
            ),
            &["spec", "preemptionPolicy"],
            json!("Never"),
        ));
        assert_eq!(
            schedule(&p, &infos(&nodes, &[vec![&a1, &a2], vec![&b1, &b2]]), 0),
            unsched(
                "0/2 nodes are available: 2 Insufficient cpu. preemption: not eligible due to preemptionPolicy=Never."
            )
        );
    }

    #[test]
    fn nominated_pod_waits_for_terminating_victim_then_binds_to_nominated_node() {
        let nodes = [node("a", "2", "8Gi", "110"), node("b", "2", "8Gi", "110")];
        let victim: Pod = from(with(
            with(
                pod_json("v", Some("2"), None),
                &["spec", "priority"],
                json!(0),
            ),
            &["metadata", "deletionTimestamp"],
            json!("2024-01-01T00:00:00Z"),
        ));
        let other = prio("o", "2", 0);
        let p: Pod = from(with(
            with(
                pod_json("p", Some("1"), None),
                &["spec", "priority"],
                json!(10),
            ),
            &["status", "nominatedNodeName"],
            json!("b"),
        ));
        assert_eq!(
            schedule(&p, &infos(&nodes, &[vec![&other], vec![&victim]]), 0),
            unsched(
                "0/2 nodes are available: 2 Insufficient cpu. preemption: not eligible due to a terminating pod on the nominated node."
            )
        );
        // Victim gone: the pod goes to its nominated node even though "a" would score the same.
        let small = prio("s", "100m", 0);
        assert_eq!(
            schedule(&p, &infos(&nodes, &[vec![], vec![&small]]), 0),
            bind("b")
        );
    }

    // ----- scoring -----

    fn owned(name: &str, rs: &str) -> Pod {
        from(with(
            pod_json(name, None, None),
            &["metadata", "ownerReferences"],
            json!([{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": rs, "uid": rs, "controller": true}]),
        ))
    }

    #[test]
    fn spreads_over_three_equal_nodes() {
        for big in [false, true] {
            let (cpu, mem) = if big { ("64", "256Gi") } else { ("2", "4Gi") };
            let nodes = [
                node("n1", cpu, mem, "110"),
                node("n2", cpu, mem, "110"),
                node("n3", cpu, mem, "110"),
            ];
            for make in [
                |i: usize| owned(&format!("p{i}"), "rs"),
                |i: usize| pod(&format!("p{i}"), Some("100m"), None),
            ] {
                let pods: Vec<Pod> = (0..6).map(make).collect();
                let mut placed: Vec<Vec<&Pod>> = vec![vec![], vec![], vec![]];
                for (i, p) in pods.iter().enumerate() {
                    let d = schedule(
                        p,
                        &infos(&nodes, &placed),
                        u64::try_from(i).unwrap_or(0) * 7,
                    );
                    let Decision::Bind { node } = d else {
                        panic!("unexpected {d:?}")
                    };
                    let idx = ["n1", "n2", "n3"]
                        .iter()
                        .position(|n| *n == node)
                        .unwrap_or(99);
                    placed[idx].push(p);
                }
                let counts: Vec<usize> = placed.iter().map(Vec::len).collect();
                assert_eq!(counts, vec![2, 2, 2], "big={big}");
            }
        }
    }

    #[test]
    fn spread_prefers_node_without_siblings_over_emptier_node() {
        // n1 has 2 unrelated pods, n2 has 1 sibling: PodTopologySpread favours n1.
        let nodes = [
            node("n1", "64", "256Gi", "110"),
            node("n2", "64", "256Gi", "110"),
        ];
        let u1 = owned("u1", "other");
        let u2 = owned("u2", "other");
        let s1 = owned("s1", "rs");
        let p = owned("p", "rs");
        assert_eq!(
            schedule(&p, &infos(&nodes, &[vec![&u1, &u2], vec![&s1]]), 0),
            bind("n1")
        );
    }

    #[test]
    fn least_allocated_and_preferences() {
        let nodes = [
            node("busy", "4", "8Gi", "110"),
            node("idle", "4", "8Gi", "110"),
        ];
        let hog = pod("hog", Some("3"), Some("6Gi"));
        let p = pod("p", Some("500m"), Some("1Gi"));
        for tb in 0..4 {
            assert_eq!(
                schedule(&p, &infos(&nodes, &[vec![&hog]]), tb),
                bind("idle")
            );
        }
        // PreferNoSchedule taint is avoided.
        let mut soft = node_json("soft", "4", "8Gi", "110");
        soft["spec"]["taints"] = json!([{"key": "k", "effect": "PreferNoSchedule"}]);
        let nodes: [Node; 2] = [from(soft), node("plain", "4", "8Gi", "110")];
        for tb in 0..4 {
            assert_eq!(schedule(&p, &infos(&nodes, &[]), tb), bind("plain"));
        }
        // Preferred node affinity wins over a slightly emptier node.
        let nodes = [
            labelled("fav", json!({"zone": "x"})),
            labelled("other", json!({})),
        ];
        let small = pod("s", Some("100m"), None);
        let p: Pod = from(with(
            pod_json("p", Some("100m"), None),
            &["spec", "affinity"],
            json!({"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
                {"weight": 10, "preference": {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["x"]}]}}]}}),
        ));
        assert_eq!(
            schedule(&p, &infos(&nodes, &[vec![&small]]), 1),
            bind("fav")
        );
        // Equal nodes: tie_break chooses.
        let nodes = [node("x", "4", "8Gi", "110"), node("y", "4", "8Gi", "110")];
        let p = pod("p", Some("100m"), None);
        assert_eq!(schedule(&p, &infos(&nodes, &[]), 0), bind("x"));
        assert_eq!(schedule(&p, &infos(&nodes, &[]), 1), bind("y"));
    }

    #[test]
    fn score_functions_match_upstream_examples() {
        // least_allocated_test.go: cpu 3000m of 4000, memory 5000 of 10000 -> (25 + 50) / 2.
        assert_eq!(least_requested(3000, 4000), 25);
        assert_eq!(least_requested(5000, 10000), 50);
        assert_eq!(least_requested(5000, 4000), 0);
        assert_eq!(least_requested(0, 0), 0);
        let mut s = vec![0, 1, 2];
        default_normalize(&mut s, true);
        assert_eq!(s, vec![100, 50, 0]);
        let mut s = vec![0, 0];
        default_normalize(&mut s, true);
        assert_eq!(s, vec![100, 100]);
        let mut s = vec![2, 4];
        default_normalize(&mut s, false);
        assert_eq!(s, vec![50, 100]);
    }

    // ----- candidates, binding, conditions -----

    #[test]
    fn schedulable_candidates() {
        let base = pod_json("p", None, None);
        let yes: Pod = from(base.clone());
        assert!(is_schedulable_candidate(&yes, "default-scheduler"));
        assert!(!is_schedulable_candidate(&yes, "other"));
        let cases = [
            with(base.clone(), &["spec", "nodeName"], json!("n1")),
            with(base.clone(), &["spec", "schedulerName"], json!("other")),
            with(
                base.clone(),
                &["metadata", "deletionTimestamp"],
                json!("2024-01-01T00:00:00Z"),
            ),
            with(
                base.clone(),
                &["spec", "schedulingGates"],
                json!([{"name": "g"}]),
            ),
            with(base.clone(), &["status", "phase"], json!("Succeeded")),
            with(base.clone(), &["status", "phase"], json!("Failed")),
        ];
        for c in cases {
            let p: Pod = from(c.clone());
            assert!(!is_schedulable_candidate(&p, "default-scheduler"), "{c}");
        }
        let named: Pod = from(with(
            base.clone(),
            &["spec", "schedulerName"],
            json!("default-scheduler"),
        ));
        assert!(is_schedulable_candidate(&named, "default-scheduler"));
        let pending: Pod = from(with(base.clone(), &["status", "phase"], json!("Pending")));
        assert!(is_schedulable_candidate(&pending, "default-scheduler"));
        let empty_gates: Pod = from(with(base, &["spec", "schedulingGates"], json!([])));
        assert!(is_schedulable_candidate(&empty_gates, "default-scheduler"));
    }

    fn now() -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::from_timestamp(1_700_000_000, 123_000_000).unwrap_or_default()
    }

    #[test]
    fn binding_and_conditions_json() {
        let p = pod("web-0", None, None);
        let b = serde_json::to_value(binding_for(&p, "n1")).unwrap_or_default();
        assert_eq!(
            b,
            json!({"apiVersion": "v1", "kind": "Binding",
                   "metadata": {"name": "web-0", "namespace": "default", "uid": "uid-web-0"},
                   "target": {"kind": "Node", "name": "n1"}})
        );
        let c = serde_json::to_value(unschedulable_condition(
            "0/1 nodes are available: x.",
            now(),
        ))
        .unwrap_or_default();
        assert_eq!(
            c,
            json!({"lastTransitionTime": "2023-11-14T22:13:20Z", "message": "0/1 nodes are available: x.",
                   "reason": "Unschedulable", "status": "False", "type": "PodScheduled"})
        );
        let v = serde_json::to_value(preemption_victim_condition("default-scheduler", now()))
            .unwrap_or_default();
        assert_eq!(
            v,
            json!({"lastTransitionTime": "2023-11-14T22:13:20Z",
                   "message": "default-scheduler: preempting to accommodate a higher priority pod",
                   "reason": "PreemptionByScheduler", "status": "True", "type": "DisruptionTarget"})
        );
    }

    #[test]
    fn update_pod_condition_semantics() {
        let mut st = PodStatus::default();
        assert!(update_pod_condition(
            &mut st,
            unschedulable_condition("m1", now())
        ));
        let later = now() + chrono::Duration::seconds(60);
        // Same content later: no change, transition time kept.
        assert!(!update_pod_condition(
            &mut st,
            unschedulable_condition("m1", later)
        ));
        // New message: change, transition time still kept (status unchanged).
        assert!(update_pod_condition(
            &mut st,
            unschedulable_condition("m2", later)
        ));
        let conds = st.conditions.clone().unwrap_or_default();
        assert_eq!(conds.len(), 1);
        assert_eq!(
            conds.first().and_then(|c| c.message.clone()),
            Some("m2".into())
        );
        assert_eq!(
            conds.first().and_then(|c| c.last_transition_time.clone()),
            unschedulable_condition("m1", now()).last_transition_time
        );
    }

    #[test]
    fn assumed_pods_last_until_the_cache_shows_them_bound_gone_or_expired() {
        let now = std::time::Instant::now();
        let pending = |uid: &str| {
            let mut p = Pod::default();
            p.metadata.uid = Some(uid.to_string());
            p.spec = Some(Default::default());
            p
        };
        let bound = |uid: &str| {
            let mut p = pending(uid);
            if let Some(s) = p.spec.as_mut() {
                std::sync::Arc::make_mut(s).node_name = Some("n1".to_string());
            }
            p
        };
        let mut a = AssumedPods::default();
        for uid in ["a", "b", "c", "d"] {
            a.assume(uid.to_string(), "n1", std::sync::Arc::new(bound(uid)), now);
        }
        a.forget("d");
        // "a" still pending in the cache, "b" bound, "c" gone.
        let cache = [pending("a"), bound("b")];
        a.reconcile(cache.iter(), now, ASSUMED_POD_TTL);
        assert!(a.contains("a") && !a.contains("b") && !a.contains("c") && !a.contains("d"));
        assert_eq!(a.pods().map(|(n, _)| n).collect::<Vec<_>>(), vec!["n1"]);
        let later = now + ASSUMED_POD_TTL + std::time::Duration::from_millis(1);
        a.reconcile(cache.iter(), later, ASSUMED_POD_TTL);
        assert!(a.is_empty());
    }

    #[test]
    fn parked_pods_wait_for_a_change_that_may_help() {
        let now = std::time::Instant::now();
        let waiting = pod("w", Some("1"), None);
        let other = pod("o", Some("1"), None);
        let mut q = UnschedulablePods::default();
        q.park("uid-w", now);
        q.park("uid-o", now);
        assert!(q.is_parked("uid-w", now));
        // A new pod, or one being bound, frees nothing.
        let bound: Pod = from(with(
            pod_json("b", Some("1"), None),
            &["spec", "nodeName"],
            json!("n1"),
        ));
        q.pod_changed(None, Some(&bound));
        q.pod_changed(Some(&other), Some(&bound));
        assert_eq!(q.len(), 2);
        // Our own status write on a parked pod does not retry it...
        let with_status: Pod = from(with(
            pod_json("w", Some("1"), None),
            &["status", "phase"],
            json!("Pending"),
        ));
        q.pod_changed(Some(&waiting), Some(&with_status));
        assert!(q.is_parked("uid-w", now));
        // ...a change of its spec does.
        let smaller = pod("w", Some("100m"), None);
        q.pod_changed(Some(&waiting), Some(&smaller));
        assert!(!q.is_parked("uid-w", now) && q.is_parked("uid-o", now));
        // A deleted parked pod is forgotten.
        q.pod_changed(Some(&other), None);
        assert!(q.is_empty());
        // An assigned pod that ends or goes away moves every parked pod.
        q.park("uid-w", now);
        let ended: Pod = from(with(
            with(
                pod_json("b", Some("1"), None),
                &["spec", "nodeName"],
                json!("n1"),
            ),
            &["status", "phase"],
            json!("Succeeded"),
        ));
        q.pod_changed(Some(&bound), Some(&ended));
        assert!(q.is_empty());
        q.park("uid-w", now);
        q.pod_changed(Some(&bound), None);
        assert!(q.is_empty());
        // Node heartbeats do not; new room does.
        q.park("uid-w", now);
        let n1 = node("n1", "4", "8Gi", "110");
        let mut beat = n1.clone();
        if let Some(st) = beat.status.as_mut() {
            st.conditions = Some(vec![Default::default()]);
        }
        q.node_changed(Some(&n1), Some(&beat));
        assert!(q.is_parked("uid-w", now));
        q.node_changed(Some(&n1), Some(&node("n1", "8", "8Gi", "110")));
        assert!(q.is_empty());
        q.park("uid-w", now);
        q.node_changed(None, Some(&n1));
        assert!(q.is_empty());
        // Nobody waits forever.
        q.park("uid-w", now);
        assert!(!q.is_parked("uid-w", now + MAX_UNSCHEDULABLE));
    }

    #[test]
    fn a_failure_already_shown_is_not_told_again() {
        let msg = "0/1 nodes are available: 1 Too many pods.";
        let told: Pod = from(with(
            pod_json("p", None, None),
            &["status"],
            json!({"conditions": [{"type": "PodScheduled", "status": "False",
                "reason": "Unschedulable", "message": msg}]}),
        ));
        assert!(told_unschedulable(&told, msg, None));
        assert!(!told_unschedulable(&told, "0/2 nodes are available", None));
        assert!(!told_unschedulable(&told, msg, Some("n1")));
        assert!(!told_unschedulable(&pod("p", None, None), msg, None));
    }
}
