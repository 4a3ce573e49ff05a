import test from 'ava';
import { isTsnetError } from '../../../src/errors/index.js';
import { parseAdvertiseAddr, parseClusterStoreUrl } from '../../../src/store/cluster/url.js';

test('etcd URLs: one or several hosts, default port, canonical display', (t) => {
  t.deepEqual(parseClusterStoreUrl('etcd://10.0.0.5:2379'), { hosts: ['10.0.0.5:2379'], display: 'etcd://10.0.0.5:2379' });
  t.deepEqual(parseClusterStoreUrl('etcd://10.0.0.5'), { hosts: ['10.0.0.5:2379'], display: 'etcd://10.0.0.5:2379' });
  t.deepEqual(parseClusterStoreUrl('ETCD://10.0.0.5:2379,10.0.0.6:22379/'), {
    hosts: ['10.0.0.5:2379', '10.0.0.6:22379'],
    display: 'etcd://10.0.0.5:2379,10.0.0.6:22379',
  });
  t.deepEqual(parseClusterStoreUrl('etcd://[fd00::0005]:2379,etcd1.example.com').hosts, [
    '[fd00::5]:2379',
    'etcd1.example.com:2379',
  ]);
  t.deepEqual(parseClusterStoreUrl('etcd://a:1,a:1').hosts, ['a:1'], 'duplicates dropped');
});

test('bad etcd URLs fail with one clear line', (t) => {
  const cases: Array<[string, RegExp]> = [
    ['', /it is empty/],
    ['10.0.0.5:2379', /missing the etcd:\/\/ scheme/],
    ['consul://10.0.0.5:8500', /consul:\/\/ store is not supported/],
    ['etcd://', /no host given/],
    ['etcd://10.0.0.5:2379/v2/keys', /path after the host/],
    ['etcd://10.0.0.5:99999', /port "99999"/],
    ['etcd://10.0.0.5:x', /port "x"/],
    ['etcd://fd00::5:2379', /brackets/],
    ['etcd://a,,b', /empty host/],
    ['etcd://bad_host!', /neither an IP address nor a host name/],
  ];
  for (const [url, re] of cases) {
    const err = t.throws(() => parseClusterStoreUrl(url), undefined, url);
    t.true(isTsnetError(err, 'TSNET_INVALID_ARGUMENT'), url);
    t.regex(err!.message, re, url);
    t.regex(err!.message, /expected etcd:\/\/10\.0\.0\.5:2379/, url);
  }
});

test('advertise address: a unicast IP, canonical', (t) => {
  t.is(parseAdvertiseAddr('10.0.0.11'), '10.0.0.11');
  t.is(parseAdvertiseAddr(' fd00:0::11 '), 'fd00::11');
  for (const bad of ['', 'host1', '10.0.0.11/24', '0.0.0.0', '127.0.0.1', '239.1.1.1', '::1', '::', 'ff02::1']) {
    const err = t.throws(() => parseAdvertiseAddr(bad), undefined, bad);
    t.true(isTsnetError(err, 'TSNET_INVALID_ARGUMENT'), bad);
    t.regex(err!.message, /--advertise-addr/, bad);
  }
});
