/**
 * The netns pool's refill policy (src/network/sandbox-pool.ts), with a fake maker and fake
 * mounts (no kernel): the refill starts as soon as the create that took an entry is done with
 * it, so creates that come one after another find an entry each time; the daemon's stop waits for an entry under way and removes it.
 * The real entries (netns mounts made by the maker's thread) are test/integration/netns-pool.test.ts's.
 */
import assert from 'node:assert';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import type { SyncNetlinkOpener } from '../../../src/kernel/netlink/sync-socket.js';
import type { Netns } from '../../../src/kernel/netns.js';
import { SandboxPool } from '../../../src/network/sandbox-pool.js';
import { Sandboxes } from '../../../src/network/sandbox.js';

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

test('the refill starts when a create is done with its entry: creates one after another each find one', async (t) => {
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
  // one create every 20 ms, more than the pool holds: each finds an entry, because each is done
  // with its entry (its sandbox handle closed: refillSoon) long before the next (the pool used to
  // wait for 250 ms without a take before it refilled, so the third one found it empty)
  for (let i = 0; i < 6; i++) {
    t.true(pool.take(`/x/sandbox${i}`), `take ${i}`);
    pool.refillSoon();
    await sleep(20);
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

test('Sandboxes: the handle of a create that took a pool entry starts the refill when it is closed', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-pool-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const files = new Set<string>();
  const made: string[] = [];
  const opener = { open: () => assert.fail('no netlink socket is opened') } as unknown as SyncNetlinkOpener;
  const sandboxes = new Sandboxes(fakeNetns(files, []), dir, opener, {
    size: 1,
    logger: quiet,
    maker: {
      make: async (f) => {
        files.add(f);
        made.push(f);
      },
      close: async () => undefined,
    },
  });
  sandboxes.startPool();
  t.true(await until(() => made.length === 1));
  const sb = await sandboxes.create('c'.repeat(64));
  t.true(files.has(sb.file), 'the entry moved onto the sandbox file');
  t.is(made.length, 1, 'no refill while the create works with the entry');
  sb.close();
  // the refill's 0 ms timer was set by the close, before this one
  await new Promise((r) => setTimeout(r, 0));
  t.is(made.length, 2, 'the close started the refill');
  await sandboxes.stopPool();
});
