#!/usr/bin/env bash
# Builds the container images a real node needs, without a registry: each a minimal OCI image
# layout (one uncompressed, deterministic layer) tarred for `ctr images import`, from the
# binaries of scripts/k8s-bins.sh and Debian's packages.
#
# Usage: scripts/node-images.sh BIN_DIR OUT_DIR REF...
#
#   BIN_DIR  the folder scripts/k8s-bins.sh printed (kube-apiserver, etcd, coredns, ...)
#   OUT_DIR  where <name>.tar files are written (reused when present and newer than BIN_DIR's
#            binaries)
#   REF      a full image reference, e.g. registry.k8s.io/kube-apiserver:v1.37.2; the image's
#            content is chosen by the repository's last path element:
#              kube-apiserver, kube-controller-manager, kube-scheduler, etcd
#                                  the binary (and etcdctl) in /usr/local/bin
#              kube-proxy          the binary plus Debian's iptables (nft backend) and its
#                                  libraries, as the upstream image carries iptables
#              coredns             /coredns as the entrypoint
#              pause               /pause, compiled statically from the pause.c of the
#                                  k8s.io/kubernetes module of BIN_DIR's version
#              busybox             Debian's busybox-static with its applets linked in /bin
#
# The last line of standard output is OUT_DIR. Needs tar, sha256sum, gcc (pause), busybox-static
# (busybox) and iptables (kube-proxy).
set -euo pipefail

[ $# -ge 3 ] || { sed -n '2,22p' "$0"; exit 2; }
BIN=$1 OUT=$2
shift 2
mkdir -p "$OUT"
say() { echo "node-images: $*" >&2; }
die() { echo "node-images: error: $*" >&2; exit 1; }

sha() { sha256sum "$1" | cut -d' ' -f1; }
size() { stat -c %s "$1"; }

# Copies an ELF program and every shared library it needs (ldd) into the rootfs $1.
copy_with_libs() { # rootfs file dest
  local root=$1 file=$2 dest=$3 lib
  mkdir -p "$root$(dirname "$dest")"
  cp -L "$file" "$root$dest"
  for lib in $(ldd "$file" 2>/dev/null | grep -o '/[^ ]*' | sort -u); do
    [ -e "$root$lib" ] && continue
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
  done
}

# Writes $OUT/<file>.tar: an OCI layout of rootfs $2 with config fields $3 (a JSON object body).
pack() { # ref rootfs config-json file
  local ref=$1 root=$2 cfg=$3 file=$4 work layer ldig cdig mdig name tag
  work=$(mktemp -d)
  mkdir -p "$work/blobs/sha256"
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$root" -cf "$work/layer.tar" .
  ldig=$(sha "$work/layer.tar")
  printf '{"architecture":"amd64","os":"linux","config":{%s},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
    "$cfg" "$ldig" >"$work/config.json"
  cdig=$(sha "$work/config.json")
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%s}]}' \
    "$cdig" "$(size "$work/config.json")" "$ldig" "$(size "$work/layer.tar")" >"$work/manifest.json"
  mdig=$(sha "$work/manifest.json")
  mv "$work/layer.tar" "$work/blobs/sha256/$ldig"
  mv "$work/config.json" "$work/blobs/sha256/$cdig"
  tag=${ref##*:}
  printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"io.containerd.image.name":"%s","org.opencontainers.image.ref.name":"%s"}}]}' \
    "$mdig" "$(size "$work/manifest.json")" "$ref" "$tag" >"$work/index.json"
  mv "$work/manifest.json" "$work/blobs/sha256/$mdig"
  echo '{"imageLayoutVersion":"1.0.0"}' >"$work/oci-layout"
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$work" -cf "$OUT/.$file.tmp" oci-layout index.json blobs
  mv "$OUT/.$file.tmp" "$OUT/$file.tar"
  rm -rf "$work"
}

PATH_ENV='"Env":["PATH=/usr/local/bin:/usr/local/sbin:/usr/bin:/usr/sbin:/bin:/sbin"]'

pause_binary() { # dest
  local ver dir
  ver=$("$BIN/kubelet" --version 2>/dev/null | awk '{print $2}')
  [ -n "$ver" ] || ver=$("$BIN/kube-apiserver" --version | awk '{print $2}')
  dir=$(GOFLAGS=-mod=mod go mod download -json "k8s.io/kubernetes@$ver" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
  [ -f "$dir/build/pause/linux/pause.c" ] || die "no build/pause/linux/pause.c in k8s.io/kubernetes@$ver"
  gcc -Os -static -DVERSION="\"$ver-kubestrap\"" -o "$1" "$dir/build/pause/linux/pause.c"
}

for ref in "$@"; do
  repo=${ref%:*}
  name=${repo##*/}
  file=$(echo "$ref" | tr '/:' '__')
  if [ -s "$OUT/$file.tar" ] && [ -z "$(find "$BIN/" -newer "$OUT/$file.tar" -type f 2>/dev/null | head -n1)" ]; then
    continue
  fi
  say "building $ref"
  root=$(mktemp -d)
  case "$name" in
    kube-apiserver|kube-controller-manager|kube-scheduler)
      mkdir -p "$root/usr/local/bin"
      cp "$BIN/$name" "$root/usr/local/bin/"
      cfg=$PATH_ENV ;;
    etcd)
      mkdir -p "$root/usr/local/bin" "$root/var/lib/etcd"
      cp "$BIN/etcd" "$BIN/etcdctl" "$root/usr/local/bin/"
      cfg=$PATH_ENV ;;
    kube-proxy)
      mkdir -p "$root/usr/local/bin" "$root/usr/sbin" "$root/run" "$root/lib/modules"
      cp "$BIN/kube-proxy" "$root/usr/local/bin/"
      command -v xtables-nft-multi >/dev/null || die "kube-proxy's image needs Debian's iptables (apt-get install iptables)"
      copy_with_libs "$root" "$(command -v xtables-nft-multi)" /usr/sbin/xtables-nft-multi
      for l in iptables iptables-save iptables-restore ip6tables ip6tables-save ip6tables-restore; do
        ln -s xtables-nft-multi "$root/usr/sbin/$l"
      done
      for so in /usr/lib/x86_64-linux-gnu/xtables/*.so; do
        copy_with_libs "$root" "$so" "$so"
      done
      cfg=$PATH_ENV ;;
    coredns)
      cp "$BIN/coredns" "$root/coredns"
      cfg='"Entrypoint":["/coredns"],"ExposedPorts":{"53/tcp":{},"53/udp":{}}' ;;
    pause)
      pause_binary "$root/pause"
      cfg='"Entrypoint":["/pause"]' ;;
    busybox)
      [ -x /bin/busybox ] || die "the busybox image needs Debian's busybox-static (apt-get install busybox-static)"
      mkdir -p "$root/bin" "$root/etc" "$root/tmp"
      cp /bin/busybox "$root/bin/busybox"
      for a in $(/bin/busybox --list); do
        [ "$a" = busybox ] || ln -s busybox "$root/bin/$a"
      done
      echo 'root:x:0:0:root:/root:/bin/sh' >"$root/etc/passwd"
      cfg=$PATH_ENV',"Cmd":["sh"]' ;;
    *) die "no recipe for image $ref (see --help)" ;;
  esac
  pack "$ref" "$root" "$cfg" "$file"
  rm -rf "$root"
done
echo "$OUT"
