import test from 'ava';
import { endpointExtras, linkLocalCidr, normalizeMac, parseLink } from '../../../src/network/endpoint-settings.js';
import { linkAliasTarget } from '../../../src/network/dns/link-alias.js';
import { linkEnv } from '../../../src/network/link-env.js';
import type { EndpointState } from '../../../src/runtime/container/types.js';

test('parseLink: NAME, NAME:ALIAS and the stored /NAME:/PARENT/ALIAS form', (t) => {
  t.deepEqual(parseLink('db'), { name: 'db', alias: 'db' });
  t.deepEqual(parseLink('db:store'), { name: 'db', alias: 'store' });
  t.deepEqual(parseLink('/db:/web/store'), { name: 'db', alias: 'store' });
  for (const bad of ['', 'a:b:c', ':x', 'a:'])
    t.throws(() => parseLink(bad), { message: /^invalid link ".*": .*\(use NAME:ALIAS or NAME\)$/ });
});

test('MAC: normalized to lower case with colons; multicast and zero refused in one line', (t) => {
  t.is(normalizeMac('02-42-AC-11-00-0A'), '02:42:ac:11:00:0a');
  t.throws(() => normalizeMac('01:00:5e:00:00:01'), { message: /multicast address .*use a unicast one/ });
  t.throws(() => normalizeMac('03:42:ac:11:00:0a'), { message: /multicast/ });
  t.throws(() => normalizeMac('00:00:00:00:00:00'), { message: /all zeros/ });
  t.throws(() => normalizeMac('02:42:ac:11:00'), { message: /six hex bytes/ });
});

test('endpointExtras keeps links, link-local IPs, driver options and the MAC as given', (t) => {
  t.deepEqual(
    endpointExtras({
      Links: ['up:bar'],
      IPAMConfig: { LinkLocalIPs: ['169.254.8.8', 'fe80::8'] },
      DriverOpts: { 'com.example.x': 'on' },
      MacAddress: '02:42:AC:11:00:02',
    }),
    {
      links: ['up:bar'],
      linkLocalIPs: ['169.254.8.8', 'fe80::8'],
      driverOpts: { 'com.example.x': 'on' },
      mac: '02:42:ac:11:00:02',
    },
  );
  t.deepEqual(endpointExtras(null), {});
  t.throws(() => endpointExtras({ IPAMConfig: { LinkLocalIPs: ['0.0.0.0'] } }), { message: /invalid link-local IP/ });
  t.is(linkLocalCidr('169.254.8.8'), '169.254.8.8/16');
  t.is(linkLocalCidr('fe80::8'), 'fe80::8/64');
});

test('link aliases on user networks: ALIAS and ALIAS.network, only on the endpoint that has the link', (t) => {
  const ep = (networkId: string, networkName: string, links?: string[]): EndpointState => ({
    networkId,
    networkName,
    endpointId: 'e',
    aliases: [],
    ...(links ? { links } : {}),
  });
  const eps = [ep('n1', 'front'), ep('n2', 'Back', ['Upstream:bar'])];
  t.deepEqual(linkAliasTarget(eps, 'bar'), { networkId: 'n2', target: 'upstream' });
  t.deepEqual(linkAliasTarget(eps, 'bar.back'), { networkId: 'n2', target: 'upstream' });
  t.is(linkAliasTarget(eps, 'bar.front'), undefined);
  t.is(linkAliasTarget(eps, 'upstream'), undefined);
  t.deepEqual(linkAliasTarget([ep('n3', 'x', ['solo'])], 'solo'), { networkId: 'n3', target: 'solo' });
});

test('link env: Docker variable names (a range is told when the next port breaks it, as moby), port ranges, _NAME, _ENV_ without HOME and PATH', (t) => {
  const env = linkEnv({
    name: '/web/db-main',
    childIp: '172.17.0.3',
    childEnv: ['PATH=/bin', 'HOME=/root', 'PGUSER=app', 'EMPTY='],
    exposedPorts: ['5432/tcp', '53/udp', '8000-8002/tcp'],
  });
  t.deepEqual(env, [
    'DB_MAIN_PORT=tcp://172.17.0.3:5432',
    'DB_MAIN_PORT_5432_TCP=tcp://172.17.0.3:5432',
    'DB_MAIN_PORT_5432_TCP_ADDR=172.17.0.3',
    'DB_MAIN_PORT_5432_TCP_PORT=5432',
    'DB_MAIN_PORT_5432_TCP_PROTO=tcp',
    'DB_MAIN_PORT_8000_TCP=tcp://172.17.0.3:8000',
    'DB_MAIN_PORT_8000_TCP_ADDR=172.17.0.3',
    'DB_MAIN_PORT_8000_TCP_PORT=8000',
    'DB_MAIN_PORT_8000_TCP_PROTO=tcp',
    'DB_MAIN_PORT_8001_TCP=tcp://172.17.0.3:8001',
    'DB_MAIN_PORT_8001_TCP_ADDR=172.17.0.3',
    'DB_MAIN_PORT_8001_TCP_PORT=8001',
    'DB_MAIN_PORT_8001_TCP_PROTO=tcp',
    'DB_MAIN_PORT_8002_TCP=tcp://172.17.0.3:8002',
    'DB_MAIN_PORT_8002_TCP_ADDR=172.17.0.3',
    'DB_MAIN_PORT_8002_TCP_PORT=8002',
    'DB_MAIN_PORT_8002_TCP_PROTO=tcp',
    'DB_MAIN_PORT_53_UDP=udp://172.17.0.3:53',
    'DB_MAIN_PORT_53_UDP_ADDR=172.17.0.3',
    'DB_MAIN_PORT_53_UDP_PORT=53',
    'DB_MAIN_PORT_53_UDP_PROTO=udp',
    'DB_MAIN_PORT_8000_TCP_START=tcp://172.17.0.3:8000',
    'DB_MAIN_PORT_8000_TCP_PORT_START=8000',
    'DB_MAIN_PORT_8000_TCP_END=tcp://172.17.0.3:8002',
    'DB_MAIN_PORT_8000_TCP_PORT_END=8002',
    'DB_MAIN_NAME=/web/db-main',
    'DB_MAIN_ENV_PGUSER=app',
    'DB_MAIN_ENV_EMPTY=',
  ]);
  t.deepEqual(linkEnv({ name: '/a/b', childIp: '10.0.0.2', childEnv: [], exposedPorts: [] }), ['B_NAME=/a/b']);
});
