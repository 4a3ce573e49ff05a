/**
 * Netlink failures as TsnetErrors (DESIGN rule 4); the errno table is ../errno.ts.
 *
 * The `netlink` package rejects with a plain `Error("Request rejected: EEXIST")` (no code
 * property, extack dropped), with `Error("Timeout has been reached")`, or with a socket
 * ErrnoException that does carry `.code`. All of them become
 * `TsnetError('TSNET_NETLINK', '<op>: <ERRNO>', {details: {errno, op}})`.
 */
import { TsnetError } from '../../errors/index.js';
import { errnoOf } from '../errno.js';

export { errnoName, errnoOf, isErrno } from '../errno.js';

/** Wrap a failure of `op` (what was being attempted) into TSNET_NETLINK; TsnetErrors pass through. */
export function netlinkError(op: string, err: unknown): TsnetError {
  if (err instanceof TsnetError) return err;
  const errno = errnoOf(err);
  const text = errno ?? (err instanceof Error ? err.message : String(err));
  const details: Record<string, unknown> = { op };
  if (errno !== undefined) details.errno = errno;
  return new TsnetError('TSNET_NETLINK', `${op}: ${text}`, { cause: err, details });
}
