/**
 * GET /containers/{id}/stats and /system/df end to end: cpu, memory, pids and per-interface
 * network counters after real work and real packets, for containers without limits too
 * (architecture decision 11: no v1 cgroup join on the start path, accounting all the same).
 */
import test from 'ava';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { cleanEnv, createWorld, eventually, run, type World } from '../helpers/world.js';

let w: World;
const DOCKER = ['/usr/local/bin/docker', '/usr/bin/docker'].find((p) => fs.existsSync(p));
test.before(async () => {
  w = await createWorld();
  await w.ok(['network', 'create', '--subnet', '10.78.0.0/24', `st-${w.id}`]);
  await w.ok(['run', '-d', '--name', `sa-${w.id}`, '--network', `st-${w.id}`, 'busybox', 'sleep', '1000']);
  // traffic to the other container, then some CPU work, then idle
  await w.ok([
    'run',
    '-d',
    '--name',
    `sb-${w.id}`,
    '--network',
    `st-${w.id}`,
    'busybox',
    'sh',
    '-c',
    `ping -c 6 -i 0.2 sa-${w.id} > /tmp/ping.out; i=0; while [ $i -lt 30000 ]; do i=$((i+1)); done; touch /tmp/done; sleep 1000`,
  ]);
  await eventually(async () => (await w.cli(['exec', `sb-${w.id}`, 'test', '-e', '/tmp/done'])).exitCode === 0, 30_000, 200);
});
test.after.always(async () => {
  await w?.teardown();
});

function get(p: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ socketPath: w.socket, path: p }, (r) => {
        let body = '';
        r.setEncoding('utf8');
        r.on('data', (d: string) => {
          body += d;
        });
        r.on('end', () => resolve({ status: r.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

interface Stats {
  name: string;
  id: string;
  read: string;
  preread: string;
  cpu_stats: { cpu_usage: { total_usage: number }; system_cpu_usage: number; online_cpus: number };
  precpu_stats: { cpu_usage: { total_usage: number }; system_cpu_usage?: number };
  memory_stats: { usage: number; limit: number; stats: Record<string, number> };
  pids_stats: { current: number; limit?: number };
  networks?: Record<string, { rx_bytes: number; rx_packets: number; tx_bytes: number; tx_packets: number }>;
}

test('stream=false: cpu, memory, pids and eth0 counters are real for a container without limits', async (t) => {
  const r = await get(`/containers/sb-${w.id}/stats?stream=false`);
  t.is(r.status, 200, r.body);
  const s = JSON.parse(r.body) as Stats;
  t.is(s.name, `/sb-${w.id}`);
  t.true(s.cpu_stats.cpu_usage.total_usage > 0, 'cpu time of the busy loop is accounted');
  t.true(s.cpu_stats.system_cpu_usage > (s.precpu_stats.system_cpu_usage ?? 0), 'two samples a second apart');
  t.not(s.preread, '0001-01-01T00:00:00Z');
  t.is(s.cpu_stats.online_cpus, fs.readFileSync('/proc/stat', 'utf8').match(/^cpu\d+ /gm)!.length);
  t.true(s.memory_stats.usage > 0, 'memory of the container process');
  t.true(s.memory_stats.limit > s.memory_stats.usage);
  t.true(s.pids_stats.current >= 1);
  const eth0 = s.networks?.eth0;
  t.truthy(eth0, JSON.stringify(s.networks));
  t.true(eth0!.tx_packets >= 6 && eth0!.rx_packets >= 6, JSON.stringify(eth0));
  t.true(eth0!.tx_bytes >= 6 * 84 && eth0!.rx_bytes >= 6 * 84, 'at least the six ICMP echoes each way');
  t.is(s.networks?.lo, undefined, 'lo is not reported, as Docker');
  // the peer saw the same packets from the other side
  const a = JSON.parse((await get(`/containers/sa-${w.id}/stats?stream=false&one-shot=true`)).body) as Stats;
  t.true(a.networks!.eth0!.rx_packets >= 6);
  t.is(a.preread, '0001-01-01T00:00:00Z', 'one-shot: a single sample');

  // decision 11 holds: no v1 memory/cpu/pids cgroup for a container without limits, but an
  // accounting dir on the v2 hierarchy that holds its processes
  const [c] = JSON.parse(await w.ok(['inspect', `sb-${w.id}`]));
  for (const ctrl of ['memory', 'cpu', 'pids']) t.false(fs.existsSync(path.join('/sys/fs/cgroup', ctrl, w.cgroupParent, c.Id)));
  const acct = ['/sys/fs/cgroup/unified', '/sys/fs/cgroup']
    .map((m) => path.join(m, w.cgroupParent, c.Id))
    .find((d) => fs.existsSync(path.join(d, 'cgroup.procs')));
  t.truthy(acct, 'the accounting dir exists');
  t.true(fs.readFileSync(path.join(acct!, 'cgroup.procs'), 'utf8').split('\n').includes(String(c.State.Pid)));
});

test('with --memory the numbers come from the memory cgroup: its limit and its stat', async (t) => {
  const name = `sm-${w.id}`;
  await w.ok(['run', '-d', '--name', name, '--network', 'none', '--memory', '64m', 'busybox', 'sleep', '1000']);
  const s = JSON.parse((await get(`/containers/${name}/stats?stream=false&one-shot=true`)).body) as Stats;
  t.is(s.memory_stats.limit, 64 * 1024 * 1024);
  t.true(s.memory_stats.usage > 0);
  t.true('cache' in s.memory_stats.stats || 'file' in s.memory_stats.stats, Object.keys(s.memory_stats.stats).join(','));
  t.is(s.networks, undefined, '--network none: no interfaces but lo');
  await w.ok(['rm', '-f', name]);
});

test('stream: a sample a second, each with the previous one as precpu; ends when the container stops; bad params', async (t) => {
  const name = `ss-${w.id}`;
  await w.ok(['run', '-d', '--name', name, '--network', 'none', 'busybox', 'sleep', '1000']);
  const lines: Stats[] = [];
  let ended = false;
  const req = http.get({ socketPath: w.socket, path: `/containers/${name}/stats` }, (r) => {
    let buf = '';
    r.setEncoding('utf8');
    r.on('data', (d: string) => {
      buf += d;
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        lines.push(JSON.parse(buf.slice(0, i)));
        buf = buf.slice(i + 1);
      }
    });
    r.on('end', () => {
      ended = true;
    });
  });
  t.teardown(() => req.destroy());
  await eventually(() => lines.length >= 2, 10_000);
  t.is(lines[0]!.preread, '0001-01-01T00:00:00Z');
  t.is(lines[1]!.preread, lines[0]!.read);
  t.is(lines[1]!.precpu_stats.cpu_usage.total_usage, lines[0]!.cpu_stats.cpu_usage.total_usage);
  await w.ok(['kill', name]);
  t.true(await eventually(() => ended, 10_000), 'the stream ends with the container');
  const stopped = JSON.parse((await get(`/containers/${name}/stats?stream=false`)).body) as Stats;
  t.is(stopped.read, '0001-01-01T00:00:00Z', 'a stopped container: empty stats');
  t.is((await get(`/containers/${name}/stats?stream=true&one-shot=true`)).status, 400);
  t.is((await get('/containers/nope-nothing/stats?stream=false')).status, 404);
  await w.ok(['rm', name]);
});

test('tsnet stats --no-stream, --format, and the stock docker CLI: docker stats --no-stream', async (t) => {
  const table = await w.ok(['stats', '--no-stream']);
  t.regex(table.split('\n')[0]!, /^CONTAINER ID\s+NAME\s+CPU %\s+MEM USAGE \/ LIMIT\s+MEM %\s+NET I\/O\s+BLOCK I\/O\s+PIDS$/);
  const row = table.split('\n').find((l) => l.includes(`sb-${w.id}`))!;
  t.regex(row, /\d+\.\d\d%\s+[\d.]+[KMG]?i?B \/ [\d.]+GiB\s+\d+\.\d\d%\s+[\d.]+[kM]?B \/ [\d.]+[kM]?B/);
  const f = await w.ok(['stats', '--no-stream', '--format', '{{.Name}} {{.PIDs}}', `sb-${w.id}`]);
  t.is(f, `sb-${w.id} 1`);
  if (!DOCKER) {
    t.fail('the docker CLI is not installed: apt-get install docker.io (Debian) — only its client is used');
    return;
  }
  const d = await run(
    DOCKER,
    ['-H', `unix://${w.socket}`, 'stats', '--no-stream', '--format', '{{.Name}}|{{.NetIO}}|{{.MemUsage}}', `sb-${w.id}`],
    { env: cleanEnv({ DOCKER_CONFIG: path.join(w.dir, 'docker-config') }) },
  );
  t.is(d.exitCode, 0, d.stderr);
  const [nm, net, mem] = d.stdout.trim().split('|');
  t.is(nm, `sb-${w.id}`);
  t.notRegex(net!, /^0B \/ 0B$/, 'docker stats shows the network traffic');
  t.notRegex(mem!, /^0B \//, 'docker stats shows memory');
});

test('an exec runs inside the accounting cgroup: its CPU time counts for the container', async (t) => {
  const before = JSON.parse((await get(`/containers/sa-${w.id}/stats?stream=false&one-shot=true`)).body) as Stats;
  await w.ok(['exec', `sa-${w.id}`, 'sh', '-c', 'i=0; while [ $i -lt 40000 ]; do i=$((i+1)); done']);
  const after = JSON.parse((await get(`/containers/sa-${w.id}/stats?stream=false&one-shot=true`)).body) as Stats;
  t.true(
    after.cpu_stats.cpu_usage.total_usage - before.cpu_stats.cpu_usage.total_usage > 10_000_000,
    `${before.cpu_stats.cpu_usage.total_usage} → ${after.cpu_stats.cpu_usage.total_usage}`,
  );
});

test('GET /system/df: layers, images with their container count, containers with SizeRw/SizeRootFs; tsnet system df', async (t) => {
  const name = `sdf-${w.id}`;
  await w.ok(['run', '--name', name, '--network', 'none', 'busybox', 'sh', '-c', 'head -c 50000 /dev/zero > /big']);
  const r = await get('/v1.41/system/df');
  t.is(r.status, 200);
  const df = JSON.parse(r.body);
  t.true(df.LayersSize > 1_000_000, 'the busybox layer');
  const img = df.Images.find((i: { RepoTags: string[] }) => i.RepoTags.includes('busybox:latest'));
  t.true(img.Containers >= 3);
  const c = df.Containers.find((x: { Names: string[] }) => x.Names[0] === `/${name}`);
  t.true(c.SizeRw >= 50_000 && c.SizeRw < 200_000, String(c.SizeRw));
  t.is(c.SizeRootFs, c.SizeRw + img.Size);
  t.deepEqual(df.Volumes, []);
  t.deepEqual(df.BuildCache, []);
  const out = await w.ok(['system', 'df']);
  t.regex(
    out,
    /^TYPE\s+TOTAL\s+ACTIVE\s+SIZE\s+RECLAIMABLE\nImages\s+1\s+1\s+[\d.]+MB\s+0B \(0%\)\nContainers\s+\d+\s+\d+\s+[\d.]+kB/,
  );
  await w.ok(['rm', name]);
});
