/**
 * Container dirs made ahead (src/runtime/container/dir-pool.ts, decision 62), on a real file
 * system in a temp dir with the real file thread: the layout and modes of an entry are a
 * container dir's; the start removes what an earlier daemon left (whole or half made); a take
 * hands each entry out once; the refill follows the create; the stop removes every entry; a
 * failing fill is logged and not retried until the next take. The create's use of an entry
 * (rename into place, fallback) is test/integration/container-dir-pool.test.ts's.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { containerDirOps } from '../../../src/runtime/container/container-dirs.js';
import { ContainerDirPool } from '../../../src/runtime/container/dir-pool.js';
import { dirLayout } from '../../../src/runtime/container/paths.js';
import { createFileThread, type FileThread } from '../../../src/store/file-thread.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, ok: () => boolean, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

function setup(t: { teardown: (fn: () => void | Promise<void>) => void }, size: number, thread?: FileThread) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-dirpool-'));
  const th = thread ?? createFileThread();
  const warnings: string[] = [];
  const pool = new ContainerDirPool({
    dir: path.join(root, 'container-pool'),
    target: path.join(root, 'containers'),
    size,
    thread: th,
    logger: { debug() {}, info() {}, warn: (m: string) => warnings.push(m), error() {} },
  });
  t.teardown(async () => {
    await pool.stop();
    await th.close();
    fs.rmSync(root, { recursive: true, force: true });
  });
  return { root, pool, warnings, poolDir: path.join(root, 'container-pool') };
}

const mode = (p: string) => fs.statSync(p).mode & 0o7777;

test('an entry is laid out as a container dir, with its modes; the start makes the target dir', async (t) => {
  const { root, pool } = setup(t, 2);
  t.deepEqual(pool.start(), []);
  await until('two entries', () => pool.available === 2);
  const entry = pool.take()!;
  t.truthy(entry);
  const l = dirLayout(entry);
  t.is(mode(l.dir), 0o700);
  t.is(mode(path.dirname(l.upper)), 0o755);
  for (const d of [l.upper, l.work, l.rootfs]) {
    t.true(fs.statSync(d).isDirectory(), d);
    t.is(mode(d), 0o755, d);
    t.deepEqual(fs.readdirSync(d), [], `${d} is empty`);
  }
  t.is(mode(l.log), 0o640);
  for (const f of [l.hosts, l.hostname, l.resolvConf, l.log]) t.is(fs.statSync(f).size, 0, f);
  // exactly what a create makes without a pool
  const made = containerDirOps(dirLayout(path.join(root, 'x'))).map((o) =>
    path.relative(path.join(root, 'x'), 'path' in o ? o.path : ''),
  );
  const walk = (d: string): string[] =>
    fs.readdirSync(d, { withFileTypes: true }).flatMap((e) => {
      const p = path.join(d, e.name);
      return [path.relative(entry, p), ...(e.isDirectory() ? walk(p) : [])];
    });
  t.deepEqual(walk(entry).sort(), made.filter(Boolean).sort());
  t.true(fs.statSync(path.join(root, 'containers')).isDirectory());
});

test('the start removes what an earlier daemon left, whole or half made, and makes new entries', async (t) => {
  const { poolDir, pool } = setup(t, 2);
  fs.mkdirSync(path.join(poolDir, 'aaaaaaaaaaaa', 'fs', 'upper'), { recursive: true });
  fs.writeFileSync(path.join(poolDir, 'aaaaaaaaaaaa', 'fs', 'upper', 'planted'), 'x');
  fs.mkdirSync(path.join(poolDir, 'bbbbbbbbbbbb'));
  const removed = pool.start();
  t.is(removed.length, 2);
  t.true(removed.every((r) => r.startsWith('container dir made ahead ')));
  await until('two entries', () => pool.available === 2);
  const names = fs.readdirSync(poolDir);
  t.is(names.length, 2);
  t.false(names.includes('aaaaaaaaaaaa') || names.includes('bbbbbbbbbbbb'), 'no entry is reused across daemons');
});

test('each take hands out its own entry; the refill follows the create; size 0 makes none', async (t) => {
  const { pool, poolDir } = setup(t, 2);
  pool.start();
  await until('two entries', () => pool.available === 2);
  const a = pool.take();
  const b = pool.take();
  t.truthy(a);
  t.truthy(b);
  t.not(a, b);
  t.is(pool.take(), undefined, 'the third take in a burst finds none (the create makes its own dirs)');
  pool.refillSoon();
  await until('refilled', () => pool.available === 2);
  const now = fs.readdirSync(poolDir).map((n) => path.join(poolDir, n));
  // the taken ones are the takers' (here: still in the pool dir, as no create renamed them)
  t.is(now.length, 4);
  for (const e of [a!, b!]) fs.rmSync(e, { recursive: true });

  const off = setup(t, 0);
  t.deepEqual(off.pool.start(), []);
  await sleep(30);
  t.is(off.pool.take(), undefined);
  t.false(fs.existsSync(off.poolDir));
});

test('the stop waits for an entry under way and removes every entry', async (t) => {
  const { pool, poolDir } = setup(t, 3);
  pool.start();
  await sleep(1); // the first fill is under way or done
  await pool.stop();
  t.deepEqual(fs.readdirSync(poolDir), []);
  t.is(pool.take(), undefined);
  await sleep(150);
  t.deepEqual(fs.readdirSync(poolDir), [], 'no refill after the stop');
});

test('a failing fill is logged once, leaves nothing, and is retried only after the next take', async (t) => {
  let calls = 0;
  let failing = true;
  const real = createFileThread();
  const flaky: FileThread = {
    run: (ops) => {
      calls++;
      return failing ? Promise.reject(new Error('EROFS: read-only file system')) : real.run(ops);
    },
    drained: () => real.drained(),
    close: () => real.close(),
  };
  const { pool, poolDir, warnings } = setup(t, 2, flaky);
  pool.start();
  await until('a warning', () => warnings.length === 1);
  await sleep(150);
  t.is(calls, 1, 'no retry without a take');
  t.deepEqual(fs.readdirSync(poolDir), []);
  t.regex(warnings[0]!, /container dir pool: EROFS.*no refill until the next take/);
  failing = false;
  t.is(pool.take(), undefined);
  pool.refillSoon();
  await until('refilled after the take', () => pool.available === 2);
});
