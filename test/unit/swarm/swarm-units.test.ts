import test from 'ava';
import { splitHostPort } from '../../../src/swarm/addresses.js';
import { LocalCluster } from '../../../src/swarm/local-cluster.js';
import { newId, newJoinToken } from '../../../src/swarm/state.js';
import { checkScope } from '../../../src/network/scope.js';

test('swarm addresses: IP, IP:PORT, [v6]:PORT, INTERFACE:PORT; bad ports refused in one line', (t) => {
  t.deepEqual(splitHostPort('0.0.0.0:2377', 'listen address'), { host: '0.0.0.0', port: 2377 });
  t.deepEqual(splitHostPort('127.0.0.1', 'advertise address'), { host: '127.0.0.1', port: undefined });
  t.deepEqual(splitHostPort('eth0:4567', 'advertise address'), { host: 'eth0', port: 4567 });
  t.deepEqual(splitHostPort('[fd00::1]:2377', 'advertise address'), { host: 'fd00::1', port: 2377 });
  t.deepEqual(splitHostPort('fd00::1', 'advertise address'), { host: 'fd00::1', port: undefined });
  t.throws(() => splitHostPort('1.2.3.4:99999', 'listen address'), { message: /the port must be 1 to 65535/ });
});

test('the single-node control plane: VNIs from 4096 up, never one in use, a requested one only when free', async (t) => {
  const inUse = new Map([['n1', 4096]]);
  const c = new LocalCluster('node', '127.0.0.1', () => inUse);
  t.is(await c.allocateVni('n2'), 4097);
  t.is(await c.allocateVni('n3'), 4098, 'a create in flight keeps its VNI');
  await t.throwsAsync(() => c.allocateVni('n4', 4096), { code: 'TSNET_VNI_IN_USE' });
  await c.releaseVni('n2');
  t.is(await c.allocateVni('n5'), 4097);
  await c.putEndpoint({ networkId: 'n1', endpointId: 'e1', mac: '02:00:00:00:00:01', joined: true });
  t.like(c.endpoints('n1')[0], { node: 'node', vtep: '127.0.0.1', aliases: [] });
  await c.removeEndpoint('n1', 'e1');
  t.deepEqual(c.endpoints('n1'), []);
});

test('swarm ids and tokens have Docker forms', (t) => {
  t.regex(newId(), /^[0-9a-z]{25}$/);
  t.regex(newJoinToken(), /^SWMTKN-1-[0-9a-z]{50}-[0-9a-z]{25}$/);
});

test('network scope as Docker checks it', (t) => {
  t.notThrows(() => checkScope(undefined, 'bridge', 'local'));
  t.notThrows(() => checkScope('swarm', 'overlay', 'swarm'));
  t.throws(() => checkScope('local', 'overlay', 'swarm'), { message: 'cannot downgrade network scope for overlay networks' });
  t.throws(() => checkScope('planet', 'bridge', 'local'), { message: 'invalid network scope: planet' });
  t.throws(() => checkScope('swarm', 'bridge', 'local'), { code: 'TSNET_NETWORK_SCOPE' });
});
