/**
 * Errno mapping for netlink failures (DESIGN rule 4).
 *
 * The `netlink` package rejects with a plain `Error("Request rejected: EEXIST")` (no code
 * property, extack dropped), with `Error("Timeout has been reached")`, or with a socket
 * ErrnoException that does carry `.code`. All of them become
 * `TsnetError('TSNET_NETLINK', '<op>: <ERRNO>', {details: {errno, op}})`.
 */
import { constants as osConstants } from 'node:os';
import { TsnetError } from '../../errors/index.js';

const ERRNO_NAMES = new Map<number, string>();
for (const [name, n] of Object.entries(osConstants.errno)) {
  if (!ERRNO_NAMES.has(n)) ERRNO_NAMES.set(n, name);
}

const ERRNO_RE = /^E[A-Z0-9]+$/;

/** Errno name for a number (either sign), e.g. 17 or -17 → 'EEXIST'. */
export function errnoName(n: number): string {
  const abs = Math.abs(n);
  return canonical(ERRNO_NAMES.get(abs) ?? `E${abs}`);
}

/** Linux aliases share a number; report the name the kernel sources use. */
const ALIASES: Record<string, string> = { ENOTSUP: 'EOPNOTSUPP', EWOULDBLOCK: 'EAGAIN', EDEADLOCK: 'EDEADLK' };

function canonical(name: string): string {
  return ALIASES[name] ?? name;
}

/**
 * The errno name carried by an error, if any: a TsnetError's details.errno, an ErrnoException's
 * `.code`, or the text of the package's "Request rejected: EXXX" / "Request rejected: -95".
 */
export function errnoOf(err: unknown): string | undefined {
  if (err instanceof TsnetError) {
    const e = err.details?.errno;
    return typeof e === 'string' ? e : undefined;
  }
  if (err === null || typeof err !== 'object') return undefined;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && ERRNO_RE.test(code)) return canonical(code);
  const message = (err as { message?: unknown }).message;
  if (typeof message !== 'string') return undefined;
  const m = /Request rejected: (-?\d+|E[A-Z0-9]+)/.exec(message);
  if (m) {
    const v = m[1]!;
    return /^-?\d+$/.test(v) ? errnoName(Number(v)) : canonical(v);
  }
  if (/Timeout has been reached/.test(message)) return 'ETIMEDOUT';
  return undefined;
}

/** True when `err` carries one of the given errno names (works on raw and on wrapped errors). */
export function isErrno(err: unknown, ...codes: string[]): boolean {
  const e = errnoOf(err);
  return e !== undefined && codes.some((c) => canonical(c) === e);
}

/** Wrap a failure of `op` (what was being attempted) into TSNET_NETLINK; TsnetErrors pass through. */
export function netlinkError(op: string, err: unknown): TsnetError {
  if (err instanceof TsnetError) return err;
  const errno = errnoOf(err);
  const text = errno ?? (err instanceof Error ? err.message : String(err));
  const details: Record<string, unknown> = { op };
  if (errno !== undefined) details.errno = errno;
  return new TsnetError('TSNET_NETLINK', `${op}: ${text}`, { cause: err, details });
}
