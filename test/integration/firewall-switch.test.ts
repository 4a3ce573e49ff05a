/**
 * Switching `--firewall-backend` across a daemon restart: the new backend re-programs the
 * running containers' networks and ports (reconcile), and the old backend's rules are removed,
 * so nothing is NATed or filtered twice.
 */
import test from 'ava';
import { createWorld, type World } from '../helpers/world.js';

let w: World;
test.before(async () => {
  w = await createWorld({ daemonArgs: ['--firewall-backend', 'iptables'] });
});
test.after.always(async () => {
  await w?.teardown();
});

test.serial('iptables → nftables → iptables: ports keep working, the other backend’s rules are gone', async (t) => {
  const client = await w.addClient();
  await w.ok(['network', 'create', '--subnet', '10.78.0.0/24', 'sw']);
  await w.ok([
    'run',
    '-d',
    '--name',
    'web',
    '--network',
    'sw',
    '-p',
    '8090:80',
    'busybox',
    'sh',
    '-c',
    'mkdir -p /www && echo switched > /www/index.html && exec httpd -f -p 80 -h /www',
  ]);
  const get = async () =>
    (await client.run(['busybox', 'timeout', '3', 'busybox', 'wget', '-qO-', `http://${client.hostIp}:8090/`])).stdout.trim();
  const iptablesTsnet = async () => (await w.inHost(['iptables-save'])).stdout.split('\n').filter((l) => l.includes('TSNET-'));
  const nftTsnet = async () => (await w.inHost(['/usr/sbin/nft', 'list', 'tables'])).stdout.match(/table ip6? tsnet$/gm) ?? [];

  t.is(await get(), 'switched', 'iptables backend');
  t.true((await iptablesTsnet()).some((l) => l.includes('--dport 8090')));
  t.deepEqual(await nftTsnet(), []);

  await w.killDaemon('SIGKILL');
  await w.startDaemon(['--firewall-backend', 'nftables']);
  t.is(await get(), 'switched', 'nftables backend after the switch');
  t.deepEqual(await iptablesTsnet(), [], 'no TSNET chain or jump left in iptables');
  t.deepEqual(await nftTsnet(), ['table ip tsnet', 'table ip6 tsnet']);
  t.regex((await w.inHost(['/usr/sbin/nft', 'list', 'map', 'ip', 'tsnet', 'ports-any'])).stdout, /tcp \. 8090 comment/);

  await w.killDaemon('SIGKILL');
  await w.startDaemon(['--firewall-backend', 'iptables']);
  t.is(await get(), 'switched', 'iptables backend again');
  t.deepEqual(await nftTsnet(), [], 'the nftables tables are gone');
  t.true((await iptablesTsnet()).some((l) => l.includes('--dport 8090')));
  await w.ok(['rm', '-f', 'web']);
  await w.ok(['network', 'rm', 'sw']);
});
