#!/bin/sh
# Times openssl generating, serially, the same set of keys and certificates that the
# kubestrap `certs` + `kubeconfig` phases write: 3 CAs, 7 leaf certificates, sa.key/sa.pub,
# and 5 kubeconfig client certificates (16 key pairs, 15 certificates).
#
# Usage: benches/openssl_pki.sh [RSA-2048|ECDSA-P256] [ROUNDS]
# Prints one line per round and the mean, in milliseconds:
#   openssl RSA-2048 round 1: 2712 ms
#   openssl RSA-2048 mean of 3: 2650 ms
# The criterion bench (benches/pki.rs) runs this script as its baseline, so both figures
# come from one `cargo bench --bench pki` run.
set -eu

ALG="${1:-RSA-2048}"
ROUNDS="${2:-3}"

genkey() { # out
    case "$ALG" in
        RSA-2048) openssl genrsa -traditional -out "$1" 2048 2>/dev/null ;;
        ECDSA-P256) openssl ecparam -name prime256v1 -genkey -noout -out "$1" ;;
        *) echo "unknown algorithm $ALG" >&2; exit 2 ;;
    esac
}

ca() { # name cn
    genkey "$D/$1.key"
    openssl req -x509 -new -key "$D/$1.key" -subj "/CN=$2" -days 3650 -sha256 \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,digitalSignature,keyEncipherment,keyCertSign" \
        -addext "subjectAltName=DNS:$2" \
        -out "$D/$1.crt" 2>/dev/null
}

leaf() { # name ca subject eku [san]
    genkey "$D/$1.key"
    {
        echo "basicConstraints=critical,CA:FALSE"
        echo "keyUsage=critical,digitalSignature,keyEncipherment"
        echo "extendedKeyUsage=$4"
        if [ -n "${5:-}" ]; then echo "subjectAltName=$5"; fi
    } >"$D/$1.ext"
    openssl req -new -key "$D/$1.key" -subj "$3" -out "$D/$1.csr" 2>/dev/null
    openssl x509 -req -in "$D/$1.csr" -CA "$D/$2.crt" -CAkey "$D/$2.key" -CAcreateserial \
        -days 365 -sha256 -extfile "$D/$1.ext" -out "$D/$1.crt" 2>/dev/null
}

one_round() {
    D="$(mktemp -d)"
    ca ca kubernetes
    leaf apiserver ca "/CN=kube-apiserver" serverAuth \
        "DNS:cp1,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,IP:10.96.0.1,IP:192.168.1.10"
    leaf apiserver-kubelet-client ca "/O=kubeadm:cluster-admins/CN=kube-apiserver-kubelet-client" clientAuth
    ca front-proxy-ca front-proxy-ca
    leaf front-proxy-client front-proxy-ca "/CN=front-proxy-client" clientAuth
    ca etcd-ca etcd-ca
    leaf etcd-server etcd-ca "/CN=cp1" serverAuth,clientAuth \
        "DNS:cp1,DNS:localhost,IP:192.168.1.10,IP:127.0.0.1,IP:::1"
    leaf etcd-peer etcd-ca "/CN=cp1" serverAuth,clientAuth \
        "DNS:cp1,DNS:localhost,IP:192.168.1.10,IP:127.0.0.1,IP:::1"
    leaf etcd-healthcheck-client etcd-ca "/CN=kube-etcd-healthcheck-client" clientAuth
    leaf apiserver-etcd-client etcd-ca "/CN=kube-apiserver-etcd-client" clientAuth
    genkey "$D/sa.key"
    openssl pkey -in "$D/sa.key" -pubout -out "$D/sa.pub"
    leaf admin ca "/O=kubeadm:cluster-admins/CN=kubernetes-admin" clientAuth
    leaf super-admin ca "/O=system:masters/CN=kubernetes-super-admin" clientAuth
    leaf kubelet ca "/O=system:nodes/CN=system:node:cp1" clientAuth
    leaf controller-manager ca "/CN=system:kube-controller-manager" clientAuth
    leaf scheduler ca "/CN=system:kube-scheduler" clientAuth
    rm -rf "$D"
}

now_ms() { echo $(($(date +%s%N) / 1000000)); }

total=0
i=1
while [ "$i" -le "$ROUNDS" ]; do
    t0=$(now_ms)
    one_round
    t1=$(now_ms)
    echo "openssl $ALG round $i: $((t1 - t0)) ms"
    total=$((total + t1 - t0))
    i=$((i + 1))
done
echo "openssl $ALG mean of $ROUNDS: $((total / ROUNDS)) ms"
