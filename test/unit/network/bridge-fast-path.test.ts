import test from 'ava';
import type { PeerRedirect } from '../../../src/kernel/peer-redirect.js';
import { createFastPath, JOIN_DELAY_MS } from '../../../src/network/drivers/bridge/fast-path.js';
import { parseBridgeOptions } from '../../../src/network/drivers/bridge/options.js';

const silent = { debug() {}, info() {}, warn() {}, error() {} };

function fake(fail?: string) {
  const log: string[] = [];
  const redirect: PeerRedirect = {
    table(name) {
      if (fail) throw new Error(fail);
      log.push(`table ${name}`);
      return {
        program: 7,
        name,
        put: (ip, ix, mac) => log.push(`put ${ip} ${ix} ${mac}`),
        remove: (ip) => log.push(`remove ${ip}`),
        close: () => log.push(`close ${name}`),
      };
    },
  };
  const attach = async (ix: number, fd: number, name: string) => {
    log.push(`attach ${ix} ${fd} ${name}`);
  };
  return { log, redirect, attach };
}

test('join: the filter first, then the address; leave takes the address out, once', async (t) => {
  const f = fake();
  const fp = createFastPath({
    redirect: f.redirect,
    nameToIndex: (n) => (n === 'tsA' ? 12 : 0),
    detach: async () => undefined,
    attach: f.attach,
    logger: silent,
  });
  fp.addNetwork('abcdef0123456789');
  await fp.join('abcdef0123456789', 'e1', 'tsA', ['10.0.0.2/24', 'fd00::2/64'], '02:00:00:00:00:02');
  await fp.join('abcdef0123456789', 'e2', 'tsGone', ['10.0.0.3/24', undefined], '02:00:00:00:00:03'); // no such link: nothing
  fp.leave('abcdef0123456789', 'e1');
  fp.leave('abcdef0123456789', 'e1');
  t.deepEqual(f.log, [
    'table tsnet_abcdef01',
    'attach 12 7 tsnet_abcdef01',
    'put 10.0.0.2 12 02:00:00:00:00:02',
    'put fd00::2 12 02:00:00:00:00:02',
    'remove 10.0.0.2',
    'remove fd00::2',
  ]);
  t.deepEqual(fp.describe(), { networks: 1, endpoints: 0 });
  fp.dropNetwork('abcdef0123456789');
  t.deepEqual(fp.describe(), { networks: 0, endpoints: 0 });
});

test('a network without a table (kernel refused) joins nothing; the refusal is logged once', async (t) => {
  const f = fake('create bpf map: EPERM');
  const lines: string[] = [];
  const logger = { ...silent, info: (m: string) => void lines.push(m) };
  const fp = createFastPath({
    redirect: f.redirect,
    nameToIndex: () => 5,
    attach: f.attach,
    detach: async () => undefined,
    logger,
  });
  fp.addNetwork('n1');
  fp.addNetwork('n2');
  await fp.join('n1', 'e', 'tsA', ['10.0.0.2/24'], '02:00:00:00:00:02');
  t.deepEqual(f.log, []);
  t.is(lines.length, 1);
  t.regex(lines[0]!, /fast path off .*EPERM/);
});

test('a failed attach leaves no address in the table', async (t) => {
  const f = fake();
  const fp = createFastPath({
    redirect: f.redirect,
    nameToIndex: () => 5,
    detach: async () => undefined,
    attach: async () => {
      throw new Error('ENOENT');
    },
    logger: silent,
  });
  fp.addNetwork('n1');
  await fp.join('n1', 'e', 'tsA', ['10.0.0.2/24'], '02:00:00:00:00:02');
  t.false(f.log.some((l) => l.startsWith('put')));
  t.deepEqual(fp.describe(), { networks: 1, endpoints: 0 });
});

test('option com.tsnet.bridge.fast_path: on by default, false turns it off, anything else is refused', (t) => {
  t.true(parseBridgeOptions('a'.repeat(64), {}).fastPath);
  t.false(parseBridgeOptions('a'.repeat(64), { 'com.tsnet.bridge.fast_path': 'false' }).fastPath);
  t.throws(() => parseBridgeOptions('a'.repeat(64), { 'com.tsnet.bridge.fast_path': 'maybe' }), {
    message: /invalid value "maybe" for option com.tsnet.bridge.fast_path: use true or false/,
  });
});

test('a refused table turns the fast path off for the daemon (available)', (t) => {
  const f = fake('EPERM');
  const fp = createFastPath({
    redirect: f.redirect,
    nameToIndex: () => 5,
    attach: f.attach,
    detach: async () => undefined,
    logger: silent,
  });
  t.true(fp.available());
  fp.addNetwork('n1');
  t.false(fp.available(), 'a refused table turns it off for the daemon');
});

test('a leave before or while the filter is being attached: nothing is put', async (t) => {
  const f = fake();
  let calls = 0;
  let attached: () => void = () => undefined;
  let called: () => void = () => undefined;
  const fp = createFastPath({
    redirect: f.redirect,
    nameToIndex: () => 5,
    detach: async () => undefined,
    attach: () => {
      calls++;
      called();
      return new Promise<void>((r) => (attached = r));
    },
    logger: silent,
  });
  fp.addNetwork('n1');
  // before: the join has not asked for the filter yet
  const early = fp.join('n1', 'e', 'tsA', ['10.0.0.2/24'], '02:00:00:00:00:02');
  fp.leave('n1', 'e');
  await early;
  t.is(calls, 0, 'no filter asked for');
  // while: the request is out
  const asked = new Promise<void>((r) => (called = r));
  const joining = fp.join('n1', 'e', 'tsA', ['10.0.0.2/24'], '02:00:00:00:00:02');
  await asked;
  fp.leave('n1', 'e');
  attached();
  await joining;
  t.false(f.log.some((l) => l.startsWith('put')));
  t.deepEqual(fp.describe(), { networks: 1, endpoints: 0 });
  // and a join that is let finish puts its address
  const asked2 = new Promise<void>((r) => (called = r));
  const again = fp.join('n1', 'e', 'tsA', ['10.0.0.2/24'], '02:00:00:00:00:02');
  await asked2;
  attached();
  await again;
  t.true(f.log.includes('put 10.0.0.2 5 02:00:00:00:00:02'));
});

test('forget: the filter of an existing veth goes; a missing veth or a refused request costs nothing but a log line', async (t) => {
  const detached: number[] = [];
  const warned: string[] = [];
  const fp = createFastPath({
    redirect: undefined,
    nameToIndex: (n) => ({ tsA: 12, tsB: 13 })[n] ?? 0,
    attach: async () => undefined,
    detach: async (ix) => {
      if (ix === 13) throw new Error('EPERM');
      detached.push(ix);
    },
    logger: { ...silent, warn: (m: string) => warned.push(m) },
  });
  t.false(fp.available());
  await fp.forget('tsA');
  await fp.forget('tsGone');
  await fp.forget('tsB');
  t.deepEqual(detached, [12]);
  t.is(warned.length, 1);
  t.regex(warned[0]!, /the filter of tsB stays: EPERM/);
});

test('a join attaches after JOIN_DELAY_MS, not within the request that made the endpoint; a leave within it puts nothing', async (t) => {
  const f = fake();
  const fp = createFastPath({
    redirect: f.redirect,
    nameToIndex: () => 9,
    detach: async () => undefined,
    attach: f.attach,
    logger: silent,
  });
  fp.addNetwork('n1');
  const started = performance.now();
  const slow = fp.join('n1', 'e1', 'tsA', ['10.0.0.2/24'], '02:00:00:00:00:02');
  await new Promise((r) => setTimeout(r, 5));
  t.deepEqual(f.log, ['table tsnet_n1'], 'nothing yet, 5 ms after the join');
  await slow;
  t.true(performance.now() - started >= JOIN_DELAY_MS - 1);
  t.deepEqual(f.log.slice(1), ['attach 9 7 tsnet_n1', 'put 10.0.0.2 9 02:00:00:00:00:02']);
  // a container gone within the delay (run --rm of a short command) never gets a filter
  const gone = fp.join('n1', 'e2', 'tsB', ['10.0.0.3/24'], '02:00:00:00:00:03');
  fp.leave('n1', 'e2');
  await gone;
  t.is(f.log.length, 3);
  // the restore's joins go at once
  const t0 = performance.now();
  await fp.join('n1', 'e3', 'tsC', ['10.0.0.4/24'], '02:00:00:00:00:04', { delayMs: 0 });
  t.true(performance.now() - t0 < JOIN_DELAY_MS);
  t.deepEqual(f.log.slice(3), ['attach 9 7 tsnet_n1', 'put 10.0.0.4 9 02:00:00:00:00:04']);
});

test('restore: a daemon with the fast path replaces the filter at once; one without takes it off', async (t) => {
  const f = fake();
  const detached: number[] = [];
  const opts = { nameToIndex: () => 4, attach: f.attach, detach: async (ix: number) => void detached.push(ix), logger: silent };
  const on = createFastPath({ redirect: f.redirect, ...opts });
  on.addNetwork('n1');
  const t0 = performance.now();
  await on.restore('n1', 'e1', 'tsA', ['10.0.0.2/24'], '02:00:00:00:00:02');
  t.true(performance.now() - t0 < JOIN_DELAY_MS, 'no join delay at restore');
  t.deepEqual(f.log, ['table tsnet_n1', 'attach 4 7 tsnet_n1', 'put 10.0.0.2 4 02:00:00:00:00:02']);
  t.deepEqual(detached, []);
  const off = createFastPath({ redirect: undefined, ...opts });
  off.addNetwork('n1');
  await off.restore('n1', 'e1', 'tsA', ['10.0.0.2/24'], '02:00:00:00:00:02');
  t.deepEqual(detached, [4]);
  t.is(f.log.length, 3);
});
