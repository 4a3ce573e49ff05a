/**
 * Section "ports", parts (b) and (c) (firewallPortCpu below, the report row). Part (b): the cost
 * of publishing one more port while 10, 100 and 1000 ports are already published — which must
 * not grow with the number already there (issue 14.5, DESIGN rule 5). Three worlds (daemons) hold 10, 100 and 1000 ports, 10 per container (1, 10 and 100
 * endpoints), and are measured in turn within every round, so a change in the machine's load
 * hits all three levels alike. Per round and world: the lifecycle of a container running `true`
 * with one `-p PORT:80` (POST create, start, wait, DELETE, as `run --rm`) and, right after, the
 * same without the port. The cost of the port is the paired difference (with − without) of
 * `start` + `wait` — what a user's `run --rm -p` waits for — and of the daemon's CPU (its
 * threads, plus the programs it ran, the removal included) over that pair minus over the next
 * two no-port lifecycles (a few ms in some 25 ms of a lifecycle: noise-sized on a shared machine,
 * which is why the row comes from part (c)).
 */
import fs from 'node:fs';
import { REPO, type World } from '../test/helpers/world.js';
import { CPU_LEVELS, type CpuBackend, type CpuSamples, measurePortCpu } from './ports-flat-cpu.js';
import {
  apiOk,
  benchWorld,
  createBody,
  median,
  ms,
  ok,
  stats,
  table,
  type BenchOptions,
  type Headline,
  type ReportRow,
  threadsCpuMs,
} from './lib.js';

type Bindings = Record<string, Array<{ HostIp: string; HostPort: string }>>;

const LEVELS = [10, 100, 1000] as const;
const PER_HOLDER = 10;
const FLAT_BOUND = 1.3;

/** CPU time (ms) of a process's threads (schedstat, ns) plus that of its reaped children (ticks). */
function cpuMs(pid: number): number {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  const tick = 1000 / 100; // CLK_TCK
  return threadsCpuMs(pid) + (Number(f[13]) + Number(f[14])) * tick;
}

function bindings(from: number, count: number, containerPort?: number): Bindings {
  const b: Bindings = {};
  for (let p = from; p < from + count; p++) b[`${containerPort ?? p}/tcp`] = [{ HostIp: '', HostPort: String(p) }];
  return b;
}

/** create + start + wait + delete of `busybox true`; start and wait timed. */
async function lifecycle(w: World, ports: Bindings): Promise<{ start: number; wait: number }> {
  const c = await apiOk(w.socket, 'POST', '/containers/create', createBody('portnet', ['true'], ports));
  const id = (JSON.parse(c.body) as { Id: string }).Id;
  const start = (await apiOk(w.socket, 'POST', `/containers/${id}/start`)).ms;
  const wait = (await apiOk(w.socket, 'POST', `/containers/${id}/wait`)).ms;
  await apiOk(w.socket, 'DELETE', `/containers/${id}`);
  return { start, wait };
}

interface Level {
  total: number;
  w: World;
  pid: number;
  /** Paired differences (1 port − none) per round. */
  start: number[];
  wait: number[];
  cpu: number[];
}

export async function onePortMore(o: BenchOptions): Promise<{ text: string; headline: Headline }> {
  const rounds = o.quick ? 5 : 11;
  const levels: Level[] = [];
  try {
    for (const total of LEVELS) {
      const w = await benchWorld();
      const pid = w.daemon?.pid;
      const lv: Level = { total, w, pid: pid ?? 0, start: [], wait: [], cpu: [] };
      levels.push(lv);
      if (!pid) throw new Error('ports: no daemon pid');
      ok(await w.cli(['network', 'create', 'portnet']), 'network create portnet');
      o.log(`ports: publishing ${total} ports (${total / PER_HOLDER} containers)`);
      for (let k = 0; k < total; k += PER_HOLDER) {
        const c = await apiOk(
          w.socket,
          'POST',
          '/containers/create',
          createBody('portnet', ['sleep', '100000'], bindings(20000 + k, PER_HOLDER)),
        );
        await apiOk(w.socket, 'POST', `/containers/${(JSON.parse(c.body) as { Id: string }).Id}/start`);
      }
    }
    let port = 40000;
    for (let i = -1; i < rounds; i++) {
      o.log(`ports: one more port, round ${i + 1}/${rounds}`);
      for (const lv of levels) {
        // CPU: (with port + none) − (none + none); the removal has run before the second pair
        const c0 = cpuMs(lv.pid);
        const one = await lifecycle(lv.w, bindings(port++, 1, 80));
        const none = await lifecycle(lv.w, {});
        const c1 = cpuMs(lv.pid);
        await lifecycle(lv.w, {});
        await lifecycle(lv.w, {});
        const c2 = cpuMs(lv.pid);
        if (i < 0) continue;
        lv.start.push(one.start - none.start);
        lv.wait.push(one.wait - none.wait);
        lv.cpu.push(c1 - c0 - (c2 - c1));
      }
    }
  } finally {
    for (const lv of levels) await lv.w.teardown();
  }
  const med = (xs: number[]): number => stats(xs).median;
  const cost = (lv: Level): number => med(lv.start.map((x, i) => x + lv.wait[i]!));
  const at = (n: number): Level => levels.find((l) => l.total === n)!;
  const cpu = (lv: Level): number => med(lv.cpu);
  const lo = cpu(at(10));
  const rows = [
    ['one more -p PORT:80 (paired Δ, medians)', 'start ms', 'wait ms', 'start + wait ms', 'daemon CPU ms', 'CPU ÷ at 10'],
    ...levels.map((lv) => [
      `${lv.total} published (${lv.total / PER_HOLDER} containers)`,
      ms(med(lv.start)),
      ms(med(lv.wait)),
      ms(cost(lv)),
      ms(cpu(lv)),
      lo > 0 ? `${(cpu(lv) / lo).toFixed(2)}×` : '–',
    ]),
  ];
  const text = [
    `(b) 1 warm-up + ${rounds} rounds; in each round the three daemons in turn (same run, interleaved)`,
    '',
    table(rows),
    '',
    "What a user's `run --rm -p` pays. Daemon CPU: its threads (schedstat) and its reaped children",
    '(iptables-restore) over the pair (with port, without) minus over the next two lifecycles without a port',
    '(the removal, which runs after the exit replies, is done by then). A few ms of port cost in some 25 ms',
    'of lifecycle: the paired differences are noise-sized on a shared machine, so flatness is judged in (c).',
  ].join('\n');
  return {
    text,
    headline: {
      what: '1 more port at 10/100/1000 published (daemon, run --rm)',
      value: `${levels.map((l) => ms(cpu(l))).join(' / ')} ms CPU`,
      against: `daemon CPU, paired Δ, interleaved (target: ≤ ${FLAT_BOUND}× at 10); start + wait ${levels.map((l) => ms(cost(l))).join(' / ')} ms`,
    },
  };
}

/**
 * Part (c), the `ports-flat` row: the firewall's own CPU for publishing one port and for
 * unpublishing it, apart, with 10, 100 and 1000 endpoints already publishing, both backends
 * (ports-flat-cpu.ts; getrusage of the worker and of the iptables-restore it runs, so a few
 * tenths of a ms are visible, which the daemon-level pair of part (b) cannot show). Flat: add +
 * remove at 1000 at most 1.3× at 10, on the default backend (iptables).
 */
export async function firewallPortCpu(o: BenchOptions): Promise<{ text: string; row: ReportRow; headline: Headline }> {
  const rounds = o.quick ? 7 : 15;
  const backends: CpuBackend[] = ['iptables', 'nftables'];
  const samples = await measurePortCpu({ builds: { tsnet: REPO }, backends, rounds, log: o.log });
  const at = (b: CpuBackend, n: number) => samples.find((s) => s.backend === b && s.level === n)!;
  const both = (s: CpuSamples) => median(s.add.map((x, i) => x + s.remove[i]!));
  const rows = [
    ['one port, firewall CPU (medians)', 'endpoints publishing', 'publish ms', 'unpublish ms', 'both ms', 'both ÷ at 10'],
    ...backends.flatMap((b) =>
      CPU_LEVELS.map((n) => [
        b,
        String(n),
        ms(median(at(b, n).add)),
        ms(median(at(b, n).remove)),
        ms(both(at(b, n))),
        `${(both(at(b, n)) / both(at(b, 10))).toFixed(2)}×`,
      ]),
    ),
  ];
  const text = [
    `(c) 1 warm-up + ${rounds} rounds; in each round every (backend, level) in turn publishes one more port and removes it`,
    '',
    table(rows),
    '',
    'CPU of the operation: the worker process (libnftables runs in-process) plus the iptables-restore it',
    'spawns (getrusage of self and reaped children, ns resolution), as the daemon runs them (posix_spawn).',
    `Flat when publish + unpublish at 1000 is ≤ ${FLAT_BOUND}× at 10 (iptables, the default backend).`,
  ].join('\n');
  const ipt = (n: number) => at('iptables', n);
  return {
    text,
    row: {
      group: 'scale',
      key: 'ports-flat',
      what: `publish + unpublish one port with 1000 endpoints publishing: firewall CPU, iptables (publish ${ms(median(ipt(1000).add))} + unpublish ${ms(median(ipt(1000).remove))} ms)`,
      tsnet: both(ipt(1000)),
      peers: { 'with 10 publishing (same run)': both(ipt(10)) },
      target: `with 10 publishing (same run) ${FLAT_BOUND}`,
    },
    headline: {
      what: '1 port at 10/100/1000 publishing: publish + unpublish',
      value: `${CPU_LEVELS.map((n) => ms(both(ipt(n)))).join(' / ')} ms CPU (iptables)`,
      against: `nftables ${CPU_LEVELS.map((n) => ms(both(at('nftables', n)))).join(' / ')} ms; target ≤ ${FLAT_BOUND}× at 10`,
    },
  };
}
