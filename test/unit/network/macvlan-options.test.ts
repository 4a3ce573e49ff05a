/** macvlan options without a kernel: Docker's names and errors, the tsnet-made parent's names. */
import test from 'ava';
import {
  markedNetworkId,
  ownedParentName,
  parentMark,
  ownedPeerName,
  parseMacvlanOptions,
  randomMac,
} from '../../../src/network/drivers/macvlan/options.js';

const ID = '0123456789abcdef'.repeat(4);

test('defaults: bridge mode; no parent → a tsnet-made one named after the network', (t) => {
  t.deepEqual(parseMacvlanOptions(ID, { parent: 'eth0' }), { parent: 'eth0', mode: 'bridge', ownedParent: false });
  t.deepEqual(parseMacvlanOptions(ID, {}), { parent: 'tsmv0123456789', mode: 'bridge', ownedParent: true });
  t.is(ownedParentName(ID), 'tsmv0123456789');
  t.is(ownedPeerName(ID), 'tsmp0123456789');
});

test('every mode; Docker generic options are accepted', (t) => {
  for (const mode of ['bridge', 'private', 'vepa', 'passthru'] as const)
    t.is(parseMacvlanOptions(ID, { parent: 'eth0', macvlan_mode: mode }).mode, mode);
  t.notThrows(() => parseMacvlanOptions(ID, { parent: 'eth0', 'com.docker.network.driver.mtu': '1500' }));
});

test('refusals name what was wrong', (t) => {
  t.throws(() => parseMacvlanOptions(ID, { macvlan_mode: 'source' }), {
    message: /requested macvlan mode 'source' is not valid, 'bridge' mode is the macvlan driver default/,
  });
  t.throws(() => parseMacvlanOptions(ID, { parent: 'eth0', ipvlan_mode: 'l2' }), {
    message: /unknown macvlan option "ipvlan_mode"/,
  });
  t.throws(() => parseMacvlanOptions(ID, { parent: 'a/b' }), { message: /invalid -o parent "a\/b"/ });
  t.throws(() => parseMacvlanOptions(ID, { parent: 'x'.repeat(16) }), { message: /invalid -o parent/ });
});

test('random MACs are locally administered unicast', (t) => {
  for (let i = 0; i < 20; i++) {
    const first = Number.parseInt(randomMac().slice(0, 2), 16);
    t.is(first & 0x03, 0x02);
  }
});

test('the parent mark: only tsnet:macvlan:<64 hex> is ours (not the bridge driver’s tsnet:<id>)', (t) => {
  t.is(markedNetworkId(parentMark(ID)), ID);
  t.is(markedNetworkId(`tsnet:${ID}`), undefined);
  t.is(markedNetworkId('tsnet:macvlan:abc'), undefined);
  t.is(markedNetworkId(undefined), undefined);
});
