#!/usr/bin/env bash
# Build build/busybox-rootfs.tar: a minimal root filesystem around Debian's static busybox
# (package busybox-static), the image tsnet's tests and demos run.
#
#   bin/busybox plus one symlink per applet, where busybox expects it (--list-full:
#   bin/, sbin/, usr/bin/, usr/sbin/); /etc/passwd (root, nobody), /etc/group (root, tty,
#   nobody); empty /etc/hosts, /etc/resolv.conf, /etc/hostname; proc sys dev tmp root etc var.
#
# Deterministic: same busybox binary, same tarball, byte for byte (names sorted, owner 0:0,
# mtime $SOURCE_DATE_EPOCH or 0). No network.
#
# Usage: scripts/make-busybox-rootfs.sh [OUTPUT]   (default: build/busybox-rootfs.tar)
set -euo pipefail
umask 022

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${1:-$repo/build/busybox-rootfs.tar}"
busybox="${BUSYBOX:-/bin/busybox}"
epoch="${SOURCE_DATE_EPOCH:-0}"

if [[ ! -x "$busybox" ]]; then
  echo "make-busybox-rootfs: $busybox not found: install it with: apt-get install busybox-static" >&2
  exit 1
fi
ldd_out="$(LC_ALL=C ldd "$busybox" 2>&1 || true)"
if ! grep -q -e 'not a dynamic executable' -e 'statically linked' <<<"$ldd_out"; then
  echo "make-busybox-rootfs: $busybox is dynamically linked: install the static one with: apt-get install busybox-static" >&2
  exit 1
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
root="$work/rootfs"
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,tmp,root,var}
chmod 1777 "$root/tmp"
chmod 0700 "$root/root"

install -m 0755 "$busybox" "$root/bin/busybox"

if applets="$("$busybox" --list-full 2>/dev/null)" && [[ -n "$applets" ]]; then
  :
else
  applets="$("$busybox" --list | sed 's#^#bin/#')"
fi
while IFS= read -r applet; do
  [[ -z "$applet" || "$applet" == "bin/busybox" ]] && continue
  mkdir -p "$root/$(dirname "$applet")"
  ln -s /bin/busybox "$root/$applet"
done <<<"$applets"

cat >"$root/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PASSWD
cat >"$root/etc/group" <<'GROUP'
root:x:0:
tty:x:5:
nobody:x:65534:
GROUP
: >"$root/etc/hosts"
: >"$root/etc/resolv.conf"
: >"$root/etc/hostname"
chmod 0644 "$root"/etc/{passwd,group,hosts,resolv.conf,hostname}

mkdir -p "$(dirname "$out")"
tar --create --file="$out.tmp" --directory="$root" \
  --sort=name --format=gnu --numeric-owner --owner=0 --group=0 --mtime="@$epoch" \
  .
mv -f "$out.tmp" "$out"
echo "$out: $("$busybox" --list | wc -l) applets, $(stat -c %s "$out") bytes"
