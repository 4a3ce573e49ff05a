/**
 * The part of Go templates people use with `--format`:
 *   {{.Field}} {{.A.B}} {{$.Root}} {{.}}          values (printed like Go's %v)
 *   {{json .X}} {{index .Map "key"}} {{join .List ","}} {{upper .X}} {{lower .X}} {{len .X}}
 *   {{range .X}}…{{else}}…{{end}} {{if .X}}…{{else}}…{{end}}    `.` is the element inside range
 *   {{- … -}}  trims the white space around the action.
 */
type Node =
  | { kind: 'text'; text: string }
  | { kind: 'value'; expr: string[] }
  | { kind: 'range' | 'if'; expr: string[]; body: Node[]; otherwise: Node[] };

export class TemplateError extends Error {
  constructor(message: string) {
    super(`template: ${message}`);
    this.name = 'TemplateError';
  }
}

function tokenize(action: string): string[] {
  const tokens: string[] = [];
  const re = /\s*("(?:[^"\\]|\\.)*"|`[^`]*`|[^\s]+)/gy;
  for (let m = re.exec(action); m !== null; m = re.exec(action)) tokens.push(m[1]!);
  return tokens;
}

interface Piece {
  text?: string;
  action?: string;
}

function split(source: string): Piece[] {
  const pieces: Piece[] = [];
  let at = 0;
  while (at < source.length) {
    const open = source.indexOf('{{', at);
    if (open === -1) {
      pieces.push({ text: source.slice(at) });
      break;
    }
    const close = source.indexOf('}}', open + 2);
    if (close === -1) throw new TemplateError('unclosed action');
    let text = source.slice(at, open);
    let action = source.slice(open + 2, close);
    if (action.startsWith('-') && /^-\s/.test(action)) {
      text = text.trimEnd();
      action = action.slice(1);
    }
    pieces.push({ text });
    at = close + 2;
    if (/\s-$/.test(action)) {
      action = action.slice(0, -1);
      const rest = source.slice(at);
      at += rest.length - rest.trimStart().length;
    }
    pieces.push({ action: action.trim() });
  }
  return pieces.filter((p) => p.action !== undefined || p.text !== '');
}

function parse(pieces: Piece[], pos: { i: number }, inBlock: boolean): { nodes: Node[]; end: 'end' | 'else' | 'eof' } {
  const nodes: Node[] = [];
  while (pos.i < pieces.length) {
    const p = pieces[pos.i++]!;
    if (p.text !== undefined) {
      nodes.push({ kind: 'text', text: p.text });
      continue;
    }
    const tokens = tokenize(p.action!);
    const head = tokens[0];
    if (head === undefined) throw new TemplateError('empty action');
    if (head === 'end' || head === 'else') {
      if (!inBlock) throw new TemplateError(`unexpected {{${head}}}`);
      return { nodes, end: head };
    }
    if (head === 'range' || head === 'if') {
      if (tokens.length < 2) throw new TemplateError(`missing value for ${head}`);
      const body = parse(pieces, pos, true);
      let otherwise: Node[] = [];
      if (body.end === 'else') {
        const rest = parse(pieces, pos, true);
        if (rest.end !== 'end') throw new TemplateError(`unterminated ${head}`);
        otherwise = rest.nodes;
      } else if (body.end !== 'end') {
        throw new TemplateError(`unterminated ${head}`);
      }
      nodes.push({ kind: head, expr: tokens.slice(1), body: body.nodes, otherwise });
      continue;
    }
    nodes.push({ kind: 'value', expr: tokens });
  }
  return { nodes, end: 'eof' };
}

const NO_VALUE = Symbol('no value');

function lookup(path: string, dot: unknown, root: unknown): unknown {
  let base: unknown;
  let rest: string;
  if (path === '.') return dot;
  if (path === '$') return root;
  if (path.startsWith('$.')) {
    base = root;
    rest = path.slice(2);
  } else if (path.startsWith('.')) {
    base = dot;
    rest = path.slice(1);
  } else {
    throw new TemplateError(`function ${JSON.stringify(path)} not defined`);
  }
  let cur: unknown = base;
  for (const key of rest.split('.')) {
    if (cur === null || cur === undefined || cur === NO_VALUE) return NO_VALUE;
    if (typeof cur !== 'object') throw new TemplateError(`can't evaluate field ${key} in type ${typeof cur}`);
    const obj = cur as Record<string, unknown>;
    cur = Object.hasOwn(obj, key) ? obj[key] : NO_VALUE;
  }
  return cur;
}

function argument(token: string, dot: unknown, root: unknown): unknown {
  if (token.startsWith('"')) return JSON.parse(token) as string;
  if (token.startsWith('`')) return token.slice(1, -1);
  if (/^-?\d+$/.test(token)) return Number(token);
  if (token === 'true' || token === 'false') return token === 'true';
  return lookup(token, dot, root);
}

/** Go's fmt %v. */
export function goValue(v: unknown): string {
  if (v === NO_VALUE || v === undefined) return '<no value>';
  if (v === null) return '<nil>';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (Array.isArray(v)) return `[${v.map(goValue).join(' ')}]`;
  const obj = v as Record<string, unknown>;
  return `map[${Object.keys(obj)
    .sort()
    .map((k) => `${k}:${goValue(obj[k])}`)
    .join(' ')}]`;
}

function evaluate(expr: string[], dot: unknown, root: unknown): unknown {
  const [head, ...args] = expr as [string, ...string[]];
  const arg = (i: number): unknown => {
    const t = args[i];
    if (t === undefined) throw new TemplateError(`missing argument for ${head}`);
    return argument(t, dot, root);
  };
  switch (head) {
    case 'json':
      return JSON.stringify(arg(0) === NO_VALUE ? null : arg(0));
    case 'index': {
      let cur = arg(0);
      for (let i = 1; i < args.length; i++) {
        const key = arg(i);
        if (cur === null || typeof cur !== 'object') return NO_VALUE;
        const obj = cur as Record<string, unknown>;
        cur = Object.hasOwn(obj, String(key)) ? obj[String(key)] : NO_VALUE;
      }
      return cur;
    }
    case 'join': {
      const list = arg(0);
      return Array.isArray(list) ? list.map(goValue).join(String(arg(1))) : goValue(list);
    }
    case 'upper':
      return goValue(arg(0)).toUpperCase();
    case 'lower':
      return goValue(arg(0)).toLowerCase();
    case 'len': {
      const v = arg(0);
      if (Array.isArray(v) || typeof v === 'string') return v.length;
      if (v && typeof v === 'object') return Object.keys(v).length;
      return 0;
    }
    default:
      if (args.length > 0) throw new TemplateError(`can't give arguments to ${head}`);
      return argument(head, dot, root);
  }
}

function truthy(v: unknown): boolean {
  if (v === NO_VALUE || v === null || v === undefined || v === false || v === 0 || v === '') return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object') return Object.keys(v).length > 0;
  return true;
}

function render(nodes: Node[], dot: unknown, root: unknown): string {
  let out = '';
  for (const n of nodes) {
    if (n.kind === 'text') out += n.text;
    else if (n.kind === 'value') out += goValue(evaluate(n.expr, dot, root));
    else if (n.kind === 'if') out += render(truthy(evaluate(n.expr, dot, root)) ? n.body : n.otherwise, dot, root);
    else {
      const v = evaluate(n.expr, dot, root);
      let items: unknown[] = [];
      if (Array.isArray(v)) items = v;
      else if (v && typeof v === 'object') {
        const obj = v as Record<string, unknown>;
        items = Object.keys(obj)
          .sort()
          .map((k) => obj[k]);
      }
      if (items.length === 0) out += render(n.otherwise, dot, root);
      else for (const item of items) out += render(n.body, item, root);
    }
  }
  return out;
}

export interface Template {
  execute(data: unknown): string;
  /** The field names used at the top level, in order (`table` headers). */
  fields: string[];
}

/** Compile once, execute per item. `\t` and `\n` written literally in the flag are honoured. */
export function compileTemplate(source: string): Template {
  const text = source.replace(/\\t/g, '\t').replace(/\\n/g, '\n');
  const pieces = split(text);
  const { nodes } = parse(pieces, { i: 0 }, false);
  const fields = nodes.flatMap((n) => {
    if (n.kind !== 'value') return [];
    const ref = n.expr.find((t) => t.startsWith('.'));
    return ref ? [ref.slice(1).split('.')[0] ?? ''] : [];
  });
  return { execute: (data) => render(nodes, data, data), fields };
}
