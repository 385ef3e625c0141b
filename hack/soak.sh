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
trap 'kill $pid $wpid 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 100); do [ -f "$dir/admin.kubeconfig" ] && break; sleep 0.05; done
export KUBECONFIG=$dir/admin.kubeconfig
kubectl create namespace soak >/dev/null
kubectl get configmaps -n soak --watch --output-watch-events -o name >"$dir/kubectl-watch.out" 2>&1 &
wpid=$!
target/release/examples/soak "$seconds"
kill -0 $wpid && echo "kubectl get --watch: still running, $(wc -l <"$dir/kubectl-watch.out") event lines"
awk '/VmRSS/{print "server RSS: "$2" kB"}' /proc/$pid/status
