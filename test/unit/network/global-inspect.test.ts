import test from 'ava';
import { withClusterEndpoints } from '../../../src/network/global-inspect.js';

const rec = (endpointId: string, node: string, extra: Record<string, unknown> = {}) => ({
  networkId: 'net1',
  endpointId,
  aliases: [],
  mac: `02:00:00:00:00:0${endpointId.length}`,
  node,
  vtep: node,
  joined: true,
  ...extra,
});

test("every host's endpoints, with their node; peers are the nodes with endpoints", (t) => {
  const local = { Name: 'a', EndpointID: 'e1', MacAddress: 'm', IPv4Address: '10.1.0.2/24', IPv6Address: '' };
  const out = withClusterEndpoints(
    { Id: 'net1', Name: 'appnet', Containers: { c1: local } },
    {
      nodeId: '10.0.0.1',
      endpoints: () => [
        rec('e1', '10.0.0.1', { name: 'a', address: '10.1.0.2/24' }),
        rec('e22', '10.0.0.2', { name: 'b', address: '10.1.0.3/24', addressV6: 'fd00::3/64' }),
      ],
      nodes: () => [
        { id: '10.0.0.2', advertiseAddr: '10.0.0.2' },
        { id: '10.0.0.1', advertiseAddr: '10.0.0.1' },
      ],
    },
  );
  t.deepEqual(out.Containers, {
    c1: { ...local, Node: '10.0.0.1' },
    'ep-e22': {
      Name: 'b',
      EndpointID: 'e22',
      MacAddress: '02:00:00:00:00:03',
      IPv4Address: '10.1.0.3/24',
      IPv6Address: 'fd00::3/64',
      Node: '10.0.0.2',
    },
  });
  t.deepEqual(out.Peers, [
    { Name: '10.0.0.1', IP: '10.0.0.1' },
    { Name: '10.0.0.2', IP: '10.0.0.2' },
  ]);
  t.is(out.Name, 'appnet');
});
