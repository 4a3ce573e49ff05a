import test from 'ava';
import { isTsnetError } from '../../../src/errors/index.js';
import {
  netnsFileName,
  parseNetnsFileName,
  vethName,
  vxlanName,
  bridgeName,
} from '../../../src/network/drivers/overlay/names.js';
import {
  MTU_OPTION,
  VXLANID_OPTION,
  checkMac,
  effectiveMtu,
  endpointNames,
  parseNetworkOptions,
  randomMac,
} from '../../../src/network/drivers/overlay/options.js';

test('kernel names carry the tsnet prefix and fit IFNAMSIZ', (t) => {
  t.is(netnsFileName(4096, '3f2a9c1d8e7b6a5f4e3d'), 'ov-4096-3f2a9c1d8e7b');
  t.deepEqual(parseNetnsFileName('ov-4096-3f2a9c1d8e7b'), { vni: 4096, networkIdPrefix: '3f2a9c1d8e7b' });
  t.is(parseNetnsFileName('3f2a9c1d8e7b'), undefined, 'a container sandbox');
  t.is(parseNetnsFileName('ov-x-1'), undefined);
  t.is(vxlanName(16777215), 'tsvx-16777215');
  t.is(bridgeName(4096), 'tsbr-4096');
  t.is(vethName('0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef'), 'tsov0123456789');
  t.regex(vethName('weird/id'), /^tsov[0-9a-f]{10}$/);
  t.not(
    vethName('ep1aaaaaaaaaaaaaaaaaaaa'),
    vethName('ep1aaaaaaaaaaaaaaaaaaab'),
    'short ids sharing a prefix get different names',
  );
  for (const n of [vxlanName(16777215), bridgeName(16777215), vethName('x'.repeat(64))]) t.true(n.length <= 15, n);
});

test('network options: mtu, vni, encrypted', (t) => {
  t.deepEqual(parseNetworkOptions({}), {});
  t.deepEqual(parseNetworkOptions({ [MTU_OPTION]: '1400', [VXLANID_OPTION]: '5000' }), { mtu: 1400, vni: 5000 });
  t.deepEqual(parseNetworkOptions({ [MTU_OPTION]: '0' }), {}, '0 means default, as in Docker');
  t.true(
    isTsnetError(
      t.throws(() => parseNetworkOptions({ [MTU_OPTION]: '60' })),
      'TSNET_INVALID_ARGUMENT',
    ),
  );
  t.true(
    isTsnetError(
      t.throws(() => parseNetworkOptions({ encrypted: '' })),
      'TSNET_NOT_IMPLEMENTED',
    ),
  );
});

test('container MTU: 1450 by default, capped by the underlay, an explicit one must fit', (t) => {
  t.is(effectiveMtu(undefined, 1500, 'eth0', 'appnet'), 1450);
  t.is(effectiveMtu(undefined, 9000, 'eth0', 'appnet'), 1450);
  t.is(effectiveMtu(undefined, 1400, 'eth0', 'appnet'), 1350);
  t.is(effectiveMtu(8950, 9000, 'eth0', 'appnet'), 8950);
  const err = t.throws(() => effectiveMtu(1500, 1500, 'eth0', 'appnet'));
  t.regex(err!.message, /MTU 1500 of overlay network appnet does not fit .* eth0 has MTU 1500 .* at most 1450/);
});

test('endpoint names for DNS and MACs', (t) => {
  t.deepEqual(endpointNames({ 'com.tsnet.endpoint.name': '/web', 'com.tsnet.endpoint.aliases': ['a', 'b', 'a', ''] }), {
    name: 'web',
    aliases: ['a', 'b'],
  });
  t.deepEqual(endpointNames({ 'com.tsnet.endpoint.aliases': 'x, y' }), { aliases: ['x', 'y'] });
  t.deepEqual(endpointNames(undefined), { aliases: [] });
  t.deepEqual(endpointNames({ 'com.docker.network.endpoint.name': 'db' }), { name: 'db', aliases: [] });
  const mac = randomMac();
  t.regex(mac, /^02(:[0-9a-f]{2}){5}$/);
  t.not(mac, randomMac());
  t.is(checkMac('02:AB:00:00:00:01'), '02:ab:00:00:00:01');
  t.throws(() => checkMac('01:00:5e:00:00:01'));
  t.throws(() => checkMac('nope'));
});
