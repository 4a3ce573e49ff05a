/**
 * Environment variables as Docker builds them. Pure.
 * - At create, `Config.Env` is the request's entries followed by the image's entries whose
 *   name the request does not give. An entry without `=` stays in Config.Env as given.
 * - At start (and exec), the process gets PATH, HOSTNAME, TERM=xterm (with a tty) and the link
 *   variables, replaced or extended by Config.Env (and then the exec's Env). An entry without
 *   `=` means "unset": it removes a variable of that name and is not passed on itself.
 */

export const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

const nameOf = (e: string): string => {
  const i = e.indexOf('=');
  return i < 0 ? e : e.slice(0, i);
};

/** Config.Env of a new container: the request's entries, then the image's others. */
export function createEnv(imageEnv: string[], requested: string[]): string[] {
  if (requested.length === 0) return [...imageEnv];
  const given = new Set(requested.map(nameOf));
  return [...requested, ...imageEnv.filter((e) => !given.has(nameOf(e)))];
}

/** `defaults` with each override replacing the entry of its name or appended; `NAME` alone removes NAME. */
export function replaceOrAppend(defaults: string[], overrides: string[]): string[] {
  const out = new Map<string, string | undefined>();
  for (const e of defaults) out.set(nameOf(e), e);
  for (const e of overrides) {
    const name = nameOf(e);
    if (!e.includes('=')) {
      if (out.has(name)) out.set(name, undefined);
      continue;
    }
    out.set(name, e);
  }
  return [...out.values()].filter((e): e is string => e !== undefined);
}

export interface ProcessEnvInput {
  hostname: string;
  tty: boolean;
  linkEnv?: string[] | undefined;
  /** The container's Config.Env. */
  env: string[];
  /** An exec's own Env, applied last. */
  execEnv?: string[] | undefined;
}

/** The environment a container's process (or an exec in it) starts with. */
export function processEnv(i: ProcessEnvInput): string[] {
  const base = [DEFAULT_PATH, `HOSTNAME=${i.hostname}`, ...(i.tty ? ['TERM=xterm'] : []), ...(i.linkEnv ?? [])];
  const env = replaceOrAppend(base, i.env);
  return i.execEnv?.length ? replaceOrAppend(env, i.execEnv) : env;
}

/** The record's part of a process environment (its own tty; an exec passes its own), with its link variables. */
export function envOf(
  rec: { config: { Hostname: string; Tty: boolean; Env: string[] } },
  linkEnv: string[] | undefined,
): ProcessEnvInput {
  return { hostname: rec.config.Hostname, tty: rec.config.Tty, linkEnv, env: rec.config.Env };
}
