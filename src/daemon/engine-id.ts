/**
 * The daemon's engine id: a UUID made once and kept in `<root>/engine-id`, as dockerd's
 * `engine-id` file. It seeds the host's IPv6 ULA default pool, so that prefix stays the same
 * across restarts and differs between hosts.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Read the engine id, or make and store a new one (atomically) when missing or unreadable. */
export function loadOrCreateEngineId(root: string): string {
  const file = path.join(root, 'engine-id');
  try {
    const id = fs.readFileSync(file, 'utf8').trim();
    if (UUID_RE.test(id)) return id;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const id = crypto.randomUUID();
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, `${id}\n`, { mode: 0o600 });
  fs.renameSync(tmp, file);
  return id;
}
