/**
 * Restart policies (issue 12): no, always, unless-stopped, on-failure[:N]; never after an API
 * stop/kill; kept across a daemon restart (a container that died while the daemon was down is
 * restarted by policy at start; always/unless-stopped ones are started as dockerd does).
 */
import test from 'ava';
import { api } from '../helpers/api.js';
import { createWorld, eventually, sleep, type World } from '../helpers/world.js';

let w: World;
test.before(async () => {
  w = await createWorld();
});
test.after.always(async () => {
  await w?.teardown();
});

interface Inspect {
  Id: string;
  RestartCount: number;
  State: { Status: string; Running: boolean; Restarting: boolean; Pid: number; ExitCode: number };
  HostConfig: { RestartPolicy: { Name: string; MaximumRetryCount: number } };
}

async function create(name: string, cmd: string[], policy: { Name: string; MaximumRetryCount?: number }): Promise<string> {
  const r = await api(w.socket, {
    method: 'POST',
    path: `/containers/create?name=${name}`,
    body: { Image: 'busybox', Cmd: cmd, HostConfig: { NetworkMode: 'none', RestartPolicy: policy } },
  });
  if (r.status !== 201) throw new Error(`create ${name}: ${r.status} ${r.text}`);
  return (r.json as { Id: string }).Id;
}

async function inspect(id: string): Promise<Inspect> {
  const r = await api(w.socket, { path: `/containers/${id}/json` });
  return r.json as Inspect;
}

async function start(id: string): Promise<void> {
  const r = await api(w.socket, { method: 'POST', path: `/containers/${id}/start` });
  if (r.status !== 204) throw new Error(`start: ${r.status} ${r.text}`);
}

function events(since: number, id: string): Promise<string[]> {
  return api(w.socket, {
    path: `/events?since=${since}&until=${Math.ceil(Date.now() / 1000) + 1}&filters=${encodeURIComponent(JSON.stringify({ container: [id] }))}`,
  }).then((r) =>
    r.text
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => (JSON.parse(l) as { Action: string }).Action),
  );
}

test.serial('on-failure:2 restarts a failing container twice, then leaves it exited; die then start each time', async (t) => {
  const since = Math.floor(Date.now() / 1000);
  const id = await create(`onf-${w.id}`, ['sh', '-c', 'exit 3'], { Name: 'on-failure', MaximumRetryCount: 2 });
  await start(id);
  const done = await eventually(async () => {
    const i = await inspect(id);
    return i.RestartCount === 2 && i.State.Status === 'exited' ? i : undefined;
  }, 20_000);
  t.truthy(done, JSON.stringify(await inspect(id)));
  t.is(done!.State.ExitCode, 3);
  t.false(done!.State.Restarting);
  t.deepEqual(done!.HostConfig.RestartPolicy, { Name: 'on-failure', MaximumRetryCount: 2 });
  const acts = (await events(since, id)).filter((a) => a === 'start' || a === 'die');
  t.deepEqual(acts, ['start', 'die', 'start', 'die', 'start', 'die']);
  // success is not a failure: on-failure does not restart exit 0
  const ok = await create(`onf-ok-${w.id}`, ['true'], { Name: 'on-failure' });
  await start(ok);
  await eventually(async () => (await inspect(ok)).State.Status === 'exited');
  await sleep(500); // the absence of a restart (the first back-off is 100 ms)
  t.is((await inspect(ok)).RestartCount, 0);
});

test.serial('always: a killed process is restarted (RestartCount, new pid); an API stop or kill is never undone', async (t) => {
  const id = await create(`always-${w.id}`, ['sleep', '1000'], { Name: 'always' });
  await start(id);
  const first = await inspect(id);
  process.kill(first.State.Pid, 'SIGKILL');
  const again = await eventually(async () => {
    const i = await inspect(id);
    return i.RestartCount === 1 && i.State.Running && i.State.Pid !== first.State.Pid && i.State.Pid > 0 ? i : undefined;
  }, 15_000);
  t.truthy(again, JSON.stringify(await inspect(id)));
  t.is((await api(w.socket, { method: 'POST', path: `/containers/${id}/stop?t=1` })).status, 204);
  await sleep(800); // longer than the back-off: a restart would have happened
  let i = await inspect(id);
  t.is(i.State.Status, 'exited');
  t.is(i.RestartCount, 1);
  // a start or restart through the API counts from 0 again, as dockerd's
  t.is((await api(w.socket, { method: 'POST', path: `/containers/${id}/restart?t=1` })).status, 204);
  t.is((await inspect(id)).RestartCount, 0);
  // kill through the API: no restart either
  t.is((await api(w.socket, { method: 'POST', path: `/containers/${id}/kill` })).status, 204);
  await sleep(800);
  i = await inspect(id);
  t.is(i.State.Status, 'exited');
  // policy no: a killed process stays dead
  const no = await create(`no-${w.id}`, ['sleep', '1000'], { Name: 'no' });
  await start(no);
  process.kill((await inspect(no)).State.Pid, 'SIGKILL');
  await eventually(async () => (await inspect(no)).State.Status === 'exited');
  await sleep(500);
  t.is((await inspect(no)).State.Status, 'exited');
  t.is((await inspect(no)).RestartCount, 0);
});

test.serial('bad policies are refused in one line, before anything is made', async (t) => {
  for (const [policy, re] of [
    [{ Name: 'always', MaximumRetryCount: 3 }, /maximum retry count can only be used with 'on-failure'/],
    [{ Name: 'on-failure', MaximumRetryCount: -1 }, /maximum retry count must be a positive integer/],
    [{ Name: 'sometimes' }, /RestartPolicy/],
  ] as const) {
    const r = await api(w.socket, {
      method: 'POST',
      path: '/containers/create',
      body: { Image: 'busybox', Cmd: ['true'], HostConfig: { RestartPolicy: policy } },
    });
    t.is(r.status, 400, r.text);
    t.regex(r.text, re);
  }
  const rm = await api(w.socket, {
    method: 'POST',
    path: '/containers/create',
    body: { Image: 'busybox', Cmd: ['true'], HostConfig: { AutoRemove: true, RestartPolicy: { Name: 'always' } } },
  });
  t.is(rm.status, 400);
  t.regex(rm.text, /AutoRemove/);
});

test.serial(
  'daemon restart: always (even stopped by hand) and unless-stopped start; one that died while the daemon was down is restarted',
  async (t) => {
    const stoppedAlways = await create(`sa-${w.id}`, ['sleep', '1000'], { Name: 'always' });
    const stoppedUnless = await create(`su-${w.id}`, ['sleep', '1000'], { Name: 'unless-stopped' });
    const runningUnless = await create(`ru-${w.id}`, ['sleep', '1000'], { Name: 'unless-stopped' });
    const dies = await create(`dies-${w.id}`, ['sleep', '1000'], { Name: 'on-failure' });
    for (const id of [stoppedAlways, stoppedUnless, runningUnless, dies]) await start(id);
    for (const id of [stoppedAlways, stoppedUnless])
      t.is((await api(w.socket, { method: 'POST', path: `/containers/${id}/stop?t=1` })).status, 204);
    const pid = (await inspect(dies)).State.Pid;
    const keptPid = (await inspect(runningUnless)).State.Pid;
    await w.killDaemon();
    process.kill(pid, 'SIGKILL');
    await eventually(async () => {
      try {
        process.kill(pid, 0);
        return false;
      } catch {
        return true;
      }
    });
    await w.startDaemon();
    const ok = await eventually(async () => {
      const [a, u, r, d] = await Promise.all([stoppedAlways, stoppedUnless, runningUnless, dies].map(inspect));
      return a!.State.Running && r!.State.Running && d!.State.Running && d!.RestartCount === 1 ? { a, u, r, d } : undefined;
    }, 30_000);
    t.truthy(ok, 'always and the dead on-failure container run again');
    t.is(ok!.u!.State.Status, 'exited', 'unless-stopped stopped by hand stays stopped');
    t.is(ok!.r!.State.Pid, keptPid, 'a running container is adopted, not restarted');
    t.not(ok!.d!.State.Pid, pid);
  },
);
