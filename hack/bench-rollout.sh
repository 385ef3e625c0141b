#!/usr/bin/env bash
# Benchmark (not a test): time for a Deployment of N replicas to become
# Available on simulated nodes, then for a rolling update of it to complete,
# with the simulated kubelet delays set to zero. Prints the figures.
# Usage: hack/bench-rollout.sh [replicas] [nodes]
set -euo pipefail
cd "$(dirname "$0")/.."
replicas=${1:-1000}
nodes=${2:-10}
bin=target/release/ironkube
[ -x "$bin" ] || cargo build --release
dir=$(mktemp -d)
"$bin" serve --listen 127.0.0.1:0 --data-dir "$dir" --nodes "$nodes" \
  --pod-start-delay 0s --pod-ready-delay 0s --pod-delete-delay 0s 2>"$dir/log" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 100); do [ -f "$dir/admin.kubeconfig" ] && break; sleep 0.05; done
export KUBECONFIG=$dir/admin.kubeconfig
cat <<YAML | kubectl apply -f - >/dev/null
apiVersion: apps/v1
kind: Deployment
metadata:
  name: bench
spec:
  replicas: $replicas
  selector:
    matchLabels:
      app: bench
  template:
    metadata:
      labels:
        app: bench
    spec:
      containers:
      - name: c
        image: nginx:1.7.9
        resources:
          requests:
            cpu: 10m
            memory: 16Mi
YAML
start=$(date +%s%N)
kubectl rollout status deploy/bench --timeout=600s >/dev/null
avail=$(( ($(date +%s%N) - start) / 1000000 ))
start=$(date +%s%N)
kubectl set image deploy/bench c=nginx:1.9 >/dev/null
kubectl rollout status deploy/bench --timeout=600s >/dev/null
update=$(( ($(date +%s%N) - start) / 1000000 ))
rss=$(awk '/VmRSS/{print $2}' /proc/$pid/status)
printf 'replicas=%s nodes=%s available_ms=%s rolling_update_ms=%s server_rss_kb=%s\n' \
  "$replicas" "$nodes" "$avail" "$update" "$rss"
