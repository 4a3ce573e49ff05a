/**
 * Not a benchmark section: a profiling aid for issue 14. Drives the daemon side of
 * `run --rm --network <user bridge> busybox true` as raw requests (create, start, wait,
 * delete; the CLI's attach is left out) N times in a throwaway world and prints the median of
 * each request. With `--cpu-prof DIR` tsnetd runs with `--cpu-prof` and writes its profile there
 * at exit; with `--strace FILE` it runs under `strace -f -e trace=execve,clone,clone3`.
 * The daemon's per-step timing log (TSNET_TIMING=1) goes to the world's daemon.log, which is
 * copied to `--log FILE`.
 *
 * It also prints the daemon's CPU time per run (own and its children's, from /proc), which a
 * loaded machine disturbs less than wall time.
 *
 *   node --import tsx bench/profile-run.ts [--n 30] [--ports] [--net-create] [--cpu-prof DIR] [--log FILE] [--backend nftables]
 */
import fs from 'node:fs';
import path from 'node:path';
import { createWorld } from '../test/helpers/world.js';
import { apiOk, createBody, median } from './lib.js';

const args = process.argv.slice(2);
const opt = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const N = Number(opt('--n') ?? 30);
const prof = opt('--cpu-prof');
const logOut = opt('--log');
const backend = opt('--backend');
const ports = args.includes('--ports');
const stracePath = opt('--strace');
// --net-create: a network create/rm after each run too (timed; the old default)
const netCreate = args.includes('--net-create');

const wrap: string[] = [];
if (stracePath) wrap.push(`strace -f -qq -e trace=execve -o ${stracePath}`);
if (prof) {
  // NODE_OPTIONS refuses --cpu-prof: a wrapper replaces the `node` the world spawns
  const script = path.join(path.resolve(prof), 'node-prof.sh');
  fs.mkdirSync(path.dirname(script), { recursive: true });
  fs.writeFileSync(script, `#!/bin/sh\nshift\nexec node --cpu-prof --cpu-prof-dir=${path.resolve(prof)} "$@"\n`, { mode: 0o755 });
  wrap.push(script);
}
const w = await createWorld({
  daemonArgs: ['--log-level', 'info', ...(backend ? ['--firewall-backend', backend] : [])],
});
async function main(): Promise<void> {
  // restart with the profiler / timing log on
  await w.killDaemon('SIGTERM');
  process.env.TSNET_DAEMON_WRAP = wrap.join(' ');
  await w.startDaemon([], { TSNET_TIMING: '1' });
  process.env.TSNET_DAEMON_WRAP = '';
  await w.ok(['network', 'create', 'profnet']);
  const scale = Number(opt('--scale') ?? 0);
  if (scale > 0) {
    // create `scale` containers (not started) on one bridge; the daemon's timing log has each step
    const xs: number[] = [];
    for (let i = 0; i < scale; i++) {
      const c = await apiOk(w.socket, 'POST', '/containers/create', createBody('profnet'));
      xs.push(c.ms);
      if (i % 50 === 49) {
        const fds = w.daemon?.pid ? fs.readdirSync(`/proc/${w.daemon.pid}/fd`).length : 0;
        console.log(`#${i + 1 - 9}..#${i + 1} median ${median(xs.slice(-10)).toFixed(1)} ms, daemon fds ${fds}`);
      }
    }
    console.log(`#1..#10 median ${median(xs.slice(0, 10)).toFixed(1)} ms`);
    const t0 = performance.now();
    await apiOk(w.socket, 'GET', '/containers/json?all=1');
    const tPs = performance.now() - t0;
    const t1 = performance.now();
    await apiOk(w.socket, 'GET', '/networks/profnet');
    console.log(
      `GET /containers/json?all=1 ${tPs.toFixed(1)} ms, GET /networks/profnet ${(performance.now() - t1).toFixed(1)} ms`,
    );
    await w.killDaemon('SIGTERM');
    if (logOut) fs.copyFileSync(path.join(w.dir, 'daemon.log'), logOut);
    return;
  }
  const t: Record<string, number[]> = { create: [], start: [], wait: [], delete: [], total: [], netCreate: [] };
  const portMap: Record<string, Array<{ HostIp: string; HostPort: string }>> = ports
    ? { '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '18080' }] }
    : {};
  // the daemon's CPU time (its own, and its reaped children's) over the measured runs: less
  // sensitive to a loaded machine than wall time
  const cpu = (): { self: number; children: number } => {
    const pid = w.daemon?.pid;
    if (!pid) return { self: 0, children: 0 };
    const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const v = f
      .slice(f.lastIndexOf(')') + 2)
      .split(' ')
      .map(Number);
    const tick = 1000 / 100; // USER_HZ
    return { self: (v[11]! + v[12]!) * tick, children: (v[13]! + v[14]!) * tick };
  };
  let cpu0 = cpu();
  for (let i = -2; i < N; i++) {
    if (i === 0) cpu0 = cpu();
    const t0 = performance.now();
    const c = await apiOk(w.socket, 'POST', '/containers/create', createBody('profnet', ['true'], portMap));
    const id = (JSON.parse(c.body) as { Id: string }).Id;
    const waiting = apiOk(w.socket, 'POST', `/containers/${id}/wait?condition=next-exit`);
    const s = await apiOk(w.socket, 'POST', `/containers/${id}/start`);
    const tStarted = performance.now();
    await waiting;
    const tExited = performance.now();
    const d = await apiOk(w.socket, 'DELETE', `/containers/${id}?force=1`);
    const total = performance.now() - t0;
    if (i < 0) continue;
    const nc = netCreate
      ? await apiOk(w.socket, 'POST', '/networks/create', { Name: `pn${i + 2}`, CheckDuplicate: true })
      : undefined;
    if (nc) await apiOk(w.socket, 'DELETE', `/networks/pn${i + 2}`);
    t.create!.push(c.ms);
    t.start!.push(s.ms);
    t.wait!.push(tExited - tStarted);
    t.delete!.push(d.ms);
    t.total!.push(total);
    if (nc) t.netCreate!.push(nc.ms);
  }
  const cpu1 = cpu();
  const links = await w.inHost(['ip', '-o', 'link', 'show', 'type', 'veth']);
  console.log(`veths left in the world host netns: ${links.stdout.split('\n').filter(Boolean).length}`);
  for (const [k, xs] of Object.entries(t)) {
    if (xs.length) console.log(`${k.padEnd(10)} median ${median(xs).toFixed(1)} ms  (min ${Math.min(...xs).toFixed(1)})`);
  }
  const perRun = (x: number) => (x / N).toFixed(1);
  console.log(
    `daemon CPU per run: ${perRun(cpu1.self - cpu0.self)} ms, its children ${perRun(cpu1.children - cpu0.children)} ms (10 ms ticks, over ${N} runs${netCreate ? ', network create/rm included' : ''})`,
  );
  await w.killDaemon('SIGTERM');
  if (logOut) fs.copyFileSync(path.join(w.dir, 'daemon.log'), logOut);
}
try {
  await main();
} finally {
  if (logOut) fs.copyFileSync(path.join(w.dir, 'daemon.log'), logOut);
  await w.teardown();
}
