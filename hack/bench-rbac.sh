#!/usr/bin/env bash
# Pod creates per second with RBAC on (`--authorization-mode=Node,RBAC`, the
# default) against `AlwaysAllow`, in one run, as a user that is NOT in
# system:masters (whose requests skip the authorizer), with a few hundred
# roles and bindings present: 300 Roles and 300 RoleBindings for other users
# across 30 namespaces, 100 ClusterRoles and 100 ClusterRoleBindings for other
# groups, plus the bootstrap policy. The bench user's right to create pods
# comes from a RoleBinding in its namespace.
#
#   hack/bench-rbac.sh [ROUNDS] [COUNT]    (defaults 3 rounds of 5000 pods)
#
# Uses target/release/ironkube (build it first). Each round starts a fresh
# server per mode (memory storage, no controllers: the API path only) and
# alternates the modes, so machine noise hits both alike.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-target/release/ironkube}
ROUNDS=${1:-3}
COUNT=${2:-5000}
WORK=$(mktemp -d /tmp/bench-rbac.XXXX)
trap 'rm -rf "$WORK"' EXIT

echo 'bench-token,bencher,1000,"benchers"' >"$WORK/tokens.csv"

policy() {
  python3 - <<'EOF'
import json
items = []
for n in range(30):
    items.append({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": f"team-{n}"}})
items.append({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "bench"}})
for i in range(300):
    ns = f"team-{i % 30}"
    items.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                  "metadata": {"name": f"role-{i}", "namespace": ns},
                  "rules": [{"apiGroups": [""], "resources": ["pods", "configmaps"], "verbs": ["get", "list", "watch"]},
                            {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get", "update"], "resourceNames": [f"app-{i}"]}]})
    items.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                  "metadata": {"name": f"binding-{i}", "namespace": ns},
                  "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": f"role-{i}"},
                  "subjects": [{"kind": "User", "name": f"user-{i}"}, {"kind": "ServiceAccount", "name": "default", "namespace": ns}]})
for i in range(100):
    items.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                  "metadata": {"name": f"cluster-role-{i}"},
                  "rules": [{"apiGroups": ["", "apps"], "resources": ["pods", "deployments", "services"], "verbs": ["get", "list"]},
                            {"nonResourceURLs": [f"/metrics-{i}"], "verbs": ["get"]}]})
    items.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                  "metadata": {"name": f"cluster-binding-{i}"},
                  "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": f"cluster-role-{i}"},
                  "subjects": [{"kind": "Group", "name": f"group-{i}"}]})
items.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
              "metadata": {"name": "bench-writer"},
              "rules": [{"apiGroups": [""], "resources": ["pods", "configmaps"], "verbs": ["create", "get", "list", "delete", "deletecollection"]},
                        {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["deletecollection"]},
                        {"apiGroups": [""], "resources": ["namespaces"], "verbs": ["get"]}]})
items.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
              "metadata": {"name": "bench-writer", "namespace": "bench"},
              "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "bench-writer"},
              "subjects": [{"kind": "Group", "name": "benchers"}]})
print(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
EOF
}
policy >"$WORK/policy.json"

run() { # mode round
  local dir="$WORK/$1-$2"
  mkdir -p "$dir"
  "$BIN" serve --listen 127.0.0.1:0 --data-dir "$dir" --storage memory --disable-controllers \
    --token-auth-file "$WORK/tokens.csv" --authorization-mode "$1" \
    --max-requests-inflight 0 --max-mutating-requests-inflight 0 >"$dir/log" 2>&1 &
  local pid=$!
  for _ in $(seq 100); do [ -f "$dir/admin.kubeconfig" ] && break; sleep 0.1; done
  kubectl --kubeconfig "$dir/admin.kubeconfig" create -f "$WORK/policy.json" >/dev/null
  sed "s/token: .*/token: bench-token/" "$dir/admin.kubeconfig" >"$dir/bench.kubeconfig"
  local out
  out=$("$BIN" bench create-pods --kubeconfig "$dir/bench.kubeconfig" --namespace bench \
    --count "$COUNT" --json | head -1 || true)
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  echo "$1 round $2: $out"
}

for r in $(seq "$ROUNDS"); do
  run Node,RBAC "$r"
  run AlwaysAllow "$r"
done
