/**
 * Healthchecks (issue 12): Config.Healthcheck from create and from the image, probes run as
 * execs by the daemon, State.Health with Docker's rules, health_status events, ps status.
 */
import test from 'ava';
import { api } from '../helpers/api.js';
import { importBusyboxWith } from '../helpers/image-config.js';
import { createWorld, eventually, type World } from '../helpers/world.js';

let w: World;
test.before(async () => {
  w = await createWorld();
  await importBusyboxWith(w, `hc-image-${w.id}:1`, {
    Healthcheck: { Test: ['CMD-SHELL', 'test -e /tmp/ready'], Interval: 200e6, Retries: 2 },
  });
});
test.after.always(async () => {
  await w?.teardown();
});

const MS = 1e6;

interface Health {
  Status: string;
  FailingStreak: number;
  Log: Array<{ Start: string; End: string; ExitCode: number; Output: string }>;
}
interface Inspect {
  Id: string;
  State: { Status: string; Health?: Health };
  Config: { Healthcheck?: { Test: string[]; Interval?: number; Retries?: number; Timeout?: number } };
}

async function run(body: Record<string, unknown>, name: string): Promise<string> {
  const r = await api(w.socket, {
    method: 'POST',
    path: `/containers/create?name=${name}`,
    body: { Image: 'busybox', Cmd: ['sleep', '1000'], ...body, HostConfig: { NetworkMode: 'none' } },
  });
  if (r.status !== 201) throw new Error(`create: ${r.status} ${r.text}`);
  const id = (r.json as { Id: string }).Id;
  const s = await api(w.socket, { method: 'POST', path: `/containers/${id}/start` });
  if (s.status !== 204) throw new Error(`start: ${s.status} ${s.text}`);
  return id;
}

const inspect = async (id: string) => (await api(w.socket, { path: `/containers/${id}/json` })).json as Inspect;
const health = async (id: string) => (await inspect(id)).State.Health;

test('CMD-SHELL: starting → healthy → unhealthy after Retries failures; Log keeps 5; events; ps shows it', async (t) => {
  const since = Math.floor(Date.now() / 1000);
  const id = await run(
    { Healthcheck: { Test: ['CMD-SHELL', 'echo probe-out; test -e /tmp/ok'], Interval: 100 * MS, Retries: 3 } },
    `hc1-${w.id}`,
  );
  t.is((await health(id))?.Status, 'starting');
  // failing probes while starting (no start period): the streak grows, unhealthy at 3
  const bad = await eventually(async () => ((await health(id))?.Status === 'unhealthy' ? health(id) : undefined), 20_000);
  t.truthy(bad);
  t.true(bad!.FailingStreak >= 3);
  t.is(bad!.Log.at(-1)!.ExitCode, 1);
  t.is(bad!.Log.at(-1)!.Output, 'probe-out\n');
  await w.ok(['exec', id, 'touch', '/tmp/ok']);
  const good = await eventually(async () => ((await health(id))?.Status === 'healthy' ? health(id) : undefined), 20_000);
  t.truthy(good);
  t.is(good!.FailingStreak, 0);
  t.regex((await w.ok(['ps', '--filter', `id=${id}`])) ?? '', /\(healthy\)/);
  await eventually(async () => ((await health(id))?.Log.length ?? 0) >= 5, 20_000);
  const h = (await health(id))!;
  t.is(h.Log.length, 5, 'Docker keeps the last 5 results');
  for (const e of h.Log) t.true(Date.parse(e.End) >= Date.parse(e.Start));
  const ev = await api(w.socket, {
    path: `/events?since=${since}&until=${Math.ceil(Date.now() / 1000) + 1}&filters=${encodeURIComponent(JSON.stringify({ container: [id] }))}`,
  });
  const acts = ev.text
    .trim()
    .split('\n')
    .map((l) => (JSON.parse(l) as { Action: string }).Action)
    .filter((a) => a.startsWith('health_status'));
  t.deepEqual(acts, ['health_status: unhealthy', 'health_status: healthy']);
  // health probes are not listed as the container's execs
  const execIds = ((await api(w.socket, { path: `/containers/${id}/json` })).json as { ExecIDs: string[] | null }).ExecIDs;
  t.true(execIds === null || execIds.length <= 1, JSON.stringify(execIds));
  await w.ok(['rm', '-f', id]);
});

test('a probe that hangs is killed at Timeout and counts as a failure (exit -1, Docker message)', async (t) => {
  const id = await run(
    { Healthcheck: { Test: ['CMD', 'sleep', '1000'], Interval: 100 * MS, Timeout: 300 * MS, Retries: 1 } },
    `hc2-${w.id}`,
  );
  const h = await eventually(async () => ((await health(id))?.Status === 'unhealthy' ? health(id) : undefined), 20_000);
  t.truthy(h);
  t.is(h!.Log[0]!.ExitCode, -1);
  t.is(h!.Log[0]!.Output, 'Health check exceeded timeout (300ms)');
  // the hung probe was killed: only PID 1's sleep (and at most one probe in flight) run
  await eventually(async () => {
    const top = await w.ok(['top', id]);
    return top.split('\n').filter((l) => l.includes('sleep 1000')).length <= 2;
  });
  const top = await w.ok(['top', id]);
  t.true(top.split('\n').filter((l) => l.includes('sleep 1000')).length <= 2, top);
  await w.ok(['rm', '-f', id]);
});

test('from the image: inherited, overridden field by field, disabled with NONE; bad values refused', async (t) => {
  const image = `hc-image-${w.id}:1`;
  const inherited = await run({ Image: image }, `hc3-${w.id}`);
  const cfg = (await inspect(inherited)).Config.Healthcheck!;
  t.deepEqual(cfg.Test, ['CMD-SHELL', 'test -e /tmp/ready']);
  t.is(cfg.Interval, 200 * MS);
  await w.ok(['exec', inherited, 'touch', '/tmp/ready']);
  t.truthy(await eventually(async () => (await health(inherited))?.Status === 'healthy', 20_000));

  const overridden = await run({ Image: image, Healthcheck: { Retries: 7 } }, `hc4-${w.id}`);
  const o = (await inspect(overridden)).Config.Healthcheck!;
  t.deepEqual(o.Test, ['CMD-SHELL', 'test -e /tmp/ready']);
  t.is(o.Retries, 7);
  t.is(o.Interval, 200 * MS);

  const none = await run({ Image: image, Healthcheck: { Test: ['NONE'] } }, `hc5-${w.id}`);
  t.is((await inspect(none)).State.Health, undefined);
  t.notRegex(await w.ok(['ps', '--filter', `id=${none}`]), /health/);

  for (const [hc, re] of [
    [{ Test: ['CMD-SHELL', 'true'], Interval: 5 }, /Interval in Healthcheck cannot be less than 1ms/],
    [{ Test: ['CMD-SHELL', 'true'], Retries: -1 }, /Retries in Healthcheck cannot be negative/],
    [{ Test: ['WHAT', 'x'] }, /invalid Healthcheck.Test/],
  ] as const) {
    const r = await api(w.socket, {
      method: 'POST',
      path: '/containers/create',
      body: { Image: 'busybox', Cmd: ['true'], Healthcheck: hc },
    });
    t.is(r.status, 400, r.text);
    t.regex(r.text, re);
  }
  for (const id of [inherited, overridden, none]) await w.ok(['rm', '-f', id]);
});
