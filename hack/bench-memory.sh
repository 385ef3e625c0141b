#!/usr/bin/env bash
# Benchmark (not a test): RSS of `ironkube serve` holding N pods. wrk creates
# N small pods (generateName, 32 connections); VmRSS is read after 15 s and
# again after three full lists of all pods. Extra arguments go to `serve`
# (e.g. --disable-controllers, --nodes 220). Needs wrk, curl and jq.
# Usage: hack/bench-memory.sh [pods] [serve args...]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-24000}
shift || true
bin=target/release/ironkube
[ -x "$bin" ] || cargo build --release
dir=$(mktemp -d)
"$bin" serve --listen 127.0.0.1:0 --data-dir "$dir" "$@" 2>"$dir/log" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 100); do [ -f "$dir/admin.kubeconfig" ] && break; sleep 0.05; done
srv=$(grep -o 'https://[0-9.:]*' "$dir/admin.kubeconfig" | head -1)
tok=$(cat "$dir/admin.token")
rss() { awk '/VmRSS/ {print $2}' "/proc/$pid/status"; }
cat >"$dir/post.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"apiVersion":"v1","kind":"Pod","metadata":{"generateName":"bench-"},"spec":{"containers":[{"name":"c","image":"registry.k8s.io/pause:3.9","resources":{"requests":{"cpu":"10m","memory":"16Mi"}}}]}}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $tok"
local n = 0
request = function()
  n = n + 1
  if n > $n then wrk.thread:stop() end
  return wrk.format()
end
LUA
sleep 2
echo "idle_rss_kb=$(rss)"
# wrk runs for its whole duration even once the Lua script stops sending.
wrk -t1 -c32 -d120s -s "$dir/post.lua" "$srv/api/v1/namespaces/default/pods" >/dev/null
count=$(curl -sk -H "Authorization: Bearer $tok" "$srv/api/v1/namespaces/default/pods?limit=1" |
  jq '.metadata.remainingItemCount + 1')
sleep 15
echo "pods=$count settled_rss_kb=$(rss)"
for _ in 1 2 3; do curl -sk -o /dev/null -H "Authorization: Bearer $tok" "$srv/api/v1/pods"; done
echo "after_3_full_lists_rss_kb=$(rss)"
