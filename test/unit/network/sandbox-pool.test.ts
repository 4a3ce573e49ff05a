/**
 * The netns pool's refill policy (src/network/sandbox-pool.ts), with a fake maker and fake
 * mounts (no kernel): the refill starts as soon as the create that took an entry is done with
 * it, so creates that come one after another find an entry each time; the daemon's stop waits for an entry under way and removes it.
 * Entries with the embedded resolver's sockets and rules (decision 44): made after a take that
 * wanted them, preferred by such takes, never given to a take without them.
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
  const remove = (f: string) => {
    files.delete(f);
    removed.push(f);
  };
  return {
    create: (f) => void files.add(f),
    remove,
    removeAsync: async (f) => remove(f),
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
    t.truthy(pool.take(`/x/sandbox${i}`), `take ${i}`);
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
      new Promise<undefined>((resolve) => {
        finish = () => {
          files.add(f);
          resolve(undefined);
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
        return {};
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

test('Sandboxes: an entry’s netlink socket is the handle’s own (adopted, none opened in the namespace); unused, the handle closes it', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-pool-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const files = new Set<string>();
  const adopted: number[] = [];
  const closed: number[] = [];
  let fd = 200;
  const opener = {
    open: () => assert.fail('no netlink socket is opened in the namespace'),
    adopt: (n: number) => {
      adopted.push(n);
      return { transact: () => [[]], close: () => undefined };
    },
  } as unknown as SyncNetlinkOpener;
  const sandboxes = new Sandboxes(fakeNetns(files, []), dir, opener, {
    size: 1,
    logger: quiet,
    closeFd: (n) => void closed.push(n),
    maker: {
      make: async (f) => {
        files.add(f);
        return { nlFd: fd++ };
      },
      close: async () => undefined,
    },
  });
  sandboxes.startPool();
  t.true(await until(() => files.size === 1));
  const sb = await sandboxes.create('c'.repeat(64));
  await sb.netlink.setUp(2);
  t.is(sb.netlink, sb.netlink, 'one socket for the handle');
  t.deepEqual(adopted, [200], 'the entry’s socket, adopted');
  sb.close();
  t.deepEqual(closed, [], 'closed by its Netlink, not as an unused fd');
  t.true(await until(() => files.size === 2));
  const unused = await sandboxes.create('d'.repeat(64));
  unused.close();
  t.deepEqual(closed, [201], 'a handle that never used it closes it');
  t.true(await until(() => files.size === 3));
  await sandboxes.stopPool();
  t.deepEqual(closed, [201, 202], 'the stop closes the socket of an entry nobody took');
});

/** A pool whose maker makes entries with fake resolver fds when asked (`dns`), and records closes. */
function dnsPool(size: number) {
  const files = new Set<string>();
  const removed: string[] = [];
  const closed: number[] = [];
  const asked: Array<string | undefined> = [];
  let fd = 100;
  const pool = new SandboxPool({
    netns: fakeNetns(files, removed),
    dir: '/x',
    size,
    make: async (f, o) => {
      files.add(f);
      asked.push(o.dns);
      return o.dns ? { dns: { udpFd: fd++, tcpFd: fd++, udpPort: 5000, tcpPort: 6000 } } : {};
    },
    closeFd: (n) => void closed.push(n),
    logger: quiet,
  });
  return { pool, files, removed, closed, asked };
}

test('entries follow the takes: after a take for a sandbox with the resolver, the next ones carry its sockets', async (t) => {
  const { pool, asked, closed, removed } = dnsPool(2);
  pool.start({ dns: '127.0.0.11' });
  t.true(await until(() => pool.available === 2));
  t.deepEqual(asked, [undefined, undefined], 'plain entries until a take wants the resolver');
  const first = pool.take('/x/a', { dns: true });
  t.deepEqual(first, {}, 'no entry with the resolver yet: a plain one (its resolver is made as without the pool)');
  pool.refillSoon();
  // the refill makes an entry with the resolver, then the plain one left is replaced
  t.true(await until(() => asked.length === 4 && pool.available === 2));
  t.deepEqual(asked.slice(2), ['127.0.0.11', '127.0.0.11'], 'entries with the resolver, the plain one replaced');
  t.is(removed.length, 1, 'the plain entry left went');
  const second = pool.take('/x/b', { dns: true });
  t.deepEqual(second, { dns: { udpFd: 100, tcpFd: 101, udpPort: 5000, tcpPort: 6000 } }, 'taken with its sockets');
  t.deepEqual(closed, [], 'the taker owns them');
  await pool.stop();
});

test('a take without the resolver never gets an entry with its rules: such entries go, the create makes its own', async (t) => {
  const { pool, asked, closed, removed, files } = dnsPool(2);
  pool.start({ dns: '127.0.0.11' });
  t.true(await until(() => pool.available === 2));
  pool.take('/x/a', { dns: true });
  pool.take('/x/b', { dns: true });
  t.true(await until(() => pool.available === 2 && asked.length === 4));
  t.deepEqual(asked.slice(2), ['127.0.0.11', '127.0.0.11']);
  const plain = pool.take('/x/c', {});
  t.is(plain, undefined, 'no plain entry: none taken');
  t.false(files.has('/x/c'));
  t.is(removed.length, 2, 'the entries with DNS rules were removed');
  t.deepEqual(closed.sort(), [100, 101, 102, 103], 'and their sockets closed');
  t.true(await until(() => asked.length === 6 && pool.available === 2));
  t.deepEqual(asked.slice(4), [undefined, undefined], 'the next entries are plain');
  t.deepEqual(pool.take('/x/d', {}), {}, 'a plain entry for the next create without the resolver');
  await pool.stop();
});

test('the stop closes the sockets of entries with the resolver; a maker that cannot make them gives plain entries', async (t) => {
  const { pool, closed } = dnsPool(1);
  pool.start({ dns: '127.0.0.11' });
  t.true(await until(() => pool.available === 1));
  pool.take('/x/a', { dns: true });
  t.true(await until(() => pool.available === 1));
  await pool.stop();
  t.deepEqual(closed, [100, 101]);

  const files = new Set<string>();
  const asked: Array<string | undefined> = [];
  const warned: string[] = [];
  const failing = new SandboxPool({
    netns: fakeNetns(files, []),
    dir: '/x',
    size: 1,
    make: async (f, o) => {
      files.add(f);
      asked.push(o.dns);
      return o.dns ? { dnsError: 'no libnftables' } : {};
    },
    logger: { ...quiet, warn: (m: string) => void warned.push(m) },
  });
  failing.start({ dns: '127.0.0.11' });
  t.true(await until(() => failing.available === 1));
  t.deepEqual(failing.take('/x/b', { dns: true }), {});
  t.true(await until(() => failing.available === 1 && asked.length === 2));
  t.deepEqual(failing.take('/x/c', { dns: true }), {}, 'a plain entry after the failure');
  t.true(await until(() => asked.length === 3));
  t.deepEqual(asked, [undefined, '127.0.0.11', undefined], 'asked once, then no more');
  t.true(warned.some((w) => w.includes('no libnftables')));
  await failing.stop();
});
