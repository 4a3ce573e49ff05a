/**
 * The container ↔ container fast path of bridge networks (decision 59): IPv4 between two
 * containers of one network goes from the sender's host-side veth straight into the receiver's
 * namespace (a BPF ingress filter, bpf_redirect_peer), so the receiver's host-side veth sends
 * none of it. Measured by that veth's tx counter while a file crosses, checked whole by md5.
 * With com.tsnet.bridge.fast_path=false the frames take the bridge; a daemon killed and
 * restarted leaves the filters in place and replaces their program.
 */
import test, { type ExecutionContext } from 'ava';
import { vethName } from '../../src/network/drivers/bridge/options.js';
import { createWorld, eventually, type World } from '../helpers/world.js';

let w: World;
test.before(async () => {
  w = await createWorld();
});
test.after.always(async () => {
  await w?.teardown();
});

const MB = 6;
/** A server of a random file (its md5 in /md5), and a client that stays. */
async function pair(t: ExecutionContext, net: string, tag: string): Promise<{ ip: string; ip6: string }> {
  const srv = `${tag}-srv`;
  const cli = `${tag}-cli`;
  t.teardown(() => w.cli(['rm', '-f', srv, cli]));
  await w.ok([
    'run',
    '-d',
    '--name',
    srv,
    '--network',
    net,
    'busybox',
    'sh',
    '-c',
    `mkdir /www && head -c ${MB}000000 /dev/urandom > /www/f && md5sum /www/f | cut -d' ' -f1 > /md5 && exec httpd -f -p 80 -h /www`,
  ]);
  await w.ok(['run', '-d', '--name', cli, '--network', net, 'busybox', 'sleep', '1000']);
  const ip = (await w.ok(['inspect', '-f', `{{.NetworkSettings.Networks.${net}.IPAddress}}`, srv])).trim();
  const ip6 = (await w.ok(['inspect', '-f', `{{.NetworkSettings.Networks.${net}.GlobalIPv6Address}}`, srv])).trim();
  t.truthy(await eventually(async () => (await w.cli(['exec', srv, 'cat', '/md5'])).stdout.trim()), 'the server made its file');
  return { ip, ip6 };
}

/** Bytes the host-side veth of `container` on `net` sent (towards the container). */
async function hostEndTx(container: string, net: string): Promise<number> {
  const id = (await w.ok(['inspect', '-f', `{{.NetworkSettings.Networks.${net}.EndpointID}}`, container])).trim();
  const r = await w.inHost(['ip', '-j', '-s', 'link', 'show', 'dev', vethName(id)]);
  return Number(JSON.parse(r.stdout)[0].stats64.tx.bytes);
}

/** The file fetched by the client: whole (md5) and how many bytes its host end sent meanwhile. */
async function fetch(tag: string, net: string, ip: string): Promise<{ whole: boolean; viaBridge: number }> {
  const before = await hostEndTx(`${tag}-cli`, net);
  const host = ip.includes(':') ? `[${ip}]` : ip;
  const got = await w.ok(['exec', `${tag}-cli`, 'sh', '-c', `wget -q -O - http://${host}/f | md5sum | cut -d' ' -f1`]);
  const viaBridge = (await hostEndTx(`${tag}-cli`, net)) - before;
  const want = (await w.ok(['exec', `${tag}-srv`, 'cat', '/md5'])).trim();
  return { whole: got.trim() === want, viaBridge };
}

/** The ingress filter of a host-side veth as `tc` shows it: "<name> id <prog id>", or ''. */
async function filterOf(container: string, net: string): Promise<string> {
  const id = (await w.ok(['inspect', '-f', `{{.NetworkSettings.Networks.${net}.EndpointID}}`, container])).trim();
  const r = await w.inHost(['tc', 'filter', 'show', 'dev', vethName(id), 'ingress']);
  return [...r.stdout.matchAll(/handle \S+ (tsnet_\w+)[^\n]*? id (\d+)/g)].map((m) => `${m[1]} id ${m[2]}`).join(', ');
}

test.serial('IPv4 between two containers of a network skips the bridge; with the option off it takes it', async (t) => {
  await w.ok(['network', 'create', 'fast']);
  await w.ok(['network', 'create', '-o', 'com.tsnet.bridge.fast_path=false', 'slow']);
  await w.ok(['network', 'create', '-o', 'com.docker.network.bridge.enable_icc=false', 'noicc']);
  t.teardown(() => w.cli(['network', 'rm', 'fast', 'slow', 'noicc']));
  // inspect's Options are what the network was created with, as Docker's: docker-compose compares
  // them with its file and recreates a network whose Options have a key it did not give
  const options = async (net: string) => JSON.parse(await w.ok(['network', 'inspect', '-f', '{{json .Options}}', net]));
  t.deepEqual(await options('fast'), {});
  t.deepEqual(await options('slow'), { 'com.tsnet.bridge.fast_path': 'false' });
  const fast = await pair(t, 'fast', 'f');
  const slow = await pair(t, 'slow', 's');

  const f = await fetch('f', 'fast', fast.ip);
  t.true(f.whole, 'the file arrived whole');
  t.true(f.viaBridge < 500_000, `${f.viaBridge} bytes went through the bridge to the client`);
  // (attached beside the start, not on its path: the client's own commands came after it)
  t.regex(await filterOf('f-cli', 'fast'), /^tsnet_\w+ id \d+$/, 'one filter, the network program');

  const s = await fetch('s', 'slow', slow.ip);
  t.true(s.whole, 'the file arrived whole (bridge)');
  t.true(s.viaBridge > MB * 1_000_000, `${s.viaBridge} bytes through the bridge`);
  t.is(await filterOf('s-cli', 'slow'), '', 'no filter on a network with the fast path off');

  // the gateway (the host) and a reconnected client still work
  t.is((await w.inHost(['busybox', 'wget', '-q', '-O', '/dev/null', `http://${fast.ip}/f`])).exitCode, 0, 'host → container');
  await w.ok(['network', 'disconnect', 'fast', 'f-cli']);
  await w.ok(['network', 'connect', 'fast', 'f-cli']);
  const again = await fetch('f', 'fast', fast.ip);
  t.true(again.whole && again.viaBridge < 500_000, `after a reconnect: ${JSON.stringify(again)}`);
});

test.serial('a daemon killed with -9 leaves the filters working; its restart replaces their program', async (t) => {
  await w.ok(['network', 'create', 'kept']);
  t.teardown(() => w.cli(['network', 'rm', 'kept']));
  const { ip } = await pair(t, 'kept', 'k');
  const before = await filterOf('k-cli', 'kept');
  t.regex(before, /^tsnet_\w+ id \d+$/);

  const sandbox = (await w.ok(['inspect', '-f', '{{.NetworkSettings.SandboxKey}}', 'k-cli'])).trim();
  const txBefore = await hostEndTx('k-cli', 'kept');
  const endpoint = (await w.ok(['inspect', '-f', '{{.NetworkSettings.Networks.kept.EndpointID}}', 'k-cli'])).trim();

  await w.killDaemon('SIGKILL');
  // no daemon: the kernel still has the filters, their program and its map (from the client's
  // netns, with the host's busybox)
  const down = await w.inHost(['nsenter', `--net=${sandbox}`, 'busybox', 'wget', '-q', '-O', '/dev/null', `http://${ip}/f`]);
  t.is(down.exitCode, 0, down.stderr);
  const r0 = await w.inHost(['ip', '-j', '-s', 'link', 'show', 'dev', vethName(endpoint)]);
  const sent = Number(JSON.parse(r0.stdout)[0].stats64.tx.bytes) - txBefore;
  t.true(sent < 500_000, `${sent} bytes through the bridge while the daemon was down`);
  await w.startDaemon();
  const after = await filterOf('k-cli', 'kept');
  t.regex(after, /^tsnet_\w+ id \d+$/, 'one filter after the restart');
  t.not(after, before, 'the restart put its own program in');
  const r = await fetch('k', 'kept', ip);
  t.true(r.whole, 'the file arrived whole');
  t.true(r.viaBridge < 500_000, `${r.viaBridge} bytes through the bridge after the restart`);
});

test.serial('IPv6 between two containers of a network skips the bridge too', async (t) => {
  await w.ok(['network', 'create', '--ipv6', '--subnet', 'fd00:5a::/64', 'six']);
  t.teardown(() => w.cli(['network', 'rm', 'six']));
  const { ip, ip6 } = await pair(t, 'six', 'x');
  t.regex(ip6, /^fd00:5a::/);
  const r6 = await fetch('x', 'six', ip6);
  t.true(r6.whole, 'the file arrived whole over IPv6');
  t.true(r6.viaBridge < 500_000, `${r6.viaBridge} bytes through the bridge (IPv6)`);
  const r4 = await fetch('x', 'six', ip);
  t.true(r4.whole && r4.viaBridge < 500_000, `IPv4 on the same network: ${JSON.stringify(r4)}`);
});

test.serial(
  'tsnetd --no-bridge-fast-path: a restart takes the filters off and the traffic takes the bridge; without it they come back',
  async (t) => {
    await w.ok(['network', 'create', 'switch']);
    t.teardown(() => w.cli(['network', 'rm', 'switch']));
    const { ip } = await pair(t, 'switch', 'w');
    t.regex(await filterOf('w-cli', 'switch'), /^tsnet_\w+ id \d+$/);

    await w.killDaemon('SIGKILL');
    await w.startDaemon(['--no-bridge-fast-path']);
    t.is(await filterOf('w-cli', 'switch'), '', "the earlier daemon's filter is gone");
    const off = await fetch('w', 'switch', ip);
    t.true(off.whole && off.viaBridge > MB * 1_000_000, `through the bridge: ${JSON.stringify(off)}`);
    await w.ok(['network', 'disconnect', 'switch', 'w-cli']);
    await w.ok(['network', 'connect', 'switch', 'w-cli']);
    t.is(await filterOf('w-cli', 'switch'), '', 'a new endpoint gets no filter');

    await w.killDaemon('SIGTERM');
    await w.startDaemon();
    const on = await fetch('w', 'switch', ip);
    t.true(on.whole && on.viaBridge < 500_000, `the fast path again: ${JSON.stringify(on)}`);
  },
);
