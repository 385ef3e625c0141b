//! Simulated nodes ("nodesim"): the pure decision logic of ironkube's fake kubelets, in the spirit of
//! kwok (kubernetes-sigs/kwok, `kustomize/stage/pod/` and `kustomize/stage/node/`). No container runs:
//! a readable table of pod *stages* (selector, delay, status change) drives each bound pod through the
//! statuses a real kubelet 1.33 would post (shapes from `pkg/kubelet/kubelet_pods.go`
//! `generateAPIPodStatus`/`convertToAPIContainerStatuses`, `pkg/kubelet/status/generate.go` and the
//! status manager's `updateLastTransitionTime`). Nodes, their heartbeats, their `kube-node-lease` leases,
//! the node lifecycle controller's NotReady marking and the taint-eviction timing are here too.
//! Everything is pure: time is a parameter, and the I/O loop applies the returned changes.
//!
//! # User-facing switches
//!
//! | Annotation | On | Value | Effect |
//! | --- | --- | --- | --- |
//! | `sim.ironkube.io/exit-after` | Pod (or its template) | Go duration, e.g. `"5s"` | The pod's containers exit that long after they start. With `restartPolicy: Never`, or `OnFailure` and exit code 0, the pod ends `Succeeded` (exit 0, `terminated.reason: Completed`) or `Failed` (`reason: Error`). Otherwise (`Always`, or `OnFailure` with a non-zero code) the kubelet restarts them with its crash back-off. |
//! | `sim.ironkube.io/exit-code` | Pod (or its template) | integer, default `"0"` | Exit code used by `exit-after`. |
//! | `sim.ironkube.io/crash-after` | Pod (or its template) | Go duration, e.g. `"10s"` | The containers crash (exit code 1, `reason: Error`) that long after each start. `Always`/`OnFailure`: restart count grows, `CrashLoopBackOff` with the kubelet's back-off 10s, 20s, 40s, ... 5m between restarts (first restart immediate); `Never`: the pod ends `Failed`. `exit-after` wins when both are set. |
//! | `sim.ironkube.io/not-ready` | Node | `"true"` | The node's kubelet "stops": no heartbeat, no lease renewal, no pod progress. Use [`not_ready_status`] and [`not_ready_taints`] to mark it as the node lifecycle controller would (`Ready=Unknown`, `node.kubernetes.io/unreachable` `NoSchedule`+`NoExecute` taints), then [`pods_to_evict`] for the taint-based eviction. Removing the annotation brings the node back ([`node_heartbeat`], [`ready_taints`]). |
//!
//! Unparseable annotation values are ignored (as if absent).
//!
//! # Pod lifecycle
//!
//! [`POD_STAGES`] is evaluated top to bottom; the first stage whose selector matches gives the next step.
//! Configurable delays come from [`SimConfig`] (zero allowed):
//!
//! | Stage | Selector | Delay (from) | Result |
//! | --- | --- | --- | --- |
//! | `pod-delete` | `deletionTimestamp` set | min(grace period, `pod_delete_delay`) from the delete request | pod deleted with grace period 0 |
//! | `pod-create` | `Pending`, no container statuses | `pod_start_delay` from scheduling | `Pending`, containers `waiting: ContainerCreating` (`PodInitializing` with init containers), pod IP, `startTime` |
//! | `pod-ready` | `Pending`, containers waiting `ContainerCreating`/`PodInitializing` | `pod_ready_delay` from `startTime` | `Running`, containers running, ready and started, init containers `Completed` |
//! | `pod-complete` | `Running`, containers running, exit rule not restarted by `restartPolicy` | exit/crash time from `startedAt` | `Succeeded`/`Failed`, containers terminated |
//! | `pod-crash` | `Running`, containers running, exit rule restarted by `restartPolicy` | exit/crash time from `startedAt` | first exit: restarted at once; later: `waiting: CrashLoopBackOff`, not ready |
//! | `pod-restart` | `Running`, containers waiting `CrashLoopBackOff` | kubelet back-off from `finishedAt` | containers running again, restart count + 1 |
//!
//! The kubelet's restart count counts *restarts*: it grows when the new container starts, not when the
//! old one dies (so `CrashLoopBackOff` after the second crash shows `restartCount: 1`), as upstream.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, TimeDelta, Utc};
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::api::core::v1::{
    ContainerState, ContainerStateRunning, ContainerStateTerminated, ContainerStateWaiting,
    ContainerStatus, ContainerUser, DaemonEndpoint, HostIP, LinuxContainerUser, Node, NodeAddress,
    NodeCondition, NodeDaemonEndpoints, NodeFeatures, NodeSpec, NodeStatus, NodeSystemInfo,
    PodCondition, PodIP, PodStatus, Taint, Toleration, VolumeMountStatus,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta, OwnerReference, Time};
use k8s_openapi::jiff::Timestamp;

use crate::controllers::shared::cached_pod::{self as cached, Container, Pod, PodSpec};

/// Pod annotation: containers exit after this Go duration.
pub const ANNOTATION_EXIT_AFTER: &str = "sim.ironkube.io/exit-after";
/// Pod annotation: exit code for [`ANNOTATION_EXIT_AFTER`] (default 0).
pub const ANNOTATION_EXIT_CODE: &str = "sim.ironkube.io/exit-code";
/// Pod annotation: containers crash (exit code 1) after this Go duration, repeatedly.
pub const ANNOTATION_CRASH_AFTER: &str = "sim.ironkube.io/crash-after";
/// Node annotation: `"true"` stops the simulated kubelet of that node.
pub const ANNOTATION_NOT_READY: &str = "sim.ironkube.io/not-ready";
/// Label put on every simulated node (like kwok's `type: kwok`).
pub const SIM_NODE_LABEL: (&str, &str) = ("type", "ironkube");
/// Namespace of node leases.
pub const NODE_LEASE_NAMESPACE: &str = "kube-node-lease";
/// Kubelet default `nodeLeaseDurationSeconds`.
pub const NODE_LEASE_DURATION_SECONDS: i32 = 40;
/// Kubelet renews its lease every 25% of the lease duration (10s by default).
pub const NODE_LEASE_RENEW_INTERVAL: TimeDelta = TimeDelta::seconds(10);
/// Kubelet default `nodeStatusReportFrequency`: full status posted at least this often.
pub const NODE_STATUS_REPORT_INTERVAL: TimeDelta = TimeDelta::minutes(5);
/// Kubelet crash back-off: initial period (`pkg/kubelet/kubelet.go` `backOffPeriod`).
pub const CRASH_BACKOFF_INITIAL: TimeDelta = TimeDelta::seconds(10);
/// Kubelet crash back-off: maximum (`MaxContainerBackOff`).
pub const CRASH_BACKOFF_MAX: TimeDelta = TimeDelta::seconds(300);

pub(crate) const TAINT_UNREACHABLE: &str = "node.kubernetes.io/unreachable";
pub(crate) const TAINT_NOT_READY: &str = "node.kubernetes.io/not-ready";
const CONTAINER_ID_SCHEME: &str = "ironkube://";

/// Global knobs of the simulation. All delays may be zero.
#[derive(Clone, Debug, PartialEq)]
pub struct SimConfig {
    /// From scheduling (`PodScheduled`) to the first kubelet status (`ContainerCreating`, IP assigned).
    pub pod_start_delay: TimeDelta,
    /// From `startTime` to containers running and ready.
    pub pod_ready_delay: TimeDelta,
    /// Upper bound of the graceful-termination wait: a deleted pod goes away after
    /// min(its grace period, this).
    pub pod_delete_delay: TimeDelta,
    /// Node capacity and allocatable.
    pub cpu: String,
    pub memory: String,
    pub pods: String,
    pub ephemeral_storage: String,
    /// `kubernetes.io/arch` and `nodeInfo.architecture`.
    pub arch: String,
    pub kubelet_version: String,
    pub container_runtime_version: String,
    pub kernel_version: String,
    pub os_image: String,
    /// `node.kubernetes.io/instance-type` label, if any (set by cloud providers only upstream).
    pub instance_type: Option<String>,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            pod_start_delay: TimeDelta::zero(),
            pod_ready_delay: TimeDelta::seconds(1),
            pod_delete_delay: TimeDelta::seconds(1),
            cpu: "32".into(),
            memory: "256Gi".into(),
            pods: "110".into(),
            ephemeral_storage: "1Ti".into(),
            arch: "amd64".into(),
            kubelet_version: "v1.33.0".into(),
            container_runtime_version: "ironkube://0.1.0".into(),
            kernel_version: "6.8.0-ironkube".into(),
            os_image: "ironkube simulated node".into(),
            instance_type: None,
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// The stage table
// ---------------------------------------------------------------------------------------------------

/// What the pod's regular containers look like, as a stage selector.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContainersSel {
    /// No container statuses yet (never seen by the kubelet).
    NoStatus,
    /// Every regular container waits with one of these reasons.
    Waiting(&'static [&'static str]),
    /// Every regular container runs.
    Running,
}

/// Whether the pod carries an exit/crash rule, and what its `restartPolicy` does with the exit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitSel {
    /// Does not matter.
    Any,
    /// An exit rule whose exit is final (`Never`, or `OnFailure` with exit code 0).
    Final,
    /// An exit rule whose exit the kubelet restarts (`Always`, or `OnFailure` with a non-zero code).
    Restarted,
}

/// When a stage applies (all fields must hold). The pod must be bound to the simulated node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct When {
    /// `metadata.deletionTimestamp` set.
    pub deleting: bool,
    /// `status.phase` in this list (a missing phase reads as `Pending`); empty = any phase.
    pub phases: &'static [&'static str],
    /// Container states; `None` = any.
    pub containers: Option<ContainersSel>,
    pub exit: ExitSel,
}

/// How long after which reference time a stage fires.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delay {
    /// `pod_start_delay` after the `PodScheduled` transition (else creation).
    PodStart,
    /// `pod_ready_delay` after `status.startTime`.
    PodReady,
    /// min(grace, `pod_delete_delay`) after the delete request (`deletionTimestamp` - grace).
    Grace,
    /// The exit/crash annotation's duration after the containers started.
    RunTime,
    /// The kubelet's crash back-off after the containers finished.
    CrashBackOff,
}

/// What a stage does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    /// Delete the pod (grace period 0), as the kubelet's status manager does once it terminated.
    Delete,
    /// Sandbox ready, IP assigned, containers being created.
    ContainerCreating,
    /// Containers running, ready, started.
    Run,
    /// Containers exit for good: pod `Succeeded`/`Failed`.
    Finish,
    /// Containers exit and get restarted (at once or after a `CrashLoopBackOff`).
    ExitAndRestart,
    /// Back-off over: containers start again.
    Restart,
}

/// One row of the lifecycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PodStage {
    pub name: &'static str,
    pub when: When,
    pub delay: Delay,
    pub next: Next,
}

const CREATING_REASONS: &[&str] = &["ContainerCreating", "PodInitializing"];

/// The simulated kubelet's pod lifecycle, first match wins.
pub static POD_STAGES: &[PodStage] = &[
    PodStage {
        name: "pod-delete",
        when: When {
            deleting: true,
            phases: &[],
            containers: None,
            exit: ExitSel::Any,
        },
        delay: Delay::Grace,
        next: Next::Delete,
    },
    PodStage {
        name: "pod-create",
        when: When {
            deleting: false,
            phases: &["Pending"],
            containers: Some(ContainersSel::NoStatus),
            exit: ExitSel::Any,
        },
        delay: Delay::PodStart,
        next: Next::ContainerCreating,
    },
    PodStage {
        name: "pod-ready",
        when: When {
            deleting: false,
            phases: &["Pending"],
            containers: Some(ContainersSel::Waiting(CREATING_REASONS)),
            exit: ExitSel::Any,
        },
        delay: Delay::PodReady,
        next: Next::Run,
    },
    PodStage {
        name: "pod-complete",
        when: When {
            deleting: false,
            phases: &["Running"],
            containers: Some(ContainersSel::Running),
            exit: ExitSel::Final,
        },
        delay: Delay::RunTime,
        next: Next::Finish,
    },
    PodStage {
        name: "pod-crash",
        when: When {
            deleting: false,
            phases: &["Running"],
            containers: Some(ContainersSel::Running),
            exit: ExitSel::Restarted,
        },
        delay: Delay::RunTime,
        next: Next::ExitAndRestart,
    },
    PodStage {
        name: "pod-restart",
        when: When {
            deleting: false,
            phases: &["Running"],
            containers: Some(ContainersSel::Waiting(&["CrashLoopBackOff"])),
            exit: ExitSel::Any,
        },
        delay: Delay::CrashBackOff,
        next: Next::Restart,
    },
];

/// A change the I/O loop applies to a pod.
#[derive(Clone, Debug, PartialEq)]
#[allow(clippy::large_enum_variant)] // mirrors the brief's API; built once per step
pub enum PodChange {
    /// Replace `status` (via the `status` subresource).
    UpdateStatus(PodStatus),
    /// Delete with `gracePeriodSeconds: 0` and a UID precondition, as the kubelet does.
    Delete,
}

/// The next thing the simulated kubelet does to a pod.
#[derive(Clone, Debug, PartialEq)]
pub struct PodStep {
    /// When to apply it; may be in the past (apply at once). Re-evaluate [`next_pod_step`] at that
    /// time before applying, the pod may have changed meanwhile.
    pub at: DateTime<Utc>,
    pub change: PodChange,
    /// Name of the stage in [`POD_STAGES`] (for logs and events).
    pub stage: &'static str,
    /// After applying, call [`IpAllocator::release`] for the pod (its sandbox is gone).
    pub release_ip: bool,
}

/// An exit rule read from the annotations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct ExitRule {
    after: TimeDelta,
    code: i32,
}

/// What a selector looks at, read once from the pod.
struct PodView<'a> {
    pod: &'a Pod,
    spec: &'a PodSpec,
    deleting: bool,
    phase: &'a str,
    containers: Option<ContainersSel>,
    waiting_reason: Option<&'a str>,
    exit: Option<ExitRule>,
    restart_policy: &'a str,
}

impl<'a> PodView<'a> {
    fn new(pod: &'a Pod, spec: &'a PodSpec) -> Self {
        let status = pod.status.as_ref();
        let statuses = status
            .and_then(|s| s.container_statuses.as_deref())
            .unwrap_or_default();
        let mut waiting_reason = None;
        let containers = if statuses.is_empty() {
            Some(ContainersSel::NoStatus)
        } else if statuses.len() == spec.containers.len() && statuses.iter().all(is_running) {
            Some(ContainersSel::Running)
        } else {
            let reasons: Vec<&str> = statuses.iter().filter_map(waiting_reason_of).collect();
            match reasons.first() {
                Some(first)
                    if reasons.len() == statuses.len() && reasons.iter().all(|r| r == first) =>
                {
                    waiting_reason = Some(*first);
                    Some(ContainersSel::Waiting(&[]))
                }
                _ => None,
            }
        };
        PodView {
            pod,
            spec,
            deleting: pod.metadata.deletion_timestamp.is_some(),
            phase: status.and_then(|s| s.phase.as_deref()).unwrap_or("Pending"),
            containers,
            waiting_reason,
            exit: exit_rule(pod),
            restart_policy: spec.restart_policy.as_deref().unwrap_or("Always"),
        }
    }

    /// Whether the kubelet restarts containers that exited with `code`.
    fn restarts(&self, code: i32) -> bool {
        match self.restart_policy {
            "Never" => false,
            "OnFailure" => code != 0,
            _ => true,
        }
    }
}

impl When {
    fn matches(&self, v: &PodView) -> bool {
        if self.deleting != v.deleting {
            return false;
        }
        if !self.phases.is_empty() && !self.phases.contains(&v.phase) {
            return false;
        }
        let containers_ok = match (self.containers, v.containers) {
            (None, _) => true,
            (Some(ContainersSel::Waiting(want)), Some(ContainersSel::Waiting(_))) => {
                v.waiting_reason.is_some_and(|r| want.contains(&r))
            }
            (Some(want), Some(have)) => want == have,
            (Some(_), None) => false,
        };
        if !containers_ok {
            return false;
        }
        match self.exit {
            ExitSel::Any => true,
            ExitSel::Final => v.exit.is_some_and(|e| !v.restarts(e.code)),
            ExitSel::Restarted => v.exit.is_some_and(|e| v.restarts(e.code)),
        }
    }
}

fn annotation<'a>(meta: &'a ObjectMeta, key: &str) -> Option<&'a str> {
    meta.annotations.as_ref()?.get(key).map(String::as_str)
}

fn exit_rule(pod: &Pod) -> Option<ExitRule> {
    if let Some(after) =
        annotation(&pod.metadata, ANNOTATION_EXIT_AFTER).and_then(parse_go_duration)
    {
        let code = annotation(&pod.metadata, ANNOTATION_EXIT_CODE)
            .and_then(|c| c.trim().parse::<i32>().ok())
            .unwrap_or(0);
        return Some(ExitRule { after, code });
    }
    annotation(&pod.metadata, ANNOTATION_CRASH_AFTER)
        .and_then(parse_go_duration)
        .map(|after| ExitRule { after, code: 1 })
}

/// Whether the node's simulated kubelet is stopped ([`ANNOTATION_NOT_READY`] = `"true"`).
pub fn node_is_stopped(node: &Node) -> bool {
    annotation(&node.metadata, ANNOTATION_NOT_READY) == Some("true")
}

/// The next step of the simulated kubelet for `pod` on `node`, or `None` when nothing will happen
/// (pod not bound to this node, node stopped, pod terminal or steady).
///
/// `ips` hands out the pod IP at the `pod-create` stage (idempotent per pod UID); pod IPs already in
/// the status are recorded in it, so an allocator rebuilt after a restart learns them.
pub fn next_pod_step(
    pod: &Pod,
    node: &Node,
    cfg: &SimConfig,
    ips: &mut IpAllocator,
    now: DateTime<Utc>,
) -> Option<PodStep> {
    let node_name = node.metadata.name.as_deref()?;
    let spec = pod.spec.as_ref()?;
    if spec.node_name.as_deref() != Some(node_name) || node_is_stopped(node) {
        return None;
    }
    let uid = pod.metadata.uid.as_deref().unwrap_or_default();
    if let Some(ip) = pod.status.as_ref().and_then(|s| s.pod_ip.as_deref())
        && spec.host_network != Some(true)
    {
        ips.reserve(uid, ip);
    }
    let view = PodView::new(pod, spec);
    let stage = POD_STAGES.iter().find(|s| s.when.matches(&view))?;
    let at = due(stage.delay, &view, cfg, now)?;
    let t = whole_seconds(at.max(now));
    let (change, release_ip) = match stage.next {
        Next::Delete => {
            // A pod already deleted with grace 0 that lingers only for its finalizers: the kubelet is done.
            if pod.metadata.deletion_grace_period_seconds == Some(0)
                && pod
                    .metadata
                    .finalizers
                    .as_ref()
                    .is_some_and(|f| !f.is_empty())
            {
                return None;
            }
            (PodChange::Delete, true)
        }
        Next::ContainerCreating => {
            let host_ip = node_internal_ip_of(node);
            let pod_ip = if spec.host_network == Some(true) {
                host_ip.clone()
            } else {
                ips.allocate(uid)
            };
            (
                PodChange::UpdateStatus(creating_status(&view, host_ip, pod_ip, t)),
                false,
            )
        }
        Next::Run => (PodChange::UpdateStatus(running_status(&view, t)), false),
        Next::Finish => {
            let code = view.exit.map_or(0, |e| e.code);
            (
                PodChange::UpdateStatus(finished_status(&view, code, t)),
                true,
            )
        }
        Next::ExitAndRestart => {
            let code = view.exit.map_or(1, |e| e.code);
            (
                PodChange::UpdateStatus(exited_status(&view, code, t)),
                false,
            )
        }
        Next::Restart => (PodChange::UpdateStatus(restarted_status(&view, t)), false),
    };
    Some(PodStep {
        at,
        change,
        stage: stage.name,
        release_ip,
    })
}

/// When a stage fires, from the pod's own timestamps.
fn due(delay: Delay, v: &PodView, cfg: &SimConfig, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let status = v.pod.status.as_ref();
    match delay {
        Delay::PodStart => {
            let scheduled = status
                .and_then(|s| s.conditions.as_deref())
                .and_then(|cs| {
                    cs.iter()
                        .find(|c| c.type_ == "PodScheduled" && c.status == "True")
                })
                .and_then(|c| c.last_transition_time.as_ref())
                .or(v.pod.metadata.creation_timestamp.as_ref())
                .and_then(from_time)
                .unwrap_or(now);
            scheduled.checked_add_signed(cfg.pod_start_delay)
        }
        Delay::PodReady => status
            .and_then(|s| s.start_time.as_ref())
            .and_then(from_time)
            .unwrap_or(now)
            .checked_add_signed(cfg.pod_ready_delay),
        Delay::Grace => {
            let deletion = from_time(v.pod.metadata.deletion_timestamp.as_ref()?)?;
            let grace = TimeDelta::seconds(
                v.pod
                    .metadata
                    .deletion_grace_period_seconds
                    .unwrap_or(0)
                    .clamp(0, i64::from(i32::MAX)),
            );
            let requested = deletion.checked_sub_signed(grace)?;
            requested.checked_add_signed(grace.min(cfg.pod_delete_delay.max(TimeDelta::zero())))
        }
        Delay::RunTime => {
            let started = first_regular(v, |cs| {
                cs.state
                    .as_ref()?
                    .running
                    .as_ref()?
                    .started_at
                    .as_ref()
                    .and_then(from_time)
            })?;
            started.checked_add_signed(v.exit?.after)
        }
        Delay::CrashBackOff => {
            let (finished, ran_for, restarts) = first_regular(v, |cs| {
                let term = cs.last_state.as_ref()?.terminated.as_ref()?;
                let finished = from_time(term.finished_at.as_ref()?)?;
                let started = term
                    .started_at
                    .as_ref()
                    .and_then(from_time)
                    .unwrap_or(finished);
                Some((finished, finished - started, cs.restart_count))
            })?;
            finished.checked_add_signed(restart_backoff(restarts, ran_for))
        }
    }
}

/// Reads something from the status of the first regular container (spec order) that has it.
fn first_regular<T>(v: &PodView, f: impl Fn(&cached::ContainerStatus) -> Option<T>) -> Option<T> {
    let statuses = v.pod.status.as_ref()?.container_statuses.as_deref()?;
    v.spec
        .containers
        .iter()
        .find_map(|c| statuses.iter().find(|s| s.name == c.name).and_then(&f))
}

/// The kubelet's wait before restarting a container that exited when its restart count was
/// `restart_count`, after running for `ran_for` (`pkg/kubelet/kuberuntime/kuberuntime_manager.go`
/// `doBackOff` with `flowcontrol.Backoff`): the first exit restarts at once and arms the back-off at
/// 10s; each later exit waits the armed period, which then doubles up to 5m. An entry whose last
/// update is more than 2×max (10 min) old has expired, so a container that ran longer than that
/// restarts at once (back-off reset).
pub fn restart_backoff(restart_count: i32, ran_for: TimeDelta) -> TimeDelta {
    if restart_count <= 0 || ran_for > CRASH_BACKOFF_MAX * 2 {
        return TimeDelta::zero();
    }
    let doublings = (restart_count - 1).min(16);
    let period = CRASH_BACKOFF_INITIAL * (1_i32 << doublings);
    period.min(CRASH_BACKOFF_MAX)
}

// ---------------------------------------------------------------------------------------------------
// Pod status builders
// ---------------------------------------------------------------------------------------------------

fn is_running(cs: &cached::ContainerStatus) -> bool {
    cs.state.as_ref().is_some_and(|s| s.running.is_some())
}

fn waiting_reason_of(cs: &cached::ContainerStatus) -> Option<&str> {
    cs.state.as_ref()?.waiting.as_ref()?.reason.as_deref()
}

fn is_sidecar(c: &Container) -> bool {
    c.restart_policy.as_deref() == Some("Always")
}

fn old_status<'a>(
    old: &'a [cached::ContainerStatus],
    name: &str,
) -> Option<&'a cached::ContainerStatus> {
    old.iter().find(|s| s.name == name)
}

/// `ironkube://<64 hex>`, stable per pod, container and attempt.
fn container_id(pod: &Pod, container: &str, attempt: i32) -> String {
    let uid = pod.metadata.uid.as_deref().unwrap_or_default();
    format!(
        "{CONTAINER_ID_SCHEME}{}",
        hex_id(&[uid, container, &attempt.to_string()], 64)
    )
}

fn volume_mounts(c: &Container) -> Option<Vec<VolumeMountStatus>> {
    let mounts = c.volume_mounts.as_ref().filter(|m| !m.is_empty())?;
    Some(
        mounts
            .iter()
            .map(|m| {
                let ro = m.read_only == Some(true);
                VolumeMountStatus {
                    name: m.name.clone(),
                    mount_path: m.mount_path.clone(),
                    read_only: ro.then_some(true),
                    // No runtime support for recursive read-only mounts is simulated.
                    recursive_read_only: ro.then(|| "Disabled".to_string()),
                }
            })
            .collect(),
    )
}

/// The identity the runtime reports for a started container (SupplementalGroupsPolicy, beta in 1.33).
fn container_user(spec: &PodSpec, c: &Container) -> ContainerUser {
    let psc = spec.security_context.as_ref();
    let csc = c.security_context.as_ref();
    let uid = csc
        .and_then(|s| s.run_as_user)
        .or(psc.and_then(|s| s.run_as_user))
        .unwrap_or(0);
    let gid = csc
        .and_then(|s| s.run_as_group)
        .or(psc.and_then(|s| s.run_as_group))
        .unwrap_or(0);
    let mut groups = BTreeSet::from([gid]);
    groups.extend(psc.and_then(|s| s.fs_group));
    groups.extend(
        psc.and_then(|s| s.supplemental_groups.clone())
            .unwrap_or_default(),
    );
    ContainerUser {
        linux: Some(LinuxContainerUser {
            uid,
            gid,
            supplemental_groups: Some(groups.into_iter().collect()),
        }),
    }
}

/// The default status of a container the runtime does not know yet.
fn waiting_container(
    c: &Container,
    reason: &str,
    old: Option<&cached::ContainerStatus>,
) -> ContainerStatus {
    ContainerStatus {
        name: c.name.clone(),
        image: c.image.clone().unwrap_or_default(),
        image_id: String::new(),
        last_state: Some(last_state_of(old)),
        ready: false,
        restart_count: old.map_or(0, |o| o.restart_count),
        started: Some(false),
        state: Some(ContainerState {
            waiting: Some(ContainerStateWaiting {
                reason: Some(reason.into()),
                message: None,
            }),
            ..Default::default()
        }),
        volume_mounts: volume_mounts(c),
        ..Default::default()
    }
}

/// A container known to the runtime (running or exited), with the runtime-reported fields.
fn runtime_container(
    v: &PodView,
    c: &Container,
    attempt: i32,
    state: ContainerState,
    last_state: ContainerState,
    ready: bool,
    started: bool,
) -> ContainerStatus {
    let image = c.image.clone().unwrap_or_default();
    ContainerStatus {
        name: c.name.clone(),
        container_id: Some(container_id(v.pod, &c.name, attempt)),
        image_id: image.clone(),
        image,
        last_state: Some(last_state),
        ready,
        resources: Some(c.resources.clone().unwrap_or_default()),
        restart_count: attempt,
        started: Some(started),
        state: Some(state),
        user: Some(container_user(v.spec, c)),
        volume_mounts: volume_mounts(c),
        ..Default::default()
    }
}

fn running_state(at: DateTime<Utc>) -> ContainerState {
    ContainerState {
        running: Some(ContainerStateRunning {
            started_at: Some(to_time(at)),
        }),
        ..Default::default()
    }
}

fn terminated(
    id: Option<String>,
    code: i32,
    started: Option<Time>,
    finished: DateTime<Utc>,
) -> ContainerStateTerminated {
    ContainerStateTerminated {
        container_id: id,
        exit_code: code,
        finished_at: Some(to_time(finished)),
        reason: Some(if code == 0 { "Completed" } else { "Error" }.into()),
        started_at: started,
        ..Default::default()
    }
}

fn running_container(
    v: &PodView,
    c: &Container,
    attempt: i32,
    last: ContainerState,
    at: DateTime<Utc>,
) -> ContainerStatus {
    runtime_container(v, c, attempt, running_state(at), last, true, true)
}

/// Terminates the running container described by `old` (exit `code` at `at`).
fn terminate(
    v: &PodView,
    c: &Container,
    old: &cached::ContainerStatus,
    code: i32,
    at: DateTime<Utc>,
) -> ContainerStateTerminated {
    let started = old
        .state
        .as_ref()
        .and_then(|s| s.running.as_ref())
        .and_then(|r| r.started_at.clone());
    let id = old
        .container_id
        .clone()
        .or_else(|| Some(container_id(v.pod, &c.name, old.restart_count)));
    terminated(id, code, started, at)
}

/// Container statuses sorted by name, as the status manager's `normalizeStatus` does.
fn sorted(mut statuses: Vec<ContainerStatus>) -> Vec<ContainerStatus> {
    statuses.sort_by(|a, b| a.name.cmp(&b.name));
    statuses
}

fn old_regular<'a>(v: &PodView<'a>) -> &'a [cached::ContainerStatus] {
    v.pod
        .status
        .as_ref()
        .and_then(|s| s.container_statuses.as_deref())
        .unwrap_or_default()
}

fn old_init<'a>(v: &PodView<'a>) -> &'a [cached::ContainerStatus] {
    v.pod
        .status
        .as_ref()
        .and_then(|s| s.init_container_statuses())
        .unwrap_or_default()
}

/// The old `lastState` of a container, for writing (empty when there was none).
fn last_state_of(old: Option<&cached::ContainerStatus>) -> ContainerState {
    old.and_then(|o| o.last_state.as_ref())
        .map(Into::into)
        .unwrap_or_default()
}

fn init_containers(spec: &PodSpec) -> &[Container] {
    spec.init_containers.as_deref().unwrap_or_default()
}

fn creating_status(
    v: &PodView,
    host_ip: Option<String>,
    pod_ip: Option<String>,
    t: DateTime<Utc>,
) -> PodStatus {
    let has_init = !init_containers(v.spec).is_empty();
    let reason = if has_init {
        "PodInitializing"
    } else {
        "ContainerCreating"
    };
    let init = init_containers(v.spec)
        .iter()
        .map(|c| waiting_container(c, reason, old_status(old_init(v), &c.name)))
        .collect();
    let regular = v
        .spec
        .containers
        .iter()
        .map(|c| waiting_container(c, reason, old_status(old_regular(v), &c.name)))
        .collect();
    let mut status = assemble(v, "Pending", init, sorted(regular), true, t);
    status.host_ip = host_ip.clone();
    status.host_ips = host_ip.map(|ip| vec![HostIP { ip }]);
    status.pod_ip = pod_ip.clone();
    status.pod_ips = pod_ip.map(|ip| vec![PodIP { ip }]);
    status
}

fn running_status(v: &PodView, t: DateTime<Utc>) -> PodStatus {
    let init = init_containers(v.spec)
        .iter()
        .map(|c| {
            let old = old_status(old_init(v), &c.name);
            let attempt = old.map_or(0, |o| o.restart_count);
            let last = last_state_of(old);
            if is_sidecar(c) {
                running_container(v, c, attempt, last, t)
            } else {
                let done = terminated(
                    Some(container_id(v.pod, &c.name, attempt)),
                    0,
                    Some(to_time(t)),
                    t,
                );
                let state = ContainerState {
                    terminated: Some(done),
                    ..Default::default()
                };
                // prober_manager.UpdatePodStatus: a completed init container is ready, not started.
                runtime_container(v, c, attempt, state, last, true, false)
            }
        })
        .collect();
    let regular = v
        .spec
        .containers
        .iter()
        .map(|c| {
            let old = old_status(old_regular(v), &c.name);
            let attempt = old.map_or(0, |o| o.restart_count);
            let last = last_state_of(old);
            running_container(v, c, attempt, last, t)
        })
        .collect();
    assemble(v, "Running", init, sorted(regular), true, t)
}

/// Regular containers exit with `code` and stay down: the pod reaches its terminal phase.
fn finished_status(v: &PodView, code: i32, t: DateTime<Utc>) -> PodStatus {
    let stop =
        |c: &Container, old: Option<&cached::ContainerStatus>, code: i32| -> ContainerStatus {
            match old {
                Some(o) if is_running(o) => {
                    let state = ContainerState {
                        terminated: Some(terminate(v, c, o, code, t)),
                        ..Default::default()
                    };
                    let last = last_state_of(Some(o));
                    runtime_container(v, c, o.restart_count, state, last, false, false)
                }
                Some(o) => o.into(),
                None => waiting_container(c, "ContainerCreating", None),
            }
        };
    let init = init_containers(v.spec)
        .iter()
        .map(|c| {
            let old = old_status(old_init(v), &c.name);
            // Sidecars are stopped after the main containers; they exit cleanly on SIGTERM.
            if is_sidecar(c) {
                stop(c, old, 0)
            } else {
                old.map(Into::into)
                    .unwrap_or_else(|| waiting_container(c, "PodInitializing", None))
            }
        })
        .collect();
    let regular = v
        .spec
        .containers
        .iter()
        .map(|c| stop(c, old_status(old_regular(v), &c.name), code))
        .collect();
    let phase = if code == 0 { "Succeeded" } else { "Failed" };
    assemble(v, phase, init, sorted(regular), false, t)
}

/// Regular containers exit with `code` and the kubelet restarts them: at once on the first exit (or
/// after a long run), else after a `CrashLoopBackOff`.
fn exited_status(v: &PodView, code: i32, t: DateTime<Utc>) -> PodStatus {
    let pod_name = format!(
        "{}_{}({})",
        v.pod.metadata.name.as_deref().unwrap_or_default(),
        v.pod.metadata.namespace.as_deref().unwrap_or_default(),
        v.pod.metadata.uid.as_deref().unwrap_or_default()
    );
    let regular = v
        .spec
        .containers
        .iter()
        .map(|c| {
            let Some(old) = old_status(old_regular(v), &c.name).filter(|o| is_running(o)) else {
                return old_status(old_regular(v), &c.name)
                    .map(Into::into)
                    .unwrap_or_else(|| waiting_container(c, "ContainerCreating", None));
            };
            let term = terminate(v, c, old, code, t);
            let ran_for = term
                .started_at
                .as_ref()
                .and_then(from_time)
                .map_or(TimeDelta::zero(), |s| t - s);
            let last = ContainerState {
                terminated: Some(term),
                ..Default::default()
            };
            let backoff = restart_backoff(old.restart_count, ran_for);
            if backoff.is_zero() {
                return running_container(v, c, old.restart_count.saturating_add(1), last, t);
            }
            // kuberuntime doBackOff message; the status keeps the exited container's runtime fields.
            let message = format!(
                "back-off {} restarting failed container={} pod={}",
                go_duration(backoff),
                c.name,
                pod_name
            );
            let state = ContainerState {
                waiting: Some(ContainerStateWaiting {
                    reason: Some("CrashLoopBackOff".into()),
                    message: Some(message),
                }),
                ..Default::default()
            };
            runtime_container(v, c, old.restart_count, state, last, false, false)
        })
        .collect();
    let init = old_init(v).iter().map(Into::into).collect();
    assemble(v, "Running", init, sorted(regular), true, t)
}

/// The back-off is over: the waiting containers start again.
fn restarted_status(v: &PodView, t: DateTime<Utc>) -> PodStatus {
    let regular = v
        .spec
        .containers
        .iter()
        .map(|c| match old_status(old_regular(v), &c.name) {
            Some(o) if waiting_reason_of(o) == Some("CrashLoopBackOff") => {
                let last = last_state_of(Some(o));
                running_container(v, c, o.restart_count.saturating_add(1), last, t)
            }
            Some(o) => o.into(),
            None => waiting_container(c, "ContainerCreating", None),
        })
        .collect();
    let init = old_init(v).iter().map(Into::into).collect();
    assemble(v, "Running", init, sorted(regular), true, t)
}

/// Puts a status together: carried-over fields, the kubelet's conditions, phase and statuses.
fn assemble(
    v: &PodView,
    phase: &str,
    init: Vec<ContainerStatus>,
    regular: Vec<ContainerStatus>,
    sandbox_ready: bool,
    t: DateTime<Utc>,
) -> PodStatus {
    let old: PodStatus = v.pod.status.as_ref().map(Into::into).unwrap_or_default();
    let conditions = pod_conditions(v.spec, &old, phase, &init, &regular, sandbox_ready, t);
    PodStatus {
        conditions: Some(conditions),
        container_statuses: Some(regular),
        init_container_statuses: (!init.is_empty()).then_some(init),
        host_ip: old.host_ip,
        host_ips: old.host_ips,
        phase: Some(phase.into()),
        pod_ip: old.pod_ip,
        pod_ips: old.pod_ips,
        qos_class: old.qos_class.or_else(|| Some(qos_class(v.spec).into())),
        start_time: old.start_time.or_else(|| Some(to_time(t))),
        // Kept as the kubelet keeps them when the phase does not change.
        reason: if old.phase.as_deref() == Some(phase) {
            old.reason
        } else {
            None
        },
        message: if old.phase.as_deref() == Some(phase) {
            old.message
        } else {
            None
        },
        ephemeral_container_statuses: old.ephemeral_container_statuses,
        nominated_node_name: old.nominated_node_name,
        resource_claim_statuses: old.resource_claim_statuses,
        ..Default::default()
    }
}

/// Condition types the kubelet owns (`pkg/kubelet/types/pod_status.go` `PodConditionByKubelet`).
const KUBELET_CONDITIONS: &[&str] = &[
    "PodScheduled",
    "Ready",
    "Initialized",
    "ContainersReady",
    "PodReadyToStartContainers",
    "PodResizePending",
    "PodResizeInProgress",
];

type Cond = (
    &'static str,
    &'static str,
    Option<&'static str>,
    Option<String>,
);

/// `generateAPIPodStatus`' conditions: the ones the kubelet does not own, then
/// PodReadyToStartContainers, Initialized, Ready, ContainersReady, PodScheduled; each keeps its old
/// `lastTransitionTime` when its status did not change (status manager `updateLastTransitionTime`).
fn pod_conditions(
    spec: &PodSpec,
    old: &PodStatus,
    phase: &str,
    init: &[ContainerStatus],
    regular: &[ContainerStatus],
    sandbox_ready: bool,
    t: DateTime<Utc>,
) -> Vec<PodCondition> {
    let old_conditions = old.conditions.as_deref().unwrap_or_default();
    let mut out: Vec<PodCondition> = old_conditions
        .iter()
        .filter(|c| !KUBELET_CONDITIONS.contains(&c.type_.as_str()))
        .cloned()
        .collect();
    let containers_ready = containers_ready_condition(spec, phase, init, regular);
    let ready = pod_ready_condition(spec, &out, &containers_ready);
    let generated: [Cond; 5] = [
        (
            "PodReadyToStartContainers",
            if sandbox_ready { "True" } else { "False" },
            None,
            None,
        ),
        initialized_condition(spec, phase, init, regular),
        ready,
        containers_ready,
        ("PodScheduled", "True", None, None),
    ];
    for (type_, status, reason, message) in generated {
        let previous = old_conditions.iter().find(|c| c.type_ == type_);
        let last_transition_time = match previous {
            Some(p) if p.status == status => p.last_transition_time.clone(),
            _ => Some(to_time(t)),
        };
        out.push(PodCondition {
            type_: type_.into(),
            status: status.into(),
            reason: reason.map(Into::into),
            message,
            last_transition_time,
            ..Default::default()
        });
    }
    out
}

fn status_of<'a>(statuses: &'a [ContainerStatus], name: &str) -> Option<&'a ContainerStatus> {
    statuses.iter().find(|s| s.name == name)
}

/// Go's `fmt.Sprintf("%s", []string{...})`: `[a b]`.
fn go_list(names: &[&str]) -> String {
    format!("[{}]", names.join(" "))
}

/// `status.GenerateContainersReadyCondition`.
fn containers_ready_condition(
    spec: &PodSpec,
    phase: &str,
    init: &[ContainerStatus],
    regular: &[ContainerStatus],
) -> Cond {
    match phase {
        "Succeeded" => return ("ContainersReady", "False", Some("PodCompleted"), None),
        "Failed" => return ("ContainersReady", "False", Some("PodFailed"), None),
        _ => {}
    }
    let mut unknown = Vec::new();
    let mut unready = Vec::new();
    let sidecars = init_containers(spec)
        .iter()
        .filter(|c| is_sidecar(c))
        .map(|c| (c, init));
    let mains = spec.containers.iter().map(|c| (c, regular));
    for (c, statuses) in sidecars.chain(mains) {
        match status_of(statuses, &c.name) {
            Some(s) if !s.ready => unready.push(c.name.as_str()),
            Some(_) => {}
            None => unknown.push(c.name.as_str()),
        }
    }
    let mut messages = Vec::new();
    if !unknown.is_empty() {
        messages.push(format!(
            "containers with unknown status: {}",
            go_list(&unknown)
        ));
    }
    if !unready.is_empty() {
        messages.push(format!(
            "containers with unready status: {}",
            go_list(&unready)
        ));
    }
    if messages.is_empty() {
        ("ContainersReady", "True", None, None)
    } else {
        (
            "ContainersReady",
            "False",
            Some("ContainersNotReady"),
            Some(messages.join(", ")),
        )
    }
}

/// `status.GeneratePodReadyCondition`, readiness gates included.
fn pod_ready_condition(
    spec: &PodSpec,
    conditions: &[PodCondition],
    containers_ready: &Cond,
) -> Cond {
    if containers_ready.1 != "True" {
        return (
            "Ready",
            containers_ready.1,
            containers_ready.2,
            containers_ready.3.clone(),
        );
    }
    let mut messages = Vec::new();
    for gate in spec.readiness_gates.as_deref().unwrap_or_default() {
        match conditions.iter().find(|c| c.type_ == gate.condition_type) {
            None => messages.push(format!(
                "corresponding condition of pod readiness gate {:?} does not exist.",
                gate.condition_type
            )),
            Some(c) if c.status != "True" => messages.push(format!(
                "the status of pod readiness gate {:?} is not \"True\", but {}",
                gate.condition_type, c.status
            )),
            Some(_) => {}
        }
    }
    if messages.is_empty() {
        ("Ready", "True", None, None)
    } else {
        (
            "Ready",
            "False",
            Some("ReadinessGatesNotReady"),
            Some(messages.join(", ")),
        )
    }
}

/// `status.GeneratePodInitializedCondition`.
fn initialized_condition(
    spec: &PodSpec,
    phase: &str,
    init: &[ContainerStatus],
    regular: &[ContainerStatus],
) -> Cond {
    let mut unknown = Vec::new();
    let mut incomplete = Vec::new();
    for c in init_containers(spec) {
        match status_of(init, &c.name) {
            None => unknown.push(c.name.as_str()),
            Some(s) => {
                let done = if is_sidecar(c) {
                    s.started == Some(true)
                } else {
                    s.ready
                };
                if !done {
                    incomplete.push(c.name.as_str());
                }
            }
        }
    }
    if phase == "Succeeded" && unknown.is_empty() {
        return ("Initialized", "True", Some("PodCompleted"), None);
    }
    // kubecontainer.HasAnyRegularContainerStarted
    let any_started = regular.iter().any(|s| {
        s.state
            .as_ref()
            .is_some_and(|st| st.running.is_some() || st.terminated.is_some())
    });
    if any_started {
        return ("Initialized", "True", None, None);
    }
    let mut messages = Vec::new();
    if !unknown.is_empty() {
        messages.push(format!(
            "containers with unknown status: {}",
            go_list(&unknown)
        ));
    }
    if !incomplete.is_empty() {
        messages.push(format!(
            "containers with incomplete status: {}",
            go_list(&incomplete)
        ));
    }
    if messages.is_empty() {
        ("Initialized", "True", None, None)
    } else {
        (
            "Initialized",
            "False",
            Some("ContainersNotInitialized"),
            Some(messages.join(", ")),
        )
    }
}

/// A simplified `v1qos.GetPodQOS`, used only when the API server did not fill `qosClass`.
fn qos_class(spec: &PodSpec) -> &'static str {
    let all: Vec<&Container> = spec
        .containers
        .iter()
        .chain(init_containers(spec))
        .collect();
    let res = |c: &Container, limits: bool, name: &str| -> Option<Quantity> {
        let r = c.resources.as_ref()?;
        let map = if limits {
            r.limits.as_ref()
        } else {
            r.requests.as_ref()
        };
        map?.get(name).cloned()
    };
    let any = all.iter().any(|c| {
        ["cpu", "memory"]
            .iter()
            .any(|n| res(c, true, n).is_some() || res(c, false, n).is_some())
    });
    if !any {
        return "BestEffort";
    }
    let guaranteed = all.iter().all(|c| {
        ["cpu", "memory"]
            .iter()
            .all(|n| match (res(c, true, n), res(c, false, n)) {
                (Some(l), Some(r)) => l == r,
                (Some(_), None) => true,
                _ => false,
            })
    });
    if guaranteed {
        "Guaranteed"
    } else {
        "Burstable"
    }
}

// ---------------------------------------------------------------------------------------------------
// Pod IPs
// ---------------------------------------------------------------------------------------------------

/// The pod CIDR of the simulated node with this index: `10.244.<index>.0/24` (indexes past 255 move on
/// to `10.245.x`, ... `10.255.x`, then wrap).
pub fn node_pod_cidr(index: usize) -> String {
    let (a, b) = cidr_octets(index);
    format!("10.{a}.{b}.0/24")
}

fn cidr_octets(index: usize) -> (usize, usize) {
    let index = index % (12 * 256);
    (244 + index / 256, index % 256)
}

/// The InternalIP of the simulated node with this index: `172.18.0.2`, `172.18.0.3`, ...
pub fn node_internal_ip(index: usize) -> String {
    let index = index % (254 * 256);
    format!("172.18.{}.{}", index / 254, index % 254 + 1 + 1)
}

fn node_internal_ip_of(node: &Node) -> Option<String> {
    node.status
        .as_ref()?
        .addresses
        .as_ref()?
        .iter()
        .find(|a| a.type_ == "InternalIP")
        .map(|a| a.address.clone())
}

/// Hands out pod IPs from a node's /24 like the host-local IPAM plugin: `.2` to `.254` (`.0` is the
/// network, `.1` the gateway, `.255` broadcast), round-robin so a released address is not reused at once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IpAllocator {
    prefix: String,
    by_uid: BTreeMap<String, u8>,
    used: BTreeSet<u8>,
    last: u8,
}

const FIRST_HOST: u8 = 2;
const LAST_HOST: u8 = 254;

impl IpAllocator {
    /// The allocator for the node with this index (CIDR [`node_pod_cidr`]).
    pub fn new(node_index: usize) -> Self {
        let (a, b) = cidr_octets(node_index);
        IpAllocator {
            prefix: format!("10.{a}.{b}."),
            by_uid: BTreeMap::new(),
            used: BTreeSet::new(),
            last: FIRST_HOST - 1,
        }
    }

    /// The pod's IP: the one it already has, else the next free one; `None` when the range is exhausted
    /// (a real node then fails sandbox creation).
    pub fn allocate(&mut self, pod_uid: &str) -> Option<String> {
        if let Some(host) = self.by_uid.get(pod_uid) {
            return Some(format!("{}{host}", self.prefix));
        }
        let (first, last) = (u16::from(FIRST_HOST), u16::from(self.last));
        let span = u16::from(LAST_HOST) - first + 1;
        let host = (1..=span)
            .filter_map(|step| u8::try_from(first + (last + span - first + step) % span).ok())
            .find(|h| !self.used.contains(h))?;
        self.last = host;
        self.used.insert(host);
        self.by_uid.insert(pod_uid.to_string(), host);
        Some(format!("{}{host}", self.prefix))
    }

    /// Records an IP a pod already has (e.g. after a restart). Returns false when the IP is not in this
    /// node's range or belongs to another pod.
    pub fn reserve(&mut self, pod_uid: &str, ip: &str) -> bool {
        let Some(host) = ip
            .strip_prefix(&self.prefix)
            .and_then(|h| h.parse::<u8>().ok())
        else {
            return false;
        };
        if !(FIRST_HOST..=LAST_HOST).contains(&host) {
            return false;
        }
        match self.by_uid.get(pod_uid) {
            Some(h) => return *h == host,
            None if self.used.contains(&host) => return false,
            None => {}
        }
        self.used.insert(host);
        self.by_uid.insert(pod_uid.to_string(), host);
        true
    }

    /// Frees the pod's IP (after its deletion or when it reached a terminal phase).
    pub fn release(&mut self, pod_uid: &str) {
        if let Some(host) = self.by_uid.remove(pod_uid) {
            self.used.remove(&host);
        }
    }

    /// How many IPs are in use.
    pub fn in_use(&self) -> usize {
        self.used.len()
    }
}

// ---------------------------------------------------------------------------------------------------
// Nodes
// ---------------------------------------------------------------------------------------------------

/// The four conditions the kubelet sets, in its setter order, with their healthy values.
const NODE_CONDITIONS: &[(&str, &str, &str, &str)] = &[
    (
        "MemoryPressure",
        "False",
        "KubeletHasSufficientMemory",
        "kubelet has sufficient memory available",
    ),
    (
        "DiskPressure",
        "False",
        "KubeletHasNoDiskPressure",
        "kubelet has no disk pressure",
    ),
    (
        "PIDPressure",
        "False",
        "KubeletHasSufficientPID",
        "kubelet has sufficient PID available",
    ),
    (
        "Ready",
        "True",
        "KubeletReady",
        "kubelet is posting ready status",
    ),
];

fn healthy_condition(entry: &(&str, &str, &str, &str), now: DateTime<Utc>) -> NodeCondition {
    NodeCondition {
        type_: entry.0.into(),
        status: entry.1.into(),
        reason: Some(entry.2.into()),
        message: Some(entry.3.into()),
        last_heartbeat_time: Some(to_time(now)),
        last_transition_time: Some(to_time(now)),
    }
}

/// A freshly registered simulated node, as its kubelet would create it (plus `spec.podCIDR(s)`,
/// which the node IPAM controller would add).
pub fn node_object(name: &str, index: usize, cfg: &SimConfig, now: DateTime<Utc>) -> Node {
    let mut labels = BTreeMap::from([
        ("beta.kubernetes.io/arch".to_string(), cfg.arch.clone()),
        ("beta.kubernetes.io/os".to_string(), "linux".to_string()),
        ("kubernetes.io/arch".to_string(), cfg.arch.clone()),
        ("kubernetes.io/hostname".to_string(), name.to_string()),
        ("kubernetes.io/os".to_string(), "linux".to_string()),
        (SIM_NODE_LABEL.0.to_string(), SIM_NODE_LABEL.1.to_string()),
    ]);
    if let Some(it) = &cfg.instance_type {
        labels.insert("node.kubernetes.io/instance-type".into(), it.clone());
    }
    let resources = BTreeMap::from([
        ("cpu".to_string(), Quantity(cfg.cpu.clone())),
        (
            "ephemeral-storage".to_string(),
            Quantity(cfg.ephemeral_storage.clone()),
        ),
        ("hugepages-1Gi".to_string(), Quantity("0".into())),
        ("hugepages-2Mi".to_string(), Quantity("0".into())),
        ("memory".to_string(), Quantity(cfg.memory.clone())),
        ("pods".to_string(), Quantity(cfg.pods.clone())),
    ]);
    let cidr = node_pod_cidr(index);
    let system_uuid = hex_id(&[name, "system-uuid"], 32);
    Node {
        metadata: ObjectMeta {
            name: Some(name.to_string()),
            labels: Some(labels),
            annotations: Some(BTreeMap::from([(
                "volumes.kubernetes.io/controller-managed-attach-detach".to_string(),
                "true".to_string(),
            )])),
            ..Default::default()
        },
        spec: Some(NodeSpec {
            pod_cidr: Some(cidr.clone()),
            pod_cidrs: Some(vec![cidr]),
            ..Default::default()
        }),
        status: Some(NodeStatus {
            addresses: Some(vec![
                NodeAddress {
                    type_: "InternalIP".into(),
                    address: node_internal_ip(index),
                },
                NodeAddress {
                    type_: "Hostname".into(),
                    address: name.to_string(),
                },
            ]),
            allocatable: Some(resources.clone()),
            capacity: Some(resources),
            conditions: Some(
                NODE_CONDITIONS
                    .iter()
                    .map(|c| healthy_condition(c, now))
                    .collect(),
            ),
            daemon_endpoints: Some(NodeDaemonEndpoints {
                kubelet_endpoint: Some(DaemonEndpoint { port: 10250 }),
            }),
            features: Some(NodeFeatures {
                supplemental_groups_policy: Some(true),
            }),
            node_info: Some(NodeSystemInfo {
                architecture: cfg.arch.clone(),
                boot_id: uuid_format(&hex_id(&[name, "boot-id"], 32)),
                container_runtime_version: cfg.container_runtime_version.clone(),
                kernel_version: cfg.kernel_version.clone(),
                // DisableNodeKubeProxyVersion (on by default since 1.31): left empty.
                kube_proxy_version: String::new(),
                kubelet_version: cfg.kubelet_version.clone(),
                machine_id: hex_id(&[name, "machine-id"], 32),
                operating_system: "linux".into(),
                os_image: cfg.os_image.clone(),
                system_uuid: uuid_format(&system_uuid),
                ..Default::default()
            }),
            ..Default::default()
        }),
    }
}

/// The status the kubelet posts on a heartbeat: its four conditions healthy with
/// `lastHeartbeatTime = now`; `lastTransitionTime` moves only for a condition whose status changes
/// (e.g. back from `Unknown`). Other conditions and fields are kept.
pub fn node_heartbeat(node: &Node, now: DateTime<Utc>) -> NodeStatus {
    let mut status = node.status.clone().unwrap_or_default();
    let mut conditions = status.conditions.take().unwrap_or_default();
    for entry in NODE_CONDITIONS {
        match conditions.iter_mut().find(|c| c.type_ == entry.0) {
            Some(c) => {
                if c.status != entry.1 {
                    c.last_transition_time = Some(to_time(now));
                }
                c.status = entry.1.into();
                c.reason = Some(entry.2.into());
                c.message = Some(entry.3.into());
                c.last_heartbeat_time = Some(to_time(now));
            }
            None => conditions.push(healthy_condition(entry, now)),
        }
    }
    status.conditions = Some(conditions);
    status
}

/// The status the node lifecycle controller writes for a node whose kubelet stopped posting
/// (`pkg/controller/nodelifecycle/node_lifecycle_controller.go` `tryUpdateNodeHealth`): Ready,
/// MemoryPressure, DiskPressure and PIDPressure become `Unknown` (`NodeStatusUnknown`, "Kubelet stopped
/// posting node status."), keeping their last heartbeat; missing ones are added as never updated.
pub fn not_ready_status(node: &Node, now: DateTime<Utc>) -> NodeStatus {
    let mut status = node.status.clone().unwrap_or_default();
    let mut conditions = status.conditions.take().unwrap_or_default();
    for type_ in ["Ready", "MemoryPressure", "DiskPressure", "PIDPressure"] {
        match conditions.iter_mut().find(|c| c.type_ == type_) {
            Some(c) if c.status == "Unknown" => {}
            Some(c) => {
                c.status = "Unknown".into();
                c.reason = Some("NodeStatusUnknown".into());
                c.message = Some("Kubelet stopped posting node status.".into());
                c.last_transition_time = Some(to_time(now));
            }
            None => conditions.push(NodeCondition {
                type_: type_.into(),
                status: "Unknown".into(),
                reason: Some("NodeStatusNeverUpdated".into()),
                message: Some("Kubelet never posted node status.".into()),
                last_heartbeat_time: node.metadata.creation_timestamp.clone(),
                last_transition_time: Some(to_time(now)),
            }),
        }
    }
    status.conditions = Some(conditions);
    status
}

/// `spec.taints` for a node marked NotReady with `Ready=Unknown`: the node lifecycle controller swaps
/// any `node.kubernetes.io/not-ready` taint for `node.kubernetes.io/unreachable`, `NoSchedule` then
/// `NoExecute`, each with `timeAdded = now` (`SwapNodeControllerTaint`). Existing taints are kept.
pub fn not_ready_taints(node: &Node, now: DateTime<Utc>) -> Vec<Taint> {
    let mut taints: Vec<Taint> = node_taints(node)
        .iter()
        .filter(|t| t.key != TAINT_NOT_READY)
        .cloned()
        .collect();
    for effect in ["NoSchedule", "NoExecute"] {
        if !taints
            .iter()
            .any(|t| t.key == TAINT_UNREACHABLE && t.effect == effect)
        {
            taints.push(Taint {
                key: TAINT_UNREACHABLE.into(),
                effect: effect.into(),
                time_added: Some(to_time(now)),
                value: None,
            });
        }
    }
    taints
}

/// `spec.taints` once the node is Ready again: the controller-managed `unreachable`/`not-ready`
/// taints removed, others kept.
pub fn ready_taints(node: &Node) -> Vec<Taint> {
    node_taints(node)
        .iter()
        .filter(|t| {
            !((t.key == TAINT_UNREACHABLE || t.key == TAINT_NOT_READY)
                && (t.effect == "NoSchedule" || t.effect == "NoExecute"))
        })
        .cloned()
        .collect()
}

fn node_taints(node: &Node) -> &[Taint] {
    node.spec
        .as_ref()
        .and_then(|s| s.taints.as_deref())
        .unwrap_or_default()
}

/// The status with the pod's `Ready` condition set to `False`, as the node lifecycle controller does
/// for the pods of a node that became NotReady (`MarkPodsNotReady`); `None` when nothing changes.
pub fn pod_not_ready_status(pod: &Pod, now: DateTime<Utc>) -> Option<PodStatus> {
    let mut status: PodStatus = pod.status.as_ref()?.into();
    let cond = status
        .conditions
        .as_mut()?
        .iter_mut()
        .find(|c| c.type_ == "Ready")?;
    if cond.status == "False" {
        return None;
    }
    cond.status = "False".into();
    cond.last_transition_time = Some(to_time(now));
    Some(status)
}

/// The kubelet's node lease (`kube-node-lease/<node>`), renewed at `now`, owned by the Node.
pub fn node_lease(
    node_name: &str,
    node_uid: &str,
    now: DateTime<Utc>,
    duration_seconds: i32,
) -> Lease {
    Lease {
        metadata: ObjectMeta {
            name: Some(node_name.to_string()),
            namespace: Some(NODE_LEASE_NAMESPACE.to_string()),
            owner_references: Some(vec![OwnerReference {
                api_version: "v1".into(),
                kind: "Node".into(),
                name: node_name.to_string(),
                uid: node_uid.to_string(),
                ..Default::default()
            }]),
            ..Default::default()
        },
        spec: Some(LeaseSpec {
            holder_identity: Some(node_name.to_string()),
            lease_duration_seconds: Some(duration_seconds),
            renew_time: Some(to_micro(now)),
            ..Default::default()
        }),
    }
}

// ---------------------------------------------------------------------------------------------------
// Taint-based eviction
// ---------------------------------------------------------------------------------------------------

/// `Toleration.ToleratesTaint`.
fn tolerates(tol: &Toleration, taint: &Taint) -> bool {
    if let Some(effect) = tol.effect.as_deref().filter(|e| !e.is_empty())
        && effect != taint.effect
    {
        return false;
    }
    if let Some(key) = tol.key.as_deref().filter(|k| !k.is_empty())
        && key != taint.key
    {
        return false;
    }
    match tol.operator.as_deref().unwrap_or("Equal") {
        "Exists" => true,
        "Equal" | "" => tol.value.as_deref().unwrap_or("") == taint.value.as_deref().unwrap_or(""),
        _ => false,
    }
}

/// When each pod bound to `node` must be evicted (deleted) by the taint-eviction controller
/// (`pkg/controller/tainteviction/taint_eviction.go` `processPodOnNode`), as `(index in pods, time)`.
/// A pod that does not tolerate every `NoExecute` taint goes at once; otherwise after the smallest
/// `tolerationSeconds` of the tolerations used (none = tolerated forever, ≤ 0 = at once), counted from
/// the earliest `timeAdded` of those taints. Pods already being deleted are skipped.
pub fn pods_to_evict(node: &Node, pods: &[Pod], now: DateTime<Utc>) -> Vec<(usize, DateTime<Utc>)> {
    let Some(node_name) = node.metadata.name.as_deref() else {
        return Vec::new();
    };
    let taints: Vec<&Taint> = node_taints(node)
        .iter()
        .filter(|t| t.effect == "NoExecute")
        .collect();
    let Some(start) = taints
        .iter()
        .map(|t| t.time_added.as_ref().and_then(from_time).unwrap_or(now))
        .min()
    else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, pod) in pods.iter().enumerate() {
        let Some(spec) = pod.spec.as_ref() else {
            continue;
        };
        if spec.node_name.as_deref() != Some(node_name) || pod.metadata.deletion_timestamp.is_some()
        {
            continue;
        }
        let tolerations = spec.tolerations.as_deref().unwrap_or_default();
        let used: Option<Vec<&Toleration>> = taints
            .iter()
            .map(|taint| tolerations.iter().find(|tol| tolerates(tol, taint)))
            .collect();
        let Some(used) = used else {
            out.push((i, start));
            continue;
        };
        // getMinTolerationTime
        let mut min: Option<i64> = None;
        for tol in used {
            if let Some(secs) = tol.toleration_seconds {
                let secs = secs.max(0);
                min = Some(min.map_or(secs, |m| m.min(secs)));
            }
        }
        if let Some(secs) = min {
            let delay = TimeDelta::try_seconds(secs).unwrap_or(TimeDelta::MAX);
            out.push((
                i,
                start
                    .checked_add_signed(delay)
                    .unwrap_or(DateTime::<Utc>::MAX_UTC),
            ));
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------------------

fn whole_seconds(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(t.timestamp(), 0).unwrap_or(t)
}

/// `metav1.Time` (second precision on the wire).
pub(crate) fn to_time(t: DateTime<Utc>) -> Time {
    Time(Timestamp::from_second(t.timestamp()).unwrap_or(Timestamp::UNIX_EPOCH))
}

fn to_micro(t: DateTime<Utc>) -> MicroTime {
    let nanos = i32::try_from(t.timestamp_subsec_micros() * 1000).unwrap_or(0);
    MicroTime(Timestamp::new(t.timestamp(), nanos).unwrap_or(Timestamp::UNIX_EPOCH))
}

pub(crate) fn from_time(t: &Time) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(
        t.0.as_second(),
        u32::try_from(t.0.subsec_nanosecond()).unwrap_or(0),
    )
}

/// Go's `time.Duration.String()` for whole seconds: `10s`, `1m20s`, `5m0s`, `1h0m0s`.
pub fn go_duration(d: TimeDelta) -> String {
    let total = d.num_seconds();
    let (sign, total) = if total < 0 {
        ("-", -total)
    } else {
        ("", total)
    };
    let (h, m, s) = (total / 3600, total / 60 % 60, total % 60);
    if h > 0 {
        format!("{sign}{h}h{m}m{s}s")
    } else if m > 0 {
        format!("{sign}{m}m{s}s")
    } else {
        format!("{sign}{s}s")
    }
}

/// Parses a non-negative Go duration (`time.ParseDuration`): `"5s"`, `"1m30s"`, `"1.5h"`, `"300ms"`, `"0"`.
pub fn parse_go_duration(s: &str) -> Option<TimeDelta> {
    let s = s.trim();
    let s = s.strip_prefix('+').unwrap_or(s);
    if s == "0" {
        return Some(TimeDelta::zero());
    }
    if s.is_empty() {
        return None;
    }
    let mut rest = s;
    let mut nanos: u128 = 0;
    while !rest.is_empty() {
        let int_len = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let (int_part, after) = rest.split_at(int_len);
        let (frac_part, after) = match after.strip_prefix('.') {
            Some(a) => {
                let n = a.find(|c: char| !c.is_ascii_digit()).unwrap_or(a.len());
                a.split_at(n)
            }
            None => ("", after),
        };
        if int_part.is_empty() && frac_part.is_empty() {
            return None;
        }
        let unit_len = after
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after.len());
        let (unit, after) = after.split_at(unit_len);
        let scale: u128 = match unit {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => return None,
        };
        let int: u128 = if int_part.is_empty() {
            0
        } else {
            int_part.parse().ok()?
        };
        nanos = nanos.checked_add(int.checked_mul(scale)?)?;
        if !frac_part.is_empty() {
            let digits = &frac_part[..frac_part.len().min(18)];
            let frac: u128 = digits.parse().ok()?;
            let denom = 10u128.checked_pow(u32::try_from(digits.len()).ok()?)?;
            nanos = nanos.checked_add(frac.checked_mul(scale)? / denom)?;
        }
        rest = after;
    }
    Some(TimeDelta::nanoseconds(i64::try_from(nanos).ok()?))
}

/// Deterministic hex string of `len` characters derived from `parts` (FNV-1a, several rounds).
fn hex_id(parts: &[&str], len: usize) -> String {
    let mut out = String::with_capacity(len + 16);
    let mut round: u64 = 0;
    while out.len() < len {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ round.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        for p in parts {
            for b in p.bytes().chain(std::iter::once(0xff)) {
                h ^= u64::from(b);
                h = h.wrapping_mul(0x0000_0100_0000_01b3);
            }
        }
        out.push_str(&format!("{h:016x}"));
        round += 1;
    }
    out.truncate(len);
    out
}

/// 32 hex characters as a UUID (`8-4-4-4-12`).
fn uuid_format(hex: &str) -> String {
    let h = |a: usize, b: usize| hex.get(a..b).unwrap_or_default();
    format!(
        "{}-{}-{}-{}-{}",
        h(0, 8),
        h(8, 12),
        h(12, 16),
        h(16, 20),
        h(20, 32)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn ts(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn cfg() -> SimConfig {
        SimConfig {
            pod_start_delay: TimeDelta::seconds(2),
            pod_ready_delay: TimeDelta::seconds(1),
            pod_delete_delay: TimeDelta::seconds(1),
            ..SimConfig::default()
        }
    }

    fn node0() -> Node {
        node_object("node-0", 0, &cfg(), ts("2025-01-01T00:00:00Z"))
    }

    fn base_pod() -> Value {
        json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "web", "namespace": "default", "uid": "uid-1",
                         "creationTimestamp": "2025-01-01T00:00:00Z"},
            "spec": {"nodeName": "node-0", "restartPolicy": "Always", "containers": [
                {"name": "b", "image": "nginx", "volumeMounts": [
                    {"name": "kube-api-access", "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount", "readOnly": true}]},
                {"name": "a", "image": "busybox", "resources": {"requests": {"cpu": "100m"}}}
            ]},
            "status": {"phase": "Pending", "qosClass": "Burstable", "conditions": [
                {"type": "PodScheduled", "status": "True", "lastTransitionTime": "2025-01-01T00:00:01Z"}]}
        })
    }

    fn pod_from(v: Value) -> Pod {
        serde_json::from_value(v).unwrap()
    }

    fn with(mut v: Value, patch: impl FnOnce(&mut Value)) -> Pod {
        patch(&mut v);
        pod_from(v)
    }

    fn step(pod: &Pod, now: &str) -> PodStep {
        let mut ips = IpAllocator::new(0);
        next_pod_step(pod, &node0(), &cfg(), &mut ips, ts(now)).unwrap()
    }

    fn apply(pod: &Pod, s: &PodStep) -> Pod {
        let mut p = pod.clone();
        match &s.change {
            // As the cache sees it after the write: the JSON read back.
            PodChange::UpdateStatus(st) => {
                p.status = Some(serde_json::from_value(serde_json::to_value(st).unwrap()).unwrap())
            }
            PodChange::Delete => panic!("delete"),
        }
        p
    }

    fn status_json(s: &PodStep) -> Value {
        match &s.change {
            PodChange::UpdateStatus(st) => serde_json::to_value(st).unwrap(),
            PodChange::Delete => Value::Null,
        }
    }

    fn cid(pod: &Pod, c: &str, attempt: i32) -> String {
        container_id(pod, c, attempt)
    }

    const SA: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

    fn sa_mount() -> Value {
        json!([{"mountPath": SA, "name": "kube-api-access", "readOnly": true, "recursiveReadOnly": "Disabled"}])
    }

    fn user0() -> Value {
        json!({"linux": {"gid": 0, "supplementalGroups": [0], "uid": 0}})
    }

    fn cond(type_: &str, status: &str, at: &str) -> Value {
        json!({"lastTransitionTime": at, "status": status, "type": type_})
    }

    fn cond_r(type_: &str, status: &str, at: &str, reason: &str, message: Option<&str>) -> Value {
        let mut c =
            json!({"lastTransitionTime": at, "reason": reason, "status": status, "type": type_});
        if let Some(m) = message {
            c["message"] = json!(m);
        }
        c
    }

    const T0: &str = "2025-01-01T00:00:00Z";
    const T1: &str = "2025-01-01T00:00:01Z";
    const T3: &str = "2025-01-01T00:00:03Z";
    const T4: &str = "2025-01-01T00:00:04Z";

    fn created() -> (Pod, PodStep) {
        let pod = pod_from(base_pod());
        let s = step(&pod, T1);
        (apply(&pod, &s), s)
    }

    fn running() -> (Pod, PodStep) {
        let (pod, _) = created();
        let s = step(&pod, T3);
        (apply(&pod, &s), s)
    }

    #[test]
    fn stage_pod_create_exact_status() {
        let pod = pod_from(base_pod());
        let s = step(&pod, T1);
        assert_eq!(s.stage, "pod-create");
        assert_eq!(s.at, ts(T3));
        assert!(!s.release_ip);
        let unready = Some("containers with unready status: [b a]");
        assert_eq!(
            status_json(&s),
            json!({
                "conditions": [
                    cond("PodReadyToStartContainers", "True", T3),
                    cond("Initialized", "True", T3),
                    cond_r("Ready", "False", T3, "ContainersNotReady", unready),
                    cond_r("ContainersReady", "False", T3, "ContainersNotReady", unready),
                    cond("PodScheduled", "True", T1),
                ],
                "containerStatuses": [
                    {"image": "busybox", "imageID": "", "lastState": {}, "name": "a", "ready": false,
                     "restartCount": 0, "started": false, "state": {"waiting": {"reason": "ContainerCreating"}}},
                    {"image": "nginx", "imageID": "", "lastState": {}, "name": "b", "ready": false,
                     "restartCount": 0, "started": false, "state": {"waiting": {"reason": "ContainerCreating"}},
                     "volumeMounts": sa_mount()},
                ],
                "hostIP": "172.18.0.2", "hostIPs": [{"ip": "172.18.0.2"}],
                "phase": "Pending",
                "podIP": "10.244.0.2", "podIPs": [{"ip": "10.244.0.2"}],
                "qosClass": "Burstable",
                "startTime": T3,
            })
        );
    }

    #[test]
    fn stage_pod_create_late_evaluation_uses_now_and_zero_delay() {
        let pod = pod_from(base_pod());
        let mut ips = IpAllocator::new(0);
        let zero = SimConfig {
            pod_start_delay: TimeDelta::zero(),
            ..cfg()
        };
        let s = next_pod_step(
            &pod,
            &node0(),
            &zero,
            &mut ips,
            ts("2025-01-01T00:00:09.700Z"),
        )
        .unwrap();
        assert_eq!(s.at, ts(T1));
        let st = status_json(&s);
        assert_eq!(st["startTime"], json!("2025-01-01T00:00:09Z"));
        // Without a PodScheduled condition the creation time is the reference.
        let pod = with(base_pod(), |v| v["status"] = json!({"phase": "Pending"}));
        let s = next_pod_step(&pod, &node0(), &zero, &mut ips, ts("2025-01-01T00:00:05Z")).unwrap();
        assert_eq!(s.at, ts(T0));
    }

    #[test]
    fn stage_pod_ready_exact_status() {
        let (pod, _) = created();
        let s = step(&pod, T3);
        assert_eq!(s.stage, "pod-ready");
        assert_eq!(s.at, ts(T4));
        assert_eq!(
            status_json(&s),
            json!({
                "conditions": [
                    cond("PodReadyToStartContainers", "True", T3),
                    cond("Initialized", "True", T3),
                    cond("Ready", "True", T4),
                    cond("ContainersReady", "True", T4),
                    cond("PodScheduled", "True", T1),
                ],
                "containerStatuses": [
                    {"containerID": cid(&pod, "a", 0), "image": "busybox", "imageID": "busybox",
                     "lastState": {}, "name": "a", "ready": true,
                     "resources": {"requests": {"cpu": "100m"}}, "restartCount": 0, "started": true,
                     "state": {"running": {"startedAt": T4}}, "user": user0()},
                    {"containerID": cid(&pod, "b", 0), "image": "nginx", "imageID": "nginx",
                     "lastState": {}, "name": "b", "ready": true, "resources": {}, "restartCount": 0,
                     "started": true, "state": {"running": {"startedAt": T4}}, "user": user0(),
                     "volumeMounts": sa_mount()},
                ],
                "hostIP": "172.18.0.2", "hostIPs": [{"ip": "172.18.0.2"}],
                "phase": "Running",
                "podIP": "10.244.0.2", "podIPs": [{"ip": "10.244.0.2"}],
                "qosClass": "Burstable",
                "startTime": T3,
            })
        );
        assert!(cid(&pod, "a", 0).starts_with("ironkube://"));
        assert_eq!(cid(&pod, "a", 0).len(), "ironkube://".len() + 64);
        assert_ne!(cid(&pod, "a", 0), cid(&pod, "a", 1));
    }

    #[test]
    fn steady_running_pod_has_no_step() {
        let (pod, _) = running();
        let mut ips = IpAllocator::new(0);
        assert_eq!(
            next_pod_step(&pod, &node0(), &cfg(), &mut ips, ts(T4)),
            None
        );
    }

    #[test]
    fn unbound_foreign_and_stopped_nodes_do_nothing() {
        let mut ips = IpAllocator::new(0);
        let other = with(base_pod(), |v| v["spec"]["nodeName"] = json!("node-1"));
        assert_eq!(
            next_pod_step(&other, &node0(), &cfg(), &mut ips, ts(T1)),
            None
        );
        let unbound = with(base_pod(), |v| {
            v["spec"]
                .as_object_mut()
                .unwrap()
                .remove("nodeName")
                .map(|_| ())
                .unwrap()
        });
        assert_eq!(
            next_pod_step(&unbound, &node0(), &cfg(), &mut ips, ts(T1)),
            None
        );
        let mut stopped = node0();
        stopped
            .metadata
            .annotations
            .get_or_insert_default()
            .insert(ANNOTATION_NOT_READY.into(), "true".into());
        assert!(node_is_stopped(&stopped));
        let pod = pod_from(base_pod());
        assert_eq!(
            next_pod_step(&pod, &stopped, &cfg(), &mut ips, ts(T1)),
            None
        );
        assert_eq!(ips.in_use(), 0);
    }

    #[test]
    fn stage_delete_timing() {
        let (pod, _) = running();
        let deleting = |grace: i64, ts_: &str| {
            let mut p = pod.clone();
            p.metadata.deletion_timestamp = Some(to_time(ts(ts_)));
            p.metadata.deletion_grace_period_seconds = Some(grace);
            p
        };
        // Requested at 00:01:00 with 30s grace: gone after min(30s, 1s).
        let p = deleting(30, "2025-01-01T00:01:30Z");
        let s = step(&p, "2025-01-01T00:01:00Z");
        assert_eq!(
            (s.stage, s.at, &s.change, s.release_ip),
            (
                "pod-delete",
                ts("2025-01-01T00:01:01Z"),
                &PodChange::Delete,
                true
            )
        );
        // A longer configured wait is capped by the grace period.
        let mut ips = IpAllocator::new(0);
        let slow = SimConfig {
            pod_delete_delay: TimeDelta::seconds(60),
            ..cfg()
        };
        let s = next_pod_step(&p, &node0(), &slow, &mut ips, ts("2025-01-01T00:01:00Z")).unwrap();
        assert_eq!(s.at, ts("2025-01-01T00:01:30Z"));
        // Grace 0 without finalizers: at once.
        let p0 = deleting(0, "2025-01-01T00:01:00Z");
        assert_eq!(
            step(&p0, "2025-01-01T00:01:00Z").at,
            ts("2025-01-01T00:01:00Z")
        );
        // Grace 0 and finalizers: already deleted by us, waiting for others.
        let mut pf = p0.clone();
        pf.metadata.finalizers = Some(vec!["example.com/keep".into()]);
        assert_eq!(
            next_pod_step(&pf, &node0(), &cfg(), &mut ips, ts("2025-01-01T00:01:00Z")),
            None
        );
        // Deletion wins over every other stage, even for a pod never started.
        let mut fresh = pod_from(base_pod());
        fresh.metadata.deletion_timestamp = Some(to_time(ts("2025-01-01T00:00:31Z")));
        fresh.metadata.deletion_grace_period_seconds = Some(30);
        assert_eq!(step(&fresh, T1).stage, "pod-delete");
        assert_eq!(step(&fresh, T1).at, ts("2025-01-01T00:00:02Z"));
    }

    fn annotated(policy: &str, anns: Value) -> Pod {
        let pod = with(base_pod(), |v| {
            v["spec"]["restartPolicy"] = json!(policy);
            v["metadata"]["annotations"] = anns;
        });
        let s = step(&pod, T1);
        let pod = apply(&pod, &s);
        let s = step(&pod, T3);
        apply(&pod, &s)
    }

    const T9: &str = "2025-01-01T00:00:09Z";

    #[test]
    fn exit_rule_never_success_exact_status() {
        let pod = annotated("Never", json!({ANNOTATION_EXIT_AFTER: "5s"}));
        let s = step(&pod, T4);
        assert_eq!(
            (s.stage, s.at, s.release_ip),
            ("pod-complete", ts(T9), true)
        );
        let term = |c: &str| json!({"containerID": cid(&pod, c, 0), "exitCode": 0, "finishedAt": T9, "reason": "Completed", "startedAt": T4});
        assert_eq!(
            status_json(&s),
            json!({
                "conditions": [
                    cond("PodReadyToStartContainers", "False", T9),
                    cond_r("Initialized", "True", T3, "PodCompleted", None),
                    cond_r("Ready", "False", T9, "PodCompleted", None),
                    cond_r("ContainersReady", "False", T9, "PodCompleted", None),
                    cond("PodScheduled", "True", T1),
                ],
                "containerStatuses": [
                    {"containerID": cid(&pod, "a", 0), "image": "busybox", "imageID": "busybox",
                     "lastState": {}, "name": "a", "ready": false,
                     "resources": {"requests": {"cpu": "100m"}}, "restartCount": 0, "started": false,
                     "state": {"terminated": term("a")}, "user": user0()},
                    {"containerID": cid(&pod, "b", 0), "image": "nginx", "imageID": "nginx",
                     "lastState": {}, "name": "b", "ready": false, "resources": {}, "restartCount": 0,
                     "started": false, "state": {"terminated": term("b")}, "user": user0(),
                     "volumeMounts": sa_mount()},
                ],
                "hostIP": "172.18.0.2", "hostIPs": [{"ip": "172.18.0.2"}],
                "phase": "Succeeded",
                "podIP": "10.244.0.2", "podIPs": [{"ip": "10.244.0.2"}],
                "qosClass": "Burstable",
                "startTime": T3,
            })
        );
        let done = apply(&pod, &s);
        let mut ips = IpAllocator::new(0);
        assert_eq!(
            next_pod_step(&done, &node0(), &cfg(), &mut ips, ts(T9)),
            None
        );
    }

    #[test]
    fn exit_rule_never_failure_and_on_failure_variants() {
        let pod = annotated(
            "Never",
            json!({ANNOTATION_EXIT_AFTER: "5s", ANNOTATION_EXIT_CODE: "2"}),
        );
        let s = step(&pod, T4);
        let st = status_json(&s);
        assert_eq!(st["phase"], json!("Failed"));
        assert_eq!(
            st["containerStatuses"][0]["state"]["terminated"],
            json!({"containerID": cid(&pod, "a", 0), "exitCode": 2, "finishedAt": T9, "reason": "Error", "startedAt": T4})
        );
        assert_eq!(
            st["conditions"],
            json!([
                cond("PodReadyToStartContainers", "False", T9),
                cond("Initialized", "True", T3),
                cond_r("Ready", "False", T9, "PodFailed", None),
                cond_r("ContainersReady", "False", T9, "PodFailed", None),
                cond("PodScheduled", "True", T1),
            ])
        );
        // OnFailure + exit 0: completes.
        let pod = annotated("OnFailure", json!({ANNOTATION_EXIT_AFTER: "5s"}));
        let s = step(&pod, T4);
        assert_eq!(
            (s.stage, status_json(&s)["phase"].clone()),
            ("pod-complete", json!("Succeeded"))
        );
        // OnFailure + exit 3: restarted (first time at once).
        let pod = annotated(
            "OnFailure",
            json!({ANNOTATION_EXIT_AFTER: "5s", ANNOTATION_EXIT_CODE: "3"}),
        );
        let s = step(&pod, T4);
        assert_eq!(s.stage, "pod-crash");
        let st = status_json(&s);
        assert_eq!(st["phase"], json!("Running"));
        assert_eq!(st["containerStatuses"][0]["restartCount"], json!(1));
        assert_eq!(
            st["containerStatuses"][0]["lastState"]["terminated"]["exitCode"],
            json!(3)
        );
        // Always + exit 0: restarted too, last state Completed.
        let pod = annotated("Always", json!({ANNOTATION_EXIT_AFTER: "5s"}));
        let st = status_json(&step(&pod, T4));
        assert_eq!(
            st["containerStatuses"][1]["lastState"]["terminated"]["reason"],
            json!("Completed")
        );
        // Crash with Never: Failed with exit code 1.
        let pod = annotated("Never", json!({ANNOTATION_CRASH_AFTER: "10s"}));
        let s = step(&pod, T4);
        assert_eq!(s.at, ts("2025-01-01T00:00:14Z"));
        let st = status_json(&s);
        assert_eq!(st["phase"], json!("Failed"));
        assert_eq!(
            st["containerStatuses"][0]["state"]["terminated"]["exitCode"],
            json!(1)
        );
        // exit-after wins over crash-after; junk values are ignored.
        let pod = annotated(
            "Never",
            json!({ANNOTATION_CRASH_AFTER: "10s", ANNOTATION_EXIT_AFTER: "5s"}),
        );
        assert_eq!(step(&pod, T4).at, ts(T9));
        let pod = annotated("Never", json!({ANNOTATION_EXIT_AFTER: "soon"}));
        let mut ips = IpAllocator::new(0);
        assert_eq!(
            next_pod_step(&pod, &node0(), &cfg(), &mut ips, ts(T4)),
            None
        );
    }

    #[test]
    fn crash_loop_back_off_sequence() {
        let mut pod = annotated("Always", json!({ANNOTATION_CRASH_AFTER: "10s"}));
        let start = ts(T4);
        let mut seen = Vec::new();
        for _ in 0..16 {
            let s = step(&pod, &(s_at(&pod)).to_rfc3339());
            let st = status_json(&s);
            let c = &st["containerStatuses"][0];
            let what = match c["state"]["waiting"]["message"].as_str() {
                Some(m) => m.to_string(),
                None => "running".to_string(),
            };
            seen.push((
                (s.at - start).num_seconds(),
                s.stage,
                c["restartCount"].as_i64().unwrap(),
                what,
            ));
            pod = apply(&pod, &s);
        }
        let msg =
            |d: &str| format!("back-off {d} restarting failed container=a pod=web_default(uid-1)");
        let r = |s: &str| s.to_string();
        assert_eq!(
            seen,
            vec![
                (10, "pod-crash", 1, r("running")),
                (20, "pod-crash", 1, msg("10s")),
                (30, "pod-restart", 2, r("running")),
                (40, "pod-crash", 2, msg("20s")),
                (60, "pod-restart", 3, r("running")),
                (70, "pod-crash", 3, msg("40s")),
                (110, "pod-restart", 4, r("running")),
                (120, "pod-crash", 4, msg("1m20s")),
                (200, "pod-restart", 5, r("running")),
                (210, "pod-crash", 5, msg("2m40s")),
                (370, "pod-restart", 6, r("running")),
                (380, "pod-crash", 6, msg("5m0s")),
                (680, "pod-restart", 7, r("running")),
                (690, "pod-crash", 7, msg("5m0s")),
                (990, "pod-restart", 8, r("running")),
                (1000, "pod-crash", 8, msg("5m0s")),
            ]
        );
    }

    /// The time the next step is due (evaluated with a "now" far in the past).
    fn s_at(pod: &Pod) -> DateTime<Utc> {
        let mut ips = IpAllocator::new(0);
        next_pod_step(pod, &node0(), &cfg(), &mut ips, ts(T0))
            .unwrap()
            .at
    }

    #[test]
    fn crash_loop_back_off_exact_status() {
        let pod = annotated("Always", json!({ANNOTATION_CRASH_AFTER: "10s"}));
        let first = step(&pod, "2025-01-01T00:00:14Z");
        let pod = apply(&pod, &first);
        let s = step(&pod, "2025-01-01T00:00:24Z");
        assert_eq!((s.stage, s.at), ("pod-crash", ts("2025-01-01T00:00:24Z")));
        let t14 = "2025-01-01T00:00:14Z";
        let t24 = "2025-01-01T00:00:24Z";
        let unready = Some("containers with unready status: [b a]");
        let last = |c: &str, attempt: i32, from: &str, to: &str| json!({"terminated": {"containerID": cid(&pod, c, attempt), "exitCode": 1, "finishedAt": to, "reason": "Error", "startedAt": from}});
        let waiting = |c: &str| json!({"waiting": {"message": format!("back-off 10s restarting failed container={c} pod=web_default(uid-1)"), "reason": "CrashLoopBackOff"}});
        assert_eq!(
            status_json(&s),
            json!({
                "conditions": [
                    cond("PodReadyToStartContainers", "True", T3),
                    cond("Initialized", "True", T3),
                    cond_r("Ready", "False", t24, "ContainersNotReady", unready),
                    cond_r("ContainersReady", "False", t24, "ContainersNotReady", unready),
                    cond("PodScheduled", "True", T1),
                ],
                "containerStatuses": [
                    {"containerID": cid(&pod, "a", 1), "image": "busybox", "imageID": "busybox",
                     "lastState": last("a", 1, t14, t24), "name": "a", "ready": false,
                     "resources": {"requests": {"cpu": "100m"}}, "restartCount": 1, "started": false,
                     "state": waiting("a"), "user": user0()},
                    {"containerID": cid(&pod, "b", 1), "image": "nginx", "imageID": "nginx",
                     "lastState": last("b", 1, t14, t24), "name": "b", "ready": false, "resources": {},
                     "restartCount": 1, "started": false, "state": waiting("b"), "user": user0(),
                     "volumeMounts": sa_mount()},
                ],
                "hostIP": "172.18.0.2", "hostIPs": [{"ip": "172.18.0.2"}],
                "phase": "Running",
                "podIP": "10.244.0.2", "podIPs": [{"ip": "10.244.0.2"}],
                "qosClass": "Burstable",
                "startTime": T3,
            })
        );
        // The first crash restarted at once: running again, last state from attempt 0.
        let st = status_json(&first);
        assert_eq!(
            st["containerStatuses"][0]["lastState"],
            last("a", 0, T4, t14)
        );
        assert_eq!(
            st["containerStatuses"][0]["state"],
            json!({"running": {"startedAt": t14}})
        );
        assert_eq!(
            st["containerStatuses"][0]["containerID"],
            json!(cid(&pod, "a", 1))
        );
        // After the back-off: running, restart count 2, ready again with a new transition time.
        let pod = apply(&pod, &s);
        let s = step(&pod, "2025-01-01T00:00:34Z");
        let st = status_json(&s);
        assert_eq!(st["containerStatuses"][0]["restartCount"], json!(2));
        assert_eq!(
            st["containerStatuses"][0]["lastState"],
            last("a", 1, t14, t24)
        );
        assert_eq!(
            st["conditions"][2],
            cond("Ready", "True", "2025-01-01T00:00:34Z")
        );
    }

    #[test]
    fn restart_backoff_values() {
        let short = TimeDelta::seconds(10);
        let got: Vec<i64> = (0..9)
            .map(|r| restart_backoff(r, short).num_seconds())
            .collect();
        assert_eq!(got, vec![0, 10, 20, 40, 80, 160, 300, 300, 300]);
        assert_eq!(restart_backoff(i32::MAX, short), CRASH_BACKOFF_MAX);
        // A container that ran more than 10 minutes restarts at once (back-off entry expired).
        assert_eq!(
            restart_backoff(5, TimeDelta::seconds(601)),
            TimeDelta::zero()
        );
        assert_eq!(
            restart_backoff(5, TimeDelta::seconds(600)),
            CRASH_BACKOFF_MAX.min(TimeDelta::seconds(160))
        );
    }

    #[test]
    fn go_durations() {
        let f = |s| go_duration(TimeDelta::seconds(s));
        assert_eq!(
            [f(0), f(10), f(80), f(160), f(300), f(3600), f(3725)],
            ["0s", "10s", "1m20s", "2m40s", "5m0s", "1h0m0s", "1h2m5s"]
        );
        let p = |s| parse_go_duration(s).map(|d| d.num_milliseconds());
        assert_eq!(p("5s"), Some(5000));
        assert_eq!(p("1m30s"), Some(90_000));
        assert_eq!(p("1.5h"), Some(5_400_000));
        assert_eq!(p("300ms"), Some(300));
        assert_eq!(p("2us"), Some(0));
        assert_eq!(p("0"), Some(0));
        assert_eq!(p(".5s"), Some(500));
        for bad in ["", "5", "s", "-5s", "5x", "1..5s", "99999999999999999999h"] {
            assert_eq!(p(bad), None, "{bad}");
        }
    }

    #[test]
    fn init_containers_and_sidecars() {
        let pod = with(base_pod(), |v| {
            v["spec"]["containers"] = json!([{"name": "main", "image": "app"}]);
            v["spec"]["initContainers"] = json!([
                {"name": "setup", "image": "busybox"},
                {"name": "proxy", "image": "envoy", "restartPolicy": "Always"}
            ]);
        });
        let s = step(&pod, T1);
        let st = status_json(&s);
        let waiting = json!({"waiting": {"reason": "PodInitializing"}});
        assert_eq!(st["initContainerStatuses"][0]["name"], json!("setup"));
        assert_eq!(st["initContainerStatuses"][1]["state"], waiting);
        assert_eq!(st["containerStatuses"][0]["state"], waiting);
        let msg = "containers with incomplete status: [setup proxy]";
        assert_eq!(
            st["conditions"][1],
            cond_r(
                "Initialized",
                "False",
                T3,
                "ContainersNotInitialized",
                Some(msg)
            )
        );
        assert_eq!(
            st["conditions"][2],
            cond_r(
                "Ready",
                "False",
                T3,
                "ContainersNotReady",
                Some("containers with unready status: [proxy main]")
            )
        );
        let pod = apply(&pod, &s);
        let s = step(&pod, T3);
        assert_eq!(s.stage, "pod-ready");
        let st = status_json(&s);
        assert_eq!(
            st["initContainerStatuses"][0],
            json!({"containerID": cid(&pod, "setup", 0), "image": "busybox", "imageID": "busybox",
                   "lastState": {}, "name": "setup", "ready": true, "resources": {}, "restartCount": 0,
                   "started": false, "user": user0(),
                   "state": {"terminated": {"containerID": cid(&pod, "setup", 0), "exitCode": 0,
                             "finishedAt": T4, "reason": "Completed", "startedAt": T4}}})
        );
        assert_eq!(
            st["initContainerStatuses"][1]["state"],
            json!({"running": {"startedAt": T4}})
        );
        assert_eq!(st["initContainerStatuses"][1]["started"], json!(true));
        assert_eq!(st["conditions"][1], cond("Initialized", "True", T4));
        assert_eq!(st["conditions"][2], cond("Ready", "True", T4));
    }

    #[test]
    fn readiness_gates_and_foreign_conditions() {
        let pod = with(base_pod(), |v| {
            v["spec"]["readinessGates"] = json!([{"conditionType": "example.com/lb"}]);
            v["status"]["conditions"] = json!([
                {"type": "example.com/lb", "status": "False", "lastTransitionTime": T0},
                {"type": "PodScheduled", "status": "True", "lastTransitionTime": T1}
            ]);
        });
        let pod = apply(&pod, &step(&pod, T1));
        let st = status_json(&step(&pod, T3));
        assert_eq!(st["conditions"][0], cond("example.com/lb", "False", T0));
        assert_eq!(
            st["conditions"][3],
            cond_r(
                "Ready",
                "False",
                T3,
                "ReadinessGatesNotReady",
                Some(
                    "the status of pod readiness gate \"example.com/lb\" is not \"True\", but False"
                )
            )
        );
        assert_eq!(st["conditions"][4], cond("ContainersReady", "True", T4));
    }

    #[test]
    fn host_network_and_security_context() {
        let pod = with(base_pod(), |v| {
            v["spec"]["hostNetwork"] = json!(true);
            v["spec"]["securityContext"] = json!({"runAsUser": 1000, "runAsGroup": 3000, "fsGroup": 2000, "supplementalGroups": [4000]});
            v["spec"]["containers"] =
                json!([{"name": "a", "image": "x", "securityContext": {"runAsUser": 1001}}]);
            v["status"].as_object_mut().unwrap().remove("qosClass");
        });
        let mut ips = IpAllocator::new(0);
        let s = next_pod_step(&pod, &node0(), &cfg(), &mut ips, ts(T1)).unwrap();
        let st = status_json(&s);
        assert_eq!(
            (st["podIP"].clone(), st["qosClass"].clone()),
            (json!("172.18.0.2"), json!("BestEffort"))
        );
        assert_eq!(ips.in_use(), 0);
        let pod = apply(&pod, &s);
        let st = status_json(&step(&pod, T3));
        assert_eq!(
            st["containerStatuses"][0]["user"],
            json!({"linux": {"gid": 3000, "supplementalGroups": [2000, 3000, 4000], "uid": 1001}})
        );
    }

    #[test]
    fn qos_classes() {
        let spec = |containers: Value| -> PodSpec {
            serde_json::from_value(json!({"containers": containers})).unwrap()
        };
        let g =
            spec(json!([{"name": "a", "resources": {"limits": {"cpu": "1", "memory": "1Gi"}}}]));
        let b = spec(json!([{"name": "a", "resources": {"requests": {"cpu": "1"}}}]));
        let e = spec(json!([{"name": "a"}]));
        assert_eq!(
            [qos_class(&g), qos_class(&b), qos_class(&e)],
            ["Guaranteed", "Burstable", "BestEffort"]
        );
    }

    #[test]
    fn ip_allocation_unique_and_recycled() {
        let mut a = IpAllocator::new(0);
        let mut seen = BTreeSet::new();
        for i in 0..253 {
            let ip = a.allocate(&format!("uid-{i}")).unwrap();
            assert!(seen.insert(ip.clone()), "{ip} twice");
            assert!(!ip.ends_with(".0") && !ip.ends_with(".1") && !ip.ends_with(".255"));
        }
        assert!(seen.contains("10.244.0.2") && seen.contains("10.244.0.254"));
        assert_eq!(a.allocate("uid-overflow"), None);
        assert_eq!(a.allocate("uid-7"), Some("10.244.0.9".into()));
        a.release("uid-7");
        assert_eq!(a.allocate("uid-new"), Some("10.244.0.9".into()));
        // Round-robin: a released address is not handed out again at once.
        let mut b = IpAllocator::new(3);
        assert_eq!(b.allocate("x"), Some("10.244.3.2".into()));
        b.release("x");
        assert_eq!(b.allocate("y"), Some("10.244.3.3".into()));
        assert!(b.reserve("z", "10.244.3.2"));
        assert!(!b.reserve("w", "10.244.3.2"));
        assert!(!b.reserve("w", "10.244.4.9"));
        assert!(!b.reserve("w", "10.244.3.1"));
        assert_eq!(b.allocate("z"), Some("10.244.3.2".into()));
        assert_eq!(b.allocate("q"), Some("10.244.3.4".into()));
        assert_eq!(node_pod_cidr(0), "10.244.0.0/24");
        assert_eq!(node_pod_cidr(255), "10.244.255.0/24");
        assert_eq!(node_pod_cidr(256), "10.245.0.0/24");
        assert_eq!(
            IpAllocator::new(256).allocate("p"),
            Some("10.245.0.2".into())
        );
        assert_eq!(
            [
                node_internal_ip(0),
                node_internal_ip(253),
                node_internal_ip(254)
            ],
            ["172.18.0.2", "172.18.0.255", "172.18.1.2"]
        );
    }

    #[test]
    fn pod_ips_unique_across_steps_and_restored_after_restart() {
        let mut ips = IpAllocator::new(0);
        let mut got = BTreeSet::new();
        for i in 0..50 {
            let pod = with(base_pod(), |v| {
                v["metadata"]["uid"] = json!(format!("u{i}"))
            });
            let s = next_pod_step(&pod, &node0(), &cfg(), &mut ips, ts(T1)).unwrap();
            let again = next_pod_step(&pod, &node0(), &cfg(), &mut ips, ts(T1)).unwrap();
            assert_eq!(s, again, "re-evaluation is stable");
            assert!(got.insert(status_json(&s)["podIP"].as_str().unwrap().to_string()));
        }
        assert_eq!(ips.in_use(), 50);
        // A fresh allocator learns IPs from statuses it sees.
        let (pod, _) = created();
        let mut fresh = IpAllocator::new(0);
        next_pod_step(&pod, &node0(), &cfg(), &mut fresh, ts(T3));
        assert_eq!(fresh.allocate("other"), Some("10.244.0.3".into()));
    }

    #[test]
    fn node_object_exact() {
        let t = "2025-01-01T00:00:00Z";
        let n = serde_json::to_value(node0()).unwrap();
        let c = |type_: &str, status: &str, reason: &str, message: &str| json!({"lastHeartbeatTime": t, "lastTransitionTime": t, "message": message, "reason": reason, "status": status, "type": type_});
        let res = json!({"cpu": "32", "ephemeral-storage": "1Ti", "hugepages-1Gi": "0", "hugepages-2Mi": "0", "memory": "256Gi", "pods": "110"});
        let info = &n["status"]["nodeInfo"];
        assert_eq!(
            n,
            json!({
                "apiVersion": "v1", "kind": "Node",
                "metadata": {
                    "annotations": {"volumes.kubernetes.io/controller-managed-attach-detach": "true"},
                    "labels": {"beta.kubernetes.io/arch": "amd64", "beta.kubernetes.io/os": "linux",
                               "kubernetes.io/arch": "amd64", "kubernetes.io/hostname": "node-0",
                               "kubernetes.io/os": "linux", "type": "ironkube"},
                    "name": "node-0"
                },
                "spec": {"podCIDR": "10.244.0.0/24", "podCIDRs": ["10.244.0.0/24"]},
                "status": {
                    "addresses": [{"address": "172.18.0.2", "type": "InternalIP"}, {"address": "node-0", "type": "Hostname"}],
                    "allocatable": res, "capacity": res,
                    "conditions": [
                        c("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
                        c("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
                        c("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
                        c("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
                    ],
                    "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
                    "features": {"supplementalGroupsPolicy": true},
                    "nodeInfo": {
                        "architecture": "amd64", "bootID": info["bootID"], "containerRuntimeVersion": "ironkube://0.1.0",
                        "kernelVersion": "6.8.0-ironkube", "kubeProxyVersion": "", "kubeletVersion": "v1.33.0",
                        "machineID": info["machineID"], "operatingSystem": "linux",
                        "osImage": "ironkube simulated node", "systemUUID": info["systemUUID"]
                    }
                }
            })
        );
        let uuid = info["systemUUID"].as_str().unwrap();
        assert_eq!(
            uuid.split('-').map(str::len).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert_eq!(info["machineID"].as_str().unwrap().len(), 32);
        let other = serde_json::to_value(node_object("node-1", 1, &cfg(), ts(t))).unwrap();
        assert_ne!(
            other["status"]["nodeInfo"]["systemUUID"],
            info["systemUUID"]
        );
        let typed = node_object(
            "n",
            0,
            &SimConfig {
                instance_type: Some("sim.large".into()),
                ..cfg()
            },
            ts(t),
        );
        assert_eq!(
            typed.metadata.labels.unwrap()["node.kubernetes.io/instance-type"],
            "sim.large"
        );
    }

    #[test]
    fn node_not_ready_and_back() {
        let t5 = "2025-01-01T00:05:00Z";
        let t9 = "2025-01-01T00:09:00Z";
        let mut node = node0();
        node.metadata.creation_timestamp = Some(to_time(ts(T0)));
        let st = serde_json::to_value(not_ready_status(&node, ts(t5))).unwrap();
        let unknown = |type_: &str| {
            json!({"lastHeartbeatTime": T0, "lastTransitionTime": t5, "message": "Kubelet stopped posting node status.",
                   "reason": "NodeStatusUnknown", "status": "Unknown", "type": type_})
        };
        assert_eq!(
            st["conditions"],
            json!([
                unknown("MemoryPressure"),
                unknown("DiskPressure"),
                unknown("PIDPressure"),
                unknown("Ready")
            ])
        );
        // Idempotent: a second pass changes nothing.
        node.status = Some(not_ready_status(&node, ts(t5)));
        assert_eq!(
            not_ready_status(&node, ts(t9)),
            node.status.clone().unwrap()
        );
        // Taints, swapping a not-ready taint and keeping user taints.
        node.spec.get_or_insert_default().taints = Some(vec![
            Taint {
                key: "dedicated".into(),
                effect: "NoSchedule".into(),
                value: Some("db".into()),
                time_added: None,
            },
            Taint {
                key: TAINT_NOT_READY.into(),
                effect: "NoExecute".into(),
                value: None,
                time_added: None,
            },
        ]);
        let taints = not_ready_taints(&node, ts(t5));
        assert_eq!(
            serde_json::to_value(&taints).unwrap(),
            json!([
                {"effect": "NoSchedule", "key": "dedicated", "value": "db"},
                {"effect": "NoSchedule", "key": "node.kubernetes.io/unreachable", "timeAdded": t5},
                {"effect": "NoExecute", "key": "node.kubernetes.io/unreachable", "timeAdded": t5},
            ])
        );
        node.spec.get_or_insert_default().taints = Some(taints.clone());
        assert_eq!(not_ready_taints(&node, ts(t9)), taints);
        assert_eq!(
            serde_json::to_value(ready_taints(&node)).unwrap(),
            json!([{"effect": "NoSchedule", "key": "dedicated", "value": "db"}])
        );
        // Back: heartbeat restores healthy conditions with new transition times.
        let hb = serde_json::to_value(node_heartbeat(&node, ts(t9))).unwrap();
        assert_eq!(
            hb["conditions"][3],
            json!({"lastHeartbeatTime": t9, "lastTransitionTime": t9, "message": "kubelet is posting ready status",
                   "reason": "KubeletReady", "status": "True", "type": "Ready"})
        );
        // A plain heartbeat on a healthy node moves only lastHeartbeatTime.
        let hb = serde_json::to_value(node_heartbeat(&node0(), ts(t9))).unwrap();
        assert_eq!(hb["conditions"][0]["lastHeartbeatTime"], json!(t9));
        assert_eq!(hb["conditions"][0]["lastTransitionTime"], json!(T0));
        // A node that never posted: conditions added as never updated.
        let mut bare = Node {
            metadata: ObjectMeta {
                name: Some("x".into()),
                creation_timestamp: Some(to_time(ts(T0))),
                ..Default::default()
            },
            ..Default::default()
        };
        bare.status = Some(not_ready_status(&bare, ts(t5)));
        let c = &serde_json::to_value(&bare).unwrap()["status"]["conditions"];
        assert_eq!(
            c[0],
            json!({"lastHeartbeatTime": T0, "lastTransitionTime": t5, "message": "Kubelet never posted node status.",
                   "reason": "NodeStatusNeverUpdated", "status": "Unknown", "type": "Ready"})
        );
        assert_eq!(c[3]["type"], json!("PIDPressure"));
    }

    #[test]
    fn pod_marked_not_ready() {
        let (pod, _) = running();
        let st =
            serde_json::to_value(pod_not_ready_status(&pod, ts("2025-01-01T00:05:00Z")).unwrap())
                .unwrap();
        assert_eq!(
            st["conditions"][2],
            cond("Ready", "False", "2025-01-01T00:05:00Z")
        );
        assert_eq!(st["conditions"][3], cond("ContainersReady", "True", T4));
        let mut not_ready = pod.clone();
        not_ready.status = serde_json::from_value(st).unwrap();
        assert_eq!(pod_not_ready_status(&not_ready, ts(T9)), None);
    }

    #[test]
    fn lease_shape() {
        let now = ts("2025-01-01T00:00:10.123456789Z");
        assert_eq!(
            serde_json::to_value(node_lease(
                "node-0",
                "node-uid",
                now,
                NODE_LEASE_DURATION_SECONDS
            ))
            .unwrap(),
            json!({
                "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                "metadata": {"name": "node-0", "namespace": "kube-node-lease",
                             "ownerReferences": [{"apiVersion": "v1", "kind": "Node", "name": "node-0", "uid": "node-uid"}]},
                "spec": {"holderIdentity": "node-0", "leaseDurationSeconds": 40, "renewTime": "2025-01-01T00:00:10.123456Z"}
            })
        );
    }

    fn evict_pod(name: &str, node: &str, tolerations: Value) -> Pod {
        with(base_pod(), |v| {
            v["metadata"]["name"] = json!(name);
            v["spec"]["nodeName"] = json!(node);
            v["spec"]["tolerations"] = tolerations;
        })
    }

    #[test]
    fn eviction_timing() {
        let t5 = "2025-01-01T00:05:00Z";
        let mut node = node0();
        node.spec.get_or_insert_default().taints = Some(not_ready_taints(&node, ts(t5)));
        let default_tolerations = json!([
            {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
            {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}
        ]);
        let mut deleting = evict_pod("gone", "node-0", json!([]));
        deleting.metadata.deletion_timestamp = Some(to_time(ts(t5)));
        let pods = vec![
            evict_pod("default", "node-0", default_tolerations),
            evict_pod("none", "node-0", json!([])),
            evict_pod("forever", "node-0", json!([{"operator": "Exists"}])),
            evict_pod(
                "zero",
                "node-0",
                json!([{"key": "node.kubernetes.io/unreachable", "operator": "Exists", "tolerationSeconds": -5}]),
            ),
            evict_pod("elsewhere", "node-1", json!([])),
            deleting,
            evict_pod(
                "wrong-effect",
                "node-0",
                json!([{"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoSchedule"}]),
            ),
            evict_pod(
                "equal",
                "node-0",
                json!([{"key": "node.kubernetes.io/unreachable", "value": "", "effect": "NoExecute", "tolerationSeconds": 60}]),
            ),
            evict_pod(
                "min",
                "node-0",
                json!([
                    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "tolerationSeconds": 30},
                    {"operator": "Exists", "tolerationSeconds": 10}
                ]),
            ),
        ];
        let got = pods_to_evict(&node, &pods, ts("2025-01-01T00:06:00Z"));
        assert_eq!(
            got,
            vec![
                (0, ts("2025-01-01T00:10:00Z")),
                (1, ts(t5)),
                (3, ts(t5)),
                (6, ts(t5)),
                (7, ts("2025-01-01T00:06:00Z")),
                // The first matching toleration is the one used (GetMatchingTolerations).
                (8, ts("2025-01-01T00:05:30Z")),
            ]
        );
        assert_eq!(pods_to_evict(&node0(), &pods, ts(t5)), vec![]);
        let mut no_execute_only_schedule = node0();
        no_execute_only_schedule.spec.get_or_insert_default().taints = Some(vec![Taint {
            key: TAINT_UNREACHABLE.into(),
            effect: "NoSchedule".into(),
            value: None,
            time_added: None,
        }]);
        assert_eq!(
            pods_to_evict(&no_execute_only_schedule, &pods, ts(t5)),
            vec![]
        );
    }

    #[test]
    fn stage_table_is_readable_and_ordered() {
        let names: Vec<&str> = POD_STAGES.iter().map(|s| s.name).collect();
        assert_eq!(
            names,
            [
                "pod-delete",
                "pod-create",
                "pod-ready",
                "pod-complete",
                "pod-crash",
                "pod-restart"
            ]
        );
    }
}
