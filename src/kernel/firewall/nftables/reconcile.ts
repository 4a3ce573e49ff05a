/**
 * Reconcile one family's table with the expected networks and endpoints: the batch that makes
 * the kernel match, from one listing. Pure.
 *
 * Elements are compared by set and comment (owner + hash of key and value): an element that
 * nobody expects, or whose comment differs (another value, a foreign element without comment),
 * is deleted; an expected one that is missing is added. Per-network chains are compared by the
 * sequence of their rules' comments (owner + hash of the rule text) and rewritten when they
 * differ; orphan net-/post- chains are deleted after the elements that jump to them. The static
 * chains are init's job; the user chain is never touched.
 */
import type { ReconcileResult } from '../firewall-api.js';
import {
  addElement,
  addRule,
  deleteElement,
  elementComment,
  isOwnedChain,
  MAPS,
  ruleComment,
  SETS,
  tableRef,
  type Fam,
  type NftElement,
  type NftPlan,
  type SetName,
} from './layout.js';
import type { KernelView } from './listing.js';

const OURS = new Set<string>([...MAPS, ...SETS]);

export function reconcileLines(
  f: Fam,
  view: KernelView,
  plans: readonly NftPlan[],
  endpointElements: readonly NftElement[],
): ReconcileResult & { lines: string[] } {
  const t = tableRef(f);
  const result = { removed: 0, added: 0 };
  const delElements: string[] = [];
  const chainLines: string[] = [];
  const addElements: string[] = [];
  const dropChains: string[] = [];

  const wantElements = [...plans.flatMap((p) => p.elements), ...endpointElements];
  const want = new Map(wantElements.map((e) => [`${e.set}\t${elementComment(e)}`, e]));
  const have = new Set<string>();
  for (const e of view.elements) {
    if (!OURS.has(e.set)) continue;
    const k = `${e.set}\t${e.comment}`;
    if (want.has(k) && !have.has(k)) {
      have.add(k);
    } else {
      delElements.push(deleteElement(f, { set: e.set as SetName, key: e.key }));
      result.removed++;
    }
  }
  for (const [k, e] of want) {
    if (have.has(k)) continue;
    addElements.push(addElement(f, e));
    result.added++;
  }

  const wantChains = new Map(plans.flatMap((p) => p.chains).map((c) => [c.name, c.rules]));
  for (const [name, rules] of wantChains) {
    const haveRules = view.chains.get(name);
    const wantComments = rules.map(ruleComment);
    if (haveRules && haveRules.length === wantComments.length && haveRules.every((c, i) => c === wantComments[i])) continue;
    chainLines.push(`add chain ${t} ${name}`, `flush chain ${t} ${name}`, ...rules.map((r) => addRule(f, r)));
    const stale = new Set(haveRules ?? []);
    result.added += wantComments.filter((c) => !stale.has(c)).length;
    result.removed += (haveRules ?? []).filter((c) => !wantComments.includes(c)).length;
  }
  for (const [name, rules] of view.chains) {
    if (!isOwnedChain(name) || wantChains.has(name)) continue;
    dropChains.push(`flush chain ${t} ${name}`, `delete chain ${t} ${name}`);
    result.removed += rules.length;
  }
  return { ...result, lines: [...delElements, ...chainLines, ...addElements, ...dropChains] };
}
