/**
 * GET /events end to end: a real daemon, real containers and networks; the stream is read over
 * the API socket like docker-compose and service registrators do, and with the stock docker CLI.
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { cleanEnv, createWorld, eventually, run, type World } from '../helpers/world.js';

let w: World;
const DOCKER = ['/usr/local/bin/docker', '/usr/bin/docker'].find((p) => fs.existsSync(p));
test.before(async () => {
  w = await createWorld();
});
test.after.always(async () => {
  await w?.teardown();
});

interface Ev {
  Type: string;
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  status?: string;
  id?: string;
  from?: string;
  time: number;
  timeNano: number;
}

/** An open /events stream: the events seen so far, and a way to end it. */
function subscribe(query: Record<string, string> = {}) {
  const events: Ev[] = [];
  const qs = new URLSearchParams(query).toString();
  let res: http.IncomingMessage | undefined;
  let ended = false;
  const req = http.get({ socketPath: w.socket, path: `/v1.41/events${qs ? `?${qs}` : ''}` });
  const ready = new Promise<number>((resolve, reject) => {
    req.on('response', (r) => {
      res = r;
      let buf = '';
      r.setEncoding('utf8');
      r.on('data', (d: string) => {
        buf += d;
        for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
          if (buf.slice(0, i).trim()) events.push(JSON.parse(buf.slice(0, i)));
          buf = buf.slice(i + 1);
        }
      });
      r.on('end', () => {
        ended = true;
      });
      resolve(r.statusCode ?? 0);
    });
    req.on('error', reject);
  });
  return {
    events,
    ready,
    get ended() {
      return ended;
    },
    get res() {
      return res;
    },
    req,
    close: () => req.destroy(),
  };
}

const actions = (evs: Ev[], type: string) => evs.filter((e) => e.Type === type).map((e) => e.Action);

/** Is `want` a subsequence of `have` (in order, gaps allowed)? */
function inOrder(have: string[], want: string[]): boolean {
  let i = 0;
  for (const h of have) if (h === want[i]) i++;
  return i === want.length;
}

test('run, stop, rm: container events in order with Docker attributes; network connect/disconnect of its endpoint', async (t) => {
  const s = subscribe();
  t.is(await s.ready, 200);
  const name = `ev1-${w.id}`;
  const id = await w.ok(['run', '-d', '--name', name, '--label', 'tier=web', 'busybox', 'sleep', '1000']);
  await w.ok(['stop', '-t', '1', name]);
  await w.ok(['rm', name]);
  await eventually(() => actions(s.events, 'container').includes('destroy'));
  s.close();
  const mine = s.events.filter((e) => e.Actor.ID === id);
  const acts = mine.map((e) => e.Action);
  t.true(inOrder(acts, ['create', 'start', 'kill', 'die', 'stop', 'destroy']), acts.join(' '));
  const create = mine.find((e) => e.Action === 'create')!;
  t.deepEqual(create.Actor.Attributes, { tier: 'web', image: 'busybox', name });
  t.is(create.status, 'create', 'legacy status');
  t.is(create.id, id, 'legacy id');
  t.is(create.from, 'busybox', 'legacy from');
  t.is(mine.find((e) => e.Action === 'kill')!.Actor.Attributes.signal, '15');
  t.regex(mine.find((e) => e.Action === 'die')!.Actor.Attributes.exitCode ?? '', /^(137|143)$/);
  const net = s.events.filter((e) => e.Type === 'network' && e.Actor.Attributes.container === id);
  t.deepEqual(
    net.map((e) => `${e.Action}:${e.Actor.Attributes.name}:${e.Actor.Attributes.type}`),
    ['connect:bridge:bridge', 'disconnect:bridge:bridge'],
  );
  const times = s.events.map((e) => BigInt(e.timeNano));
  t.true(
    times.every((x, i) => i === 0 || x > times[i - 1]!),
    'timeNano strictly increasing',
  );
});

test('network create, connect, disconnect, destroy in order; filters by type, network, event, container, label', async (t) => {
  const netName = `evnet-${w.id}`;
  const byNet = subscribe({ filters: JSON.stringify({ type: ['network'], network: [netName] }) });
  const dies = subscribe({ filters: JSON.stringify({ event: ['die'] }) });
  const byLabel = subscribe({ filters: JSON.stringify({ label: ['evtest=yes'] }) });
  const byContainer = subscribe({ filters: JSON.stringify({ container: [`evc-${w.id}`] }) });
  await Promise.all([byNet.ready, dies.ready, byLabel.ready, byContainer.ready]);
  const netId = await w.ok(['network', 'create', '--subnet', '10.77.0.0/24', netName]);
  const cid = await w.ok(['run', '-d', '--name', `evc-${w.id}`, '--label', 'evtest=yes', 'busybox', 'sleep', '1000']);
  await w.ok(['network', 'connect', netName, `evc-${w.id}`]);
  await w.ok(['network', 'disconnect', netName, `evc-${w.id}`]);
  await w.ok(['rm', '-f', `evc-${w.id}`]);
  await w.ok(['network', 'rm', netName]);
  await w.ok(['run', '--rm', '--network', 'none', 'busybox', 'true']);
  await eventually(() => actions(byNet.events, 'network').includes('destroy') && dies.events.length >= 2);
  for (const s of [byNet, dies, byLabel, byContainer]) s.close();

  t.deepEqual(actions(byNet.events, 'network'), ['create', 'connect', 'disconnect', 'destroy']);
  t.true(byNet.events.every((e) => e.Actor.ID === netId && e.Actor.Attributes.name === netName));
  t.is(byNet.events[1]!.Actor.Attributes.container, cid);
  t.is(byNet.events[1]!.Actor.Attributes.type, 'bridge');

  t.true(dies.events.length >= 2);
  t.true(dies.events.every((e) => e.Action === 'die'));

  t.true(byLabel.events.length > 0);
  t.true(
    byLabel.events.every((e) => e.Actor.ID === cid),
    'only the labelled container',
  );
  t.true(inOrder(actions(byLabel.events, 'container'), ['create', 'start', 'kill', 'die', 'destroy']));

  t.true(byContainer.events.every((e) => e.Type === 'container' && e.Actor.ID === cid));
  t.true(actions(byContainer.events, 'container').includes('destroy'));
});

test('since/until replay recent events and end the stream; exec, rename and image events', async (t) => {
  const since = (Date.now() / 1000 - 1).toFixed(3);
  const name = `evx-${w.id}`;
  const cid = await w.ok(['run', '-d', '--name', name, '--network', 'none', 'busybox', 'sleep', '1000']);
  t.is(await w.ok(['exec', name, 'sh', '-c', 'exit 3']).catch(() => 'failed'), 'failed');
  const renamed = await new Promise<number>((resolve) =>
    http
      .request({ socketPath: w.socket, method: 'POST', path: `/containers/${name}/rename?name=${name}-new` }, (r) => {
        r.resume();
        resolve(r.statusCode ?? 0);
      })
      .end(),
  );
  t.is(renamed, 204);
  await w.ok(['rm', '-f', `${name}-new`]);
  const until = (Date.now() / 1000 + 0.5).toFixed(3);
  const past = subscribe({ since, until, filters: JSON.stringify({ type: ['container'], container: [cid] }) });
  await past.ready;
  await eventually(() => past.ended, 5000);
  t.true(past.ended, 'a stream with until ends by itself');
  const acts = past.events.map((e) => e.Action);
  t.true(inOrder(acts, ['create', 'start', 'exec_create: sh -c exit 3', 'exec_start: sh -c exit 3', 'exec_die']), acts.join('|'));
  t.is(past.events.find((e) => e.Action === 'exec_die')!.Actor.Attributes.exitCode, '3');
  const rename = past.events.find((e) => e.Action === 'rename')!;
  t.is(rename.Actor.Attributes.name, `${name}-new`);
  t.is(rename.Actor.Attributes.oldName, `/${name}`);
  t.true(inOrder(acts, ['rename', 'kill', 'die', 'destroy']));

  const bad = subscribe({ since: 'yesterday' });
  t.is(await bad.ready, 400);
  const images = subscribe({ since, filters: JSON.stringify({ type: ['image'] }) });
  await images.ready;
  const tag = await new Promise<number>((resolve) =>
    http
      .request({ socketPath: w.socket, method: 'POST', path: '/images/busybox/tag?repo=evtag&tag=v1' }, (r) => {
        r.resume();
        resolve(r.statusCode ?? 0);
      })
      .end(),
  );
  t.is(tag, 201);
  await w.ok(['image', 'rm', 'evtag:v1']);
  await eventually(() => images.events.some((e) => e.Action === 'untag'));
  images.close();
  t.deepEqual(
    images.events.map((e) => `${e.Action}:${e.Actor.Attributes.name}`).filter((x) => !x.startsWith('import')),
    [`tag:evtag:v1`, `untag:${images.events.find((e) => e.Action === 'untag')!.Actor.ID}`],
  );
});

test('a subscriber that never reads does not hold up the daemon; its backlog is bounded', async (t) => {
  const stalled = subscribe();
  await stalled.ready;
  stalled.res!.pause();
  (stalled.req.socket as unknown as { pause(): void }).pause();
  // big events: a container whose 64 KiB label rides along on every event about it
  const name = `evslow-${w.id}`;
  const big = 'x'.repeat(64 * 1024);
  await w.ok(['create', '--name', name, '--network', 'none', '--label', `blob=${big}`, 'busybox', 'true']);
  // 160 renames × 64 KiB ≈ 10 MiB for a reader that takes nothing
  let current = name;
  for (let i = 0; i < 160; i++) {
    const next = `${name}-${i}`;
    const code = await new Promise<number>((resolve) =>
      http
        .request({ socketPath: w.socket, method: 'POST', path: `/containers/${current}/rename?name=${next}` }, (r) => {
          r.resume();
          resolve(r.statusCode ?? 0);
        })
        .end(),
    );
    t.is(code, 204);
    current = next;
  }
  // the daemon still runs containers while that reader sits there
  const r = await w.cli(['run', '--rm', '--network', 'none', 'busybox', 'echo', 'still-serving'], { timeoutMs: 30_000 });
  t.is(r.stdout, 'still-serving\n', r.stderr);
  // a fresh subscriber is served at once
  const fresh = subscribe({ filters: JSON.stringify({ event: ['destroy'], container: [current] }) });
  await fresh.ready;
  await w.ok(['rm', current]);
  await eventually(() => fresh.events.length > 0);
  t.is(fresh.events[0]!.Actor.Attributes.name, current);
  fresh.close();
  // now read what the stalled one got: less than was published (the rest was dropped)
  stalled.res!.resume();
  (stalled.req.socket as unknown as { resume(): void }).resume();
  await eventually(() => stalled.events.some((e) => e.Action === 'destroy' && e.Actor.Attributes.name === current), 10_000);
  const renames = stalled.events.filter((e) => e.Action === 'rename').length;
  t.true(renames < 160, `the stalled subscriber got ${renames} of 160 rename events`);
  stalled.close();
  await eventually(() => w.daemonLog().includes('slow subscriber missed'));
  t.regex(w.daemonLog(), /a slow subscriber missed \d+ events/);
});

test('the stock docker CLI: docker events --since/--until and --filter', async (t) => {
  if (!DOCKER) {
    t.fail('the docker CLI is not installed: apt-get install docker.io (Debian) — only its client is used');
    return;
  }
  const docker = (args: string[]) =>
    run(DOCKER, ['-H', `unix://${w.socket}`, ...args], { env: cleanEnv({ DOCKER_CONFIG: path.join(w.dir, 'docker-config') }) });
  const since = String(Math.floor(Date.now() / 1000) - 1);
  await w.ok(['run', '--rm', '--name', `evd-${w.id}`, '--network', 'none', 'busybox', 'true']);
  const until = String(Math.floor(Date.now() / 1000) + 1);
  const r = await docker(['events', '--since', since, '--until', until, '--filter', `container=evd-${w.id}`]);
  t.is(r.exitCode, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  t.true(
    lines.some((l) => / container create [0-9a-f]{64} \(image=busybox, name=evd-/.test(l)),
    r.stdout,
  );
  t.true(
    lines.some((l) => / container die [0-9a-f]{64} \(.*exitCode=0/.test(l)),
    r.stdout,
  );
  t.true(
    lines.some((l) => / container destroy /.test(l)),
    r.stdout,
  );
  const f = await docker([
    'events',
    '--since',
    since,
    '--until',
    until,
    '--format',
    '{{.Type}} {{.Action}}',
    '--filter',
    'event=start',
  ]);
  t.is(f.exitCode, 0, f.stderr);
  t.true(
    f.stdout
      .trim()
      .split('\n')
      .every((l) => l === 'container start'),
    f.stdout,
  );
  // live: docker events follows while a container starts
  const live = spawn(
    DOCKER,
    ['-H', `unix://${w.socket}`, 'events', '--filter', 'event=start', '--format', '{{.Actor.Attributes.name}}'],
    {
      env: cleanEnv({ DOCKER_CONFIG: path.join(w.dir, 'docker-config') }),
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  t.teardown(() => live.kill('SIGKILL'));
  let out = '';
  live.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  // the CLI's subscription is registered before the container starts
  await eventually(async () => {
    const info = JSON.parse((await docker(['info', '--format', '{{json .}}'])).stdout || '{}');
    return info.NEventsListener >= 1;
  });
  await w.ok(['run', '--rm', '--name', `evlive-${w.id}`, '--network', 'none', 'busybox', 'true']);
  t.true(await eventually(() => out.split('\n').includes(`evlive-${w.id}`)), out);
});
