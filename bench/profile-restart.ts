/**
 * Not a benchmark section: a profiling aid for the daemon's restart with many containers (see
 * bench/restart.ts for the fleet and what is timed). One world with `--n` containers; then
 * `--rounds` restarts, each timed.
 *
 * - `--ab DIR`: alternate restarts between the daemon built in checkout DIR (A) and this one (B),
 *   on the same world (an A/B on a shared machine).
 * - `--cpu-prof DIR`: the daemons run with `--cpu-prof` (a profile per daemon run, written at exit).
 * - `--strace FILE`: the daemons run under `strace -f -e trace=execve,sendto,sendmsg`; FILE.<side>.<round>.
 * - `--backend nftables`: the firewall backend.
 * - `--kill`: the daemon is stopped with SIGKILL (a crash: no DNS hand-off) instead of SIGTERM.
 *
 *   node --import tsx bench/profile-restart.ts [--n 1000] [--rounds 5] [--ab DIR] [--cpu-prof DIR]
 *     [--strace FILE] [--backend nftables] [--kill]
 */
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createWorld, type World } from '../test/helpers/world.js';
import { argOption, daemonWrapper, median } from './lib.js';
import { populate, timeRestart, type RestartTimes } from './restart.js';

const args = process.argv.slice(2);
const opt = (name: string): string | undefined => argOption(args, name);
const N = Number(opt('--n') ?? 1000);
const ROUNDS = Number(opt('--rounds') ?? 5);
const other = opt('--ab');
const prof = opt('--cpu-prof');
const stracePath = opt('--strace');
const backend = opt('--backend');
const signal = args.includes('--kill') ? 'SIGKILL' : 'SIGTERM';
const HERE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const load = (): string =>
  os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');

const sides = [...(other ? [{ name: 'A', repo: other }] : []), { name: other ? 'B' : 'run', repo: HERE }];
// a world per side (a daemon hands its DNS ports to the next one of its kind: sides must not share one)
const worlds: World[] = [];
try {
  for (const s of sides) {
    const w = await createWorld({ daemonArgs: ['--log-level', 'info', ...(backend ? ['--firewall-backend', backend] : [])] });
    worlds.push(w);
    const t0 = performance.now();
    const fleet = await populate(w, N, (x) => console.log(`${s.name}: ${x}`));
    console.log(
      `${s.name}: ${N} containers in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${fleet.running.length} running (${fleet.published} with a published port), ${fleet.exited.length} exited, ${fleet.created.length} created; load ${load()}`,
    );
  }
  const got = new Map<string, RestartTimes[]>(sides.map((s) => [s.name, []]));
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 === 0 ? sides : [...sides].reverse();
    for (const s of order) {
      const tag = `${s.name}-${r}`;
      const wrap = [
        ...(stracePath ? [`strace -f -qq -e trace=execve,sendto,sendmsg -o ${stracePath}.${tag}`] : []),
        daemonWrapper(s.name, s.repo, prof),
      ].join(' ');
      const t = await timeRestart(worlds[sides.indexOf(s)]!, wrap, {}, signal);
      got.get(s.name)!.push(t);
      console.log(
        `${tag}: ping ${t.ping.toFixed(0)} ms, ps ${t.ps.toFixed(0)} ms (${t.listed} listed), restore done ${t.done.toFixed(0)} ms, CPU ${t.cpu} ms; load ${load()}${t.line ? `\n  ${t.line}` : ''}`,
      );
    }
  }
  for (const s of sides) {
    const xs = got.get(s.name)!;
    const m = (k: 'ping' | 'ps' | 'done' | 'cpu'): string => median(xs.map((x) => x[k])).toFixed(0);
    console.log(
      `== ${s.name} (${s.repo}): medians of ${xs.length}: ping ${m('ping')} ms, ps ${m('ps')} ms, restore done ${m('done')} ms, CPU ${m('cpu')} ms`,
    );
  }
  for (const w of worlds) await w.killDaemon('SIGTERM');
} finally {
  for (const w of worlds) await w.teardown();
}
