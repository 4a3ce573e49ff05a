/**
 * The fast path (decision 59) against a hostile container (decision 61). A container has
 * CAP_NET_RAW by default, so it can write any frame on its eth0: here it sends frames crafted to
 * go through its host-side veth's redirect program where the bridge would not take them — to
 * another network's container, to a peer on an enable_icc=false network, with a member's
 * address but another MAC, to an address now held by a new container, with VLAN tags, as IPv6
 * with an IPv4 member's address (::ffff:a.b.c.d), cut short inside the headers the program
 * reads, with a spoofed source. The same frames go, with their own addresses, over a twin
 * network with the fast path off: frame for frame, the victim may take no more of them as
 * addressed to it (PACKET_HOST) than the bridge gives it, and every frame but a well-formed one
 * to a member's address and MAC must take the bridge (seen leaving the victim's host-side veth).
 *
 * Sender and counter: test/helpers/raw-frames.c, built here; the sender runs inside the
 * attacker container (its default capabilities), the counters in the victims' namespaces and
 * on their host-side veths.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { bridgeNameFor, vethName } from '../../src/network/drivers/bridge/options.js';
import { requireNeeds } from '../helpers/preconditions.js';
import { createWorld, REPO, sleep, start, type World } from '../helpers/world.js';

let w: World;
let bin = '';
test.before(async () => {
  requireNeeds({ root: true, commands: [['gcc', 'gcc']] });
  w = await createWorld();
  bin = path.join(w.dir, 'raw-frames');
  execFileSync('gcc', ['-O2', '-static', '-o', bin, path.join(REPO, 'test/helpers/raw-frames.c')]);
});
test.after.always(async () => {
  await w?.teardown();
});

interface Member {
  name: string;
  ip: string;
  mac: string;
  /** the host-side veth */
  veth: string;
  sandbox: string;
}

async function member(t: ExecutionContext, net: string, name: string, extra: string[] = []): Promise<Member> {
  t.teardown(() => w.cli(['rm', '-f', name]));
  await w.ok([
    'run',
    '-d',
    '--name',
    name,
    '--network',
    net,
    ...extra,
    '-v',
    `${bin}:/raw-frames:ro`,
    'busybox',
    'sleep',
    '1000',
  ]);
  const f = (x: string) => `{{.NetworkSettings.Networks.${net}.${x}}}`;
  const out = await w.ok([
    'inspect',
    '-f',
    `${f('IPAddress')} ${f('MacAddress')} ${f('EndpointID')} {{.NetworkSettings.SandboxKey}}`,
    name,
  ]);
  const [ip, mac, endpoint, sandbox] = out.trim().split(' ') as [string, string, string, string];
  return { name, ip, mac, veth: vethName(endpoint), sandbox };
}

/** The filters are attached beside a start: wait until the member's host-side veth has its own. */
async function filterOn(m: Member): Promise<void> {
  for (let i = 0; !(await w.inHost(['tc', 'filter', 'show', 'dev', m.veth, 'ingress'])).stdout.includes('tsnet_'); i++) {
    if (i > 100) throw new Error(`no filter on ${m.name}'s veth`);
    await sleep(50);
  }
}

async function network(t: ExecutionContext, name: string, opts: string[]): Promise<{ gatewayMac: string }> {
  await w.ok(['network', 'create', ...opts, name]);
  t.teardown(() => w.cli(['network', 'rm', name]));
  const id = (await w.ok(['network', 'inspect', '-f', '{{.Id}}', name])).trim();
  const link = await w.inHost(['ip', '-j', 'link', 'show', 'dev', bridgeNameFor(id)]);
  return { gatewayMac: JSON.parse(link.stdout)[0].address };
}

// ------------------------------------------------------------------ frames

const macBytes = (m: string) => Buffer.from(m.split(':').map((h) => Number.parseInt(h, 16)));
const v4 = (ip: string) => Buffer.from(ip.split('.').map(Number));
const caseMac = (id: number) => `02:fa:57:ca:5e:${id.toString(16).padStart(2, '0')}`;

function checksum(b: Buffer): number {
  let s = 0;
  for (let i = 0; i < b.length; i += 2) s += b.readUInt16BE(i);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

/** UDP to port 9 (discard) carrying the case's mark. */
function udp(id: number): Buffer {
  const b = Buffer.concat([Buffer.alloc(8), Buffer.from('FPCASE'), Buffer.from([id]), Buffer.alloc(17)]);
  b.writeUInt16BE(40000, 0);
  b.writeUInt16BE(9, 2);
  b.writeUInt16BE(b.length, 4);
  return b;
}

function ipv4(src: string, dst: string, payload: Buffer): Buffer {
  const h = Buffer.alloc(20);
  h.writeUInt8(0x45, 0);
  h.writeUInt16BE(20 + payload.length, 2);
  h.writeUInt8(64, 8);
  h.writeUInt8(17, 9);
  v4(src).copy(h, 12);
  v4(dst).copy(h, 16);
  h.writeUInt16BE(checksum(h), 10);
  return Buffer.concat([h, payload]);
}

/** IPv6 from fd00::1 to `dst` (16 bytes); `payload` is UDP, its checksum is filled in (IPv6 needs one). */
function ipv6(dst: Buffer, udpPayload: Buffer): Buffer {
  const payload = Buffer.from(udpPayload);
  const h = Buffer.alloc(40);
  h.writeUInt32BE(0x60000000, 0);
  h.writeUInt16BE(payload.length, 4);
  h.writeUInt8(17, 6);
  h.writeUInt8(64, 7);
  h.writeUInt16BE(0xfd00, 8);
  h.writeUInt8(1, 23);
  dst.copy(h, 24);
  const pseudo = Buffer.alloc(40);
  h.copy(pseudo, 0, 8, 40);
  pseudo.writeUInt32BE(payload.length, 32);
  pseudo.writeUInt32BE(17, 36);
  payload.writeUInt16BE(checksum(Buffer.concat([pseudo, payload])), 6);
  return Buffer.concat([h, payload]);
}

const ETH_IPV4 = 0x0800;
const ETH_IPV6 = 0x86dd;
function eth(dst: string, src: string, type: number, payload: Buffer, tags: Array<[tpid: number, vid: number]> = []): Buffer {
  const t = Buffer.alloc(2 + 4 * tags.length);
  tags.forEach(([tpid, vid], i) => {
    t.writeUInt16BE(tpid, 4 * i);
    t.writeUInt16BE(vid, 4 * i + 2);
  });
  t.writeUInt16BE(type, 4 * tags.length);
  return Buffer.concat([macBytes(dst), macBytes(src), t, payload]);
}

interface Case {
  id: number;
  what: string;
  /** the frame from an attacker of the network whose victim, bystander and gateway are given */
  frame: (v: Member, by: Member, gatewayMac: string) => Buffer;
  /** a well-formed frame to the victim's address and MAC: the one kind the fast path takes */
  fast?: boolean;
}

const v4mapped = (ip: string) => Buffer.concat([Buffer.alloc(10), Buffer.from([0xff, 0xff]), v4(ip)]);
const toVictim = (v: Member, id: number, src = '10.0.0.1') => ipv4(src, v.ip, udp(id));

const CASES: Case[] = [
  { id: 1, what: 'well-formed, to the victim', fast: true, frame: (v) => eth(v.mac, caseMac(1), ETH_IPV4, toVictim(v, 1)) },
  {
    id: 2,
    what: "the victim's address, the bystander's MAC",
    frame: (v, by) => eth(by.mac, caseMac(2), ETH_IPV4, toVictim(v, 2)),
  },
  {
    id: 3,
    what: "the victim's address, an unknown MAC",
    frame: (v) => eth('02:00:00:00:00:01', caseMac(3), ETH_IPV4, toVictim(v, 3)),
  },
  {
    id: 4,
    what: "the victim's address, broadcast",
    frame: (v) => eth('ff:ff:ff:ff:ff:ff', caseMac(4), ETH_IPV4, toVictim(v, 4)),
  },
  {
    id: 5,
    what: "the victim's address as ::ffff:a.b.c.d in IPv6",
    frame: (v) => eth(v.mac, caseMac(5), ETH_IPV6, ipv6(v4mapped(v.ip), udp(5))),
  },
  { id: 6, what: 'VLAN 5', frame: (v) => eth(v.mac, caseMac(6), ETH_IPV4, toVictim(v, 6), [[0x8100, 5]]) },
  { id: 7, what: 'VLAN 0 (priority tag)', frame: (v) => eth(v.mac, caseMac(7), ETH_IPV4, toVictim(v, 7), [[0x8100, 0]]) },
  {
    id: 8,
    what: 'QinQ',
    frame: (v) =>
      eth(v.mac, caseMac(8), ETH_IPV4, toVictim(v, 8), [
        [0x88a8, 5],
        [0x8100, 6],
      ]),
  },
  { id: 9, what: 'IPv4 with no header (14 bytes)', frame: (v) => eth(v.mac, caseMac(9), ETH_IPV4, Buffer.alloc(0)) },
  {
    id: 10,
    what: 'IPv4 cut inside the destination (33 bytes)',
    frame: (v) => eth(v.mac, caseMac(10), ETH_IPV4, toVictim(v, 10)).subarray(0, 33),
  },
  {
    id: 11,
    what: 'IPv6 cut inside the destination (53 bytes)',
    frame: (v) => eth(v.mac, caseMac(11), ETH_IPV6, ipv6(v4mapped(v.ip), udp(11))).subarray(0, 53),
  },
  // last: its source MAC teaches the bridge that the bystander is behind the attacker's port
  {
    id: 12,
    what: "spoofed source (the bystander's address and MAC)",
    fast: true,
    frame: (v, by) => eth(v.mac, by.mac, ETH_IPV4, toVictim(v, 12, by.ip)),
  },
];

type Count = { host: number; other: number; outgoing: number; taken: number };
type Counts = Map<number, Count>;

/**
 * Counters on the given links (netns path or the world's host netns), while `send` runs; with a
 * port, also what a UDP socket of that namespace takes.
 */
async function counting(
  where: Array<{ netns: string; link: string; port?: number }>,
  send: () => Promise<void>,
): Promise<Counts[]> {
  const counters = where.map(({ netns, link, port }) =>
    start('nsenter', [`--net=${netns}`, bin, 'count', link, ...(port ? [String(port)] : [])], { timeoutMs: 30_000 }),
  );
  try {
    for (const c of counters) {
      for (let i = 0; !c.stdout().includes('ready'); i++) {
        if (i > 200) throw new Error(`counter not ready: ${c.stderr()}`);
        await sleep(10);
      }
    }
    await send();
    await sleep(300);
  } finally {
    for (const c of counters) c.kill('SIGTERM');
  }
  const results = await Promise.all(counters.map((c) => c.done));
  return results.map((r) => {
    const counts: Counts = new Map();
    for (const m of r.stdout.matchAll(/^(\d+) host=(\d+) other=(\d+) outgoing=(\d+) taken=(\d+)$/gm))
      counts.set(Number(m[1]), { host: Number(m[2]), other: Number(m[3]), outgoing: Number(m[4]), taken: Number(m[5]) });
    return counts;
  });
}

const get = (c: Counts, id: number): Count => c.get(id) ?? { host: 0, other: 0, outgoing: 0, taken: 0 };

async function send(from: Member, frames: Buffer[]): Promise<void> {
  const r = await w.ok(['exec', from.name, '/raw-frames', 'send', 'eth0', ...frames.map((f) => f.toString('hex'))]);
  if (
    r
      .trim()
      .split('\n')
      .some((l) => l !== 'sent')
  )
    throw new Error(`not every frame went out: ${r}`);
}

test.serial('frames crafted by a container take the fast path only where the bridge would deliver them', async (t) => {
  const fastNet = await network(t, 'hfast', ['--subnet', '10.201.1.0/24']);
  const refNet = await network(t, 'href', ['--subnet', '10.201.2.0/24', '-o', 'com.tsnet.bridge.fast_path=false']);
  await network(t, 'hother', ['--subnet', '10.201.3.0/24']);
  await network(t, 'hnoicc', ['--subnet', '10.201.4.0/24', '-o', 'com.docker.network.bridge.enable_icc=false']);
  const [atk, vic, by, ratk, rvic, rby, oth, iatk, ivic] = await Promise.all([
    member(t, 'hfast', 'atk'),
    member(t, 'hfast', 'vic'),
    member(t, 'hfast', 'by'),
    member(t, 'href', 'ratk'),
    member(t, 'href', 'rvic'),
    member(t, 'href', 'rby'),
    member(t, 'hother', 'oth'),
    member(t, 'hnoicc', 'iatk'),
    member(t, 'hnoicc', 'ivic'),
  ]);
  await filterOn(atk);

  const [fv, fvHost, rv, rvHost] = await counting(
    [
      { netns: vic.sandbox, link: 'eth0', port: 9 },
      { netns: w.hostNetns, link: vic.veth },
      { netns: rvic.sandbox, link: 'eth0', port: 9 },
      { netns: w.hostNetns, link: rvic.veth },
    ],
    async () => {
      await send(
        atk,
        CASES.map((c) => c.frame(vic, by, fastNet.gatewayMac)),
      );
      await send(
        ratk,
        CASES.map((c) => c.frame(rvic, rby, refNet.gatewayMac)),
      );
    },
  );
  const wrong: string[] = [];
  for (const c of CASES) {
    const { outgoing: _f, ...f } = { ...get(fv!, c.id), bridged: get(fvHost!, c.id).outgoing };
    const { outgoing: _r, ...r } = { ...get(rv!, c.id), bridged: get(rvHost!, c.id).outgoing };
    const seen = `${c.id} ${c.what}: fast path ${JSON.stringify(f)}, bridge ${JSON.stringify(r)}`;
    t.log(seen);
    if (f.taken > r.taken || f.host > r.host) wrong.push(`taken more often than through the bridge: ${seen}`);
    if (c.fast && !(f.taken === 1 && f.bridged === 0 && r.taken === 1 && r.bridged === 1))
      wrong.push(`not through the fast path: ${seen}`);
    if (!c.fast && f.bridged !== r.bridged) wrong.push(`not through the bridge: ${seen}`);
  }
  t.deepEqual(wrong, []);

  // another network's container, directly and through the gateway; a peer on an icc=false network
  const [o, io] = await counting(
    [
      { netns: oth.sandbox, link: 'eth0', port: 9 },
      { netns: ivic.sandbox, link: 'eth0', port: 9 },
    ],
    async () => {
      await send(atk, [
        eth(oth.mac, caseMac(20), ETH_IPV4, toVictim(oth, 20)),
        eth(fastNet.gatewayMac, caseMac(21), ETH_IPV4, toVictim(oth, 21)),
      ]);
      await send(iatk, [eth(ivic.mac, caseMac(22), ETH_IPV4, toVictim(ivic, 22))]);
    },
  );
  t.log(`another network: ${JSON.stringify([...o!.entries()])}; icc off: ${JSON.stringify([...io!.entries()])}`);
  t.deepEqual([...o!.entries()], [], "another network's container gets nothing");
  t.deepEqual([...io!.entries()], [], 'a peer on an enable_icc=false network gets nothing');
});

test.serial('an address held by a new container on the network answers with the new MAC only', async (t) => {
  await network(t, 'hreuse', ['--subnet', '10.201.5.0/24']);
  const atk = await member(t, 'hreuse', 'ratk2');
  const old = await member(t, 'hreuse', 'old', ['--ip', '10.201.5.50']);
  await w.ok(['rm', '-f', 'old']);
  const now = await member(t, 'hreuse', 'new', ['--ip', '10.201.5.50']);
  t.not(now.mac, old.mac);
  await filterOn(atk);
  await filterOn(now); // (its entry goes in right after)
  await sleep(100);
  const [n, nHost] = await counting(
    [
      { netns: now.sandbox, link: 'eth0', port: 9 },
      { netns: w.hostNetns, link: now.veth },
    ],
    () =>
      send(atk, [eth(old.mac, caseMac(30), ETH_IPV4, toVictim(now, 30)), eth(now.mac, caseMac(31), ETH_IPV4, toVictim(now, 31))]),
  );
  t.is(get(n!, 30).taken + get(n!, 30).host, 0, `the old MAC: ${JSON.stringify(get(n!, 30))}`);
  t.deepEqual(
    { taken: get(n!, 31).taken, bridged: get(nHost!, 31).outgoing },
    { taken: 1, bridged: 0 },
    'the new MAC: taken, through the fast path',
  );
});
