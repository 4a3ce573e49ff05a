/**
 * Compiled filters (a seccomp filter, a device program) as the files tsnet-init reads at a start
 * or an exec: `<exec-root>/filters/<sha-256 of the bytes>.bpf`, written once per daemon
 * (atomically: a temp file and a rename) and shared by every container with the same filter. A
 * container's bundle carried its own copies: two file creations on the start path and two more
 * unlinks when the bundle goes (~0.2 ms each on ext4). A file is never changed in place (its name
 * is its content), so a tsnet-init that reads it meanwhile sees the whole filter; the dir goes
 * with the exec-root (a reboot), and holds one file per distinct filter.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export class FilterFiles {
  /** Names written by this daemon (a file from an earlier daemon is written again once). */
  private readonly written = new Set<string>();

  constructor(private readonly dir: string) {}

  /** The file holding `bytes`, written first if this daemon has not yet. */
  file(bytes: Buffer): string {
    const name = `${createHash('sha256').update(bytes).digest('hex')}.bpf`;
    const file = path.join(this.dir, name);
    if (this.written.has(name)) return file;
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const tmp = path.join(this.dir, `.${name}.${process.pid}.tmp`);
    fs.writeFileSync(tmp, bytes, { mode: 0o600 });
    fs.renameSync(tmp, file);
    this.written.add(name);
    return file;
  }
}
