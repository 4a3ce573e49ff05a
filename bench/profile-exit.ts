/**
 * Not a benchmark section: an A/B profiling aid for the exit / wait / remove half of
 * `run --rm` (issue 14.2). Two worlds, one daemon from this checkout and one from `--base DIR`
 * (another checkout's build: its `dist/daemon/main.js` and `src/runtime/native/tsnet-init`),
 * driven alternately with the daemon side of `run --rm --network <user bridge> busybox true` as
 * raw requests: create (AutoRemove), wait?condition=removed (Docker CLI's --rm wait), start.
 * Per run: the wall time from the start reply to the wait reply (the container's exit, its
 * exit recorded and its removal), the whole run, and the daemon's CPU time (sum of the
 * daemon's threads' /proc schedstat run time, ns resolution) over the run. `--delete`: the
 * older flow instead (wait?condition=next-exit, then DELETE ?force=1), each timed.
 * With TSNET_TIMING=1 in the daemons' environment (`--timing`) their per-step log is copied to
 * `--log PREFIX` (PREFIX-new.log, PREFIX-base.log).
 *
 *   node --import tsx bench/profile-exit.ts [--n 15] [--base /tmp/base] [--ports] [--delete] [--backend nftables]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createWorld, type World } from '../test/helpers/world.js';
import { apiOk, argOption, createBody, median, threadsCpuMs } from './lib.js';

const args = process.argv.slice(2);
const opt = (name: string): string | undefined => argOption(args, name);
const N = Number(opt('--n') ?? 15);
const base = opt('--base');
const backend = opt('--backend');
const ports = args.includes('--ports');
const deleteFlow = args.includes('--delete');
const timing = args.includes('--timing');
const logOut = opt('--log');

interface Side {
  name: string;
  world: World;
  pid: number;
  t: Record<string, number[]>;
}

async function makeSide(name: string, repo: string | undefined): Promise<Side> {
  let wrapper = '';
  if (repo) {
    // the world runs `<wrap> node --enable-source-maps <this repo's daemon> ARGS`: run the other build's
    wrapper = path.join(os.tmpdir(), `tsnet-profile-exit-${process.pid}-${name}.sh`);
    fs.writeFileSync(
      wrapper,
      `#!/bin/sh\nshift 3\nexec node --enable-source-maps ${path.resolve(repo, 'dist/daemon/main.js')} --init-path ${path.resolve(repo, 'src/runtime/native/tsnet-init')} "$@"\n`,
      { mode: 0o755 },
    );
    const script = wrapper;
    process.once('exit', () => fs.rmSync(script, { force: true }));
  }
  const world = await createWorld({
    daemonArgs: ['--log-level', 'info', ...(backend ? ['--firewall-backend', backend] : [])],
  });
  await world.killDaemon('SIGTERM');
  process.env.TSNET_DAEMON_WRAP = wrapper;
  await world.startDaemon([], timing ? { TSNET_TIMING: '1' } : {});
  process.env.TSNET_DAEMON_WRAP = '';
  await world.ok(['network', 'create', 'profnet']);
  return { name, world, pid: world.daemon!.pid!, t: { exitToRemoved: [], wait: [], delete: [], total: [], cpu: [] } };
}

const portMap: Record<string, Array<{ HostIp: string; HostPort: string }>> = ports
  ? { '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '18080' }] }
  : {};

async function once(s: Side, keep: boolean): Promise<void> {
  const sock = s.world.socket;
  const cpu0 = threadsCpuMs(s.pid);
  const t0 = performance.now();
  const body = createBody('profnet', ['true'], portMap) as { HostConfig: Record<string, unknown> };
  if (!deleteFlow) body.HostConfig.AutoRemove = true;
  const c = await apiOk(sock, 'POST', '/containers/create', body);
  const id = (JSON.parse(c.body) as { Id: string }).Id;
  const waiting = apiOk(sock, 'POST', `/containers/${id}/wait?condition=${deleteFlow ? 'next-exit' : 'removed'}`);
  await apiOk(sock, 'POST', `/containers/${id}/start`);
  const tStarted = performance.now();
  await waiting;
  const tExited = performance.now();
  let del = 0;
  if (deleteFlow) del = (await apiOk(sock, 'DELETE', `/containers/${id}?force=1`)).ms;
  const total = performance.now() - t0;
  const cpu = threadsCpuMs(s.pid) - cpu0;
  if (!keep) return;
  s.t.exitToRemoved!.push(tExited - tStarted + del);
  s.t.wait!.push(tExited - tStarted);
  s.t.delete!.push(del);
  s.t.total!.push(total);
  s.t.cpu!.push(cpu);
}

const sides: Side[] = [];
try {
  sides.push(await makeSide('new', undefined));
  if (base) sides.push(await makeSide('base', base));
  const loads: number[] = [];
  for (let i = -2; i < N; i++) {
    const order = i % 2 === 0 ? sides : [...sides].reverse();
    for (const s of order) await once(s, i >= 0);
    loads.push(os.loadavg()[0]!);
  }
  // the background deletes (trash) finish: their CPU is the daemon's too, just not on the reply path
  await new Promise((r) => setTimeout(r, 1000));
  console.log(
    `${N} runs each, alternating; ${deleteFlow ? 'wait next-exit + DELETE' : 'AutoRemove + wait removed'}${ports ? ', -p' : ''}; load average ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)}`,
  );
  for (const s of sides) {
    const line = Object.entries(s.t)
      .filter(([k]) => deleteFlow || (k !== 'wait' && k !== 'delete'))
      .map(([k, xs]) => `${k} ${median(xs).toFixed(1)}`)
      .join('  ');
    console.log(`${s.name.padEnd(5)} median ms: ${line}`);
  }
} finally {
  for (const s of sides) {
    await s.world.killDaemon('SIGTERM');
    if (logOut) fs.copyFileSync(path.join(s.world.dir, 'daemon.log'), `${logOut}-${s.name}.log`);
    await s.world.teardown();
  }
}
