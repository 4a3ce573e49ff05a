/**
 * Container dirs made ahead (tsnetd --dir-pool, src/runtime/container/dir-pool.ts, decision 62),
 * with a real daemon: a create renames an entry into place (the same inode: no dir made on its
 * path) and the pool refills; the dir is what a create without a pool makes (names, modes), and
 * the container writes into it; a kill -9 leaves entries that the next start removes (none is
 * reused; also a start with --dir-pool 0); a stop removes them; --dir-pool 0 makes none.
 */
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { createWorld, eventually, type World } from '../helpers/world.js';

let w: World;
test.before(async () => {
  w = await createWorld();
});
test.after.always(async () => {
  await w?.teardown();
});

const poolDir = () => path.join(w.root, 'container-pool');
const entries = (): string[] => (fs.existsSync(poolDir()) ? fs.readdirSync(poolDir()).sort() : []);
const containerDir = (id: string) => path.join(w.root, 'containers', id);

/** A dir's tree: relative path, type and mode, sorted. */
function tree(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      const st = fs.lstatSync(p);
      out.push(`${path.relative(dir, p)} ${e.isDirectory() ? 'd' : 'f'} ${(st.mode & 0o7777).toString(8)}`);
      if (e.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return [`. d ${(fs.statSync(dir).mode & 0o7777).toString(8)}`, ...out.sort()];
}

test.serial('a create renames a dir made ahead into place, and the pool refills', async (t) => {
  t.true(await eventually(() => entries().length === 4), `entries: ${entries().join(', ')}`);
  const inodes = new Map(entries().map((e) => [fs.statSync(path.join(poolDir(), e)).ino, e]));
  await w.ok(['network', 'create', 'dirpoolnet']);
  const id = (await w.ok(['create', '--network', 'dirpoolnet', 'busybox', 'sh', '-c', 'echo written > /proof'])).trim();
  const taken = inodes.get(fs.statSync(containerDir(id)).ino);
  t.truthy(taken, "the container's dir is one of the entries, renamed (same inode)");
  t.false(entries().includes(taken!), 'the entry left the pool');
  t.true(await eventually(() => entries().length === 4), `refilled: ${entries().join(', ')}`);
  // the container uses it: its writes land in its upper dir, its log in its log file
  await w.ok(['start', '-a', id]);
  t.is(fs.readFileSync(path.join(containerDir(id), 'fs', 'upper', 'proof'), 'utf8'), 'written\n');
  await w.ok(['rm', id]);
  t.false(fs.existsSync(containerDir(id)));
  await w.ok(['network', 'rm', 'dirpoolnet']);
});

test.serial('the dir is the same with the pool and without it (--dir-pool 0 makes none)', async (t) => {
  t.true(await eventually(() => entries().length === 4));
  const pooled = (await w.ok(['create', 'busybox', 'true'])).trim();
  const withPool = tree(containerDir(pooled));
  await w.killDaemon('SIGTERM');
  await w.startDaemon(['--dir-pool', '0']);
  try {
    t.deepEqual(entries(), [], 'no entry with --dir-pool 0');
    const made = (await w.ok(['create', 'busybox', 'true'])).trim();
    t.deepEqual(tree(containerDir(made)), withPool);
    t.deepEqual(entries(), []);
    await w.ok(['rm', made, pooled]);
  } finally {
    await w.killDaemon('SIGTERM');
    await w.startDaemon();
  }
  t.true(
    withPool.includes('fs/upper d 755') && withPool.includes('. d 700') && withPool.includes('container.log f 640'),
    withPool.join(', '),
  );
});

test.serial(
  'a kill -9 leaves entries that the next start removes (with or without a pool); a stop removes every entry',
  async (t) => {
    t.true(await eventually(() => entries().length === 4));
    const before = entries();
    // a half-made entry, as a kill in the middle of a fill leaves it
    fs.mkdirSync(path.join(poolDir(), '0123456789ab', 'fs'), { recursive: true });
    await w.killDaemon('SIGKILL');
    t.is(entries().length, 5, 'a killed daemon leaves its entries');
    await w.startDaemon();
    t.true(await eventually(() => entries().length === 4));
    t.deepEqual(
      entries().filter((e) => before.includes(e) || e === '0123456789ab'),
      [],
      'every entry is new: none of a dead daemon is reused',
    );
    // no container dir without its container
    t.deepEqual(fs.readdirSync(path.join(w.root, 'containers')), []);
    // a daemon without a pool removes what one with a pool left
    await w.killDaemon('SIGKILL');
    t.is(entries().length, 4);
    await w.startDaemon(['--dir-pool', '0']);
    t.deepEqual(entries(), [], 'removed by a start with --dir-pool 0');
    await w.killDaemon('SIGTERM');
    await w.startDaemon();
    t.true(await eventually(() => entries().length === 4));
    await w.killDaemon('SIGTERM');
    t.deepEqual(entries(), [], 'no entry after the stop');
    await w.startDaemon();
  },
);
