/**
 * The no-op firewall backend (used with --iptables=false): it validates its input and changes nothing.
 */
import test from 'ava';
import { createNoneFirewall, type FirewallNetwork, type FirewallPorts } from '../../../src/kernel/firewall/index.js';

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
