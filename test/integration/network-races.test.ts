/**
 * Races between network and container operations (DESIGN "State ownership"): network rm against
 * connect and run, parallel connect/disconnect/rm -f of one container, disconnect -f, and many
 * parallel runs on one network. Each ends in a state where the API and the kernel agree.
 */
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { api } from '../helpers/api.js';
import { createWorld, eventually, type World } from '../helpers/world.js';

let w: World;
test.before(async () => {
  w = await createWorld();
});
test.after.always(async () => {
  await w?.teardown();
});

interface Inspect {
  Id: string;
  NetworkSettings: { Networks: Record<string, { EndpointID: string; IPAddress: string }> };
}

async function inspect(ref: string): Promise<Inspect | undefined> {
  const r = await w.cli(['inspect', ref]);
  return r.exitCode === 0 ? (JSON.parse(r.stdout) as Inspect[])[0] : undefined;
}

/** Interfaces inside a running container (name → IPv4 addresses). */
async function ifaces(ref: string): Promise<Map<string, string[]>> {
  const r = await w.cli(['exec', ref, 'ip', '-o', '-4', 'addr']);
  const out = new Map<string, string[]>();
  for (const line of (await w.cli(['exec', ref, 'ip', '-o', 'link'])).stdout.split('\n')) {
    const m = /^\d+: ([^:@]+)/.exec(line);
    if (m) out.set(m[1]!, []);
  }
  for (const line of r.stdout.split('\n')) {
    const m = /^\d+: (\S+)\s+inet (\S+)/.exec(line);
    if (m) out.get(m[1]!)?.push(m[2]!);
  }
  return out;
}

/** Host-side links tsnet marked for an endpoint. */
async function markedLinks(): Promise<Set<string>> {
  const r = await w.inHost(['ip', '-j', '-d', 'link', 'show']);
  const links = JSON.parse(r.stdout) as Array<{ ifalias?: string }>;
  return new Set(links.map((l) => l.ifalias ?? '').filter((a) => a.startsWith('tsnet:')));
}

test.serial('network rm racing connect and run: never both succeed; the loser leaves nothing', async (t) => {
  const c = await w.ok(['run', '-d', '--name', 'racer', 'busybox', 'sleep', '1000']);
  let connects = 0;
  let runs = 0;
  for (let i = 0; i < 8; i++) {
    const net = `race${i}`;
    await w.ok(['network', 'create', net]);
    const [conn, rm] = await Promise.all([w.cli(['network', 'connect', net, c]), w.cli(['network', 'rm', net])]);
    t.false(conn.exitCode === 0 && rm.exitCode === 0, `round ${i}: connect and rm both succeeded`);
    t.true(conn.exitCode === 0 || rm.exitCode === 0, `round ${i}: ${conn.stderr} ${rm.stderr}`);
    const attached = Object.keys((await inspect(c))!.NetworkSettings.Networks).includes(net);
    t.is(attached, conn.exitCode === 0, `round ${i}: inspect agrees with connect`);
    t.is((await ifaces(c)).has('eth1'), conn.exitCode === 0, `round ${i}: the kernel agrees with connect`);
    if (conn.exitCode === 0) {
      connects++;
      t.regex(rm.stderr, /has active endpoints \(racer\)/);
      await w.ok(['network', 'disconnect', net, c]);
      await w.ok(['network', 'rm', net]);
    } else {
      t.regex(conn.stderr, /not found|being removed/);
      t.is(conn.stderr.trim().split('\n').length, 1, 'one line');
    }

    await w.ok(['network', 'create', net]);
    const [run, rm2] = await Promise.all([
      w.cli(['run', '-d', '--name', `r${i}`, '--network', net, 'busybox', 'sleep', '1000']),
      w.cli(['network', 'rm', net]),
    ]);
    t.false(run.exitCode === 0 && rm2.exitCode === 0, `round ${i}: run and rm both succeeded`);
    t.true(run.exitCode === 0 || rm2.exitCode === 0, `round ${i}: ${run.stderr} ${rm2.stderr}`);
    if (run.exitCode === 0) {
      runs++;
      t.true((await ifaces(`r${i}`)).has('eth0'));
      await w.ok(['rm', '-f', `r${i}`]);
      await w.ok(['network', 'rm', net]);
    } else {
      t.is(await inspect(`r${i}`), undefined, 'the failed run left no container');
    }
  }
  t.log(`connect won ${connects}/8, run won ${runs}/8`);
  await w.ok(['rm', '-f', c]);
  // the racer's veth dies with its netns (decision 27): the kernel's netns cleanup runs a moment later
  await eventually(async () => (await markedLinks()).size === 1, 20_000);
  const left = [...(await markedLinks())];
  t.is(left.length, 1, `only the default bridge is left: ${left.join(', ')}`);
});

test.serial('disconnect -f removes the interface and the address; connect works again', async (t) => {
  await w.ok(['network', 'create', '--subnet', '10.77.0.0/24', 'dfn']);
  const c = await w.ok(['run', '-d', '--name', 'dfc', 'busybox', 'sleep', '1000']);
  await w.ok(['network', 'connect', 'dfn', c]);
  const ip = (await inspect(c))!.NetworkSettings.Networks.dfn!.IPAddress;
  t.deepEqual((await ifaces(c)).get('eth1'), [`${ip}/24`]);
  await w.ok(['network', 'disconnect', '-f', 'dfn', c]);
  t.false((await ifaces(c)).has('eth1'), 'the interface is gone');
  t.false('dfn' in (await inspect(c))!.NetworkSettings.Networks);
  // the address is free again and the interface name can be reused
  await w.ok(['network', 'connect', 'dfn', c]);
  t.true((await ifaces(c)).has('eth1'));
  await w.ok(['network', 'disconnect', '-f', 'dfn', c]);
  const again = await w.cli(['network', 'disconnect', '-f', 'dfn', c]);
  t.not(again.exitCode, 0, 'disconnect -f of a network it is not on is an error, as in Docker');
  t.regex(again.stderr, /is not connected to network dfn/);
  await w.ok(['network', 'rm', 'dfn']);

  // state from before endpoints were indexed: the container is on a network whose record is gone
  const lostId = await w.ok(['network', 'create', '--subnet', '10.79.0.0/24', 'lost']);
  await w.ok(['network', 'connect', 'lost', c]);
  await w.killDaemon('SIGKILL');
  fs.rmSync(path.join(w.root, 'state', 'networks', `${lostId}.json`));
  await w.startDaemon();
  t.true((await ifaces(c)).has('eth1'));
  await w.ok(['network', 'disconnect', '-f', 'lost', c]);
  t.false((await ifaces(c)).has('eth1'), 'disconnect -f removed the interface of the lost network');
  t.false('lost' in (await inspect(c))!.NetworkSettings.Networks);
  await w.ok(['network', 'create', 'after']);
  await w.ok(['network', 'connect', 'after', c]);
  t.true((await ifaces(c)).has('eth1'), 'a later connect reuses eth1 (no EEXIST)');
  await w.ok(['rm', '-f', c]);
  await w.ok(['network', 'rm', 'after']);
});

test.serial('parallel connect, disconnect and rm -f of one container end consistent', async (t) => {
  await w.ok(['network', 'create', 'pa']);
  await w.ok(['network', 'create', 'pb']);
  for (let i = 0; i < 4; i++) {
    const c = await w.ok(['run', '-d', '--name', `p${i}`, 'busybox', 'sleep', '1000']);
    const results = await Promise.all([
      w.cli(['network', 'connect', 'pa', c]),
      w.cli(['network', 'connect', 'pb', c]),
      w.cli(['network', 'disconnect', 'bridge', c]),
      w.cli(['rm', '-f', c]),
    ]);
    t.is(results[3]!.exitCode, 0, results[3]!.stderr);
    for (const r of results.slice(0, 3)) {
      if (r.exitCode !== 0) t.regex(r.stderr, /No such container|not connected|not running/, r.stderr);
    }
    t.is(await inspect(c), undefined);
  }
  // rm lets the kernel delete a container's veth with its netns, a moment after rm returns
  await eventually(async () => (await markedLinks()).size === 3);
  t.is((await markedLinks()).size, 3, 'no veth left behind: only the three bridges are marked');
  // no endpoint is left on the networks (rm would be refused), and their addresses are free
  await w.ok(['network', 'rm', 'pa', 'pb']);
});

test.serial('50 parallel run -d on one network: 50 distinct addresses, no errors', async (t) => {
  await w.ok(['network', 'create', '--subnet', '10.78.0.0/24', 'many']);
  const results = await Promise.all(
    Array.from({ length: 50 }, (_, i) =>
      w.cli(['run', '-d', '--name', `m${i}`, '--network', 'many', 'busybox', 'sleep', '1000'], { timeoutMs: 110_000 }),
    ),
  );
  const failed = results.filter((r) => r.exitCode !== 0).map((r) => r.stderr.trim());
  t.deepEqual(failed, []);
  const ips = new Set<string>();
  for (let i = 0; i < 50; i++) ips.add((await inspect(`m${i}`))!.NetworkSettings.Networks.many!.IPAddress);
  t.is(ips.size, 50);
  const bridgePorts = JSON.parse((await w.inHost(['ip', '-j', 'link', 'show', 'type', 'veth'])).stdout) as unknown[];
  t.is(bridgePorts.length, 50, 'one veth per container');
  await w.ok(['rm', '-f', ...Array.from({ length: 50 }, (_, i) => `m${i}`)]);
  await w.ok(['network', 'rm', 'many']);
});

test.serial('start racing rm -f: a removed container is not started or written again; no supervisor outlives it', async (t) => {
  const records = path.join(w.root, 'state', 'containers');
  for (let i = 0; i < 8; i++) {
    const id = await w.ok(['create', '--name', `sr${i}`, 'busybox', 'sleep', '1000']);
    // even rounds: the start asks for the container while rm holds its lock, and must find it
    // gone; odd rounds: the start holds the lock when rm decides the container is not running,
    // and rm must kill what the start launched
    const del = () => api(w.socket, { method: 'DELETE', path: `/containers/${id}?force=1` });
    const go = () => api(w.socket, { method: 'POST', path: `/containers/${id}/start` });
    const [rm, start] =
      i % 2 === 0 ? await Promise.all([del(), go()]) : await Promise.all([go(), del()]).then(([s, r]) => [r, s] as const);
    t.is(rm.status, 204, `round ${i}: rm ${rm.text}`);
    t.true([204, 404].includes(start.status), `round ${i}: start answered ${start.status} ${start.text}`);
    // whatever the order, nothing of the container is left: no record written after the rm,
    // no supervisor (a start that won the lock is killed by the rm)
    t.false(fs.existsSync(path.join(records, `${id}.json`)), `round ${i}: the record came back`);
    t.true(await eventually(() => !supervisorOf(id), 5000), `round ${i}: a tsnet-init of the removed container still runs`);
  }
});

/** Is a tsnet-init of this container (its bundle in the command line) running? */
function supervisorOf(id: string): boolean {
  const bundle = path.join(w.execRoot, 'c', id.slice(0, 16));
  for (const pid of fs.readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
    try {
      const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      const zombie = /\) Z /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
      if ((cmd[0] ?? '').endsWith('tsnet-init') && cmd.includes(bundle) && !zombie) return true;
    } catch {
      // gone meanwhile
    }
  }
  return false;
}
