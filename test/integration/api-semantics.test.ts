/**
 * The API as an attacker and as Docker's SDKs meet it: Docker's error semantics (404, 405,
 * swarm 503, version prefixes), hostile input refused with one 400 line before anything is
 * made (control characters that would reach /etc files, sizes, depth, escapes, types), and
 * network driver options that could take over a host bridge.
 */
import anyTest, { type TestFn } from 'ava';
import { api, rawApi, type ApiReply } from '../helpers/api.js';
import { createWorld, type World } from '../helpers/world.js';

const test = anyTest as TestFn<{ w: World }>;

test.before(async (t) => {
  t.context.w = await createWorld();
});
test.after.always(async (t) => {
  await t.context.w?.teardown();
});

const msg = (r: ApiReply): string => (r.json as { message?: string } | undefined)?.message ?? r.text;

/** One line, no raw control characters: what the CLI prints as-is. */
function oneLine(t: { true: (v: boolean, m?: string) => void }, r: ApiReply): void {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the assertion is about control characters
  t.true(!/[\x00-\x1f]/.test(msg(r)), `message is one clean line: ${JSON.stringify(msg(r))}`);
}

async function containerCount(w: World): Promise<number> {
  const r = await api(w.socket, { path: '/containers/json?all=1' });
  return (r.json as unknown[]).length;
}

// ---- Docker's error semantics (issue 11.1) ------------------------------------------------------

test.serial('unknown routes answer 404 {"message":"page not found"}, with or without a version prefix', async (t) => {
  const { w } = t.context;
  for (const path of ['/nope', '/v1.41/nope', '/v1.44/containers/x/nope', '/']) {
    const r = await api(w.socket, { path });
    t.is(r.status, 404, path);
    t.deepEqual(r.json, { message: 'page not found' }, path);
  }
});

test.serial('a known path with another method answers 405, also for methods the HTTP parser does not know', async (t) => {
  const { w } = t.context;
  const put = await api(w.socket, { method: 'PUT', path: '/containers/json' });
  t.is(put.status, 405);
  oneLine(t, put);
  const patch = await api(w.socket, { method: 'PATCH', path: '/v1.44/networks/create' });
  t.is(patch.status, 405);
  // Methods llhttp refuses before any handler runs: the connection used to be dropped unanswered.
  for (const m of ['FOO', 'BREW', 'GETT']) {
    const r = await rawApi(w.socket, `${m} /containers/json HTTP/1.1\r\nHost: x\r\n\r\n`);
    t.is(r.status, 405, `${m} on a known path`);
    const unknown = await rawApi(w.socket, `${m} /nothing/here HTTP/1.1\r\nHost: x\r\n\r\n`);
    t.is(unknown.status, 404, `${m} on an unknown path`);
  }
  const connect = await rawApi(w.socket, 'CONNECT /_ping HTTP/1.1\r\nHost: x\r\n\r\n');
  t.is(connect.status, 405);
  t.is((await api(w.socket, { path: '/_ping' })).status, 200, 'the daemon still answers');
});

test.serial('swarm endpoints answer 503 with the words of Docker on a node outside a swarm', async (t) => {
  const { w } = t.context;
  const leave = await api(w.socket, { method: 'POST', path: '/v1.44/swarm/leave?force=True' });
  t.is(leave.status, 503);
  t.is(msg(leave), 'This node is not part of a swarm');
  for (const [method, path] of [
    ['GET', '/swarm'],
    ['GET', '/swarm/unlockkey'],
    ['GET', '/v1.41/services'],
    ['POST', '/services/create'],
    ['GET', '/nodes'],
    ['GET', '/tasks'],
    ['GET', '/secrets'],
    ['DELETE', '/configs/abc'],
  ] as const) {
    const r = await api(w.socket, { method, path });
    t.is(r.status, 503, `${method} ${path}`);
    t.regex(msg(r), /^This node is not a swarm manager\. Use "docker swarm init" or "docker swarm join"/);
  }
});

test.serial('API versions: /version says 1.45 (min 1.24); prefixes inside the range work, others are 400', async (t) => {
  const { w } = t.context;
  const v = await api(w.socket, { path: '/version' });
  t.is(v.status, 200);
  const j = v.json as { ApiVersion: string; MinAPIVersion: string };
  t.is(j.ApiVersion, '1.45');
  t.is(j.MinAPIVersion, '1.24');
  t.is(v.headers['api-version'], '1.45');
  for (const p of ['/v1.24/_ping', '/v1.41/_ping', '/v1.44/version', '/v1.45/containers/json']) {
    t.is((await api(w.socket, { path: p })).status, 200, p);
  }
  const old = await api(w.socket, { path: '/v1.12/_ping' });
  t.is(old.status, 400);
  t.is(
    msg(old),
    'client version 1.12 is too old. Minimum supported API version is 1.24, please upgrade your client to a newer version',
  );
  const fresh = await api(w.socket, { path: '/v1.99/containers/json' });
  t.is(fresh.status, 400);
  t.is(msg(fresh), 'client version 1.99 is too new. Maximum supported API version is 1.45');
});

test.serial('API < 1.44 refuses several networks at create, as Docker; 1.44 takes them', async (t) => {
  const { w } = t.context;
  for (const n of ['va', 'vb']) {
    t.is((await api(w.socket, { method: 'POST', path: '/networks/create', body: { Name: n } })).status, 201);
  }
  const body = {
    Image: 'busybox',
    Cmd: ['true'],
    HostConfig: { NetworkMode: 'va' },
    NetworkingConfig: { EndpointsConfig: { va: {}, vb: {} } },
  };
  const before = await containerCount(w);
  const old = await api(w.socket, { method: 'POST', path: '/v1.41/containers/create', body });
  t.is(old.status, 400);
  t.regex(msg(old), /^Container cannot be created with multiple network endpoints: va, vb/);
  t.is(await containerCount(w), before);
  const now = await api(w.socket, { method: 'POST', path: '/v1.44/containers/create?name=two-nets', body });
  t.is(now.status, 201, msg(now));
  t.is((await api(w.socket, { method: 'DELETE', path: '/containers/two-nets?force=1' })).status, 204);
  for (const n of ['va', 'vb']) t.is((await api(w.socket, { method: 'DELETE', path: `/networks/${n}` })).status, 204);
});

// ---- hostile input (issue 10.5) -------------------------------------------------------------------

test.serial(
  'a Hostname, Domainname, Dns, DnsSearch, DnsOptions or ExtraHosts with a newline is refused before anything is made',
  async (t) => {
    const { w } = t.context;
    const before = await containerCount(w);
    const cases: Array<[string, Record<string, unknown>]> = [
      ['Hostname', { Hostname: 'web\n6.6.6.6 evil' }],
      ['Domainname', { Domainname: 'x\ny' }],
      ['HostConfig.Dns[0]', { HostConfig: { Dns: ['1.1.1.1\nnameserver 6.6.6.6'] } }],
      ['HostConfig.DnsSearch[0]', { HostConfig: { DnsSearch: ['corp\nnameserver 6.6.6.6'] } }],
      ['HostConfig.DnsOptions[0]', { HostConfig: { DnsOptions: ['ndots:1\nnameserver 6.6.6.6'] } }],
      ['HostConfig.ExtraHosts[0]', { HostConfig: { ExtraHosts: ['a:1.2.3.4\n6.6.6.6 b'] } }],
      [
        'NetworkingConfig.EndpointsConfig.bridge.Aliases[0]',
        { NetworkingConfig: { EndpointsConfig: { bridge: { Aliases: ['a\nb'] } } } },
      ],
    ];
    for (const [field, extra] of cases) {
      const r = await api(w.socket, {
        method: 'POST',
        path: '/containers/create',
        body: { Image: 'busybox', Cmd: ['true'], ...extra },
      });
      t.is(r.status, 400, field);
      t.true(msg(r).startsWith(`invalid ${field}:`), `${field}: ${msg(r)}`);
      oneLine(t, r);
    }
    t.is(await containerCount(w), before, 'nothing was created');
  },
);

test.serial(
  'wrong JSON types in Config, HostConfig and NetworkingConfig are 400, not 500 or a container that cannot start',
  async (t) => {
    const { w } = t.context;
    const before = await containerCount(w);
    const cases: Array<Record<string, unknown>> = [
      { Env: [1] },
      { Env: 'A=b' },
      { Cmd: 5 },
      { Cmd: [null] },
      { Entrypoint: { a: 1 } },
      { Labels: ['a'] },
      { Labels: { a: 1 } },
      { ExposedPorts: { '80/tcp': 1 } },
      { Tty: 'yes' },
      { HostConfig: { Binds: '/x:/y' } },
      { HostConfig: { Binds: [['/x:/y']] } },
      { HostConfig: { PortBindings: { '80/tcp': [{ HostPort: 8080 }] } } },
      { HostConfig: { PortBindings: { '80/tcp': 'x' } } },
      { HostConfig: { PortBindings: { 'eighty/tcp': [] } } },
      { HostConfig: { Memory: '1g' } },
      { HostConfig: { Memory: 1.5 } },
      { HostConfig: { CapAdd: 'NET_ADMIN' } },
      { HostConfig: 'x' },
      { NetworkingConfig: { EndpointsConfig: { bridge: { IPAMConfig: { IPv4Address: 7 } } } } },
      { NetworkingConfig: { EndpointsConfig: [] } },
      { NetworkingConfig: { EndpointsConfig: { bridge: { Aliases: 'x' } } } },
    ];
    for (const c of cases) {
      const r = await api(w.socket, {
        method: 'POST',
        path: '/containers/create',
        body: { Image: 'busybox', Cmd: ['true'], ...c },
      });
      t.is(r.status, 400, JSON.stringify(c));
      oneLine(t, r);
    }
    const notObject = await api(w.socket, { method: 'POST', path: '/containers/create', raw: '[1,2]' });
    t.is(notObject.status, 400);
    const badJson = await api(w.socket, { method: 'POST', path: '/containers/create', raw: '{"Image":' });
    t.is(badJson.status, 400);
    t.is(await containerCount(w), before);
  },
);

test.serial('what the schema accepts runs: a string Cmd, null fields and a multi-line Env value start and exit 0', async (t) => {
  const { w } = t.context;
  const body = {
    Image: 'busybox',
    Cmd: 'true',
    Entrypoint: null,
    Env: ['MULTI=line one\nline two', 'EMPTY='],
    Labels: null,
    Hostname: 'ok-host',
    MacAddress: null,
    HostConfig: {
      Binds: null,
      Dns: ['192.0.2.53'],
      DnsSearch: ['example.test'],
      DnsOptions: ['ndots:2'],
      ExtraHosts: null,
      PortBindings: {},
      Memory: 0,
      PidsLimit: null,
      RestartPolicy: { Name: 'no', MaximumRetryCount: 0 },
      CapAdd: null,
      LogConfig: { Type: '', Config: {} },
    },
    NetworkingConfig: { EndpointsConfig: { bridge: { IPAMConfig: null, Links: null, Aliases: null, MacAddress: '' } } },
  };
  const r = await api(w.socket, { method: 'POST', path: '/containers/create?name=runs', body });
  t.is(r.status, 201, msg(r));
  t.is((await api(w.socket, { method: 'POST', path: '/containers/runs/start' })).status, 204);
  const waited = await api(w.socket, { method: 'POST', path: '/containers/runs/wait' });
  t.is(waited.status, 200);
  t.is((waited.json as { StatusCode: number }).StatusCode, 0);
  await api(w.socket, { method: 'DELETE', path: '/containers/runs?force=1' });
});

test.serial('wait, attach and logs on a missing container answer 404 at once', async (t) => {
  const { w } = t.context;
  for (const [method, path] of [
    ['POST', '/containers/doesnotexist/wait'],
    ['POST', '/containers/doesnotexist/wait?condition=next-exit'],
    ['POST', '/containers/doesnotexist/attach?stream=1&stdout=1'],
    ['GET', '/containers/doesnotexist/logs?stdout=1'],
  ] as const) {
    const r = await api(w.socket, { method, path, timeoutMs: 5000 });
    t.is(r.status, 404, path);
    t.is(msg(r), 'No such container: doesnotexist');
  }
});

test.serial('bad % escapes in the path or the query are 400', async (t) => {
  const { w } = t.context;
  for (const p of ['/containers/%zz/json', '/networks/%E0%A4%A', '/containers/json?filters=%7B%zz', '/images/%/json']) {
    const r = await rawApi(w.socket, `GET ${p} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    t.is(r.status, 400, p);
  }
});

test.serial('filters=null is no filter, as Docker; malformed filters and unknown filter keys are 400', async (t) => {
  const { w } = t.context;
  for (const p of ['/containers/json?filters=null', '/networks?filters=null', '/containers/json?filters=']) {
    t.is((await api(w.socket, { path: p })).status, 200, p);
  }
  for (const p of [
    '/containers/json?filters=%5B1%5D',
    '/networks?filters=%7B%22name%22%3A5%7D',
    '/containers/json?filters=%7Bx',
    '/networks?filters=%7B%22bogus%22%3A%5B%22a%22%5D%7D',
  ]) {
    const r = await api(w.socket, { path: p });
    t.is(r.status, 400, p);
    oneLine(t, r);
  }
});

test.serial('size limits: a 10 MB network name, a 10 MB body, 10 000-deep JSON, a 2 000-char label key are 400', async (t) => {
  const { w } = t.context;
  const nets = (await api(w.socket, { path: '/networks' })).json as unknown[];
  const huge = 'n'.repeat(10 * 1024 * 1024);
  const bigName = await api(w.socket, { method: 'POST', path: '/networks/create', body: { Name: huge } });
  t.is(bigName.status, 400);
  t.true(msg(bigName).length < 400, 'the answer does not echo the name');
  const longName = await api(w.socket, { method: 'POST', path: '/networks/create', body: { Name: 'n'.repeat(256) } });
  t.is(longName.status, 400);
  const deep = `${'['.repeat(10_000)}${']'.repeat(10_000)}`;
  const r1 = await api(w.socket, { method: 'POST', path: '/containers/create', raw: deep });
  t.is(r1.status, 400);
  t.regex(msg(r1), /nested too deep/);
  const deepObj = `{"Image":"busybox","Labels":${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}}`;
  t.is((await api(w.socket, { method: 'POST', path: '/containers/create', raw: deepObj })).status, 400);
  const label = await api(w.socket, {
    method: 'POST',
    path: '/networks/create',
    body: { Name: 'labels', Labels: { ['k'.repeat(2000)]: 'v' } },
  });
  t.is(label.status, 400);
  const name = await api(w.socket, {
    method: 'POST',
    path: `/containers/create?name=${'c'.repeat(300)}`,
    body: { Image: 'busybox' },
  });
  t.is(name.status, 400);
  t.deepEqual(((await api(w.socket, { path: '/networks' })).json as unknown[]).length, nets.length);
});

test.serial('a network name as Docker takes it: "test 01" is created; a name with a newline is refused', async (t) => {
  const { w } = t.context;
  const ok = await api(w.socket, { method: 'POST', path: '/networks/create', body: { Name: 'test 01' } });
  t.is(ok.status, 201, msg(ok));
  const got = await api(w.socket, { path: '/networks/test%2001' });
  t.is(got.status, 200);
  t.is((got.json as { Name: string }).Name, 'test 01');
  t.is((await api(w.socket, { method: 'DELETE', path: '/networks/test%2001' })).status, 204);
  const bad = await api(w.socket, { method: 'POST', path: '/networks/create', body: { Name: 'a\nb' } });
  t.is(bad.status, 400);
  const blank = await api(w.socket, { method: 'POST', path: '/networks/create', body: { Name: '   ' } });
  t.is(blank.status, 400);
});

// ---- network driver options (issue 10.4) ------------------------------------------------------------

test.serial('bridge takeover: default_bridge cannot be set through the API, and an existing link is never adopted', async (t) => {
  const { w } = t.context;
  const made = await w.inHost(['ip', 'link', 'add', 'victim0', 'type', 'bridge']);
  t.is(made.exitCode, 0, made.stderr);
  await w.inHost(['ip', 'addr', 'add', '198.51.100.1/24', 'dev', 'victim0']);
  const links = async () => (await w.inHost(['ip', '-o', 'addr', 'show', 'dev', 'victim0'])).stdout;
  const before = await links();
  const takeover = await api(w.socket, {
    method: 'POST',
    path: '/networks/create',
    body: {
      Name: 'takeover',
      Options: { 'com.docker.network.bridge.default_bridge': 'true', 'com.docker.network.bridge.name': 'victim0' },
    },
  });
  t.is(takeover.status, 400);
  t.regex(msg(takeover), /com\.docker\.network\.bridge\.default_bridge cannot be set/);
  const named = await api(w.socket, {
    method: 'POST',
    path: '/networks/create',
    body: { Name: 'takeover', Options: { 'com.docker.network.bridge.name': 'victim0' } },
  });
  t.true(named.status >= 400 && named.status < 500, `status ${named.status}: ${msg(named)}`);
  t.is((await api(w.socket, { path: '/networks/takeover' })).status, 404);
  t.is(await links(), before, 'the bridge keeps its addresses and no tsnet address was added');
  t.is((await w.inHost(['ip', 'link', 'show', 'victim0'])).exitCode, 0, 'the bridge is still there');
  await w.inHost(['ip', 'link', 'del', 'victim0']);
});

test.serial('host_binding_ipv4 and the other bridge options are validated before anything is made', async (t) => {
  const { w } = t.context;
  const linksBefore = (await w.inHost(['ip', '-o', 'link'])).stdout.split('\n').length;
  for (const [k, v] of [
    ['com.docker.network.bridge.host_binding_ipv4', 'garbage:with:colons'],
    ['com.docker.network.bridge.host_binding_ipv4', '1.2.3.4; iptables -F'],
    ['com.docker.network.bridge.host_binding_ipv4', '999.1.1.1'],
    ['com.docker.network.host_ipv4', 'x'],
    ['com.docker.network.bridge.enable_icc', 'maybe'],
    ['com.docker.network.bridge.inhibit_ipv4', 'sure'],
    ['com.docker.network.driver.mtu', '1500abc'],
    ['com.docker.network.bridge.name', 'br; rm -rf /'],
    ['com.docker.network.bridge.unknown_option', '1'],
    ['com.docker.network.bridge.name', 'x\ny'],
  ] as const) {
    const r = await api(w.socket, { method: 'POST', path: '/networks/create', body: { Name: 'opts', Options: { [k]: v } } });
    t.is(r.status, 400, `${k}=${v}: ${msg(r)}`);
    oneLine(t, r);
  }
  t.is((await api(w.socket, { path: '/networks/opts' })).status, 404);
  t.is((await w.inHost(['ip', '-o', 'link'])).stdout.split('\n').length, linksBefore, 'no link was made');
  const ok = await api(w.socket, {
    method: 'POST',
    path: '/networks/create',
    body: { Name: 'opts', Options: { 'com.docker.network.bridge.host_binding_ipv4': '127.0.0.1' } },
  });
  t.is(ok.status, 201, msg(ok));
  t.is((await api(w.socket, { method: 'DELETE', path: '/networks/opts' })).status, 204);
});

test('network shapes as Docker: IPAM.Options is null unless given; a second forced disconnect is a 404, of no such network too', async (t) => {
  const { w } = t.context;
  const plain = await api(w.socket, { method: 'POST', path: '/networks/create', body: { Name: 'shape-a' } });
  t.is(plain.status, 201, plain.text);
  const a = await api(w.socket, { path: '/networks/shape-a' });
  t.is((a.json as { IPAM: { Options: unknown } }).IPAM.Options, null);
  const opts = await api(w.socket, {
    method: 'POST',
    path: '/networks/create',
    body: { Name: 'shape-b', IPAM: { Driver: 'default', Options: { foo: 'bar' } } },
  });
  t.is(opts.status, 201, opts.text);
  const b = await api(w.socket, { path: '/networks/shape-b' });
  t.deepEqual((b.json as { IPAM: { Options: unknown } }).IPAM.Options, { foo: 'bar' });

  await w.ok(['create', '--name', 'shape-c', '--network', 'shape-a', 'busybox', 'true']);
  // dangling: no container uses it and it is not bridge, host or none (it was accepted and ignored)
  const dangling = async (v: string) => {
    const r = await api(w.socket, { path: `/networks?filters=${encodeURIComponent(JSON.stringify({ dangling: [v] }))}` });
    return r.status === 200
      ? (r.json as Array<{ Name: string }>)
          .map((n) => n.Name)
          .filter((n) => /^shape-|^bridge$/.test(n))
          .sort()
      : r.status;
  };
  t.deepEqual(await dangling('true'), ['shape-b']);
  t.deepEqual(await dangling('false'), ['bridge', 'shape-a']);
  t.is(await dangling('maybe'), 400);
  const off = { Container: 'shape-c', Force: true };
  const first = await api(w.socket, { method: 'POST', path: '/networks/shape-a/disconnect', body: off });
  t.is(first.status, 200, first.text);
  const second = await api(w.socket, { method: 'POST', path: '/networks/shape-a/disconnect', body: off });
  t.is(second.status, 404, second.text);
  t.regex(msg(second), /container shape-c is not connected to network shape-a/);
  // a network that does not exist is said so, as dockerd (not "not connected")
  const none = await api(w.socket, { method: 'POST', path: '/networks/shape-nosuch/disconnect', body: off });
  t.is(none.status, 404, none.text);
  t.regex(msg(none), /^network shape-nosuch not found$/);
  await w.ok(['rm', 'shape-c']);
  await w.ok(['network', 'rm', 'shape-a', 'shape-b']);
});
