/**
 * The fast path of an overlay network (decision 61): two containers of one overlay network on the
 * same host talk through the bridge in the network's namespace — unless the host ends of their
 * veths there carry the peer-redirect filter, as a bridge network's do. Measured by the tx counter
 * of the client's host end (in the overlay namespace) while a file crosses, checked whole by md5.
 * A daemon killed with -9 and restarted replaces the filters' program; one restarted with
 * --no-bridge-fast-path takes them off. One host of test/helpers/multihost.ts (etcd, a tsnetd with
 * --cluster-store).
 */
import test from 'ava';
import { netnsFile, vethName } from '../../src/network/drivers/overlay/names.js';
import { createMultiHost, hostOk, hostWorld, type MultiHost } from '../helpers/multihost.js';
import { requireNeeds } from '../helpers/preconditions.js';
import { eventually } from '../helpers/world.js';

let mh: MultiHost | undefined;
test.before(async () => {
  requireNeeds({ root: true, commands: [['/usr/bin/etcd', 'etcd-server']] });
  mh = await createMultiHost({ hosts: 1 });
  await mh.startDaemons();
});
test.after.always(async () => {
  await mh?.teardown();
});

const MB = 6;
const ok = (args: string[]) => hostOk(mh!, 1, args);

async function restart(extra: string[] = []): Promise<void> {
  const w = hostWorld(mh!, 1);
  await w.killDaemon('SIGKILL');
  await w.startDaemon(['--cluster-store', mh!.clusterStore, '--advertise-addr', mh!.hosts[0]!.ip, ...extra]);
}

test.serial('two containers of an overlay network on one host skip its bridge; restarts keep or drop the filters', async (t) => {
  await ok(['network', 'create', '-d', 'overlay', '--subnet', '10.77.5.0/24', '--attachable', 'ovfast']);
  t.teardown(() => hostWorld(mh!, 1).cli(['rm', '-f', 'ov-srv', 'ov-cli']));
  await ok([
    'run',
    '-d',
    '--name',
    'ov-srv',
    '--network',
    'ovfast',
    'busybox',
    'sh',
    '-c',
    `mkdir /www && head -c ${MB}000000 /dev/urandom > /www/f && md5sum /www/f | cut -d' ' -f1 > /md5 && exec httpd -f -p 80 -h /www`,
  ]);
  await ok(['run', '-d', '--name', 'ov-cli', '--network', 'ovfast', 'busybox', 'sleep', '1000']);
  const [n] = JSON.parse(await ok(['network', 'inspect', 'ovfast']));
  const vni = Number(n.Options['com.docker.network.driver.overlay.vxlanid_list']);
  const ns = netnsFile(`${hostWorld(mh!, 1).execRoot}/netns`, vni, n.Id);
  const ip = (await ok(['inspect', '-f', '{{.NetworkSettings.Networks.ovfast.IPAddress}}', 'ov-srv'])).trim();
  const cliVeth = vethName((await ok(['inspect', '-f', '{{.NetworkSettings.Networks.ovfast.EndpointID}}', 'ov-cli'])).trim());
  const want = await eventually(async () => (await hostWorld(mh!, 1).cli(['exec', 'ov-srv', 'cat', '/md5'])).stdout.trim());

  const filter = async () => {
    const r = await mh!.execIn(ns, ['tc', 'filter', 'show', 'dev', cliVeth, 'ingress']);
    return [...r.stdout.matchAll(/handle \S+ (tsnet_\w+)[^\n]*? id (\d+)/g)].map((m) => `${m[1]} id ${m[2]}`).join(', ');
  };
  const tx = async () => {
    const r = await mh!.execIn(ns, ['ip', '-j', '-s', 'link', 'show', 'dev', cliVeth]);
    return Number(JSON.parse(r.stdout)[0].stats64.tx.bytes);
  };
  const fetch = async () => {
    const before = await tx();
    const got = await ok(['exec', 'ov-cli', 'sh', '-c', `wget -q -O - http://${ip}/f | md5sum | cut -d' ' -f1`]);
    return { whole: got.trim() === want, viaBridge: (await tx()) - before };
  };

  // (the filter comes JOIN_DELAY_MS after the join)
  const first = await eventually(filter);
  t.regex(first, /^tsnet_\w+ id \d+$/, 'the filter on the host end in the overlay namespace');
  const r = await fetch();
  t.true(r.whole && r.viaBridge < 500_000, `through the fast path: ${JSON.stringify(r)}`);

  await restart();
  const again = await filter();
  t.regex(again, /^tsnet_\w+ id \d+$/);
  t.not(again, first, 'the restart put its own program in');
  const r2 = await fetch();
  t.true(r2.whole && r2.viaBridge < 500_000, `after a restart: ${JSON.stringify(r2)}`);

  await restart(['--no-bridge-fast-path']);
  t.is(await filter(), '', 'taken off by a daemon without the fast path');
  const r3 = await fetch();
  t.true(r3.whole && r3.viaBridge > MB * 1_000_000, `through the bridge: ${JSON.stringify(r3)}`);
  await restart();
});
