/** `key=value` lists of flags: labels, driver options, sysctls, filters, aux addresses. */

/** `-l k=v` / `-l k` (value ""), `-o k=v`: later keys win. */
export function parseKeyValues(values: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values) {
    const eq = v.indexOf('=');
    const key = eq === -1 ? v : v.slice(0, eq);
    if (key === '') throw new Error(`invalid argument ${JSON.stringify(v)}: empty key`);
    out[key] = eq === -1 ? '' : v.slice(eq + 1);
  }
  return out;
}

/** `--sysctl key=value` (repeatable; a later key wins): the key must have a value, which may hold '='. */
export function parseSysctls(values: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values) {
    const eq = v.indexOf('=');
    if (eq <= 0) throw new Error(`invalid sysctl ${JSON.stringify(v)}: use key=value, e.g. net.core.somaxconn=1024`);
    out[v.slice(0, eq)] = v.slice(eq + 1);
  }
  return out;
}

/** A `key=value` that must have both parts (aux addresses). */
export function splitRequired(v: string, what: string): [string, string] {
  const eq = v.indexOf('=');
  if (eq <= 0 || eq === v.length - 1) throw new Error(`bad format for ${what} ${JSON.stringify(v)} (expected name=value)`);
  return [v.slice(0, eq), v.slice(eq + 1)];
}

/** `-f name=web -f status=running` → the JSON of Docker's filters, `{"name":["web"],...}`. */
export function parseFilters(values: string[]): string | undefined {
  if (values.length === 0) return undefined;
  const filters: Record<string, string[]> = {};
  for (const v of values) {
    const eq = v.indexOf('=');
    if (eq <= 0) throw new Error(`bad format of filter ${JSON.stringify(v)} (expected name=value)`);
    const key = v.slice(0, eq).trim().toLowerCase();
    filters[key] ??= [];
    filters[key].push(v.slice(eq + 1).trim());
  }
  return JSON.stringify(filters);
}
