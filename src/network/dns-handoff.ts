/**
 * The embedded DNS's resolver ports, handed from a stopping daemon to the next one: a file in the
 * exec-root written as the daemon exits (SIGTERM/SIGINT) and taken (read and removed) at start.
 * The next daemon's resolvers bind the same ports in their sandboxes, so the DNAT rules there
 * stay right and no firewall work per container is needed at a restart. A daemon that crashed
 * leaves no file: its successor re-points every sandbox's rules as before.
 *
 * The file is right only for the next daemon: one that does not know it (an older tsnet run in
 * between) re-points the rules and leaves it behind. Every daemon makes its API socket in the
 * exec-root, so a file older than the exec-root's last change is stale and ignored.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from '../lib/logger.js';
import type { ResolverPorts } from './embedded-dns.js';

const FILE = 'dns-handoff.json';

/** The exec-root changes with the rename of the file itself (the same clock tick, or the next). */
const SAME_WRITE_MS = 50;

const isPort = (x: unknown): x is number => Number.isInteger(x) && (x as number) > 0 && (x as number) < 65536;

/** Write the ports (sync: the daemon exits right after); a failure only costs the next start time. */
export function saveDnsHandoff(execRoot: string, ports: Record<string, ResolverPorts>, logger: Logger): void {
  const file = path.join(execRoot, FILE);
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    fs.writeFileSync(tmp, JSON.stringify(ports), { mode: 0o600 });
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    logger.warn(`DNS ports not handed to the next daemon (it re-points each sandbox's rules): ${(err as Error).message}`);
  }
}

/** Read and remove the file (it is valid for one start only); entries that do not parse are left out. */
export function takeDnsHandoff(execRoot: string, logger: Logger): Record<string, ResolverPorts> {
  const file = path.join(execRoot, FILE);
  let raw: string;
  let stale: boolean;
  try {
    raw = fs.readFileSync(file, 'utf8');
    stale = fs.statSync(execRoot).mtimeMs - fs.statSync(file).mtimeMs > SAME_WRITE_MS;
  } catch {
    raw = '';
    stale = true;
  }
  // after the exec-root's time was read: the temp file of a write a kill interrupted (never
  // renamed, never valid), then the file itself (valid for one start only)
  for (const name of safeReaddir(execRoot))
    if (name.startsWith(`${FILE}.`) && name.endsWith('.tmp')) fs.rmSync(path.join(execRoot, name), { force: true });
  fs.rmSync(file, { force: true });
  if (!raw) return {};
  if (stale) {
    logger.info(`${file}: ignored, another daemon ran after it was written; every sandbox's DNS rules are re-pointed`);
    return {};
  }
  const out: Record<string, ResolverPorts> = {};
  try {
    const parsed = JSON.parse(raw) as Record<string, Partial<ResolverPorts>>;
    for (const [id, p] of Object.entries(parsed ?? {})) {
      if (typeof p?.sandbox === 'string' && isPort(p.udp) && isPort(p.tcp))
        out[id] = { sandbox: p.sandbox, udp: p.udp, tcp: p.tcp };
    }
  } catch (err) {
    logger.warn(`${file}: ignored (${(err as Error).message}); every sandbox's DNS rules are re-pointed`);
  }
  return out;
}

function safeReaddir(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}
