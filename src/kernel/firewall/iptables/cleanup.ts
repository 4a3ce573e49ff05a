/**
 * Removal scripts computed from an `iptables-save` dump: they delete only what exists, so they
 * never fail on "no such rule". Used by the slow (fallback) paths, by removeAll() and by
 * reconcile(). Pure.
 */
import {
  CHAIN,
  ENDPOINT_CHAIN_PREFIX,
  SLOT_CHAIN_PREFIX,
  TABLES,
  endpointChain,
  isTsnetChain,
  networkChain,
  type Table,
} from './names.js';
import { ruleTarget, type Rule } from './rule.js';
import { RestoreScript } from './restore-script.js';
import { ownerOf, type SaveDump } from './save-parse.js';

export type RemovalTarget =
  /** Network-level rules; with includeEndpoints also every port rule of the network's endpoints. */
  | { kind: 'network'; net12: string; includeEndpoints: boolean }
  /** One endpoint's published ports (any network). */
  | { kind: 'endpoint'; ep12: string };

export interface Removal {
  script: RestoreScript;
  /** Rules deleted, counting the content of deleted chains. */
  removed: number;
}

function ownedBy(r: Rule, target: RemovalTarget): boolean {
  const o = ownerOf(r);
  if (!o) return false;
  if (target.kind === 'endpoint') return o.kind === 'endpoint' && o.ep12 === target.ep12;
  if (o.kind === 'network') return o.net12 === target.net12;
  return target.includeEndpoints && o.kind === 'endpoint' && o.net12 === target.net12;
}

/** Delete every rule and chain of one owner that the dump shows, and nothing else. */
export function removeOwnerScript(dump: SaveDump, target: RemovalTarget, order?: readonly Table[]): Removal {
  const script = new RestoreScript(order);
  let removed = 0;
  for (const table of TABLES) {
    const t = dump.tables.get(table);
    if (!t) continue;
    const drop = new Set<string>();
    const ownChain = target.kind === 'network' ? networkChain(target.net12) : endpointChain(target.ep12);
    if (t.chains.has(ownChain)) drop.add(ownChain);
    if (target.kind === 'network' && target.includeEndpoints) {
      for (const c of t.chains.values()) {
        for (const r of c.rules) {
          if (!ownedBy(r, target)) continue;
          const to = ruleTarget(r.args);
          if (c.name.startsWith(ENDPOINT_CHAIN_PREFIX)) drop.add(c.name);
          if (to?.startsWith(ENDPOINT_CHAIN_PREFIX) && t.chains.has(to)) drop.add(to);
        }
      }
    }
    // A published-port slot stays (its jump is never unlinked): emptied when its rules are the owner's.
    const flush = new Set<string>();
    for (const c of t.chains.values()) {
      if (c.name.startsWith(SLOT_CHAIN_PREFIX) && c.rules.some((r) => ownedBy(r, target))) flush.add(c.name);
    }
    for (const c of t.chains.values()) {
      if (drop.has(c.name) || flush.has(c.name) || c.name === CHAIN.user) continue;
      for (const r of c.rules) {
        const to = ruleTarget(r.args);
        if (ownedBy(r, target) || (to !== undefined && drop.has(to))) {
          script.delete(r);
          removed++;
        }
      }
    }
    for (const name of [...flush, ...drop]) {
      removed += t.chains.get(name)?.rules.length ?? 0;
      script.line(table, `-F ${name}`);
    }
    for (const name of drop) script.line(table, `-X ${name}`);
  }
  return { script, removed };
}

/**
 * Delete every tsnet chain and every jump into one. A TSNET-USER holding the admin's rules is
 * kept (with its FORWARD jump) unless includeUserChain.
 */
export function removeAllScript(dump: SaveDump, includeUserChain: boolean): Removal {
  const script = new RestoreScript();
  let removed = 0;
  for (const table of TABLES) {
    const t = dump.tables.get(table);
    if (!t) continue;
    const user = t.chains.get(CHAIN.user);
    const keepUser = table === 'filter' && !includeUserChain && user !== undefined && user.rules.length > 0;
    const drop = [...t.chains.values()].filter((c) => isTsnetChain(c.name) && !(keepUser && c.name === CHAIN.user));
    const dropNames = new Set(drop.map((c) => c.name));
    for (const c of t.chains.values()) {
      if (!c.builtin) continue;
      for (const r of c.rules) {
        const to = ruleTarget(r.args);
        const jumpsToDropped = to !== undefined && dropNames.has(to);
        const ours = ownerOf(r) !== undefined && !(keepUser && to === CHAIN.user);
        if (jumpsToDropped || ours) {
          script.delete(r);
          removed++;
        }
      }
    }
    for (const c of drop) {
      removed += c.rules.length;
      script.line(table, `-F ${c.name}`);
    }
    for (const c of drop) script.line(table, `-X ${c.name}`);
  }
  return { script, removed };
}
