/**
 * `docker top`: run the host's `ps` (procps) with the client's arguments and keep the lines of
 * the container's processes, in Docker's {Titles, Processes} shape.
 */
import fs from 'node:fs';
import path from 'node:path';
import { TsnetError } from '../../errors/index.js';
import { runProgram } from '../../kernel/process.js';

export interface TopResult {
  Titles: string[];
  Processes: string[][];
}

/** The pids in a cgroup dir (every process of the container, execs included). */
export function cgroupPids(dir: string | undefined): number[] {
  if (!dir) return [];
  try {
    return fs.readFileSync(path.join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

export async function top(pids: readonly number[], psArgs = '-ef'): Promise<TopResult> {
  const args = psArgs.split(/\s+/).filter(Boolean);
  const r = await runProgram('ps', args, { timeoutMs: 10_000 });
  if (r.startError?.code === 'ENOENT') throw new TsnetError('TSNET_INTERNAL', 'ps is not installed on the host: install procps');
  if (r.exitCode !== 0) {
    const why =
      r.stderr.trim().split('\n')[0] || r.startError?.message || (r.timedOut ? 'timed out' : `exit ${r.exitCode ?? r.signal}`);
    throw new TsnetError('TSNET_INVALID_ARGUMENT', `ps ${psArgs} failed: ${why.trim()} (check ps_args)`);
  }
  const out = r.stdout;
  return parsePs(out, pids);
}

/** Docker's parser: the PID column of the header picks the lines; extra words join the last column. */
export function parsePs(out: string, pids: readonly number[]): TopResult {
  const lines = out.split('\n').filter((l) => l.trim() !== '');
  const titles = (lines[0] ?? '').trim().split(/\s+/);
  const pidIndex = titles.indexOf('PID');
  if (pidIndex < 0) throw new TsnetError('TSNET_INVALID_ARGUMENT', `ps output has no PID column: add one to ps_args`);
  const wanted = new Set(pids.map(String));
  const processes: string[][] = [];
  for (const line of lines.slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (!wanted.has(fields[pidIndex] ?? '')) continue;
    const row = fields.slice(0, titles.length - 1);
    row.push(fields.slice(titles.length - 1).join(' '));
    processes.push(row);
  }
  return { Titles: titles, Processes: processes };
}
