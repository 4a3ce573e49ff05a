/**
 * The Dockerfile instructions that `commit --change` and `import --change` apply to an image's
 * config (Docker's list: CMD, ENTRYPOINT, ENV, EXPOSE, HEALTHCHECK, LABEL, ONBUILD, STOPSIGNAL,
 * USER, VOLUME, WORKDIR). Pure: a config in, a new config out; every refusal is one line that
 * names the instruction.
 *
 * As dockerd's dispatcher, the values of ENV, LABEL, EXPOSE, USER, VOLUME, WORKDIR and
 * STOPSIGNAL are expanded (shell-expand.ts: quotes, escapes, `$X`, `${X:-w}`, …) with the
 * environment the config has before the instruction (an ENV updates it for the next one; the
 * pairs of one ENV all see the one before); CMD, ENTRYPOINT and HEALTHCHECK are kept as written.
 * ONBUILD triggers are refused (tsnet does not build).
 */
import path from 'node:path';
import { TsnetError } from '../../errors/index.js';
import { envOf, expandWord, expandWords } from './shell-expand.js';
import type { ImageConfig } from './types.js';

type Healthcheck = NonNullable<ImageConfig['Healthcheck']>;

const bad = (change: string, why: string): TsnetError =>
  new TsnetError('TSNET_INVALID_ARGUMENT', `invalid change "${change.slice(0, 200)}": ${why}`);

/** What the instructions of one list share: whether a CMD came, the environment values are expanded with. */
interface State {
  cmdSet: boolean;
  env: string[];
}

/**
 * Apply `changes` in order to a copy of `config`; `$VAR`s are expanded from `env` (dockerd: the
 * Env of the config the changes apply to), updated by the ENV changes.
 */
export function applyChanges(
  config: ImageConfig,
  changes: readonly string[],
  env: readonly string[] = config.Env ?? [],
): ImageConfig {
  const out: ImageConfig = structuredClone(config);
  const state: State = { cmdSet: false, env: [...env] };
  for (const raw of changes) {
    // the docker CLI sends each --change as it was typed; several lines in one value are several changes
    for (const line of raw.split('\n')) {
      const change = line.trim();
      if (change === '' || change.startsWith('#')) continue;
      applyOne(out, change, state);
    }
  }
  return out;
}

/** `list` with `key` set to `value`: in the place of the first entry of the key, else at the end (dockerd's dispatchEnv). */
function setEnv(list: readonly string[], key: string, value: string): string[] {
  const out = [...list];
  const at = out.findIndex((e) => e.split('=', 1)[0] === key);
  if (at < 0) out.push(`${key}=${value}`);
  else out[at] = `${key}=${value}`;
  return out;
}

function applyOne(c: ImageConfig, change: string, state: State): void {
  const m = /^(\S+)(?:\s+([\s\S]*))?$/.exec(change)!;
  const instruction = m[1]!.toUpperCase();
  const rest = (m[2] ?? '').trim();
  const vars = envOf(state.env);
  const expanded = <T>(f: (w: string, e: ReadonlyMap<string, string>) => T, w: string): T => {
    try {
      return f(w, vars);
    } catch (e) {
      throw bad(change, (e as Error).message);
    }
  };
  const x = (w: string): string => expanded(expandWord, w);
  const pairs = (): Array<[string, string]> =>
    keyValues(change, rest).map(([k, v]) => {
      const key = x(k);
      if (key === '') throw bad(change, `the key of "${k}" is empty`);
      return [key, x(v)];
    });
  switch (instruction) {
    case 'CMD':
      c.Cmd = commandForm(change, rest);
      state.cmdSet = true;
      return;
    case 'ENTRYPOINT':
      c.Entrypoint = commandForm(change, rest);
      // as a Dockerfile: a new entrypoint drops the cmd the image had, unless a CMD came before it here
      if (!state.cmdSet) delete c.Cmd;
      return;
    case 'ENV':
      for (const [k, v] of pairs()) {
        c.Env = setEnv(c.Env ?? [], k, v);
        state.env = setEnv(state.env, k, v);
      }
      return;
    case 'LABEL':
      for (const [k, v] of pairs()) c.Labels = { ...(c.Labels ?? {}), [k]: v };
      return;
    case 'EXPOSE': {
      const words = rest.split(/\s+/).filter(Boolean);
      if (words.length === 0) throw bad(change, 'EXPOSE needs at least one port, e.g. EXPOSE 8080/tcp');
      // the one instruction whose variables may expand to several words: FOO="80 443", EXPOSE $FOO
      for (const p of words.flatMap((w) => expanded(expandWords, w)))
        c.ExposedPorts = { ...(c.ExposedPorts ?? {}), [exposedPort(change, p)]: {} };
      return;
    }
    case 'VOLUME': {
      const dirs = volumeWords(change, rest);
      if (dirs.length === 0) throw bad(change, 'VOLUME needs a path, e.g. VOLUME /data');
      for (const raw of dirs) {
        const d = raw.trim() === '' ? '' : x(raw.trim());
        if (d === '') throw bad(change, 'VOLUME paths cannot be empty');
        c.Volumes = { ...(c.Volumes ?? {}), [d]: {} };
      }
      return;
    }
    case 'USER':
      c.User = x(single(change, rest, 'USER needs a user, e.g. USER 1000:1000'));
      return;
    case 'WORKDIR': {
      const hint = 'WORKDIR needs a path, e.g. WORKDIR /app';
      const dir = x(single(change, rest, hint));
      if (dir === '') throw bad(change, hint);
      // a relative WORKDIR is taken from the one before, as in a Dockerfile
      c.WorkingDir = dir.startsWith('/') ? dir : path.posix.join('/', c.WorkingDir || '/', dir);
      return;
    }
    case 'STOPSIGNAL': {
      const sig = x(single(change, rest, 'STOPSIGNAL needs a signal, e.g. STOPSIGNAL SIGTERM'));
      if (!/^(SIG)?[A-Z0-9+-]+$/i.test(sig)) throw bad(change, `"${sig}" is not a signal name or number`);
      c.StopSignal = sig;
      return;
    }
    case 'HEALTHCHECK':
      c.Healthcheck = healthcheck(change, rest);
      return;
    case 'ONBUILD':
      throw bad(change, 'ONBUILD is not supported (tsnet does not build images)');
    default:
      throw bad(
        change,
        `${instruction} cannot be applied here: use one of CMD, ENTRYPOINT, ENV, EXPOSE, HEALTHCHECK, LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR`,
      );
  }
}

/** JSON (exec) form, or shell form run by /bin/sh -c. */
function commandForm(change: string, rest: string): string[] {
  if (rest === '') throw bad(change, 'a command is missing');
  if (rest.startsWith('[')) {
    try {
      return jsonStrings(change, rest);
    } catch {
      // Docker: what does not parse as a JSON list is a shell command
    }
  }
  return ['/bin/sh', '-c', rest];
}

function jsonStrings(change: string, rest: string): string[] {
  let v: unknown;
  try {
    v = JSON.parse(rest);
  } catch {
    throw bad(change, 'not a JSON list of strings');
  }
  return stringList(change, v);
}

/** A parsed JSON value that must be a list of strings. */
function stringList(change: string, v: unknown): string[] {
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw bad(change, 'not a JSON list of strings');
  return v as string[];
}

/** The whole text of a one-value instruction (USER, WORKDIR, STOPSIGNAL), expanded by the caller. */
function single(change: string, rest: string, hint: string): string {
  if (rest === '') throw bad(change, hint);
  return rest;
}

/** VOLUME's paths: a JSON list of strings, else the words between spaces (quotes are the expansion's). */
function volumeWords(change: string, rest: string): string[] {
  if (rest.startsWith('[')) {
    let v: unknown;
    try {
      v = JSON.parse(rest);
    } catch {
      // Docker: what does not parse as JSON is a list of words
    }
    if (v !== undefined) return stringList(change, v);
  }
  return rest.split(/\s+/).filter(Boolean);
}

/**
 * `k=v k2="v 2"` pairs, or the old `KEY name value with spaces` form (when the first word has no
 * `=`), each half as written (quotes and escapes still in: the expansion takes them off).
 */
function keyValues(change: string, rest: string): Array<[string, string]> {
  if (rest === '') throw bad(change, 'needs key=value pairs');
  const all = rawWords(rest);
  if (!(all[0] ?? '').includes('=')) {
    const m = /^(\S+)\s+([\s\S]*)$/.exec(rest);
    if (!m) throw bad(change, 'needs key=value pairs, e.g. key="a value"');
    return [[m[1]!, m[2]!]];
  }
  return all.map((w) => {
    const eq = w.indexOf('=');
    if (eq <= 0) throw bad(change, `"${w}" is not key=value`);
    return [w.slice(0, eq), w.slice(eq + 1)];
  });
}

/**
 * Split on the spaces outside quotes, keeping the quotes and escapes in the words (the
 * Dockerfile parser's parseWords): `a="b c" d\ e` → `a="b c"`, `d\ e`.
 */
function rawWords(s: string): string[] {
  const out: string[] = [];
  const chars = Array.from(s);
  let cur = '';
  let inWord = false;
  let keepEmpty = false; // a word that had quotes is a word even when empty
  let quote: string | undefined;
  for (let i = 0; i < chars.length; i++) {
    let ch = chars[i]!;
    if (quote) {
      if (ch === quote) quote = undefined;
      else if (ch === '\\' && quote === '"') {
        if (i + 1 === chars.length) continue;
        cur += ch;
        ch = chars[++i]!;
      }
      cur += ch;
      continue;
    }
    if (/\s/u.test(ch)) {
      if (inWord && (keepEmpty || cur !== '')) out.push(cur);
      cur = '';
      inWord = false;
      keepEmpty = false;
      continue;
    }
    inWord = true;
    if (ch === '"' || ch === "'") {
      quote = ch;
      keepEmpty = true;
    } else if (ch === '\\') {
      if (i + 1 === chars.length) continue;
      cur += ch;
      ch = chars[++i]!;
    }
    cur += ch;
  }
  if (inWord && (keepEmpty || cur !== '')) out.push(cur);
  return out;
}

function exposedPort(change: string, p: string): string {
  const m = /^([0-9]{1,5})(?:-([0-9]{1,5}))?(?:\/(tcp|udp|sctp))?$/i.exec(p);
  const valid = (n: string | undefined) => n === undefined || (Number(n) >= 1 && Number(n) <= 65535);
  if (!m || !valid(m[1]) || !valid(m[2])) throw bad(change, `"${p}" is not a port (PORT[/tcp|udp|sctp])`);
  if (m[2] !== undefined) throw bad(change, `port ranges (${p}) are not supported here: give each port`);
  return `${Number(m[1])}/${(m[3] ?? 'tcp').toLowerCase()}`;
}

const UNIT_NS: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** A Go duration (`30s`, `1m30s`, `500ms`) in ns; undefined if it is not one. */
function durationNs(s: string): number | undefined {
  if (!/^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$/.test(s)) return undefined;
  let ns = 0;
  for (const m of s.matchAll(/([0-9]+(?:\.[0-9]+)?)(ns|us|µs|ms|s|m|h)/g)) ns += Number(m[1]) * UNIT_NS[m[2]!]!;
  return Math.round(ns);
}

/** `HEALTHCHECK NONE` or `HEALTHCHECK [--interval=D] [--timeout=D] [--start-period=D] [--start-interval=D] [--retries=N] CMD …`. */
function healthcheck(change: string, rest: string): Healthcheck {
  if (/^none$/i.test(rest)) return { Test: ['NONE'] };
  const hc: Healthcheck = {};
  let s = rest;
  for (;;) {
    const m = /^--([a-z-]+)=(\S+)\s*/.exec(s);
    if (!m) break;
    s = s.slice(m[0].length);
    const [, flag, value] = m;
    if (flag === 'retries') {
      if (!/^[0-9]{1,9}$/.test(value!)) throw bad(change, `--retries=${value} is not a whole number`);
      hc.Retries = Number(value);
      continue;
    }
    const ns = durationNs(value!);
    if (ns === undefined) throw bad(change, `--${flag}=${value} is not a duration (e.g. 30s, 1m30s)`);
    if (flag === 'interval') hc.Interval = ns;
    else if (flag === 'timeout') hc.Timeout = ns;
    else if (flag === 'start-period') hc.StartPeriod = ns;
    else if (flag === 'start-interval') hc.StartInterval = ns;
    else throw bad(change, `unknown HEALTHCHECK flag --${flag}`);
  }
  const cmd = /^CMD\s+([\s\S]+)$/i.exec(s);
  if (!cmd) throw bad(change, 'HEALTHCHECK needs NONE or CMD <command>');
  const text = cmd[1]!.trim();
  let exec: string[] | undefined;
  if (text.startsWith('['))
    try {
      exec = jsonStrings(change, text);
    } catch {
      // not a JSON list: a shell command
    }
  hc.Test = exec ? ['CMD', ...exec] : ['CMD-SHELL', text];
  return hc;
}
