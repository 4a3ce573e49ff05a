/**
 * src/kernel/netns.ts on the real kernel: a switch goes back to where it came from — the thread's
 * own namespace (whose fd is opened once and kept), or, nested, the outer switch's — and a
 * hundred switches leave no fd behind. The netns thread (src/kernel/netns-maker.ts) hands over
 * the rtnetlink socket it brought lo up with, open in the new namespace.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { loadLibc } from '../../src/kernel/libc.js';
import { Netlink } from '../../src/kernel/netlink/index.js';
import { createSyncNetlinkOpener, NETLINK_ROUTE } from '../../src/kernel/netlink/sync-socket.js';
import { createNetnsOps } from '../../src/kernel/netns.js';
import { createNetnsMaker } from '../../src/kernel/netns-maker.js';

const current = () => fs.statSync('/proc/thread-self/ns/net').ino;
const fds = () => fs.readdirSync('/proc/self/fd').length;

test('switches go back to the thread’s own namespace, nested ones to the outer switch’s; no fd is left', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-netns-'));
  const netns = createNetnsOps(loadLibc());
  const a = path.join(dir, 'a');
  const b = path.join(dir, 'b');
  try {
    netns.create(a);
    netns.create(b);
    const own = current();
    const [ia, ib] = [fs.statSync(a).ino, fs.statSync(b).ino];
    t.not(ia, own);
    const seen = netns.run(a, () => {
      const inA = current();
      const inB = netns.run(b, () => current());
      return { inA, inB, backInA: current() };
    });
    t.deepEqual(seen, { inA: ia, inB: ib, backInA: ia }, 'the nested switch went back to a, not to the thread’s own');
    t.is(current(), own);
    // a failing callback goes back too
    t.throws(() =>
      netns.run(a, () => {
        throw new Error('boom');
      }),
    );
    t.is(current(), own);
    const before = fds();
    for (let i = 0; i < 100; i++) netns.run(i % 2 ? a : b, () => current());
    t.is(fds(), before, 'no fd left by the switches');
    t.is(current(), own);
  } finally {
    for (const f of [a, b]) if (fs.existsSync(f)) netns.remove(f);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('removeAsync unmounts the namespace (on a pool thread) and removes its file; a missing one is no error', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-netns-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const netns = createNetnsOps(loadLibc());
  const a = path.join(dir, 'a');
  netns.create(a);
  const mounted = () =>
    fs
      .readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .some((l) => l.split(' ')[4] === a);
  try {
    t.true(mounted());
    await netns.removeAsync(a);
    t.false(mounted(), 'unmounted');
    t.false(fs.existsSync(a), 'its file is gone');
    await t.notThrowsAsync(netns.removeAsync(a), 'a second removal is fine');
  } finally {
    if (fs.existsSync(a)) netns.remove(a);
  }
});

test('the netns thread hands over the socket that brought lo up: it is open in the new namespace', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-netns-'));
  const netns = createNetnsOps(loadLibc());
  const maker = createNetnsMaker();
  const a = path.join(dir, 'a');
  try {
    const made = await maker.make(a);
    t.is(typeof made.nlFd, 'number');
    const nl = Netlink.overSync(createSyncNetlinkOpener().adopt(made.nlFd!, NETLINK_ROUTE));
    try {
      const links = await nl.listLinks();
      t.deepEqual(
        links.map((l) => [l.name, l.up]),
        [['lo', true]],
        'only the new namespace’s lo, up (not the links of the namespace this thread is in)',
      );
    } finally {
      nl.close();
    }
  } finally {
    await maker.close();
    if (fs.existsSync(a)) netns.remove(a);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
