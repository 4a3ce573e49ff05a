/**
 * Converge the kernel's tsnet chains to a desired state, from one `iptables-save` dump. Pure.
 *
 * - init mode (no desired plans): create missing base chains, rewrite static ones that differ,
 *   add missing jumps from the built-in chains, drop duplicate jumps, delete an older version's
 *   base chains (names.ts LEGACY_CHAINS) and the jumps into them. Shared chains untouched.
 * - reconcile mode: also make every per-network/per-endpoint chain exactly what the plans say,
 *   make the shared chains hold exactly the plans' rules (deleting tsnet rules nobody expects),
 *   and delete orphan TSNET-N-* / TSNET-EP-* chains.
 * TSNET-USER is only ever created. Rules that are not tsnet's (no tsnet comment, no jump into a
 * network's or a base tsnet chain) are never deleted, except jumps into a chain being deleted.
 */
import { TsnetError } from '../../../errors/index.js';
import type { Family } from '../addr.js';
import { baseLayout, type BaseJump } from './base-chains.js';
import { BUILTIN_CHAINS, LEGACY_CHAINS, TABLES, isOwnedObjectChain, type Table } from './names.js';
import { ruleKey, ruleTarget, type OwnedChain, type Plan, type Rule } from './rule.js';
import { RestoreScript } from './restore-script.js';
import { ownerOf, type SaveDump } from './save-parse.js';

export interface ConvergeResult {
  script: RestoreScript;
  added: number;
  removed: number;
}

function countKeys(rules: readonly Rule[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const r of rules) m.set(ruleKey(r), (m.get(ruleKey(r)) ?? 0) + 1);
  return m;
}

/** Multiset difference sizes: rules only in `have`, rules only in `want`. */
function diffCounts(have: readonly Rule[], want: readonly Rule[]): { extra: number; missing: number } {
  const h = countKeys(have);
  const w = countKeys(want);
  let extra = 0;
  let missing = 0;
  for (const [k, n] of h) extra += Math.max(0, n - (w.get(k) ?? 0));
  for (const [k, n] of w) missing += Math.max(0, n - (h.get(k) ?? 0));
  return { extra, missing };
}

function sameSequence(a: readonly Rule[], b: readonly Rule[]): boolean {
  return a.length === b.length && a.every((r, i) => ruleKey(r) === ruleKey(b[i] as Rule));
}

/** The owned chains of all plans by `table\tname`; throws when two plans own the same chain (duplicate ids). */
export function assertDistinctPlans(plans: readonly Plan[]): Map<string, OwnedChain> {
  const owned = new Map<string, OwnedChain>();
  for (const plan of plans) {
    for (const ch of plan.chains) {
      const key = `${ch.table}\t${ch.name}`;
      if (owned.has(key)) {
        throw new TsnetError(
          'TSNET_INVALID_ARGUMENT',
          `firewall: reconcile: chain ${ch.table}/${ch.name} expected twice (duplicate id?)`,
        );
      }
      owned.set(key, ch);
    }
  }
  return owned;
}

export function converge(family: Family, actual: SaveDump, desired?: readonly Plan[]): ConvergeResult {
  const base = baseLayout(family);
  const script = new RestoreScript(['filter', 'nat', 'raw']);
  let added = 0;
  let removed = 0;

  const wantedOwned = assertDistinctPlans(desired ?? []);
  const wantedShared = new Map<string, Rule[]>();
  for (const plan of desired ?? []) {
    for (const r of plan.rules) {
      const key = `${r.table}\t${r.chain}`;
      wantedShared.set(key, [...(wantedShared.get(key) ?? []), r]);
    }
  }

  /** Make an owned/static chain hold exactly `want`, in order (flush and refill when it differs). */
  const syncExclusive = (table: Table, name: string, have: readonly Rule[] | undefined, want: readonly Rule[]): void => {
    if (have !== undefined && sameSequence(have, want)) return;
    script.declare(table, name);
    for (const r of want) script.append(r);
    const d = diffCounts(have ?? [], want);
    removed += d.extra;
    added += d.missing;
  };

  for (const table of TABLES) {
    const chains = actual.tables.get(table)?.chains ?? new Map<string, never>();
    const tail: string[] = [];

    // 1. tsnet's base chains.
    for (const bc of base.chains) {
      if (bc.table !== table) continue;
      const have = chains.get(bc.name);
      if (bc.kind === 'static') {
        syncExclusive(table, bc.name, have?.rules, bc.rules);
        continue;
      }
      if (!have) script.declare(table, bc.name);
      if (bc.kind === 'shared' && desired) {
        const haveOurs = (have?.rules ?? []).filter((r) => ownerOf(r) !== undefined);
        const want = wantedShared.get(`${table}\t${bc.name}`) ?? [];
        const wantCount = countKeys(want);
        for (const r of haveOurs) {
          const k = ruleKey(r);
          const left = wantCount.get(k) ?? 0;
          if (left > 0) {
            wantCount.set(k, left - 1);
          } else {
            script.delete(r);
            removed++;
          }
        }
        for (const r of want) {
          const k = ruleKey(r);
          const left = wantCount.get(k) ?? 0;
          if (left > 0) {
            wantCount.set(k, left - 1);
            script.append(r);
            added++;
          }
        }
      }
    }

    // 2. per-network / per-endpoint chains.
    if (desired) {
      for (const ch of wantedOwned.values()) {
        if (ch.table === table) syncExclusive(table, ch.name, chains.get(ch.name)?.rules, ch.rules);
      }
      for (const c of chains.values()) {
        if (!isOwnedObjectChain(c.name) || wantedOwned.has(`${table}\t${c.name}`)) continue;
        removed += c.rules.length;
        tail.push(`-F ${c.name}`, `-X ${c.name}`);
      }
    }

    // 3. jumps from the built-in chains.
    for (const builtin of BUILTIN_CHAINS[table]) {
      const jumps = base.jumps.filter((j) => j.rule.table === table && j.rule.chain === builtin);
      const haveRules = chains.get(builtin)?.rules ?? [];
      if (jumps.length === 0 && !desired) continue;
      const jumpKeys = new Set(jumps.map((j) => ruleKey(j.rule)));
      // Simulate the deletions: `-D` removes the first match, so the last duplicate survives.
      const remaining = new Map<string, number>();
      for (const r of haveRules) remaining.set(ruleKey(r), (remaining.get(ruleKey(r)) ?? 0) + 1);
      const list: string[] = [];
      for (const r of haveRules) {
        const k = ruleKey(r);
        const left = remaining.get(k) ?? 0;
        remaining.set(k, left - 1);
        const isJump = jumpKeys.has(k);
        // init mode deletes base jumps of another form (an older tsnet's, with a comment) too
        const owner = ownerOf(r);
        const stray = !isJump && owner !== undefined && (desired !== undefined || owner.kind === 'base');
        if ((isJump && left > 1) || stray) {
          script.delete(r);
          removed++;
        } else {
          list.push(k);
        }
      }
      for (const j of jumps) addJump(script, j, list, jumps, () => added++);
    }

    // 4. an older version's base chains (their jumps were deleted above as strays)
    for (const legacy of LEGACY_CHAINS) {
      const have = legacy.table === table ? chains.get(legacy.name) : undefined;
      if (!have) continue;
      removed += have.rules.length;
      tail.push(`-F ${legacy.name}`, `-X ${legacy.name}`);
    }

    for (const l of tail) script.line(table, l);
  }
  return { script, added, removed };
}

function addJump(script: RestoreScript, j: BaseJump, list: string[], all: readonly BaseJump[], onAdd: () => void): void {
  const key = ruleKey(j.rule);
  if (list.includes(key)) return;
  onAdd();
  const pos = j.position;
  if (pos.at === 'append') {
    list.push(key);
    script.append(j.rule);
    return;
  }
  let index = 0;
  if (pos.at === 'after') {
    const after = all.find((o) => ruleTarget(o.rule.args) === pos.chain);
    const i = after ? list.indexOf(ruleKey(after.rule)) : -1;
    index = i + 1;
  }
  list.splice(index, 0, key);
  script.insert(j.rule, index + 1);
}
