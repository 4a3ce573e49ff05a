/**
 * Driver-level conformance (H12): what every NetworkDriver — built-in or a plugin behind the
 * remote driver — must do, exercised the way the controller calls it, in throwaway namespaces:
 *   create network → 2 endpoints → join 2 sandboxes → interface named/addressed/up → ping
 *   between them → leave (interface gone from the sandbox) → leave again → delete endpoints
 *   (twice) → delete network (twice) → nothing left in the daemon's netns.
 * The caller owns the daemon netns (`hostNetlink`); sandboxes are made under `workDir` and
 * removed here, whatever happens.
 */
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Netlink } from '../../src/kernel/netlink/index.js';
import type { Netns } from '../../src/kernel/netns.js';
import type { JoinInfo, NetworkDriver, NetworkSpec } from '../../src/network/driver-api.js';
import { nthAddress, parseSubnet } from '../../src/lib/cidr.js';
import { assert, type Checks } from './report.js';

export interface DriverConformanceOptions {
  driver: NetworkDriver;
  netns: Netns;
  /** rtnetlink socket in the daemon's netns (where the driver/plugin makes host-side objects). */
  hostNetlink: () => Netlink;
  /** Directory for the sandbox netns files. */
  workDir: string;
  /** IPv4 subnet for the test network (gateway .1, endpoints .2 and .3). */
  subnet: string;
  /** Ping between the two sandboxes (default true). */
  ping?: boolean;
  /** Driver options (-o). */
  networkOptions?: Record<string, string>;
  /** Restart the plugin between join and leave (its state must survive). */
  restart?: () => Promise<void>;
  checks: Checks;
}

export function randomId(): string {
  return crypto.randomBytes(32).toString('hex');
}

function pingArgs(): string[] {
  for (const p of ['/usr/bin/ping', '/bin/ping']) if (fs.existsSync(p)) return [p];
  return ['busybox', 'ping'];
}

/** One ping from the netns `file` to `ip` (a few tries: the first ARP may be slow). */
export function pingFrom(file: string, ip: string, tries = 5): { ok: boolean; output: string } {
  let output = '';
  for (let i = 0; i < tries; i++) {
    const r = spawnSync('nsenter', [`--net=${file}`, ...pingArgs(), '-c', '1', '-W', '1', ip], {
      encoding: 'utf8',
      timeout: 5_000,
    });
    output = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim();
    if (r.status === 0) return { ok: true, output };
  }
  return { ok: false, output };
}

interface Snapshot {
  links: Map<string, number>;
  routes: Set<string>;
  addresses: Set<string>;
}

async function snapshot(nl: Netlink): Promise<Snapshot> {
  const links = new Map((await nl.listLinks()).map((l) => [l.name, l.index]));
  const routes = new Set(
    (await nl.listRoutes({ table: 'all' })).map(
      (r) => `${r.family}:${r.dst}${r.gateway ? ` via ${r.gateway}` : ''}${r.dev ? ` dev ${r.dev}` : ''} table ${r.table}`,
    ),
  );
  const addresses = new Set(
    (await nl.listAddresses()).filter((a) => !a.cidr.startsWith('fe80:')).map((a) => `${a.cidr} dev ${a.link}`),
  );
  return { links, routes, addresses };
}

/** What is in `after` and not in `before`. */
function leftovers(before: Snapshot, after: Snapshot): string[] {
  const out: string[] = [];
  for (const [name] of after.links) if (!before.links.has(name)) out.push(`link ${name}`);
  for (const r of after.routes) if (!before.routes.has(r)) out.push(`route ${r}`);
  for (const a of after.addresses) if (!before.addresses.has(a)) out.push(`address ${a}`);
  return out;
}

async function makeSandbox(netns: Netns, file: string): Promise<void> {
  netns.create(file);
  const nl = netns.run(file, () => Netlink.open());
  try {
    await nl.setUp('lo');
  } finally {
    nl.close();
  }
}

async function inNs<T>(netns: Netns, file: string, fn: (nl: Netlink) => Promise<T>): Promise<T> {
  const nl = netns.run(file, () => Netlink.open());
  try {
    return await fn(nl);
  } finally {
    nl.close();
  }
}

export async function runDriverConformance(o: DriverConformanceOptions): Promise<void> {
  const { driver, netns, checks } = o;
  const d = driver.name;
  const subnet = parseSubnet(o.subnet);
  const prefix = subnet.prefix;
  const gateway = nthAddress(o.subnet, 1);
  const addrs = [nthAddress(o.subnet, 2), nthAddress(o.subnet, 3)];
  const networkId = randomId();
  const eps = [randomId(), randomId()];
  const sandboxes = [path.join(o.workDir, `sbx-${eps[0]!.slice(0, 8)}`), path.join(o.workDir, `sbx-${eps[1]!.slice(0, 8)}`)];
  const spec: NetworkSpec = {
    id: networkId,
    name: `conformance-${networkId.slice(0, 6)}`,
    options: { ...(o.networkOptions ?? {}) },
    labels: {},
    internal: false,
    enableIPv6: false,
    attachable: false,
    ipv4: [{ pool: o.subnet, gateway: `${gateway}/${prefix}` }],
    ipv6: [],
  };
  const host = o.hostNetlink();
  const before = await snapshot(host);
  let networkMade = false;
  const made = new Set<number>();
  const joined = new Set<number>();
  const infos: JoinInfo[] = [];

  try {
    for (const f of sandboxes) await makeSandbox(netns, f);

    networkMade = await checks.check(`${d}: create network ${o.subnet}`, () => driver.createNetwork(spec));
    if (!networkMade) return;

    for (const i of [0, 1]) {
      const ok = await checks.check(`${d}: create endpoint ${addrs[i]}`, async () => {
        const info = await driver.createEndpoint({
          networkId,
          endpointId: eps[i]!,
          containerId: eps[i]!,
          address: `${addrs[i]}/${prefix}`,
          options: {},
        });
        assert(!info.address || info.address === `${addrs[i]}/${prefix}`, `the driver changed the address to ${info.address}`);
        return Object.keys(info).length ? `driver chose ${JSON.stringify(info)}` : undefined;
      });
      if (ok) made.add(i);
    }
    if (made.size < 2) return;

    for (const i of [0, 1]) {
      const ok = await checks.check(`${d}: join endpoint ${i + 1} into a sandbox as eth0`, async () => {
        const info = await driver.join({
          networkId,
          endpointId: eps[i]!,
          containerId: eps[i]!,
          sandboxKey: sandboxes[i]!,
          ifname: 'eth0',
          address: `${addrs[i]}/${prefix}`,
          options: {},
        });
        infos[i] = info;
        return `gateway ${info.gateway ?? '-'}${info.disableGatewayService ? ', no gateway service' : ''}`;
      });
      if (ok) joined.add(i);
    }
    if (joined.size < 2) return;

    for (const i of [0, 1]) {
      await checks.check(`${d}: sandbox ${i + 1} has eth0 up with ${addrs[i]}/${prefix}`, () =>
        inNs(netns, sandboxes[i]!, async (nl) => {
          const link = await nl.getLink('eth0');
          assert(link, 'no eth0 in the sandbox');
          assert(link.up, 'eth0 is not up');
          const a = await nl.listAddresses('eth0', 4);
          assert(
            a.some((x) => x.cidr === `${addrs[i]}/${prefix}`),
            `eth0 has ${a.map((x) => x.cidr).join(', ') || 'no IPv4 address'}`,
          );
          const gw = infos[i]?.gateway;
          if (gw) {
            // What the controller does for the gateway endpoint.
            await nl.replaceRoute({ dst: 'default', gateway: gw, dev: 'eth0', onlink: true });
          }
        }),
      );
    }

    if (o.ping === false) checks.skip(`${d}: ping between the sandboxes`, 'disabled (--no-ping)');
    else {
      await checks.check(`${d}: ping ${addrs[1]} from sandbox 1 and ${addrs[0]} from sandbox 2`, () => {
        for (const [from, to] of [
          [0, 1],
          [1, 0],
        ] as const) {
          const r = pingFrom(sandboxes[from]!, addrs[to]!);
          assert(r.ok, `no reply from ${addrs[to]}: ${r.output.split('\n').slice(-2).join(' / ')}`);
        }
      });
    }
    if (o.restart) await checks.check(`${d}: the plugin restarts between join and leave`, () => o.restart!());
    else checks.skip(`${d}: the plugin restarts between join and leave`, 'give --restart-cmd to test it');
  } finally {
    for (const i of [...joined]) {
      await checks.check(`${d}: leave endpoint ${i + 1}${o.restart ? ' (after the restart)' : ''}`, async () => {
        await driver.leave(networkId, eps[i]!);
        const rest = await inNs(netns, sandboxes[i]!, async (nl) =>
          (await nl.listLinks()).filter((l) => l.name !== 'lo').map((l) => l.name),
        );
        assert(rest.length === 0, `interfaces left in the sandbox after leave: ${rest.join(', ')}`);
      });
    }
    if (joined.size > 0) await checks.check(`${d}: leave again is a no-op`, () => driver.leave(networkId, eps[[...joined][0]!]!));
    for (const i of [...made])
      await checks.check(`${d}: delete endpoint ${i + 1}`, () => driver.deleteEndpoint(networkId, eps[i]!));
    if (made.size > 0)
      await checks.check(`${d}: delete endpoint again is a no-op`, () => driver.deleteEndpoint(networkId, eps[[...made][0]!]!));
    if (networkMade) {
      await checks.check(`${d}: delete network`, () => driver.deleteNetwork(networkId));
      await checks.check(`${d}: delete network again is a no-op`, () => driver.deleteNetwork(networkId));
    }
    for (const f of sandboxes) {
      try {
        if (netns.exists(f)) netns.remove(f);
      } catch {
        /* best effort */
      }
    }
    if (networkMade) {
      await checks.check(`${d}: nothing left behind in the daemon's network namespace`, async () => {
        const extra = leftovers(before, await snapshot(host));
        assert(extra.length === 0, `left behind: ${extra.join('; ')}`);
      });
    }
  }

  // A join that cannot work must fail and leave nothing behind.
  const rbNet = randomId();
  const rbSandbox = path.join(o.workDir, `sbx-rb-${rbNet.slice(0, 8)}`);
  const rbBefore = await snapshot(host);
  try {
    await makeSandbox(netns, rbSandbox);
    await driver.createNetwork({ ...spec, id: rbNet });
    await checks.check(
      `${d}: join of an endpoint that was never created fails cleanly`,
      async () => {
        let failed = false;
        try {
          await driver.join({
            networkId: rbNet,
            endpointId: randomId(),
            containerId: randomId(),
            sandboxKey: rbSandbox,
            ifname: 'eth0',
            address: `${addrs[0]}/${prefix}`,
            options: {},
          });
        } catch {
          failed = true;
        }
        const rest = await inNs(netns, rbSandbox, async (nl) =>
          (await nl.listLinks()).filter((l) => l.name !== 'lo').map((l) => l.name),
        );
        assert(rest.length === 0, `interfaces left in the sandbox: ${rest.join(', ')}`);
        assert(failed, 'the join succeeded');
      },
      'warn',
    );
  } catch (err) {
    checks.skip(`${d}: join of an endpoint that was never created fails cleanly`, `could not set up: ${(err as Error).message}`);
  } finally {
    try {
      await driver.deleteNetwork(rbNet);
    } catch {
      /* checked above */
    }
    if (netns.exists(rbSandbox)) netns.remove(rbSandbox);
    const extra = leftovers(rbBefore, await snapshot(host));
    if (extra.length > 0)
      await checks.check(`${d}: nothing left behind after the failed join`, () =>
        assert(false, `left behind: ${extra.join('; ')}`),
      );
  }
}
