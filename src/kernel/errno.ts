/**
 * The one errno table of tsnet: numbers → names (Linux's, from Node's os.constants), and the
 * errno carried by any error the kernel layer meets. Everything that reports or tests an errno
 * (libc calls through koffi, netlink, sysctl, netns, sockets) goes through here.
 *
 * Errors carry their errno in one of three ways: a TsnetError's `details.errno`, a Node
 * ErrnoException's `.code`, or the text of the `netlink` package's `Error("Request rejected:
 * EEXIST")` / `"Request rejected: -95"` / `"Timeout has been reached"`.
 */
import { constants as osConstants } from 'node:os';
import { TsnetError } from '../errors/index.js';

const NAMES = new Map<number, string>();
for (const [name, n] of Object.entries(osConstants.errno)) {
  if (!NAMES.has(n)) NAMES.set(n, name);
}

const ERRNO_RE = /^E[A-Z0-9]+$/;

/** Linux aliases share a number; report the name the kernel sources use. */
const ALIASES: Record<string, string> = { ENOTSUP: 'EOPNOTSUPP', EWOULDBLOCK: 'EAGAIN', EDEADLOCK: 'EDEADLK' };

/** The kernel's name for an errno name that may be an alias (ENOTSUP → EOPNOTSUPP). */
export function canonicalErrno(name: string): string {
  return ALIASES[name] ?? name;
}

/** Errno name for a number (either sign), e.g. 17 or -17 → 'EEXIST'; unknown → 'E<n>'. */
export function errnoName(n: number): string {
  const abs = Math.abs(n);
  return canonicalErrno(NAMES.get(abs) ?? `E${abs}`);
}

/** Errno number for a name ('EEXIST' → 17), undefined when Linux has no such name. */
export function errnoNumber(name: string): number | undefined {
  return (osConstants.errno as Record<string, number>)[canonicalErrno(name)];
}

/** The errno name an error carries, if any (see the header for the three ways). */
export function errnoOf(err: unknown): string | undefined {
  if (err instanceof TsnetError) {
    const e = err.details?.errno;
    return typeof e === 'string' ? canonicalErrno(e) : undefined;
  }
  if (err === null || typeof err !== 'object') return undefined;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && ERRNO_RE.test(code)) return canonicalErrno(code);
  const message = (err as { message?: unknown }).message;
  if (typeof message !== 'string') return undefined;
  const m = /Request rejected: (-?\d+|E[A-Z0-9]+)/.exec(message);
  if (m) {
    const v = m[1]!;
    return /^-?\d+$/.test(v) ? errnoName(Number(v)) : canonicalErrno(v);
  }
  if (/Timeout has been reached/.test(message)) return 'ETIMEDOUT';
  return undefined;
}

/** True when `err` carries one of the given errno names (aliases match either way). */
export function isErrno(err: unknown, ...codes: string[]): boolean {
  const e = errnoOf(err);
  return e !== undefined && codes.some((c) => canonicalErrno(c) === e);
}
