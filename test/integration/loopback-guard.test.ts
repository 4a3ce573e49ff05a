/**
 * The loopback guard (CVE-2020-8558 class): bridges have route_localnet=1 (published ports on
 * 127.0.0.1 need it), so without a guard a packet to 127.0.0.1 sent from a container across its
 * bridge reaches sockets bound to the host's loopback. The guard drops packets to 127.0.0.0/8
 * that do not arrive on `lo`; the host's own connections to published ports on 127.0.0.1 keep
 * working (they pass OUTPUT, not PREROUTING).
 *
 * The attack: in the container's netns (the test plays a container holding CAP_NET_ADMIN, or
 * one crafting the packet with a raw socket) the local routes of 127.0.0.0/8 are removed and
 * 127.0.0.1 is routed via the gateway, then a UDP datagram is sent to 127.0.0.1:<port> where a
 * socket listens in the world's host netns. Runs against the backend in TSNET_TEST_FIREWALL.
 */
import test from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { loopbackGuardDrops, removeLoopbackGuard, testBackend } from '../helpers/firewall.js';
import { cleanEnv, createWorld, eventually, type World } from '../helpers/world.js';

let w: World;
const children: ChildProcess[] = [];
test.before(async () => {
  w = await createWorld();
});
test.after.always(async () => {
  for (const c of children) c.kill('SIGKILL');
  await w?.teardown();
});

const PORT = 5999;
const LISTENER = `const s=require('dgram').createSocket('udp4');s.on('message',(m,r)=>console.log(String(m)+' from '+r.address));s.bind(${PORT},'127.0.0.1',()=>console.log('ready'))`;
const SEND =
  "const s=require('dgram').createSocket('udp4');const [h,p,m]=process.argv.slice(1);s.send(m,Number(p),h,(e)=>{if(e){console.error(e.message);process.exit(1)}s.close()})";

test.serial(
  `${testBackend()}: a container cannot reach the host's 127.0.0.1; published ports on 127.0.0.1 still work`,
  async (t) => {
    // A UDP socket on the host's loopback, in the world's host netns.
    const listener = spawn('nsenter', [`--net=${w.hostNetns}`, 'node', '-e', LISTENER], {
      env: cleanEnv(),
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(listener);
    let heard = '';
    listener.stdout!.setEncoding('utf8');
    listener.stdout!.on('data', (d: string) => (heard += d));
    t.truthy(await eventually(() => heard.includes('ready'), 10_000), 'listener up');

    await w.ok([
      'run',
      '-d',
      '--name',
      'atk',
      '-p',
      '127.0.0.1:8089:80',
      'busybox',
      'sh',
      '-c',
      'mkdir -p /www && echo on-loopback > /www/index.html && exec httpd -f -p 80 -h /www',
    ]);
    const [c] = JSON.parse(await w.ok(['inspect', 'atk']));
    const pid = String(c.State.Pid);
    const gw = String(c.NetworkSettings.Networks.bridge.Gateway);
    const inCtr = (args: string[]) => w.inHost(['nsenter', '-t', pid, '-n', ...args]);
    for (const args of [
      ['sysctl', '-qw', 'net.ipv4.conf.all.route_localnet=1'],
      ['sysctl', '-qw', 'net.ipv4.conf.eth0.route_localnet=1'],
      ['ip', 'route', 'del', 'local', '127.0.0.1', 'table', 'local'],
      ['ip', 'route', 'del', 'local', '127.0.0.0/8', 'table', 'local'],
      ['ip', 'route', 'add', '127.0.0.1/32', 'via', gw, 'dev', 'eth0'],
    ]) {
      const r = await inCtr(args);
      t.is(r.exitCode, 0, `${args.join(' ')}: ${r.stderr}`);
    }
    const send = (host: string, msg: string, where: (a: string[]) => ReturnType<World['inHost']>) =>
      where(['node', '-e', SEND, host, String(PORT), msg]);

    // Published port on 127.0.0.1: the host still reaches it.
    const get = await eventually(async () => {
      const r = await w.inHost(['busybox', 'timeout', '3', 'busybox', 'wget', '-qO-', 'http://127.0.0.1:8089/']);
      return r.stdout.trim() === 'on-loopback' ? r : undefined;
    });
    t.is(get?.stdout.trim(), 'on-loopback', 'host → 127.0.0.1:8089 answers');

    // The attack: dropped by the guard (its counter moves), never heard by the listener.
    const before = await loopbackGuardDrops(w);
    const sent = await send('127.0.0.1', 'attack-1', inCtr);
    t.is(sent.exitCode, 0, sent.stderr);
    t.truthy(await eventually(async () => (await loopbackGuardDrops(w)) > before), 'the guard dropped the packet');
    // A marker sent afterwards from the host itself shows the listener is alive and was reached.
    await send('127.0.0.1', 'marker-1', (a) => w.inHost(a));
    t.truthy(await eventually(() => heard.includes('marker-1')), 'marker heard');
    t.false(heard.includes('attack-1'), `the container's packet reached the host's loopback:\n${heard}`);

    // Without the guard the same packet arrives: the attack above is real, the guard stops it.
    await removeLoopbackGuard(w);
    await send('127.0.0.1', 'attack-2', inCtr);
    t.truthy(await eventually(() => heard.includes('attack-2')), `without the guard the packet arrives:\n${heard}`);

    await w.ok(['rm', '-f', 'atk']);
  },
);
