/**
 * A container's network namespace at its birth: made at a file, its sysctls written by a thread
 * switched into it (/proc/sys/net resolves against the net namespace of the thread that opens the
 * file), lo up. One piece for the pool's thread (./netns-worker.ts) and a create without a pool
 * entry (src/network/sandbox.ts).
 *
 * IPv6 router advertisements are refused on every interface made in it afterwards (`default`
 * is what eth0…ethN copy at their registration): otherwise a container on the same bridge could
 * send one and give its neighbours IPv6 addresses and a default route through itself — on an
 * IPv4-only network too, where nothing else of IPv6 is configured (CVE-2020-13401 in Docker,
 * which writes accept_ra=0 as well). A kernel without IPv6 has no such file: nothing to refuse.
 * A container's own `--sysctl` is applied later, at its start, and wins.
 */
import { isErrno } from './errno.js';
import type { Netlink } from './netlink/index.js';
import type { Netns } from './netns.js';
import { writeSysctl } from './sysctl.js';

export const NETNS_SYSCTLS: ReadonlyArray<readonly [key: string, value: string]> = [['net/ipv6/conf/default/accept_ra', '0']];

/** Write NETNS_SYSCTLS in the calling thread's current netns; a missing file (no IPv6) is skipped. */
export function applyNetnsSysctls(write: (key: string, value: string) => void = writeSysctl): void {
  for (const [key, value] of NETNS_SYSCTLS) {
    try {
      write(key, value);
    } catch (err) {
      if (!isErrno(err, 'ENOENT')) throw err;
    }
  }
}

/**
 * A new netns at `file` (which must not exist) with NETNS_SYSCTLS written and lo up, through a
 * netlink socket `open` makes inside it (one switch into it for both): returned open, the
 * caller's to close. Nothing is left at `file` on failure.
 */
export async function makeReadyNetns(netns: Netns, file: string, open: () => Netlink): Promise<Netlink> {
  netns.create(file);
  let nl: Netlink | undefined;
  try {
    nl = netns.run(file, () => {
      applyNetnsSysctls();
      return open();
    });
    await nl.setUp('lo');
    return nl;
  } catch (err) {
    nl?.close();
    netns.remove(file);
    throw err;
  }
}
