/**
 * The API socket (and the CLI socket beside it), never connectable with a wider mode than asked, whatever the umask: it is
 * bound inside a fresh 0700 directory, given its mode and group there, and only then renamed
 * to its path. A stale socket (no daemon answers on it) is removed first; a live one is refused.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { TsnetError } from '../../errors/index.js';

export interface SocketOptions {
  socketPath: string;
  /** File mode of the socket (dockerd: 0660). */
  mode?: number;
  /** Group of the socket (dockerd's `--group`, default group `docker`, else root's). */
  gid?: number;
}

export async function listenUnix(server: net.Server, opts: SocketOptions): Promise<void> {
  await removeStaleSocket(opts.socketPath);
  const dir = path.dirname(opts.socketPath);
  fs.mkdirSync(dir, { recursive: true, mode: 0o711 });
  const priv = fs.mkdtempSync(path.join(dir, '.sock-')); // mkdtemp makes it 0700
  const tmp = path.join(priv, 's');
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(tmp, () => {
        server.off('error', reject);
        resolve();
      });
    });
    fs.chmodSync(tmp, opts.mode ?? 0o660);
    fs.chownSync(tmp, 0, opts.gid ?? 0);
    fs.renameSync(tmp, opts.socketPath);
  } finally {
    fs.rmSync(priv, { recursive: true, force: true });
  }
}

async function removeStaleSocket(socketPath: string): Promise<void> {
  if (!fs.existsSync(socketPath)) return;
  const alive = await new Promise<boolean>((resolve) => {
    const c = net.connect(socketPath);
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
  if (alive) throw new TsnetError('TSNET_INVALID_ARGUMENT', `another tsnetd is already serving ${socketPath}`);
  fs.rmSync(socketPath, { force: true });
}

/**
 * dockerd's `--group`: a group name or number. The default group (`docker`) may be missing:
 * then root's group, as dockerd does; a group named explicitly must exist.
 */
export function socketGroup(group: string, isDefault: boolean, groupFile = '/etc/group'): { gid: number; warning?: string } {
  if (group === '') return { gid: 0 };
  if (/^[0-9]+$/.test(group)) return { gid: Number(group) };
  let text = '';
  try {
    text = fs.readFileSync(groupFile, 'utf8');
  } catch {
    /* no group file: treated as "not found" */
  }
  for (const line of text.split('\n')) {
    const [name, , gid] = line.split(':');
    if (name === group && gid !== undefined && /^[0-9]+$/.test(gid)) return { gid: Number(gid) };
  }
  if (isDefault) return { gid: 0, warning: `group ${group} not found: the API socket belongs to group root` };
  throw new TsnetError('TSNET_INVALID_ARGUMENT', `group ${group} not found: give an existing group name or gid to --group`);
}
