/**
 * Section "ports": (a) publishing 1000 ports on one container, as one range and as 1000 `-p`
 * flags: `run -d` time minus a no-port `run -d`, plus the daemon side (POST start with 1000 ports
 * minus without) and the `rm -f`; (b) the cost of publishing one more port (a new container with
 * one `-p`) while 10, 100 and 1000 ports are already published by other containers — which should
 * not grow with the number already there.
 */
import type { World } from '../test/helpers/world.js';
import {
  benchWorld,
  api,
  apiOk,
  createBody,
  ms,
  ok,
  stats,
  table,
  timingRow,
  type BenchOptions,
  type SectionResult,
} from './lib.js';

type Bindings = Record<string, Array<{ HostIp: string; HostPort: string }>>;

function bindings(from: number, count: number): Bindings {
  const b: Bindings = {};
  for (let p = from; p < from + count; p++) b[`${p}/tcp`] = [{ HostIp: '', HostPort: String(p) }];
  return b;
}

/** Create (timed) and start (timed) via the API; returns the id. */
async function apiCreateStart(w: World, net: string, ports: Bindings): Promise<{ id: string; create: number; start: number }> {
  const c = await apiOk(w.socket, 'POST', '/containers/create', createBody(net, ['sleep', '1000'], ports));
  const id = (JSON.parse(c.body) as { Id: string }).Id;
  const s = await apiOk(w.socket, 'POST', `/containers/${id}/start`);
  return { id, create: c.ms, start: s.ms };
}

const diff = (a: number[], b: number[]): number => stats(a).median - stats(b).median;
const paired = (a: number[], b: number[]): number => stats(a.map((x, i) => x - b[i]!)).median;

export async function benchPorts(o: BenchOptions): Promise<SectionResult> {
  const NA = o.quick ? 3 : 5;
  const NB = o.quick ? 3 : 7;
  const w = await benchWorld();
  try {
    ok(await w.cli(['network', 'create', 'portnet']), 'network create portnet');
    const runD = async (extra: string[]): Promise<{ id: string; ms: number }> => {
      const r = ok(
        await w.cli(['run', '-d', '--network', 'portnet', ...extra, 'busybox', 'sleep', '1000']),
        `run -d ${extra.slice(0, 4).join(' ')}`,
      );
      return { id: r.stdout.trim(), ms: r.ms };
    };
    const rmF = async (id: string): Promise<number> => ok(await w.cli(['rm', '-f', id]), 'rm -f').ms;

    // (a) 1000 ports on one container.
    const flags: string[] = [];
    for (let p = 20000; p < 21000; p++) flags.push('-p', `${p}:${p}`);
    const a: Record<string, number[]> = {
      none: [],
      range: [],
      flags: [],
      rmNone: [],
      rmRange: [],
      rmFlags: [],
      startNone: [],
      startRange: [],
      createNone: [],
      createRange: [],
    };
    for (let i = -1; i < NA; i++) {
      o.log(`ports: 1000-port round ${i + 1}/${NA}`);
      const n = await runD([]);
      const rn = await rmF(n.id);
      const r = await runD(['-p', '20000-20999:20000-20999']);
      const rr = await rmF(r.id);
      const f = await runD(flags);
      const rf = await rmF(f.id);
      const an = await apiCreateStart(w, 'portnet', {});
      await apiOk(w.socket, 'DELETE', `/containers/${an.id}?force=1`);
      const ar = await apiCreateStart(w, 'portnet', bindings(20000, 1000));
      await apiOk(w.socket, 'DELETE', `/containers/${ar.id}?force=1`);
      if (i < 0) continue;
      a.none!.push(n.ms);
      a.range!.push(r.ms);
      a.flags!.push(f.ms);
      a.rmNone!.push(rn);
      a.rmRange!.push(rr);
      a.rmFlags!.push(rf);
      a.startNone!.push(an.start);
      a.startRange!.push(ar.start);
      a.createNone!.push(an.create);
      a.createRange!.push(ar.create);
    }
    const rangeCost = diff(a.range!, a.none!);
    const flagsCost = diff(a.flags!, a.none!);
    const rowsA = [
      ['1000 published ports on one container', 'n', 'median ms', 'min', 'max', '− no ports', 'per port'],
      timingRow('run -d, no ports', a.none!, '', ''),
      timingRow('run -d -p 20000-20999:20000-20999 (one range)', a.range!, ms(rangeCost), `${rangeCost.toFixed(0)} µs`),
      timingRow('run -d with 1000 separate -p flags', a.flags!, ms(flagsCost), `${flagsCost.toFixed(0)} µs`),
      timingRow('API POST create, no ports', a.createNone!, '', ''),
      timingRow('API POST create, 1000 ports', a.createRange!, ms(diff(a.createRange!, a.createNone!)), ''),
      timingRow('API POST start, no ports', a.startNone!, '', ''),
      timingRow(
        'API POST start, 1000 ports (reserve + iptables)',
        a.startRange!,
        ms(diff(a.startRange!, a.startNone!)),
        `${diff(a.startRange!, a.startNone!).toFixed(0)} µs`,
      ),
      timingRow('rm -f, no ports', a.rmNone!, '', ''),
      timingRow('rm -f, 1000 ports (range)', a.rmRange!, ms(diff(a.rmRange!, a.rmNone!)), ''),
      timingRow('rm -f, 1000 ports (flags)', a.rmFlags!, ms(diff(a.rmFlags!, a.rmNone!)), ''),
    ];

    // (b) one more port with 10, 100, 1000 already published by other containers.
    const holders: string[] = [];
    const levels: Array<{ total: number; from: number; count: number }> = [
      { total: 10, from: 21000, count: 10 },
      { total: 100, from: 21010, count: 90 },
      { total: 1000, from: 21100, count: 900 },
    ];
    const rowsB: string[][] = [['one more port, with N already published', 'n', 'median ms', 'min', 'max', 'paired Δ']];
    const perPortCli: number[] = [];
    const perPortApi: number[] = [];
    let seq = 0;
    for (const lv of levels) {
      holders.push((await runD(['-p', `${lv.from}-${lv.from + lv.count - 1}:${lv.from}-${lv.from + lv.count - 1}`])).id);
      const s: Record<string, number[]> = { one: [], none: [], apiOne: [], apiNone: [] };
      for (let i = -1; i < NB; i++) {
        o.log(`ports: ${lv.total} published, round ${i + 1}/${NB}`);
        const port = 30000 + seq++;
        const one = await runD(['-p', `${port}:80`]);
        const none = await runD([]);
        await w.cli(['rm', '-f', one.id, none.id]);
        const a1 = await apiCreateStart(w, 'portnet', { '80/tcp': [{ HostIp: '', HostPort: String(port) }] });
        const a0 = await apiCreateStart(w, 'portnet', {});
        await api(w.socket, 'DELETE', `/containers/${a1.id}?force=1`);
        await api(w.socket, 'DELETE', `/containers/${a0.id}?force=1`);
        if (i < 0) continue;
        s.one!.push(one.ms);
        s.none!.push(none.ms);
        s.apiOne!.push(a1.start);
        s.apiNone!.push(a0.start);
      }
      // median of the paired differences (each round's 1-port minus its no-port neighbour)
      const dc = paired(s.one!, s.none!);
      const da = paired(s.apiOne!, s.apiNone!);
      perPortCli.push(dc);
      perPortApi.push(da);
      rowsB.push(timingRow(`${lv.total} published: run -d -p PORT:80`, s.one!, ms(dc)));
      rowsB.push(timingRow(`${lv.total} published: run -d (no port)`, s.none!, ''));
      rowsB.push(timingRow(`${lv.total} published: API start, 1 port`, s.apiOne!, ms(da)));
      rowsB.push(timingRow(`${lv.total} published: API start, no port`, s.apiNone!, ''));
    }
    await w.cli(['rm', '-f', ...holders]);

    const flat = [
      ['cost of 1 more port (median of paired Δ)', '10 published', '100 published', '1000 published'],
      ['run -d (whole CLI command), ms', ...perPortCli.map(ms)],
      ['API POST start, ms', ...perPortApi.map(ms)],
    ];
    const text = [
      `(a) 1 warm-up + ${NA} rounds, interleaved; (b) 1 warm-up + ${NB} rounds per level`,
      '',
      table(rowsA),
      '',
      table(rowsB),
      '',
      table(flat),
      '',
      '(a): differences of medians; (b): median of per-round differences (1 port − no port, run back to back).',
      "The whole-command deltas carry the CLI's noise (± 10 ms on this 2-vCPU VM); the API start delta is the cleaner one.",
    ].join('\n');
    return {
      text,
      headlines: [
        {
          what: '1000 ports on one container (range)',
          value: `+${ms(rangeCost)} ms`,
          against: `${rangeCost.toFixed(0)} µs/port over a no-port run -d (${ms(stats(a.none!).median)} ms)`,
        },
        {
          what: '1 more port at 10/100/1000 published',
          value: `${perPortApi.map((x) => ms(x)).join(' / ')} ms`,
          against: `API start delta; run -d delta ${perPortCli.map(ms).join(' / ')} ms (target: flat)`,
        },
      ],
    };
  } finally {
    await w.teardown();
  }
}
