/**
 * macvlan networks end to end, inside the world's throwaway host netns: veth pairs stand in for
 * the host's NICs (mvp0 → a "peer" netns playing the LAN; mvp1 → a peer bridge with hairpin on,
 * playing a VEPA-capable switch). Real macvlans, real packets.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createWorld, eventually, type World } from '../helpers/world.js';

let w: World;
let peerNs: string;
const peer = (args: string[]) => spawnSync('nsenter', [`--net=${peerNs}`, ...args], { encoding: 'utf8' });
const host = (args: string[]) => spawnSync('nsenter', [`--net=${w.hostNetns}`, ...args], { encoding: 'utf8' });
function must(r: ReturnType<typeof spawnSync>, what: string): void {
  if (r.status !== 0) throw new Error(`${what}: ${String(r.stderr)}${r.error ? ` (${r.error.message}; install iproute2)` : ''}`);
}

test.before(async () => {
  w = await createWorld();
  peerNs = path.join(w.dir, 'peerns');
  fs.writeFileSync(peerNs, '');
  must(spawnSync('unshare', [`--net=${peerNs}`, 'true']), 'make the peer netns');
  for (const [cmd, what] of [
    [['ip', 'link', 'add', 'mvp0', 'type', 'veth', 'peer', 'name', 'mvpeer', 'netns', peerNs], 'host'],
    [['ip', 'link', 'set', 'mvp0', 'up'], 'host'],
    [['ip', 'link', 'add', 'mvp1', 'type', 'veth', 'peer', 'name', 'mvpeer1', 'netns', peerNs], 'host'],
    [['ip', 'link', 'set', 'mvp1', 'up'], 'host'],
    [['ip', 'link', 'set', 'lo', 'up'], 'peer'],
    // the LAN behind mvp0: the gateway of 10.86/24 and 10.87/24, and 10.90/24 (the --internal test)
    [['ip', 'addr', 'add', '10.86.0.1/24', 'dev', 'mvpeer'], 'peer'],
    [['ip', 'addr', 'add', '10.87.0.1/24', 'dev', 'mvpeer'], 'peer'],
    [['ip', 'addr', 'add', '10.90.0.1/24', 'dev', 'mvpeer'], 'peer'],
    [['ip', 'link', 'set', 'mvpeer', 'up'], 'peer'],
    // behind mvp1: a bridge that sends frames back out of the port they came in on (a VEPA switch)
    [['ip', 'link', 'add', 'vepasw', 'type', 'bridge'], 'peer'],
    [['ip', 'link', 'set', 'mvpeer1', 'master', 'vepasw'], 'peer'],
    [['bridge', 'link', 'set', 'dev', 'mvpeer1', 'hairpin', 'on'], 'peer'],
    [['ip', 'addr', 'add', '10.88.0.1/24', 'dev', 'vepasw'], 'peer'],
    [['ip', 'addr', 'add', '10.89.0.1/24', 'dev', 'vepasw'], 'peer'],
    [['ip', 'link', 'set', 'mvpeer1', 'up'], 'peer'],
    [['ip', 'link', 'set', 'vepasw', 'up'], 'peer'],
  ] as const) {
    must(what === 'host' ? host([...cmd]) : peer([...cmd]), `${what}: ${cmd.join(' ')}`);
  }
});
test.after.always(async () => {
  await w?.teardown();
});

const ok = (args: string[]): Promise<string> => w.ok(args);
/** `network create -d macvlan NAME` on `parent` (in `mode`, if given) with `SUBNET.0/24` and `SUBNET.1` as its gateway. */
const macvlan = (name: string, parent: string, subnet: string, mode?: string) =>
  ok([
    'network',
    'create',
    '-d',
    'macvlan',
    '-o',
    `parent=${parent}`,
    ...(mode ? ['-o', `macvlan_mode=${mode}`] : []),
    '--subnet',
    `${subnet}.0/24`,
    '--gateway',
    `${subnet}.1`,
    name,
  ]);
const sleeper = (name: string, net: string, extra: string[] = []) =>
  ok(['run', '-d', '--name', name, '--network', net, ...extra, 'busybox', 'sleep', '3600']);
const ping = (from: string, to: string) => w.cli(['exec', from, 'ping', '-c', '1', '-W', '2', to]);

async function ipOf(container: string, network: string): Promise<string> {
  const [c] = JSON.parse(await ok(['inspect', container]));
  return String(c.NetworkSettings.Networks[network].IPAddress);
}

/** The host's own tools inside a container's netns (busybox's ip shows no link kinds). */
async function inContainer(name: string, args: string[]) {
  const [c] = JSON.parse(await ok(['inspect', name]));
  return spawnSync('nsenter', [`--net=/proc/${c.State.Pid}/ns/net`, ...args], { encoding: 'utf8' });
}

/** Every link of the world's host netns (name, kind, master), to compare before and after. */
function hostLinks(): string[] {
  const r = host(['ip', '-j', '-d', 'link', 'show']);
  must(r, 'ip -j link');
  return (JSON.parse(r.stdout) as Array<{ ifname: string; master?: string; linkinfo?: { info_kind?: string } }>)
    .map((l) => `${l.ifname}:${l.linkinfo?.info_kind ?? ''}:${l.master ?? ''}`)
    .sort();
}

test.serial('bridge mode: containers reach each other (IP and name) and the LAN, not the parent itself', async (t) => {
  const net = `mv-${w.id}`;
  await macvlan(net, 'mvp0', '10.86.0');
  const [n] = JSON.parse(await ok(['network', 'inspect', net]));
  t.is(n.Driver, 'macvlan');
  t.deepEqual(n.Options, { parent: 'mvp0' });
  await sleeper(`a-${w.id}`, net);
  await sleeper(`b-${w.id}`, net, ['--ip', '10.86.0.77']);
  t.is(await ipOf(`b-${w.id}`, net), '10.86.0.77');
  const link = await inContainer(`a-${w.id}`, ['ip', '-d', 'link', 'show', 'eth0']);
  t.regex(link.stdout, /macvlan mode bridge/, link.stderr);
  let r = await ping(`a-${w.id}`, '10.86.0.77');
  t.is(r.exitCode, 0, `a → b by IP: ${r.stdout}${r.stderr}`);
  r = await ping(`a-${w.id}`, `b-${w.id}`);
  t.is(r.exitCode, 0, `a → b by name: ${r.stdout}${r.stderr}`);
  r = await ping(`a-${w.id}`, '10.86.0.1');
  t.is(r.exitCode, 0, `a → the peer (gateway) namespace: ${r.stdout}${r.stderr}`);
  const route = await w.cli(['exec', `a-${w.id}`, 'ip', 'route']);
  t.regex(route.stdout, /default via 10\.86\.0\.1 dev eth0/);
  // a network without IPv6: no IPv6 address, not even link-local, so no IPv6 multicast to the
  // siblings and the LAN (decision 43); eth0 has long had carrier (the pings went through)
  const inet6 = await inContainer(`a-${w.id}`, ['ip', '-6', '-o', 'addr', 'show', 'dev', 'eth0']);
  t.is(inet6.status, 0, inet6.stderr);
  t.is(inet6.stdout.trim(), '', 'no inet6 address on eth0');
  // as in Docker: the host's own address on the parent is not reachable from the macvlans
  must(host(['ip', 'addr', 'add', '10.86.0.250/24', 'dev', 'mvp0']), 'address on mvp0');
  try {
    r = await ping(`a-${w.id}`, '10.86.0.250');
    t.not(r.exitCode, 0, 'the parent’s own address must not answer');
  } finally {
    host(['ip', 'addr', 'del', '10.86.0.250/24', 'dev', 'mvp0']);
  }
  // connect with --ip, then disconnect: the macvlan leaves the sandbox
  await sleeper(`c-${w.id}`, 'bridge');
  await ok(['network', 'connect', '--ip', '10.86.0.50', net, `c-${w.id}`]);
  r = await ping(`c-${w.id}`, '10.86.0.77');
  t.is(r.exitCode, 0, `c → b after connect: ${r.stdout}${r.stderr}`);
  await ok(['network', 'disconnect', net, `c-${w.id}`]);
  const after = await w.cli(['exec', `c-${w.id}`, 'ip', '-o', 'link']);
  t.regex(after.stdout, /eth0/);
  t.notRegex(after.stdout, /eth1/, 'the macvlan is gone after disconnect');
  await ok(['rm', '-f', `a-${w.id}`, `b-${w.id}`, `c-${w.id}`]);
  // c's veth on the default bridge goes with its netns, a few ms after rm returns (decision 27)
  const vethGone = await eventually(() => !hostLinks().some((l) => l.endsWith(':veth:tsnet0')), 60_000);
  t.true(vethGone, 'the default bridge veth of the removed container is gone');
  const before = hostLinks();
  await ok(['network', 'rm', net]);
  t.deepEqual(hostLinks(), before, 'network rm leaves the user’s parent alone');
});

test.serial('private mode: containers cannot reach each other, even through a hairpin switch', async (t) => {
  const net = `mvpriv-${w.id}`;
  await macvlan(net, 'mvp1', '10.89.0', 'private');
  await sleeper(`pa-${w.id}`, net);
  await sleeper(`pb-${w.id}`, net);
  let r = await ping(`pa-${w.id}`, '10.89.0.1');
  t.is(r.exitCode, 0, `the LAN is reachable: ${r.stdout}${r.stderr}`);
  r = await ping(`pa-${w.id}`, await ipOf(`pb-${w.id}`, net));
  t.not(r.exitCode, 0, 'private: no traffic between macvlans of one parent');
  await ok(['rm', '-f', `pa-${w.id}`, `pb-${w.id}`]);
  await ok(['network', 'rm', net]);
});

test.serial('vepa mode: containers reach each other only through the switch’s hairpin', async (t) => {
  const net = `mvvepa-${w.id}`;
  await macvlan(net, 'mvp1', '10.88.0', 'vepa');
  await sleeper(`va-${w.id}`, net);
  await sleeper(`vb-${w.id}`, net);
  const b = await ipOf(`vb-${w.id}`, net);
  let r = await ping(`va-${w.id}`, b);
  t.is(r.exitCode, 0, `vepa with a hairpin switch: ${r.stdout}${r.stderr}`);
  must(peer(['bridge', 'link', 'set', 'dev', 'mvpeer1', 'hairpin', 'off']), 'hairpin off');
  try {
    must(peer(['ip', 'neigh', 'flush', 'all']), 'flush neighbours');
    await w.cli(['exec', `va-${w.id}`, 'ip', 'neigh', 'flush', 'all']);
    r = await ping(`va-${w.id}`, b);
    t.not(r.exitCode, 0, 'vepa: without the hairpin the frames never come back');
  } finally {
    peer(['bridge', 'link', 'set', 'dev', 'mvpeer1', 'hairpin', 'on']);
  }
  await ok(['rm', '-f', `va-${w.id}`, `vb-${w.id}`]);
  await ok(['network', 'rm', net]);
});

test.serial('passthru mode: one container owns the parent, a second one is refused', async (t) => {
  const net = `mvpt-${w.id}`;
  await macvlan(net, 'mvp1', '10.95.0', 'passthru');
  must(peer(['ip', 'addr', 'add', '10.95.0.1/24', 'dev', 'vepasw']), 'peer address');
  try {
    await sleeper(`pt-${w.id}`, net);
    let r = await ping(`pt-${w.id}`, '10.95.0.1');
    t.is(r.exitCode, 0, `passthru container reaches the LAN: ${r.stdout}${r.stderr}`);
    r = await w.cli(['run', '-d', '--name', `pt2-${w.id}`, '--network', net, 'busybox', 'sleep', '3600']);
    t.not(r.exitCode, 0);
    t.regex(r.stderr, /passthru mode: its parent mvp1 takes one container only/);
    await w.cli(['rm', '-f', `pt2-${w.id}`]);
    await ok(['rm', '-f', `pt-${w.id}`]);
    await ok(['network', 'rm', net]);
  } finally {
    peer(['ip', 'addr', 'del', '10.95.0.1/24', 'dev', 'vepasw']);
  }
});

test.serial('--internal: no default route; several networks share one parent', async (t) => {
  const lan = `mvlan-${w.id}`;
  const int = `mvint-${w.id}`;
  await macvlan(lan, 'mvp0', '10.87.0');
  await ok(['network', 'create', '-d', 'macvlan', '-o', 'parent=mvp0', '--internal', '--subnet', '10.90.0.0/24', int]);
  await sleeper(`ia-${w.id}`, int);
  await sleeper(`la-${w.id}`, lan);
  const route = await w.cli(['exec', `ia-${w.id}`, 'ip', 'route']);
  t.notRegex(route.stdout, /default/, route.stdout);
  t.regex((await w.cli(['exec', `la-${w.id}`, 'ip', 'route'])).stdout, /default via 10\.87\.0\.1/);
  const r = await ping(`la-${w.id}`, '10.87.0.1');
  t.is(r.exitCode, 0, `second network on mvp0 reaches the LAN: ${r.stdout}${r.stderr}`);
  await ok(['rm', '-f', `ia-${w.id}`, `la-${w.id}`]);
  await ok(['network', 'rm', lan, int]);
});

test.serial('no parent: an internal network on a tsnet-made parent, removed with the network', async (t) => {
  const before = hostLinks();
  const net = `mvnone-${w.id}`;
  const id = await ok(['network', 'create', '-d', 'macvlan', '--subnet', '10.91.0.0/24', net]);
  const parent = `tsmv${id.slice(0, 10)}`;
  t.true(
    hostLinks().some((l) => l.startsWith(`${parent}:veth:`)),
    'the tsnet-made parent exists',
  );
  await sleeper(`na-${w.id}`, net);
  await sleeper(`nb-${w.id}`, net);
  const r = await ping(`na-${w.id}`, `nb-${w.id}`);
  t.is(r.exitCode, 0, `containers reach each other: ${r.stdout}${r.stderr}`);
  t.notRegex((await w.cli(['exec', `na-${w.id}`, 'ip', 'route'])).stdout, /default/);
  await ok(['rm', '-f', `na-${w.id}`, `nb-${w.id}`]);
  await ok(['network', 'rm', net]);
  t.deepEqual(hostLinks(), before, 'network rm removes the parent tsnet made');
});

test.serial('refusals: one line each, nothing left behind', async (t) => {
  must(host(['ip', 'link', 'add', 'mvbr', 'type', 'bridge']), 'bridge');
  must(host(['ip', 'link', 'add', 'mvp2', 'type', 'veth', 'peer', 'name', 'mvp2b']), 'veth');
  must(host(['ip', 'link', 'set', 'mvp2', 'master', 'mvbr']), 'port');
  await ok(['network', 'create', '-d', 'macvlan', '-o', 'parent=mvp0', '--subnet', '10.92.0.0/24', `mvused-${w.id}`]);
  const links = hostLinks();
  const nets = await ok(['network', 'ls', '-q']);
  const cases: Array<[string[], RegExp]> = [
    [['-o', 'parent=nosuch0'], /parent interface was not found on the host: nosuch0/],
    [['-o', 'parent=mvp2'], /mvp2 is a port of a bridge/],
    [['-o', 'parent=mvbr'], /mvbr is a bridge/],
    [['-o', 'parent=mvp0', '-o', 'macvlan_mode=fast'], /requested macvlan mode 'fast' is not valid/],
    [['-o', 'parent=mvp0', '-o', 'vlan=10'], /unknown macvlan option "vlan"/],
    [['-o', 'parent=mvp0', '-o', 'macvlan_mode=passthru'], /already using parent interface mvp0/],
  ];
  for (const [opts, want] of cases) {
    const r = await w.cli(['network', 'create', '-d', 'macvlan', ...opts, '--subnet', '10.93.0.0/24', `bad-${w.id}`]);
    t.not(r.exitCode, 0, opts.join(' '));
    t.regex(r.stderr, want);
    t.is(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
  t.deepEqual(hostLinks(), links, 'no link made or changed');
  t.is(await ok(['network', 'ls', '-q']), nets, 'no network recorded');
  // the subnet was released: a good create with it works now
  await ok(['network', 'create', '-d', 'macvlan', '-o', 'parent=mvp1', '--subnet', '10.93.0.0/24', `good-${w.id}`]);
  await ok(['network', 'rm', `good-${w.id}`, `mvused-${w.id}`]);
  host(['ip', 'link', 'del', 'mvp2']);
  host(['ip', 'link', 'del', 'mvbr']);
});

test.serial('restart: containers keep their tsnet-made parent, a lost one is re-made, an orphaned one is swept', async (t) => {
  const net = `mvrs-${w.id}`;
  const lost = `mvlost-${w.id}`;
  const id = await ok(['network', 'create', '-d', 'macvlan', '--subnet', '10.94.0.0/24', net]);
  const lostId = await ok(['network', 'create', '-d', 'macvlan', '--subnet', '10.96.0.0/24', lost]);
  const parent = `tsmv${id.slice(0, 10)}`;
  const lostParent = `tsmv${lostId.slice(0, 10)}`;
  await sleeper(`ra-${w.id}`, net);
  await sleeper(`rb-${w.id}`, net);
  const index = () => JSON.parse(host(['ip', '-j', 'link', 'show', parent]).stdout || '[{}]')[0].ifindex;
  const before = index();
  await w.killDaemon('SIGKILL');
  // as after a reboot: one parent is gone; and a crash left a pair no network explains
  must(host(['ip', 'link', 'del', lostParent]), 'delete a parent');
  const gone = 'fedcba9876'.repeat(6).concat('fedc');
  must(host(['ip', 'link', 'add', 'tsmv0123456789', 'type', 'veth', 'peer', 'name', 'tsmp0123456789']), 'orphan');
  must(host(['ip', 'link', 'set', 'tsmv0123456789', 'alias', `tsnet:macvlan:${gone}`]), 'mark the orphan');
  // a link with a tsnet-like name but no mark is not tsnet's: it stays
  must(host(['ip', 'link', 'add', 'tsmvaaaaaaaaaa', 'type', 'veth', 'peer', 'name', 'tsmpaaaaaaaaaa']), 'foreign');
  try {
    await w.startDaemon();
    const links = hostLinks();
    t.is(index(), before, 'the parent of the running containers was kept (no sweep, no re-make)');
    t.true(
      links.some((l) => l.startsWith(`${lostParent}:veth:`)),
      'the lost parent is back',
    );
    t.false(
      links.some((l) => l.startsWith('tsmv0123456789:') || l.startsWith('tsmp0123456789:')),
      'the orphan is swept',
    );
    t.true(
      links.some((l) => l.startsWith('tsmvaaaaaaaaaa:')),
      'an unmarked link is left alone',
    );
    const r = await ping(`ra-${w.id}`, `rb-${w.id}`);
    t.is(r.exitCode, 0, `containers still reach each other after the restart: ${r.stdout}${r.stderr}`);
  } finally {
    host(['ip', 'link', 'del', 'tsmvaaaaaaaaaa']);
  }
  await ok(['rm', '-f', `ra-${w.id}`, `rb-${w.id}`]);
  await ok(['network', 'rm', net, lost]);
});

test.serial('restart, then disconnect: the macvlan leaves the running container at once', async (t) => {
  const net = `mvdc-${w.id}`;
  await ok(['network', 'create', '-d', 'macvlan', '-o', 'parent=mvp0', '--subnet', '10.97.0.0/24', net]);
  await ok(['run', '-d', '--name', `dc-${w.id}`, '--network', 'bridge', 'busybox', 'sleep', '3600']);
  await ok(['network', 'connect', net, `dc-${w.id}`]);
  const [c] = JSON.parse(await ok(['inspect', `dc-${w.id}`]));
  const sandbox = String(c.NetworkSettings.SandboxKey);
  const macvlans = () => {
    const r = spawnSync('nsenter', [`--net=${sandbox}`, 'ip', '-j', '-d', 'link', 'show'], { encoding: 'utf8' });
    must(r, 'ip link in the sandbox');
    return (JSON.parse(r.stdout) as Array<{ ifname: string; linkinfo?: { info_kind?: string } }>)
      .filter((l) => l.linkinfo?.info_kind === 'macvlan')
      .map((l) => l.ifname);
  };
  t.deepEqual(macvlans(), ['eth1'], 'the container has its macvlan before the restart');
  await w.killDaemon('SIGTERM');
  await w.startDaemon();
  await ok(['network', 'disconnect', net, `dc-${w.id}`]);
  t.deepEqual(macvlans(), [], 'the macvlan is gone from the sandbox after the disconnect');
  const [after] = JSON.parse(await ok(['inspect', `dc-${w.id}`]));
  t.is(after.State.Status, 'running');
  await ok(['rm', '-f', `dc-${w.id}`]);
  await ok(['network', 'rm', net]);
});
