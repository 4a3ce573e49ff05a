/**
 * The firewall backend the integration tests run against, and the few backend-specific looks
 * into the kernel they need. `TSNET_TEST_FIREWALL=nftables npm test` (or a single file) runs
 * the world's daemons with `--firewall-backend nftables`; unset means the default (iptables).
 */
import type { RunResult, World } from './world.js';

export type TestBackend = 'iptables' | 'nftables';

export function testBackend(): TestBackend {
  const b = process.env.TSNET_TEST_FIREWALL ?? 'iptables';
  if (b !== 'iptables' && b !== 'nftables') throw new Error(`TSNET_TEST_FIREWALL must be iptables or nftables, got ${b}`);
  return b;
}

/** The daemon flag for the backend under test ([] for the default). */
export function backendArgs(): string[] {
  const b = process.env.TSNET_TEST_FIREWALL;
  return b ? ['--firewall-backend', testBackend()] : [];
}

interface NftRule {
  handle: number;
  comment?: string;
  expr: Array<Record<string, unknown>>;
}

async function nftRules(w: World, family: 'ip' | 'ip6', chain: string): Promise<NftRule[]> {
  const r = await w.inHost(['/usr/sbin/nft', '-j', 'list', 'chain', family, 'tsnet', chain]);
  if (r.exitCode !== 0) throw new Error(`nft list chain ${family} tsnet ${chain}: ${r.stderr}`);
  const doc = JSON.parse(r.stdout) as { nftables: Array<{ rule?: NftRule }> };
  return doc.nftables.flatMap((o) => (o.rule ? [o.rule] : []));
}

/** Packets dropped so far by the IPv4 loopback guard in the world's host netns. */
export async function loopbackGuardDrops(w: World): Promise<number> {
  if (testBackend() === 'iptables') {
    const r = await w.inHost(['iptables', '-t', 'raw', '-L', 'TSNET-LOOPBACK', '-n', '-v', '-x']);
    if (r.exitCode !== 0) throw new Error(`iptables -t raw -L TSNET-LOOPBACK: ${r.stderr}`);
    const line = r.stdout.split('\n').find((l) => /\bDROP\b/.test(l) && l.includes('127.0.0.0/8'));
    if (!line) throw new Error(`no loopback guard rule in:\n${r.stdout}`);
    return Number(line.trim().split(/\s+/)[0]);
  }
  const rule = (await nftRules(w, 'ip', 'raw-prerouting')).find((x) => x.comment?.startsWith('loopback-guard'));
  if (!rule) throw new Error('no loopback guard rule in ip tsnet raw-prerouting');
  const counter = rule.expr.find((e) => 'counter' in e)?.counter as { packets: number } | undefined;
  if (!counter) throw new Error('the loopback guard rule has no counter');
  return counter.packets;
}

/** Delete the loopback guard (to show that a test's attack gets through without it). */
export async function removeLoopbackGuard(w: World): Promise<void> {
  let r: RunResult;
  if (testBackend() === 'iptables') {
    r = await w.inHost(['iptables', '-t', 'raw', '-F', 'TSNET-LOOPBACK']);
  } else {
    const rule = (await nftRules(w, 'ip', 'raw-prerouting')).find((x) => x.comment?.startsWith('loopback-guard'));
    if (!rule) throw new Error('no loopback guard rule in ip tsnet raw-prerouting');
    r = await w.inHost(['/usr/sbin/nft', 'delete', 'rule', 'ip', 'tsnet', 'raw-prerouting', 'handle', String(rule.handle)]);
  }
  if (r.exitCode !== 0) throw new Error(`removing the loopback guard: ${r.stderr}`);
}

/**
 * Break a published port behind the daemon's back (restart tests): the iptables backend loses
 * the port's DNAT rule from the endpoint's slot, the nftables one the port's map element.
 */
export async function damagePublishedPort(w: World, proto: 'tcp' | 'udp', hostPort: number): Promise<void> {
  let r: RunResult;
  if (testBackend() === 'iptables') {
    const save = (await w.inHost(['iptables-save', '-t', 'nat'])).stdout;
    const rule = save
      .split('\n')
      .find((l) => /^-A TSNET-S-\d+ /.test(l) && l.includes(`-p ${proto} `) && l.includes(`--dport ${hostPort} `));
    if (!rule) throw new Error(`no DNAT rule for port ${hostPort} in:\n${save}`);
    const args = rule
      .replace(/^-A /, '-D ')
      .split(' ')
      .filter(Boolean)
      .map((x) => x.replace(/^"|"$/g, ''));
    r = await w.inHost(['iptables', '-t', 'nat', ...args]);
  } else {
    r = await w.inHost(['/usr/sbin/nft', 'delete', 'element', 'ip', 'tsnet', 'ports-any', `{ ${proto} . ${hostPort} }`]);
  }
  if (r.exitCode !== 0) throw new Error(`damaging port ${hostPort}: ${r.stderr}`);
}

/**
 * The published ports programmed in the world's host netns, as "<proto> <host port>": the DNAT
 * rules in tsnet's slot chains (iptables) or the elements of the `ports-any` and
 * `ports-addr` maps (nftables), IPv4.
 */
export async function programmedPorts(w: World): Promise<string[]> {
  if (testBackend() === 'iptables') {
    const r = await w.inHost(['iptables-save', '-t', 'nat']);
    if (r.exitCode !== 0) throw new Error(`iptables-save -t nat: ${r.stderr}`);
    return r.stdout
      .split('\n')
      .filter((l) => /^-A TSNET-S-\d+ .*-j DNAT/.test(l))
      .map((l) => `${/-p (\w+)/.exec(l)?.[1]} ${/--dport (\d+)/.exec(l)?.[1]}`);
  }
  const out: string[] = [];
  for (const map of ['ports-any', 'ports-addr']) {
    // /usr/sbin/nft, not `nft` on PATH: under npx that resolves to @vercel/nft
    const r = await w.inHost(['/usr/sbin/nft', '-j', 'list', 'map', 'ip', 'tsnet', map]);
    if (r.exitCode !== 0) throw new Error(`nft list map ip tsnet ${map}: ${r.stderr}`);
    const doc = JSON.parse(r.stdout) as { nftables: Array<{ map?: { elem?: Array<[unknown, unknown]> } }> };
    for (const [key] of doc.nftables.flatMap((o) => o.map?.elem ?? [])) {
      // a key is {concat: [...]} or, with a comment, {elem: {val: {concat: [...]}, comment}}
      const k = key as { concat?: unknown[]; elem?: { val?: { concat?: unknown[] } } };
      const parts = k.concat ?? k.elem?.val?.concat ?? [];
      const [proto, port] = parts.slice(-2);
      out.push(`${String(proto)} ${String(port)}`);
    }
  }
  return out;
}
