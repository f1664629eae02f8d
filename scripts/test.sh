#!/usr/bin/env bash
# The one test command: installs what the tests need (only when absent), then runs every test.
# Usage: scripts/test.sh            (from the repository root; root privileges for apt-get/ip netns)
set -euo pipefail
cd "$(dirname "$0")/.."

# The real Kubernetes binaries, the judge of what kubestrap writes (built from the Go module
# proxy on the first run, reused from the cache afterwards; see scripts/k8s-bins.sh). They
# come first on PATH, so the tests' kubectl, etcd and etcdctl are the real ones of the
# default carried version. --with-previous also builds the previous minor's control plane
# and etcd (tests/upgrade.rs upgrades a cluster from it).
start=$(date +%s)
KUBESTRAP_K8S_BIN=$(scripts/k8s-bins.sh --with-previous | tail -n 1)
export KUBESTRAP_K8S_BIN
export PATH="$KUBESTRAP_K8S_BIN:$PATH"
echo "scripts/test.sh: real Kubernetes binaries ready in $(( $(date +%s) - start )) s: $KUBESTRAP_K8S_BIN"

need_apt=()
command -v openssl >/dev/null 2>&1 || need_apt+=(openssl)
command -v ip >/dev/null 2>&1 || need_apt+=(iproute2)
# The real node (tests/real_node.rs): containerd and runc, the CNI plugins of the test's pod
# network, busybox for its workload image, iptables for kube-proxy's image, nft to check that
# this machine's rules did not change, gcc to build the pause binary.
command -v containerd >/dev/null 2>&1 || need_apt+=(containerd)
command -v runc >/dev/null 2>&1 || need_apt+=(runc)
[ -x /usr/lib/cni/bridge ] || need_apt+=(containernetworking-plugins)
[ -x /bin/busybox ] || need_apt+=(busybox-static)
command -v xtables-nft-multi >/dev/null 2>&1 || need_apt+=(iptables)
command -v nft >/dev/null 2>&1 || need_apt+=(nftables)
command -v gcc >/dev/null 2>&1 && [ -f /usr/lib/x86_64-linux-gnu/libc.a ] || need_apt+=(gcc libc6-dev)
command -v nsenter >/dev/null 2>&1 || need_apt+=(util-linux)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "scripts/test.sh: installing ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
# kubernetes-validate 1.37.0 holds the schemas of every carried version.
if ! kubernetes-validate --version 2>/dev/null | grep -q '1\.37\.0'; then
  echo "scripts/test.sh: installing kubernetes-validate 1.37.0 from PyPI"
  python3 -m pip install --quiet 'kubernetes-validate==1.37.0'
  hash -r
fi

export CARGO_TERM_COLOR=never
cargo build --all-targets --locked

# The tests must leave this machine's Kubernetes folders as they found them (everything real
# runs under temporary roots and in namespaces the tests make): list them before and after.
machine_state() {
  for d in /etc/kubernetes /var/lib/kubelet /var/lib/etcd /etc/cni/net.d /var/lib/containerd /run/containerd; do
    if [ -e "$d" ]; then find "$d" -maxdepth 3 2>/dev/null | sort; else echo "absent: $d"; fi
  done
}
before=$(machine_state)
status=0
cargo test --all-targets --locked --no-fail-fast || status=$?
after=$(machine_state)
if [ "$before" != "$after" ]; then
  echo "scripts/test.sh: the tests changed this machine's Kubernetes folders:" >&2
  diff <(echo "$before") <(echo "$after") >&2 || true
  status=1
fi
exit $status
