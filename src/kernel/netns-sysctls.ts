/**
 * The sysctls a container's network namespace gets at its birth, written by a thread switched
 * into it (/proc/sys/net resolves against the net namespace of the thread that opens the file).
 *
 * IPv6 router advertisements are refused on every interface made in it afterwards (`default`
 * is what eth0…ethN copy at their registration): otherwise a container on the same bridge could
 * send one and give its neighbours IPv6 addresses and a default route through itself — on an
 * IPv4-only network too, where nothing else of IPv6 is configured (CVE-2020-13401 in Docker,
 * which writes accept_ra=0 as well). A kernel without IPv6 has no such file: nothing to refuse.
 * A container's own `--sysctl` is applied later, at its start, and wins.
 */
import { isErrno } from './errno.js';
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
