import test from 'ava';
import { extraHostEntries, hostsFile, parseExtraHost, resolvConf } from '../../../src/runtime/etc-files.js';

test('parseExtraHost: NAME:IP, NAME=IP, IPv6 with colons or brackets, host-gateway', (t) => {
  t.deepEqual(parseExtraHost('db:10.0.0.5'), { name: 'db', ip: '10.0.0.5' });
  t.deepEqual(parseExtraHost('db=10.0.0.5'), { name: 'db', ip: '10.0.0.5' });
  t.deepEqual(parseExtraHost('v6:::1'), { name: 'v6', ip: '::1' });
  t.deepEqual(parseExtraHost('v6=[fd00::5]'), { name: 'v6', ip: 'fd00::5' });
  t.deepEqual(parseExtraHost('gw:host-gateway'), { name: 'gw', ip: 'host-gateway' });
  for (const bad of ['nocolon', ':1.2.3.4', 'x:1.2.3', 'a b:1.2.3.4', 'x\n:1.2.3.4', 'x:1.2.3.4\n#']) {
    t.throws(() => parseExtraHost(bad), { message: /invalid extra host/ }, JSON.stringify(bad));
  }
});

test('extraHostEntries: host-gateway takes the gateway; without one it is an error saying what to do', (t) => {
  t.deepEqual(extraHostEntries(['a:1.2.3.4', 'gw:host-gateway'], '10.0.0.1'), [
    { ip: '1.2.3.4', names: ['a'] },
    { ip: '10.0.0.1', names: ['gw'] },
  ]);
  t.throws(() => extraHostEntries(['gw:host-gateway'], undefined), { message: /needs a network with a gateway/ });
  t.regex(hostsFile(extraHostEntries(['a:1.2.3.4'], undefined)), /^1\.2\.3\.4\ta$/m);
});

test('resolvConf: --dns replaces the servers, --dns-search the search line, --dns-option the options', (t) => {
  const host = 'nameserver 10.0.0.2\nsearch home.lan\noptions timeout:1\n';
  t.is(
    resolvConf(host, { dns: ['192.0.2.53'], search: ['corp.example'], options: ['ndots:2'] }),
    'search corp.example\nnameserver 192.0.2.53\noptions ndots:2\n',
  );
  t.is(resolvConf(host), 'search home.lan\noptions timeout:1\nnameserver 10.0.0.2\n');
  t.is(
    resolvConf(host, { embedded: true, dns: ['192.0.2.53'], options: ['edns0'] }),
    'search home.lan\nnameserver 127.0.0.11\noptions ndots:0 edns0\n# ExtServers: [192.0.2.53]\n',
  );
  t.is(
    resolvConf(host, { embedded: true, options: ['ndots:3'] }),
    'search home.lan\nnameserver 127.0.0.11\noptions ndots:3\n# ExtServers: [10.0.0.2]\n',
  );
});
