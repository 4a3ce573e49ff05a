/**
 * The iptables backend. Every operation is one `iptables-restore --noflush` per address family
 * (DESIGN rule 5) whose size depends only on the operation, never on what is already programmed:
 * no iptables-save, no `-C`, on the hot path.
 *
 * Fast path, then slow path: the fast script assumes the expected state (adds create their
 * chains with `-N`, which fails if they exist; deletes use `-D <exact spec>`, which fails if the
 * rule is gone). When it fails, the slow path reads `iptables-save` once, repairs the base
 * layout, deletes whatever of this owner exists, and (for adds) applies the fast script again.
 * That makes adds replace and deletes idempotent, at the cost of a save only when the kernel
 * was not in the expected state (restart, manual edits, repeated calls).
 *
 * Published ports fill slots of a pool of nat chains that are never unlinked (slots.ts), so
 * neither publishing nor unpublishing deletes a rule by spec. An instance keeps which endpoint
 * holds which slot, read from the kernel once; two instances must not program one netns at the
 * same time. Each has a small per-family queue so its own read-modify-write slow paths never
 * interleave with its other operations.
 */
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { isTsnetError, TsnetError } from '../../../errors/index.js';
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
import { createNftRunner, type NftRunner } from '../nftables/runner.js';
import type { LowFdSlots } from '../nftables/low-fds.js';
import { iptablesSandboxDns, type InNetns } from './sandbox-dns.js';
import type { Family } from '../addr.js';
import { removeAllScript, removeOwnerScript, type RemovalTarget } from './cleanup.js';
import type { Table } from './names.js';
import { networkPlan } from './network-rules.js';
import { portsPlan } from './port-rules.js';
import { fillScript, freeScript, scanSlots, slotPlans, type SlotIndex } from './slots.js';
import { assertDistinctPlans, converge } from './reconcile.js';
import { createIptablesExec, type IptablesExecOptions } from './restore.js';
import { appendPlan, deletePlan, RestoreScript } from './restore-script.js';
import type { Plan } from './rule.js';
import { parseSave } from './save-parse.js';
import { normalizeNetwork, normalizePorts, subnetsOf, type NormalizedNetwork, type NormalizedPorts } from '../validate.js';
import { KeyedMutex } from '../../../lib/keyed-mutex.js';

export interface IptablesFirewallOptions extends IptablesExecOptions {
  /** Program IPv6 rules with ip6tables (default true). When false, IPv6 subnets and ports are skipped. */
  ipv6?: boolean;
  /** Run `fn` with the main thread in a netns file (netns.run): sandboxDns spawns there. */
  inNetns?: InNetns;
  /**
   * Program the sandbox DNS rules through libnftables in-process when it loads (default true;
   * false: `iptables-restore` in the sandbox, a fork per container). Each context's socket sits
   * on a reserved low fd (../nftables/low-fds.ts), so the daemon's fd count does not matter.
   */
  sandboxDnsNft?: boolean;
  /** The daemon's reserved low fds for libnftables contexts (shared with the nftables backend). */
  lowFds?: LowFdSlots;
  /** A sandbox's DNS batch went to `nft -f` instead of the library (see NftRunnerOptions). */
  onFallback?: (why: string) => void;
}

/** Each table is committed on its own: the section holding the `-N` probe goes first. */
const NETWORK_ORDER: readonly Table[] = ['filter', 'nat', 'raw'];

export function createIptablesFirewall(opts: IptablesFirewallOptions = {}): FirewallBackend {
  const exec = createIptablesExec(opts);
  // libnftables for the sandbox DNS rules: tried once, on the first sandbox
  let nft: NftRunner | null | undefined = opts.sandboxDnsNft === false || !opts.inNetns ? null : undefined;
  const sandboxNft = (): NftRunner | undefined => {
    if (nft === undefined) {
      try {
        nft = createNftRunner({
          mode: 'lib',
          ...(opts.inNetns ? { inNetns: opts.inNetns } : {}),
          ...(opts.lowFds ? { lowFds: opts.lowFds } : {}),
          ...(opts.onFallback ? { onFallback: opts.onFallback } : {}),
        });
      } catch {
        nft = null; // no libnftables: iptables-restore in the sandbox
      }
    }
    return nft ?? undefined;
  };
  const families: Family[] = opts.ipv6 === false ? [4] : [4, 6];
  // one operation per family at a time (keys 'ipv4', 'ipv6')
  const queues = new KeyedMutex();
  const locked = <T>(family: Family, fn: () => Promise<T>): Promise<T> => queues.run(`ipv${family}`, fn);
  // published-port slots (slots.ts): endpoint → slot per family, read from the kernel once (init,
  // reconcile or the first port operation) and kept by every operation; dropped after a slow path
  const slotIndexes = new Map<Family, SlotIndex>();

  const dump = async (family: Family, what: string) => parseSave(await exec.save(family, what));

  const apply = async (family: Family, script: RestoreScript, what: string): Promise<void> => {
    if (!script.empty) await exec.restore(family, script.text(), what);
  };

  /** Slow path of an add: repair the base, delete what exists of the owner, add again. */
  const slowAdd = async (family: Family, fast: RestoreScript, target: RemovalTarget, what: string): Promise<void> => {
    try {
      const d = await dump(family, what);
      const fix = converge(family, d).script;
      fix.absorb(removeOwnerScript(d, target).script);
      await apply(family, fix, what);
      await exec.restore(family, fast.text(), what);
    } catch (err) {
      await removeOwner(family, target, what).catch(() => undefined);
      throw err;
    }
  };

  const removeOwner = async (family: Family, target: RemovalTarget, what: string): Promise<void> => {
    slotIndexes.delete(family); // it may flush slots: read them again next time
    const d = await dump(family, what);
    await apply(family, removeOwnerScript(d, target).script, what);
  };

  const addPlan = async (family: Family, plan: Plan, order: readonly Table[], target: RemovalTarget, what: string) => {
    const fast = appendPlan(new RestoreScript(order), plan, 'create');
    try {
      await exec.restore(family, fast.text(), what);
    } catch (err) {
      if (!isTsnetError(err, 'TSNET_FIREWALL')) throw err;
      await slowAdd(family, fast, target, what);
    }
  };

  const deletePlanOrSweep = async (family: Family, plan: Plan, order: readonly Table[], target: RemovalTarget, what: string) => {
    const fast = deletePlan(new RestoreScript(order), plan);
    try {
      await exec.restore(family, fast.text(), what);
    } catch (err) {
      if (!isTsnetError(err, 'TSNET_FIREWALL')) throw err;
      await removeOwner(family, target, what);
    }
  };

  /** The slots of one family, read from the kernel (and their jumps repaired) the first time. */
  const slotsOf = async (family: Family, what: string): Promise<SlotIndex> => {
    const known = slotIndexes.get(family);
    if (known) return known;
    const scan = scanSlots(await dump(family, what));
    await apply(family, scan.repair, what);
    slotIndexes.set(family, scan.index);
    return scan.index;
  };

  /** Fill the endpoint's slot (slots.ts fillScript); returns the slot. */
  const fillSlot = async (p: NormalizedPorts, index: SlotIndex, what: string): Promise<number> => {
    const fill = fillScript(p, index);
    await exec.restore(p.family, fill.script.text(), what);
    return fill.slot;
  };

  const publish = async (p: NormalizedPorts): Promise<void> => {
    const what = epWhat('publish', p);
    if (p.mappings.length === 0) return unpublish(p);
    let index = await slotsOf(p.family, what);
    let k: number;
    try {
      k = await fillSlot(p, index, what);
    } catch (err) {
      if (!isTsnetError(err, 'TSNET_FIREWALL')) throw err;
      // Slow path: the kernel is not what the index says (changed behind tsnet's back). Repair
      // the base and the slots from one save, drop whatever else the endpoint has, fill again.
      const target: RemovalTarget = { kind: 'endpoint', ep12: p.ep12 };
      slotIndexes.delete(p.family);
      try {
        const d = await dump(p.family, what);
        const fix = converge(p.family, d).script;
        fix.absorb(removeOwnerScript(d, target).script);
        const scan = scanSlots(d);
        fix.absorb(scan.repair);
        await apply(p.family, fix, what);
        index = scan.index;
        slotIndexes.set(p.family, index);
        k = await fillSlot(p, index, what);
      } catch (err2) {
        slotIndexes.delete(p.family);
        await removeOwner(p.family, target, what).catch(() => undefined);
        throw err2;
      }
    }
    index.set(k, p.ep12);
  };

  const unpublish = async (p: NormalizedPorts): Promise<void> => {
    const what = epWhat('unpublish', p);
    const index = await slotsOf(p.family, what);
    const k = index.slotOf(p.ep12);
    if (k === undefined) return; // nothing published: deletes are idempotent
    try {
      await exec.restore(p.family, freeScript(k).text(), what);
      index.set(k, undefined);
    } catch (err) {
      if (!isTsnetError(err, 'TSNET_FIREWALL')) throw err;
      slotIndexes.delete(p.family);
      await removeOwner(p.family, { kind: 'endpoint', ep12: p.ep12 }, what);
    }
  };

  /** Run one step per family concurrently; if any fails, undo the ones that succeeded. */
  const perFamily = async (
    fams: Family[],
    step: (f: Family) => Promise<void>,
    undo?: (f: Family) => Promise<void>,
  ): Promise<void> => {
    const results = await Promise.allSettled(fams.map((f) => step(f)));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (!failed) return;
    if (undo) {
      await Promise.allSettled(fams.filter((_, i) => results[i]?.status === 'fulfilled').map((f) => undo(f)));
    }
    throw failed.reason;
  };

  const networkFamilies = (n: NormalizedNetwork): Family[] => families.filter((f) => subnetsOf(n, f).length > 0);
  const portsEnabled = (p: NormalizedPorts): boolean => families.includes(p.family);

  const netWhat = (verb: string, n: NormalizedNetwork, f: Family) => `${verb} network ${n.net12} on ${n.bridge} (IPv${f})`;
  const epWhat = (verb: string, p: NormalizedPorts) => `${verb} ports of endpoint ${p.ep12} (IPv${p.family})`;

  const teardownFamily = (n: NormalizedNetwork, f: Family) =>
    locked(f, () =>
      deletePlanOrSweep(
        f,
        networkPlan(n, f),
        NETWORK_ORDER,
        { kind: 'network', net12: n.net12, includeEndpoints: true },
        netWhat('tear down', n, f),
      ),
    );

  return {
    name: 'iptables',

    async init() {
      await perFamily(families, (f) =>
        locked(f, async () => {
          const what = `init tsnet chains (IPv${f})`;
          const d = await dump(f, what);
          const fix = converge(f, d).script;
          const scan = scanSlots(d);
          fix.absorb(scan.repair);
          slotIndexes.delete(f);
          await apply(f, fix, what);
          slotIndexes.set(f, scan.index);
        }),
      );
    },

    async setupNetwork(spec: FirewallNetwork) {
      const n = normalizeNetwork(spec);
      await perFamily(
        networkFamilies(n),
        (f) =>
          locked(f, () =>
            addPlan(
              f,
              networkPlan(n, f),
              NETWORK_ORDER,
              { kind: 'network', net12: n.net12, includeEndpoints: false },
              netWhat('set up', n, f),
            ),
          ),
        (f) => teardownFamily(n, f),
      );
    },

    async teardownNetwork(spec: FirewallNetwork) {
      const n = normalizeNetwork(spec);
      await perFamily(networkFamilies(n), (f) => teardownFamily(n, f));
    },

    async addPorts(spec: FirewallPorts) {
      const p = normalizePorts(spec);
      if (!portsEnabled(p)) return;
      await locked(p.family, () => publish(p));
    },

    async removePorts(spec: FirewallPorts) {
      const p = normalizePorts(spec);
      if (!portsEnabled(p)) return;
      await locked(p.family, async () => {
        // queued now, run after the caller's next turn (an exit does not wait for its removal)
        await yieldToLoop();
        await unpublish(p);
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
      const plans = new Map<Family, Plan[]>();
      for (const f of families) {
        const fp = networks.map((n) => networkPlan(n, f));
        // one endpoint per slot: checked before any command runs (the slots come from the save)
        assertDistinctPlans([...fp, ...ports.filter((p) => p.family === f).map((p) => portsPlan(p, `endpoint ${p.ep12}`))]);
        plans.set(f, fp);
      }
      const total: ReconcileResult = { removed: 0, added: 0 };
      await perFamily(families, (f) =>
        locked(f, async () => {
          const what = `reconcile (IPv${f})`;
          const d = await dump(f, what);
          const slots = slotPlans(
            scanSlots(d).index,
            ports.filter((p) => p.family === f),
          );
          const r = converge(f, d, [...(plans.get(f) ?? []), ...slots.plans]);
          slotIndexes.delete(f);
          await apply(f, r.script, what);
          slotIndexes.set(f, slots.index);
          total.removed += r.removed;
          total.added += r.added;
        }),
      );
      return total;
    },

    async removeAll(options: RemoveAllOptions = {}) {
      await perFamily(families, (f) =>
        locked(f, async () => {
          const what = `remove all tsnet chains (IPv${f})`;
          slotIndexes.delete(f);
          await apply(f, removeAllScript(await dump(f, what), options.includeUserChain === true).script, what);
        }),
      );
    },

    async sandboxDns(s: SandboxDns) {
      checkSandboxDns(s);
      await iptablesSandboxDns(opts.inNetns, s, sandboxNft());
    },

    // a fresh sandbox's rules are the nft table when libnftables loads (iptablesSandboxDns)
    sandboxDnsIsNftTable: () => sandboxNft() !== undefined,
  };
}
