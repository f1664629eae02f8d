#!/usr/bin/env bash
# The one test command: installs what the tests need (only when absent), then runs every test.
# Usage: scripts/test.sh            (from the repository root; root privileges for apt-get/ip netns)
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v etcd >/dev/null 2>&1 || need_apt+=(etcd-server)
command -v etcdctl >/dev/null 2>&1 || need_apt+=(etcd-client)
command -v openssl >/dev/null 2>&1 || need_apt+=(openssl)
command -v ip >/dev/null 2>&1 || need_apt+=(iproute2)
command -v kubectl >/dev/null 2>&1 || need_apt+=(kubernetes-client)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "scripts/test.sh: installing ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
if ! command -v kubernetes-validate >/dev/null 2>&1; then
  echo "scripts/test.sh: installing kubernetes-validate from PyPI"
  python3 -m pip install --quiet kubernetes-validate
  hash -r
fi

# The real Kubernetes binaries, the judge of what kubestrap writes (built from the Go module
# proxy on the first run, reused from the cache afterwards; see scripts/k8s-bins.sh).
start=$(date +%s)
KUBESTRAP_K8S_BIN=$(scripts/k8s-bins.sh | tail -n 1)
export KUBESTRAP_K8S_BIN
echo "scripts/test.sh: real Kubernetes binaries ready in $(( $(date +%s) - start )) s: $KUBESTRAP_K8S_BIN"

export CARGO_TERM_COLOR=never
cargo build --all-targets --locked
cargo test --all-targets --locked --no-fail-fast
