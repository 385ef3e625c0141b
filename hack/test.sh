#!/usr/bin/env bash
# The one command that runs every test (the README's test command).
# Installs what the tests need first, so it works on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v curl >/dev/null 2>&1 || need_apt+=(curl)
command -v timeout >/dev/null 2>&1 || need_apt+=(coreutils)
# The etcd storage tests start throwaway etcd members (Debian's 3.4).
[ -x /usr/bin/etcd ] || need_apt+=(etcd-server)
if [ ${#need_apt[@]} -gt 0 ]; then
  apt-get update -qq && apt-get install -y -qq "${need_apt[@]}"
fi
if [ ! -x /usr/bin/kubectl ]; then
  echo "error: the end-to-end tests drive the real kubectl at /usr/bin/kubectl, which is missing" >&2
  exit 1
fi

cargo fmt --check
cargo clippy --all-targets --locked -- -D warnings
cargo test --locked
