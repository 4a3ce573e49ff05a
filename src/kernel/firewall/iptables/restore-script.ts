/**
 * The text fed to one `iptables-restore --noflush`. Pure.
 *
 * Semantics relied on (iptables 1.8, legacy and nft):
 * - `:CHAIN - [0:0]` creates a user chain, or flushes it when it exists ("declare").
 * - `-N CHAIN` fails when the chain exists: an O(1) "is this already there?" probe ("create").
 * - `-D CHAIN <exact spec>` deletes the first identical rule and fails when there is none.
 * - Each table section is committed on its own: put the section most likely to fail first.
 */
import type { Table } from './names.js';
import { renderArgs, type Plan, type Rule } from './rule.js';

interface Section {
  decl: string[];
  lines: string[];
}

export class RestoreScript {
  private readonly sections = new Map<Table, Section>();
  private count = 0;

  constructor(private readonly order: readonly Table[] = ['filter', 'nat', 'raw']) {}

  private section(table: Table): Section {
    let s = this.sections.get(table);
    if (!s) {
      s = { decl: [], lines: [] };
      this.sections.set(table, s);
    }
    return s;
  }

  /** `:CHAIN - [0:0]`: create, or flush when it exists. Declarations precede all other lines. */
  declare(table: Table, chain: string): this {
    this.section(table).decl.push(`:${chain} - [0:0]`);
    this.count++;
    return this;
  }

  line(table: Table, text: string): this {
    this.section(table).lines.push(text);
    this.count++;
    return this;
  }

  append(r: Rule): this {
    return this.line(r.table, `-A ${r.chain} ${renderArgs(r.args)}`);
  }

  insert(r: Rule, position: number): this {
    return this.line(r.table, `-I ${r.chain} ${position} ${renderArgs(r.args)}`);
  }

  delete(r: Rule): this {
    return this.line(r.table, `-D ${r.chain} ${renderArgs(r.args)}`);
  }

  /** Append another script's lines, table by table (its declarations stay ahead of all lines). */
  absorb(other: RestoreScript): this {
    for (const [table, sec] of other.sections) {
      const mine = this.section(table);
      mine.decl.push(...sec.decl);
      mine.lines.push(...sec.lines);
      this.count += sec.decl.length + sec.lines.length;
    }
    return this;
  }

  get empty(): boolean {
    return this.count === 0;
  }

  get lineCount(): number {
    return this.count;
  }

  text(): string {
    const out: string[] = [];
    const tables = [...this.order, ...[...this.sections.keys()].filter((t) => !this.order.includes(t))];
    for (const t of tables) {
      const s = this.sections.get(t);
      if (!s || s.decl.length + s.lines.length === 0) continue;
      out.push(`*${t}`, ...s.decl, ...s.lines, 'COMMIT');
    }
    return out.length === 0 ? '' : `${out.join('\n')}\n`;
  }
}

/**
 * Add a plan. 'create' uses `-N` so that the restore fails if the owned chains already exist
 * (the caller then takes the slow path); 'declare' uses `:CHAIN` (create or flush).
 */
export function appendPlan(script: RestoreScript, plan: Plan, mode: 'create' | 'declare'): RestoreScript {
  for (const ch of plan.chains) {
    if (mode === 'create') script.line(ch.table, `-N ${ch.name}`);
    else script.declare(ch.table, ch.name);
  }
  for (const ch of plan.chains) for (const r of ch.rules) script.append(r);
  for (const r of plan.rules) script.append(r);
  return script;
}

/** Delete a plan by exact spec: shared rules (the references) first, then flush and delete the owned chains. */
export function deletePlan(script: RestoreScript, plan: Plan): RestoreScript {
  for (const r of plan.rules) script.delete(r);
  for (const ch of plan.chains) script.line(ch.table, `-F ${ch.name}`);
  for (const ch of plan.chains) script.line(ch.table, `-X ${ch.name}`);
  return script;
}
