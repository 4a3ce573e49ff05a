import test from 'ava';
import { buildNetworkConfig } from '../../../../src/cli/parse/network.js';

test('--link and --link-local-ip go to the first network (default when none is named)', (t) => {
  t.deepEqual(buildNetworkConfig({ networks: [], aliases: [], links: ['db:store'], linkLocalIps: ['169.254.1.9'] }), {
    NetworkMode: 'default',
    EndpointsConfig: {
      default: {
        Aliases: [],
        IPAMConfig: { IPv4Address: '', IPv6Address: '', LinkLocalIPs: ['169.254.1.9'] },
        Links: ['db:store'],
      },
    },
  });
  const two = buildNetworkConfig({ networks: ['a', 'b'], aliases: [], links: ['web'] });
  t.deepEqual(two.EndpointsConfig.a?.Links, ['web']);
  t.is(two.EndpointsConfig.b?.Links, undefined);
});

test('advanced --network fields: link-local-ip, driver-opt (value may hold "="), mac-address', (t) => {
  const c = buildNetworkConfig({
    networks: ['name=a,link-local-ip=169.254.3.3,driver-opt=com.example.k=v=w,mac-address=02:42:ac:11:00:09'],
    aliases: [],
  });
  t.deepEqual(c.EndpointsConfig.a, {
    Aliases: [],
    IPAMConfig: { IPv4Address: '', IPv6Address: '', LinkLocalIPs: ['169.254.3.3'] },
    DriverOpts: { 'com.example.k': 'v=w' },
    MacAddress: '02:42:ac:11:00:09',
  });
});

test('bad --link, --link-local-ip and advanced fields are one-line errors', (t) => {
  const cases: Array<[{ links?: string[]; linkLocalIps?: string[] }, RegExp]> = [
    [{ links: ['a:b:c'] }, /^invalid argument "a:b:c" for "--link": want NAME or NAME:ALIAS$/],
    [{ links: [':x'] }, /^invalid argument ":x" for "--link": want NAME or NAME:ALIAS$/],
    [{ linkLocalIps: ['nope'] }, /^invalid argument "nope" for "--link-local-ip": not an IP address$/],
  ];
  for (const [flags, msg] of cases) {
    t.throws(() => buildNetworkConfig({ networks: [], aliases: [], ...flags }), { message: msg });
  }
  t.throws(() => buildNetworkConfig({ networks: ['name=a,driver-opt=novalue'], aliases: [] }), { message: /KEY=VALUE/ });
  t.throws(() => buildNetworkConfig({ networks: ['name=a,mac-address=zz'], aliases: [] }), { message: /not a MAC/ });
});
