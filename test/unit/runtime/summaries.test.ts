/**
 * The kept `ps` entries (src/runtime/container/summaries.ts): reused while nothing they show
 * changed, built again when the network layer's revision, the state, the Status text (the clock)
 * or the image name moved. The listings after real changes: test/integration/ps-summaries.test.ts.
 */
import test from 'ava';
import type { ContainerNetworkState } from '../../../src/network/container-api.js';
import { ContainerSummaries } from '../../../src/runtime/container/summaries.js';
import type { ContainerRecord } from '../../../src/runtime/container/types.js';

const T0 = Date.parse('2026-01-01T00:00:00Z');

function record(): ContainerRecord {
  return {
    id: 'a'.repeat(64),
    name: 'web',
    created: new Date(T0).toISOString(),
    path: 'sleep',
    args: ['1000'],
    imageId: `sha256:${'b'.repeat(64)}`,
    config: { Image: 'busybox' },
    hostConfig: { NetworkMode: 'net1' },
    networkingConfig: {},
    state: {
      Status: 'running',
      Running: true,
      Paused: false,
      Restarting: false,
      OOMKilled: false,
      Dead: false,
      Pid: 1,
      ExitCode: 0,
      Error: '',
      StartedAt: new Date(T0).toISOString(),
      FinishedAt: '0001-01-01T00:00:00Z',
    },
    restartCount: 0,
    sandboxId: 'c'.repeat(64),
  } as unknown as ContainerRecord;
}

function source() {
  const s = {
    revision: 1,
    image: 'busybox',
    ip: '172.18.0.2',
    built: 0,
    network(): ContainerNetworkState {
      s.built++;
      return {
        mode: 'networks',
        endpoints: {
          n1: { networkId: 'n1', networkName: 'net1', endpointId: 'e1', aliases: [], ipv4: `${s.ip}/16` },
        },
        ports: [],
      } as unknown as ContainerNetworkState;
    },
    networkRevision: () => s.revision,
    imageName: () => s.image,
  };
  return s;
}

type Entry = {
  Names: string[];
  Image: string;
  State: string;
  Status: string;
  NetworkSettings: { Networks: Record<string, { IPAddress: string }> };
};
const parse = (b: Buffer): Entry[] => JSON.parse(b.toString('utf8')) as Entry[];

test('an entry is reused while nothing it shows changed', (t) => {
  const src = source();
  const s = new ContainerSummaries(src);
  const rec = record();
  const first = s.json([rec], T0 + 5_000);
  const again = s.json([rec], T0 + 5_000);
  t.deepEqual(again, first);
  t.is(src.built, 1, 'the network view was read once');
  t.is(parse(first)[0]!.Status, 'Up 5 seconds');
});

test('a new network revision, state, name, image name or clock builds the entry again', (t) => {
  const src = source();
  const s = new ContainerSummaries(src);
  const rec = record();
  const at = T0 + 5_000;
  s.json([rec], at);
  src.ip = '172.18.0.9';
  t.is(parse(s.json([rec], at))[0]!.NetworkSettings.Networks.net1!.IPAddress, '172.18.0.2', 'same revision: kept');
  src.revision = 2;
  t.is(parse(s.json([rec], at))[0]!.NetworkSettings.Networks.net1!.IPAddress, '172.18.0.9');
  rec.state.Status = 'exited';
  rec.state.FinishedAt = new Date(at).toISOString();
  t.is(parse(s.json([rec], at))[0]!.State, 'exited');
  t.is(parse(s.json([rec], at + 120_000))[0]!.Status, 'Exited (0) 2 minutes ago');
  rec.name = 'api';
  t.deepEqual(parse(s.json([rec], at))[0]!.Names, ['/api']);
  src.image = 'busybox:1.36';
  t.is(parse(s.json([rec], at))[0]!.Image, 'busybox:1.36');
});

test('the listing keeps the order given and is a JSON array', (t) => {
  const s = new ContainerSummaries(source());
  const a = record();
  const b = { ...record(), id: 'd'.repeat(64), name: 'db' };
  t.deepEqual(
    parse(s.json([b, a])).map((e) => e.Names[0]),
    ['/db', '/web'],
  );
  t.is(s.json([]).toString(), '[]');
});
