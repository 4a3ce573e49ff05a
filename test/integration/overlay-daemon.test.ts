/**
 * Overlay networks and the daemon's life cycle (the controller wiring): network rm from a host
 * other than the creator, a daemon restart (clean and kill -9) with overlay containers running
 * (the start-up sweep keeps the overlay namespaces, traffic and names keep working), and a
 * network made while a host's daemon was down appears on it when it comes back.
 */
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { createMultiHost, hostOk, hostWorld, type MultiHost, type UnderlayHost } from '../helpers/multihost.js';
import { eventually, type World } from '../helpers/world.js';

const serial = test.serial;

let mh: MultiHost | undefined;
const WEB = (tag: string) => ['sh', '-c', `mkdir -p /www && echo ${tag} > /www/index.html && exec httpd -f -p 80 -h /www`];

test.before(async () => {
  mh = await createMultiHost({ hosts: 2 });
  await mh.startDaemons();
});

test.after.always(async () => {
  await mh?.teardown();
});

function host(i: number): UnderlayHost & { world: World } {
  hostWorld(mh!, i); // throws with a clear message when the host has no daemon
  return mh!.hosts[i - 1] as UnderlayHost & { world: World };
}

const ok = (i: number, args: string[]): Promise<string> => hostOk(mh!, i, args);

const seen = (i: number, net: string) => async () => (await host(i).world.cli(['network', 'inspect', net])).exitCode === 0;
const gone = (i: number, net: string) => async () => (await host(i).world.cli(['network', 'inspect', net])).exitCode !== 0;

serial('network rm on a host that did not create it removes it everywhere and frees its subnet and name', async (t) => {
  await ok(1, ['network', 'create', '-d', 'overlay', '--subnet', '10.66.0.0/24', 'tmpnet']);
  t.true(await eventually(seen(2, 'tmpnet'), 5000));
  await ok(2, ['network', 'rm', 'tmpnet']);
  t.true(await eventually(gone(1, 'tmpnet'), 5000));
  // the pool and the name were released cluster-wide
  await ok(2, ['network', 'create', '-d', 'overlay', '--subnet', '10.66.0.0/24', 'tmpnet']);
  t.true(await eventually(seen(1, 'tmpnet'), 5000));
  await ok(1, ['network', 'rm', 'tmpnet']);
  t.true(await eventually(gone(2, 'tmpnet'), 5000));
});

serial('daemon restarts (clean and kill -9) keep overlay containers connected and named', async (t) => {
  await ok(1, ['network', 'create', '-d', 'overlay', '--subnet', '10.67.0.0/24', '--attachable', 'rnet']);
  t.true(await eventually(seen(2, 'rnet'), 5000));
  await ok(1, ['run', '-d', '--name', 'srv', '--network', 'rnet', 'busybox', ...WEB('srv')]);
  await ok(2, ['run', '-d', '--name', 'cli', '--network', 'rnet', 'busybox', 'sleep', '3600']);
  t.is(await ok(2, ['exec', 'cli', 'wget', '-qO-', 'http://srv/']), 'srv');
  const args = ['--cluster-store', mh!.clusterStore, '--advertise-addr', host(1).ip];
  // the overlay namespace of rnet on host 1: the start-up sweep must keep it (same namespace),
  // not remove it (the containers' veths would go with it) nor re-make it
  const [n] = JSON.parse(await ok(1, ['network', 'inspect', 'rnet']));
  const vni = String(n.Options['com.docker.network.driver.overlay.vxlanid_list']);
  const ovNs = path.join(host(1).world.execRoot, 'netns', `ov-${vni}-${String(n.Id).slice(0, 12)}`);
  const nsId = fs.statSync(ovNs).ino;
  for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
    await host(1).world.killDaemon(signal);
    await host(1).world.startDaemon(args);
    t.is(fs.statSync(ovNs, { throwIfNoEntry: false })?.ino, nsId, `the overlay namespace survives the restart after ${signal}`);
    // (no wget -T: busybox 1.35's wget segfaults with it)
    t.is(await ok(2, ['exec', 'cli', 'wget', '-qO-', 'http://srv/']), 'srv', `after ${signal}`);
    t.regex(await ok(1, ['network', 'ls']), /rnet\s+overlay/);
    // a container started after the restart reaches the other host by name
    await ok(1, ['run', '--rm', '--network', 'rnet', 'busybox', 'ping', '-c', '1', '-W', '2', 'cli']);
  }
});

serial('a network created while a daemon was down is there when it comes back', async (t) => {
  await host(2).world.killDaemon('SIGTERM');
  await ok(1, ['network', 'create', '-d', 'overlay', '--subnet', '10.68.0.0/24', 'whiledown']);
  await host(2).world.startDaemon(['--cluster-store', mh!.clusterStore, '--advertise-addr', host(2).ip]);
  t.true(await eventually(seen(2, 'whiledown'), 5000));
  await ok(1, ['network', 'rm', 'whiledown']);
  t.true(await eventually(gone(2, 'whiledown'), 5000));
});
