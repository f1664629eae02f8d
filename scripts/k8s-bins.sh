#!/usr/bin/env bash
# Builds the real Kubernetes binaries that kubestrap's tests use as the judge, from the Go
# module proxy, as dependencies of throwaway Go modules created outside the repository.
# Nothing of Kubernetes is vendored or committed.
#
# Usage: scripts/k8s-bins.sh [--kubeadm-only] [--with-previous] [--print-dir]
#
#   default version (v1.37.2): kubeadm, kube-apiserver, kube-controller-manager, kube-scheduler,
#                              kubelet, kube-proxy, kubectl, etcd + etcdctl (the version kubeadm
#                              pins), coredns (the version kubeadm pins)
#   every other carried minor: kubeadm, as kubeadm-vX.Y.Z beside the default version's binaries
#   --with-previous:           also the previous minor's (v1.36.3) kube-apiserver,
#                              kube-controller-manager, kube-scheduler, kubelet, kubectl and etcd
#                              (for upgrade tests; about 25 more minutes on 2 cores)
#
# Binaries land in $KUBESTRAP_K8S_CACHE (default ${XDG_CACHE_HOME:-$HOME/.cache}/kubestrap/k8s)
# under <version>/bin, are reused when present and their version checks out, and are written
# to a temporary folder first and renamed, so a half-built cache is never trusted.
#
# The last line of standard output is the folder of the default version's binaries. Every other
# message goes to standard error.
#
# Environment:
#   KUBESTRAP_K8S_CACHE        cache folder (see above)
#   KUBESTRAP_K8S_VERSIONS     carried versions, newest last (default below)
#   KUBESTRAP_K8S_COMPONENTS   default version's components (default: all of the list above)
#   KUBESTRAP_GO_PARALLEL      go build -p (default: number of CPUs)
set -euo pipefail

CARRIED=(${KUBESTRAP_K8S_VERSIONS:-v1.34.4 v1.35.4 v1.36.3 v1.37.2})
DEFAULT=${CARRIED[${#CARRIED[@]}-1]}
PREVIOUS=${CARRIED[${#CARRIED[@]}-2]}
FULL_COMPONENTS=(${KUBESTRAP_K8S_COMPONENTS:-kubeadm kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl})
PREVIOUS_COMPONENTS=(kubeadm kube-apiserver kube-controller-manager kube-scheduler kubelet kubectl)
CACHE=${KUBESTRAP_K8S_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubestrap/k8s}
PAR=${KUBESTRAP_GO_PARALLEL:-$(nproc)}
KUBEADM_ONLY=0
WITH_PREVIOUS=0
for arg in "$@"; do
  case "$arg" in
    --kubeadm-only) KUBEADM_ONLY=1 ;;
    --with-previous) WITH_PREVIOUS=1 ;;
    --print-dir) echo "$CACHE/$DEFAULT/bin"; exit 0 ;;
    -h|--help) sed -n '2,28p' "$0"; exit 0 ;;
    *) echo "k8s-bins: unknown argument $arg (see --help)" >&2; exit 2 ;;
  esac
done

say() { echo "k8s-bins: $*" >&2; }
die() { echo "k8s-bins: error: $*" >&2; exit 1; }

command -v go >/dev/null 2>&1 || die "no Go toolchain on PATH: install Go >= 1.24 (e.g. 'apt-get install golang' or from go.dev) and run again"
export GOTOOLCHAIN=local GOFLAGS=-mod=mod CGO_ENABLED=0
mkdir -p "$CACHE"

# The newest served patch of the wanted version's minor when the wanted one is refused.
resolve_version() { # module version
  local mod=$1 want=$2 minor served
  if go mod download -json "$mod@$want" >/dev/null 2>&1; then echo "$want"; return; fi
  minor=${want%.*}
  served=$(go list -m -versions "$mod" 2>/dev/null | tr ' ' '\n' | grep -E "^${minor//./\\.}\.[0-9]+$" | sort -V | tail -n1 || true)
  [ -n "$served" ] || die "the Go module proxy refuses $mod@$want and serves no other ${minor}.x (check GOPROXY=$(go env GOPROXY))"
  say "the Go module proxy refuses $mod@$want; using the closest served patch $served"
  echo "$served"
}

moddir() { go mod download -json "$1@$2" | sed -n 's/^\s*"Dir": "\(.*\)",$/\1/p'; }

# kubeadm's pinned version of an image, read from that version's kubeadm constants.
kubeadm_constant() { # k8s-version name
  local dir; dir=$(moddir k8s.io/kubernetes "$1")
  sed -n "s/^\s*$2 = \"\(.*\)\"$/\1/p" "$dir/cmd/kubeadm/app/constants/constants.go" | head -n1
}

# Prints what `<bin> <args>` says its version is, or nothing.
version_of() { # name path
  case "$1" in
    kubeadm) "$2" version -o short 2>/dev/null ;;
    kubectl) "$2" version --client -o json 2>/dev/null | sed -n 's/.*"gitVersion": "\(.*\)".*/\1/p' | head -n1 ;;
    etcd) "$2" --version 2>/dev/null | sed -n 's/^etcd Version: \(.*\)/v\1/p' | head -n1 ;;
    etcdctl) "$2" version 2>/dev/null | sed -n 's/^etcdctl version: \(.*\)/v\1/p' | head -n1 ;;
    coredns) "$2" -version 2>/dev/null | sed -n 's/^CoreDNS-\(.*\)/v\1/p' | head -n1 ;;
    *) "$2" --version 2>/dev/null | awk '{print $2}' ;;
  esac
}

fresh() { # name path want
  [ -x "$2" ] && [ "$(version_of "$1" "$2")" = "$3" ]
}

# Builds k8s.io/kubernetes/cmd/<c> for each component into $out (a temporary folder).
build_k8s() { # version out components...
  local v=$1 out=$2; shift 2
  local dir maj min gomod work ld p pkgs=() t0
  v=$(resolve_version k8s.io/kubernetes "$v")
  dir=$(moddir k8s.io/kubernetes "$v")
  [ -n "$dir" ] || die "go mod download k8s.io/kubernetes@$v printed no folder"
  maj=${v#v}; maj=${maj%%.*}; min=${v#v*.}; min=${min%%.*}
  work="$CACHE/.work/kubernetes-$v"
  mkdir -p "$work"
  {
    echo "module kubestrap.test/k8sbins"
    echo
    grep -E '^go [0-9.]+$' "$dir/go.mod"
    grep -E '^godebug ' "$dir/go.mod" || true
    echo
    echo "require k8s.io/kubernetes $v"
    echo
    echo "replace ("
    # every staging module k8s.io/kubernetes replaces with ./staging/src/... is published as v0.MINOR.PATCH
    awk '$2 == "=>" && $3 ~ /^\.\/staging\// {print "\t" $1 " => " $1 " v0" substr(V, index(V, "."))}' V="$v" "$dir/go.mod"
    echo ")"
  } >"$work/go.mod"
  rm -f "$work/go.sum"
  ( cd "$work" && go mod download ) || die "go mod download failed for k8s.io/kubernetes@$v and its staging modules (see above: the module the proxy refused is named there)"
  ld="-s -w"
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld="$ld -X $p.gitVersion=$v -X $p.gitMajor=$maj -X $p.gitMinor=$min"
    ld="$ld -X $p.gitCommit=0000000000000000000000000000000000000000 -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
  done
  for p in "$@"; do pkgs+=("k8s.io/kubernetes/cmd/$p"); done
  t0=$(date +%s)
  say "building ${*} $v ..."
  ( cd "$work" && go build -p "$PAR" -trimpath -ldflags "$ld" -o "$out/" "${pkgs[@]}" ) \
    || die "go build of ${*} at $v failed (see above)"
  say "built ${*} $v in $(( $(date +%s) - t0 )) s"
}

build_etcd() { # etcd-version out
  local v=$1 out=$2 work t0
  v=$(resolve_version go.etcd.io/etcd/server/v3 "$v")
  work="$CACHE/.work/etcd-$v"
  mkdir -p "$work"
  printf 'module kubestrap.test/etcdbin\n\ngo 1.24.0\n\nrequire (\n\tgo.etcd.io/etcd/server/v3 %s\n\tgo.etcd.io/etcd/etcdctl/v3 %s\n)\n' "$v" "$v" >"$work/go.mod"
  rm -f "$work/go.sum"
  ( cd "$work" && go mod download ) || die "go mod download failed for go.etcd.io/etcd/server/v3@$v or etcdctl/v3@$v"
  t0=$(date +%s)
  say "building etcd, etcdctl $v ..."
  ( cd "$work" && go build -p "$PAR" -trimpath -ldflags "-s -w -X go.etcd.io/etcd/api/v3/version.GitSHA=$v" -o "$out/etcd" go.etcd.io/etcd/server/v3 \
      && go build -p "$PAR" -trimpath -ldflags "-s -w" -o "$out/etcdctl" go.etcd.io/etcd/etcdctl/v3 ) \
    || die "go build of etcd $v failed (see above)"
  say "built etcd, etcdctl $v in $(( $(date +%s) - t0 )) s"
}

build_coredns() { # coredns-version out
  local v=$1 out=$2 work t0
  v=$(resolve_version github.com/coredns/coredns "$v")
  work="$CACHE/.work/coredns-$v"
  mkdir -p "$work"
  printf 'module kubestrap.test/corednsbin\n\ngo 1.24.0\n\nrequire github.com/coredns/coredns %s\n' "$v" >"$work/go.mod"
  rm -f "$work/go.sum"
  ( cd "$work" && go mod download ) || die "go mod download failed for github.com/coredns/coredns@$v"
  t0=$(date +%s)
  say "building coredns $v ..."
  ( cd "$work" && go build -p "$PAR" -trimpath -ldflags "-s -w" -o "$out/coredns" github.com/coredns/coredns ) \
    || die "go build of coredns $v failed (see above)"
  say "built coredns $v in $(( $(date +%s) - t0 )) s"
}

# Makes $CACHE/<version>/bin hold exactly the named components, each checked by its version.
ensure_version() { # version components...
  local v=$1; shift
  local bin="$CACHE/$v/bin" missing=() c tmp
  for c in "$@"; do fresh "$c" "$bin/$c" "$v" || missing+=("$c"); done
  [ ${#missing[@]} -eq 0 ] && { say "cached: ${*} $v"; return; }
  tmp=$(mktemp -d "$CACHE/.tmp-$v.XXXXXX")
  build_k8s "$v" "$tmp" "${missing[@]}"
  for c in "${missing[@]}"; do
    [ "$(version_of "$c" "$tmp/$c")" = "$v" ] || die "$c built for $v reports version '$(version_of "$c" "$tmp/$c")'; not used"
  done
  mkdir -p "$bin"
  for c in "${missing[@]}"; do mv -f "$tmp/$c" "$bin/$c"; done
  rm -rf "$tmp"
}

ensure_tool() { # kind version bin-dir
  local kind=$1 v=$2 bin=$3 tmp c names
  case "$kind" in etcd) names=(etcd etcdctl) ;; coredns) names=(coredns) ;; esac
  local ok=1
  for c in "${names[@]}"; do fresh "$c" "$bin/$c" "$v" || ok=0; done
  [ $ok -eq 1 ] && { say "cached: ${names[*]} $v"; return; }
  tmp=$(mktemp -d "$CACHE/.tmp-$kind.XXXXXX")
  "build_$kind" "$v" "$tmp"
  for c in "${names[@]}"; do
    [ "$(version_of "$c" "$tmp/$c")" = "$v" ] || die "$c built for $v reports version '$(version_of "$c" "$tmp/$c")'; not used"
    mv -f "$tmp/$c" "$bin/$c"
  done
  rm -rf "$tmp"
}

t_all=$(date +%s)
defbin="$CACHE/$DEFAULT/bin"
if [ $KUBEADM_ONLY -eq 1 ]; then
  ensure_version "$DEFAULT" kubeadm
else
  ensure_version "$DEFAULT" "${FULL_COMPONENTS[@]}"
  etcd_v="v$(kubeadm_constant "$DEFAULT" DefaultEtcdVersion)"; etcd_v=${etcd_v%-*}
  ensure_tool etcd "$etcd_v" "$defbin"
  coredns_v=$(kubeadm_constant "$DEFAULT" CoreDNSVersion)
  ensure_tool coredns "$coredns_v" "$defbin"
  if [ $WITH_PREVIOUS -eq 1 ]; then
    ensure_version "$PREVIOUS" "${PREVIOUS_COMPONENTS[@]}"
    etcd_v="v$(kubeadm_constant "$PREVIOUS" DefaultEtcdVersion)"; etcd_v=${etcd_v%-*}
    ensure_tool etcd "$etcd_v" "$CACHE/$PREVIOUS/bin"
  fi
fi
for v in "${CARRIED[@]}"; do
  [ "$v" = "$DEFAULT" ] && continue
  ensure_version "$v" kubeadm
  ln -sf "../../$v/bin/kubeadm" "$defbin/kubeadm-$v"
done
say "all binaries ready in $(( $(date +%s) - t_all )) s"
echo "$defbin"
