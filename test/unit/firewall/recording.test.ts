/**
 * The recording fake and the no-op backend.
 */
import test from 'ava';
import {
  createNoneFirewall,
  RecordingFirewall,
  type FirewallNetwork,
  type FirewallPorts,
} from '../../../src/kernel/firewall/index.js';
import { isTsnetError } from '../../../src/errors/index.js';

const NET: FirewallNetwork = {
  id: 'net0000000001',
  bridge: 'br-net000000000',
  subnets: ['10.9.0.0/24'],
  internal: false,
  icc: true,
  masquerade: true,
};
const P4: FirewallPorts = {
  networkId: NET.id,
  endpointId: 'ep00000000001',
  bridge: NET.bridge,
  containerIp: '10.9.0.2',
  mappings: [{ proto: 'tcp', hostPort: 80, containerPort: 80 }],
};
const P6: FirewallPorts = { ...P4, containerIp: 'fd00:9::2' };

test('records calls in order with copies of their arguments', async (t) => {
  const fw = new RecordingFirewall();
  await fw.init();
  await fw.setupNetwork(NET);
  await fw.addPorts(P4);
  await fw.addPorts(P6);
  t.deepEqual(
    fw.calls.map((c) => c.op),
    ['init', 'setupNetwork', 'addPorts', 'addPorts'],
  );
  t.deepEqual(
    fw.callsOf('addPorts').map((c) => c.ports.containerIp),
    ['10.9.0.2', 'fd00:9::2'],
  );
  t.is(fw.activePorts().length, 2, 'IPv4 and IPv6 port sets are separate');
  t.notThrows(() => {
    const copy = fw.callsOf('setupNetwork')[0]!.network;
    t.not(copy, NET);
  });
  await fw.removePorts(P4);
  await fw.removePorts(P6);
  await fw.teardownNetwork(NET);
  t.notThrows(() => fw.assertBalanced());
});

test('strict mode fails on unbalanced calls', async (t) => {
  const fw = new RecordingFirewall();
  await t.throwsAsync(fw.teardownNetwork(NET), { message: /teardownNetwork\(net0000000001\) without setupNetwork/ });
  await t.throwsAsync(fw.removePorts(P4), { message: /removePorts\(ep00000000001\/v4\) without addPorts/ });
  await fw.setupNetwork(NET);
  await t.throwsAsync(fw.setupNetwork(NET), { message: /twice/ });
  await fw.addPorts(P4);
  await t.throwsAsync(fw.addPorts(P4), { message: /twice/ });
  await t.throwsAsync(fw.teardownNetwork(NET), { message: /still publish ports: ep00000000001/ });
  const err = t.throws(() => fw.assertBalanced());
  t.true(isTsnetError(err, 'TSNET_INTERNAL'));
  t.regex(err?.message ?? '', /network net0000000001, ports ep00000000001\/v4/);
});

test('non-strict mode accepts repeated deletes like the real backends', async (t) => {
  const fw = new RecordingFirewall({ strict: false });
  await fw.teardownNetwork(NET);
  await fw.removePorts(P4);
  t.is(fw.calls.length, 2);
});

test('failNext injects one failure for one operation, after recording it', async (t) => {
  const fw = new RecordingFirewall();
  fw.failNext('addPorts');
  await fw.setupNetwork(NET);
  const err = await t.throwsAsync(fw.addPorts(P4));
  t.true(isTsnetError(err, 'TSNET_FIREWALL'));
  t.is(fw.activePorts().length, 0, 'a failed add leaves nothing');
  await fw.addPorts(P4);
  t.is(fw.callsOf('addPorts').length, 2);
});

test('validates input like the real backends', async (t) => {
  const fw = new RecordingFirewall();
  await t.throwsAsync(fw.setupNetwork({ ...NET, subnets: ['bad'] }), { message: /bad subnet/ });
  await t.throwsAsync(fw.addPorts({ ...P4, mappings: [{ proto: 'tcp', hostPort: 0, containerPort: 1 }] }), {
    message: /bad host port/,
  });
  t.is(fw.calls.length, 0);
});

test('reconcile replaces the recorded state and counts objects', async (t) => {
  const fw = new RecordingFirewall();
  await fw.setupNetwork(NET);
  await fw.addPorts(P4);
  const other = { ...NET, id: 'net0000000002', bridge: 'br-net2' };
  const r = await fw.reconcile({ networks: [other], ports: [] });
  t.deepEqual(r, { removed: 2, added: 1 });
  t.deepEqual(
    fw.activeNetworks().map((n) => n.id),
    ['net0000000002'],
  );
  await fw.removeAll();
  t.notThrows(() => fw.assertBalanced());
});

test('the none backend validates and does nothing', async (t) => {
  const fw = createNoneFirewall();
  t.is(fw.name, 'none');
  await fw.init();
  await fw.setupNetwork(NET);
  await fw.addPorts(P4);
  await fw.removePorts(P4);
  await fw.teardownNetwork(NET);
  t.deepEqual(await fw.reconcile({ networks: [NET], ports: [P4] }), { removed: 0, added: 0 });
  await fw.removeAll();
  await t.throwsAsync(fw.addPorts({ ...P4, containerIp: '' }), { message: /bad container IP/ });
});
