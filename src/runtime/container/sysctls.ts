/**
 * `--sysctl` (HostConfig.Sysctls): only sysctls of a namespace the container has of its own, as
 * Docker/runc allow — `net.*` (its network namespace; not with `--network host`), the IPC ones
 * (`kernel.shm*`, `kernel.msg*`, `kernel.sem*`, `fs.mqueue.*`; not with `--ipc host`).
 * `kernel.hostname`/`kernel.domainname` are refused with the flag to use instead. tsnet-init writes
 * them at each start, in the container's namespaces, after its network is made (docs/tsnet-init.md
 * `sysctl`). Pure; checked at create.
 */
import { TsnetError } from '../../errors/index.js';
import type { HostConfig } from './types.js';

/** kernel.* sysctls of the IPC namespace (runc's list plus the *_next_id ones). */
const IPC_KERNEL = new Set([
  'kernel.msgmax',
  'kernel.msgmnb',
  'kernel.msgmni',
  'kernel.msg_next_id',
  'kernel.sem',
  'kernel.sem_next_id',
  'kernel.shmall',
  'kernel.shmmax',
  'kernel.shmmni',
  'kernel.shm_next_id',
  'kernel.shm_rmid_forced',
]);

/** Dotted components of [A-Za-z0-9_-]: no '/', no '..', nothing empty (a path never leaves /proc/sys). */
const KEY = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)+$/;
/** One line of at most 4096 bytes (spaces and tabs allowed: `kernel.sem`, `ip_local_port_range`). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
const VALUE = /^[^\x00-\x08\x0a-\x1f\x7f]{0,4096}$/;

const bad = (message: string) => new TsnetError('TSNET_INVALID_ARGUMENT', message);
const shown = (s: string) => JSON.stringify(s.slice(0, 80));

/** The namespace a sysctl belongs to: 'net' or 'ipc'; throws one line for any other. */
export function sysctlNamespace(key: string): 'net' | 'ipc' {
  if (!KEY.test(key) || key.length > 255) throw bad(`invalid sysctl key ${shown(key)}: dotted names only (net.core.somaxconn)`);
  if (key.startsWith('net.')) return 'net';
  if (IPC_KERNEL.has(key) || key.startsWith('fs.mqueue.')) return 'ipc';
  if (key === 'kernel.hostname') throw bad('sysctl "kernel.hostname" is not allowed: use --hostname');
  if (key === 'kernel.domainname') throw bad('sysctl "kernel.domainname" is not allowed: use --domainname');
  throw bad(
    `sysctl ${shown(key)} is not allowed: only namespaced ones (net.*, kernel.shm*, kernel.msg*, kernel.sem, fs.mqueue.*)`,
  );
}

/** Check HostConfig.Sysctls against the container's namespaces; returns the key/value pairs in order. */
export function checkSysctls(hc: HostConfig): Array<[key: string, value: string]> {
  const map = hc.Sysctls;
  if (map === undefined || map === null) return [];
  if (typeof map !== 'object' || Array.isArray(map)) throw bad('HostConfig.Sysctls must be a map of key to value');
  const out: Array<[string, string]> = [];
  for (const [key, value] of Object.entries(map)) {
    const ns = sysctlNamespace(key);
    if (typeof value !== 'string' || !VALUE.test(value))
      throw bad(`invalid value for sysctl ${key}: one line of at most 4096 characters`);
    if (ns === 'net' && hc.NetworkMode === 'host')
      throw bad(`sysctl ${shown(key)} is not allowed with --network host: it would change the host's network`);
    if (ns === 'ipc' && hc.IpcMode === 'host')
      throw bad(`sysctl ${shown(key)} is not allowed with --ipc host: it would change the host's IPC namespace`);
    out.push([key, value]);
  }
  if (out.length > 256) throw bad('at most 256 sysctls');
  return out;
}

/**
 * The container has sysctls of its interfaces (`net.ipv4.conf.*`, `net.ipv6.conf.*`, `*.neigh.*`,
 * `all` and `default` included): they must be written after its network is made — the interface
 * must exist, a join writes some of them (IPv6 `accept_ra`, `accept_dad`), and `all` does not
 * reach an interface made after it — so such a container is not prelaunched. The netns-wide
 * ones (`net.core.somaxconn`, `net.ipv4.ip_unprivileged_port_start`, `tcp_*`, …) are written
 * by a prelaunched tsnet-init as well: nothing of the network's making touches them.
 */
export function hasInterfaceSysctls(hc: HostConfig): boolean {
  return Object.keys(hc.Sysctls ?? {}).some((k) => /^net\.ipv[46]\.(conf|neigh)\./.test(k));
}
