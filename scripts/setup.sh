#!/usr/bin/env bash
# One-command setup on a fresh Debian machine: system packages, npm packages, the build
# (TypeScript, the tsnet-init C helper, the busybox rootfs tarball). Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(iptables busybox-static iproute2 util-linux runc conntrack iperf3 containernetworking-plugins nftables gcc make tar)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

echo "setup: npm ci"
npm ci --no-audit --no-fund --loglevel=error

echo "setup: build"
npm run -s build

if [[ ${TSNET_SETUP_IMPORT:-1} == 1 && -S /run/tsnet/tsnet.sock ]]; then
  ./bin/tsnet image import build/busybox-rootfs.tar --tag busybox:latest || true
fi
echo "setup: done. Start the daemon with: sudo ./bin/tsnetd   (then: ./bin/tsnet run --rm busybox echo hello)"
