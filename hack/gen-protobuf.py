#!/usr/bin/env python3
"""Generate openapi/protobuf.json, the field table ironkube uses to decode
Kubernetes protobuf request bodies (`application/vnd.kubernetes.protobuf`).

Inputs:

  * the Rust sources of the crate `k8s-pb` 0.9.0 (Apache-2.0), which prost
    generated from upstream's `generated.proto` files: each field's
    `#[prost(...)]` attribute gives its tag, protobuf type and whether it is
    optional, repeated or a map, and the Rust type gives the message type;
    structs list fields in the order of the proto message (= Go struct order,
    = upstream's JSON key order);
  * `openapi/v2.json`, which gives each field's exact JSON name (k8s-pb's
    field names are snake_case of it: `host_ipc` is `hostIPC`) and which fields
    are required (Go fields without `omitempty`).

  * two small tables kept by hand in this script, because neither input says
    which Go fields are pointers (POINTERS) and which optional fields lack
    `omitempty` (NO_OMITEMPTY). Go's protobuf marshaller writes every
    non-pointer field, zero values included, so the decoder needs them to
    reproduce Go's JSON (the JSON body kubectl sends in JSON mode).

k8s-pb 0.9.0 is a little newer than the OpenAPI document (Kubernetes 1.33):
fields missing from it get the lowerCamelCase of their snake_case name and are
listed as warnings. Embedded Go structs (`json:",inline"`) are detected by
their fields appearing in the parent's OpenAPI properties.

Only the generator reads k8s-pb; ironkube itself never depends on k8s-pb or
prost.

Output format (compact JSON, deterministic):

  {
    "kinds":    {"<apiVersion>/<Kind>" or "*/<Kind>": "<proto message>"},
    "messages": {"<proto message>": [[tag, jsonName, type, flags, message], ...]}
  }

  type:  "string" | "bool" | "int32" | "int64" | "double" | "bytes" | "message"
         (for a map: the value type; keys are always strings)
  flags: 1 = repeated, 2 = map, 4 = required (the Go field has no `omitempty`:
         its zero value is kept in JSON), 8 = pointer (an optional scalar whose Go
         field is a pointer: an explicitly sent zero value is kept in JSON),
         16 = inline (an embedded Go struct: its fields go into this object;
         jsonName is "")
  message: the proto message name of a message-typed field, else "".

Messages with their own JSON form (meta/v1 Time, MicroTime, Duration,
FieldsV1, resource.Quantity, intstr.IntOrString, runtime.RawExtension,
authentication/v1 ExtraValue) are not listed: the decoder knows them by name.

Usage (from the repository root):

    python3 hack/gen-protobuf.py                 # finds k8s-pb-0.9.0 in ~/.cargo/registry/src
    python3 hack/gen-protobuf.py --source DIR    # DIR is an unpacked k8s-pb-0.9.0

If the crate is not in the cargo registry, `cargo fetch` in any crate that
depends on `k8s-pb = "=0.9.0"` puts it there.
"""

import argparse
import glob
import json
import os
import re
import sys

K8S_PB = "k8s-pb-0.9.0"

# (apiVersion, Kind, k8s-pb module path of the message)
ROOTS = [
    ("v1", "Namespace", "api.core.v1"),
    ("v1", "Pod", "api.core.v1"),
    ("v1", "Secret", "api.core.v1"),
    ("v1", "ConfigMap", "api.core.v1"),
    ("v1", "ServiceAccount", "api.core.v1"),
    ("v1", "Service", "api.core.v1"),
    ("v1", "Endpoints", "api.core.v1"),
    ("v1", "Event", "api.core.v1"),
    ("v1", "Node", "api.core.v1"),
    ("v1", "Binding", "api.core.v1"),
    ("apps/v1", "Deployment", "api.apps.v1"),
    ("apps/v1", "ReplicaSet", "api.apps.v1"),
    ("apps/v1", "StatefulSet", "api.apps.v1"),
    ("apps/v1", "DaemonSet", "api.apps.v1"),
    ("apps/v1", "ControllerRevision", "api.apps.v1"),
    ("v1", "ReplicationController", "api.core.v1"),
    ("batch/v1", "Job", "api.batch.v1"),
    ("batch/v1", "CronJob", "api.batch.v1"),
    ("policy/v1", "PodDisruptionBudget", "api.policy.v1"),
    # pods/eviction accepts policy/v1 and policy/v1beta1 bodies (kubectl
    # drain sends v1, older clients v1beta1).
    ("policy/v1", "Eviction", "api.policy.v1"),
    ("policy/v1beta1", "Eviction", "api.policy.v1beta1"),
    ("scheduling.k8s.io/v1", "PriorityClass", "api.scheduling.v1"),
    ("autoscaling/v1", "HorizontalPodAutoscaler", "api.autoscaling.v1"),
    ("autoscaling/v2", "HorizontalPodAutoscaler", "api.autoscaling.v2"),
    ("autoscaling/v1", "Scale", "api.autoscaling.v1"),
    ("coordination.k8s.io/v1", "Lease", "api.coordination.v1"),
    ("events.k8s.io/v1", "Event", "api.events.v1"),
    ("authentication.k8s.io/v1", "TokenRequest", "api.authentication.v1"),
    ("authentication.k8s.io/v1", "TokenReview", "api.authentication.v1"),
    ("authentication.k8s.io/v1", "SelfSubjectReview", "api.authentication.v1"),
    ("authorization.k8s.io/v1", "LocalSubjectAccessReview", "api.authorization.v1"),
    ("authorization.k8s.io/v1", "SelfSubjectAccessReview", "api.authorization.v1"),
    ("authorization.k8s.io/v1", "SelfSubjectRulesReview", "api.authorization.v1"),
    ("authorization.k8s.io/v1", "SubjectAccessReview", "api.authorization.v1"),
    ("rbac.authorization.k8s.io/v1", "Role", "api.rbac.v1"),
    ("rbac.authorization.k8s.io/v1", "ClusterRole", "api.rbac.v1"),
    ("rbac.authorization.k8s.io/v1", "RoleBinding", "api.rbac.v1"),
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", "api.rbac.v1"),
    # meta kinds are registered in every group version (metav1.AddToGroupVersion),
    # so clients send them with their own group's apiVersion: "*" matches any.
    ("*", "DeleteOptions", "apimachinery.pkg.apis.meta.v1"),
    ("*", "Status", "apimachinery.pkg.apis.meta.v1"),
]

META = "k8s.io.apimachinery.pkg.apis.meta.v1."
# Messages whose JSON form is not an object of their fields.
SPECIAL = {
    META + "Time",
    META + "MicroTime",
    META + "Duration",
    META + "FieldsV1",
    "k8s.io.apimachinery.pkg.api.resource.Quantity",
    "k8s.io.apimachinery.pkg.util.intstr.IntOrString",
    "k8s.io.apimachinery.pkg.runtime.RawExtension",
}

# Optional scalar fields whose Go type is a pointer (`*int32`, `*bool`,
# `*string`, `*int64`), per the upstream `types.go` files of Kubernetes 1.33.
# The Go protobuf marshaller always writes non-pointer fields (zero values
# included) and a pointer field only when it is set, and Go's JSON encoder
# drops zero-valued `omitempty` non-pointer fields; so an explicit zero is kept
# only for these fields. Keyed by the OpenAPI definition name.
POINTERS = {
    "io.k8s.api.rbac.v1.ClusterRole": ["aggregationRule"],
    "io.k8s.api.apps.v1.DeploymentSpec": [
        "replicas", "revisionHistoryLimit", "progressDeadlineSeconds"],
    "io.k8s.api.apps.v1.DeploymentStatus": ["collisionCount", "terminatingReplicas"],
    "io.k8s.api.apps.v1.ReplicaSetSpec": ["replicas"],
    "io.k8s.api.apps.v1.ReplicaSetStatus": ["terminatingReplicas"],
    "io.k8s.api.authentication.v1.TokenRequestSpec": ["expirationSeconds"],
    "io.k8s.api.apps.v1.StatefulSetSpec": ["replicas", "revisionHistoryLimit"],
    "io.k8s.api.apps.v1.StatefulSetStatus": ["collisionCount"],
    "io.k8s.api.apps.v1.RollingUpdateStatefulSetStrategy": ["partition"],
    "io.k8s.api.apps.v1.DaemonSetSpec": ["revisionHistoryLimit"],
    "io.k8s.api.apps.v1.DaemonSetStatus": ["collisionCount"],
    "io.k8s.api.core.v1.ReplicationControllerSpec": ["replicas"],
    "io.k8s.api.batch.v1.JobSpec": [
        "parallelism", "completions", "activeDeadlineSeconds", "backoffLimit",
        "backoffLimitPerIndex", "maxFailedIndexes", "manualSelector",
        "ttlSecondsAfterFinished", "completionMode", "suspend", "podReplacementPolicy",
        "managedBy"],
    "io.k8s.api.batch.v1.JobStatus": ["ready", "failedIndexes", "terminating"],
    "io.k8s.api.batch.v1.PodFailurePolicyOnExitCodesRequirement": ["containerName"],
    "io.k8s.api.batch.v1.SuccessPolicyRule": ["succeededIndexes", "succeededCount"],
    "io.k8s.api.batch.v1.CronJobSpec": [
        "timeZone", "startingDeadlineSeconds", "suspend", "successfulJobsHistoryLimit",
        "failedJobsHistoryLimit"],
    "io.k8s.api.policy.v1.PodDisruptionBudgetSpec": ["unhealthyPodEvictionPolicy"],
    "io.k8s.api.scheduling.v1.PriorityClass": ["preemptionPolicy"],
    "io.k8s.api.autoscaling.v1.HorizontalPodAutoscalerSpec": [
        "minReplicas", "targetCPUUtilizationPercentage"],
    "io.k8s.api.autoscaling.v1.HorizontalPodAutoscalerStatus": [
        "observedGeneration", "currentCPUUtilizationPercentage"],
    "io.k8s.api.autoscaling.v2.HorizontalPodAutoscalerSpec": ["minReplicas"],
    "io.k8s.api.autoscaling.v2.HorizontalPodAutoscalerStatus": ["observedGeneration"],
    "io.k8s.api.autoscaling.v2.HPAScalingRules": ["stabilizationWindowSeconds", "selectPolicy"],
    "io.k8s.api.autoscaling.v2.MetricTarget": ["averageUtilization"],
    "io.k8s.api.autoscaling.v2.MetricValueStatus": ["averageUtilization"],
    "io.k8s.api.coordination.v1.LeaseSpec": [
        "holderIdentity", "leaseDurationSeconds", "leaseTransitions",
        "strategy", "preferredHolder"],
    "io.k8s.api.core.v1.AzureDiskVolumeSource": [
        "cachingMode", "fsType", "readOnly", "kind"],
    "io.k8s.api.core.v1.CSIVolumeSource": ["readOnly", "fsType"],
    "io.k8s.api.core.v1.CephFSVolumeSource": [],
    "io.k8s.api.core.v1.ClientIPConfig": ["timeoutSeconds"],
    "io.k8s.api.core.v1.ClusterTrustBundleProjection": [
        "name", "signerName", "optional"],
    "io.k8s.api.core.v1.ConfigMapEnvSource": ["optional"],
    "io.k8s.api.core.v1.ConfigMapKeySelector": ["optional"],
    "io.k8s.api.core.v1.ConfigMapNodeConfigSource": [],
    "io.k8s.api.core.v1.ConfigMapProjection": ["optional"],
    "io.k8s.api.core.v1.ConfigMapVolumeSource": ["defaultMode", "optional"],
    "io.k8s.api.core.v1.ContainerStatus": ["started", "stopSignal"],
    "io.k8s.api.core.v1.Container": ["restartPolicy"],
    "io.k8s.api.core.v1.ContainerState": [],
    "io.k8s.api.core.v1.DownwardAPIVolumeFile": ["mode"],
    "io.k8s.api.core.v1.DownwardAPIVolumeSource": ["defaultMode"],
    "io.k8s.api.core.v1.EmptyDirVolumeSource": [],
    "io.k8s.api.core.v1.EndpointAddress": ["nodeName"],
    "io.k8s.api.core.v1.EndpointPort": ["appProtocol"],
    "io.k8s.api.core.v1.EphemeralContainer": ["restartPolicy"],
    "io.k8s.api.core.v1.EventSeries": [],
    "io.k8s.api.core.v1.FCVolumeSource": ["lun"],
    "io.k8s.api.core.v1.GRPCAction": ["service"],
    "io.k8s.api.core.v1.HostPathVolumeSource": ["type"],
    "io.k8s.api.core.v1.ISCSIVolumeSource": ["initiatorName"],
    "io.k8s.api.core.v1.KeyToPath": ["mode"],
    "io.k8s.api.core.v1.LoadBalancerIngress": ["ipMode"],
    "io.k8s.api.core.v1.NodeFeatures": ["supplementalGroupsPolicy"],
    "io.k8s.api.core.v1.NodeStatus": [],
    "io.k8s.api.core.v1.NodeSwapStatus": ["capacity"],
    "io.k8s.api.core.v1.PersistentVolumeClaimSpec": [
        "storageClassName", "volumeMode", "volumeAttributesClassName"],
    "io.k8s.api.core.v1.PodAffinityTerm": [],
    "io.k8s.api.core.v1.PodDNSConfigOption": ["value"],
    "io.k8s.api.core.v1.PodResourceClaim": [
        "resourceClaimName", "resourceClaimTemplateName"],
    "io.k8s.api.core.v1.PodResourceClaimStatus": ["resourceClaimName"],
    "io.k8s.api.core.v1.PodSecurityContext": [
        "runAsUser", "runAsGroup", "runAsNonRoot", "fsGroup",
        "fsGroupChangePolicy", "supplementalGroupsPolicy", "seLinuxChangePolicy"],
    "io.k8s.api.core.v1.PodSpec": [
        "hostnameOverride", "terminationGracePeriodSeconds", "activeDeadlineSeconds",
        "automountServiceAccountToken", "shareProcessNamespace", "priority",
        "runtimeClassName", "enableServiceLinks", "preemptionPolicy",
        "setHostnameAsFQDN", "hostUsers"],
    "io.k8s.api.core.v1.PortStatus": ["error"],
    "io.k8s.api.core.v1.PortworxVolumeSource": [],
    "io.k8s.api.core.v1.Probe": ["terminationGracePeriodSeconds"],
    "io.k8s.api.core.v1.ProjectedVolumeSource": ["defaultMode"],
    "io.k8s.api.core.v1.ScaleIOVolumeSource": [],
    "io.k8s.api.core.v1.SeccompProfile": ["localhostProfile"],
    "io.k8s.api.core.v1.AppArmorProfile": ["localhostProfile"],
    "io.k8s.api.core.v1.Secret": ["immutable"],
    "io.k8s.api.core.v1.ConfigMap": ["immutable"],
    "io.k8s.api.core.v1.SecretEnvSource": ["optional"],
    "io.k8s.api.core.v1.SecretKeySelector": ["optional"],
    "io.k8s.api.core.v1.SecretProjection": ["optional"],
    "io.k8s.api.core.v1.SecretVolumeSource": ["defaultMode", "optional"],
    "io.k8s.api.core.v1.SecurityContext": [
        "privileged", "runAsUser", "runAsGroup", "runAsNonRoot",
        "readOnlyRootFilesystem", "allowPrivilegeEscalation", "procMount"],
    "io.k8s.api.core.v1.ServiceAccount": ["automountServiceAccountToken"],
    "io.k8s.api.core.v1.ServiceAccountTokenProjection": ["expirationSeconds"],
    "io.k8s.api.core.v1.ServicePort": ["appProtocol"],
    "io.k8s.api.core.v1.ServiceSpec": [
        "ipFamilyPolicy", "allocateLoadBalancerNodePorts", "loadBalancerClass",
        "internalTrafficPolicy", "trafficDistribution"],
    "io.k8s.api.core.v1.StorageOSVolumeSource": [],
    "io.k8s.api.core.v1.TopologySpreadConstraint": [
        "minDomains", "nodeAffinityPolicy", "nodeTaintsPolicy"],
    "io.k8s.api.core.v1.Toleration": ["tolerationSeconds"],
    "io.k8s.api.core.v1.TypedLocalObjectReference": ["apiGroup"],
    "io.k8s.api.core.v1.TypedObjectReference": ["apiGroup", "namespace"],
    "io.k8s.api.core.v1.VolumeMount": ["mountPropagation", "recursiveReadOnly"],
    "io.k8s.api.core.v1.VolumeMountStatus": ["recursiveReadOnly"],
    "io.k8s.api.core.v1.WindowsSecurityContextOptions": [
        "gmsaCredentialSpecName", "gmsaCredentialSpec", "runAsUserName",
        "hostProcess"],
    "io.k8s.api.core.v1.ResourceHealth": [],
    "io.k8s.api.core.v1.Lifecycle": ["stopSignal"],
    "io.k8s.api.core.v1.NodeRuntimeHandlerFeatures": [
        "recursiveReadOnlyMounts", "userNamespaces"],
    # newer than the OpenAPI document (keyed by their would-be definition name)
    "io.k8s.api.core.v1.FileKeySelector": ["optional"],
    "io.k8s.api.core.v1.PodCertificateProjection": ["maxExpirationSeconds"],
    "io.k8s.api.core.v1.ImageVolumeSource": [],
    "io.k8s.api.core.v1.LinuxContainerUser": [],
    "io.k8s.api.core.v1.Taint": [],
    "io.k8s.api.core.v1.ContainerResizePolicy": [],
    "io.k8s.api.events.v1.Event": [],
    "io.k8s.api.autoscaling.v1.ScaleSpec": [],
    "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions": [
        "gracePeriodSeconds", "orphanDependents", "propagationPolicy",
        "ignoreStoreReadErrorWithClusterBreakingPotential"],
    "io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta": ["remainingItemCount"],
    "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta": [
        "deletionGracePeriodSeconds"],
    "io.k8s.apimachinery.pkg.apis.meta.v1.OwnerReference": [
        "controller", "blockOwnerDeletion"],
    "io.k8s.apimachinery.pkg.apis.meta.v1.Preconditions": [
        "uid", "resourceVersion"],
}

# authentication/v1 ExtraValue is `type ExtraValue []string`: a JSON array.
EXTRA_VALUE = ".ExtraValue"

# Optional fields (not required in OpenAPI) whose Go field still has no
# `omitempty`, so Go's JSON keeps their zero value.
NO_OMITEMPTY = {
    "io.k8s.api.core.v1.Event": ["reportingComponent", "reportingInstance"],
    "io.k8s.api.authentication.v1.TokenRequestSpec": ["boundObjectRef"],
    "io.k8s.api.apps.v1.StatefulSetStatus": ["availableReplicas"],
    "io.k8s.api.autoscaling.v2.HorizontalPodAutoscalerStatus": ["currentMetrics"],
}

SCALARS = {"string", "bool", "int32", "int64", "double", "bytes"}


def find_source(arg):
    if arg:
        return arg
    home = os.path.expanduser("~")
    hits = sorted(glob.glob(os.path.join(home, ".cargo/registry/src/*", K8S_PB)))
    if not hits:
        sys.exit(f"{K8S_PB} not found in ~/.cargo/registry/src: run `cargo fetch` in a crate "
                 f"depending on k8s-pb = \"=0.9.0\", or pass --source")
    return hits[0]


STRUCT_RE = re.compile(r"^pub struct (\w+) \{$")
ATTR_RE = re.compile(r"#\[prost\(([^)]*)\)\]")


def parse_module(path, module):
    """Returns {rust message name: [(attr, rust field name, rust type)]} in source order."""
    messages = {}
    lines = open(path, encoding="utf-8").read().split("\n")
    i = 0
    while i < len(lines):
        m = STRUCT_RE.match(lines[i])
        i += 1
        if not m:
            continue
        fields = []
        messages[m.group(1)] = fields
        body = []
        while i < len(lines) and lines[i] != "}":
            s = lines[i].strip()
            if not s.startswith("///"):
                body.append(s)
            i += 1
        text = " ".join(body)
        for part in text.split("#[prost(")[1:]:
            attr, _, rest = part.partition(")]")
            decl = rest.strip().rstrip(",")
            fm = re.match(r"pub (r#)?(\w+):\s*(.*)$", decl)
            if not fm:
                sys.exit(f"{path}: cannot parse field {decl!r}")
            fields.append((attr, fm.group(2), fm.group(3).replace(" ", "").rstrip(",")))
    return messages


def resolve(module, rtype):
    """A Rust type path relative to `module` -> (module, name)."""
    comps = rtype.split("::")
    mod = list(module)
    while comps and comps[0] == "super":
        mod.pop()
        comps.pop(0)
    return tuple(mod + comps[:-1]), comps[-1]


def inner_type(rtype):
    rtype = rtype.rstrip(",")
    for wrap in ("::core::option::Option<", "::prost::alloc::vec::Vec<", "::prost::alloc::boxed::Box<"):
        if rtype.startswith(wrap):
            return inner_type(rtype[len(wrap):-1].rstrip(","))
    if rtype.startswith("::prost::alloc::collections::BTreeMap<"):
        inner = rtype[len("::prost::alloc::collections::BTreeMap<"):-1]
        _, _, value = inner.partition(",")
        return inner_type(value.rstrip(","))
    return rtype


def norm(name):
    return name.replace("_", "").lower()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--source", help="an unpacked k8s-pb-0.9.0")
    args = ap.parse_args()
    src = os.path.join(find_source(args.source), "src")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    defs = json.load(open(os.path.join(root, "openapi/v2.json"), encoding="utf-8"))["definitions"]
    defs_by_norm = {d.lower(): d for d in defs}

    rust = {}  # (module tuple, rust name) -> fields
    for path in sorted(glob.glob(os.path.join(src, "**/mod.rs"), recursive=True)):
        module = tuple(os.path.relpath(os.path.dirname(path), src).split(os.sep))
        for name, fields in parse_module(path, module).items():
            rust[(module, name)] = fields

    def proto_name(key):
        module, name = key
        openapi = defs_by_norm.get(("io.k8s." + ".".join(module) + "." + name).lower())
        if openapi:
            return "k8s.io." + openapi[len("io.k8s."):], openapi
        return "k8s.io." + ".".join(module) + "." + name, None

    # Special messages are named in the output by their (already upstream-cased) names.
    out = {}
    warnings = []
    used_pointers = set()
    # An embedded Go struct (`json:",inline"`, e.g. Volume's VolumeSource, Probe's
    # ProbeHandler) is a message field in protobuf whose fields JSON puts into the
    # parent object. Such a field is missing from the parent's OpenAPI properties
    # while most of its message's fields are there. A message that exists only
    # inlined (no OpenAPI definition of its own) takes names, required fields
    # and pointers from the parent's definition.
    queue = [((tuple(mod.split(".")), kind), None) for _, kind, mod in ROOTS]
    seen = set()
    while queue:
        key, inherited = queue.pop(0)
        if key in seen:
            continue
        seen.add(key)
        if key not in rust:
            sys.exit(f"message {key} not found in k8s-pb")
        pname, openapi = proto_name(key)
        if pname in SPECIAL or pname.endswith(EXTRA_VALUE):
            continue
        if openapi is None:
            openapi = inherited
        d = defs.get(openapi, {}) if openapi else {}
        props = {norm(p): p for p in d.get("properties", {})}
        own = openapi or ("io.k8s." + pname[len("k8s.io."):])
        required = set(d.get("required", [])) | set(NO_OMITEMPTY.get(own, []))
        pointers = set(POINTERS.get(own, []))
        if openapi is None:
            warnings.append(f"{pname}: no OpenAPI definition")
        rows = []
        for attr, fname, rtype in rust[key]:
            parts = [p.strip() for p in attr.split(",")]
            tag = int(re.search(r'tag = "(\d+)"', attr).group(1))
            flags = 0
            mtype = ""
            if attr.startswith("btree_map"):
                kv = re.search(r'btree_map = "([^"]*)"', attr).group(1).split(", ")
                if kv[0] != "string":
                    sys.exit(f"{pname}.{fname}: map key {kv[0]}")
                kind = kv[1]
                flags |= 2
            else:
                kind = re.sub(r"\s*=.*", "", parts[0])
                if "repeated" in parts:
                    flags |= 1
            if kind not in SCALARS and kind != "message":
                sys.exit(f"{pname}.{fname}: unsupported type {kind}")
            jname = props.get(norm(fname))
            if kind == "message":
                target = resolve(key[0], inner_type(rtype))
                mtype = proto_name(target)[0]
                child = None
                if jname is None and flags == 0 and target in rust and props:
                    names = [f[1] for f in rust[target]]
                    if 2 * sum(norm(n) in props for n in names) > len(names):
                        flags |= 16
                        jname = ""
                        child = openapi
                queue.append((target, child))
            if jname is None:
                jname = re.sub(r"_([a-z0-9])", lambda m: m.group(1).upper(), fname)
                warnings.append(f"{pname}.{fname}: not in OpenAPI, using {jname}")
            if jname in required:
                flags |= 4
            if jname in pointers:
                flags |= 8
                used_pointers.add((own, jname))
            rows.append([tag, jname, kind, flags, mtype])
        out[pname] = rows

    for d, names in POINTERS.items():
        for n in names:
            if (d, n) not in used_pointers:
                warnings.append(f"POINTERS entry {d}.{n} matches no field")

    kinds = {}
    for api_version, kind, mod in ROOTS:
        kinds[f"{api_version}/{kind}"] = proto_name((tuple(mod.split(".")), kind))[0]

    doc = {"kinds": kinds, "messages": {k: out[k] for k in sorted(out)}}
    text = "{\n\"kinds\": " + json.dumps(kinds, separators=(",", ":")) + ",\n\"messages\": {\n"
    text += ",\n".join(json.dumps(k) + ":" + json.dumps(v, separators=(",", ":"))
                       for k, v in doc["messages"].items())
    text += "\n}\n}\n"
    json.loads(text)
    with open(os.path.join(root, "openapi/protobuf.json"), "w", encoding="utf-8") as f:
        f.write(text)
    for w in warnings:
        print("warning:", w, file=sys.stderr)
    print(f"wrote openapi/protobuf.json: {len(out)} messages", file=sys.stderr)


if __name__ == "__main__":
    main()
