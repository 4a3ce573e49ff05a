import test from 'ava';
import { checkHealthcheck, goDuration, mergeHealthcheck, probeSettings } from '../../../src/runtime/health/config.js';
import { applyProbe, initialHealth } from '../../../src/runtime/health/state.js';

const MS = 1e6;
const started = '2026-01-01T00:00:00.000Z';
const at = (ms: number) => new Date(Date.parse(started) + ms).toISOString();
const probe = (ms: number, code: number, out = '') => ({ Start: at(ms), End: at(ms + 1), ExitCode: code, Output: out });

test('merge with the image: empty Test and zero fields inherit', (t) => {
  const image = { Test: ['CMD', 'true'], Interval: 5000 * MS, Retries: 2 };
  t.deepEqual(mergeHealthcheck(undefined, image), image);
  t.deepEqual(mergeHealthcheck({ Retries: 7 }, image), { Test: ['CMD', 'true'], Interval: 5000 * MS, Retries: 7 });
  t.deepEqual(mergeHealthcheck({ Test: ['NONE'] }, image)?.Test, ['NONE']);
  t.is(probeSettings(mergeHealthcheck({ Test: ['NONE'] }, image)), undefined);
});

test('probe settings: Docker defaults, CMD-SHELL through /bin/sh -c', (t) => {
  const s = probeSettings({ Test: ['CMD-SHELL', 'curl -f x'] })!;
  t.deepEqual(s.argv, ['/bin/sh', '-c', 'curl -f x']);
  t.is(s.intervalMs, 30_000);
  t.is(s.timeoutMs, 30_000);
  t.is(s.retries, 3);
  t.is(s.startIntervalMs, 5000);
  t.deepEqual(probeSettings({ Test: ['CMD', 'a', 'b'], Interval: 1500 * MS })!.argv, ['a', 'b']);
  t.is(probeSettings({ Test: ['CMD', 'a'], Interval: 1500 * MS })!.intervalMs, 1500);
});

test('checks: durations under 1 ms, negative retries, unknown test forms', (t) => {
  t.throws(() => checkHealthcheck({ Interval: 10 }), { message: /Interval in Healthcheck cannot be less than 1ms/ });
  t.throws(() => checkHealthcheck({ Retries: -1 }), { message: /cannot be negative/ });
  t.throws(() => checkHealthcheck({ Test: ['CMD-SHELL'] }), { message: /invalid Healthcheck.Test/ });
  t.notThrows(() => checkHealthcheck({ Test: [] }));
});

test('results: healthy on success; failures in the start period do not count; unhealthy at Retries; 5 kept', (t) => {
  const s = { retries: 2, startPeriodMs: 1000 };
  let h = initialHealth();
  h = applyProbe(h, probe(100, 1), s, started);
  t.is(h.Status, 'starting');
  t.is(h.FailingStreak, 0, 'inside the start period');
  h = applyProbe(h, probe(1500, 1), s, started);
  t.is(h.FailingStreak, 1);
  t.is(h.Status, 'starting');
  h = applyProbe(h, probe(2500, 1), s, started);
  t.is(h.Status, 'unhealthy');
  h = applyProbe(h, probe(3500, 0, 'fine'), s, started);
  t.is(h.Status, 'healthy');
  t.is(h.FailingStreak, 0);
  h = applyProbe(h, probe(4500, 1), s, started);
  t.is(h.Status, 'healthy', 'one failure below Retries keeps healthy');
  for (let i = 0; i < 5; i++) h = applyProbe(h, probe(5000 + i, 0, 'x'.repeat(5000)), s, started);
  t.is(h.Log.length, 5);
  t.is(h.Log[0]!.Output.length, 4096);
});

test('goDuration prints like Go', (t) => {
  t.is(goDuration(300), '300ms');
  t.is(goDuration(2000), '2s');
  t.is(goDuration(90_000), '1m30s');
});

test('a probe whose exit status comes before its output still keeps the output', async (t) => {
  const { runProbe } = await import('../../../src/runtime/health/probe.js');
  const frame = (s: string) => {
    const b = Buffer.from(s);
    const h = Buffer.alloc(8);
    h[0] = 1;
    h.writeUInt32BE(b.length, 4);
    return Buffer.concat([h, b]);
  };
  const inst = { id: 'e1', bundle: '/nonexistent', exitCode: null as number | null };
  const execs = {
    create: () => inst,
    // the exit is known at once; the supervisor's stream delivers the output 30 ms later
    start: async (_id: string, conn: NodeJS.WritableStream) => {
      inst.exitCode = 1;
      setTimeout(() => {
        conn.write(frame('probe-out\n'));
        conn.end();
      }, 30);
    },
    get: () => inst,
    forget: () => undefined,
  };
  const r = await runProbe(execs as never, { id: 'c1' } as never, ['true'], 5000);
  t.deepEqual(r, { exitCode: 1, output: 'probe-out\n' });
});
