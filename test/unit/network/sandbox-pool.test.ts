/**
 * The netns pool's refill policy (src/network/sandbox-pool.ts), with a fake maker and fake
 * mounts (no kernel): a take starts the refill at once, so creates that come one after another
 * find an entry each time; the daemon's stop waits for an entry under way and removes it.
 * The real entries (netns mounts made by the maker's thread) are test/integration/netns-pool.test.ts's.
 */
import test from 'ava';
import type { Netns } from '../../../src/kernel/netns.js';
import { SandboxPool } from '../../../src/network/sandbox-pool.js';

const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Fake mounts: `files` holds what exists; a move renames. */
function fakeNetns(files: Set<string>, removed: string[]): Netns {
  return {
    create: (f) => void files.add(f),
    remove: (f) => {
      files.delete(f);
      removed.push(f);
    },
    exists: (f) => files.has(f),
    run: (_f, fn) => fn(),
    move: (from, to) => {
      if (!files.delete(from)) throw new Error(`no ${from}`);
      files.add(to);
    },
    isNetnsMount: (f) => files.has(f),
    ensurePrivateDir: () => undefined,
  };
}

async function until(cond: () => boolean): Promise<boolean> {
  for (let i = 0; i < 400 && !cond(); i++) await sleep(25);
  return cond();
}

test('a take starts the refill at once: creates one after another each find an entry', async (t) => {
  const files = new Set<string>();
  const made: string[] = [];
  const pool = new SandboxPool({
    netns: fakeNetns(files, []),
    dir: '/x',
    size: 2,
    make: async (f) => {
      files.add(f);
      made.push(f);
    },
    logger: quiet,
  });
  pool.start();
  t.true(await until(() => pool.available === 2));
  // one take every 50 ms, more than the pool holds: each finds an entry (the pool used to wait
  // for 250 ms without a take before it refilled, so the third one found it empty)
  for (let i = 0; i < 6; i++) {
    t.true(pool.take(`/x/sandbox${i}`), `take ${i}`);
    await sleep(50);
  }
  t.true(await until(() => pool.available === 2));
  t.is(made.length, 8);
  await pool.stop();
  t.deepEqual(
    [...files].sort(),
    [0, 1, 2, 3, 4, 5].map((i) => `/x/sandbox${i}`),
    'the stop removed the entries; the taken ones are their sandboxes',
  );
});

test('the stop waits for an entry under way and removes it, then closes the maker', async (t) => {
  const files = new Set<string>();
  const removed: string[] = [];
  let finish: (() => void) | undefined;
  let closed = false;
  const pool = new SandboxPool({
    netns: fakeNetns(files, removed),
    dir: '/x',
    size: 1,
    make: (f) =>
      new Promise<void>((resolve) => {
        finish = () => {
          files.add(f);
          resolve();
        };
      }),
    closeMaker: async () => {
      closed = true;
    },
    logger: quiet,
  });
  pool.start();
  t.true(await until(() => finish !== undefined), 'a make is under way');
  let stopped = false;
  const stopping = pool.stop().then(() => (stopped = true));
  for (let i = 0; i < 5; i++) await new Promise(setImmediate);
  t.false(stopped, 'the stop waits for the entry under way');
  t.false(closed);
  finish!();
  await stopping;
  t.deepEqual([...files], [], 'the entry made meanwhile was removed');
  t.is(removed.length, 1);
  t.true(closed, 'then the maker was closed');
});
