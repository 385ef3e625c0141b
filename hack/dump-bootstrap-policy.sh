#!/usr/bin/env bash
# Regenerates src/auth/bootstrap-policy.json: upstream kube-apiserver's bootstrap RBAC policy
# (plugin/pkg/auth/authorizer/rbac/bootstrappolicy), as a fresh upstream server creates it.
#
#   hack/dump-bootstrap-policy.sh [KUBECONFIG]
#
# With no argument it starts the upstream server of /work/shared/upstream/run.sh in a temporary
# directory, dumps, and stops it; with a kubeconfig it dumps from that (fresh, upstream) cluster.
# It takes every ClusterRole, ClusterRoleBinding, Role and RoleBinding (all namespaces) labelled
# kubernetes.io/bootstrapping=rbac-defaults, in upstream's field order (Go struct order), strips server-set metadata (uid, resourceVersion,
# creationTimestamp, managedFields, generation) and sorts each list by (namespace, name).
# Aggregated ClusterRoles (admin, edit, view: those with an aggregationRule) are written with
# empty rules, as the policy defines them: upstream's aggregation controller fills them later.
# The upstream binaries of /work/shared/upstream are built from openshift/kubernetes, whose carried
# patches add two roles to the policy even without --openshift-config: the ClusterRole and binding
# system:openshift:public-info-viewer and the controller role and binding
# system:controller:service-ca-cert-publisher. They are not upstream Kubernetes' and are left out.
# Needs kubectl, jq and python3.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=$root/src/auth/bootstrap-policy.json
upstream=${UPSTREAM:-/work/shared/upstream/run.sh}

if [ $# -ge 1 ]; then
  kubeconfig=$1
else
  dir=$(mktemp -d)
  trap '"$upstream" stop "$dir"; rm -rf "$dir"' EXIT
  kubeconfig=$("$upstream" start "$dir" | tail -n 1)
fi

get() { # plural kind: a JSON array of the labelled objects, cleaned and sorted
  # --raw keeps upstream's wire order of the fields (Go struct order), which ironkube keeps too.
  kubectl --kubeconfig "$kubeconfig" get --raw \
    "/apis/rbac.authorization.k8s.io/v1/$1?labelSelector=kubernetes.io%2Fbootstrapping%3Drbac-defaults" |
    jq --arg kind "$2" '[.items[]
         | select(.metadata.name as $n | ["system:openshift:public-info-viewer",
                  "system:controller:service-ca-cert-publisher"] | index($n) | not)
         | if .aggregationRule then .rules = [] else . end
         | {kind: $kind, apiVersion: "rbac.authorization.k8s.io/v1",
            metadata: (.metadata | {name, namespace, labels, annotations}
                       | with_entries(select(.value != null)))}
           + (del(.kind, .apiVersion, .metadata) | with_entries(select(.value != null)))]
        | sort_by(.metadata.namespace // "", .metadata.name)'
}

tmp=$(mktemp)
jq -n --argjson cr "$(get clusterroles ClusterRole)" --argjson crb "$(get clusterrolebindings ClusterRoleBinding)" \
      --argjson r "$(get roles Role)" --argjson rb "$(get rolebindings RoleBinding)" \
      '{clusterRoles: $cr, clusterRoleBindings: $crb, roles: $r, roleBindings: $rb}' |
  # One object per line: compact, yet each role or binding reads (and diffs) on its own line.
  jq -c '.' | python3 -c '
import json, sys
doc = json.load(sys.stdin)
keys = list(doc)
print("{")
for i, key in enumerate(keys):
    print(f"  {json.dumps(key)}: [")
    items = doc[key]
    for j, item in enumerate(items):
        print("    " + json.dumps(item, separators=(",", ":")) + ("," if j + 1 < len(items) else ""))
    print("  ]" + ("," if i + 1 < len(keys) else ""))
print("}")
' >"$tmp"
mv "$tmp" "$out"
jq -r 'to_entries[] | "\(.key): \(.value | length)"' "$out"
