/**
 * Section "ports": (a) publishing 1000 ports on one container, as one range and as 1000 `-p`
 * flags: `run -d` time minus a no-port `run -d`, plus the daemon side (POST start with 1000 ports
 * minus without) and the `rm -f`; (b) the daemon's cost of one more `run --rm -p` while 10, 100
 * and 1000 ports are already published by other containers, and (c) the firewall's CPU for
 * publishing and for unpublishing one port with 10, 100 and 1000 endpoints publishing, both
 * backends — neither may grow with the number already there (ports-flat.ts; (c) is the
 * `ports-flat` report row).
 */
import type { World } from '../test/helpers/world.js';
import { firewallPortCpu, onePortMore } from './ports-flat.js';
import { benchWorld, apiOk, createBody, ms, ok, stats, table, timingRow, type BenchOptions, type SectionResult } from './lib.js';

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

export async function benchPorts(o: BenchOptions): Promise<SectionResult> {
  const NA = o.quick ? 3 : 5;
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

    const flat = await onePortMore(o);
    const cpu = await firewallPortCpu(o);
    const text = [`(a) 1 warm-up + ${NA} rounds, interleaved`, '', table(rowsA), '', flat.text, '', cpu.text].join('\n');
    return {
      text,
      report: [cpu.row],
      headlines: [
        {
          what: '1000 ports on one container (range)',
          value: `+${ms(rangeCost)} ms`,
          against: `${rangeCost.toFixed(0)} µs/port over a no-port run -d (${ms(stats(a.none!).median)} ms)`,
        },
        flat.headline,
        cpu.headline,
      ],
    };
  } finally {
    await w.teardown();
  }
}
