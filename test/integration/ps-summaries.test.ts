/**
 * GET /containers/json keeps each container's serialized entry between listings
 * (src/runtime/container/summaries.ts). Every listing here comes right after a change and must
 * show it as inspect (never kept) does: the name after a rename, State after start and stop, the
 * networks and addresses after connect and disconnect, the published port while it runs.
 */
import { api } from '../helpers/api.js';
import { worldTest } from '../helpers/world-test.js';
import type { World } from '../helpers/world.js';
import type { ExecutionContext } from 'ava';

const test = worldTest();

interface Summary {
  Id: string;
  Names: string[];
  State: string;
  Ports: Array<{ PrivatePort: number; PublicPort?: number; Type: string }>;
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
  t.deepEqual(
    s.Ports.flatMap((p) => (p.PublicPort ? [p.PublicPort] : [])).sort(),
    [...new Set(hostPorts)],
    `${step}: published ports`,
  );
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

  // connected while created: nothing of the container record changes, only the network layer's
  await w.ok(['network', 'connect', 'psb', id]);
  s = await sameAsInspect(t, w, id, 'connected');
  t.deepEqual(Object.keys(s.NetworkSettings.Networks).sort(), ['psa', 'psb']);

  await w.ok(['start', id]);
  s = await sameAsInspect(t, w, id, 'started');
  t.is(s.State, 'running');
  t.is(s.Ports.filter((p) => p.PublicPort).length, 1, 'the published port shows while it runs');

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
