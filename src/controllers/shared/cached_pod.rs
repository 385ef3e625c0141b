//! The pods the controllers cache: slim, purpose-built records instead of
//! k8s-openapi's `Pod`.
//!
//! k8s-openapi's structs hold every optional field inline, so a typed `Pod`
//! is large even when most fields are absent (`size_of`: `Pod` 2,176 B,
//! `PodSpec` 1,416 B, `Container` 2,120 B, `ContainerStatus` 752 B,
//! `PodCondition` 160 B). A running pod of the usual shape (one container,
//! labels, an ownerReference, two tolerations, five conditions, one container
//! status) took about 7.4 KB of heap in the pod informer's cache, for ~1.2 KB
//! of JSON; with 24,000 pods that was most of the controllers' memory. Here
//! the same pod costs about 2.4 KB, most of it its `metadata` (1.2 KB) and
//! its conditions. These types keep:
//!
//! - the whole `metadata` (the informer and `kube::Resource` need the real
//!   `ObjectMeta`);
//! - of `spec`, only the fields the controllers read (scheduler, simulated
//!   kubelet, ReplicaSet and Deployment controllers). The spec is never
//!   written back from the cache, so the rest is dropped on arrival. Equal
//!   specs are shared ([`Interner`]): the pods of a template on a node hold
//!   one copy;
//! - all of `status`, in a compact layout (rare fields boxed, the parts
//!   that come from the container spec shared), because the simulated
//!   kubelet writes whole statuses built from the cached one and must not
//!   drop what others wrote. [`From`] conversions give the k8s-openapi types
//!   back for writing.
//!
//! Field names (Rust and JSON) are k8s-openapi's, so the decision code reads
//! these as it read the full types; JSON fields not listed here are ignored by
//! serde. A `Pod` is not `Serialize`, on purpose: a slim pod must never be
//! sent to the API in place of a real one.
//!
//! Upstream's analogue is client-go's informer transform
//! (`cache.TransformFunc`, `SharedInformer.SetTransform`), with which
//! kube-controller-manager and the scheduler strip `managedFields`, and which
//! exists so that controllers can drop the parts of objects they never read.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::hash::{DefaultHasher, Hasher};
use std::sync::{Arc, LazyLock, Mutex, PoisonError, Weak};

use k8s_openapi::api::core::v1 as core;
use k8s_openapi::api::core::v1::{
    Affinity, ContainerPort, ContainerStateRunning, ContainerStateTerminated,
    ContainerStateWaiting, ContainerUser, HostIP, PodIP, PodReadinessGate, PodResourceClaimStatus,
    PodSchedulingGate, ResourceRequirements, ResourceStatus, Toleration, TopologySpreadConstraint,
    VolumeMount, VolumeMountStatus,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use serde::{Deserialize, Deserializer, Serialize};

/// A cached pod.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct Pod {
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// Shared with every cached pod whose spec reads the same (the pods of
    /// one template on one node): see [`Interner`].
    #[serde(default, deserialize_with = "shared")]
    pub spec: Option<Arc<PodSpec>>,
    #[serde(default)]
    pub status: Option<PodStatus>,
}

/// The fields of `spec` the controllers read. (`Serialize` only to hash it.)
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PodSpec {
    pub affinity: Option<Box<Affinity>>,
    pub containers: Vec<Container>,
    pub host_network: Option<bool>,
    pub init_containers: Option<Vec<Container>>,
    pub node_name: Option<String>,
    pub node_selector: Option<BTreeMap<String, String>>,
    pub overhead: Option<BTreeMap<String, Quantity>>,
    pub preemption_policy: Option<String>,
    pub priority: Option<i32>,
    pub readiness_gates: Option<Vec<PodReadinessGate>>,
    pub restart_policy: Option<String>,
    pub scheduler_name: Option<String>,
    pub scheduling_gates: Option<Vec<PodSchedulingGate>>,
    pub security_context: Option<PodSecurityContext>,
    pub tolerations: Option<Vec<Toleration>>,
    pub topology_spread_constraints: Option<Vec<TopologySpreadConstraint>>,
    /// Only the volumes backed by a PersistentVolumeClaim (the StatefulSet
    /// controller's `storageMatches` reads them); `None` when there are
    /// none, so the specs of other pods stay as shareable as before.
    #[serde(deserialize_with = "claim_volumes")]
    pub volumes: Option<Vec<Volume>>,
}

/// A volume backed by a PersistentVolumeClaim (the other volumes are not
/// cached).
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Volume {
    pub name: String,
    pub persistent_volume_claim: Option<ClaimSource>,
}

/// `persistentVolumeClaim` of a volume.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ClaimSource {
    pub claim_name: String,
}

/// Keeps the claim-backed volumes of `spec.volumes`.
fn claim_volumes<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<Volume>>, D::Error> {
    let all = Option::<Vec<Volume>>::deserialize(d)?.unwrap_or_default();
    let kept: Vec<Volume> = all
        .into_iter()
        .filter(|v| v.persistent_volume_claim.is_some())
        .collect();
    Ok((!kept.is_empty()).then_some(kept))
}

/// The fields of a container the controllers read.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Container {
    pub image: Option<String>,
    pub name: String,
    pub ports: Option<Vec<ContainerPort>>,
    pub resources: Option<ResourceRequirements>,
    pub restart_policy: Option<String>,
    pub security_context: Option<SecurityContext>,
    pub volume_mounts: Option<Vec<VolumeMount>>,
}

/// The fields of a pod's `securityContext` the controllers read (the
/// identity the simulated kubelet reports for started containers).
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PodSecurityContext {
    pub fs_group: Option<i64>,
    pub run_as_group: Option<i64>,
    pub run_as_user: Option<i64>,
    pub supplemental_groups: Option<Vec<i64>>,
}

/// The fields of a container's `securityContext` the controllers read.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SecurityContext {
    pub run_as_group: Option<i64>,
    pub run_as_user: Option<i64>,
}

/// All of a pod's `status`. The fields most pods lack are in [`PodStatusRare`].
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(from = "PodStatusWire")]
pub struct PodStatus {
    pub conditions: Option<Vec<PodCondition>>,
    pub container_statuses: Option<Vec<ContainerStatus>>,
    pub host_ip: Option<String>,
    pub host_ips: Option<Vec<HostIP>>,
    pub phase: Option<String>,
    pub pod_ip: Option<String>,
    pub pod_ips: Option<Vec<PodIP>>,
    pub qos_class: Option<String>,
    pub start_time: Option<Time>,
    /// `None` when none of its fields is set.
    pub rare: Option<Box<PodStatusRare>>,
}

/// The status fields most pods lack.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PodStatusRare {
    pub ephemeral_container_statuses: Option<Vec<core::ContainerStatus>>,
    pub init_container_statuses: Option<Vec<ContainerStatus>>,
    pub message: Option<String>,
    pub nominated_node_name: Option<String>,
    pub observed_generation: Option<i64>,
    pub reason: Option<String>,
    pub resize: Option<String>,
    pub resource_claim_statuses: Option<Vec<PodResourceClaimStatus>>,
}

static NO_RARE_STATUS: PodStatusRare = PodStatusRare {
    ephemeral_container_statuses: None,
    init_container_statuses: None,
    message: None,
    nominated_node_name: None,
    observed_generation: None,
    reason: None,
    resize: None,
    resource_claim_statuses: None,
};

impl PodStatus {
    /// The rarely set fields (all `None` when absent).
    pub fn rare(&self) -> &PodStatusRare {
        self.rare.as_deref().unwrap_or(&NO_RARE_STATUS)
    }

    pub fn init_container_statuses(&self) -> Option<&[ContainerStatus]> {
        self.rare().init_container_statuses.as_deref()
    }

    pub fn nominated_node_name(&self) -> Option<&str> {
        self.rare().nominated_node_name.as_deref()
    }
}

/// The JSON form of [`PodStatus`].
#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct PodStatusWire {
    conditions: Option<Vec<PodCondition>>,
    container_statuses: Option<Vec<ContainerStatus>>,
    ephemeral_container_statuses: Option<Vec<core::ContainerStatus>>,
    #[serde(rename = "hostIP")]
    host_ip: Option<String>,
    #[serde(rename = "hostIPs")]
    host_ips: Option<Vec<HostIP>>,
    init_container_statuses: Option<Vec<ContainerStatus>>,
    message: Option<String>,
    nominated_node_name: Option<String>,
    observed_generation: Option<i64>,
    phase: Option<String>,
    #[serde(rename = "podIP")]
    pod_ip: Option<String>,
    #[serde(rename = "podIPs")]
    pod_ips: Option<Vec<PodIP>>,
    qos_class: Option<String>,
    reason: Option<String>,
    resize: Option<String>,
    resource_claim_statuses: Option<Vec<PodResourceClaimStatus>>,
    start_time: Option<Time>,
}

impl From<PodStatusWire> for PodStatus {
    fn from(w: PodStatusWire) -> Self {
        let rare = PodStatusRare {
            ephemeral_container_statuses: w.ephemeral_container_statuses,
            init_container_statuses: w.init_container_statuses,
            message: w.message,
            nominated_node_name: w.nominated_node_name,
            observed_generation: w.observed_generation,
            reason: w.reason,
            resize: w.resize,
            resource_claim_statuses: w.resource_claim_statuses,
        };
        PodStatus {
            conditions: w.conditions,
            container_statuses: w.container_statuses,
            host_ip: w.host_ip,
            host_ips: w.host_ips,
            phase: w.phase,
            pod_ip: w.pod_ip,
            pod_ips: w.pod_ips,
            qos_class: w.qos_class,
            start_time: w.start_time,
            rare: (rare != NO_RARE_STATUS).then(|| Box::new(rare)),
        }
    }
}

impl From<&PodStatus> for core::PodStatus {
    fn from(s: &PodStatus) -> Self {
        let rare = s.rare();
        core::PodStatus {
            conditions: s
                .conditions
                .as_ref()
                .map(|cs| cs.iter().map(Into::into).collect()),
            container_statuses: s
                .container_statuses
                .as_ref()
                .map(|cs| cs.iter().map(Into::into).collect()),
            ephemeral_container_statuses: rare.ephemeral_container_statuses.clone(),
            host_ip: s.host_ip.clone(),
            host_ips: s.host_ips.clone(),
            init_container_statuses: rare
                .init_container_statuses
                .as_ref()
                .map(|cs| cs.iter().map(Into::into).collect()),
            message: rare.message.clone(),
            nominated_node_name: rare.nominated_node_name.clone(),
            observed_generation: rare.observed_generation,
            phase: s.phase.clone(),
            pod_ip: s.pod_ip.clone(),
            pod_ips: s.pod_ips.clone(),
            qos_class: s.qos_class.clone(),
            reason: rare.reason.clone(),
            resize: rare.resize.clone(),
            resource_claim_statuses: rare.resource_claim_statuses.clone(),
            start_time: s.start_time.clone(),
        }
    }
}

/// A pod condition, with the fields conditions usually lack boxed.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(from = "core::PodCondition")]
pub struct PodCondition {
    pub type_: String,
    pub status: String,
    pub last_transition_time: Option<Time>,
    /// `reason`, `message`, `lastProbeTime`, `observedGeneration`; `None`
    /// when all are absent.
    pub rare: Option<Box<PodConditionRare>>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct PodConditionRare {
    pub last_probe_time: Option<Time>,
    pub message: Option<String>,
    pub observed_generation: Option<i64>,
    pub reason: Option<String>,
}

impl PodCondition {
    pub fn reason(&self) -> Option<&str> {
        self.rare.as_ref()?.reason.as_deref()
    }

    pub fn message(&self) -> Option<&str> {
        self.rare.as_ref()?.message.as_deref()
    }
}

impl From<core::PodCondition> for PodCondition {
    fn from(c: core::PodCondition) -> Self {
        let rare = PodConditionRare {
            last_probe_time: c.last_probe_time,
            message: c.message,
            observed_generation: c.observed_generation,
            reason: c.reason,
        };
        PodCondition {
            type_: c.type_,
            status: c.status,
            last_transition_time: c.last_transition_time,
            rare: (rare != PodConditionRare::default()).then(|| Box::new(rare)),
        }
    }
}

impl From<&PodCondition> for core::PodCondition {
    fn from(c: &PodCondition) -> Self {
        let rare = c.rare.as_deref();
        core::PodCondition {
            last_probe_time: rare.and_then(|r| r.last_probe_time.clone()),
            last_transition_time: c.last_transition_time.clone(),
            message: rare.and_then(|r| r.message.clone()),
            observed_generation: rare.and_then(|r| r.observed_generation),
            reason: rare.and_then(|r| r.reason.clone()),
            status: c.status.clone(),
            type_: c.type_.clone(),
        }
    }
}

/// All of a container's status, laid out compactly.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(from = "ContainerStatusWire")]
pub struct ContainerStatus {
    pub container_id: Option<String>,
    pub image: String,
    pub image_id: String,
    pub last_state: Option<ContainerState>,
    pub name: String,
    pub ready: bool,
    /// Shared, as the container spec it reflects usually is.
    pub resources: Option<Arc<ResourceRequirements>>,
    pub restart_count: i32,
    pub started: Option<bool>,
    pub state: Option<ContainerState>,
    /// Shared: most containers run as the same user.
    pub user: Option<Arc<ContainerUser>>,
    pub volume_mounts: Option<Vec<VolumeMountStatus>>,
    /// `None` when none of its fields is set.
    pub rare: Option<Box<ContainerStatusRare>>,
}

/// The container status fields the simulated kubelet never sets.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ContainerStatusRare {
    pub allocated_resources: Option<BTreeMap<String, Quantity>>,
    pub allocated_resources_status: Option<Vec<ResourceStatus>>,
    pub stop_signal: Option<String>,
}

/// The JSON form of [`ContainerStatus`].
#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct ContainerStatusWire {
    allocated_resources: Option<BTreeMap<String, Quantity>>,
    allocated_resources_status: Option<Vec<ResourceStatus>>,
    #[serde(rename = "containerID")]
    container_id: Option<String>,
    image: String,
    #[serde(rename = "imageID")]
    image_id: String,
    last_state: Option<ContainerState>,
    name: String,
    ready: bool,
    #[serde(deserialize_with = "shared")]
    resources: Option<Arc<ResourceRequirements>>,
    restart_count: i32,
    started: Option<bool>,
    state: Option<ContainerState>,
    stop_signal: Option<String>,
    #[serde(deserialize_with = "shared")]
    user: Option<Arc<ContainerUser>>,
    volume_mounts: Option<Vec<VolumeMountStatus>>,
}

impl From<ContainerStatusWire> for ContainerStatus {
    fn from(w: ContainerStatusWire) -> Self {
        let rare = ContainerStatusRare {
            allocated_resources: w.allocated_resources,
            allocated_resources_status: w.allocated_resources_status,
            stop_signal: w.stop_signal,
        };
        ContainerStatus {
            container_id: w.container_id,
            image: w.image,
            image_id: w.image_id,
            last_state: w.last_state,
            name: w.name,
            ready: w.ready,
            resources: w.resources,
            restart_count: w.restart_count,
            started: w.started,
            state: w.state,
            user: w.user,
            volume_mounts: w.volume_mounts,
            rare: (rare != ContainerStatusRare::default()).then(|| Box::new(rare)),
        }
    }
}

impl From<&ContainerStatus> for core::ContainerStatus {
    fn from(s: &ContainerStatus) -> Self {
        let rare = s.rare.as_deref();
        core::ContainerStatus {
            allocated_resources: rare.and_then(|r| r.allocated_resources.clone()),
            allocated_resources_status: rare.and_then(|r| r.allocated_resources_status.clone()),
            container_id: s.container_id.clone(),
            image: s.image.clone(),
            image_id: s.image_id.clone(),
            last_state: s.last_state.as_ref().map(Into::into),
            name: s.name.clone(),
            ready: s.ready,
            resources: s.resources.as_deref().cloned(),
            restart_count: s.restart_count,
            started: s.started,
            state: s.state.as_ref().map(Into::into),
            stop_signal: rare.and_then(|r| r.stop_signal.clone()),
            user: s.user.as_deref().cloned(),
            volume_mounts: s.volume_mounts.clone(),
        }
    }
}

/// A container state, the rarer and larger variants boxed (`lastState` is
/// usually empty, `state` usually running).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct ContainerState {
    pub running: Option<ContainerStateRunning>,
    pub terminated: Option<Box<ContainerStateTerminated>>,
    pub waiting: Option<Box<ContainerStateWaiting>>,
}

impl From<&ContainerState> for core::ContainerState {
    fn from(s: &ContainerState) -> Self {
        core::ContainerState {
            running: s.running.clone(),
            terminated: s.terminated.as_deref().cloned(),
            waiting: s.waiting.as_deref().cloned(),
        }
    }
}

/// Hash-consing of the parts of cached pods that many pods hold equal
/// copies of: a value deserialized while an equal one is alive in the cache
/// becomes another `Arc` to it. The pods of a ReplicaSet share their spec
/// until they are bound, and then per node; containers started from one
/// template report the same resources and user. Entries are weak, so a
/// value lives as long as a pod holds it; dead entries are swept as the
/// table grows.
pub struct Interner<T> {
    table: Mutex<InternTable<T>>,
}

struct InternTable<T> {
    /// Hash of the JSON form → the live values with that hash.
    by_hash: HashMap<u64, Vec<Weak<T>>>,
    /// Sweep dead entries when `by_hash` reaches this length.
    sweep_at: usize,
}

const MIN_SWEEP_AT: usize = 1024;

impl<T: PartialEq + Serialize> Interner<T> {
    fn new() -> Self {
        Interner {
            table: Mutex::new(InternTable {
                by_hash: HashMap::new(),
                sweep_at: MIN_SWEEP_AT,
            }),
        }
    }

    /// The live value equal to `value`, or `value` made the shared one.
    pub fn share(&self, value: T) -> Arc<T> {
        let mut hasher = DefaultHasher::new();
        if serde_json::to_writer(HashWriter(&mut hasher), &value).is_err() {
            return Arc::new(value);
        }
        let mut table = self.table.lock().unwrap_or_else(PoisonError::into_inner);
        if table.by_hash.len() >= table.sweep_at {
            table.by_hash.retain(|_, values| {
                values.retain(|w| w.strong_count() > 0);
                !values.is_empty()
            });
            table.sweep_at = (table.by_hash.len() * 2).max(MIN_SWEEP_AT);
        }
        let values = table.by_hash.entry(hasher.finish()).or_default();
        if let Some(found) = values
            .iter()
            .filter_map(Weak::upgrade)
            .find(|v| **v == value)
        {
            return found;
        }
        values.retain(|w| w.strong_count() > 0);
        let value = Arc::new(value);
        values.push(Arc::downgrade(&value));
        value
    }
}

/// Feeds JSON output to a hasher.
struct HashWriter<'a>(&'a mut DefaultHasher);

impl std::io::Write for HashWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.write(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A type whose deserialized values go through an [`Interner`].
pub trait Shared: PartialEq + Serialize + Sized + 'static {
    fn interner() -> &'static Interner<Self>;
}

macro_rules! impl_shared {
    ($($t:ty),*) => {$(
        impl Shared for $t {
            fn interner() -> &'static Interner<Self> {
                static INTERNER: LazyLock<Interner<$t>> = LazyLock::new(Interner::new);
                &INTERNER
            }
        }
    )*};
}

impl_shared!(PodSpec, ResourceRequirements, ContainerUser);

/// `deserialize_with` for an optional shared field.
fn shared<'de, D, T>(d: D) -> Result<Option<Arc<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Shared + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.map(|v| T::interner().share(v)))
}

impl kube::Resource for Pod {
    type DynamicType = ();
    type Scope = k8s_openapi::NamespaceResourceScope;

    fn kind(_: &()) -> Cow<'_, str> {
        Cow::Borrowed("Pod")
    }
    fn group(_: &()) -> Cow<'_, str> {
        Cow::Borrowed("")
    }
    fn version(_: &()) -> Cow<'_, str> {
        Cow::Borrowed("v1")
    }
    fn api_version(_: &()) -> Cow<'_, str> {
        Cow::Borrowed("v1")
    }
    fn plural(_: &()) -> Cow<'_, str> {
        Cow::Borrowed("pods")
    }
    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }
    fn meta_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::Resource;
    use serde_json::{Value, json};

    /// A pod as `ironkube serve` shows it running on a simulated node.
    fn running_pod() -> Value {
        json!({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "creationTimestamp": "2026-11-29T03:34:36Z",
                "generateName": "res-56895fd564-",
                "labels": {"app": "res", "pod-template-hash": "56895fd564"},
                "name": "res-56895fd564-8sgtv",
                "namespace": "default",
                "ownerReferences": [{
                    "apiVersion": "apps/v1", "blockOwnerDeletion": true, "controller": true,
                    "kind": "ReplicaSet", "name": "res-56895fd564",
                    "uid": "005bc82b-7055-43db-9b8c-00b50fd275ab"
                }],
                "resourceVersion": "60",
                "uid": "bc856492-cc0d-4c7c-8b28-4bbf3a019108"
            },
            "spec": {
                "containers": [{
                    "image": "registry.k8s.io/pause:3.10",
                    "imagePullPolicy": "IfNotPresent",
                    "name": "pause",
                    "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}},
                    "terminationMessagePath": "/dev/termination-log",
                    "terminationMessagePolicy": "File"
                }],
                "dnsPolicy": "ClusterFirst",
                "enableServiceLinks": true,
                "nodeName": "node-0",
                "preemptionPolicy": "PreemptLowerPriority",
                "priority": 0,
                "restartPolicy": "Always",
                "schedulerName": "default-scheduler",
                "securityContext": {},
                "terminationGracePeriodSeconds": 30,
                "tolerations": [
                    {"effect": "NoExecute", "key": "node.kubernetes.io/not-ready",
                     "operator": "Exists", "tolerationSeconds": 300},
                    {"effect": "NoExecute", "key": "node.kubernetes.io/unreachable",
                     "operator": "Exists", "tolerationSeconds": 300}
                ]
            },
            "status": {
                "conditions": [
                    {"lastTransitionTime": "2026-11-29T03:34:36Z", "status": "True",
                     "type": "PodReadyToStartContainers"},
                    {"lastTransitionTime": "2026-11-29T03:34:36Z", "status": "True",
                     "type": "Initialized"},
                    {"lastTransitionTime": "2026-11-29T03:34:37Z", "status": "True",
                     "type": "Ready"},
                    {"lastTransitionTime": "2026-11-29T03:34:37Z", "status": "True",
                     "type": "ContainersReady"},
                    {"lastTransitionTime": "2026-11-29T03:34:36Z", "status": "True",
                     "type": "PodScheduled"}
                ],
                "containerStatuses": [{
                    "containerID": "ironkube://0f43d845eafc92b57810a22519f075063c51ab14afdbd93f106291dae516fa38",
                    "image": "registry.k8s.io/pause:3.10",
                    "imageID": "registry.k8s.io/pause:3.10",
                    "lastState": {},
                    "name": "pause",
                    "ready": true,
                    "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}},
                    "restartCount": 0,
                    "started": true,
                    "state": {"running": {"startedAt": "2026-11-29T03:34:37Z"}},
                    "user": {"linux": {"gid": 0, "supplementalGroups": [0], "uid": 0}}
                }],
                "hostIP": "172.18.0.2",
                "hostIPs": [{"ip": "172.18.0.2"}],
                "phase": "Running",
                "podIP": "10.244.0.2",
                "podIPs": [{"ip": "10.244.0.2"}],
                "qosClass": "Burstable",
                "startTime": "2026-11-29T03:34:36Z"
            }
        })
    }

    /// `running_pod` with the rarer fields the controllers read set too.
    fn unusual_pod() -> Value {
        let mut v = running_pod();
        let spec = json!({
            "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [{"matchExpressions": [
                    {"key": "zone", "operator": "In", "values": ["a"]}
                ]}]
            }}},
            "hostNetwork": true,
            "initContainers": [
                {"name": "init", "image": "busybox", "restartPolicy": "Always",
                 "securityContext": {"runAsUser": 7, "runAsGroup": 8, "privileged": true},
                 "volumeMounts": [{"name": "data", "mountPath": "/data", "readOnly": true}]}
            ],
            "nodeSelector": {"disk": "ssd"},
            "overhead": {"cpu": "250m"},
            "readinessGates": [{"conditionType": "example.com/gate"}],
            "schedulingGates": [{"name": "wait"}],
            "securityContext": {"fsGroup": 3, "runAsUser": 1, "runAsGroup": 2,
                                "supplementalGroups": [4, 5], "runAsNonRoot": true},
            "topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "zone",
                                           "whenUnsatisfiable": "DoNotSchedule"}]
        });
        for (k, x) in spec.as_object().into_iter().flatten() {
            v["spec"][k] = x.clone();
        }
        v["spec"]["containers"][0]["ports"] =
            json!([{"containerPort": 80, "hostPort": 8080, "protocol": "TCP"}]);
        v["status"]["conditions"][4] = json!({
            "lastProbeTime": null, "lastTransitionTime": "2026-11-29T03:34:36Z",
            "message": "0/3 nodes are available", "reason": "Unschedulable",
            "status": "False", "type": "PodScheduled", "observedGeneration": 2
        });
        v["status"]["containerStatuses"][0]["lastState"] = json!({"terminated": {
            "containerID": "ironkube://1", "exitCode": 1, "reason": "Error",
            "startedAt": "2026-11-29T03:34:30Z", "finishedAt": "2026-11-29T03:34:35Z"
        }});
        v["status"]["containerStatuses"][0]["allocatedResources"] = json!({"cpu": "10m"});
        v["status"]["containerStatuses"][0]["stopSignal"] = json!("SIGTERM");
        v["status"]["initContainerStatuses"] = json!([{
            "name": "init", "image": "busybox", "imageID": "busybox", "ready": true,
            "restartCount": 0, "started": true,
            "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off"}}
        }]);
        for (k, x) in [
            ("nominatedNodeName", json!("node-1")),
            ("reason", json!("Evicted")),
            ("message", json!("gone")),
            ("resize", json!("InProgress")),
            ("observedGeneration", json!(3)),
            (
                "ephemeralContainerStatuses",
                json!([{"name": "debug", "image": "busybox", "imageID": "",
                        "ready": false, "restartCount": 0}]),
            ),
        ] {
            v["status"][k] = x;
        }
        v
    }

    fn both(v: &Value) -> (Pod, core::Pod) {
        let slim: Pod = serde_json::from_value(v.clone()).expect("slim pod");
        let full: core::Pod = serde_json::from_value(v.clone()).expect("k8s-openapi pod");
        (slim, full)
    }

    /// Every spec field kept equals k8s-openapi's reading of it.
    fn assert_spec_kept(slim: &PodSpec, full: &core::PodSpec) {
        assert_eq!(slim.affinity.as_deref(), full.affinity.as_ref());
        assert_eq!(slim.host_network, full.host_network);
        assert_eq!(slim.node_name, full.node_name);
        assert_eq!(slim.node_selector, full.node_selector);
        assert_eq!(slim.overhead, full.overhead);
        assert_eq!(slim.preemption_policy, full.preemption_policy);
        assert_eq!(slim.priority, full.priority);
        assert_eq!(slim.readiness_gates, full.readiness_gates);
        assert_eq!(slim.restart_policy, full.restart_policy);
        assert_eq!(slim.scheduler_name, full.scheduler_name);
        assert_eq!(slim.scheduling_gates, full.scheduling_gates);
        assert_eq!(slim.tolerations, full.tolerations);
        assert_eq!(
            slim.topology_spread_constraints,
            full.topology_spread_constraints
        );
        let psc = full.security_context.as_ref();
        let spsc = slim.security_context.as_ref();
        assert_eq!(spsc.is_some(), psc.is_some());
        assert_eq!(spsc.and_then(|s| s.fs_group), psc.and_then(|s| s.fs_group));
        assert_eq!(
            spsc.and_then(|s| s.run_as_user),
            psc.and_then(|s| s.run_as_user)
        );
        assert_eq!(
            spsc.and_then(|s| s.run_as_group),
            psc.and_then(|s| s.run_as_group)
        );
        assert_eq!(
            spsc.and_then(|s| s.supplemental_groups.clone()),
            psc.and_then(|s| s.supplemental_groups.clone())
        );
        let pairs = |s: &[Container], f: &[core::Container]| {
            assert_eq!(s.len(), f.len());
            for (s, f) in s.iter().zip(f) {
                assert_eq!(s.name, f.name);
                assert_eq!(s.image, f.image);
                assert_eq!(s.ports, f.ports);
                assert_eq!(s.resources, f.resources);
                assert_eq!(s.restart_policy, f.restart_policy);
                assert_eq!(s.volume_mounts, f.volume_mounts);
                let (ssc, fsc) = (s.security_context.as_ref(), f.security_context.as_ref());
                assert_eq!(ssc.is_some(), fsc.is_some());
                assert_eq!(
                    ssc.and_then(|c| c.run_as_user),
                    fsc.and_then(|c| c.run_as_user)
                );
                assert_eq!(
                    ssc.and_then(|c| c.run_as_group),
                    fsc.and_then(|c| c.run_as_group)
                );
            }
        };
        pairs(&slim.containers, &full.containers);
        pairs(
            slim.init_containers.as_deref().unwrap_or_default(),
            full.init_containers.as_deref().unwrap_or_default(),
        );
    }

    #[test]
    fn a_running_pod_keeps_what_the_controllers_read() {
        let (slim, full) = both(&running_pod());
        assert_eq!(slim.metadata, full.metadata);
        let spec = slim.spec.as_ref().expect("spec");
        assert_spec_kept(spec, full.spec.as_ref().expect("spec"));
        assert_eq!(spec.node_name.as_deref(), Some("node-0"));
        assert_eq!(spec.containers.len(), 1);
        assert_eq!(spec.tolerations.as_ref().map(Vec::len), Some(2));
        let status = slim.status.as_ref().expect("status");
        assert_eq!(status.phase.as_deref(), Some("Running"));
        assert!(status.rare.is_none(), "no rare status field set");
        let ready = status
            .conditions
            .iter()
            .flatten()
            .find(|c| c.type_ == "Ready")
            .expect("Ready");
        assert_eq!(ready.status, "True");
        assert!(ready.last_transition_time.is_some());
        assert!(ready.rare.is_none());
        let cs = &status.container_statuses.as_ref().expect("statuses")[0];
        assert_eq!(cs.restart_count, 0);
        assert!(cs.state.as_ref().is_some_and(|s| s.running.is_some()));
        // The whole status is kept: converting back gives k8s-openapi's reading.
        assert_eq!(Some(core::PodStatus::from(status)), full.status);
    }

    #[test]
    fn rare_fields_survive() {
        let (slim, full) = both(&unusual_pod());
        assert_spec_kept(
            slim.spec.as_ref().expect("spec"),
            full.spec.as_ref().expect("spec"),
        );
        let status = slim.status.as_ref().expect("status");
        assert_eq!(status.nominated_node_name(), Some("node-1"));
        assert_eq!(
            status
                .init_container_statuses()
                .and_then(|s| s.first())
                .and_then(|s| s.state.as_ref()?.waiting.as_ref()?.reason.as_deref()),
            Some("CrashLoopBackOff")
        );
        let scheduled = status
            .conditions
            .iter()
            .flatten()
            .find(|c| c.type_ == "PodScheduled")
            .expect("PodScheduled");
        assert_eq!(scheduled.reason(), Some("Unschedulable"));
        assert_eq!(scheduled.message(), Some("0/3 nodes are available"));
        assert_eq!(Some(core::PodStatus::from(status)), full.status);
    }

    #[test]
    fn it_is_the_core_v1_pod_resource() {
        assert_eq!(Pod::kind(&()), "Pod");
        assert_eq!(Pod::api_version(&()), "v1");
        assert_eq!(
            Pod::url_path(&(), Some("default")),
            "/api/v1/namespaces/default/pods"
        );
        let (slim, _) = both(&running_pod());
        let r = slim.object_ref(&());
        assert_eq!(r.kind.as_deref(), Some("Pod"));
        assert_eq!(r.name.as_deref(), Some("res-56895fd564-8sgtv"));
    }

    #[test]
    fn equal_specs_and_container_resources_are_shared() {
        let pod = |name: &str, node: &str| {
            let mut v = running_pod();
            v["metadata"]["name"] = json!(name);
            v["metadata"]["uid"] = json!(format!("uid-{name}"));
            v["spec"]["nodeName"] = json!(node);
            // A spec no other test uses, so that the last drop below frees it.
            v["spec"]["schedulerName"] = json!("sharing-test");
            serde_json::from_value::<Pod>(v).expect("pod")
        };
        let spec = |p: &Pod| p.spec.clone().expect("spec");
        let container = |p: &Pod| {
            p.status
                .as_ref()
                .and_then(|s| s.container_statuses.as_ref())
                .and_then(|cs| cs.first())
                .cloned()
                .expect("container status")
        };
        let (a, b, c) = (pod("a", "node-0"), pod("b", "node-0"), pod("c", "node-1"));
        assert!(Arc::ptr_eq(&spec(&a), &spec(&b)));
        assert!(!Arc::ptr_eq(&spec(&a), &spec(&c)), "bound to another node");
        assert_eq!(spec(&c).node_name.as_deref(), Some("node-1"));
        let (ca, cc) = (container(&a), container(&c));
        assert!(Arc::ptr_eq(
            ca.resources.as_ref().expect("resources"),
            cc.resources.as_ref().expect("resources")
        ));
        assert!(Arc::ptr_eq(
            ca.user.as_ref().expect("user"),
            cc.user.as_ref().expect("user")
        ));
        // Only pods keep a shared value alive.
        let weak = Arc::downgrade(&spec(&c));
        drop(c);
        assert!(weak.upgrade().is_none());
    }

    #[test]
    fn dead_entries_are_swept() {
        let interner = Interner::<ContainerUser>::new();
        let user = |uid: i64| ContainerUser {
            linux: Some(k8s_openapi::api::core::v1::LinuxContainerUser {
                uid,
                ..Default::default()
            }),
        };
        let kept: Vec<Arc<ContainerUser>> = (0..10).map(|i| interner.share(user(i))).collect();
        for i in 10..5000 {
            drop(interner.share(user(i)));
        }
        let len = interner
            .table
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .by_hash
            .len();
        assert!(len <= MIN_SWEEP_AT, "{len} entries");
        for (i, k) in (0..10).zip(&kept) {
            assert!(Arc::ptr_eq(k, &interner.share(user(i))));
        }
    }

    #[test]
    fn only_claim_volumes_are_cached() {
        let pod: Pod = serde_json::from_value(json!({
            "metadata": {"name": "web-0"},
            "spec": {"containers": [{"name": "c"}], "volumes": [
                {"name": "cache", "emptyDir": {}},
                {"name": "data", "persistentVolumeClaim": {"claimName": "data-web-0"}},
            ]},
        }))
        .unwrap_or_default();
        let spec = pod.spec.unwrap_or_default();
        let volumes = spec.volumes.clone().unwrap_or_default();
        assert_eq!(volumes.len(), 1);
        assert_eq!(volumes[0].name, "data");
        assert_eq!(
            volumes[0]
                .persistent_volume_claim
                .as_ref()
                .map(|c| c.claim_name.as_str()),
            Some("data-web-0")
        );
        // Without claim volumes, nothing is kept.
        let pod: Pod = serde_json::from_value(json!({
            "spec": {"containers": [], "volumes": [{"name": "cache", "emptyDir": {}}]},
        }))
        .unwrap_or_default();
        assert_eq!(pod.spec.and_then(|s| s.volumes.clone()), None);
    }

    /// Guards against a large k8s-openapi type slipping in inline.
    #[test]
    fn the_types_stay_small() {
        use std::mem::size_of;
        assert!(size_of::<Pod>() <= 700, "{}", size_of::<Pod>());
        assert!(size_of::<PodSpec>() <= 500, "{}", size_of::<PodSpec>());
        assert!(size_of::<Container>() <= 400, "{}", size_of::<Container>());
        assert!(
            size_of::<ContainerStatus>() <= 300,
            "{}",
            size_of::<ContainerStatus>()
        );
        assert!(
            size_of::<ContainerState>() <= 48,
            "{}",
            size_of::<ContainerState>()
        );
        assert!(size_of::<PodStatus>() <= 240, "{}", size_of::<PodStatus>());
        assert!(
            size_of::<PodCondition>() <= 80,
            "{}",
            size_of::<PodCondition>()
        );
    }
}
