#!/usr/bin/env bash
# One-command setup on a fresh Debian machine: system packages, npm packages, the build
# (TypeScript, the tsnet-init C helper, the busybox rootfs tarball). Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."

# iptables, busybox-static, iproute2, util-linux (nsenter/unshare/script), gcc/make/libc6-dev: needed to
# build and run tsnet. runc, containernetworking-plugins, iperf3: the benchmark's peers.
# docker.io (dockerd 20.10 + containerd): plugin cross-compatibility tests and the benchmark's
# Docker peer. podman (4.3, CNI backend with runc): the benchmark's Podman peer. etcd-server: overlay.
# docker-registry, skopeo: a real registry (filled by skopeo) for the pull tests.
PACKAGES=(iptables busybox-static iproute2 util-linux bsdutils gcc make libc6-dev tar conntrack nftables
  runc containernetworking-plugins iperf3 docker.io podman etcd-server docker-registry skopeo
  python3-docker procps docker-compose linux-perf libcap2-bin)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Installing must not start services (dockerd, etcd) on the machine's own network.
  policy_added=0
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && policy_added=1
  fi
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  ((policy_added)) && rm -f /usr/sbin/policy-rc.d
fi

echo "setup: npm ci"
npm ci --no-audit --no-fund --loglevel=error

echo "setup: build"
npm run -s build

# The busybox image, from Debian's busybox-static, in the default root (or through a running daemon).
if [[ -S /run/tsnet/tsnet.sock ]] && ./bin/tsnet version >/dev/null 2>&1; then
  ./bin/tsnet image import build/busybox-rootfs.tar --tag busybox:latest
else
  node scripts/import-image.mjs --root "${TSNET_ROOT:-/var/lib/tsnet}" build/busybox-rootfs.tar busybox:latest
fi
echo "setup: done. Next: sudo ./bin/tsnetd &   then: ./bin/tsnet run --rm busybox echo hello"
