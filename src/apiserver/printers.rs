//! Server-side table printing (`Accept: application/json;as=Table;v=v1;g=meta.k8s.io`).
//!
//! Produces the `meta.k8s.io/v1` `Table` column definitions and row cells that upstream
//! kube-apiserver generates, so `kubectl get` output matches upstream exactly:
//!
//! * per-resource printers follow `pkg/printers/internalversion/printers.go` (`AddHandlers`,
//!   `printPod`, `printNode`, `printEvent`, ...). The server always prints with `Wide: true`
//!   (`pkg/printers/storage/storage.go`), so rows carry the priority-1 cells as well;
//! * unknown resources get the default convertor of
//!   `staging/src/k8s.io/apiserver/pkg/registry/rest/table.go` (`Name`, `Created At`);
//! * ages use `duration.HumanDuration` (`staging/src/k8s.io/apimachinery/pkg/util/duration`).
//!
//! Objects are the raw wire JSON; absent fields behave like Go zero values.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

mod workloads;
pub use workloads::*;

// ---------------------------------------------------------------------------------------------
// Column descriptions (the `SwaggerDoc()` strings upstream references).
// ---------------------------------------------------------------------------------------------

const DESC_NAME: &str = "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names";
const DESC_CREATION_TIMESTAMP: &str = "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";
const DESC_CONTAINERS: &str = "Names of each container in the template.";
const DESC_IMAGES: &str = "Images referenced by each container in the template.";

const DESC_POD_READY: &str = "The aggregate readiness state of this pod for accepting traffic.";
const DESC_POD_STATUS: &str = "The aggregate status of the containers in this pod.";
const DESC_POD_RESTARTS: &str = "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.";
const DESC_POD_IP: &str = "podIP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.";
const DESC_POD_NODE_NAME: &str = "NodeName indicates in which node this pod is scheduled. If empty, this pod is a candidate for scheduling by the scheduler defined in schedulerName. Once this field is set, the kubelet for this node becomes responsible for the lifecycle of this pod. This field should not be used to express a desire for the pod to be scheduled on a specific node. https://kubernetes.io/docs/concepts/scheduling-eviction/assign-pod-node/#nodename";
const DESC_POD_NOMINATED_NODE: &str = "nominatedNodeName is set only when this pod preempts other pods on the node, but it cannot be scheduled right away as preemption victims receive their graceful termination periods. This field does not guarantee that the pod will be scheduled on this node. Scheduler may decide to place the pod elsewhere if other nodes become available sooner. Scheduler may also decide to give the resources on this node to a higher priority pod that is created after preemption. As a result, this field may be different than PodSpec.nodeName when the pod is scheduled.";
const DESC_POD_READINESS_GATES: &str = "If specified, all readiness gates will be evaluated for pod readiness. A pod is ready when all its containers are ready AND all conditions specified in the readiness gates have status equal to \"True\" More info: https://git.k8s.io/enhancements/keps/sig-network/580-pod-readiness-gates";

// extensions/v1beta1 ReplicaSet / Deployment docs (upstream uses that group's SwaggerDoc).
const DESC_RS_SPEC_REPLICAS: &str = "Replicas is the number of desired replicas. This is a pointer to distinguish between explicit zero and unspecified. Defaults to 1. More info: https://kubernetes.io/docs/concepts/workloads/controllers/replicationcontroller/#what-is-a-replicationcontroller";
const DESC_RS_STATUS_REPLICAS: &str = "Replicas is the most recently observed number of replicas. More info: https://kubernetes.io/docs/concepts/workloads/controllers/replicationcontroller/#what-is-a-replicationcontroller";
const DESC_RS_READY_REPLICAS: &str = "The number of ready replicas for this replica set.";
const DESC_RS_SELECTOR: &str = "Selector is a label query over pods that should match the replica count. If the selector is empty, it is defaulted to the labels present on the pod template. Label keys and values that must match in order to be controlled by this replica set. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors";
const DESC_DEPLOY_READY: &str = "Number of the pod with ready state";
const DESC_DEPLOY_UPDATED: &str = "Total number of non-terminated pods targeted by this deployment that have the desired template spec.";
const DESC_DEPLOY_AVAILABLE: &str = "Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.";
const DESC_DEPLOY_SELECTOR: &str = "Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment.";

const DESC_SVC_TYPE: &str = "type determines how the Service is exposed. Defaults to ClusterIP. Valid options are ExternalName, ClusterIP, NodePort, and LoadBalancer. \"ClusterIP\" allocates a cluster-internal IP address for load-balancing to endpoints. Endpoints are determined by the selector or if that is not specified, by manual construction of an Endpoints object or EndpointSlice objects. If clusterIP is \"None\", no virtual IP is allocated and the endpoints are published as a set of endpoints rather than a virtual IP. \"NodePort\" builds on ClusterIP and allocates a port on every node which routes to the same endpoints as the clusterIP. \"LoadBalancer\" builds on NodePort and creates an external load-balancer (if supported in the current cloud) which routes to the same endpoints as the clusterIP. \"ExternalName\" aliases this service to the specified externalName. Several other fields do not apply to ExternalName services. More info: https://kubernetes.io/docs/concepts/services-networking/service/#publishing-services-service-types";
const DESC_SVC_CLUSTER_IP: &str = "clusterIP is the IP address of the service and is usually assigned randomly. If an address is specified manually, is in-range (as per system configuration), and is not in use, it will be allocated to the service; otherwise creation of the service will fail. This field may not be changed through updates unless the type field is also being changed to ExternalName (which requires this field to be blank) or the type field is being changed from ExternalName (in which case this field may optionally be specified, as describe above).  Valid values are \"None\", empty string (\"\"), or a valid IP address. Setting this to \"None\" makes a \"headless service\" (no virtual IP), which is useful when direct endpoint connections are preferred and proxying is not required.  Only applies to types ClusterIP, NodePort, and LoadBalancer. If this field is specified when creating a Service of type ExternalName, creation will fail. This field will be wiped when updating a Service to type ExternalName. More info: https://kubernetes.io/docs/concepts/services-networking/service/#virtual-ips-and-service-proxies";
const DESC_SVC_EXTERNAL_IPS: &str = "externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service.  These IPs are not managed by Kubernetes.  The user is responsible for ensuring that traffic arrives at a node with this IP.  A common example is external load-balancers that are not part of the Kubernetes system.";
const DESC_SVC_PORTS: &str = "The list of ports that are exposed by this service. More info: https://kubernetes.io/docs/concepts/services-networking/service/#virtual-ips-and-service-proxies";
const DESC_SVC_SELECTOR: &str = "Route service traffic to pods with label keys and values matching this selector. If empty or not present, the service is assumed to have an external process managing its endpoints, which Kubernetes will not modify. Only applies to types ClusterIP, NodePort, and LoadBalancer. Ignored if type is ExternalName. More info: https://kubernetes.io/docs/concepts/services-networking/service/";

const DESC_ENDPOINTS_SUBSETS: &str = "The set of all endpoints is the union of all subsets. Addresses are placed into subsets according to the IPs they share. A single address with multiple ports, some of which are ready and some of which are not (because they come from different containers) will result in the address being displayed in different subsets for the different ports. No address will appear in both Addresses and NotReadyAddresses in the same subset. Sets of addresses and ports that comprise a service.";

const DESC_NODE_STATUS: &str = "The status of the node";
const DESC_NODE_ROLES: &str = "The roles of the node";
const DESC_NODE_KUBELET_VERSION: &str = "Kubelet Version reported by the node.";
const DESC_NODE_ADDRESSES: &str = "List of addresses reachable to the node. Queried from cloud provider, if available. More info: https://kubernetes.io/docs/reference/node/node-status/#addresses Note: This field is declared as mergeable, but the merge key is not sufficiently unique, which can cause data corruption when it is merged. Callers should instead use a full-replacement patch. See https://pr.k8s.io/79391 for an example. Consumers should assume that addresses can change during the lifetime of a Node. However, there are some exceptions where this may not be possible, such as Pods that inherit a Node's address in its own status or consumers of the downward API (status.hostIP).";
const DESC_NODE_OS_IMAGE: &str =
    "OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).";
const DESC_NODE_KERNEL: &str =
    "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).";
const DESC_NODE_RUNTIME: &str = "ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2).";

const DESC_EVENT_LAST_SEEN: &str =
    "The time at which the most recent occurrence of this event was recorded.";
const DESC_EVENT_TYPE: &str =
    "Type of this event (Normal, Warning), new types could be added in the future";
const DESC_EVENT_REASON: &str = "This should be a short, machine understandable string that gives the reason for the transition into the object's current status.";
const DESC_EVENT_OBJECT: &str = "The object that this event is about.";
const DESC_EVENT_SUBOBJECT: &str = "If referring to a piece of an object instead of an entire object, this string should contain a valid JSON/Go field access statement, such as desiredState.manifest.containers[2]. For example, if the object reference is to a container within a pod, this would take on a value like: \"spec.containers{name}\" (where \"name\" refers to the name of the container that triggered the event) or if no container name is specified \"spec.containers[2]\" (container with index 2 in this pod). This syntax is chosen only to have some well-defined way of referencing a part of an object.";
const DESC_EVENT_SOURCE: &str =
    "The component reporting this event. Should be a short machine understandable string.";
const DESC_EVENT_MESSAGE: &str = "A human-readable description of the status of this operation.";
const DESC_EVENT_FIRST_SEEN: &str =
    "The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)";
const DESC_EVENT_COUNT: &str = "The number of times this event has occurred.";

const DESC_NAMESPACE_STATUS: &str = "The status of the namespace";
const DESC_SECRET_TYPE: &str = "Used to facilitate programmatic handling of secret data. More info: https://kubernetes.io/docs/concepts/configuration/secret/#secret-types";
const DESC_SECRET_DATA: &str = "Data contains the secret data. Each key must consist of alphanumeric characters, '-', '_' or '.'. The serialized form of the secret data is a base64 encoded string, representing the arbitrary (possibly non-string) data value here. Described in https://tools.ietf.org/html/rfc4648#section-4";
const DESC_SA_SECRETS: &str = "Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use. Pods are only limited to this list if this service account has a \"kubernetes.io/enforce-mountable-secrets\" annotation set to \"true\". The \"kubernetes.io/enforce-mountable-secrets\" annotation is deprecated since v1.32. Prefer separate namespaces to isolate access to mounted secrets. This field should not be used to find auto-generated service account token secrets for use outside of pods. Instead, tokens can be requested directly using the TokenRequest API, or service account token secrets can be manually created. More info: https://kubernetes.io/docs/concepts/configuration/secret";
const DESC_CONFIGMAP_DATA: &str = "Data contains the configuration data. Each key must consist of alphanumeric characters, '-', '_' or '.'. Values with non-UTF-8 byte sequences must use the BinaryData field. The keys stored in Data must not overlap with the keys in the BinaryData field, this is enforced during validation process.";
const DESC_POD_TEMPLATE_LABELS: &str = "The labels for the pod template.";
const DESC_LEASE_HOLDER: &str = "holderIdentity contains the identity of the holder of a current lease. If Coordinated Leader Election is used, the holder identity must be equal to the elected LeaseCandidate.metadata.name field.";

/// `pkg/util/node.NodeUnreachablePodReason`.
const NODE_UNREACHABLE_POD_REASON: &str = "NodeLost";

// ---------------------------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------------------------

/// Table columns of pod objects.
pub fn pod_columns() -> Vec<Value> {
    let c = col;
    vec![
        name_col(),
        c("Ready", "string", "", DESC_POD_READY, 0),
        c("Status", "string", "", DESC_POD_STATUS, 0),
        c("Restarts", "string", "", DESC_POD_RESTARTS, 0),
        age_col(),
        c("IP", "string", "", DESC_POD_IP, 1),
        c("Node", "string", "", DESC_POD_NODE_NAME, 1),
        c("Nominated Node", "string", "", DESC_POD_NOMINATED_NODE, 1),
        c("Readiness Gates", "string", "", DESC_POD_READINESS_GATES, 1),
    ]
}

/// Table columns of namespace objects.
pub fn namespace_columns() -> Vec<Value> {
    let c = col;
    vec![
        name_col(),
        c("Status", "string", "", DESC_NAMESPACE_STATUS, 0),
        age_col(),
    ]
}

/// Table columns of node objects.
pub fn node_columns() -> Vec<Value> {
    let c = col;
    vec![
        name_col(),
        c("Status", "string", "", DESC_NODE_STATUS, 0),
        c("Roles", "string", "", DESC_NODE_ROLES, 0),
        age_col(),
        c("Version", "string", "", DESC_NODE_KUBELET_VERSION, 0),
        c("Internal-IP", "string", "", DESC_NODE_ADDRESSES, 1),
        c("External-IP", "string", "", DESC_NODE_ADDRESSES, 1),
        c("OS-Image", "string", "", DESC_NODE_OS_IMAGE, 1),
        c("Kernel-Version", "string", "", DESC_NODE_KERNEL, 1),
        c("Container-Runtime", "string", "", DESC_NODE_RUNTIME, 1),
    ]
}

/// Table columns of secret objects.
pub fn secret_columns() -> Vec<Value> {
    let c = col;
    vec![
        name_col(),
        c("Type", "string", "", DESC_SECRET_TYPE, 0),
        c("Data", "string", "", DESC_SECRET_DATA, 0),
        age_col(),
    ]
}

/// Table columns of configmap objects.
pub fn configmap_columns() -> Vec<Value> {
    let c = col;
    vec![
        name_col(),
        c("Data", "string", "", DESC_CONFIGMAP_DATA, 0),
        age_col(),
    ]
}

/// Table columns of serviceaccount objects.
pub fn serviceaccount_columns() -> Vec<Value> {
    let c = col;
    vec![
        name_col(),
        c("Secrets", "string", "", DESC_SA_SECRETS, 0),
        age_col(),
    ]
}

/// Table columns of Events (core/v1 and events.k8s.io/v1).
pub fn event_columns() -> Vec<Value> {
    let c = col;
    vec![
        c("Last Seen", "string", "", DESC_EVENT_LAST_SEEN, 0),
        c("Type", "string", "", DESC_EVENT_TYPE, 0),
        c("Reason", "string", "", DESC_EVENT_REASON, 0),
        c("Object", "string", "", DESC_EVENT_OBJECT, 0),
        c("Subobject", "string", "", DESC_EVENT_SUBOBJECT, 1),
        c("Source", "string", "", DESC_EVENT_SOURCE, 1),
        c("Message", "string", "", DESC_EVENT_MESSAGE, 0),
        c("First Seen", "string", "", DESC_EVENT_FIRST_SEEN, 1),
        c("Count", "string", "", DESC_EVENT_COUNT, 1),
        c("Name", "string", "name", DESC_NAME, 1),
    ]
}

/// Table columns of service objects.
pub fn service_columns() -> Vec<Value> {
    let c = col;
    vec![
        name_col(),
        c("Type", "string", "", DESC_SVC_TYPE, 0),
        c("Cluster-IP", "string", "", DESC_SVC_CLUSTER_IP, 0),
        c("External-IP", "string", "", DESC_SVC_EXTERNAL_IPS, 0),
        c("Port(s)", "string", "", DESC_SVC_PORTS, 0),
        age_col(),
        c("Selector", "string", "", DESC_SVC_SELECTOR, 1),
    ]
}

/// Table columns of endpoints objects.
pub fn endpoints_columns() -> Vec<Value> {
    let c = col;
    vec![
        name_col(),
        c("Endpoints", "string", "", DESC_ENDPOINTS_SUBSETS, 0),
        age_col(),
    ]
}

/// Table columns of replica_set objects.
pub fn replica_set_columns() -> Vec<Value> {
    let c = col;
    vec![
        name_col(),
        c("Desired", "integer", "", DESC_RS_SPEC_REPLICAS, 0),
        c("Current", "integer", "", DESC_RS_STATUS_REPLICAS, 0),
        c("Ready", "integer", "", DESC_RS_READY_REPLICAS, 0),
        age_col(),
        c("Containers", "string", "", DESC_CONTAINERS, 1),
        c("Images", "string", "", DESC_IMAGES, 1),
        c("Selector", "string", "", DESC_RS_SELECTOR, 1),
    ]
}

/// Table columns of deployment objects.
pub fn deployment_columns() -> Vec<Value> {
    let c = col;
    vec![
        name_col(),
        c("Ready", "string", "", DESC_DEPLOY_READY, 0),
        c("Up-to-date", "string", "", DESC_DEPLOY_UPDATED, 0),
        c("Available", "string", "", DESC_DEPLOY_AVAILABLE, 0),
        age_col(),
        c("Containers", "string", "", DESC_CONTAINERS, 1),
        c("Images", "string", "", DESC_IMAGES, 1),
        c("Selector", "string", "", DESC_DEPLOY_SELECTOR, 1),
    ]
}

/// Table columns of lease objects.
pub fn lease_columns() -> Vec<Value> {
    let c = col;
    vec![
        name_col(),
        c("Holder", "string", "", DESC_LEASE_HOLDER, 0),
        age_col(),
    ]
}

/// Table columns of PodTemplates (`printPodTemplate`).
pub fn pod_template_columns() -> Vec<Value> {
    let c = col;
    vec![
        name_col(),
        c("Containers", "string", "", DESC_CONTAINERS, 0),
        c("Images", "string", "", DESC_IMAGES, 0),
        c("Pod Labels", "string", "", DESC_POD_TEMPLATE_LABELS, 0),
    ]
}

/// One Table row of a PodTemplate: no age column, as upstream.
pub fn pod_template_cells(obj: &Value) -> Vec<Value> {
    let (names, images) = layout_container_cells(arr_at(obj, &["template", "spec", "containers"]));
    vec![
        json!(name(obj)),
        json!(names),
        json!(images),
        json!(format_labels(at(obj, &["template", "metadata", "labels"]))),
    ]
}

/// RoleBinding and ClusterRoleBinding columns (`roleBindingsColumnDefinitions`;
/// users, groups and service accounts are wide).
pub fn role_binding_columns(cluster: bool) -> Vec<Value> {
    let c = col;
    let role = if cluster {
        "RoleRef can only reference a ClusterRole in the global namespace. If the RoleRef cannot be resolved, the Authorizer must return an error. This field is immutable."
    } else {
        "RoleRef can reference a Role in the current namespace or a ClusterRole in the global namespace. If the RoleRef cannot be resolved, the Authorizer must return an error. This field is immutable."
    };
    let what = if cluster {
        "clusterRoleBinding"
    } else {
        "roleBinding"
    };
    vec![
        name_col(),
        c("Role", "string", "", role, 0),
        age_col(),
        c("Users", "string", "", &format!("Users in the {what}"), 1),
        c("Groups", "string", "", &format!("Groups in the {what}"), 1),
        c(
            "ServiceAccounts",
            "string",
            "",
            &format!("ServiceAccounts in the {what}"),
            1,
        ),
    ]
}

/// One Table row of a RoleBinding or ClusterRoleBinding.
pub fn role_binding_cells(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let mut cells = vec![
        json!(name(obj)),
        json!(crate::registry::rbac::role_ref_cell(obj)),
        json!(age(obj, now)),
    ];
    cells.extend(crate::registry::rbac::subject_cells(obj));
    cells
}

/// `rest.defaultTableConvertor`'s columns.
pub fn default_columns() -> Vec<Value> {
    let c = col;
    vec![
        name_col(),
        c("Created At", "date", "", DESC_CREATION_TIMESTAMP, 0),
    ]
}

/// One Table row of a namespace.
pub fn namespace_cells(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    vec![
        json!(name(obj)),
        // SetDefaults_NamespaceStatus defaults an empty phase to Active.
        json!(non_empty_or(str_at(obj, &["status", "phase"]), "Active")),
        json!(age(obj, now)),
    ]
}

/// One Table row of a secret.
pub fn secret_cells(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    vec![
        json!(name(obj)),
        // SetDefaults_Secret defaults an empty type to Opaque.
        json!(non_empty_or(str_at(obj, &["type"]), "Opaque")),
        json!(map_len(obj, &["data"])),
        json!(age(obj, now)),
    ]
}

/// One Table row of a configmap.
pub fn configmap_cells(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    vec![
        json!(name(obj)),
        json!(map_len(obj, &["data"]) + map_len(obj, &["binaryData"])),
        json!(age(obj, now)),
    ]
}

/// One Table row of a serviceaccount.
pub fn serviceaccount_cells(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    vec![
        json!(name(obj)),
        json!(arr_at(obj, &["secrets"]).len() as i64),
        json!(age(obj, now)),
    ]
}

/// One Table row of a core/v1 Event.
pub fn core_event_cells(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    event_cells(&EventView::core(obj), now)
}

/// One Table row of an events.k8s.io/v1 Event.
pub fn events_v1_cells(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    event_cells(&EventView::events_v1(obj), now)
}

/// One Table row of an Endpoints.
pub fn endpoints_cells(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    vec![
        json!(name(obj)),
        json!(format_endpoints(obj)),
        json!(age(obj, now)),
    ]
}

/// One Table row of a lease.
pub fn lease_cells(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    vec![
        json!(name(obj)),
        json!(str_at(obj, &["spec", "holderIdentity"])),
        json!(age(obj, now)),
    ]
}

/// `rest.defaultTableConvertor`'s cells.
pub fn default_cells(obj: &Value) -> Vec<Value> {
    // rest.defaultTableConvertor: creationTimestamp.UTC().Format(time.RFC3339); a zero
    // time formats as Go's zero time.
    let created = parse_time(at(obj, &["metadata", "creationTimestamp"]))
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_else(|| "0001-01-01T00:00:00Z".to_string());
    vec![json!(name(obj)), json!(created)]
}

/// upstream duration.HumanDuration / translateTimestampSince ("<unknown>" for missing timestamps).
pub fn human_duration(d: Duration) -> String {
    // Truncation toward zero, like Go's int(d.Seconds()) and integer Duration division.
    let seconds = d.num_seconds();
    if seconds < -1 {
        return "<invalid>".to_string();
    } else if seconds < 0 {
        return "0s".to_string();
    } else if seconds < 60 * 2 {
        return format!("{seconds}s");
    }
    let minutes = d.num_minutes();
    if minutes < 10 {
        let s = seconds % 60;
        if s == 0 {
            return format!("{minutes}m");
        }
        return format!("{minutes}m{s}s");
    } else if minutes < 60 * 3 {
        return format!("{minutes}m");
    }
    let hours = d.num_hours();
    if hours < 8 {
        let m = minutes % 60;
        if m == 0 {
            return format!("{hours}h");
        }
        format!("{hours}h{m}m")
    } else if hours < 48 {
        format!("{hours}h")
    } else if hours < 24 * 8 {
        let h = hours % 24;
        if h == 0 {
            return format!("{}d", hours / 24);
        }
        format!("{}d{}h", hours / 24, h)
    } else if hours < 24 * 365 * 2 {
        format!("{}d", hours / 24)
    } else if hours < 24 * 365 * 8 {
        let dy = (hours / 24) % 365;
        if dy == 0 {
            return format!("{}y", hours / 24 / 365);
        }
        format!("{}y{}d", hours / 24 / 365, dy)
    } else {
        format!("{}y", hours / 24 / 365)
    }
}

// ---------------------------------------------------------------------------------------------
// Column helpers
// ---------------------------------------------------------------------------------------------

fn col(name: &str, typ: &str, format: &str, description: &str, priority: i32) -> Value {
    json!({
        "name": name,
        "type": typ,
        "format": format,
        "description": description,
        "priority": priority,
    })
}

fn name_col() -> Value {
    col("Name", "string", "name", DESC_NAME, 0)
}

fn age_col() -> Value {
    col("Age", "string", "", DESC_CREATION_TIMESTAMP, 0)
}

// ---------------------------------------------------------------------------------------------
// JSON access helpers (absent / mistyped fields behave like Go zero values)
// ---------------------------------------------------------------------------------------------

fn at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    let mut cur = v;
    for key in path {
        cur = cur.get(*key)?;
    }
    Some(cur)
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> &'a str {
    at(v, path).and_then(Value::as_str).unwrap_or("")
}

fn i64_at(v: &Value, path: &[&str]) -> i64 {
    at(v, path).and_then(Value::as_i64).unwrap_or(0)
}

fn bool_at(v: &Value, path: &[&str]) -> bool {
    at(v, path).and_then(Value::as_bool).unwrap_or(false)
}

fn arr_at<'a>(v: &'a Value, path: &[&str]) -> &'a [Value] {
    at(v, path)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

fn map_len(v: &Value, path: &[&str]) -> i64 {
    at(v, path)
        .and_then(Value::as_object)
        .map_or(0, |m| m.len() as i64)
}

/// `s`, or `default` when `s` is empty (upstream defaulting applied before printing).
fn non_empty_or<'a>(s: &'a str, default: &'a str) -> &'a str {
    if s.is_empty() { default } else { s }
}

fn name(obj: &Value) -> &str {
    str_at(obj, &["metadata", "name"])
}

/// Parses a metav1.Time / metav1.MicroTime; `None` for absent, null, unparsable or Go-zero times.
fn parse_time(v: Option<&Value>) -> Option<DateTime<Utc>> {
    let s = v?.as_str()?;
    let t = DateTime::parse_from_rfc3339(s).ok()?.with_timezone(&Utc);
    // Go's time.Time{}.IsZero(): 0001-01-01T00:00:00Z.
    if t.timestamp() == -62_135_596_800 && t.timestamp_subsec_nanos() == 0 {
        return None;
    }
    Some(t)
}

/// `translateTimestampSince` / `translateMicroTimestampSince`.
fn since(t: Option<DateTime<Utc>>, now: DateTime<Utc>) -> String {
    match t {
        Some(t) => human_duration(now.signed_duration_since(t)),
        None => "<unknown>".to_string(),
    }
}

fn age(obj: &Value, now: DateTime<Utc>) -> String {
    since(parse_time(at(obj, &["metadata", "creationTimestamp"])), now)
}

/// `layoutContainerCells`: comma-joined container names and images.
fn layout_container_cells(containers: &[Value]) -> (String, String) {
    let names: Vec<&str> = containers.iter().map(|c| str_at(c, &["name"])).collect();
    let images: Vec<&str> = containers.iter().map(|c| str_at(c, &["image"])).collect();
    (names.join(","), images.join(","))
}

/// `labels.FormatLabels`: sorted `k=v` pairs joined by ",", "<none>" when empty.
fn format_labels(v: Option<&Value>) -> String {
    let mut pairs: Vec<String> = v
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                .collect()
        })
        .unwrap_or_default();
    pairs.sort();
    let joined = pairs.join(",");
    if joined.is_empty() {
        "<none>".to_string()
    } else {
        joined
    }
}

// ---------------------------------------------------------------------------------------------
// Label selectors (metav1.LabelSelectorAsSelector + labels.Selector.String)
// ---------------------------------------------------------------------------------------------

/// `metav1.LabelSelectorAsSelector(sel).String()`; `Err` where upstream returns an error.
/// A nil selector (`labels.Nothing()`) and an empty one (`labels.Everything()`) both print "".
fn label_selector_string(sel: Option<&Value>) -> Result<String, ()> {
    let Some(sel) = sel.filter(|s| !s.is_null()) else {
        return Ok(String::new());
    };
    let mut reqs: Vec<(String, String)> = Vec::new(); // (key, rendered requirement)
    if let Some(labels) = sel.get("matchLabels").and_then(Value::as_object) {
        for (k, v) in labels {
            let v = v.as_str().unwrap_or("");
            validate_label_key(k)?;
            validate_label_value(v)?;
            reqs.push((k.clone(), format!("{k}={v}")));
        }
    }
    for expr in arr_at(sel, &["matchExpressions"]) {
        let key = str_at(expr, &["key"]);
        let values: Vec<&str> = arr_at(expr, &["values"])
            .iter()
            .map(|v| v.as_str().unwrap_or(""))
            .collect();
        validate_label_key(key)?;
        let rendered = match str_at(expr, &["operator"]) {
            op @ ("In" | "NotIn") => {
                if values.is_empty() {
                    return Err(());
                }
                for v in &values {
                    validate_label_value(v)?;
                }
                let mut sorted = values.clone();
                sorted.sort_unstable();
                let word = if op == "In" { "in" } else { "notin" };
                format!("{key} {word} ({})", sorted.join(","))
            }
            "Exists" if values.is_empty() => key.to_string(),
            "DoesNotExist" if values.is_empty() => format!("!{key}"),
            _ => return Err(()),
        };
        reqs.push((key.to_string(), rendered));
    }
    // internalSelector.Add sorts requirements by key.
    reqs.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(reqs
        .into_iter()
        .map(|(_, r)| r)
        .collect::<Vec<_>>()
        .join(","))
}

/// `metav1.FormatLabelSelector`: "<error>" on error, "<none>" when empty.
fn format_label_selector(sel: Option<&Value>) -> String {
    match label_selector_string(sel) {
        Err(()) => "<error>".to_string(),
        Ok(s) if s.is_empty() => "<none>".to_string(),
        Ok(s) => s,
    }
}

/// `[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?` of at most 63 characters.
fn is_qualified_name_part(s: &str) -> bool {
    let b = s.as_bytes();
    let (Some(first), Some(last)) = (b.first(), b.last()) else {
        return false;
    };
    b.len() <= 63
        && first.is_ascii_alphanumeric()
        && last.is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
}

/// DNS-1123 subdomain (lowercase labels separated by dots, at most 253 characters).
fn is_dns1123_subdomain(s: &str) -> bool {
    s.len() <= 253
        && s.split('.').all(|label| {
            let b = label.as_bytes();
            match (b.first(), b.last()) {
                (Some(f), Some(l)) => {
                    (f.is_ascii_lowercase() || f.is_ascii_digit())
                        && (l.is_ascii_lowercase() || l.is_ascii_digit())
                        && b.iter()
                            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
                }
                _ => false,
            }
        })
}

/// `validation.IsQualifiedName` as used by `labels.NewRequirement` for keys.
fn validate_label_key(key: &str) -> Result<(), ()> {
    let ok = match key.split_once('/') {
        Some((prefix, name)) => {
            !prefix.is_empty()
                && is_dns1123_subdomain(prefix)
                && !name.contains('/')
                && is_qualified_name_part(name)
        }
        None => is_qualified_name_part(key),
    };
    if ok { Ok(()) } else { Err(()) }
}

/// `validation.IsValidLabelValue`: empty or a qualified-name part.
fn validate_label_value(v: &str) -> Result<(), ()> {
    if v.is_empty() || is_qualified_name_part(v) {
        Ok(())
    } else {
        Err(())
    }
}

// ---------------------------------------------------------------------------------------------
// Pods (printPod)
// ---------------------------------------------------------------------------------------------

pub fn pod_cells(pod: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let spec_containers = arr_at(pod, &["spec", "containers"]);
    let init_specs = arr_at(pod, &["spec", "initContainers"]);
    let conditions = arr_at(pod, &["status", "conditions"]);

    let mut restarts: i64 = 0;
    let mut restartable_init_restarts: i64 = 0;
    let mut total_containers = spec_containers.len();
    let mut ready_containers = 0usize;
    let mut last_restart: Option<DateTime<Utc>> = None;
    let mut last_restartable_init_restart: Option<DateTime<Utc>> = None;

    let phase = str_at(pod, &["status", "phase"]);
    let mut reason = phase.to_string();
    let status_reason = str_at(pod, &["status", "reason"]);
    if !status_reason.is_empty() {
        reason = status_reason.to_string();
    }

    if conditions.iter().any(|c| {
        str_at(c, &["type"]) == "PodScheduled" && str_at(c, &["reason"]) == "SchedulingGated"
    }) {
        reason = "SchedulingGated".to_string();
    }

    let is_restartable_init = |container_name: &str| -> bool {
        init_specs.iter().any(|c| {
            str_at(c, &["name"]) == container_name && str_at(c, &["restartPolicy"]) == "Always"
        })
    };
    total_containers += init_specs
        .iter()
        .filter(|c| str_at(c, &["restartPolicy"]) == "Always")
        .count();

    let later = |current: Option<DateTime<Utc>>, candidate: Option<DateTime<Utc>>| match (
        current, candidate,
    ) {
        (Some(c), Some(t)) if c < t => Some(t),
        (None, Some(t)) => Some(t),
        (c, _) => c,
    };

    let mut initializing = false;
    for (i, cs) in arr_at(pod, &["status", "initContainerStatuses"])
        .iter()
        .enumerate()
    {
        let restart_count = i64_at(cs, &["restartCount"]);
        restarts += restart_count;
        let last_term = at(cs, &["lastState", "terminated"]).filter(|t| t.is_object());
        if let Some(t) = last_term {
            last_restart = later(last_restart, parse_time(t.get("finishedAt")));
        }
        let restartable = is_restartable_init(str_at(cs, &["name"]));
        if restartable {
            restartable_init_restarts += restart_count;
            if let Some(t) = last_term {
                last_restartable_init_restart = later(
                    last_restartable_init_restart,
                    parse_time(t.get("finishedAt")),
                );
            }
        }
        let terminated = at(cs, &["state", "terminated"]).filter(|t| t.is_object());
        let waiting = at(cs, &["state", "waiting"]).filter(|w| w.is_object());
        if terminated.is_some_and(|t| i64_at(t, &["exitCode"]) == 0) {
            continue;
        }
        if restartable && bool_at(cs, &["started"]) {
            if bool_at(cs, &["ready"]) {
                ready_containers += 1;
            }
            continue;
        }
        if let Some(t) = terminated {
            // initialization failed
            let term_reason = str_at(t, &["reason"]);
            reason = if term_reason.is_empty() {
                let signal = i64_at(t, &["signal"]);
                if signal != 0 {
                    format!("Init:Signal:{signal}")
                } else {
                    format!("Init:ExitCode:{}", i64_at(t, &["exitCode"]))
                }
            } else {
                format!("Init:{term_reason}")
            };
        } else if let Some(w) = waiting.filter(|w| {
            let r = str_at(w, &["reason"]);
            !r.is_empty() && r != "PodInitializing"
        }) {
            reason = format!("Init:{}", str_at(w, &["reason"]));
        } else {
            reason = format!("Init:{}/{}", i, init_specs.len());
        }
        initializing = true;
        break;
    }

    let initialized_true = conditions
        .iter()
        .any(|c| str_at(c, &["type"]) == "Initialized" && str_at(c, &["status"]) == "True");

    if !initializing || initialized_true {
        restarts = restartable_init_restarts;
        last_restart = last_restartable_init_restart;
        let mut has_running = false;
        for cs in arr_at(pod, &["status", "containerStatuses"]).iter().rev() {
            restarts += i64_at(cs, &["restartCount"]);
            if let Some(t) = at(cs, &["lastState", "terminated"]).filter(|t| t.is_object()) {
                last_restart = later(last_restart, parse_time(t.get("finishedAt")));
            }
            let waiting = at(cs, &["state", "waiting"]).filter(|w| w.is_object());
            let terminated = at(cs, &["state", "terminated"]).filter(|t| t.is_object());
            let running = at(cs, &["state", "running"]).is_some_and(Value::is_object);
            if let Some(w) = waiting.filter(|w| !str_at(w, &["reason"]).is_empty()) {
                reason = str_at(w, &["reason"]).to_string();
            } else if let Some(t) = terminated {
                let term_reason = str_at(t, &["reason"]);
                reason = if !term_reason.is_empty() {
                    term_reason.to_string()
                } else if i64_at(t, &["signal"]) != 0 {
                    format!("Signal:{}", i64_at(t, &["signal"]))
                } else {
                    format!("ExitCode:{}", i64_at(t, &["exitCode"]))
                };
            } else if bool_at(cs, &["ready"]) && running {
                has_running = true;
                ready_containers += 1;
            }
        }

        // back to "Running" if at least one container is still running
        if reason == "Completed" && has_running {
            let pod_ready = conditions
                .iter()
                .any(|c| str_at(c, &["type"]) == "Ready" && str_at(c, &["status"]) == "True");
            reason = if pod_ready { "Running" } else { "NotReady" }.to_string();
        }
    }

    let deleting = at(pod, &["metadata", "deletionTimestamp"]).is_some_and(|v| !v.is_null());
    if deleting && status_reason == NODE_UNREACHABLE_POD_REASON {
        reason = "Unknown".to_string();
    } else if deleting && phase != "Failed" && phase != "Succeeded" {
        reason = "Terminating".to_string();
    }

    let restarts_str = match last_restart {
        Some(t) if restarts != 0 => format!("{restarts} ({} ago)", since(Some(t), now)),
        _ => restarts.to_string(),
    };

    // v1 -> internal conversion fills podIPs from a lone podIP.
    let pod_ip = arr_at(pod, &["status", "podIPs"])
        .first()
        .map(|p| str_at(p, &["ip"]))
        .unwrap_or_else(|| str_at(pod, &["status", "podIP"]));
    let or_none = |s: &str| {
        if s.is_empty() {
            "<none>".to_string()
        } else {
            s.to_string()
        }
    };

    let gates = arr_at(pod, &["spec", "readinessGates"]);
    let readiness_gates = if gates.is_empty() {
        "<none>".to_string()
    } else {
        let true_conditions = gates
            .iter()
            .filter(|g| {
                let cond_type = str_at(g, &["conditionType"]);
                conditions
                    .iter()
                    .find(|c| str_at(c, &["type"]) == cond_type)
                    .is_some_and(|c| str_at(c, &["status"]) == "True")
            })
            .count();
        format!("{true_conditions}/{}", gates.len())
    };

    vec![
        json!(name(pod)),
        json!(format!("{ready_containers}/{total_containers}")),
        json!(reason),
        json!(restarts_str),
        json!(age(pod, now)),
        json!(or_none(pod_ip)),
        json!(or_none(str_at(pod, &["spec", "nodeName"]))),
        json!(or_none(str_at(pod, &["status", "nominatedNodeName"]))),
        json!(readiness_gates),
    ]
}

// ---------------------------------------------------------------------------------------------
// Nodes (printNode)
// ---------------------------------------------------------------------------------------------

pub fn node_cells(node: &Value, now: DateTime<Utc>) -> Vec<Value> {
    // Only the Ready condition is considered; the last one of that type wins (map semantics).
    let ready = arr_at(node, &["status", "conditions"])
        .iter()
        .rev()
        .find(|c| str_at(c, &["type"]) == "Ready");
    let mut status: Vec<&str> = vec![match ready {
        Some(c) if str_at(c, &["status"]) == "True" => "Ready",
        Some(_) => "NotReady",
        None => "Unknown",
    }];
    if bool_at(node, &["spec", "unschedulable"]) {
        status.push("SchedulingDisabled");
    }

    // findNodeRoles: node-role.kubernetes.io/<role> keys and kubernetes.io/role=<role> values.
    let mut roles: Vec<String> = Vec::new();
    if let Some(labels) = at(node, &["metadata", "labels"]).and_then(Value::as_object) {
        for (k, v) in labels {
            let v = v.as_str().unwrap_or("");
            if let Some(role) = k.strip_prefix("node-role.kubernetes.io/") {
                if !role.is_empty() {
                    roles.push(role.to_string());
                }
            } else if k == "kubernetes.io/role" && !v.is_empty() {
                roles.push(v.to_string());
            }
        }
    }
    roles.sort();
    roles.dedup();
    let roles = if roles.is_empty() {
        "<none>".to_string()
    } else {
        roles.join(",")
    };

    let address = |typ: &str| -> String {
        arr_at(node, &["status", "addresses"])
            .iter()
            .find(|a| str_at(a, &["type"]) == typ)
            .map(|a| str_at(a, &["address"]).to_string())
            .unwrap_or_else(|| "<none>".to_string())
    };
    let info = |field: &str| -> String {
        let v = str_at(node, &["status", "nodeInfo", field]);
        if v.is_empty() {
            "<unknown>".to_string()
        } else {
            v.to_string()
        }
    };

    vec![
        json!(name(node)),
        json!(status.join(",")),
        json!(roles),
        json!(age(node, now)),
        json!(str_at(node, &["status", "nodeInfo", "kubeletVersion"])),
        json!(address("InternalIP")),
        json!(address("ExternalIP")),
        json!(info("osImage")),
        json!(info("kernelVersion")),
        json!(info("containerRuntimeVersion")),
    ]
}

// ---------------------------------------------------------------------------------------------
// Events (printEvent), for core/v1 and events.k8s.io/v1 objects
// ---------------------------------------------------------------------------------------------

/// The internal `api.Event` fields printEvent reads, from either wire version.
struct EventView<'a> {
    name: &'a str,
    first_timestamp: Option<&'a Value>,
    last_timestamp: Option<&'a Value>,
    event_time: Option<&'a Value>,
    count: i64,
    series: Option<&'a Value>,
    kind: &'a str,
    object_name: &'a str,
    field_path: &'a str,
    type_: &'a str,
    reason: &'a str,
    source_component: &'a str,
    source_host: &'a str,
    reporting_controller: &'a str,
    reporting_instance: &'a str,
    message: &'a str,
}

impl<'a> EventView<'a> {
    fn core(e: &'a Value) -> Self {
        EventView {
            name: name(e),
            first_timestamp: at(e, &["firstTimestamp"]),
            last_timestamp: at(e, &["lastTimestamp"]),
            event_time: at(e, &["eventTime"]),
            count: i64_at(e, &["count"]),
            series: at(e, &["series"]).filter(|s| s.is_object()),
            kind: str_at(e, &["involvedObject", "kind"]),
            object_name: str_at(e, &["involvedObject", "name"]),
            field_path: str_at(e, &["involvedObject", "fieldPath"]),
            type_: str_at(e, &["type"]),
            reason: str_at(e, &["reason"]),
            source_component: str_at(e, &["source", "component"]),
            source_host: str_at(e, &["source", "host"]),
            reporting_controller: str_at(e, &["reportingComponent"]),
            reporting_instance: str_at(e, &["reportingInstance"]),
            message: str_at(e, &["message"]),
        }
    }

    /// events.k8s.io/v1 → internal conversion (`regarding`, `note`, `deprecated*` fields).
    fn events_v1(e: &'a Value) -> Self {
        EventView {
            name: name(e),
            first_timestamp: at(e, &["deprecatedFirstTimestamp"]),
            last_timestamp: at(e, &["deprecatedLastTimestamp"]),
            event_time: at(e, &["eventTime"]),
            count: i64_at(e, &["deprecatedCount"]),
            series: at(e, &["series"]).filter(|s| s.is_object()),
            kind: str_at(e, &["regarding", "kind"]),
            object_name: str_at(e, &["regarding", "name"]),
            field_path: str_at(e, &["regarding", "fieldPath"]),
            type_: str_at(e, &["type"]),
            reason: str_at(e, &["reason"]),
            source_component: str_at(e, &["deprecatedSource", "component"]),
            source_host: str_at(e, &["deprecatedSource", "host"]),
            reporting_controller: str_at(e, &["reportingController"]),
            reporting_instance: str_at(e, &["reportingInstance"]),
            message: str_at(e, &["note"]),
        }
    }
}

fn event_cells(e: &EventView<'_>, now: DateTime<Utc>) -> Vec<Value> {
    let first = match parse_time(e.first_timestamp) {
        Some(t) => since(Some(t), now),
        None => since(parse_time(e.event_time), now),
    };
    let mut last = match parse_time(e.last_timestamp) {
        Some(t) => since(Some(t), now),
        None => first.clone(),
    };
    let mut count = e.count;
    if let Some(series) = e.series {
        last = since(parse_time(series.get("lastObservedTime")), now);
        count = i64_at(series, &["count"]);
    } else if count == 0 {
        // Singleton events don't have a count set in the new API.
        count = 1;
    }

    let kind = e.kind.to_lowercase();
    let target = if e.object_name.is_empty() {
        kind
    } else {
        format!("{kind}/{}", e.object_name)
    };

    // formatEventSource: component (or reportingController) [+ ", " + host (or reportingInstance)]
    let component = if e.source_component.is_empty() {
        e.reporting_controller
    } else {
        e.source_component
    };
    let host = if e.source_host.is_empty() {
        e.reporting_instance
    } else {
        e.source_host
    };
    let source = if host.is_empty() {
        component.to_string()
    } else {
        format!("{component}, {host}")
    };

    vec![
        json!(last),
        json!(e.type_),
        json!(e.reason),
        json!(target),
        json!(e.field_path),
        json!(source),
        json!(e.message.trim()),
        json!(first),
        json!(count),
        json!(e.name),
    ]
}

// ---------------------------------------------------------------------------------------------
// Services (printService) and Endpoints (printEndpoints)
// ---------------------------------------------------------------------------------------------

pub fn service_cells(svc: &Value, now: DateTime<Utc>) -> Vec<Value> {
    // Stored services are defaulted upstream; treat a missing type as ClusterIP.
    let svc_type = match str_at(svc, &["spec", "type"]) {
        "" => "ClusterIP",
        t => t,
    };
    // SetDefaults_Service fills clusterIPs from a lone clusterIP.
    let internal_ip = match arr_at(svc, &["spec", "clusterIPs"]).first() {
        Some(ip) => ip.as_str().unwrap_or("").to_string(),
        None => match str_at(svc, &["spec", "clusterIP"]) {
            "" => "<none>".to_string(),
            ip => ip.to_string(),
        },
    };

    let external_ips: Vec<&str> = arr_at(svc, &["spec", "externalIPs"])
        .iter()
        .map(|v| v.as_str().unwrap_or(""))
        .collect();
    let external_ip = match svc_type {
        "ClusterIP" | "NodePort" => {
            if external_ips.is_empty() {
                "<none>".to_string()
            } else {
                external_ips.join(",")
            }
        }
        "LoadBalancer" => {
            // loadBalancerStatusStringer(wide=true): sorted unique IPs/hostnames.
            let mut lb: Vec<&str> = arr_at(svc, &["status", "loadBalancer", "ingress"])
                .iter()
                .filter_map(|ing| {
                    let ip = str_at(ing, &["ip"]);
                    let host = str_at(ing, &["hostname"]);
                    if !ip.is_empty() {
                        Some(ip)
                    } else if !host.is_empty() {
                        Some(host)
                    } else {
                        None
                    }
                })
                .collect();
            lb.sort_unstable();
            lb.dedup();
            let mut all: Vec<&str> = lb;
            all.extend(external_ips.iter().copied());
            if all.is_empty() {
                "<pending>".to_string()
            } else {
                all.join(",")
            }
        }
        "ExternalName" => str_at(svc, &["spec", "externalName"]).to_string(),
        _ => "<unknown>".to_string(),
    };

    // makePortString
    let ports: Vec<String> = arr_at(svc, &["spec", "ports"])
        .iter()
        .map(|p| {
            let port = i64_at(p, &["port"]);
            let protocol = match str_at(p, &["protocol"]) {
                "" => "TCP",
                proto => proto,
            };
            let node_port = i64_at(p, &["nodePort"]);
            if node_port > 0 {
                format!("{port}:{node_port}/{protocol}")
            } else {
                format!("{port}/{protocol}")
            }
        })
        .collect();
    let ports = if ports.is_empty() {
        "<none>".to_string()
    } else {
        ports.join(",")
    };

    vec![
        json!(name(svc)),
        json!(svc_type),
        json!(internal_ip),
        json!(external_ip),
        json!(ports),
        json!(age(svc, now)),
        json!(format_labels(at(svc, &["spec", "selector"]))),
    ]
}

/// `formatEndpoints(endpoints, nil)`: up to three `ip:port` entries, then "+ N more...".
fn format_endpoints(ep: &Value) -> String {
    let subsets = arr_at(ep, &["subsets"]);
    if subsets.is_empty() {
        return "<none>".to_string();
    }
    const MAX: usize = 3;
    let mut list: Vec<String> = Vec::new();
    let mut more = false;
    let mut count = 0usize;
    for ss in subsets {
        let addresses = arr_at(ss, &["addresses"]);
        let ports = arr_at(ss, &["ports"]);
        if ports.is_empty() {
            // headless services with no ports
            count += addresses.len();
            for a in addresses {
                if list.len() == MAX {
                    more = true;
                    break;
                }
                list.push(str_at(a, &["ip"]).to_string());
            }
            continue;
        }
        for port in ports {
            count += addresses.len();
            for a in addresses {
                if list.len() == MAX {
                    more = true;
                    break;
                }
                list.push(join_host_port(str_at(a, &["ip"]), i64_at(port, &["port"])));
            }
        }
    }
    let ret = list.join(",");
    if more {
        format!("{ret} + {} more...", count.saturating_sub(MAX))
    } else {
        ret
    }
}

/// `net.JoinHostPort`: brackets hosts containing a colon (IPv6).
fn join_host_port(host: &str, port: i64) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

// ---------------------------------------------------------------------------------------------
// ReplicaSets (printReplicaSet) and Deployments (printDeployment)
// ---------------------------------------------------------------------------------------------

/// `spec.replicas`, defaulted to 1 as upstream defaulting does before storage.
fn desired_replicas(obj: &Value) -> i64 {
    at(obj, &["spec", "replicas"])
        .and_then(Value::as_i64)
        .unwrap_or(1)
}

pub fn replica_set_cells(rs: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let (names, images) =
        layout_container_cells(arr_at(rs, &["spec", "template", "spec", "containers"]));
    vec![
        json!(name(rs)),
        json!(desired_replicas(rs)),
        json!(i64_at(rs, &["status", "replicas"])),
        json!(i64_at(rs, &["status", "readyReplicas"])),
        json!(age(rs, now)),
        json!(names),
        json!(images),
        json!(format_label_selector(at(rs, &["spec", "selector"]))),
    ]
}

pub fn deployment_cells(d: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let (names, images) =
        layout_container_cells(arr_at(d, &["spec", "template", "spec", "containers"]));
    let selector = label_selector_string(at(d, &["spec", "selector"]))
        .unwrap_or_else(|()| "<invalid>".to_string());
    vec![
        json!(name(d)),
        json!(format!(
            "{}/{}",
            i64_at(d, &["status", "readyReplicas"]),
            desired_replicas(d)
        )),
        json!(i64_at(d, &["status", "updatedReplicas"])),
        json!(i64_at(d, &["status", "availableReplicas"])),
        json!(age(d, now)),
        json!(names),
        json!(images),
        json!(selector),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The columns of the served kind `key` (the default ones otherwise).
    fn column_definitions(key: &str) -> Vec<Value> {
        match crate::registry::kinds::by_key(key) {
            Some(k) => k.columns(),
            None => default_columns(),
        }
    }

    /// One row of the served kind `key` (the default cells otherwise).
    fn row_cells(key: &str, obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
        match crate::registry::kinds::by_key(key) {
            Some(k) => k.cells(obj, now),
            None => default_cells(obj),
        }
    }

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2024-01-10T12:00:00Z")
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default()
    }

    /// RFC3339 timestamp `secs` seconds before `now()`.
    fn ago(secs: i64) -> String {
        (now() - Duration::seconds(secs))
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string()
    }

    fn strs(cells: &[Value]) -> Vec<String> {
        cells
            .iter()
            .map(|c| match c {
                Value::String(s) => s.clone(),
                other => format!("#{other}"),
            })
            .collect()
    }

    fn names(cols: &[Value]) -> Vec<(String, i64)> {
        cols.iter()
            .map(|c| (str_at(c, &["name"]).to_string(), i64_at(c, &["priority"])))
            .collect()
    }

    fn pod(status: Value) -> Value {
        json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "web", "namespace": "default", "creationTimestamp": ago(3 * 3600)},
            "spec": {"containers": [{"name": "app", "image": "nginx"}]},
            "status": status,
        })
    }

    #[test]
    fn human_duration_matches_upstream() {
        let cases: &[(i64, &str)] = &[
            (-5, "<invalid>"),
            (-2, "<invalid>"),
            (-1, "0s"),
            (0, "0s"),
            (59, "59s"),
            (119, "119s"),
            (120, "2m"),
            (5 * 60 + 30, "5m30s"),
            (9 * 60 + 59, "9m59s"),
            (10 * 60 + 30, "10m"),
            (179 * 60, "179m"),
            (3 * 3600, "3h"),
            (3 * 3600 + 25 * 60, "3h25m"),
            (8 * 3600, "8h"),
            (47 * 3600 + 59 * 60, "47h"),
            (2 * 86400, "2d"),
            (2 * 86400 + 5 * 3600, "2d5h"),
            (8 * 86400, "8d"),
            (400 * 86400, "400d"),
            (730 * 86400, "2y"),
            (800 * 86400, "2y70d"),
            (8 * 365 * 86400, "8y"),
            (20 * 365 * 86400, "20y"),
        ];
        for (secs, want) in cases {
            assert_eq!(human_duration(Duration::seconds(*secs)), *want, "{secs}s");
        }
        assert_eq!(human_duration(Duration::milliseconds(-1500)), "0s");
        assert_eq!(human_duration(Duration::milliseconds(59_999)), "59s");
    }

    #[test]
    fn pod_columns() {
        let cols = column_definitions("pods");
        assert_eq!(
            names(&cols),
            [
                ("Name", 0),
                ("Ready", 0),
                ("Status", 0),
                ("Restarts", 0),
                ("Age", 0),
                ("IP", 1),
                ("Node", 1),
                ("Nominated Node", 1),
                ("Readiness Gates", 1)
            ]
            .map(|(n, p)| (n.to_string(), p))
        );
        assert_eq!(
            cols[0],
            json!({"name": "Name", "type": "string", "format": "name", "description": DESC_NAME, "priority": 0})
        );
        assert_eq!(
            cols[3],
            json!({"name": "Restarts", "type": "string", "format": "",
                   "description": "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.",
                   "priority": 0})
        );
        // key order on the wire
        let keys: Vec<&String> = cols[1]
            .as_object()
            .map(|m| m.keys().collect())
            .unwrap_or_default();
        assert_eq!(keys, ["name", "type", "format", "description", "priority"]);
    }

    #[test]
    fn pending_pod() {
        let p = pod(json!({"phase": "Pending", "podIP": ""}));
        assert_eq!(
            strs(&row_cells("pods", &p, now())),
            [
                "web", "0/1", "Pending", "0", "3h", "<none>", "<none>", "<none>", "<none>"
            ]
        );
    }

    #[test]
    fn running_ready_pod_with_restarts() {
        let mut p = pod(json!({
            "phase": "Running",
            "podIP": "10.0.0.5",
            "conditions": [{"type": "Ready", "status": "True"}],
            "containerStatuses": [{
                "name": "app", "ready": true, "restartCount": 3, "started": true,
                "state": {"running": {"startedAt": ago(300)}},
                "lastState": {"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": ago(330)}}
            }]
        }));
        p["spec"]["nodeName"] = json!("node-1");
        assert_eq!(
            strs(&row_cells("pods", &p, now())),
            [
                "web",
                "1/1",
                "Running",
                "3 (5m30s ago)",
                "3h",
                "10.0.0.5",
                "node-1",
                "<none>",
                "<none>"
            ]
        );
    }

    #[test]
    fn terminating_pod() {
        let mut p = pod(json!({
            "phase": "Running",
            "containerStatuses": [{"name": "app", "ready": true, "restartCount": 0,
                                   "state": {"running": {"startedAt": ago(100)}}}]
        }));
        p["metadata"]["deletionTimestamp"] = json!(ago(10));
        p["status"]["podIP"] = json!("10.0.0.7");
        p["status"]["podIPs"] = json!([{"ip": "10.0.0.7"}, {"ip": "fd00::7"}]);
        let cells = strs(&row_cells("pods", &p, now()));
        assert_eq!(cells[..4], ["web", "1/1", "Terminating", "0"]);
        assert_eq!(cells[5], "10.0.0.7");
    }

    #[test]
    fn completed_pod_stays_completed_when_deleted() {
        let mut p = pod(json!({
            "phase": "Succeeded",
            "containerStatuses": [{"name": "app", "ready": false, "restartCount": 0,
                "state": {"terminated": {"exitCode": 0, "reason": "Completed", "finishedAt": ago(60)}}}]
        }));
        assert_eq!(
            strs(&row_cells("pods", &p, now()))[..4],
            ["web", "0/1", "Completed", "0"]
        );
        // a terminal pod being deleted keeps its phase-derived status
        p["metadata"]["deletionTimestamp"] = json!(ago(5));
        assert_eq!(strs(&row_cells("pods", &p, now()))[2], "Completed");
    }

    #[test]
    fn crash_looping_pod() {
        let p = pod(json!({
            "phase": "Running",
            "containerStatuses": [{
                "name": "app", "ready": false, "restartCount": 5,
                "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 2m40s"}},
                "lastState": {"terminated": {"exitCode": 2, "reason": "Error", "finishedAt": ago(45)}}
            }]
        }));
        assert_eq!(
            strs(&row_cells("pods", &p, now()))[..5],
            ["web", "0/1", "CrashLoopBackOff", "5 (45s ago)", "3h"]
        );
    }

    #[test]
    fn terminated_without_reason_uses_exit_code_or_signal() {
        let p = pod(json!({"phase": "Running", "containerStatuses": [
            {"name": "app", "restartCount": 0, "state": {"terminated": {"exitCode": 137}}}]}));
        assert_eq!(strs(&row_cells("pods", &p, now()))[2], "ExitCode:137");
        let p = pod(json!({"phase": "Running", "containerStatuses": [
            {"name": "app", "restartCount": 0, "state": {"terminated": {"exitCode": 0, "signal": 9}}}]}));
        assert_eq!(strs(&row_cells("pods", &p, now()))[2], "Signal:9");
    }

    #[test]
    fn node_lost_pod() {
        let mut p = pod(json!({"phase": "Running", "reason": "NodeLost"}));
        assert_eq!(strs(&row_cells("pods", &p, now()))[2], "NodeLost");
        p["metadata"]["deletionTimestamp"] = json!(ago(5));
        assert_eq!(strs(&row_cells("pods", &p, now()))[2], "Unknown");
    }

    #[test]
    fn init_container_states() {
        let mut p = pod(json!({
            "phase": "Pending",
            "initContainerStatuses": [
                {"name": "init-a", "restartCount": 0, "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}},
                {"name": "init-b", "restartCount": 0, "state": {"running": {}}}
            ],
            "containerStatuses": [{"name": "app", "restartCount": 0, "state": {"waiting": {"reason": "PodInitializing"}}}]
        }));
        p["spec"]["initContainers"] = json!([{"name": "init-a"}, {"name": "init-b"}]);
        assert_eq!(
            strs(&row_cells("pods", &p, now()))[..4],
            ["web", "0/1", "Init:1/2", "0"]
        );

        p["status"]["initContainerStatuses"][1]["state"] =
            json!({"waiting": {"reason": "ImagePullBackOff"}});
        assert_eq!(
            strs(&row_cells("pods", &p, now()))[2],
            "Init:ImagePullBackOff"
        );

        p["status"]["initContainerStatuses"][1]["state"] =
            json!({"terminated": {"exitCode": 1, "reason": "Error"}});
        p["status"]["initContainerStatuses"][1]["restartCount"] = json!(2);
        p["status"]["initContainerStatuses"][1]["lastState"] =
            json!({"terminated": {"exitCode": 1, "finishedAt": ago(90)}});
        assert_eq!(
            strs(&row_cells("pods", &p, now()))[2..4],
            ["Init:Error", "2 (90s ago)"]
        );

        p["status"]["initContainerStatuses"][1]["state"] = json!({"terminated": {"exitCode": 3}});
        assert_eq!(strs(&row_cells("pods", &p, now()))[2], "Init:ExitCode:3");
    }

    #[test]
    fn sidecar_counts_in_ready_and_total() {
        let mut p = pod(json!({
            "phase": "Running",
            "conditions": [{"type": "Initialized", "status": "True"}, {"type": "Ready", "status": "True"}],
            "initContainerStatuses": [{"name": "proxy", "ready": true, "started": true, "restartCount": 1,
                "state": {"running": {}},
                "lastState": {"terminated": {"exitCode": 1, "finishedAt": ago(600)}}}],
            "containerStatuses": [{"name": "app", "ready": true, "restartCount": 0, "state": {"running": {}}}]
        }));
        p["spec"]["initContainers"] = json!([{"name": "proxy", "restartPolicy": "Always"}]);
        assert_eq!(
            strs(&row_cells("pods", &p, now()))[..4],
            ["web", "2/2", "Running", "1 (10m ago)"]
        );
    }

    #[test]
    fn completed_with_running_container_and_gates_and_scheduling_gated() {
        let mut p = pod(json!({
            "phase": "Running",
            "conditions": [{"type": "Ready", "status": "False"}, {"type": "example.com/gate", "status": "True"}],
            "containerStatuses": [
                {"name": "a", "ready": true, "restartCount": 0, "state": {"running": {}}},
                {"name": "b", "ready": false, "restartCount": 0, "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}
            ]
        }));
        p["spec"]["containers"] = json!([{"name": "a"}, {"name": "b"}]);
        p["spec"]["readinessGates"] =
            json!([{"conditionType": "example.com/gate"}, {"conditionType": "example.com/other"}]);
        let cells = strs(&row_cells("pods", &p, now()));
        assert_eq!(cells[1..3], ["1/2", "NotReady"]);
        assert_eq!(cells[8], "1/2");

        let p = pod(json!({"phase": "Pending",
            "conditions": [{"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}]}));
        assert_eq!(strs(&row_cells("pods", &p, now()))[2], "SchedulingGated");
    }

    #[test]
    fn deployment_2_of_3() {
        let d = json!({
            "metadata": {"name": "web", "creationTimestamp": ago(2 * 86400 + 3600)},
            "spec": {
                "replicas": 3,
                "selector": {"matchLabels": {"app": "web", "tier": "fe"},
                             "matchExpressions": [{"key": "env", "operator": "In", "values": ["prod", "dev"]}]},
                "template": {"spec": {"containers": [{"name": "nginx", "image": "nginx:1.27"}, {"name": "side", "image": "busybox"}]}}
            },
            "status": {"replicas": 3, "updatedReplicas": 3, "readyReplicas": 2, "availableReplicas": 2}
        });
        let cells = row_cells("apps/deployments", &d, now());
        assert_eq!(
            cells,
            vec![
                json!("web"),
                json!("2/3"),
                json!(3),
                json!(2),
                json!("2d1h"),
                json!("nginx,side"),
                json!("nginx:1.27,busybox"),
                json!("app=web,env in (dev,prod),tier=fe"),
            ]
        );
        assert_eq!(
            names(&column_definitions("apps/deployments")),
            [
                ("Name", 0),
                ("Ready", 0),
                ("Up-to-date", 0),
                ("Available", 0),
                ("Age", 0),
                ("Containers", 1),
                ("Images", 1),
                ("Selector", 1)
            ]
            .map(|(n, p)| (n.to_string(), p))
        );
    }

    #[test]
    fn replicaset_and_selectors() {
        let rs = json!({
            "metadata": {"name": "web-5d7f", "creationTimestamp": ago(30)},
            "spec": {"replicas": 2, "selector": {"matchExpressions": [
                        {"key": "b", "operator": "NotIn", "values": ["y", "x"]},
                        {"key": "a", "operator": "Exists"},
                        {"key": "c", "operator": "DoesNotExist"}]},
                     "template": {"spec": {"containers": [{"name": "app", "image": "img"}]}}},
            "status": {"replicas": 2, "readyReplicas": 1}
        });
        assert_eq!(
            row_cells("apps/replicasets", &rs, now()),
            vec![
                json!("web-5d7f"),
                json!(2),
                json!(2),
                json!(1),
                json!("30s"),
                json!("app"),
                json!("img"),
                json!("a,b notin (x,y),!c")
            ]
        );
        assert_eq!(format_label_selector(None), "<none>");
        assert_eq!(format_label_selector(Some(&json!({}))), "<none>");
        assert_eq!(
            format_label_selector(Some(
                &json!({"matchExpressions": [{"key": "a", "operator": "In", "values": []}]})
            )),
            "<error>"
        );
        assert_eq!(
            format_label_selector(Some(
                &json!({"matchExpressions": [{"key": "a", "operator": "Bogus"}]})
            )),
            "<error>"
        );
        let bad = json!({"metadata": {"name": "d"}, "spec": {"selector": {"matchLabels": {"bad key": "x"}}}});
        assert_eq!(
            row_cells("apps/deployments", &bad, now())[7],
            json!("<invalid>")
        );
        let empty = json!({"metadata": {"name": "d"}, "spec": {"selector": {}}});
        assert_eq!(row_cells("apps/deployments", &empty, now())[7], json!(""));
        assert_eq!(
            row_cells("apps/deployments", &empty, now())[1],
            json!("0/1")
        );
    }

    #[test]
    fn control_plane_node() {
        let n = json!({
            "metadata": {"name": "cp-1", "creationTimestamp": ago(400 * 86400),
                         "labels": {"kubernetes.io/hostname": "cp-1",
                                    "node-role.kubernetes.io/control-plane": "",
                                    "node-role.kubernetes.io/": "",
                                    "kubernetes.io/role": "master"}},
            "spec": {},
            "status": {
                "conditions": [{"type": "MemoryPressure", "status": "False"}, {"type": "Ready", "status": "True"}],
                "addresses": [{"type": "InternalIP", "address": "192.168.1.10"}, {"type": "Hostname", "address": "cp-1"}],
                "nodeInfo": {"kubeletVersion": "v1.32.0", "osImage": "Debian GNU/Linux 12 (bookworm)",
                             "kernelVersion": "6.1.0-18-amd64", "containerRuntimeVersion": "containerd://1.7.13"}
            }
        });
        assert_eq!(
            strs(&row_cells("nodes", &n, now())),
            [
                "cp-1",
                "Ready",
                "control-plane,master",
                "400d",
                "v1.32.0",
                "192.168.1.10",
                "<none>",
                "Debian GNU/Linux 12 (bookworm)",
                "6.1.0-18-amd64",
                "containerd://1.7.13"
            ]
        );
        let n2 = json!({"metadata": {"name": "w"}, "spec": {"unschedulable": true},
                        "status": {"conditions": [{"type": "Ready", "status": "Unknown"}]}});
        assert_eq!(
            strs(&row_cells("nodes", &n2, now())),
            [
                "w",
                "NotReady,SchedulingDisabled",
                "<none>",
                "<unknown>",
                "",
                "<none>",
                "<none>",
                "<unknown>",
                "<unknown>",
                "<unknown>"
            ]
        );
        let n3 = json!({"metadata": {"name": "x"}});
        assert_eq!(strs(&row_cells("nodes", &n3, now()))[1], "Unknown");
    }

    #[test]
    fn secret_configmap_serviceaccount_namespace_lease() {
        let s = json!({"metadata": {"name": "creds", "creationTimestamp": ago(59)},
                       "type": "Opaque", "data": {"user": "YQ==", "pass": "Yg=="}});
        assert_eq!(
            row_cells("secrets", &s, now()),
            vec![json!("creds"), json!("Opaque"), json!(2), json!("59s")]
        );
        let cm = json!({"metadata": {"name": "cfg", "creationTimestamp": ago(120)},
                        "data": {"a": "1"}, "binaryData": {"b": "AA==", "c": "AA=="}});
        assert_eq!(
            row_cells("configmaps", &cm, now()),
            vec![json!("cfg"), json!(3), json!("2m")]
        );
        let untyped = json!({"metadata": {"name": "s"}});
        assert_eq!(
            row_cells("secrets", &untyped, now())[1..3],
            [json!("Opaque"), json!(0)]
        );
        let ns_new = json!({"metadata": {"name": "n"}});
        assert_eq!(row_cells("namespaces", &ns_new, now())[1], json!("Active"));
        let sa = json!({"metadata": {"name": "default"}, "secrets": [{"name": "t"}]});
        assert_eq!(
            row_cells("serviceaccounts", &sa, now()),
            vec![json!("default"), json!(1), json!("<unknown>")]
        );
        let ns = json!({"metadata": {"name": "kube-system", "creationTimestamp": ago(3600)}, "status": {"phase": "Active"}});
        assert_eq!(
            row_cells("namespaces", &ns, now()),
            vec![json!("kube-system"), json!("Active"), json!("60m")]
        );
        let lease = json!({"metadata": {"name": "kube-scheduler", "creationTimestamp": ago(90 * 60)},
                           "spec": {"holderIdentity": "cp-1_4f2a", "leaseDurationSeconds": 15}});
        assert_eq!(
            row_cells("coordination.k8s.io/leases", &lease, now()),
            vec![json!("kube-scheduler"), json!("cp-1_4f2a"), json!("90m")]
        );
        let free = json!({"metadata": {"name": "l"}, "spec": {}});
        assert_eq!(
            row_cells("coordination.k8s.io/leases", &free, now())[1],
            json!("")
        );
        assert_eq!(
            names(&column_definitions("secrets")),
            [("Name", 0), ("Type", 0), ("Data", 0), ("Age", 0)].map(|(n, p)| (n.to_string(), p))
        );
    }

    #[test]
    fn core_events() {
        let cols = column_definitions("events");
        assert_eq!(
            names(&cols),
            [
                ("Last Seen", 0),
                ("Type", 0),
                ("Reason", 0),
                ("Object", 0),
                ("Subobject", 1),
                ("Source", 1),
                ("Message", 0),
                ("First Seen", 1),
                ("Count", 1),
                ("Name", 1)
            ]
            .map(|(n, p)| (n.to_string(), p))
        );
        assert_eq!(str_at(&cols[9], &["format"]), "name");
        let e = json!({
            "metadata": {"name": "web.17a", "namespace": "default"},
            "involvedObject": {"kind": "Pod", "name": "web", "fieldPath": "spec.containers{app}"},
            "reason": "BackOff", "type": "Warning",
            "message": "Back-off restarting failed container\n",
            "source": {"component": "kubelet", "host": "node-1"},
            "firstTimestamp": ago(3600), "lastTimestamp": ago(75), "count": 12
        });
        assert_eq!(
            row_cells("events", &e, now()),
            vec![
                json!("75s"),
                json!("Warning"),
                json!("BackOff"),
                json!("pod/web"),
                json!("spec.containers{app}"),
                json!("kubelet, node-1"),
                json!("Back-off restarting failed container"),
                json!("60m"),
                json!(12),
                json!("web.17a")
            ]
        );
        // new-style event: eventTime only, reportingComponent, no count, no involved name
        let e2 = json!({
            "metadata": {"name": "n.1"},
            "involvedObject": {"kind": "Node"},
            "reason": "Starting", "type": "Normal", "message": "Starting kubelet.",
            "eventTime": "2024-01-10T11:59:30.123456Z",
            "reportingComponent": "kubelet", "reportingInstance": ""
        });
        assert_eq!(
            strs(&row_cells("events", &e2, now())),
            [
                "29s",
                "Normal",
                "Starting",
                "node",
                "",
                "kubelet",
                "Starting kubelet.",
                "29s",
                "#1",
                "n.1"
            ]
        );
        // series overrides last seen and count
        let e3 = json!({"metadata": {"name": "s"}, "involvedObject": {"kind": "Pod", "name": "p"},
                        "eventTime": ago(600), "series": {"count": 7, "lastObservedTime": ago(5)}});
        let c3 = strs(&row_cells("events", &e3, now()));
        assert_eq!(
            [c3[0].as_str(), c3[7].as_str(), c3[8].as_str()],
            ["5s", "10m", "#7"]
        );
        let none = json!({"metadata": {"name": "z"}});
        assert_eq!(strs(&row_cells("events", &none, now()))[0], "<unknown>");
    }

    #[test]
    fn events_k8s_io_events() {
        assert_eq!(
            column_definitions("events.k8s.io/events"),
            column_definitions("events")
        );
        let e = json!({
            "apiVersion": "events.k8s.io/v1", "kind": "Event",
            "metadata": {"name": "web.1"},
            "eventTime": ago(200),
            "reportingController": "default-scheduler", "reportingInstance": "default-scheduler-cp-1",
            "action": "Binding", "reason": "Scheduled", "type": "Normal",
            "regarding": {"kind": "Pod", "name": "web", "namespace": "default"},
            "note": "Successfully assigned default/web to node-1"
        });
        assert_eq!(
            row_cells("events.k8s.io/events", &e, now()),
            vec![
                json!("3m20s"),
                json!("Normal"),
                json!("Scheduled"),
                json!("pod/web"),
                json!(""),
                json!("default-scheduler, default-scheduler-cp-1"),
                json!("Successfully assigned default/web to node-1"),
                json!("3m20s"),
                json!(1),
                json!("web.1")
            ]
        );
    }

    #[test]
    fn services_and_endpoints() {
        let svc = json!({"metadata": {"name": "kubernetes", "creationTimestamp": ago(86400)},
            "spec": {"type": "ClusterIP", "clusterIP": "10.96.0.1", "clusterIPs": ["10.96.0.1"],
                     "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}]}});
        assert_eq!(
            strs(&row_cells("services", &svc, now())),
            [
                "kubernetes",
                "ClusterIP",
                "10.96.0.1",
                "<none>",
                "443/TCP",
                "24h",
                "<none>"
            ]
        );
        let np = json!({"metadata": {"name": "np"},
            "spec": {"type": "NodePort", "clusterIPs": ["10.96.5.5"], "selector": {"tier": "fe", "app": "web"},
                     "ports": [{"port": 80, "nodePort": 30080, "protocol": "TCP"}, {"port": 53, "protocol": "UDP"}]}});
        assert_eq!(
            strs(&row_cells("services", &np, now())),
            [
                "np",
                "NodePort",
                "10.96.5.5",
                "<none>",
                "80:30080/TCP,53/UDP",
                "<unknown>",
                "app=web,tier=fe"
            ]
        );
        let lb = json!({"metadata": {"name": "lb"},
            "spec": {"type": "LoadBalancer", "clusterIPs": ["10.96.9.9"], "externalIPs": ["1.2.3.4"]},
            "status": {"loadBalancer": {"ingress": [{"hostname": "z.example.com"}, {"ip": "5.6.7.8"}]}}});
        assert_eq!(
            strs(&row_cells("services", &lb, now()))[3..5],
            ["5.6.7.8,z.example.com,1.2.3.4", "<none>"]
        );
        let legacy = json!({"metadata": {"name": "l"}, "spec": {"clusterIP": "10.96.1.1"}});
        assert_eq!(
            strs(&row_cells("services", &legacy, now()))[1..3],
            ["ClusterIP", "10.96.1.1"]
        );
        let pending = json!({"metadata": {"name": "lb"}, "spec": {"type": "LoadBalancer"}});
        assert_eq!(
            strs(&row_cells("services", &pending, now()))[2..4],
            ["<none>", "<pending>"]
        );
        let ext = json!({"metadata": {"name": "e"}, "spec": {"type": "ExternalName", "externalName": "db.example.com"}});
        assert_eq!(
            strs(&row_cells("services", &ext, now()))[3],
            "db.example.com"
        );

        let ep = json!({"metadata": {"name": "web", "creationTimestamp": ago(60)}, "subsets": [
            {"addresses": [{"ip": "10.1.0.1"}, {"ip": "fd00::2"}], "ports": [{"port": 80}, {"port": 443}]}]});
        assert_eq!(
            strs(&row_cells("endpoints", &ep, now())),
            [
                "web",
                "10.1.0.1:80,[fd00::2]:80,10.1.0.1:443 + 1 more...",
                "60s"
            ]
        );
        let headless =
            json!({"metadata": {"name": "h"}, "subsets": [{"addresses": [{"ip": "10.1.0.9"}]}]});
        assert_eq!(
            strs(&row_cells("endpoints", &headless, now()))[1],
            "10.1.0.9"
        );
        let none = json!({"metadata": {"name": "n"}});
        assert_eq!(strs(&row_cells("endpoints", &none, now()))[1], "<none>");
    }

    #[test]
    fn default_table_convertor() {
        let cols = column_definitions("rbac.authorization.k8s.io/roles");
        assert_eq!(
            cols,
            vec![
                json!({"name": "Name", "type": "string", "format": "name", "description": DESC_NAME, "priority": 0}),
                json!({"name": "Created At", "type": "date", "format": "", "description": DESC_CREATION_TIMESTAMP, "priority": 0}),
            ]
        );
        let obj =
            json!({"metadata": {"name": "r", "creationTimestamp": "2024-01-02T03:04:05+02:00"}});
        assert_eq!(
            row_cells("rbac.authorization.k8s.io/roles", &obj, now()),
            vec![json!("r"), json!("2024-01-02T01:04:05Z")]
        );
        assert_eq!(
            row_cells("x/y", &json!({}), now()),
            vec![json!(""), json!("0001-01-01T00:00:00Z")]
        );
    }

    #[test]
    fn garbage_input_does_not_panic() {
        let junk = [
            json!(null),
            json!(42),
            json!("x"),
            json!([1, 2]),
            json!({"metadata": 5, "spec": [], "status": "bad"}),
        ];
        let keys = [
            "pods",
            "namespaces",
            "nodes",
            "secrets",
            "configmaps",
            "serviceaccounts",
            "events",
            "events.k8s.io/events",
            "services",
            "endpoints",
            "apps/replicasets",
            "apps/deployments",
            "coordination.k8s.io/leases",
            "other",
        ];
        for key in keys {
            let width = column_definitions(key).len();
            for j in &junk {
                assert_eq!(row_cells(key, j, now()).len(), width, "{key}");
            }
        }
    }
}
