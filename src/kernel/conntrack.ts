/** Drop conntrack entries (stale NAT state) with the conntrack tool. Plain values in. */
import { execa } from 'execa';

/** Delete UDP entries whose original destination port is one of `ports`; none found is fine. */
export async function flushConntrackPorts(proto: 'udp' | 'tcp', ports: number[]): Promise<void> {
  for (const port of ports) {
    await execa('conntrack', ['-D', '-p', proto, '--orig-port-dst', String(port)], { reject: false, timeout: 5000 });
  }
}
