#!/usr/bin/env bash
# npm run demo: a tsnetd with its own temp root in its own host netns; a few containers showing
# isolation and limits; everything cleaned up at the end (also on Ctrl-C or failure).
set -euo pipefail
cd "$(dirname "$0")/.."
[[ $(id -u) == 0 ]] || { echo "demo: run as root (namespaces, mounts, cgroups)"; exit 1; }
[[ -x src/runtime/native/tsnet-init && -f dist/daemon/main.js ]] || { echo "demo: run npm run setup first"; exit 1; }

unset NODE_EXTRA_CA_CERTS
dir=$(mktemp -d /tmp/tsnet-demo-XXXXXX)
hostns=$dir/hostns
sock=$dir/run/tsnet.sock
cg=tsnet-demo-$$
mkdir -p "$dir/run"
touch "$hostns"
unshare --net="$hostns" true
nsenter --net="$hostns" ip link set lo up
daemon_pid=

cleanup() {
  set +e
  if [[ -S $sock ]]; then
    ids=$(./bin/tsnet -H "unix://$sock" ps -aq 2>/dev/null)
    [[ -n $ids ]] && ./bin/tsnet -H "unix://$sock" rm -f $ids >/dev/null 2>&1
  fi
  [[ -n $daemon_pid ]] && kill "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null
  for m in $(grep -o "$dir[^ ]*" /proc/self/mountinfo | sort -r); do umount -l "$m" 2>/dev/null; done
  umount "$hostns" 2>/dev/null
  find /sys/fs/cgroup -maxdepth 2 -name "$cg" -type d -exec rmdir {} + 2>/dev/null
  rm -rf "$dir"
  echo "demo: cleaned up"
}
trap cleanup EXIT

nsenter --net="$hostns" node dist/daemon/main.js --root "$dir/root" --exec-root "$dir/run" --cgroup-parent "$cg" --log-level warn &
daemon_pid=$!
for _ in $(seq 200); do [[ -S $sock ]] && break; sleep 0.05; done
t() { echo; echo "\$ tsnet $*"; ./bin/tsnet -H "unix://$sock" "$@"; }

t image import build/busybox-rootfs.tar --tag busybox:latest
t image ls
t run --rm --network none busybox sh -c 'echo "pid in container: $$"; echo "hostname: $(hostname)"; echo "processes visible:"; ps'
t run -d --name web --network none --memory 64m --pids-limit 50 busybox sh -c 'while true; do echo tick; sleep 1; done'
sleep 1.5
t ps
t logs --tail 2 web
t exec web ps
echo; echo "# memory limit: a 64 MiB allocation in a 16 MiB container is OOM killed (exit 137)"
t run --rm --network none --memory 16m busybox dd if=/dev/zero of=/dev/null bs=64M count=1 || echo "exit code: $?"
t stop -t 1 web
t ps -a
t rm web

echo; echo "# networks: a user-defined bridge with name resolution and a published port"
t network create --subnet 10.42.0.0/24 demo
t run -d --name api --network demo --network-alias backend -p 8080:80 busybox sh -c 'mkdir -p /www; echo "hello from api" > /www/index.html; exec httpd -f -p 80 -h /www'
t run --rm --network demo busybox wget -qO- http://backend/
echo; echo "\$ wget -qO- http://127.0.0.1:8080/   # from the demo's host netns, no userland proxy"
nsenter --net="$hostns" busybox wget -qO- http://127.0.0.1:8080/
t network ls
t rm -f api
t network rm demo
