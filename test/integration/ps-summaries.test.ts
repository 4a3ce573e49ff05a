/**
 * GET /containers/json keeps each container's serialized entry between listings
 * (src/runtime/container/summaries.ts). Every listing here comes right after a change and must
 * show it as inspect (never kept) does: the name after a rename, State after start and stop, the
 * networks and addresses after connect and disconnect, the published port while it runs.
 */
import { api } from '../helpers/api.js';
import { worldTest } from '../helpers/world-test.js';
import { eventually, type World } from '../helpers/world.js';
import type { ExecutionContext } from 'ava';

const test = worldTest();

interface Summary {
  Id: string;
  Names: string[];
  State: string;
  Ports: Array<{ IP?: string; PrivatePort: number; PublicPort?: number; Type: string }>;
  NetworkSettings: { Networks: Record<string, { IPAddress: string; EndpointID: string }> };
}

interface Inspect {
  Name: string;
  State: { Status: string };
  NetworkSettings: {
    Networks: Record<string, { IPAddress: string; EndpointID: string }>;
    Ports: Record<string, Array<{ HostPort: string }> | null>;
  };
}

async function listed(w: World, id: string): Promise<Summary> {
  const r = await api(w.socket, { path: '/containers/json?all=1' });
  if (r.status !== 200) throw new Error(`GET /containers/json: ${r.status} ${r.text}`);
  const s = (r.json as Summary[]).find((x) => x.Id === id);
  if (!s) throw new Error(`container ${id} is not listed`);
  return s;
}

/** The listing's entry says what inspect says (name, state, networks with their addresses, host ports). */
async function sameAsInspect(t: ExecutionContext, w: World, id: string, step: string): Promise<Summary> {
  const s = await listed(w, id);
  const r = await api(w.socket, { path: `/containers/${id}/json` });
  const i = r.json as Inspect;
  t.deepEqual(s.Names, [i.Name], `${step}: name`);
  t.is(s.State, i.State.Status, `${step}: state`);
  const nets = (n: Record<string, { IPAddress: string; EndpointID: string }>) =>
    Object.fromEntries(
      Object.entries(n)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, v]) => [k, `${v.IPAddress} ${v.EndpointID}`]),
    );
  t.deepEqual(nets(s.NetworkSettings.Networks), nets(i.NetworkSettings.Networks), `${step}: networks`);
  const hostPorts = Object.values(i.NetworkSettings.Ports ?? {})
    .flatMap((b) => b ?? [])
    .map((b) => Number(b.HostPort))
    .sort();
  t.deepEqual(s.Ports.flatMap((p) => (p.PublicPort ? [p.PublicPort] : [])).sort(), hostPorts, `${step}: published ports`);
  return s;
}

test.serial('ps -a entries follow rename, start, connect, disconnect and stop of a container listed before', async (t) => {
  const { w } = t.context;
  await w.ok(['network', 'create', 'psa']);
  await w.ok(['network', 'create', 'psb']);
  const id = await w.ok(['create', '--name', 'ps1', '--network', 'psa', '-p', '8080', 'busybox', 'sleep', '1000']);
  t.teardown(() => w.cli(['rm', '-f', id]));
  let s = await sameAsInspect(t, w, id, 'created');
  t.is(s.State, 'created');
  t.deepEqual(Object.keys(s.NetworkSettings.Networks), ['psa']);

  const renamed = await api(w.socket, { method: 'POST', path: `/containers/${id}/rename?name=ps2` });
  t.is(renamed.status, 204, renamed.text);
  s = await sameAsInspect(t, w, id, 'renamed');
  t.deepEqual(s.Names, ['/ps2']);
  // to its own name: refused, as dockerd ("Renaming a container with the same name…")
  const same = await api(w.socket, { method: 'POST', path: `/containers/${id}/rename?name=ps2` });
  t.is(same.status, 400, same.text);

  // connected while created: nothing of the container record changes, only the network layer's
  await w.ok(['network', 'connect', 'psb', id]);
  s = await sameAsInspect(t, w, id, 'connected');
  t.deepEqual(Object.keys(s.NetworkSettings.Networks).sort(), ['psa', 'psb']);

  await w.ok(['start', id]);
  s = await sameAsInspect(t, w, id, 'started');
  t.is(s.State, 'running');
  // on 0.0.0.0 and [::], as dockerd lists them
  t.deepEqual(
    s.Ports.filter((p) => p.PublicPort).map((p) => p.IP),
    ['0.0.0.0', '::'],
    'the published port shows while it runs',
  );

  await w.ok(['network', 'disconnect', 'psb', id]);
  s = await sameAsInspect(t, w, id, 'disconnected');
  t.deepEqual(Object.keys(s.NetworkSettings.Networks), ['psa']);

  await w.ok(['stop', '-t', '0', id]);
  s = await sameAsInspect(t, w, id, 'stopped');
  t.is(s.State, 'exited');
  t.deepEqual(
    s.Ports.filter((p) => p.PublicPort),
    [],
  );
});

test.serial('ps -a shows a removed container no more and a new one at once', async (t) => {
  const { w } = t.context;
  const a = await w.ok(['create', '--network', 'none', 'busybox', 'true']);
  t.teardown(() => w.cli(['rm', '-f', a]));
  await listed(w, a);
  await w.ok(['rm', a]);
  const b = await w.ok(['create', '--network', 'none', 'busybox', 'true']);
  t.teardown(() => w.cli(['rm', '-f', b]));
  const ids = ((await api(w.socket, { path: '/containers/json?all=1' })).json as Summary[]).map((x) => x.Id);
  t.false(ids.includes(a));
  t.true(ids.includes(b));
});

/** The names `GET /containers/json` lists with these filters (and query), newest first. */
async function names(w: World, f: Record<string, string[]>, query = 'all=1'): Promise<string[] | string> {
  const r = await api(w.socket, { path: `/containers/json?${query}&filters=${encodeURIComponent(JSON.stringify(f))}` });
  if (r.status !== 200) return `${r.status} ${(r.json as { message?: string } | undefined)?.message ?? r.text}`;
  return (r.json as Summary[]).map((s) => s.Names[0]!.slice(1)).filter((n) => n.startsWith('pf'));
}

test.serial(
  'ps filters as dockerd: exited, before/since, ancestor, publish, expose, network none, name regexp, bad values 400',
  async (t) => {
    const { w } = t.context;
    const made: string[] = [];
    t.teardown(async () => {
      await w.cli(['rm', '-f', ...made]);
      await w.cli(['rmi', 'pfchild:1']);
    });
    const run = async (args: string[]) => {
      made.push(args[args.indexOf('--name') + 1]!);
      return w.cli(args);
    };
    await run(['run', '-d', '--name', 'pfa', '--label', 'k=v', '--network', 'none', 'busybox', 'sleep', '1000']);
    t.is((await run(['run', '--name', 'pfb', '--network', 'none', 'busybox', 'sh', '-c', 'exit 3'])).exitCode, 3);
    await run(['create', '--name', 'pfc', '--network', 'none', 'busybox', 'true']);
    await w.ok(['commit', '--change', 'EXPOSE 8080', 'pfa', 'pfchild:1']);
    await run(['run', '-d', '--name', 'pfd', '--network', 'bridge', '-p', '18601:80', 'pfchild:1', 'sleep', '1000']);

    t.deepEqual(await names(w, { exited: ['3'] }), ['pfb']);
    t.deepEqual(await names(w, { exited: ['0'] }), [], 'a created container never exited');
    t.deepEqual(await names(w, { before: ['pfc'] }), ['pfb', 'pfa']);
    t.deepEqual(await names(w, { since: ['pfa'] }), ['pfd', 'pfc', 'pfb']);
    t.deepEqual(await names(w, { since: ['pfa'], before: ['pfd'] }), ['pfc', 'pfb']);
    t.deepEqual(await names(w, { ancestor: ['pfchild:1'] }), ['pfd']);
    t.deepEqual(await names(w, { ancestor: ['busybox'] }), ['pfd', 'pfc', 'pfb', 'pfa']);
    t.deepEqual(await names(w, { ancestor: ['nosuchimage'] }), []);
    t.deepEqual(await names(w, { publish: ['18601'] }), ['pfd'], 'the host port (dockerd 20.10)');
    t.deepEqual(await names(w, { publish: ['80/tcp'] }), ['pfd'], 'the container port (later Docker)');
    t.deepEqual(await names(w, { publish: ['18601/udp'] }), []);
    t.deepEqual(await names(w, { expose: ['8000-8080'] }), ['pfd']);
    t.deepEqual(await names(w, { expose: ['80'] }), ['pfd'], 'a published port is exposed too');
    t.deepEqual(await names(w, { network: ['none'] }), ['pfc', 'pfb', 'pfa']);
    t.deepEqual(await names(w, { network: ['bridge'] }), ['pfd']);
    t.deepEqual(await names(w, { name: ['^/pf[ab]$'] }), ['pfb', 'pfa']);
    t.deepEqual(await names(w, { name: ['^pfc$|d$'] }), ['pfd', 'pfc']);
    t.deepEqual(await names(w, { 'is-task': ['true'] }), []);
    t.deepEqual(await names(w, { status: ['exited'] }, 'all=0'), ['pfb'], 'a status filter lists stopped ones');
    t.deepEqual(await names(w, { label: ['k=v'] }), ['pfd', 'pfa'], "pfd has its image's labels");

    t.regex(String(await names(w, { status: ['bogus'] })), /^400 Invalid filter 'status=bogus'$/);
    t.regex(String(await names(w, { exited: ['x'] })), /^400 /);
    t.regex(String(await names(w, { before: ['nosuchc'] })), /^404 No such container: nosuchc$/);
    t.regex(String(await names(w, { publish: ['1.2.3.4:80'] })), /^400 filter for 'publish' should not contain ':'/);
    t.regex(String(await names(w, { 'is-task': ['maybe'] })), /^400 /);
    t.regex(String(await names(w, { health: ['bogus'] })), /^400 /);
    t.regex(String(await names(w, { name: ['(a+)+$'] })), /^400 name filter/);
  },
);

test.serial('ps -s and inspect --size (size=1): SizeRw is the writable layer, SizeRootFs adds the image', async (t) => {
  const { w } = t.context;
  const id = await w.ok(['run', '-d', '--network', 'none', 'busybox', 'sh', '-c', 'head -c 100000 /dev/zero > /big; sleep 1000']);
  t.teardown(() => w.cli(['rm', '-f', id]));
  const sized = async () => {
    const r = await api(w.socket, { path: '/containers/json?size=1' });
    return (r.json as Array<{ Id: string; SizeRw?: number; SizeRootFs?: number }>).find((s) => s.Id === id);
  };
  const s = await eventually(async () => ((await sized())?.SizeRw ?? 0) >= 100_000 && sized());
  t.truthy(s, 'SizeRw counts /big');
  const image = (await api(w.socket, { path: '/images/busybox/json' })).json as { Size: number };
  t.is(s && s.SizeRootFs! - s.SizeRw!, image.Size);
  const plain = ((await api(w.socket, { path: '/containers/json' })).json as Array<{ Id: string; SizeRw?: number }>).find(
    (x) => x.Id === id,
  );
  t.is(plain?.SizeRw, undefined, 'sizes only when asked (they cost a walk of the layer)');
  // docker inspect --size: the same two numbers
  const inspected = (await api(w.socket, { path: `/containers/${id}/json?size=1` })).json as {
    SizeRw?: number;
    SizeRootFs?: number;
  };
  t.true((inspected.SizeRw ?? 0) >= 100_000, JSON.stringify(inspected.SizeRw));
  t.is(inspected.SizeRootFs! - inspected.SizeRw!, image.Size);
  t.is(((await api(w.socket, { path: `/containers/${id}/json` })).json as { SizeRw?: number }).SizeRw, undefined);
});
