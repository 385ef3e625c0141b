#!/usr/bin/env python3
"""Generate ironkube's OpenAPI documents from the `kubernetes-validate` package.

The PyPI package `kubernetes-validate` (Apache-2.0) ships, per Kubernetes
version, a JSON-schema rendering of the upstream OpenAPI definitions
(`kubernetes-json-schema/v1.33.0-local/_definitions.json`) with every
`x-kubernetes-*` extension and description kept. This script turns the
definitions reachable from the kinds ironkube serves back into

  openapi/v2.json               a Swagger 2.0 document (like GET /openapi/v2)
  openapi/v3/<gv>.json          OpenAPI 3.0 documents (like GET /openapi/v3/<gv>),
                                named api__v1.json, apis__apps__v1.json, ...

with the operations kubectl reads: every operation carries
`x-kubernetes-group-version-kind` (kubectl explain finds the kind of a
resource that way), PATCH operations accept
`application/strategic-merge-patch+json` and list the `fieldValidation`
query parameter (kubectl apply checks both before computing a strategic merge
patch client-side and before relying on server-side field validation).

Usage (from the repository root):

    python3 hack/gen-openapi.py                    # installs kubernetes-validate into a temp dir
    python3 hack/gen-openapi.py --source DIR       # DIR holds an unpacked kubernetes_validate

The output is deterministic: run it twice and nothing changes.
"""

import argparse
import copy
import hashlib
import json
import os
import subprocess
import sys
import tempfile

K8S_VERSION = "1.33.0"
PACKAGE = "kubernetes-validate==1.37.0"

META = "io.k8s.apimachinery.pkg.apis.meta.v1."
INT_OR_STRING = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity"

# kubernetes-validate replaced these two definitions by JSON-schema `oneOf`s and
# dropped their descriptions; restore upstream's shapes (v2: a string with a
# format; v3: oneOf types) with upstream's (first-paragraph) descriptions.
INT_OR_STRING_DESC = (
    "IntOrString is a type that can hold an int32 or a string.  When used in JSON or YAML "
    "marshalling and unmarshalling, it produces or consumes the inner type.  This allows you "
    "to have, for example, a JSON field that can accept a name or number."
)
QUANTITY_DESC = (
    "Quantity is a fixed-point representation of a number. It provides convenient "
    "marshaling/unmarshaling in JSON and YAML, in addition to String() and AsInt64() accessors."
)

# (group, version) -> (document path, operation-id infix, tag)
GROUP_VERSIONS = [
    ("", "v1", "api/v1", "CoreV1", "core_v1"),
    ("apps", "v1", "apis/apps/v1", "AppsV1", "apps_v1"),
    ("apiextensions.k8s.io", "v1", "apis/apiextensions.k8s.io/v1", "ApiextensionsV1", "apiextensions_v1"),
    ("authentication.k8s.io", "v1", "apis/authentication.k8s.io/v1", "AuthenticationV1", "authentication_v1"),
    ("authorization.k8s.io", "v1", "apis/authorization.k8s.io/v1", "AuthorizationV1", "authorization_v1"),
    ("autoscaling", "v1", "apis/autoscaling/v1", "AutoscalingV1", "autoscaling_v1"),
    ("autoscaling", "v2", "apis/autoscaling/v2", "AutoscalingV2", "autoscaling_v2"),
    ("batch", "v1", "apis/batch/v1", "BatchV1", "batch_v1"),
    ("coordination.k8s.io", "v1", "apis/coordination.k8s.io/v1", "CoordinationV1", "coordination_v1"),
    ("events.k8s.io", "v1", "apis/events.k8s.io/v1", "EventsV1", "events_v1"),
    ("policy", "v1", "apis/policy/v1", "PolicyV1", "policy_v1"),
    ("rbac.authorization.k8s.io", "v1", "apis/rbac.authorization.k8s.io/v1",
     "RbacAuthorizationV1", "rbacAuthorization_v1"),
    ("scheduling.k8s.io", "v1", "apis/scheduling.k8s.io/v1", "SchedulingV1", "scheduling_v1"),
]

# Resources: (group, version, plural, kind, definition, namespaced, verbs, subresources)
# verbs: subset of list/create/deletecollection/get/update/patch/delete
# subresources: (name, kind definition, gvk, verbs)
ALL = ["list", "create", "deletecollection", "get", "update", "patch", "delete"]
SCALE = ("scale", "io.k8s.api.autoscaling.v1.Scale", ("autoscaling", "v1", "Scale"), ["get", "update", "patch"])


def status_sub(defn, gvk):
    return ("status", defn, gvk, ["get", "update", "patch"])


CRD = "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinition"


def core(kind):
    return "io.k8s.api.core.v1." + kind


RESOURCES = [
    ("", "v1", "namespaces", "Namespace", core("Namespace"), False,
     ["list", "create", "get", "update", "patch", "delete"],
     [status_sub(core("Namespace"), ("", "v1", "Namespace")),
      ("finalize", core("Namespace"), ("", "v1", "Namespace"), ["update"])]),
    ("", "v1", "pods", "Pod", core("Pod"), True, ALL,
     [status_sub(core("Pod"), ("", "v1", "Pod")),
      ("binding", core("Binding"), ("", "v1", "Binding"), ["create"]),
      ("eviction", "io.k8s.api.policy.v1.Eviction", ("policy", "v1", "Eviction"), ["create"])]),
    ("", "v1", "bindings", "Binding", core("Binding"), True, ["create"], []),
    ("", "v1", "secrets", "Secret", core("Secret"), True, ALL, []),
    ("", "v1", "configmaps", "ConfigMap", core("ConfigMap"), True, ALL, []),
    ("", "v1", "serviceaccounts", "ServiceAccount", core("ServiceAccount"), True, ALL,
     [("token", "io.k8s.api.authentication.v1.TokenRequest",
       ("authentication.k8s.io", "v1", "TokenRequest"), ["create"])]),
    ("", "v1", "events", "Event", core("Event"), True, ALL, []),
    ("", "v1", "nodes", "Node", core("Node"), False, ALL,
     [status_sub(core("Node"), ("", "v1", "Node"))]),
    ("", "v1", "services", "Service", core("Service"), True,
     ["list", "create", "get", "update", "patch", "delete", "deletecollection"],
     [status_sub(core("Service"), ("", "v1", "Service"))]),
    ("", "v1", "endpoints", "Endpoints", core("Endpoints"), True, ALL, []),
    ("", "v1", "podtemplates", "PodTemplate", core("PodTemplate"), True, ALL, []),
    ("apps", "v1", "deployments", "Deployment", "io.k8s.api.apps.v1.Deployment", True, ALL,
     [status_sub("io.k8s.api.apps.v1.Deployment", ("apps", "v1", "Deployment")), SCALE]),
    ("apps", "v1", "replicasets", "ReplicaSet", "io.k8s.api.apps.v1.ReplicaSet", True, ALL,
     [status_sub("io.k8s.api.apps.v1.ReplicaSet", ("apps", "v1", "ReplicaSet")), SCALE]),
    ("", "v1", "replicationcontrollers", "ReplicationController", core("ReplicationController"), True,
     ALL, [status_sub(core("ReplicationController"), ("", "v1", "ReplicationController")), SCALE]),
    ("apps", "v1", "statefulsets", "StatefulSet", "io.k8s.api.apps.v1.StatefulSet", True, ALL,
     [status_sub("io.k8s.api.apps.v1.StatefulSet", ("apps", "v1", "StatefulSet")), SCALE]),
    ("apps", "v1", "daemonsets", "DaemonSet", "io.k8s.api.apps.v1.DaemonSet", True, ALL,
     [status_sub("io.k8s.api.apps.v1.DaemonSet", ("apps", "v1", "DaemonSet"))]),
    ("apps", "v1", "controllerrevisions", "ControllerRevision", "io.k8s.api.apps.v1.ControllerRevision",
     True, ALL, []),
    ("batch", "v1", "jobs", "Job", "io.k8s.api.batch.v1.Job", True, ALL,
     [status_sub("io.k8s.api.batch.v1.Job", ("batch", "v1", "Job"))]),
    ("batch", "v1", "cronjobs", "CronJob", "io.k8s.api.batch.v1.CronJob", True, ALL,
     [status_sub("io.k8s.api.batch.v1.CronJob", ("batch", "v1", "CronJob"))]),
    ("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget",
     "io.k8s.api.policy.v1.PodDisruptionBudget", True, ALL,
     [status_sub("io.k8s.api.policy.v1.PodDisruptionBudget", ("policy", "v1", "PodDisruptionBudget"))]),
    ("scheduling.k8s.io", "v1", "priorityclasses", "PriorityClass",
     "io.k8s.api.scheduling.v1.PriorityClass", False, ALL, []),
    ("autoscaling", "v2", "horizontalpodautoscalers", "HorizontalPodAutoscaler",
     "io.k8s.api.autoscaling.v2.HorizontalPodAutoscaler", True, ALL,
     [status_sub("io.k8s.api.autoscaling.v2.HorizontalPodAutoscaler",
                 ("autoscaling", "v2", "HorizontalPodAutoscaler"))]),
    ("autoscaling", "v1", "horizontalpodautoscalers", "HorizontalPodAutoscaler",
     "io.k8s.api.autoscaling.v1.HorizontalPodAutoscaler", True, ALL,
     [status_sub("io.k8s.api.autoscaling.v1.HorizontalPodAutoscaler",
                 ("autoscaling", "v1", "HorizontalPodAutoscaler"))]),
    ("apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition",
     CRD, False, ALL, [status_sub(CRD, ("apiextensions.k8s.io", "v1", "CustomResourceDefinition"))]),
    ("coordination.k8s.io", "v1", "leases", "Lease", "io.k8s.api.coordination.v1.Lease", True, ALL, []),
    ("events.k8s.io", "v1", "events", "Event", "io.k8s.api.events.v1.Event", True, ALL, []),
    ("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding",
     "io.k8s.api.rbac.v1.ClusterRoleBinding", False, ALL, []),
    ("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole",
     "io.k8s.api.rbac.v1.ClusterRole", False, ALL, []),
    ("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding",
     "io.k8s.api.rbac.v1.RoleBinding", True, ALL, []),
    ("rbac.authorization.k8s.io", "v1", "roles", "Role",
     "io.k8s.api.rbac.v1.Role", True, ALL, []),
    ("authentication.k8s.io", "v1", "tokenreviews", "TokenReview",
     "io.k8s.api.authentication.v1.TokenReview", False, ["create"], []),
    ("authentication.k8s.io", "v1", "selfsubjectreviews", "SelfSubjectReview",
     "io.k8s.api.authentication.v1.SelfSubjectReview", False, ["create"], []),
    ("authorization.k8s.io", "v1", "localsubjectaccessreviews", "LocalSubjectAccessReview",
     "io.k8s.api.authorization.v1.LocalSubjectAccessReview", True, ["create"], []),
    ("authorization.k8s.io", "v1", "selfsubjectaccessreviews", "SelfSubjectAccessReview",
     "io.k8s.api.authorization.v1.SelfSubjectAccessReview", False, ["create"], []),
    ("authorization.k8s.io", "v1", "selfsubjectrulesreviews", "SelfSubjectRulesReview",
     "io.k8s.api.authorization.v1.SelfSubjectRulesReview", False, ["create"], []),
    ("authorization.k8s.io", "v1", "subjectaccessreviews", "SubjectAccessReview",
     "io.k8s.api.authorization.v1.SubjectAccessReview", False, ["create"], []),
]

# Meta definitions every document carries even when no operation names them.
META_EXTRA = [META + n for n in ("WatchEvent", "Status", "DeleteOptions", "APIResourceList",
                                 "Patch", "ObjectMeta", "ListMeta")]
# Only in the Swagger 2.0 document (it is the union of everything).
V2_EXTRA = [META + n for n in ("APIGroupList", "APIGroup", "APIVersions")]

SERVED_GVS = {(g, v) for (g, v, *_rest) in GROUP_VERSIONS}

JSON_TYPES = ["application/json", "application/yaml", "application/vnd.kubernetes.protobuf"]
PATCH_TYPES = ["application/apply-patch+yaml", "application/json-patch+json",
               "application/merge-patch+json", "application/strategic-merge-patch+json"]


# --------------------------------------------------------------------------- source


def load_source(source_dir):
    path = os.path.join(source_dir, "kubernetes_validate", "kubernetes-json-schema",
                        "v%s-local" % K8S_VERSION, "_definitions.json")
    with open(path, encoding="utf-8") as f:
        return json.load(f)["$defs"]


def install_source(tmp):
    subprocess.check_call([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                           "--target", tmp, PACKAGE])
    return tmp


# --------------------------------------------------------------------------- cleaning


def clean(node, prop_name=None):
    """Undo kubernetes-validate's JSON-schema changes: `type: [T, "null"]` -> `T`,
    the `enum` it adds to apiVersion/kind, and `#/$defs/` refs (-> a bare name
    marker that the writers turn into v2 or v3 references)."""
    if isinstance(node, list):
        return [clean(x) for x in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key == "type" and isinstance(value, list):
            kinds = [t for t in value if t != "null"]
            out[key] = kinds[0] if len(kinds) == 1 else kinds
        elif key == "enum" and prop_name in ("apiVersion", "kind"):
            continue
        elif key == "$ref" and isinstance(value, str):
            out[key] = value.rsplit("/", 1)[-1]
        elif key == "properties" and isinstance(value, dict):
            out[key] = {name: clean(sub, name) for name, sub in value.items()}
        else:
            out[key] = clean(value)
    return out


def clean_definitions(raw):
    defs = {name: clean(d) for name, d in raw.items()}
    defs[INT_OR_STRING] = {"description": INT_OR_STRING_DESC, "format": "int-or-string", "type": "string"}
    defs[QUANTITY] = {"description": QUANTITY_DESC, "type": "string"}
    for d in defs.values():
        gvks = d.get("x-kubernetes-group-version-kind")
        if isinstance(gvks, list) and len(gvks) > 1:
            # Meta kinds (DeleteOptions, WatchEvent) list every API group; keep ours.
            d["x-kubernetes-group-version-kind"] = [
                g for g in gvks if (g.get("group"), g.get("version")) in SERVED_GVS]
    return defs


def refs_of(node, acc):
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            acc.add(ref)
        for value in node.values():
            refs_of(value, acc)
    elif isinstance(node, list):
        for value in node:
            refs_of(value, acc)


def closure(defs, roots):
    seen = set()
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        if name not in defs:
            raise SystemExit("definition %s not found" % name)
        seen.add(name)
        acc = set()
        refs_of(defs[name], acc)
        todo.extend(sorted(acc - seen))
    return seen


# --------------------------------------------------------------------------- operations


def op_id(verb, infix, kind, namespaced, sub, all_namespaces=False):
    words = {"list": "list", "create": "create", "deletecollection": "deleteCollection",
             "get": "read", "update": "replace", "patch": "patch", "delete": "delete"}
    ns = "Namespaced" if namespaced and not all_namespaces else ""
    suffix = sub.capitalize() if sub else ""
    tail = "ForAllNamespaces" if all_namespaces else ""
    return "%s%s%s%s%s%s" % (words[verb], infix, ns, kind, suffix, tail)


def query(name, description, typ="string"):
    return {"name": name, "in": "query", "description": description, "type": typ, "uniqueItems": True}


WRITE_PARAMS = [
    query("dryRun", "When present, indicates that modifications should not be persisted. "
          "Valid values are: All."),
    query("fieldManager", "fieldManager is a name associated with the actor or entity that is "
          "making these changes."),
    query("fieldValidation", "fieldValidation instructs the server on how to handle objects in "
          "the request containing unknown or duplicate fields. Valid values are: Ignore, Warn, "
          "Strict."),
]
PATCH_PARAMS = WRITE_PARAMS + [
    query("force", "Force is going to \"force\" Apply requests. It must be unset for non-apply "
          "patch requests.", "boolean"),
]
LIST_PARAMS = [
    query("allowWatchBookmarks", "allowWatchBookmarks requests watch events with type "
          "\"BOOKMARK\".", "boolean"),
    query("continue", "The continue option should be set when retrieving more results from the "
          "server."),
    query("fieldSelector", "A selector to restrict the list of returned objects by their fields."),
    query("labelSelector", "A selector to restrict the list of returned objects by their labels."),
    query("limit", "limit is a maximum number of responses to return for a list call.", "integer"),
    query("resourceVersion", "resourceVersion sets a constraint on what resource versions a "
          "request may be served from."),
    query("resourceVersionMatch", "resourceVersionMatch determines how resourceVersion is "
          "applied to list calls."),
    query("sendInitialEvents", "sendInitialEvents=true may be set together with watch=true.",
          "boolean"),
    query("timeoutSeconds", "Timeout for the list/watch call.", "integer"),
    query("watch", "Watch for changes to the described resources and return them as a stream of "
          "add, update, and remove notifications.", "boolean"),
]
DELETE_PARAMS = [
    query("dryRun", "When present, indicates that modifications should not be persisted. "
          "Valid values are: All."),
    query("gracePeriodSeconds", "The duration in seconds before the object should be deleted.",
          "integer"),
    query("propagationPolicy", "Whether and how garbage collection will be performed."),
]


def path_param(name, description):
    return {"name": name, "in": "path", "description": description, "required": True,
            "type": "string", "uniqueItems": True}


PRETTY = query("pretty", "If 'true', then the output is pretty printed.")


def operation(verb, gvk, infix, tag, kind, namespaced, sub, body_def, resp_def,
              all_namespaces=False):
    """One operation in a neutral form; the writers render it for v2 or v3."""
    group, version, gvk_kind = gvk
    action = {"list": "list", "create": "post", "deletecollection": "deletecollection",
              "get": "get", "update": "put", "patch": "patch", "delete": "delete"}[verb]
    op = {
        "tags": [tag],
        "operationId": op_id(verb, infix, kind, namespaced, sub, all_namespaces),
        "params": [],
        "body": None,
        "consumes": ["*/*"],
        "responses": {},
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": {"group": group, "kind": gvk_kind, "version": version},
    }
    if verb == "list":
        op["params"] = LIST_PARAMS
        op["responses"] = {"200": resp_def}
        op["description"] = "list or watch objects of kind %s" % gvk_kind
    elif verb == "create":
        op["params"] = WRITE_PARAMS
        op["body"] = body_def
        op["responses"] = {"200": resp_def, "201": resp_def, "202": resp_def}
        op["description"] = "create %s" % (sub and "%s of a %s" % (sub, kind) or "a " + gvk_kind)
    elif verb == "deletecollection":
        op["params"] = DELETE_PARAMS + [p for p in LIST_PARAMS if p["name"] != "watch"]
        op["body"] = META + "DeleteOptions"
        op["responses"] = {"200": META + "Status"}
        op["description"] = "delete collection of %s" % gvk_kind
    elif verb == "get":
        op["responses"] = {"200": resp_def}
        op["description"] = ("read %s of the specified %s" % (sub, kind)) if sub else \
            "read the specified %s" % kind
    elif verb == "update":
        op["params"] = WRITE_PARAMS
        op["body"] = body_def
        op["responses"] = {"200": resp_def, "201": resp_def}
        op["description"] = ("replace %s of the specified %s" % (sub, kind)) if sub else \
            "replace the specified %s" % kind
    elif verb == "patch":
        op["params"] = PATCH_PARAMS
        op["body"] = META + "Patch"
        op["consumes"] = PATCH_TYPES
        op["responses"] = {"200": resp_def, "201": resp_def}
        op["description"] = ("partially update %s of the specified %s" % (sub, kind)) if sub else \
            "partially update the specified %s" % kind
    elif verb == "delete":
        op["params"] = DELETE_PARAMS
        op["body"] = META + "DeleteOptions"
        op["responses"] = {"200": resp_def, "202": resp_def}
        op["description"] = "delete a %s" % kind
    return op


def build_paths(group, version, infix, tag):
    """{path: {"params": [...], "ops": {method: op}}} for one group-version."""
    prefix = "/api/" + version if group == "" else "/apis/%s/%s" % (group, version)
    paths = {}

    def add(path, method, op, params):
        entry = paths.setdefault(path, {"params": params, "ops": {}})
        entry["ops"][method] = op

    ns_param = path_param("namespace", "object name and auth scope, such as for teams and projects")
    paths[prefix + "/"] = {"params": [], "ops": {"get": {
        "tags": [tag], "operationId": "get%sAPIResources" % infix,
        "description": "get available resources", "params": [], "body": None,
        "consumes": ["application/json", "application/yaml", "application/vnd.kubernetes.protobuf"],
        "responses": {"200": META + "APIResourceList"}}}}
    for (g, v, plural, kind, defn, namespaced, verbs, subs) in RESOURCES:
        if (g, v) != (group, version):
            continue
        gvk = (g, v, kind)
        list_def = defn + "List"
        base = prefix + ("/namespaces/{namespace}/" if namespaced else "/") + plural
        coll_params = ([ns_param] if namespaced else []) + [PRETTY]
        name_param = path_param("name", "name of the %s" % kind)
        item_params = [name_param] + ([ns_param] if namespaced else []) + [PRETTY]
        for verb, method in (("list", "get"), ("create", "post"), ("deletecollection", "delete")):
            if verb in verbs:
                resp = list_def if verb == "list" else defn
                add(base, method, operation(verb, gvk, infix, tag, kind, namespaced, None, defn, resp),
                    coll_params)
        if namespaced and "list" in verbs:
            add(prefix + "/" + plural, "get",
                operation("list", gvk, infix, tag, kind, namespaced, None, defn, list_def,
                          all_namespaces=True), [PRETTY])
        for verb, method in (("get", "get"), ("update", "put"), ("patch", "patch"), ("delete", "delete")):
            if verb in verbs:
                add(base + "/{name}", method,
                    operation(verb, gvk, infix, tag, kind, namespaced, None, defn, defn), item_params)
        for (sub, sub_def, sub_gvk, sub_verbs) in subs:
            sub_params = [path_param("name", "name of the %s" % kind)] + \
                ([ns_param] if namespaced else []) + [PRETTY]
            for verb, method in (("get", "get"), ("create", "post"), ("update", "put"), ("patch", "patch")):
                if verb in sub_verbs:
                    add(base + "/{name}/" + sub, method,
                        operation(verb, sub_gvk, infix, tag, kind, namespaced, sub, sub_def, sub_def),
                        sub_params)
    return paths


def op_refs(paths):
    acc = set()
    for entry in paths.values():
        for op in entry["ops"].values():
            if op["body"]:
                acc.add(op["body"])
            acc.update(op["responses"].values())
    return acc


# --------------------------------------------------------------------------- writers


def v2_schema(node):
    if isinstance(node, list):
        return [v2_schema(x) for x in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key == "$ref" and isinstance(value, str):
            out[key] = "#/definitions/" + value
        elif key == "properties" and isinstance(value, dict):
            out[key] = {n: v2_schema(s) for n, s in value.items()}
        else:
            out[key] = v2_schema(value)
    return out


def v3_schema(node, top=True):
    """Upstream's v3 style: a `$ref` with sibling keys becomes `allOf: [{$ref}]`."""
    if isinstance(node, list):
        return [v3_schema(x, False) for x in node]
    if not isinstance(node, dict):
        return node
    out = {}
    ref = node.get("$ref")
    for key, value in node.items():
        if key == "$ref" and isinstance(value, str):
            continue
        if key == "properties" and isinstance(value, dict):
            out[key] = {n: v3_schema(s, False) for n, s in value.items()}
        else:
            out[key] = v3_schema(value, False)
    if isinstance(ref, str):
        target = "#/components/schemas/" + ref
        if out:
            out = dict([("allOf", [{"$ref": target}])] + list(out.items()))
        else:
            out = {"$ref": target}
    return out


def v3_definition(name, d):
    if name == INT_OR_STRING:
        return {"description": INT_OR_STRING_DESC,
                "oneOf": [{"type": "integer"}, {"type": "string"}], "format": "int-or-string"}
    if name == QUANTITY:
        return {"description": QUANTITY_DESC, "oneOf": [{"type": "string"}, {"type": "number"}]}
    return v3_schema(d)


def v2_paths(paths):
    out = {}
    for path in sorted(paths):
        entry = paths[path]
        item = {}
        for method in ("get", "put", "post", "delete", "patch"):
            op = entry["ops"].get(method)
            if op is None:
                continue
            params = [dict(p) for p in op["params"]]
            if op["body"]:
                params.insert(0, {"name": "body", "in": "body", "required": True,
                                  "schema": {"$ref": "#/definitions/" + op["body"]}})
            o = {"description": op["description"], "consumes": op["consumes"],
                 "produces": JSON_TYPES, "schemes": ["https"], "tags": op["tags"],
                 "operationId": op["operationId"]}
            if params:
                o["parameters"] = params
            o["responses"] = {code: {"description": {"200": "OK", "201": "Created",
                                                     "202": "Accepted"}[code],
                                     "schema": {"$ref": "#/definitions/" + d}}
                              for code, d in op["responses"].items()}
            o["responses"]["401"] = {"description": "Unauthorized"}
            for k in ("x-kubernetes-action", "x-kubernetes-group-version-kind"):
                if k in op:
                    o[k] = op[k]
            item[method] = o
        if entry["params"]:
            item["parameters"] = entry["params"]
        out[path] = item
    return out


def v3_param(p):
    q = {"name": p["name"], "in": p["in"], "description": p["description"]}
    if p.get("required"):
        q["required"] = True
    q["schema"] = {"type": p["type"], "uniqueItems": True}
    return q


def v3_paths(paths):
    out = {}
    for path in sorted(paths):
        entry = paths[path]
        item = {}
        for method in ("get", "put", "post", "delete", "patch"):
            op = entry["ops"].get(method)
            if op is None:
                continue
            o = {"tags": op["tags"], "description": op["description"],
                 "operationId": op["operationId"]}
            if op["params"]:
                o["parameters"] = [v3_param(p) for p in op["params"]]
            if op["body"]:
                ref = {"schema": {"$ref": "#/components/schemas/" + op["body"]}}
                o["requestBody"] = {"content": {ct: ref for ct in op["consumes"]}, "required": True}
            o["responses"] = {
                code: {"description": {"200": "OK", "201": "Created", "202": "Accepted"}[code],
                       "content": {ct: {"schema": {"$ref": "#/components/schemas/" + d}}
                                   for ct in JSON_TYPES}}
                for code, d in op["responses"].items()}
            o["responses"]["401"] = {"description": "Unauthorized"}
            for k in ("x-kubernetes-action", "x-kubernetes-group-version-kind"):
                if k in op:
                    o[k] = op[k]
            item[method] = o
        if entry["params"]:
            item["parameters"] = [v3_param(p) for p in entry["params"]]
        out[path] = item
    return out


def dump(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False, sort_keys=False)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--source", help="directory holding an unpacked kubernetes_validate package")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                  "..", "openapi"))
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        source = args.source or install_source(tmp)
        defs = clean_definitions(load_source(source))

    out_dir = os.path.normpath(args.out)
    os.makedirs(os.path.join(out_dir, "v3"), exist_ok=True)
    info = {"title": "Kubernetes", "version": "v" + K8S_VERSION}

    all_paths = {}
    all_names = set()
    index = {}
    for (group, version, gv_path, infix, tag) in GROUP_VERSIONS:
        paths = build_paths(group, version, infix, tag)
        all_paths.update(paths)
        names = closure(defs, sorted(op_refs(paths) | set(META_EXTRA)))
        all_names |= names
        doc = {
            "openapi": "3.0.0",
            "info": info,
            "paths": v3_paths(paths),
            "components": {
                "schemas": {n: v3_definition(n, defs[n]) for n in sorted(names)},
                "securitySchemes": {"BearerToken": {
                    "type": "apiKey", "description": "Bearer Token authentication",
                    "name": "authorization", "in": "header"}},
            },
            "security": [{"BearerToken": []}],
        }
        text = dump(doc)
        file_name = gv_path.replace("/", "__") + ".json"
        with open(os.path.join(out_dir, "v3", file_name), "w", encoding="utf-8") as f:
            f.write(text)
        index[gv_path] = hashlib.sha512(text.encode("utf-8")).hexdigest().upper()
        print("%-40s %7d bytes, %3d schemas" % ("v3/" + file_name, len(text.encode()), len(names)))

    all_names |= closure(defs, V2_EXTRA)
    v2 = {
        "swagger": "2.0",
        "info": info,
        "paths": v2_paths(all_paths),
        "definitions": {n: v2_schema(copy.deepcopy(defs[n])) for n in sorted(all_names)},
        "securityDefinitions": {"BearerToken": {
            "description": "Bearer Token authentication", "type": "apiKey",
            "name": "authorization", "in": "header"}},
        "security": [{"BearerToken": []}],
    }
    text = dump(v2)
    with open(os.path.join(out_dir, "v2.json"), "w", encoding="utf-8") as f:
        f.write(text)
    print("%-40s %7d bytes, %3d definitions" % ("v2.json", len(text.encode()), len(all_names)))
    # The hashes ironkube serves in /openapi/v3 (sha512, upper-case hex), for cross-checking.
    with open(os.path.join(out_dir, "v3", "hashes.json"), "w", encoding="utf-8") as f:
        f.write(json.dumps(index, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
