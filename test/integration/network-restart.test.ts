/**
 * A restarted daemon reconciles the kernel with its records: missing rules come back, orphan
 * tsnet links go away, published ports and addresses survive, and the network keeps working.
 */
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { damagePublishedPort } from '../helpers/firewall.js';
import { createWorld, eventually, type World } from '../helpers/world.js';

let w: World;
test.before(async () => {
  w = await createWorld();
});
test.after.always(async () => {
  await w?.teardown();
});

const ok = (args: string[]): Promise<string> => w.ok(args);

test.serial('kill -9 and restart: rules re-applied, orphans swept, ports and DNS still work', async (t) => {
  const client = await w.addClient();
  const net = await ok(['network', 'create', '--subnet', '10.77.0.0/24', 'keep']);
  await ok([
    'run',
    '-d',
    '--name',
    'srv',
    '--network',
    'keep',
    '-p',
    '8088:80',
    'busybox',
    'sh',
    '-c',
    'mkdir -p /www && echo still-here > /www/index.html && exec httpd -f -p 80 -h /www',
  ]);
  const [before] = JSON.parse(await ok(['inspect', 'srv']));
  const ipBefore = before.NetworkSettings.Networks.keep.IPAddress as string;

  await w.killDaemon('SIGKILL');
  // Damage while it is down: lose the published port's DNAT, add tsnet-looking orphan links.
  await damagePublishedPort(w, 'tcp', 8088);
  // tsnet's own orphans carry its mark (alias tsnet:<id>) with an id no record explains
  t.is((await w.inHost(['ip', 'link', 'add', 'br-deadbeef0000', 'type', 'bridge'])).exitCode, 0);
  t.is((await w.inHost(['ip', 'link', 'set', 'br-deadbeef0000', 'alias', `tsnet:${'de'.repeat(32)}`])).exitCode, 0);
  t.is((await w.inHost(['ip', 'link', 'add', 'ts00deadbeef', 'type', 'veth', 'peer', 'name', 'tsorphanpeer'])).exitCode, 0);
  t.is((await w.inHost(['ip', 'link', 'set', 'ts00deadbeef', 'alias', `tsnet:${'ad'.repeat(32)}`])).exitCode, 0);
  const broken = await client.run(['busybox', 'timeout', '2', 'busybox', 'wget', '-qO-', `http://${client.hostIp}:8088/`]);
  t.not(broken.stdout.trim(), 'still-here', 'the port is broken while the rule is missing');

  await w.startDaemon();
  const fixed = await client.run(['busybox', 'timeout', '3', 'busybox', 'wget', '-qO-', `http://${client.hostIp}:8088/`]);
  t.is(fixed.stdout.trim(), 'still-here', fixed.stderr);
  t.not((await w.inHost(['ip', 'link', 'show', 'br-deadbeef0000'])).exitCode, 0, 'orphan bridge removed');
  t.not((await w.inHost(['ip', 'link', 'show', 'ts00deadbeef'])).exitCode, 0, 'orphan veth removed');
  t.is((await w.inHost(['ip', 'link', 'show', `br-${net.slice(0, 12)}`])).exitCode, 0, 'the network bridge stays');
  const [after] = JSON.parse(await ok(['inspect', 'srv']));
  t.is(after.NetworkSettings.Networks.keep.IPAddress, ipBefore);
  const byName = await w.cli([
    'run',
    '--rm',
    '--network',
    'keep',
    'busybox',
    'sh',
    '-c',
    'timeout 3 wget -qO- http://srv/; exit $?',
  ]);
  t.is(byName.stdout.trim(), 'still-here', byName.stderr);
  // the host port is still reserved against a second publisher
  const clash = await w.cli(['run', '-d', '--name', 'clash', '--network', 'keep', '-p', '8088:80', 'busybox', 'sleep', '100']);
  t.not(clash.exitCode, 0);
  await w.cli(['rm', '-f', 'clash', 'srv']);
  await ok(['network', 'rm', 'keep']);
});

test.serial('-P publishes exposed ports on free host ports', async (t) => {
  await ok([
    'run',
    '-d',
    '--name',
    'pall',
    '-P',
    '--expose',
    '80',
    'busybox',
    'sh',
    '-c',
    'mkdir -p /www && echo exposed > /www/index.html && exec httpd -f -p 80 -h /www',
  ]);
  const port = await ok(['port', 'pall', '80/tcp']);
  const m = /:(\d+)$/m.exec(port);
  t.truthy(m, port);
  const [lo, hi] = (await w.inHost(['cat', '/proc/sys/net/ipv4/ip_local_port_range'])).stdout.trim().split(/\s+/).map(Number);
  t.true(Number(m![1]) >= lo! && Number(m![1]) <= hi!, `port ${m![1]} in ${lo}-${hi}`);
  // httpd listens a moment after `run -d` answers: poll until it does (refused until then)
  let get = { stdout: '', stderr: '' };
  await eventually(async () => {
    get = await w.inHost(['busybox', 'timeout', '3', 'busybox', 'wget', '-qO-', `http://127.0.0.1:${m![1]}/`]);
    return get.stdout.trim() === 'exposed';
  }, 10_000);
  t.is(get.stdout.trim(), 'exposed', get.stderr);
  await ok(['rm', '-f', 'pall']);
});

test.serial('a host port held by another process is refused with a clear error', async (t) => {
  const holder = w.inHost(['busybox', 'timeout', '20', 'busybox', 'nc', '-l', '-p', '8099'], { timeoutMs: 30_000 });
  // nc serves one connection: wait until it listens instead of probing it
  const listening = await eventually(async () => /:8099\b/.test((await w.inHost(['ss', '-Hltn'])).stdout), 10_000);
  t.true(listening, 'the holder listens on 8099');
  const r = await w.cli(['run', '-d', '--name', 'taken', '-p', '8099:80', 'busybox', 'sleep', '100']);
  t.is(r.exitCode, 125);
  t.regex(r.stderr, /8099.*in use by another process/);
  t.is(r.stderr.trim().split('\n').length, 1);
  await w.cli(['rm', '-f', 'taken']);
  await w.inHost(['sh', '-c', 'echo bye | busybox nc -w 1 127.0.0.1 8099']);
  await holder;
});

// IPAM address records are written without fsync (issue 14); the container record is the durable
// copy, and a restarted daemon takes an endpoint's address again when the store lost it.
test.serial('an address the IPAM store lost is re-reserved from the container record at start', async (t) => {
  await ok(['network', 'create', '--subnet', '10.78.0.0/24', 'lost-ipam']);
  await ok(['create', '--name', 'holder', '--network', 'lost-ipam', 'busybox', 'sleep', '100']);
  const [h] = JSON.parse(await ok(['inspect', 'holder']));
  const ip = h.NetworkSettings.Networks['lost-ipam'].IPAddress as string;
  await w.killDaemon('SIGKILL');
  const pool = path.join(w.root, 'ipam', 'pools', 'LocalDefault_10.78.0.0_24', 'addresses', `${ip}.json`);
  t.true(fs.existsSync(pool), `the address record ${pool} exists`);
  fs.rmSync(pool); // what a power loss before the write reached the disk leaves
  await w.startDaemon();
  // taken in memory by the start's reconcile; its record is written behind (on the file thread)
  await eventually(() => fs.existsSync(pool));
  t.true(fs.existsSync(pool), 'the address is taken again');
  await ok(['create', '--name', 'second', '--network', 'lost-ipam', 'busybox', 'true']);
  const [s] = JSON.parse(await ok(['inspect', 'second']));
  t.not(s.NetworkSettings.Networks['lost-ipam'].IPAddress, ip, 'no address is handed out twice');
  await ok(['rm', 'holder', 'second']);
  await ok(['network', 'rm', 'lost-ipam']);
});

// A removed container's dir goes to <root>/trash and is deleted in the background; a crash
// before that finished leaves it there, and the next start empties the trash.
test.serial('the start-up sweep empties the trash of removed container dirs', async (t) => {
  await w.killDaemon('SIGKILL');
  const left = path.join(w.root, 'trash', `${'ab'.repeat(32)}-x`);
  fs.mkdirSync(path.join(left, 'fs', 'upper', 'deep'), { recursive: true });
  fs.writeFileSync(path.join(left, 'container.log'), 'old\n');
  await w.startDaemon();
  t.false(fs.existsSync(left));
  const id = await ok(['create', '--network', 'none', 'busybox', 'true']);
  await ok(['rm', id]);
  await eventually(() => !fs.readdirSync(path.join(w.root, 'trash')).length);
  t.deepEqual(fs.readdirSync(path.join(w.root, 'trash')), [], 'a removal leaves nothing in the trash');
  t.false(fs.existsSync(path.join(w.root, 'containers', id)));
});

// rm lets the kernel delete a container's veth with its netns — but not while a container that
// joined the netns (--network container:) keeps it alive: then the veth is deleted at once.
test.serial('rm: the veth goes with the netns; with a joiner running it is deleted explicitly', async (t) => {
  await ok(['network', 'create', 'vethgo']);
  const veths = async () =>
    (await w.inHost(['ip', '-o', 'link', 'show', 'type', 'veth'])).stdout.split('\n').filter((l) => /: ts[0-9a-f]+@/.test(l));
  await ok(['run', '-d', '--name', 'solo', '--network', 'vethgo', 'busybox', 'sleep', '100']);
  t.is((await veths()).length, 1);
  await ok(['rm', '-f', 'solo']);
  await eventually(async () => (await veths()).length === 0);
  t.deepEqual(await veths(), [], 'the veth went with the netns');

  await ok(['run', '-d', '--name', 'target', '--network', 'vethgo', 'busybox', 'sleep', '100']);
  await ok(['run', '-d', '--name', 'joiner', '--network', 'container:target', 'busybox', 'sleep', '100']);
  await ok(['rm', '-f', 'target']);
  t.deepEqual(await veths(), [], 'the joiner does not keep the removed target on the bridge');
  await ok(['rm', '-f', 'joiner']);
  await ok(['network', 'rm', 'vethgo']);
});
