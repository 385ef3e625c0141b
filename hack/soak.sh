#!/usr/bin/env bash
# Soak run (not a test): an ironkube server with a small watch history,
# `kubectl get --watch` and examples/soak.rs (reflector + raw watch + churn)
# for the given number of seconds. Prints the soak's verdict line.
# Usage: hack/soak.sh [seconds]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-3600}
cargo build --release --bins --example soak >/dev/null 2>&1
dir=$(mktemp -d)
target/release/ironkube serve --listen 127.0.0.1:0 --data-dir "$dir" --disable-controllers \
  --watch-history 1000 2>"$dir/log" &
pid=$!
trap 'pkill -P $wpid 2>/dev/null; kill $pid $wpid 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 100); do [ -f "$dir/admin.kubeconfig" ] && break; sleep 0.05; done
export KUBECONFIG=$dir/admin.kubeconfig
kubectl create namespace soak >/dev/null
# kubectl get --watch ends when the server ends its watch (after a random
# 30-60 min without timeoutSeconds, as upstream); it is then started again,
# and each session's span and line count are reported.
(
  while :; do
    echo "session start $(date +%s)"
    kubectl get configmaps -n soak --watch --output-watch-events -o name 2>&1 | sed 's/^/  /'
    echo "session end $(date +%s)"
  done
) >"$dir/kubectl-watch.out" &
wpid=$!
started=$(date +%s)
target/release/examples/soak "$seconds"
awk -v t0="$started" '
  /^session start/ { s = $3; n = 0; open = 1 }
  /^  / { n++ }
  /^session end/ { printf "kubectl get --watch session: %d s to %d s, %d event lines\n", s - t0, $3 - t0, n; open = 0 }
  END { if (open) printf "kubectl get --watch session: %d s to the end (still running), %d event lines\n", s - t0, n }
' "$dir/kubectl-watch.out"
awk '/VmRSS/{print "server RSS: "$2" kB"}' /proc/$pid/status
