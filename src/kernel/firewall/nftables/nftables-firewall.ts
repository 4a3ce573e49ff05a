/**
 * The nftables backend: tsnet's own table per family (`ip tsnet`, `ip6 tsnet`, layout.ts), one
 * nftables transaction per operation, through libnftables in-process (runner.ts) by default.
 *
 * Hot path: setupNetwork/teardownNetwork/addPorts/removePorts are one batch each, built from
 * the operation alone — no listing, no rule handles. Ports are map elements; to remove an
 * endpoint's elements without being told its mappings, the instance keeps an index
 * (endpoint → its elements), loaded once from the kernel on first use and kept by every
 * operation after. When a batch fails because the kernel was not in the expected state
 * (restart, manual edits, repeated calls), the slow path lists the table once, deletes what
 * exists of the owner and applies the batch again — so adds replace and deletes are idempotent.
 *
 * Coexistence: the table is tsnet's alone; iptables(-nft) rules and other tables are never
 * touched. A DROP in any other table still drops (nftables has no cross-table ACCEPT), so a host
 * whose iptables FORWARD policy is DROP must allow tsnet's bridges there, as with Docker 29's
 * nftables backend.
 */
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { TsnetError } from '../../../errors/index.js';
import type { Family } from '../addr.js';
import type {
  FirewallBackend,
  FirewallExpected,
  FirewallNetwork,
  FirewallPorts,
  ReconcileResult,
  RemoveAllOptions,
  SandboxDns,
} from '../firewall-api.js';
import { checkSandboxDns } from '../sandbox-dns.js';
import {
  addElement,
  addPlanLines,
  addRule,
  deleteElement,
  deletePlanLines,
  fam,
  FORWARD_CHAIN,
  initBatch,
  networkChain,
  networkPlan,
  portsElements,
  postChain,
  localChain,
  type Fam,
  type SetName,
  tableRef,
  USER_CHAIN,
} from './layout.js';
import { commentOwner, parseView, type KernelView } from './listing.js';
import { reconcileLines } from './reconcile.js';
import { createNftRunner, type NftRunnerOptions } from './runner.js';
import { applySandboxDns } from './sandbox-dns.js';
import { normalizeNetwork, normalizePorts, subnetsOf, type NormalizedNetwork } from '../validate.js';
import { KeyedMutex } from '../../../lib/keyed-mutex.js';

export interface NftablesFirewallOptions extends NftRunnerOptions {
  /** Program IPv6 (table ip6 tsnet); default true. */
  ipv6?: boolean;
}

interface Owned {
  net12: string;
  elements: Array<{ set: SetName; key: string }>;
}

type Target = { kind: 'network'; net12: string; includeEndpoints: boolean } | { kind: 'endpoint'; ep12: string };

/** Lines deleting everything of `target` that the view shows (elements first, then chains). */
function removeOwnerLines(f: Fam, view: KernelView, target: Target): string[] {
  const t = tableRef(f);
  const lines: string[] = [];
  for (const e of view.elements) {
    const o = commentOwner(e.comment);
    if (!o) continue;
    const mine =
      target.kind === 'endpoint'
        ? o.ep12 === target.ep12
        : o.net12 === target.net12 && (o.ep12 === undefined || target.includeEndpoints);
    if (mine) lines.push(deleteElement(f, { set: e.set as SetName, key: e.key }));
  }
  if (target.kind === 'network') {
    for (const c of [networkChain(target.net12), postChain(target.net12), localChain(target.net12)]) {
      if (view.chains.has(c)) lines.push(`flush chain ${t} ${c}`, `delete chain ${t} ${c}`);
    }
  }
  return lines;
}

const batch = (lines: string[]): string => `${lines.join('\n')}\n`;

export function createNftablesFirewall(opts: NftablesFirewallOptions = {}): FirewallBackend {
  const runner = createNftRunner(opts);
  const families: Family[] = opts.ipv6 === false ? [4] : [4, 6];
  const index: Record<Family, Map<string, Owned> | undefined> = { 4: undefined, 6: undefined };
  const queue = new KeyedMutex();

  /** One operation at a time: slow paths read, then write. */
  const locked = <T>(fn: () => Promise<T>): Promise<T> => queue.run('nftables', fn);

  const view = async (f: Fam, what: string): Promise<KernelView> => parseView(await runner.listTable(f.nfam, 'tsnet', what));

  const indexFrom = (v: KernelView): Map<string, Owned> => {
    const m = new Map<string, Owned>();
    for (const e of v.elements) {
      const o = commentOwner(e.comment);
      if (!o?.ep12) continue;
      const owned = m.get(o.ep12) ?? { net12: o.net12, elements: [] };
      owned.elements.push({ set: e.set as SetName, key: e.key });
      m.set(o.ep12, owned);
    }
    return m;
  };

  const endpointIndex = async (f: Fam, what: string): Promise<Map<string, Owned>> => {
    let m = index[f.family];
    if (!m) {
      m = indexFrom(await view(f, what));
      index[f.family] = m;
    }
    return m;
  };

  /** Apply `lines`; when that fails, delete what the kernel has of `target` and apply them again. */
  const applyOrRepair = async (f: Fam, lines: string[], target: Target, what: string): Promise<void> => {
    if (lines.length === 0) return;
    try {
      await runner.run(batch(lines), what);
    } catch (err) {
      if (!(err instanceof TsnetError) || err.code !== 'TSNET_FIREWALL') throw err;
      const v = await view(f, what);
      index[f.family] = indexFrom(v);
      await runner.run(batch([...removeOwnerLines(f, v, target), ...lines]), what);
      if (target.kind === 'network' && target.includeEndpoints) {
        for (const [ep, o] of index[f.family] ?? []) if (o.net12 === target.net12) index[f.family]?.delete(ep);
      }
    }
  };

  const netWhat = (verb: string, n: NormalizedNetwork, f: Fam) => `${verb} network ${n.net12} on ${n.bridge} (IPv${f.family})`;
  const networkFams = (n: NormalizedNetwork): Fam[] => families.filter((x) => subnetsOf(n, x).length > 0).map(fam);

  const teardown = async (n: NormalizedNetwork, f: Fam): Promise<void> => {
    const plan = networkPlan(n, f);
    const what = netWhat('tear down', n, f);
    try {
      await runner.run(batch(deletePlanLines(f, plan)), what);
    } catch (err) {
      if (!(err instanceof TsnetError) || err.code !== 'TSNET_FIREWALL') throw err;
      const v = await view(f, what);
      const lines = removeOwnerLines(f, v, { kind: 'network', net12: n.net12, includeEndpoints: true });
      if (lines.length) await runner.run(batch(lines), what);
      index[f.family] = indexFrom(await view(f, what));
    }
  };

  return {
    name: 'nftables',

    init: () =>
      locked(async () => {
        for (const f of families.map(fam)) await runner.run(initBatch(f), `init table ${tableRef(f)}`);
      }),

    async setupNetwork(spec: FirewallNetwork) {
      const n = normalizeNetwork(spec);
      await locked(async () => {
        const done: Fam[] = [];
        try {
          for (const f of networkFams(n)) {
            await applyOrRepair(
              f,
              addPlanLines(f, networkPlan(n, f)),
              { kind: 'network', net12: n.net12, includeEndpoints: false },
              netWhat('set up', n, f),
            );
            done.push(f);
          }
        } catch (err) {
          for (const f of done) await teardown(n, f).catch(() => undefined);
          throw err;
        }
      });
    },

    async teardownNetwork(spec: FirewallNetwork) {
      const n = normalizeNetwork(spec);
      await locked(async () => {
        for (const f of networkFams(n)) await teardown(n, f);
      });
    },

    async addPorts(spec: FirewallPorts) {
      const p = normalizePorts(spec);
      if (!families.includes(p.family)) return;
      const f = fam(p.family);
      await locked(async () => {
        const what = `publish ports of endpoint ${p.ep12} (IPv${p.family})`;
        const idx = await endpointIndex(f, what);
        const old = idx.get(p.ep12);
        const elements = portsElements(p);
        const lines = [...(old?.elements ?? []).map((e) => deleteElement(f, e)), ...elements.map((e) => addElement(f, e))];
        idx.delete(p.ep12);
        await applyOrRepair(f, lines, { kind: 'endpoint', ep12: p.ep12 }, what);
        (index[f.family] ?? idx).set(p.ep12, { net12: p.net12, elements: elements.map((e) => ({ set: e.set, key: e.key })) });
      });
    },

    async removePorts(spec: FirewallPorts) {
      const p = normalizePorts(spec);
      if (!families.includes(p.family)) return;
      const f = fam(p.family);
      await locked(async () => {
        // queued now, run after the caller's next turn (an exit does not wait for its removal)
        await yieldToLoop();
        const what = `unpublish ports of endpoint ${p.ep12} (IPv${p.family})`;
        const idx = await endpointIndex(f, what);
        const old = idx.get(p.ep12);
        if (!old) return;
        try {
          await runner.run(batch(old.elements.map((e) => deleteElement(f, e))), what);
        } catch (err) {
          if (!(err instanceof TsnetError) || err.code !== 'TSNET_FIREWALL') throw err;
          const v = await view(f, what);
          const lines = removeOwnerLines(f, v, { kind: 'endpoint', ep12: p.ep12 });
          if (lines.length) await runner.run(batch(lines), what);
        }
        index[f.family]?.delete(p.ep12);
      });
    },

    async reconcile(expected: FirewallExpected): Promise<ReconcileResult> {
      if (
        expected === null ||
        typeof expected !== 'object' ||
        !Array.isArray(expected.networks) ||
        !Array.isArray(expected.ports)
      ) {
        throw new TsnetError('TSNET_INVALID_ARGUMENT', 'firewall: reconcile needs { networks: [], ports: [] }');
      }
      const networks = expected.networks.map(normalizeNetwork);
      const ports = expected.ports.map(normalizePorts);
      const seen = new Set<string>();
      for (const p of ports) {
        const k = `${p.ep12}/${p.family}`;
        if (seen.has(k)) throw new TsnetError('TSNET_INVALID_ARGUMENT', `firewall: reconcile: endpoint ${p.ep12} expected twice`);
        seen.add(k);
      }
      return locked(async () => {
        const total: ReconcileResult = { removed: 0, added: 0 };
        for (const f of families.map(fam)) {
          const what = `reconcile ${tableRef(f)}`;
          await runner.run(initBatch(f), what);
          const v = await view(f, what);
          const portSets = ports.filter((p) => p.family === f.family);
          const r = reconcileLines(
            f,
            v,
            networks.map((n) => networkPlan(n, f)),
            portSets.flatMap(portsElements),
          );
          if (r.lines.length) await runner.run(batch(r.lines), what);
          total.removed += r.removed;
          total.added += r.added;
          const idx = new Map<string, Owned>();
          for (const p of portSets) {
            idx.set(p.ep12, { net12: p.net12, elements: portsElements(p).map((e) => ({ set: e.set, key: e.key })) });
          }
          index[f.family] = idx;
        }
        return total;
      });
    },

    async removeAll(options: RemoveAllOptions = {}) {
      await locked(async () => {
        for (const f of families.map(fam)) {
          const what = `remove ${tableRef(f)}`;
          const v = await view(f, what);
          index[f.family] = undefined;
          if (!v.exists) continue;
          const t = tableRef(f);
          const keepUser = options.includeUserChain !== true && (v.chains.get(USER_CHAIN)?.length ?? 0) > 0;
          if (!keepUser) {
            await runner.run(`delete table ${t}\n`, what);
            continue;
          }
          const lines: string[] = [];
          for (const c of v.chains.keys()) if (c !== USER_CHAIN) lines.push(`flush chain ${t} ${c}`);
          for (const [s, kind] of v.sets) lines.push(`delete ${kind} ${t} ${s}`);
          for (const c of v.chains.keys()) if (c !== USER_CHAIN && c !== FORWARD_CHAIN) lines.push(`delete chain ${t} ${c}`);
          lines.push(addRule(f, { chain: FORWARD_CHAIN, body: `jump ${USER_CHAIN}`, owner: 'tsnet' }));
          await runner.run(batch(lines), what);
        }
      });
    },

    async sandboxDns(s: SandboxDns) {
      checkSandboxDns(s);
      await applySandboxDns(runner, s);
    },

    sandboxDnsIsNftTable: () => true,
  };
}
