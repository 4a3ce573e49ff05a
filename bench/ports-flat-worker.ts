/**
 * Worker of bench/ports-flat.ts part (c): one firewall backend in a throwaway netns (spawned
 * there with nsenter, so no command of the backend needs one), holding `level` published
 * endpoints of one port each on one network. Prints `ready`, then for each `round` line on stdin
 * publishes one more endpoint's port and unpublishes it again, and prints one JSON line
 * `{ "add": ms, "remove": ms }`: the CPU time of each operation — this process's own (the
 * nftables backend runs libnftables in-process) plus that of the programs it ran and reaped
 * (`iptables-restore`), from getrusage(RUSAGE_SELF) and getrusage(RUSAGE_CHILDREN), which the
 * kernel keeps in ns (unlike /proc's clock ticks).
 *
 *   node --import tsx bench/ports-flat-worker.ts <iptables|nftables> <level> [<tsnet checkout>]
 *
 * The optional checkout (default: this one) lets an A/B run load another build's backend.
 */
import koffi from 'koffi';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { FirewallBackend } from '../src/kernel/firewall/index.js';
import { benchFirewallNet } from './lib.js';

const [backend, levelArg, repoArg] = process.argv.slice(2) as [string, string, string | undefined];
const level = Number(levelArg);
const repo = repoArg ?? path.join(path.dirname(fileURLToPath(import.meta.url)), '..');

const libc = koffi.load('libc.so.6');
const timeval = koffi.struct('ports_flat_timeval', { sec: 'long', usec: 'long' });
koffi.struct('ports_flat_rusage', { utime: timeval, stime: timeval, rest: koffi.array('long', 14) });
const getrusage = libc.func('int getrusage(int who, _Out_ ports_flat_rusage *usage)');
const RUSAGE_SELF = 0;
const RUSAGE_CHILDREN = -1;

interface Usage {
  utime: { sec: number; usec: number };
  stime: { sec: number; usec: number };
}
function cpuMs(who: number): number {
  const u = {} as Usage;
  getrusage(who, u);
  return (u.utime.sec + u.stime.sec) * 1e3 + (u.utime.usec + u.stime.usec) / 1e3;
}
const totalCpuMs = (): number => cpuMs(RUSAGE_SELF) + cpuMs(RUSAGE_CHILDREN);

const fwApi = (await import(path.join(repo, 'src/kernel/firewall/index.ts'))) as typeof import('../src/kernel/firewall/index.js');
// as the daemon builds it (components.ts): iptables-restore through the posix_spawn runner
const { createSpawner } = (await import(path.join(repo, 'src/kernel/spawn.ts'))) as typeof import('../src/kernel/spawn.js');
const spawner = createSpawner();
const fw: FirewallBackend =
  backend === 'iptables'
    ? fwApi.createIptablesFirewall({ ipv6: false, runner: (cmd, args, o) => spawner.run(cmd, args, o) })
    : fwApi.createNftablesFirewall({ mode: 'lib' });

const { net, ep } = benchFirewallNet('f1a7f1a7f1a70000', 'br-portsflat', '10.150');

await fw.init();
await fw.setupNetwork(net);
for (let i = 0; i < level; i++) await fw.addPorts(ep(i, 20000 + i));
process.stdout.write('ready\n');

let round = 0;
for await (const line of readline.createInterface({ input: process.stdin })) {
  if (line !== 'round') break;
  const p = ep(5000 + (round % 2), 40000 + round);
  round++;
  const c0 = totalCpuMs();
  await fw.addPorts(p);
  const c1 = totalCpuMs();
  await fw.removePorts(p);
  const c2 = totalCpuMs();
  process.stdout.write(`${JSON.stringify({ add: c1 - c0, remove: c2 - c1 })}\n`);
}
await fw.removeAll();
