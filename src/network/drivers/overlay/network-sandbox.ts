/**
 * The data path of one overlay network on one host, as Docker builds it: a namespace
 * `<exec-root>/netns/ov-<vni>-<id12>` holding a bridge and a VXLAN device. The VXLAN device is
 * created in the daemon's (host) netns — so its UDP socket on port 4789, bound to the advertise
 * address, stays there on the underlay — and then moved into the network's namespace and
 * enslaved to the bridge. Learning is off and the device answers ARP from its neighbour table
 * (proxy); every remote endpoint is a static FDB entry plus a permanent neighbour entry.
 */
import fs from 'node:fs';
import { Netlink } from '../../../kernel/netlink/index.js';
import type { Netns } from '../../../kernel/netns.js';
import { TsnetError } from '../../../errors/index.js';
import type { Rollback } from '../../../errors/rollback.js';
import { bridgeName, netnsFile, vxlanName } from './names.js';
import { VXLAN_PORT } from './options.js';
import type { PeerOp, PeerTable } from './peers.js';

export interface SandboxSpec {
  networkId: string;
  vni: number;
  /** Gateways with prefix, put on the bridge (10.77.0.1/24, fd00:77::1/64): one per subnet. */
  gateways: string[];
  /** The network has IPv6 subnets (else the bridge and the VXLAN device get no link-local address). */
  ipv6: boolean;
  mtu: number;
  advertiseAddr: string;
  underlayIndex: number;
  port?: number;
}

export interface SandboxEnv {
  host: Netlink;
  netns: Netns;
  netnsDir: string;
}

export class NetworkSandbox {
  readonly file: string;
  readonly bridge: string;
  readonly vxlan: string;

  private constructor(
    readonly spec: SandboxSpec,
    readonly nl: Netlink,
    private readonly env: SandboxEnv,
  ) {
    this.file = netnsFile(env.netnsDir, spec.vni, spec.networkId);
    this.bridge = bridgeName(spec.vni);
    this.vxlan = vxlanName(spec.vni);
  }

  /** Build the namespace, bridge and VXLAN device; every step's undo goes on `rb`. */
  static async create(spec: SandboxSpec, env: SandboxEnv, rb: Rollback): Promise<NetworkSandbox> {
    const file = netnsFile(env.netnsDir, spec.vni, spec.networkId);
    const vx = vxlanName(spec.vni);
    const br = bridgeName(spec.vni);
    // leftovers of a crash: a namespace file and/or a VXLAN device that never got moved
    if (fs.existsSync(file)) env.netns.remove(file);
    await env.host.deleteLink(vx);

    env.netns.create(file);
    rb.push(`remove network namespace ${file}`, () => env.netns.remove(file));
    const nl = env.netns.run(file, () => Netlink.open());
    rb.push(`close netlink socket of ${file}`, () => nl.close());
    const sb = new NetworkSandbox(spec, nl, env);

    await nl.setUp('lo');
    await nl.addBridge(br, { mtu: spec.mtu });
    for (const gw of spec.gateways) await nl.addAddress(br, gw, gw.includes(':') ? { noDad: true } : {});

    await env.host.addVxlan(vx, {
      vni: spec.vni,
      port: spec.port ?? VXLAN_PORT,
      local: spec.advertiseAddr,
      underlayIndex: spec.underlayIndex,
      learning: false,
      proxy: true,
      mtu: spec.mtu,
    });
    rb.push(`delete ${vx} from the host namespace`, () => env.host.deleteLink(vx));
    const fd = fs.openSync(file, 'r');
    try {
      await env.host.moveToNetns(vx, fd);
    } finally {
      fs.closeSync(fd);
    }
    await nl.setMaster(vx, br);
    // without IPv6: no link-local address, so no solicitation or MLD report flooded to every
    // container and over the VXLAN to every peer host (decision 43). Both have carrier as they
    // come up: the mode goes first
    if (!spec.ipv6) for (const l of [vx, br]) await nl.setNoLinkLocal(l);
    await nl.setUp(vx);
    await nl.setUp(br);
    return sb;
  }

  /**
   * Take over a namespace left by an earlier daemon (live restore). undefined when the file is
   * not there or does not hold the bridge and VXLAN device this network needs.
   */
  static async adopt(spec: SandboxSpec, env: SandboxEnv): Promise<NetworkSandbox | undefined> {
    const file = netnsFile(env.netnsDir, spec.vni, spec.networkId);
    if (!env.netns.exists(file) || !isNsMount(file)) return undefined;
    const nl = env.netns.run(file, () => Netlink.open());
    const sb = new NetworkSandbox(spec, nl, env);
    const [br, vx] = await Promise.all([nl.getLink(sb.bridge), nl.getLink(sb.vxlan)]);
    if (!br || !vx || vx.kind !== 'vxlan' || vx.vxlan?.vni !== spec.vni || vx.master !== br.index) {
      nl.close();
      return undefined;
    }
    return sb;
  }

  /** Tear everything down; idempotent. The container ends of joined veths go with it. */
  async destroy(): Promise<void> {
    const errors: string[] = [];
    for (const step of [() => this.nl.deleteLink(this.vxlan), () => this.nl.deleteLink(this.bridge)]) {
      try {
        await step();
      } catch (err) {
        errors.push((err as Error).message);
      }
    }
    this.nl.close();
    try {
      this.env.netns.remove(this.file);
    } catch (err) {
      errors.push((err as Error).message);
    }
    if (errors.length) throw new TsnetError('TSNET_NETLINK', `remove overlay namespace ${this.file}: ${errors.join('; ')}`);
  }

  /** Apply peer changes to the VXLAN device (each idempotent). */
  async apply(ops: PeerOp[]): Promise<void> {
    for (const o of ops) {
      switch (o.op) {
        case 'neigh-set':
          await this.nl.addNeighbour({ dev: this.vxlan, ip: o.ip, mac: o.mac, permanent: true, replace: true });
          break;
        case 'neigh-del':
          await this.nl.delNeighbour({ dev: this.vxlan, ip: o.ip });
          break;
        case 'fdb-set':
          await this.nl.addFdb({ dev: this.vxlan, mac: o.mac, dst: o.vtep, self: true, permanent: true, replace: true });
          break;
        case 'fdb-del':
          await this.nl.delFdb({ dev: this.vxlan, mac: o.mac, self: true });
          break;
      }
    }
  }

  /** Make the device's neighbour and FDB entries exactly what `peers` wants. Returns the changes. */
  async reconcile(peers: PeerTable): Promise<PeerOp[]> {
    const want = peers.desired();
    const ops: PeerOp[] = [];
    const neigh = [
      ...(await this.nl.listNeighbours({ dev: this.vxlan, family: 4 })),
      ...(await this.nl.listNeighbours({ dev: this.vxlan, family: 6 })),
    ];
    const haveNeigh = new Map(neigh.filter((n) => n.permanent && n.mac).map((n) => [n.ip, n.mac!]));
    // (IPv6 keeps entries of its own on the device, e.g. for link-local addresses: only permanent ones are ours)
    for (const n of neigh) if (!want.neigh.has(n.ip) && (n.family === 4 || n.permanent)) ops.push({ op: 'neigh-del', ip: n.ip });
    for (const [ip, mac] of want.neigh) if (haveNeigh.get(ip) !== mac) ops.push({ op: 'neigh-set', ip, mac });
    const fdb = (await this.nl.listFdb(this.vxlan)).filter((e) => e.self && e.dst !== undefined && e.devIndex !== 0);
    const haveFdb = new Map(fdb.map((e) => [e.mac, e.dst!]));
    for (const e of fdb) if (!want.fdb.has(e.mac)) ops.push({ op: 'fdb-del', mac: e.mac });
    for (const [mac, vtep] of want.fdb) if (haveFdb.get(mac) !== vtep) ops.push({ op: 'fdb-set', mac, vtep });
    await this.apply(ops);
    return ops;
  }
}

/** Is `file` a bind mount of a namespace (not a plain file left by a crash)? */
export function isNsMount(file: string): boolean {
  try {
    return fs
      .readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .some((l) => l.split(' ')[4] === file);
  } catch {
    return false;
  }
}
