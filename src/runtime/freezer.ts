/**
 * Freeze and thaw a container's processes with cgroup v2's `cgroup.freeze` (Linux ≥ 5.2, present
 * in every non-root cgroup2 dir even without controllers): the dir the container's processes are
 * born in holds every one of them, execs included, so no pid has to move (a v1 freezer join would
 * cost an RCU grace period per cgroup.procs write, docs/architecture.md decision 11).
 */
import fs from 'node:fs';
import path from 'node:path';
import { TsnetError } from '../errors/index.js';

/** Write cgroup.freeze and wait until cgroup.events reports the new state. */
export async function setFrozen(dir: string | undefined, frozen: boolean, what: string): Promise<void> {
  const file = dir ? path.join(dir, 'cgroup.freeze') : '';
  if (!dir || !fs.existsSync(file))
    throw new TsnetError(
      'TSNET_INVALID_ARGUMENT',
      `cannot ${frozen ? 'pause' : 'unpause'} ${what}: its cgroup has no cgroup.freeze (pause needs cgroup v2 on Linux 5.2 or later)`,
    );
  fs.writeFileSync(file, frozen ? '1' : '0');
  const want = `frozen ${frozen ? 1 : 0}`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    const events = readOr(path.join(dir, 'cgroup.events'));
    if (events === undefined || events.split('\n').includes(want)) return;
    if (Date.now() > deadline)
      throw new TsnetError('TSNET_INTERNAL', `${what} did not ${frozen ? 'freeze' : 'thaw'} within 10 s`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function readOr(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}
