import test from 'ava';
import { isTsnetError } from '../../../src/errors/index.js';
import {
  ipAt,
  nextCandidate,
  offsetOfRequested,
  poolGeometry,
  subnetOfPoolId,
  usedSet,
} from '../../../src/ipam/cluster/pool-math.js';

const rec = (over = {}) => ({
  poolId: 'GlobalDefault/10.77.0.0/24',
  networkId: 'n',
  networkName: 'appnet',
  family: 4 as const,
  subnet: '10.77.0.0/24',
  gateway: '10.77.0.1',
  auxAddresses: {},
  dynamic: false,
  createdAt: '',
  ...over,
});

test('pool ids name their subnet', (t) => {
  t.is(subnetOfPoolId('GlobalDefault/10.77.0.0/24'), '10.77.0.0/24');
  t.is(subnetOfPoolId('GlobalDefault/10.77.0.0/24/10.77.0.128/25'), '10.77.0.0/24');
  for (const bad of ['LocalDefault/10.77.0.0/24', 'GlobalDefault/10.77.0.0', 'x', 'GlobalDefault/10.77.0.5/24']) {
    t.throws(() => subnetOfPoolId(bad), undefined, bad);
  }
});

test('geometry: reserved addresses and the dynamic range', (t) => {
  const g = poolGeometry(rec({ ipRange: '10.77.0.128/25', auxAddresses: { r: '10.77.0.200' } }));
  t.is(g.lo, 128n);
  t.is(g.hi, 255n);
  t.deepEqual(
    [...g.reserved.keys()].sort((a, b) => Number(a - b)),
    [0n, 1n, 200n, 255n],
  );
  const used = usedSet(g);
  t.deepEqual(nextCandidate(g, used, undefined), { offset: 128n, wrapped: false });
  t.deepEqual(nextCandidate(g, used, 199n), { offset: 201n, wrapped: false }, 'skips the aux address');
  t.deepEqual(nextCandidate(g, used, 254n), { offset: 128n, wrapped: true }, 'wraps inside the range');
  t.is(ipAt(g, 201n), '10.77.0.201');
});

test('serial allocation resumes after the cursor, then wraps; full gives undefined', (t) => {
  const g = poolGeometry(rec({ subnet: '10.77.0.0/29', poolId: 'GlobalDefault/10.77.0.0/29' }));
  const used = usedSet(g);
  const got: bigint[] = [];
  let cursor: bigint | undefined;
  for (;;) {
    const n = nextCandidate(g, used, cursor);
    if (!n) break;
    used.add(n.offset);
    got.push(n.offset);
    cursor = n.offset;
  }
  t.deepEqual(got, [2n, 3n, 4n, 5n, 6n]);
  used.delete(3n);
  t.deepEqual(nextCandidate(g, used, 6n), { offset: 3n, wrapped: true });
});

test('requested addresses are checked against the subnet and reservations', (t) => {
  const g = poolGeometry(rec());
  t.is(offsetOfRequested(g, '10.77.0.9', 'appnet'), 9n);
  t.true(
    isTsnetError(
      t.throws(() => offsetOfRequested(g, '10.78.0.9', 'appnet')),
      'TSNET_BAD_IP',
    ),
  );
  t.regex(t.throws(() => offsetOfRequested(g, '10.77.0.255', 'appnet'))!.message, /broadcast address/);
  t.true(
    isTsnetError(
      t.throws(() => offsetOfRequested(g, '10.77.0.1', 'appnet')),
      'TSNET_ADDRESS_IN_USE',
    ),
  );
});
