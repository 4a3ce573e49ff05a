/**
 * Worker of the "firewall" bench section; runs inside a throwaway netns (spawned there with
 * nsenter by bench/firewall.ts), so every backend works in its own namespace as the daemon does:
 * no nsenter, no netns switch per call. Prints one JSON document on stdout.
 *
 *   node --import tsx bench/firewall-worker.ts <backend> <reps> <dir for sandbox netns files>
 *   backend: iptables | nftables | nftables-exec
 *
 * Every DNS-rules sample gets a sandbox netns of its own, as every container start does (the
 * same sandbox again would measure the kernel finishing the previous transaction on it).
 */
import { createIptablesFirewall, createNftablesFirewall, type FirewallBackend } from '../src/kernel/firewall/index.js';
import { loadLibc } from '../src/kernel/libc.js';
import { createNetnsOps } from '../src/kernel/netns.js';
import path from 'node:path';
import { benchFirewallNet } from './lib.js';

const [backend, repsArg, dir] = process.argv.slice(2) as [string, string, string];
const REPS = Number(repsArg);
const netns = createNetnsOps(loadLibc());
const inNetns = <T>(file: string, fn: () => T): T => netns.run(file, fn);
const fw: FirewallBackend =
  backend === 'iptables'
    ? createIptablesFirewall({ inNetns })
    : createNftablesFirewall({ inNetns, mode: backend === 'nftables-exec' ? 'exec' : 'lib' });

const { net, ep } = benchFirewallNet('bench0000000f1re', 'br-bench', '10.160');

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

const sandboxes: string[] = [];
const newSandbox = (): string => {
  const file = path.join(dir, `sandbox${sandboxes.length}`);
  netns.create(file);
  sandboxes.push(file);
  return file;
};

const out: Record<string, Record<string, number[]>> = {};
await fw.init();
await fw.setupNetwork(net);
let existing = 0;
for (const target of [1, 100, 1000]) {
  // "existing containers": endpoints with one published port each (the iptables worst case: one
  // TSNET-DNAT jump per endpoint).
  for (; existing < target; existing++) await fw.addPorts(ep(existing, 20000 + existing));
  const r: Record<string, number[]> = { publish: [], unpublish: [], dns: [], attach: [] };
  for (let k = 0; k < REPS; k++) {
    const probe = ep(5000 + k, 40000 + k);
    r.publish!.push(await timed(() => fw.addPorts(probe)));
    r.unpublish!.push(await timed(() => fw.removePorts(probe)));
    const dns = { resolverIp: '127.0.0.11', udpPort: 31000 + k, tcpPort: 32000 + k, fresh: true };
    const sb1 = newSandbox();
    r.dns!.push(await timed(() => fw.sandboxDns({ ...dns, netns: sb1 })));
    // A container attach with one published port: its sandbox's DNS rules + its port (+ guard).
    const sb2 = newSandbox();
    r.attach!.push(await timed(() => Promise.all([fw.sandboxDns({ ...dns, netns: sb2 }), fw.addPorts(probe)])));
    await fw.removePorts(probe);
  }
  out[String(target)] = r;
}
await fw.removeAll({ includeUserChain: true });
for (const f of sandboxes) netns.remove(f);
process.stdout.write(JSON.stringify(out));
