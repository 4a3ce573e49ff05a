/**
 * A rule as data: table, chain and the argument tokens after `-A <chain>`, written in the exact
 * order and spelling `iptables-save` prints them, so a generated rule and the same rule read
 * back from the kernel have the same key. Pure.
 */
import type { Table } from './names.js';

export interface Rule {
  table: Table;
  chain: string;
  args: readonly string[];
}

/** A chain whose whole content belongs to one owner (a network or an endpoint). */
export interface OwnedChain {
  table: Table;
  name: string;
  rules: Rule[];
}

/**
 * What one network or one endpoint needs in one address family: chains it owns outright and
 * rules it adds to shared tsnet chains.
 */
export interface Plan {
  chains: OwnedChain[];
  rules: Rule[];
}

export const emptyPlan = (): Plan => ({ chains: [], rules: [] });

/**
 * Build a rule: `<match…> [-m comment --comment <comment>] -j <target…>` (iptables-save order).
 * Without a comment for rules whose chain or target names their owner: iptables-nft keeps a
 * comment as an xt match, an indirect call for every packet that reaches it (see network-rules.ts).
 */
export function makeRule(
  table: Table,
  chain: string,
  match: readonly string[],
  comment: string | undefined,
  target: readonly string[],
): Rule {
  const c = comment === undefined ? [] : ['-m', 'comment', '--comment', comment];
  return { table, chain, args: [...match, ...c, '-j', ...target] };
}

/** `<match…> -g <chain>`: the chain's end returns to the chain that jumped to `chain`'s caller. */
export function makeGoto(table: Table, chain: string, match: readonly string[], to: string): Rule {
  return { table, chain, args: [...match, '-g', to] };
}

export function ruleKey(r: Rule): string {
  return `${r.table}\t${r.chain}\t${r.args.join(' ')}`;
}

/** The comment of a rule's `--comment` argument, if any. */
export function ruleComment(args: readonly string[]): string | undefined {
  const i = args.indexOf('--comment');
  return i >= 0 ? args[i + 1] : undefined;
}

/** The `-j` (or `-g`) target of a rule, if any. */
export function ruleTarget(args: readonly string[]): string | undefined {
  const i = Math.max(args.lastIndexOf('-j'), args.lastIndexOf('-g'));
  return i >= 0 ? args[i + 1] : undefined;
}

const SAVE_PLAIN = /^[_\-0-9a-zA-Z]+$/;

/** Quote like xtables_save_string(): plain tokens bare, anything else in double quotes. */
export function quoteToken(token: string, alwaysCheck = false): string {
  if (SAVE_PLAIN.test(token)) return token;
  if (!alwaysCheck && token.length > 0 && !/[\s"'\\]/.test(token)) return token;
  return `"${token.replace(/["'\\]/g, (c) => `\\${c}`)}"`;
}

/** Render argument tokens as one restore line fragment (comment values quoted like iptables-save). */
export function renderArgs(args: readonly string[]): string {
  return args.map((a, i) => quoteToken(a, args[i - 1] === '--comment')).join(' ');
}
