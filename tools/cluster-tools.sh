#!/usr/bin/env bash
# make cluster-tools: the control plane of the cluster tests, built from the Go module proxy
# through the project's modules in cluster/ (kube-apiserver, kube-controller-manager,
# kube-scheduler, kubectl; etcd; kwok and kwokctl). The binaries go to a cache outside git keyed by those modules'
# go.mod and go.sum, so a second run builds nothing; prints the directory on its last line.
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
key=$(cat cluster/*/go.mod cluster/*/go.sum | sha256sum | cut -c1-16)
dir=${CLUSTER_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/smartdairy/cluster-tools}/$key
if [[ -f $dir/.complete ]]; then
  echo "cluster tools: cached ($dir)" >&2
  echo "$dir"
  exit 0
fi
mkdir -p "$dir"
start=$(date +%s)
build() { (cd "cluster/$1" && shift && "$GO" build -trimpath -o "$dir/" "$@") >&2; }
# kubectl too: kwokctl calls it while it starts a cluster (and would download one without it).
build kubernetes k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
  k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl
(cd cluster/etcd && "$GO" build -trimpath -o "$dir/etcd" go.etcd.io/etcd/server/v3) >&2
build kwok sigs.k8s.io/kwok/cmd/kwok sigs.k8s.io/kwok/cmd/kwokctl
echo "cluster tools: built in $(( $(date +%s) - start )) s, $(du -sh "$dir" | cut -f1) ($dir)" >&2
touch "$dir/.complete"
echo "$dir"
