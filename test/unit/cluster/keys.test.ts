import test from 'ava';
import { isTsnetError } from '../../../src/errors/index.js';
import { KeyLayout, checkSegment, poolKeyOf, prefixEnd } from '../../../src/store/cluster/keys.js';

test('the documented key layout', (t) => {
  const k = new KeyLayout();
  t.is(k.node('10.0.0.11'), '/tsnet/v1/state/nodes/10.0.0.11');
  t.is(k.network('n1'), '/tsnet/v1/state/networks/n1');
  t.is(k.endpoints(), '/tsnet/v1/state/endpoints/');
  t.is(k.endpoints('n1'), '/tsnet/v1/state/endpoints/n1/');
  t.is(k.endpoint('n1', 'e1'), '/tsnet/v1/state/endpoints/n1/e1');
  t.is(k.networkName('appnet'), '/tsnet/v1/alloc/network-names/appnet');
  t.is(k.vni(4096), '/tsnet/v1/alloc/vni/4096');
  t.is(k.pool(poolKeyOf('10.77.0.0/24')), '/tsnet/v1/ipam/pools/10.77.0.0-24');
  t.is(k.cursor('10.77.0.0-24'), '/tsnet/v1/ipam/cursor/10.77.0.0-24');
  t.is(k.address('10.77.0.0-24', '10.77.0.2'), '/tsnet/v1/ipam/addresses/10.77.0.0-24/10.77.0.2');
  t.is(k.owner('10.77.0.0-24', 'e1'), '/tsnet/v1/ipam/owners/10.77.0.0-24/e1');
  t.is(poolKeyOf('fd00:1::/64'), 'fd00:1::-64');
  t.is(new KeyLayout('/x/y').state(), '/x/y/state/');
});

test('state keys parse back; others do not', (t) => {
  const k = new KeyLayout();
  t.deepEqual(k.parseState(k.node('n')), { kind: 'node', nodeId: 'n' });
  t.deepEqual(k.parseState(k.network('a')), { kind: 'network', networkId: 'a' });
  t.deepEqual(k.parseState(k.endpoint('a', 'b')), { kind: 'endpoint', networkId: 'a', endpointId: 'b' });
  t.is(k.parseState(k.vni(5)), undefined);
  t.is(k.parseState('/tsnet/v1/state/endpoints/a'), undefined);
  t.is(k.parseState('/tsnet/v1/state/other/a'), undefined);
});

test('segments cannot escape their place; bad prefixes refused', (t) => {
  for (const bad of ['', 'a/b', '../x', ' a', 'a b', '-a']) {
    t.true(
      isTsnetError(
        t.throws(() => checkSegment('network id', bad)),
        'TSNET_INVALID_ARGUMENT',
      ),
      bad,
    );
  }
  t.is(checkSegment('node id', 'fd00::11'), 'fd00::11');
  for (const bad of ['tsnet', '/tsnet/', '/ts net', '//x']) t.throws(() => new KeyLayout(bad), undefined, bad);
});

test('prefixEnd is the first key after the prefix', (t) => {
  t.deepEqual(prefixEnd(Buffer.from('/a/')), Buffer.from('/a0'));
  t.deepEqual(prefixEnd(Buffer.from([0x61, 0xff])), Buffer.from([0x62]));
  t.deepEqual(prefixEnd(Buffer.from([0xff])), Buffer.from([0]));
});
