/**
 * `--ulimit name=soft[:hard]` → HostConfig.Ulimits' entry, as the docker CLI (go-units ParseUlimit);
 * the daemon checks the name (one list: src/runtime/container/ulimits.ts).
 */

export interface UlimitSpec {
  Name: string;
  Soft: number;
  Hard: number;
}

function limit(text: string): number {
  if (text === 'unlimited' || text === '-1') return -1;
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))) throw new Error(`invalid ulimit value ${JSON.stringify(text)}`);
  return Number(text);
}

/** `nofile=1024:2048`, `nproc=512` (hard = soft), `core=unlimited` / `core=-1`. */
export function parseUlimit(text: string): UlimitSpec {
  const eq = text.indexOf('=');
  if (eq <= 0) throw new Error('invalid ulimit argument: use name=soft[:hard], e.g. nofile=1024:2048');
  const name = text.slice(0, eq);
  const parts = text.slice(eq + 1).split(':');
  if (parts.length > 2) throw new Error('too many limit value arguments: use soft[:hard]');
  const soft = limit(parts[0] ?? '');
  const hard = parts.length === 2 ? limit(parts[1] ?? '') : soft;
  if (hard !== -1 && (soft === -1 || soft > hard))
    throw new Error(`ulimit soft limit must be less than or equal to hard limit: ${soft} > ${hard}`);
  return { Name: name, Soft: soft, Hard: hard };
}
