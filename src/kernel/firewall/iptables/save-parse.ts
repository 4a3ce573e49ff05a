/**
 * Read `iptables-save` output back into data, to find tsnet-owned chains and rules (by chain
 * prefix, by comment, and by the chain a rule jumps to) for cleanup and reconcile. Only used off the hot path. Pure.
 */
import {
  CHAIN,
  LEGACY_CHAINS,
  NETWORK_CHAIN_PREFIX,
  SLOT_CHAIN_PREFIX,
  isTsnetChain,
  parseOwner,
  type Owner,
  type Table,
} from './names.js';

/** tsnet's base chains, and those of older versions (a jump into one is tsnet's: init deletes it). */
const BASE_CHAINS: ReadonlySet<string> = new Set([...Object.values(CHAIN), ...LEGACY_CHAINS.map((c) => c.name)]);
import { ruleComment, ruleKey, ruleTarget, type Rule } from './rule.js';

export interface SavedChain {
  name: string;
  /** Built-in chains carry a policy (`:FORWARD ACCEPT`), user chains `-`. */
  builtin: boolean;
  rules: Rule[];
}

export interface SavedTable {
  name: string;
  chains: Map<string, SavedChain>;
}

export interface SaveDump {
  tables: Map<string, SavedTable>;
}

/** Split one line like iptables-restore does: whitespace, double quotes with backslash escapes. */
export function tokenize(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let inToken = false;
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i] as string;
    if (quoted) {
      if (ch === '\\' && i + 1 < line.length) {
        cur += line[++i];
      } else if (ch === '"') {
        quoted = false;
      } else {
        cur += ch;
      }
    } else if (ch === '"') {
      quoted = true;
      inToken = true;
    } else if (/\s/.test(ch)) {
      if (inToken) out.push(cur);
      cur = '';
      inToken = false;
    } else {
      cur += ch;
      inToken = true;
    }
  }
  if (inToken) out.push(cur);
  return out;
}

export function parseSave(text: string): SaveDump {
  const tables = new Map<string, SavedTable>();
  let table: SavedTable | undefined;
  const chainOf = (t: SavedTable, name: string, builtin: boolean): SavedChain => {
    let c = t.chains.get(name);
    if (!c) {
      c = { name, builtin, rules: [] };
      t.chains.set(name, c);
    }
    return c;
  };
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('*')) {
      const name = line.slice(1);
      table = tables.get(name) ?? { name, chains: new Map() };
      tables.set(name, table);
    } else if (line === 'COMMIT') {
      table = undefined;
    } else if (table && line.startsWith(':')) {
      const [name, policy] = line.slice(1).split(/\s+/);
      if (name) chainOf(table, name, policy !== undefined && policy !== '-');
    } else if (table && line.startsWith('-A ')) {
      const tokens = tokenize(line);
      const chain = tokens[1];
      if (!chain) continue;
      chainOf(table, chain, false).rules.push({ table: table.name as Table, chain, args: tokens.slice(2) });
    }
  }
  return { tables };
}

export function chainOf(dump: SaveDump, table: Table, chain: string): SavedChain | undefined {
  return dump.tables.get(table)?.chains.get(chain);
}

export function rulesOf(dump: SaveDump, table: Table, chain: string): Rule[] {
  return chainOf(dump, table, chain)?.rules ?? [];
}

/**
 * Who a rule belongs to: its tsnet comment, or, for the rules tsnet writes without one, the
 * chain it jumps to — a network's own chain (TSNET-N-<net12>), one of the base chains or a
 * published-port slot (TSNET-S-<k>).
 */
export function ownerOf(r: Rule): Owner | undefined {
  const byComment = parseOwner(ruleComment(r.args));
  if (byComment) return byComment;
  const to = ruleTarget(r.args);
  if (to === undefined) return undefined;
  if (to.startsWith(NETWORK_CHAIN_PREFIX) && to.length > NETWORK_CHAIN_PREFIX.length)
    return { kind: 'network', net12: to.slice(NETWORK_CHAIN_PREFIX.length) };
  // the published-port slots are the base layout's pool (slots.ts)
  return BASE_CHAINS.has(to) || to.startsWith(SLOT_CHAIN_PREFIX) ? { kind: 'base' } : undefined;
}

/** Every tsnet chain and every tsnet-commented rule (or jump into a tsnet chain), for tests and diagnostics. */
export function tsnetObjects(dump: SaveDump): { chains: string[]; rules: string[] } {
  const chains: string[] = [];
  const rules: string[] = [];
  for (const t of dump.tables.values()) {
    for (const c of t.chains.values()) {
      if (isTsnetChain(c.name)) chains.push(`${t.name}\t${c.name}`);
      for (const r of c.rules) {
        const target = ruleTarget(r.args);
        if (ownerOf(r) !== undefined || (target !== undefined && isTsnetChain(target))) rules.push(ruleKey(r));
      }
    }
  }
  return { chains, rules };
}
