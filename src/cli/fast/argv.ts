/**
 * The CLI's fast path: parse a command line against a small declarative table (fast/table.ts)
 * the way commander would, without loading commander (~20 ms of start-up with the whole
 * command tree). It only has to be right for command lines that are valid: on anything it is
 * not sure about (--help, an unknown flag, a missing or extra argument, a bad value) it answers
 * undefined and main.ts hands the whole command line to the commander tree, which prints
 * help or the error exactly as before. test/unit/cli/fast.test.ts checks the two agree.
 */

/** bool: `--x`; value: `--x V`; list: repeatable value; ordered: list shared by two names keeping their order. */
export type OptionKind = 'bool' | 'value' | 'list' | 'ordered' | 'negated';

export interface FastOption {
  short?: string;
  long: string;
  /** The key in opts (commander's camel-cased attribute name). */
  key: string;
  kind: OptionKind;
  parse?: (value: string) => unknown;
}

/** `<x>` one, `[x]` optional, `<x...>` one or more, `[x...]` any number. */
export type ArgKind = 'one' | 'optional' | 'some' | 'any';

export interface FastCommand {
  /** The module in commands/index.ts that runs it. */
  module: string;
  options: FastOption[];
  args: ArgKind[];
  /** Options end at the first argument (run, create, exec: the rest is the container's command). */
  passThrough?: boolean;
  defaults?: Record<string, unknown>;
  /** Extra exact flags: `--sig-proxy=false` and friends (docker's boolean syntax). */
  exact?: Record<string, [string, unknown]>;
}

export interface Parsed {
  module: string;
  host: string | undefined;
  args: unknown[];
  opts: Record<string, unknown>;
}

const camel = (long: string): string => long.replace(/^--(no-)?/, '').replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/** `'-e, --env <V>'` → the option (the value name only says whether it takes one). */
export function opt(flags: string, kind?: OptionKind, parse?: (value: string) => unknown): FastOption {
  const m = /^(?:(-[A-Za-z]), )?(--[a-z0-9-]+)(?: <[^>]+>)?$/.exec(flags);
  if (!m) throw new Error(`internal: bad flag spec ${flags}`);
  const takesValue = flags.includes('<');
  const k: OptionKind = kind ?? (m[2]!.startsWith('--no-') ? 'negated' : takesValue ? 'value' : 'bool');
  const o: FastOption = { long: m[2]!, key: camel(m[2]!), kind: k };
  if (m[1]) o.short = m[1];
  if (parse) o.parse = parse;
  return o;
}

class NotSure extends Error {}

function apply(o: FastOption, value: string | undefined, opts: Record<string, unknown>, seq: { n: number }): void {
  switch (o.kind) {
    case 'bool':
      opts[o.key] = true;
      return;
    case 'negated':
      opts[o.key] = false;
      return;
    case 'value':
      opts[o.key] = o.parse ? o.parse(value!) : value;
      return;
    case 'list':
      opts[o.key] = [...((opts[o.key] as string[] | undefined) ?? []), value!];
      return;
    case 'ordered':
      opts[o.key] = [...((opts[o.key] as Array<[number, string]> | undefined) ?? []), [seq.n++, value!]];
  }
}

function parseCommand(spec: FastCommand, argv: string[]): { args: unknown[]; opts: Record<string, unknown> } {
  const opts: Record<string, unknown> = { ...spec.defaults };
  const operands: string[] = [];
  const seq = { n: 0 };
  const byLong = new Map(spec.options.map((o) => [o.long, o]));
  const byShort = new Map(spec.options.filter((o) => o.short).map((o) => [o.short!, o]));
  const rest = [...argv];
  const take = (): string => {
    const v = rest.shift();
    if (v === undefined) throw new NotSure();
    return v;
  };
  while (rest.length > 0) {
    const a = rest.shift()!;
    if (a === '--') {
      operands.push(...rest.splice(0));
      break;
    }
    if (a.length < 2 || !a.startsWith('-')) {
      operands.push(a);
      if (spec.passThrough) {
        operands.push(...rest.splice(0));
        break;
      }
      continue;
    }
    const exact = spec.exact?.[a];
    if (exact) {
      opts[exact[0]] = exact[1];
      continue;
    }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const o = byLong.get(eq < 0 ? a : a.slice(0, eq));
      if (!o) throw new NotSure();
      const takes = o.kind !== 'bool' && o.kind !== 'negated';
      if (eq >= 0 && !takes) throw new NotSure();
      apply(o, takes ? (eq >= 0 ? a.slice(eq + 1) : take()) : undefined, opts, seq);
      continue;
    }
    const o = byShort.get(a.slice(0, 2));
    if (!o) throw new NotSure();
    if (o.kind === 'bool' || o.kind === 'negated') {
      apply(o, undefined, opts, seq);
      if (a.length > 2) rest.unshift(`-${a.slice(2)}`);
    } else apply(o, a.length > 2 ? a.slice(2) : take(), opts, seq);
  }
  const args: unknown[] = [];
  let i = 0;
  for (const kind of spec.args) {
    if (kind === 'one') {
      if (i >= operands.length) throw new NotSure();
      args.push(operands[i++]);
    } else if (kind === 'optional') {
      args.push(operands[i++]);
    } else {
      if (kind === 'some' && i >= operands.length) throw new NotSure();
      args.push(operands.slice(i));
      i = operands.length;
    }
  }
  if (i < operands.length) throw new NotSure();
  return { args, opts };
}

/**
 * Parse `tsnet [-H host] COMMAND [SUBCOMMAND] …` against the table; undefined when the
 * commander tree must handle it (help, version flag, anything unusual or wrong).
 */
export function parseFast(argv: string[], table: Record<string, FastCommand>): Parsed | undefined {
  let host: string | undefined;
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-H' || a === '--host') {
      host = argv[++i];
      if (host === undefined) return undefined;
    } else if (a.startsWith('--host=')) host = a.slice('--host='.length);
    else if (a.startsWith('-H') && a.length > 2) host = a.slice(2);
    else if (a.startsWith('-')) return undefined;
    else break;
  }
  const name = argv[i];
  if (name === undefined) return undefined;
  let spec = table[name];
  let at = i + 1;
  if (spec === undefined) {
    const sub = argv[i + 1];
    if (sub === undefined) return undefined;
    spec = table[`${name} ${sub}`];
    at = i + 2;
  }
  if (spec === undefined) return undefined;
  try {
    const { args, opts } = parseCommand(spec, argv.slice(at));
    return { module: spec.module, host, args, opts };
  } catch {
    // NotSure, or a value parser that rejected its value: commander reports it
    return undefined;
  }
}
