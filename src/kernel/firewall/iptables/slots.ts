/**
 * The pool of published-port slots in nat (decision 38): chains TSNET-S-<k>, each jumped once
 * from TSNET-DNAT (`-j TSNET-S-<k>`) and never unlinked. An endpoint's
 * DNAT rules fill one free slot (`-F` + appends); removing them flushes the slot (`-F`), which
 * frees it. Neither needs a `-D` by spec, so iptables-nft never fetches and parses the rules of
 * TSNET-DNAT (which grows with the number of publishing endpoints) — both operations are a
 * constant number of restore lines and cache work. The pool only grows (`-N` + jump) when every
 * slot is taken; reconcile() keeps every slot it finds (their jumps stay).
 *
 * The owner of a slot is the comment of its rules (`tsnet:<net12>:<ep12>`), so the index
 * endpoint → slot is read back from one `iptables-save` (init, reconcile, after a slow path) and
 * kept by every operation. Pure, except for the SlotIndex object each backend instance keeps.
 */
import { CHAIN, SLOT_CHAIN_PREFIX, slotChain } from './names.js';
import { portRules, portsPlan } from './port-rules.js';
import { ruleTarget, type Plan, type Rule } from './rule.js';
import { RestoreScript } from './restore-script.js';
import { ownerOf, type SaveDump } from './save-parse.js';
import type { NormalizedPorts } from '../validate.js';

/** The number in a slot chain's name, or undefined when it is not one. */
export function slotNumber(chain: string): number | undefined {
  if (!chain.startsWith(SLOT_CHAIN_PREFIX)) return undefined;
  const rest = chain.slice(SLOT_CHAIN_PREFIX.length);
  return /^(0|[1-9]\d{0,5})$/.test(rest) ? Number(rest) : undefined;
}

/**
 * The jump into a slot, in TSNET-DNAT. No comment: iptables-nft keeps `-m comment` as an xt
 * match, which every new connection to a local address would call once per slot, and which the
 * kernel's validation of the nat table visits at every publish; the target names it tsnet's.
 */
export function slotJump(k: number): Rule {
  return { table: 'nat', chain: CHAIN.dnat, args: ['-j', slotChain(k)] };
}

/** Which endpoint (ep12) holds which slot, and which slots are free. One per family. */
export class SlotIndex {
  private readonly byOwner = new Map<string, number>();
  private readonly owners = new Map<number, string | undefined>();

  /** Slots that exist (chain and jump), with their owner ep12 (undefined = free). */
  constructor(slots: Iterable<[number, string | undefined]> = []) {
    for (const [k, owner] of slots) this.set(k, owner);
  }

  slotOf(ep12: string): number | undefined {
    return this.byOwner.get(ep12);
  }

  /** The lowest free slot, or undefined when every slot is taken. */
  free(): number | undefined {
    let best: number | undefined;
    for (const [k, owner] of this.owners) if (owner === undefined && (best === undefined || k < best)) best = k;
    return best;
  }

  /** The number a new slot gets: the lowest one not in use. */
  next(): number {
    let n = 0;
    while (this.owners.has(n)) n++;
    return n;
  }

  /** The slots, in no particular order. */
  numbers(): number[] {
    return [...this.owners.keys()];
  }

  get size(): number {
    return this.owners.size;
  }

  exists(k: number): boolean {
    return this.owners.has(k);
  }

  ownerAt(k: number): string | undefined {
    return this.owners.get(k);
  }

  set(k: number, owner: string | undefined): void {
    const old = this.owners.get(k);
    if (old !== undefined && this.byOwner.get(old) === k) this.byOwner.delete(old);
    this.owners.set(k, owner);
    if (owner !== undefined) this.byOwner.set(owner, k);
  }
}

export interface SlotScan {
  index: SlotIndex;
  /** Jumps into slot chains that lack one, and duplicate jumps removed. */
  repair: RestoreScript;
  /** Slots flushed by the repair: rules of several owners, or a second slot of one owner. */
  mixed: number[];
}

/**
 * Read the slots of one family's dump. A slot chain without its jump gets the jump back; a
 * duplicate jump is deleted; a slot whose rules name several owners, or an owner that already
 * has a slot (neither written by tsnet), is flushed. The repair script is empty when the kernel is as tsnet left it.
 */
export function scanSlots(dump: SaveDump): SlotScan {
  const repair = new RestoreScript(['nat']);
  const nat = dump.tables.get('nat');
  const slots: Array<[number, string | undefined]> = [];
  const mixed: number[] = [];
  const jumps = new Map<number, number>();
  for (const r of nat?.chains.get(CHAIN.dnat)?.rules ?? []) {
    const k = slotNumber(ruleTarget(r.args) ?? '');
    if (k === undefined) continue;
    const seen = jumps.get(k) ?? 0;
    jumps.set(k, seen + 1);
    if (seen > 0) repair.delete(r);
  }
  for (const c of nat?.chains.values() ?? []) {
    const k = slotNumber(c.name);
    if (k === undefined) continue;
    if (!jumps.has(k)) repair.append(slotJump(k));
    const owners = new Set<string>();
    for (const r of c.rules) {
      const o = ownerOf(r);
      owners.add(o?.kind === 'endpoint' ? o.ep12 : '');
    }
    const owner = [...owners][0];
    const twice = owner !== undefined && slots.some(([, o]) => o === owner);
    if (owners.size > 1 || owners.has('') || twice) {
      mixed.push(k);
      repair.line('nat', `-F ${c.name}`);
      slots.push([k, undefined]);
    } else {
      slots.push([k, owner]);
    }
  }
  return { index: new SlotIndex(slots), repair, mixed };
}

/**
 * Reconcile: the slot of every expected endpoint (the one it holds, else the lowest free one,
 * else a new one), as plans for converge(): each endpoint owns its slot's content and TSNET-DNAT
 * holds one jump per slot. Slots nobody expects — free ones, and those a crash left filled for
 * an endpoint that is gone — are deleted with their jumps (the `-D` is paid here, at restart,
 * never per port), so the pool, and the jumps a new connection walks, shrink back to the
 * endpoints that publish. Returns the index the kernel matches once the script is applied.
 */
export function slotPlans(current: SlotIndex, ports: readonly NormalizedPorts[]): { plans: Plan[]; index: SlotIndex } {
  const index = new SlotIndex();
  const unassigned: NormalizedPorts[] = [];
  for (const p of ports) {
    const k = current.slotOf(p.ep12);
    if (k === undefined || index.exists(k)) unassigned.push(p);
    else index.set(k, p.ep12);
  }
  for (const p of unassigned) index.set(index.next(), p.ep12);
  const plans: Plan[] = ports.map((p) => portsPlan(p, slotChain(index.slotOf(p.ep12) as number)));
  const pool: Plan = {
    chains: [],
    rules: index
      .numbers()
      .sort((a, b) => a - b)
      .map(slotJump),
  };
  return { plans: [pool, ...plans], index };
}

/**
 * Publish: the endpoint's own slot (replacing its rules), else the lowest free one, else a new
 * slot (`-N` + its jump), flushed and filled in one nat transaction. The index is not changed:
 * the caller records `slot` once the script is applied.
 */
export function fillScript(p: NormalizedPorts, index: SlotIndex): { script: RestoreScript; slot: number } {
  const script = new RestoreScript(['nat']);
  let k = index.slotOf(p.ep12) ?? index.free();
  if (k === undefined) {
    k = index.next();
    script.line('nat', `-N ${slotChain(k)}`).append(slotJump(k));
  } else {
    script.line('nat', `-F ${slotChain(k)}`);
  }
  for (const r of portRules(p, slotChain(k))) script.append(r);
  return { script, slot: k };
}

/** Unpublish: flush the slot (it stays, jumped, free for the next endpoint). */
export function freeScript(k: number): RestoreScript {
  return new RestoreScript(['nat']).line('nat', `-F ${slotChain(k)}`);
}
