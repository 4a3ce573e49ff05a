/**
 * Container API semantics Docker clients rely on (issue 12): an exec keeps the tty it was
 * created with, SIGKILL answers once the container is gone, pause/unpause, top with ps_args.
 */
import fs from 'node:fs';
import path from 'node:path';
import { api, rawApi } from '../helpers/api.js';
import { eventually, sleep, type World } from '../helpers/world.js';
import { eventActions, runDetached, worldTest } from '../helpers/world-test.js';

const test = worldTest();

test.serial('an exec created with Tty gets a tty even when started with Tty false (as the Python SDK does)', async (t) => {
  const { w } = t.context;
  const id = await runDetached(t, w, ['busybox', 'sleep', '1000']);
  const created = await api(w.socket, {
    method: 'POST',
    path: `/containers/${id}/exec`,
    body: { Cmd: ['tty'], Tty: true, AttachStdout: true, AttachStderr: true },
  });
  t.is(created.status, 201, created.text);
  const execId = (created.json as { Id: string }).Id;
  const body = JSON.stringify({ Detach: false, Tty: false });
  const r = await rawApi(
    w.socket,
    `POST /v1.44/exec/${execId}/start HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
    20_000,
  );
  t.is(r.status, 101, r.text);
  t.regex(r.text, /\/dev\/pts\/\d+/, r.text);
  t.notRegex(r.text, /not a tty/, r.text);
});

test.serial(
  'kill with SIGKILL answers after the container exited, so a plain DELETE right after succeeds (20 times)',
  async (t) => {
    const { w } = t.context;
    for (let i = 0; i < 20; i++) {
      const id = await runDetached(t, w, ['busybox', 'sleep', '1000']);
      const kill = await api(w.socket, { method: 'POST', path: `/containers/${id}/kill` });
      t.is(kill.status, 204, kill.text);
      const rm = await api(w.socket, { method: 'DELETE', path: `/containers/${id}` });
      t.is(rm.status, 204, `round ${i}: ${rm.text}`);
    }
  },
);

/** The counter's last line, read on the host from the container's upper dir (no pipe or log in between). */
const lastCount = async (w: World, id: string): Promise<number> => {
  const upper = await w.ok(['inspect', '-f', '{{.GraphDriver.Data.UpperDir}}', id]);
  let text = '';
  try {
    text = fs.readFileSync(path.join(upper, 'tmp', 'count'), 'utf8');
  } catch {
    return -1;
  }
  const lines = text.split('\n').filter(Boolean);
  return Number(lines[lines.length - 1] ?? -1);
};

test.serial('pause freezes the container (its counter stops), unpause resumes it; state, ps, events, exec refused', async (t) => {
  const { w } = t.context;
  const since = Math.floor(Date.now() / 1000) - 1;
  const id = await runDetached(t, w, [
    'busybox',
    'sh',
    '-c',
    'i=0; while true; do i=$((i+1)); echo $i >> /tmp/count; sleep 0.1; done',
  ]);
  t.truthy(await eventually(async () => (await lastCount(w, id)) >= 3), 'the counter runs');
  await w.ok(['pause', id]);
  t.is(await w.ok(['inspect', '-f', '{{.State.Status}} {{.State.Paused}} {{.State.Running}}', id]), 'paused true true');
  t.regex(await w.ok(['ps', '--filter', 'status=paused', '--format', '{{.ID}} {{.Status}}']), /\(Paused\)/);
  // Frozen: the counter does not move while its file is read again and again (each read is a CLI call).
  const frozenAt = await lastCount(w, id);
  for (let i = 0; i < 10; i++) t.is(await lastCount(w, id), frozenAt, 'no line while paused');
  const exec = await w.cli(['exec', id, 'true']);
  t.not(exec.exitCode, 0);
  t.regex(exec.stderr, /is paused: unpause it/);
  // refused at create, as dockerd (refused only at start, the docker CLI exited 0)
  const created = await api(w.socket, { method: 'POST', path: `/containers/${id}/exec`, body: { Cmd: ['true'] } });
  t.is(created.status, 409, created.text);
  const again = await w.cli(['pause', id]);
  t.regex(again.stderr, /already paused/);
  await w.ok(['unpause', id]);
  t.is(await w.ok(['inspect', '-f', '{{.State.Status}} {{.State.Paused}}', id]), 'running false');
  t.truthy(await eventually(async () => (await lastCount(w, id)) > frozenAt + 2), 'the counter runs again');
  const events = await eventActions(w, id, since);
  t.true(events.includes('pause'), events.join(' '));
  t.true(events.includes('unpause'), events.join(' '));
  const notPaused = await w.cli(['unpause', id]);
  t.regex(notPaused.stderr, /is not paused/);
});

test.serial('stop and kill of a paused container work: it is thawed first, so its SIGTERM handler runs', async (t) => {
  const { w } = t.context;
  // Frozen, the trap could not run before the SIGKILL that follows stop's timeout (exit 137).
  for (const how of [
    ['stop', '-t', '60'],
    ['kill', '-s', 'TERM'],
  ]) {
    const id = await runDetached(t, w, ['busybox', 'sh', '-c', 'trap "exit 7" TERM; while true; do sleep 0.1; done']);
    await w.ok(['pause', id]);
    await w.ok([...how, id]);
    t.is(await w.ok(['wait', id]), '7', how.join(' '));
    t.is(await w.ok(['inspect', '-f', '{{.State.Status}} {{.State.Paused}}', id]), 'exited false', how[0]);
    await w.ok(['rm', id]);
  }
  const id = await w.ok(['run', '-d', '--network', 'none', 'busybox', 'sleep', '1000']);
  await w.ok(['pause', id]);
  await w.ok(['rm', '-f', id]);
  t.is((await w.cli(['inspect', id])).exitCode, 1, 'rm -f of a paused container removes it');
});

test.serial('top runs ps with ps_args and shows only the container processes, execs included', async (t) => {
  const { w } = t.context;
  const id = await runDetached(t, w, ['busybox', 'sleep', '1001']);
  await w.ok(['exec', '-d', id, 'sleep', '1002']);
  const def = await api(w.socket, { path: `/containers/${id}/top` });
  t.is(def.status, 200, def.text);
  const d = def.json as { Titles: string[]; Processes: string[][] };
  t.deepEqual(d.Titles.slice(0, 3), ['UID', 'PID', 'PPID']);
  const cmds = () => d.Processes.map((p) => p[p.length - 1]);
  t.truthy(
    await eventually(async () => {
      const r = await api(w.socket, { path: `/containers/${id}/top` });
      d.Processes = (r.json as { Processes: string[][] }).Processes;
      return cmds().includes('sleep 1002');
    }),
    'the exec appears',
  );
  t.deepEqual(cmds().sort(), ['sleep 1001', 'sleep 1002'], JSON.stringify(d.Processes));
  const custom = await api(w.socket, { path: `/containers/${id}/top?ps_args=${encodeURIComponent('-o pid,comm,args')}` });
  // Without -e ps lists only its own terminal's processes: use -e with -o.
  t.is(custom.status, 200);
  const eo = await api(w.socket, { path: `/containers/${id}/top?ps_args=${encodeURIComponent('-eo pid,comm,args')}` });
  t.deepEqual((eo.json as { Titles: string[] }).Titles, ['PID', 'COMMAND', 'COMMAND']);
  t.is((eo.json as { Processes: string[][] }).Processes.length, 2, eo.text);
  const noPid = await api(w.socket, { path: `/containers/${id}/top?ps_args=${encodeURIComponent('-eo comm')}` });
  t.is(noPid.status, 400);
  t.regex(noPid.text, /no PID column/);
  const bad = await api(w.socket, { path: `/containers/${id}/top?ps_args=--nonsense-option` });
  t.is(bad.status, 400);
  t.regex(bad.text, /check ps_args/);
  const cli = await w.ok(['top', id, '-eo', 'pid,args']);
  t.regex(cli, /^PID\s+COMMAND\n/);
  t.regex(cli, /sleep 1001/);
  t.regex(cli, /sleep 1002/);
  t.is(cli.split('\n').length, 3, cli);
});

test.serial('inspect reports the json-file log driver; logs honour until, also when following', async (t) => {
  const { w } = t.context;
  const id = await runDetached(t, w, [
    'busybox',
    'sh',
    '-c',
    'echo first; while [ ! -e /tmp/go ]; do sleep 0.05; done; echo second; sleep 1000',
  ]);
  t.is(await w.ok(['inspect', '-f', '{{.HostConfig.LogConfig.Type}}', id]), 'json-file');
  t.truthy(await eventually(async () => (await w.ok(['logs', id])).includes('first')));
  const until = (Date.now() / 1000).toFixed(3);
  await w.ok(['exec', id, 'touch', '/tmp/go']);
  t.truthy(await eventually(async () => (await w.ok(['logs', id])).includes('second')));
  const logs = (q: string) => api(w.socket, { path: `/containers/${id}/logs?stdout=1&stderr=1&${q}` }).then((r) => r.text);
  const before = await logs(`until=${until}`);
  t.true(before.includes('first'), before);
  t.false(before.includes('second'), before);
  const followed = await logs(`until=${until}&follow=1`);
  t.true(followed.includes('first') && !followed.includes('second'), 'following stops at until');
  const all = await logs('');
  t.true(all.includes('first') && all.includes('second'));
});

test.serial(
  'inspect of a minimal API create shows every HostConfig key dockerd shows, with its zero or applied value',
  async (t) => {
    const { w } = t.context;
    const made = await api(w.socket, {
      method: 'POST',
      path: '/containers/create',
      body: { Image: 'busybox', Cmd: ['true'], HostConfig: { NetworkMode: 'none', Memory: 64 * 1024 * 1024 } },
    });
    t.is(made.status, 201, made.text);
    const id = (made.json as { Id: string }).Id;
    t.teardown(() => w.cli(['rm', '-f', id]));
    const i = (await api(w.socket, { path: `/containers/${id}/json` })).json as {
      HostConfig: Record<string, unknown>;
      Config: Record<string, unknown>;
    };
    // SDK clients index these without a default (KeyError when absent)
    for (const k of [
      'Binds',
      'VolumesFrom',
      'CapAdd',
      'CapDrop',
      'Dns',
      'DnsSearch',
      'ExtraHosts',
      'GroupAdd',
      'SecurityOpt',
      'Devices',
      'Ulimits',
      'MemorySwappiness',
    ])
      t.is(i.HostConfig[k], null, k);
    for (const k of ['CpuShares', 'CpuQuota', 'CpuPeriod', 'BlkioWeight', 'OomScoreAdj', 'MemoryReservation', 'KernelMemory'])
      t.is(i.HostConfig[k], 0, k);
    t.is(i.HostConfig.PublishAllPorts, false);
    t.deepEqual(i.HostConfig.ConsoleSize, [0, 0]);
    // what tsnet applies: its own IPC and cgroup namespaces, 64 MiB /dev/shm, memory+swap 2 × memory
    t.is(i.HostConfig.IpcMode, 'private');
    t.is(i.HostConfig.CgroupnsMode, 'private');
    t.is(i.HostConfig.ShmSize, 64 * 1024 * 1024);
    t.is(i.HostConfig.MemorySwap, 128 * 1024 * 1024);
    t.is(i.Config.OnBuild, null);
    t.is(i.Config.Volumes, null);
    const info = (await api(w.socket, { path: '/info' })).json as {
      IndexServerAddress: string;
      Plugins: { Volume: string[]; Network: string[] };
    };
    t.is(info.IndexServerAddress, 'https://index.docker.io/v1/', 'the docker CLI keys its Docker Hub login by it');
    t.deepEqual(info.Plugins.Volume, ['local']);
    t.true(info.Plugins.Network.includes('macvlan'));
  },
);

test.serial(
  'stop and restart take the API signal (1.42+, docker stop --signal); a bad one is 400 and stops nothing',
  async (t) => {
    const { w } = t.context;
    const id = await runDetached(t, w, [
      'busybox',
      'sh',
      '-c',
      'trap "exit 7" INT; trap "exit 8" TERM; while true; do sleep 0.1; done',
    ]);
    const code = async () => (await w.ok(['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}}', id])).trim();
    await sleep(300); // the traps are set
    const bad = await api(w.socket, { method: 'POST', path: `/containers/${id}/stop?signal=NOSIG&t=5` });
    t.is(bad.status, 400, bad.text);
    t.is(await code(), 'running 0');
    t.is((await api(w.socket, { method: 'POST', path: `/containers/${id}/stop?signal=SIGINT&t=5` })).status, 204);
    t.is(await code(), 'exited 7', 'SIGINT, not the default SIGTERM');
    await w.ok(['start', id]);
    await sleep(300);
    t.is((await api(w.socket, { method: 'POST', path: `/containers/${id}/restart?signal=INT&t=5` })).status, 204);
    t.regex(
      (
        await w.ok([
          'events',
          '--since',
          '0',
          '--until',
          String(Math.ceil(Date.now() / 1000) + 1),
          '--filter',
          `container=${id}`,
          '--filter',
          'event=die',
          '--format',
          '{{.Actor.Attributes.exitCode}}',
        ])
      ).trim(),
      /7$/,
    );
    t.is((await api(w.socket, { method: 'POST', path: `/containers/${id}/stop?t=5` })).status, 204);
    t.is(await code(), 'exited 8', 'without a signal: SIGTERM');
  },
);

test.serial('NetworkDisabled gives the container no network, whatever it names (it got the default bridge)', async (t) => {
  const { w } = t.context;
  const made = await api(w.socket, {
    method: 'POST',
    path: '/containers/create',
    body: { Image: 'busybox', Cmd: ['sleep', '1000'], NetworkDisabled: true, HostConfig: { NetworkMode: 'bridge' } },
  });
  t.is(made.status, 201, made.text);
  const id = (made.json as { Id: string }).Id;
  t.teardown(() => w.cli(['rm', '-f', id]));
  await w.ok(['start', id]);
  const links = (await w.ok(['exec', id, 'ip', '-o', 'link'])).split('\n').map((l) => l.split(':')[1]?.trim());
  t.deepEqual(links, ['lo']);
});
