/**
 * `-e/--env` and `--env-file`, with docker's rules:
 *   -e KEY=VALUE  as is;  -e KEY  takes KEY from the client's environment, and is sent as
 *   bare `KEY` (meaning "unset") when the client has no such variable.
 *   env file: one KEY=VALUE or KEY per line; blank lines and lines starting with # are
 *   skipped; leading whitespace is trimmed; a bare KEY missing from the client's
 *   environment is dropped; a key containing whitespace is an error.
 * Variables from files come first, then -e, so -e wins in the daemon.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

export type Lookup = (name: string) => string | undefined;

export function envFlag(value: string, lookup: Lookup): string {
  const eq = value.indexOf('=');
  const key = eq === -1 ? value : value.slice(0, eq);
  if (key === '') throw new Error(`invalid environment variable: ${value}`);
  if (eq !== -1) return value;
  const fromClient = lookup(key);
  return fromClient === undefined ? value : `${key}=${fromClient}`;
}

export function parseEnvFile(content: string, lookup: Lookup): string[] {
  const out: string[] = [];
  const lines = content.replace(/^\uFEFF/, '').split(/\r?\n/);
  lines.forEach((raw, i) => {
    const line = raw.replace(/^\s+/, '');
    if (line === '' || line.startsWith('#')) return;
    const eq = line.indexOf('=');
    const key = eq === -1 ? line : line.slice(0, eq);
    if (key === '') throw new Error(`line ${i + 1}: no variable name on line '${line}'`);
    if (/\s/.test(key)) throw new Error(`line ${i + 1}: variable '${key.trimEnd()}' contains whitespaces`);
    if (eq !== -1) {
      out.push(line);
      return;
    }
    const fromClient = lookup(key);
    if (fromClient !== undefined) out.push(`${key}=${fromClient}`);
  });
  return out;
}

/** The Env list for the API: env files in order, then -e values. */
export function buildEnv(envFlags: string[], envFiles: string[], lookup: Lookup, readFile = readText): string[] {
  const env: string[] = [];
  for (const file of envFiles) {
    let content: string;
    try {
      content = readFile(file);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new Error(
        `cannot read env file ${JSON.stringify(file)}: ${code === 'ENOENT' ? 'no such file or directory' : (err as Error).message}`,
      );
    }
    try {
      env.push(...parseEnvFile(content, lookup));
    } catch (err) {
      throw new Error(`invalid env file ${JSON.stringify(file)}: ${(err as Error).message}`);
    }
  }
  for (const e of envFlags) env.push(envFlag(e, lookup));
  return env;
}

function readText(file: string): string {
  return readFileSync(file, 'utf8');
}

/** Read env files named relative to `cwd` (the client's directory, not the process's: the daemon's CLI host). */
export function readFrom(cwd: string): (file: string) => string {
  return (file) => readFileSync(resolve(cwd, file), 'utf8');
}
