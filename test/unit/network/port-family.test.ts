import test from 'ava';
import { splitByFamily } from '../../../src/network/drivers/bridge/index.js';

const m = (hostIp: string, hostPort = 8080) => ({ proto: 'tcp' as const, hostIp, hostPort, containerPort: 80 });

test('mappings go to the family of their host IP; no host IP is IPv4 (the reservation adds the :: one)', (t) => {
  const r = splitByFamily([m(''), m('::'), m('::1', 8081), m('127.0.0.1', 8082), m('0.0.0.0', 8083)], '');
  t.deepEqual(r.v4, [
    { proto: 'tcp', hostPort: 8080, containerPort: 80 },
    { proto: 'tcp', hostPort: 8082, containerPort: 80, hostIp: '127.0.0.1' },
    { proto: 'tcp', hostPort: 8083, containerPort: 80 },
  ]);
  t.deepEqual(r.v6, [
    { proto: 'tcp', hostPort: 8080, containerPort: 80 },
    { proto: 'tcp', hostPort: 8081, containerPort: 80, hostIp: '::1' },
  ]);
  // the network's default binding address applies to mappings without one
  t.deepEqual(splitByFamily([m('')], '::1'), {
    v4: [],
    v6: [{ proto: 'tcp', hostPort: 8080, containerPort: 80, hostIp: '::1' }],
  });
  t.deepEqual(splitByFamily([m('')], '192.0.2.1').v4, [{ proto: 'tcp', hostPort: 8080, containerPort: 80, hostIp: '192.0.2.1' }]);
});
