/**
 * The synchronous netlink socket itself (src/kernel/netlink/sync-socket.ts): its error paths
 * against the real kernel, inside a throwaway network namespace (`ip netns add`, deleted in
 * t.teardown even on failure). The requests are encoded here by hand (ifinfomsg + attributes),
 * so the socket is tested apart from the `netlink` package's encoders (kernel-netlink-sync.test.ts
 * runs the rtnetlink suite over the transport built on it).
 */
import test, { type ExecutionContext } from 'ava';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { isTsnetError, type TsnetError } from '../../src/errors/index.js';
import { loadLibc } from '../../src/kernel/libc.js';
import { createNetnsOps } from '../../src/kernel/netns.js';
import {
  createSyncNetlinkOpener,
  NETLINK_ROUTE,
  NLM_F_CREATE,
  NLM_F_EXCL,
  type SyncNetlink,
} from '../../src/kernel/netlink/sync-socket.js';
import { requireNeeds } from '../helpers/preconditions.js';

test.before(() => requireNeeds({ root: true }));

const RTM_NEWLINK = 16;
const RTM_GETLINK = 18;
const IFLA_IFNAME = 3;
const IFLA_MTU = 4;
const IFLA_LINKINFO = 18;
const IFLA_INFO_KIND = 1;

const netns = createNetnsOps(loadLibc());
const opener = createSyncNetlinkOpener();

function attr(type: number, data: Buffer): Buffer {
  const len = 4 + data.length;
  const b = Buffer.alloc((len + 3) & ~3);
  b.writeUInt16LE(len, 0);
  b.writeUInt16LE(type, 2);
  data.copy(b, 4);
  return b;
}
const str = (s: string): Buffer => Buffer.from(`${s}\0`);
const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
};
/** ifinfomsg (AF_UNSPEC, no index) followed by attributes. */
const ifinfo = (...attrs: Buffer[]): Buffer => Buffer.concat([Buffer.alloc(16), ...attrs]);

/** RTM_NEWLINK of a bridge (exclusive create), optionally with an MTU. */
const newBridge = (name: string, mtu?: number) => ({
  type: RTM_NEWLINK,
  flags: NLM_F_CREATE | NLM_F_EXCL,
  body: ifinfo(
    attr(IFLA_IFNAME, str(name)),
    ...(mtu === undefined ? [] : [attr(IFLA_MTU, u32(mtu))]),
    attr(IFLA_LINKINFO, attr(IFLA_INFO_KIND, str('bridge'))),
  ),
  op: `add bridge ${name}`,
});
const getLink = (name: string) => ({ type: RTM_GETLINK, body: ifinfo(attr(IFLA_IFNAME, str(name))), op: `get link ${name}` });

/** A socket inside a throwaway netns; both go when the test ends. */
function socketInNs(t: ExecutionContext): SyncNetlink {
  const name = `tsnet-snl-test-${randomBytes(4).toString('hex')}`;
  execFileSync('ip', ['netns', 'add', name]);
  let nl: SyncNetlink | undefined;
  t.teardown(() => {
    nl?.close();
    spawnSync('ip', ['netns', 'del', name]);
  });
  nl = netns.run(`/run/netns/${name}`, () => opener.open(NETLINK_ROUTE));
  return nl;
}

function refusal(t: ExecutionContext, fn: () => unknown): TsnetError {
  const err = t.throws(fn);
  if (!isTsnetError(err)) throw err;
  t.is(err.code, 'TSNET_NETLINK');
  return err;
}

test('a refused request fails with one line: the operation, the errno and the kernel’s own message', (t) => {
  const nl = socketInNs(t);
  const err = refusal(t, () => nl.transact([newBridge('tsd0', 10)]));
  t.is(err.message, 'add bridge tsd0: EINVAL (mtu less than device minimum)');
  t.is(err.details?.errno, 'EINVAL');
  // refused: nothing was made
  t.is(refusal(t, () => nl.transact([getLink('tsd0')])).details?.errno, 'ENODEV');
});

test('a batch: every request is carried out, the first refusal fails it, its answers stay apart from the next batch', (t) => {
  const nl = socketInNs(t);
  const err = refusal(t, () => nl.transact([newBridge('tsd1'), newBridge('tsd1'), newBridge('tsd2'), newBridge('tsd2')]));
  t.is(err.message, 'add bridge tsd1: EEXIST', 'the first refusal is the one reported');
  // rtnetlink went on after the refusal: tsd2 was made
  const [answers] = nl.transact([getLink('tsd2')]);
  t.is(answers!.length, 1);
  t.is(answers![0]!.type, RTM_NEWLINK);
  t.true(answers![0]!.body.includes(str('tsd2')));
  // one datagram, several answers each: every request gets its own
  const both = nl.transact([getLink('tsd1'), getLink('tsd2')]);
  t.deepEqual(
    both.map((a) => a.length),
    [1, 1],
  );
  t.true(both[0]![0]!.body.includes(str('tsd1')));
  t.true(both[1]![0]!.body.includes(str('tsd2')));
});

test('a closed socket: closing twice is harmless and a request fails with one line', (t) => {
  const nl = socketInNs(t);
  nl.close();
  nl.close();
  t.true(nl.closed);
  t.is(refusal(t, () => nl.transact([getLink('lo')])).message, 'get link lo: socket closed');
});
