/**
 * A seeded fuzz of the API: 1 200 generated malformed requests (wrong JSON types, control
 * characters and shell/iptables syntax where a value reaches a file or a kernel object, bad
 * `%` escapes, deep nesting, oversized names and bodies, unknown methods, broken JSON and query
 * values). Every answer must be below 500, every request that would change something must be
 * refused, the daemon must stay alive, and after each batch of 100 the kernel (links,
 * iptables rules, mounts) and the store (record files) must be exactly as before.
 * TSNET_FUZZ_SEED=<n> replays a run; the seed and the counts are printed.
 */
import fs from 'node:fs';
import path from 'node:path';
import anyTest, { type TestFn } from 'ava';
import { POOL_PREFIX } from '../../src/network/sandbox-pool.js';
import { api, rawApi } from '../helpers/api.js';
import { createWorld, type World } from '../helpers/world.js';

const test = anyTest as TestFn<{ w: World }>;

test.before(async (t) => {
  t.context.w = await createWorld();
});
test.after.always(async (t) => {
  await t.context.w?.teardown();
});

/** mulberry32: small, seeded, good enough to pick mutations. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

interface Fuzzed {
  kind: string;
  method: string;
  path: string;
  body?: unknown;
  raw?: string | Buffer;
  /** Sent as raw bytes on a socket (methods Node's client will not write). */
  wire?: string;
}

const INJECT = [
  'x\nnameserver 6.6.6.6',
  'x\r\n127.0.0.1 evil',
  'a\u0000b',
  'tab\there',
  '$(reboot)\n',
  'a;rm -rf /',
  '`id` -j ACCEPT',
  '-A INPUT -j ACCEPT',
  'x --dport 22 -j DNAT',
  '../../../etc/passwd',
  '\u001b[31mred',
  ' ',
  'a b',
];

/** Fields of a create body, each with values that must be refused. */
const CREATE_FIELDS: Array<[string[], () => unknown[]]> = [
  [['Hostname'], () => [...INJECT, 'h'.repeat(65), 5, ['a'], {}]],
  [['Domainname'], () => [...INJECT, 7, [], {}]],
  [['HostConfig', 'Dns'], () => [INJECT, ['1.1.1.1 2.2.2.2'], ['999.1.1.1'], 'x', 5, [5], { a: 1 }]],
  [['HostConfig', 'DnsSearch'], () => [INJECT.slice(0, 8).map((s) => [s]), [''], 'x', [1]].flat()],
  [['HostConfig', 'DnsOptions'], () => [['ndots:1\nnameserver 1.1.1.1'], ['a b'], 'x', [false]]],
  [
    ['HostConfig', 'ExtraHosts'],
    () => [['a:1.2.3.4\n6.6.6.6 b'], ['nohost'], ['a:not-an-ip'], [':1.2.3.4'], ['a b:1.2.3.4'], 'x', [1]],
  ],
  [['Env'], () => [[1], 'A=b', [null], ['=x'], ['A=\u0000'], { A: 'b' }, [[]]]],
  [['Cmd'], () => [5, [1], [null], { a: 1 }, ['a\u0000b'], true]],
  [['Entrypoint'], () => [5, [2], {}, ['\u0000']]],
  [['Labels'], () => [['a'], { a: 1 }, { 'a\nb': 'c' }, { ['k'.repeat(2000)]: 'v' }, 'x', { a: 'v\u0000' }]],
  [['ExposedPorts'], () => [{ '80/tcp': 1 }, { eighty: {} }, ['80/tcp'], 'x', { '80/tcp\n-j ACCEPT': {} }]],
  [['Tty'], () => ['yes', 1, [], {}]],
  [['User'], () => ['root\nx', 5, []]],
  [['WorkingDir'], () => ['/x\ny', 1]],
  [['MacAddress'], () => ['zz:zz', 'aa:bb:cc:dd:ee:ff\n', 5]],
  [['StopTimeout'], () => ['10', 1.5, -5]],
  [['HostConfig'], () => ['x', 5, [], true]],
  [['HostConfig', 'Binds'], () => ['/x:/y', [['/x:/y']], [1], ['/x:/y\n'], { a: 1 }]],
  [
    ['HostConfig', 'PortBindings'],
    () => [
      { '80/tcp': [{ HostPort: 8080 }] },
      { '80/tcp': 'x' },
      { 'eighty/tcp': [] },
      { '80/tcp': [{ HostIp: 'garbage' }] },
      { '80/tcp': [{ HostPort: '1;reboot' }] },
      [],
    ],
  ],
  [['HostConfig', 'Memory'], () => ['1g', 1.5, true, []]],
  [['HostConfig', 'NanoCpus'], () => ['1', 0.5, {}]],
  [['HostConfig', 'PidsLimit'], () => ['100', 2.5]],
  [['HostConfig', 'CapAdd'], () => ['NET_ADMIN', [1], ['NET ADMIN'], ['CAP\n']]],
  [['HostConfig', 'Privileged'], () => ['true', 1]],
  [['HostConfig', 'RestartPolicy'], () => [{ Name: 'sometimes' }, 'always', { MaximumRetryCount: 'x' }]],
  [['HostConfig', 'NetworkMode'], () => ['br\nx', 5, ['host']]],
  [['HostConfig', 'Links'], () => [['a b:c'], ['a\n:b'], 'x']],
  [['NetworkingConfig'], () => ['x', 5, []]],
  [
    ['NetworkingConfig', 'EndpointsConfig'],
    () => [
      [],
      'x',
      { 'a\nb': {} },
      { bridge: 5 },
      { bridge: { Aliases: 'x' } },
      { bridge: { Aliases: ['a\nb'] } },
      { bridge: { IPAMConfig: { IPv4Address: 7 } } },
      { bridge: { IPAMConfig: { IPv4Address: '10.0.0.1; reboot' } } },
      { bridge: { MacAddress: 'nope' } },
      { bridge: { Links: ['x y'] } },
    ],
  ],
];

/** Fields of a network create body, each with values that must be refused. */
const NETWORK_FIELDS: Array<[string[], () => unknown[]]> = [
  [['Name'], () => ['a\nb', 'a\u0000b', '\t', '   ', '', 5, ['x'], 'n'.repeat(256), 'x\r\n-j ACCEPT']],
  [['Driver'], () => [5, ['bridge'], 'bri\ndge']],
  [['Internal'], () => ['yes', 1]],
  [['EnableIPv6'], () => ['true', {}]],
  [['Labels'], () => [['a'], { a: 1 }, { 'a\nb': 'c' }]],
  [
    ['Options'],
    () => [
      ['x'],
      5,
      { 'com.docker.network.bridge.default_bridge': 'true' },
      { 'com.docker.network.bridge.host_binding_ipv4': 'garbage:x' },
      { 'com.docker.network.bridge.host_binding_ipv4': '1.2.3.4 -j ACCEPT' },
      { 'com.docker.network.bridge.name': 'br;reboot' },
      { 'com.docker.network.bridge.name': 'way-too-long-bridge-name' },
      { 'com.docker.network.driver.mtu': '1500; reboot' },
      { 'com.docker.network.bridge.enable_icc': 'perhaps' },
      { 'com.docker.network.bridge.bogus': '1' },
      { 'com.docker.network.bridge.name': 'x\ny' },
      { a: 1 },
    ],
  ],
  [['IPAM'], () => ['x', 5, []]],
  [
    ['IPAM', 'Config'],
    () => [
      'x',
      [5],
      [{ Subnet: 5 }],
      [{ Subnet: 'not-a-cidr' }],
      [{ Subnet: '10.99.0.0/24', Gateway: 'x' }],
      [{ Subnet: '10.99.0.0/24\n' }],
      [{ Subnet: '10.99.0.0/24', AuxiliaryAddresses: { a: 'nope' } }],
      [{ Gateway: '10.99.0.1' }],
    ],
  ],
  [['IPAM', 'Options'], () => [['x'], { a: 5 }]],
];

function set(obj: Record<string, unknown>, keys: string[], value: unknown): Record<string, unknown> {
  const out = structuredClone(obj);
  let cur: Record<string, unknown> = out;
  for (const k of keys.slice(0, -1)) {
    if (typeof cur[k] !== 'object' || cur[k] === null || Array.isArray(cur[k])) cur[k] = {};
    cur = cur[k] as Record<string, unknown>;
  }
  cur[keys[keys.length - 1]!] = value;
  return out;
}

function deep(depth: number, r: () => number): string {
  const open = r() < 0.5 ? '[' : '{"a":';
  const close = open === '[' ? ']' : '}';
  return `${open.repeat(depth)}1${close.repeat(depth)}`;
}

function generator(seed: number): () => Fuzzed {
  const r = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const baseCreate = { Image: 'busybox', Cmd: ['true'], HostConfig: {}, NetworkingConfig: {} };
  const kinds: Array<[string, number, () => Fuzzed]> = [
    [
      'create-field',
      38,
      () => {
        const [keys, values] = pick(CREATE_FIELDS);
        return {
          kind: 'create-field',
          method: 'POST',
          path: pick(['/containers/create', '/v1.44/containers/create', '/v1.41/containers/create']),
          body: set(baseCreate, keys, pick(values())),
        };
      },
    ],
    [
      'network-field',
      18,
      () => {
        const [keys, values] = pick(NETWORK_FIELDS);
        return {
          kind: 'network-field',
          method: 'POST',
          path: '/networks/create',
          body: set({ Name: `fz${Math.floor(r() * 1e6)}` }, keys, pick(values())),
        };
      },
    ],
    [
      'deep-json',
      5,
      () => ({
        kind: 'deep-json',
        method: 'POST',
        path: pick(['/containers/create', '/networks/create', '/networks/bridge/connect', '/containers/fz/exec']),
        raw: `{"Image":"busybox","Labels":${deep(65 + Math.floor(r() * 20_000), r)}}`,
      }),
    ],
    [
      'big',
      2,
      () =>
        r() < 0.5
          ? {
              kind: 'big',
              method: 'POST',
              path: '/networks/create',
              body: { Name: 'n'.repeat(1024 * 1024 + Math.floor(r() * 9 * 1024 * 1024)) },
            }
          : {
              kind: 'big',
              method: 'POST',
              path: '/containers/create',
              raw: `{"Image":"busybox","Env":["A=${'x'.repeat(5 * 1024 * 1024)}"]}`,
            },
    ],
    [
      'bad-json',
      5,
      () => {
        const full = JSON.stringify(set(baseCreate, ['Hostname'], 'h'));
        return {
          kind: 'bad-json',
          method: 'POST',
          path: pick(['/containers/create', '/networks/create', '/containers/fz/exec']),
          raw: pick([
            full.slice(0, Math.floor(r() * full.length)),
            '{"a":}',
            "{'a':1}",
            '[1,2]',
            '"str"',
            '12',
            'null x',
            '\u0000',
          ]),
        };
      },
    ],
    [
      'bad-escape',
      6,
      () => {
        const bad = pick(['%', '%z', '%zz', '%E0%A4%A', '%C3%28', '%ff%fe', '%0']);
        const p = pick([
          `/containers/${bad}/json`,
          `/networks/${bad}`,
          `/containers/json?filters=${bad}`,
          `/images/${bad}/json`,
          `/containers/fz/logs?stdout=1&tail=${bad}`,
          `/networks?filters=%7B${bad}`,
        ]);
        return { kind: 'bad-escape', method: 'GET', path: p, wire: `GET ${p} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n` };
      },
    ],
    [
      'unknown-method',
      6,
      () => {
        const m = pick(['FOO', 'BREW', 'GETT', 'XPOST', 'PUT', 'PATCH', 'OPTIONS', 'TRACE', 'CONNECT', 'PROPFIND', 'LOCK']);
        const p = pick([
          '/containers/json',
          '/networks/create',
          '/containers/fz/start',
          '/nothing',
          '/v1.44/networks',
          '/_ping',
          '/images/json',
        ]);
        return {
          kind: 'unknown-method',
          method: m,
          path: p,
          wire: `${m} ${p} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`,
        };
      },
    ],
    [
      'bad-query',
      8,
      () => ({
        kind: 'bad-query',
        method: pick(['GET', 'POST']),
        path: pick([
          '/containers/json?filters=5',
          '/containers/json?filters=%5B%5D',
          '/containers/json?limit=abc',
          '/containers/json?filters=%7B%22status%22%3A5%7D',
          '/networks?filters=%7B%22bogus%22%3A%5B%5D%7D',
          '/containers/fz/stop?t=abc',
          '/containers/fz/restart?t=1.5',
          '/containers/fz/logs?stdout=1&tail=-5',
          '/containers/fz/logs?stdout=1&since=yesterday',
          '/containers/fz/wait?condition=bogus',
          '/containers/fz/resize?h=-1&w=x',
          `/containers/create?name=${encodeURIComponent(pick(INJECT))}`,
          `/containers/create?name=${'c'.repeat(256 + Math.floor(r() * 4000))}`,
          '/containers/create?name=%2F',
          '/v1.99/containers/json',
          '/v1.2/containers/json',
          '/v1..44/containers/json',
        ]),
        body: baseCreate,
      }),
    ],
    [
      'missing',
      6,
      () => {
        const name = pick(['nope', 'ghost', '0123456789ab', 'a'.repeat(64)]);
        const [method, p] = pick([
          ['POST', `/containers/${name}/wait`],
          ['POST', `/containers/${name}/attach?stream=1&stdout=1`],
          ['GET', `/containers/${name}/logs?stdout=1&follow=1`],
          ['POST', `/containers/${name}/start`],
          ['POST', `/containers/${name}/kill`],
          ['DELETE', `/containers/${name}`],
          ['GET', `/containers/${name}/json`],
          ['POST', `/exec/${name}/start`],
          ['DELETE', `/networks/${name}`],
          ['POST', `/networks/${name}/connect`],
        ] as const);
        return { kind: 'missing', method, path: p, body: { Container: 'fz' } };
      },
    ],
    [
      'path-injection',
      4,
      () => {
        // biome-ignore lint/suspicious/noControlCharactersInRegex: picking the values with control characters
        const v = encodeURIComponent(pick(INJECT.filter((s) => /[\u0000-\u001f]/.test(s))));
        return {
          kind: 'path-injection',
          method: pick(['GET', 'DELETE', 'POST']),
          path: pick([
            `/containers/${v}/json`,
            `/networks/${v}`,
            `/containers/${v}`,
            `/networks/${v}/connect`,
            `/images/${v}/json`,
          ]),
          body: { Container: 'fz' },
        };
      },
    ],
    [
      'connect',
      4,
      () =>
        r() < 0.5
          ? {
              kind: 'connect',
              method: 'POST',
              path: '/networks/fuzznet/connect',
              body: pick([
                {},
                { Container: 5 },
                { Container: 'fz\n' },
                { Container: ['fz'] },
                { Container: 'fz', EndpointConfig: 'x' },
                { Container: 'fz', EndpointConfig: { Aliases: ['a b'] } },
                { Container: 'fz', EndpointConfig: { IPAMConfig: { IPv4Address: 'x' } } },
                { Container: 'fz', EndpointConfig: { MacAddress: 'x' } },
              ]),
            }
          : {
              kind: 'connect',
              method: 'POST',
              path: '/networks/fuzznet/disconnect',
              body: pick([{}, { Container: 5 }, { Container: 'fz\n' }, { Container: ['fz'] }, { Container: 'fz', Force: 'yes' }]),
            },
    ],
    [
      'exec',
      3,
      () => ({
        kind: 'exec',
        method: 'POST',
        path: '/containers/fz/exec',
        body: pick([{ Cmd: 5 }, { Cmd: [1] }, { Env: ['=x'] }, { Tty: 'x' }, { Cmd: ['sh'], User: 5 }, { Cmd: ['a\u0000'] }]),
      }),
    ],
  ];
  const total = kinds.reduce((n, k) => n + k[1], 0);
  return () => {
    let x = r() * total;
    for (const [, weight, make] of kinds) {
      if (x < weight) return make();
      x -= weight;
    }
    return kinds[0]![2]();
  };
}

/** The kernel and the store, as text: equal before and after a batch. */
async function snapshot(w: World): Promise<string> {
  const links = (await w.inHost(['ip', '-o', 'link', 'show'])).stdout
    .split('\n')
    .map((l) =>
      l
        .replace(/^\d+: /, '')
        .split(/[:@]/)[0]!
        .trim(),
    )
    .filter(Boolean)
    .sort();
  const addrs = (await w.inHost(['ip', '-o', 'addr', 'show'])).stdout
    .split('\n')
    .map((l) => l.replace(/\s+valid_lft.*$/, '').replace(/ (tentative|dadfailed|optimistic)/g, '')); // DAD settles on its own
  const rules = (await w.inHost(['iptables-save'])).stdout
    .split('\n')
    .filter((l) => !l.startsWith('#'))
    .map((l) => l.replace(/\[\d+:\d+\]/, '[]'));
  // the nftables backend's tables, when the world runs it (counters left out)
  const nft = fs.existsSync('/usr/sbin/nft')
    ? (await w.inHost(['/usr/sbin/nft', 'list', 'ruleset'])).stdout.replace(/counter packets \d+ bytes \d+/g, '')
    : '';
  const mounts = fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((m) => m.startsWith(w.dir))
    .sort();
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else files.push(`${path.relative(w.dir, p)} ${e.isFile() ? fs.statSync(p).size : ''}`);
    }
  };
  for (const d of [
    path.join(w.root, 'state'),
    path.join(w.root, 'ipam'),
    path.join(w.root, 'image', 'images'),
    path.join(w.root, 'containers'),
  ]) {
    if (fs.existsSync(d)) walk(d);
  }
  walk(path.join(w.execRoot));
  // the daemon's prepared namespaces (--netns-pool) are refilled in the background, whatever the requests
  const pooled = (p: string) => path.basename(p.split(' ')[0]!).startsWith(POOL_PREFIX);
  return JSON.stringify(
    {
      links,
      addrs,
      rules,
      nft: nft.split('\n'),
      mounts: mounts.filter((m) => !pooled(m)),
      files: files.filter((f) => !f.endsWith('.log') && !pooled(f)).sort(),
    },
    null,
    1,
  );
}

test.serial(
  '1 200 seeded malformed requests: no 5xx, nothing accepted, daemon alive, kernel and store unchanged after every batch',
  async (t) => {
    const { w } = t.context;
    t.timeout(600_000);
    const seed = Number(process.env.TSNET_FUZZ_SEED ?? 20261206);
    t.is((await api(w.socket, { method: 'POST', path: '/networks/create', body: { Name: 'fuzznet' } })).status, 201);
    t.is(
      (
        await api(w.socket, {
          method: 'POST',
          path: '/containers/create?name=fz',
          body: { Image: 'busybox', Cmd: ['sleep', '1'] },
        })
      ).status,
      201,
    );
    const next = generator(seed);
    const byStatus = new Map<number, number>();
    const byKind = new Map<string, number>();
    const bad: string[] = [];
    const TOTAL = 1200;
    const BATCH = 100;
    let before = await snapshot(w);
    let changedBatches = 0;
    for (let i = 0; i < TOTAL; i++) {
      const f = next();
      byKind.set(f.kind, (byKind.get(f.kind) ?? 0) + 1);
      let status: number;
      try {
        status = f.wire
          ? (await rawApi(w.socket, f.wire, 15_000)).status
          : (
              await api(w.socket, {
                method: f.method,
                path: f.path,
                ...(f.raw !== undefined ? { raw: f.raw } : f.body !== undefined ? { body: f.body } : {}),
                timeoutMs: 15_000,
              })
            ).status;
      } catch (err) {
        status = 0;
        bad.push(`#${i} ${f.kind} ${f.method} ${f.path.slice(0, 80)}: ${(err as Error).message.slice(0, 120)}`);
      }
      byStatus.set(status, (byStatus.get(status) ?? 0) + 1);
      const mutating = f.method !== 'GET' && f.method !== 'HEAD';
      if (status === 0 || status >= 500 || (mutating && status < 300)) {
        bad.push(
          `#${i} ${f.kind} ${f.method} ${f.path.slice(0, 80)} ${JSON.stringify(f.body ?? f.raw ?? '').slice(0, 160)} → ${status}`,
        );
      }
      if ((i + 1) % BATCH === 0) {
        t.is((await api(w.socket, { path: '/_ping' })).status, 200, `daemon alive after ${i + 1} requests`);
        const after = await snapshot(w);
        if (after !== before) {
          changedBatches++;
          const a = new Set(before.split('\n'));
          const b = new Set(after.split('\n'));
          const gone = [...a].filter((l) => !b.has(l));
          const added = [...b].filter((l) => !a.has(l));
          t.log(
            `kernel or store changed in batch ending at #${i}: -${JSON.stringify(gone).slice(0, 400)} +${JSON.stringify(added).slice(0, 400)}`,
          );
          before = after;
        }
      }
    }
    const counts = [...byStatus].sort((a, b) => a[0] - b[0]).map(([s, n]) => `${s}: ${n}`);
    t.log(`seed ${seed}: ${TOTAL} requests; by status { ${counts.join(', ')} }`);
    t.log(`by kind { ${[...byKind].map(([k, n]) => `${k}: ${n}`).join(', ')} }`);
    t.log(
      `5xx answers: ${[...byStatus].filter(([s]) => s >= 500).reduce((n, [, c]) => n + c, 0)}; batches that changed kernel or store: ${changedBatches}`,
    );
    t.deepEqual(bad, [], 'every malformed request is refused below 500');
    t.is(changedBatches, 0);
    t.true(byStatus.size > 0 && TOTAL >= 1000);
  },
);
