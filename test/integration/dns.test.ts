/**
 * The embedded resolver in real network namespaces (root). Everything happens in throwaway
 * netns files this test makes (`unshare --net=<file>`), removed in t.teardown even on failure.
 * Upstreams are fake DNS servers run by the test on 127.0.0.1 in its own namespace: no real
 * DNS server is ever asked.
 */
import test, { type ExecutionContext } from 'ava';
import koffi from 'koffi';
import dgram from 'node:dgram';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import {
  createTcpBinder,
  RESOLVER_IP,
  sandboxJumpsPresent,
  sandboxRules,
  startResolver,
  type Resolver,
} from '../../src/network/dns/index.js';
import { literalLookup } from '../../src/network/dns/forwarder.js';
import { buildQuery, CLASS_IN, decodeMessage, encodeMessage, RCODE, TYPE } from '../../src/network/dns/message.js';
import { requireNeeds } from '../helpers/preconditions.js';

const run = promisify(execFile);
const serial = test.serial;
test.before(() => requireNeeds({ root: true }));
const BUSYBOX = fs.existsSync('/bin/busybox') ? '/bin/busybox' : 'busybox';

const CLONE_NEWNET = 0x40000000;
const libc = koffi.load('libc.so.6');
const setns = libc.func('int setns(int fd, int nstype)') as (fd: number, nstype: number) => number;

/** Run fn synchronously with the main thread in the netns at `file`; always switch back. */
function inNetnsFile<T>(file: string, fn: () => T): T {
  const self = fs.openSync('/proc/thread-self/ns/net', 'r');
  try {
    const target = fs.openSync(file, 'r');
    try {
      if (setns(target, CLONE_NEWNET) !== 0) throw new Error(`setns(${file}): errno ${koffi.errno()}`);
    } finally {
      fs.closeSync(target);
    }
    try {
      return fn();
    } finally {
      if (setns(self, CLONE_NEWNET) !== 0) {
        process.stderr.write(`FATAL: setns back failed: errno ${koffi.errno()}\n`);
        process.exit(99);
      }
    }
  } finally {
    fs.closeSync(self);
  }
}

interface Ns {
  file: string;
  inNetns: <T>(fn: () => T) => T;
  /** Run a command in the netns, asynchronously (the resolver lives in this event loop). */
  exec(cmd: string, args: string[], input?: string): Promise<{ stdout: string; stderr: string; code: number }>;
}

function makeNetns(t: ExecutionContext): Ns {
  const file = path.join(os.tmpdir(), `tsnet-dns-test-${randomBytes(4).toString('hex')}`);
  fs.writeFileSync(file, '');
  t.teardown(() => {
    spawnSync('umount', [file]);
    fs.rmSync(file, { force: true });
  });
  execFileSync('unshare', [`--net=${file}`, 'true']);
  execFileSync('nsenter', [`--net=${file}`, 'ip', 'link', 'set', 'lo', 'up']);
  return {
    file,
    inNetns: (fn) => inNetnsFile(file, fn),
    exec: async (cmd, args, input) => {
      const child = execFile('nsenter', [`--net=${file}`, cmd, ...args], { encoding: 'utf8', timeout: 15_000 });
      child.stdin?.on('error', () => {}); // a command that does not read its stdin
      if (input !== undefined) child.stdin?.end(input);
      else child.stdin?.end();
      return new Promise((resolve) => {
        let stdout = '';
        let stderr = '';
        child.stdout?.on('data', (d: string) => (stdout += d));
        child.stderr?.on('data', (d: string) => (stderr += d));
        child.on('close', (code) => resolve({ stdout, stderr, code: code ?? -1 }));
      });
    },
  };
}

const NAMES: Record<string, { A?: string[]; AAAA?: string[] }> = {
  web: { A: ['172.18.0.2'] },
  'web.mynet': { A: ['172.18.0.2'] },
  db: { A: ['172.18.0.3'], AAAA: ['fd00:18::3'] },
};
const lookup = (name: string, type: 'A' | 'AAAA'): string[] => NAMES[name]?.[type] ?? [];
const reverse = (ip: string): string | undefined => ({ '172.18.0.2': 'web.mynet' })[ip];

/** A fake upstream on 127.0.0.1 (UDP + TCP, same port): outside.example A 192.0.2.53, else NXDOMAIN. */
async function fakeUpstream(t: ExecutionContext, silent = false): Promise<{ addr: string; seen: string[] }> {
  const seen: string[] = [];
  const answer = (raw: Buffer): Buffer => {
    const q = decodeMessage(raw);
    const name = q.questions[0]?.name.toLowerCase() ?? '';
    seen.push(`${name}/${q.questions[0]?.type}`);
    const known = name === 'outside.example' && q.questions[0]?.type === TYPE.A;
    return encodeMessage({
      ...q,
      flags: { ...q.flags, qr: true, ra: true, rcode: known || name === 'outside.example' ? RCODE.NOERROR : RCODE.NXDOMAIN },
      answers: known
        ? [{ name: q.questions[0]!.name, type: TYPE.A, class: CLASS_IN, ttl: 60, data: { kind: 'A', address: '192.0.2.53' } }]
        : [],
      additionals: [],
    });
  };
  const udp = dgram.createSocket('udp4');
  udp.on('message', (msg, rinfo) => {
    if (!silent) udp.send(answer(msg), rinfo.port, rinfo.address);
    else seen.push('(ignored)');
  });
  await new Promise<void>((r) => udp.bind(0, '127.0.0.1', r));
  const port = udp.address().port;
  const tcp = net.createServer((c) => {
    let buf = Buffer.alloc(0);
    c.on('error', () => {});
    c.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const msg = Buffer.from(buf.subarray(2, 2 + buf.readUInt16BE(0)));
        buf = buf.subarray(2 + msg.length);
        if (silent) continue;
        const r = answer(msg);
        const len = Buffer.alloc(2);
        len.writeUInt16BE(r.length);
        c.write(Buffer.concat([len, r]));
      }
    });
  });
  await new Promise<void>((r, j) => {
    tcp.once('error', j);
    tcp.listen(port, '127.0.0.1', () => r());
  });
  t.teardown(() => {
    udp.close();
    tcp.close();
  });
  return { addr: `127.0.0.1:${port}`, seen };
}

async function start(t: ExecutionContext, ns: Ns, upstreams: string[], extra: { timeoutMs?: number } = {}): Promise<Resolver> {
  const r = await startResolver({ inNetns: ns.inNetns, lookup, reverse, upstreams, ...extra });
  t.teardown(() => r.close());
  return r;
}

/** A UDP client socket made inside the netns (dgram binds synchronously with a literal lookup). */
function udpClientIn(t: ExecutionContext, ns: Ns): dgram.Socket {
  const s = ns.inNetns(() => {
    const sock = dgram.createSocket({ type: 'udp4', lookup: literalLookup });
    sock.bind({ address: '127.0.0.1', port: 0 });
    sock.address(); // throws if the bind did not happen here
    return sock;
  });
  t.teardown(() => {
    try {
      s.close();
    } catch {
      // already closed
    }
  });
  return s;
}

function udpAsk(sock: dgram.Socket, port: number, query: Buffer, timeoutMs = 5000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      sock.off('message', on);
      reject(new Error('no reply'));
    }, timeoutMs);
    const on = (msg: Buffer): void => {
      if (msg.readUInt16BE(0) !== query.readUInt16BE(0)) return;
      clearTimeout(timer);
      sock.off('message', on);
      resolve(msg);
    };
    sock.on('message', on);
    sock.send(query, port, RESOLVER_IP);
  });
}

/** Which sockets `ss` lists in a netns ('' = the test's own). */
async function ssLines(ns: Ns | undefined, flags: string): Promise<string> {
  if (ns) return (await ns.exec('ss', [flags])).stdout;
  return (await run('ss', [flags])).stdout;
}

async function applyRules(t: ExecutionContext, ns: Ns, r: Resolver): Promise<void> {
  const res = await ns.exec('iptables-restore', ['--noflush'], sandboxRules(r.udpPort, r.tcpPort));
  t.is(res.code, 0, res.stderr);
}

serial('sockets are bound in the container netns, not in the daemon netns; close() frees them', async (t) => {
  const ns = makeNetns(t);
  const r = await start(t, ns, []);
  t.true(r.udpPort > 0 && r.tcpPort > 0);
  const inUdp = await ssLines(ns, '-uanH');
  const inTcp = await ssLines(ns, '-tlnH');
  t.regex(inUdp, new RegExp(`127\\.0\\.0\\.11:${r.udpPort}\\b`));
  t.regex(inTcp, new RegExp(`127\\.0\\.0\\.11:${r.tcpPort}\\b`));
  const hostAll = (await ssLines(undefined, '-uanH')) + (await ssLines(undefined, '-tlnH'));
  t.notRegex(hostAll, new RegExp(`127\\.0\\.0\\.11:(${r.udpPort}|${r.tcpPort})\\b`));

  await r.close();
  await r.close(); // idempotent
  t.notRegex(await ssLines(ns, '-uanH'), new RegExp(`127\\.0\\.0\\.11:${r.udpPort}\\b`));
  t.notRegex(await ssLines(ns, '-tlnH'), new RegExp(`127\\.0\\.0\\.11:${r.tcpPort}\\b`));
  // The same ports can be bound again in the netns.
  const again = ns.inNetns(() => {
    const s = dgram.createSocket({ type: 'udp4', lookup: literalLookup });
    s.bind({ address: RESOLVER_IP, port: r.udpPort });
    return s;
  });
  t.is(again.address().port, r.udpPort);
  again.close();
  const fd = ns.inNetns(() => createTcpBinder()(RESOLVER_IP, r.tcpPort));
  fs.closeSync(fd);
});

serial('busybox nslookup in the netns: names, AAAA NODATA, PTR, forwarded names', async (t) => {
  const ns = makeNetns(t);
  const up = await fakeUpstream(t);
  const r = await start(t, ns, [up.addr]);
  await applyRules(t, ns, r);
  const save = await ns.exec('iptables-save', ['-t', 'nat']);
  t.true(sandboxJumpsPresent(save.stdout), save.stdout);

  const web = await ns.exec(BUSYBOX, ['nslookup', 'web', RESOLVER_IP]);
  t.is(web.code, 0, web.stdout + web.stderr);
  t.regex(web.stdout, /Name:\s+web\s+Address:\s+172\.18\.0\.2/);
  t.notRegex(web.stdout, /Address:\s+[0-9a-f]*:/, 'no IPv6 address for a v4-only name');

  const webUpper = await ns.exec(BUSYBOX, ['nslookup', 'WEB.MyNet.', RESOLVER_IP]);
  t.regex(webUpper.stdout, /Address:\s+172\.18\.0\.2/);

  const aaaa = await ns.exec(BUSYBOX, ['nslookup', '-type=AAAA', 'web', RESOLVER_IP]);
  t.notRegex(aaaa.stdout, /Address:\s+172|Address:\s+[0-9a-f:]+::/);
  t.notRegex(aaaa.stdout + aaaa.stderr, /NXDOMAIN|SERVFAIL/);

  const db6 = await ns.exec(BUSYBOX, ['nslookup', '-type=AAAA', 'db', RESOLVER_IP]);
  t.regex(db6.stdout, /Address:\s+fd00:18::3/);

  const ptr = await ns.exec(BUSYBOX, ['nslookup', '172.18.0.2', RESOLVER_IP]);
  t.regex(ptr.stdout, /2\.0\.18\.172\.in-addr\.arpa\s+name = web\.mynet/);

  const outside = await ns.exec(BUSYBOX, ['nslookup', 'outside.example', RESOLVER_IP]);
  t.regex(outside.stdout, /Address:\s+192\.0\.2\.53/);
  t.true(up.seen.includes('outside.example/1'));
  t.false(
    up.seen.some((s) => s.startsWith('web')),
    'local names are never forwarded',
  );

  const missing = await ns.exec(BUSYBOX, ['nslookup', 'nowhere.example', RESOLVER_IP]);
  t.not(missing.code, 0);
  t.regex(missing.stdout + missing.stderr, /NXDOMAIN/);

  // Our own query with the exact bytes check: AAAA of a v4-only name is NOERROR, no answers.
  const client = udpClientIn(t, ns);
  const reply = decodeMessage(await udpAsk(client, 53, buildQuery(0x5151, 'web', TYPE.AAAA)));
  t.is(reply.flags.rcode, RCODE.NOERROR);
  t.is(reply.answers.length, 0);
  t.true(reply.flags.aa);
});

serial('TCP queries from a socket made in the netns: local and forwarded', async (t) => {
  const ns = makeNetns(t);
  const up = await fakeUpstream(t);
  const r = await start(t, ns, [up.addr]);
  await applyRules(t, ns, r);
  const fd = ns.inNetns(() => createTcpBinder()('127.0.0.1', 0));
  const sock = new net.Socket({ fd, readable: true, writable: true });
  t.teardown(() => sock.destroy());
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.connect(53, RESOLVER_IP, () => resolve());
  });
  const frames: Buffer[] = [];
  let buf = Buffer.alloc(0);
  const waiters: Array<() => void> = [];
  sock.on('data', (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
      frames.push(Buffer.from(buf.subarray(2, 2 + buf.readUInt16BE(0))));
      buf = buf.subarray(2 + buf.readUInt16BE(0));
      waiters.shift()?.();
    }
  });
  const ask = async (q: Buffer) => {
    const len = Buffer.alloc(2);
    len.writeUInt16BE(q.length);
    const got = new Promise<void>((res) => waiters.push(res));
    sock.write(Buffer.concat([len, q]));
    await got;
    return decodeMessage(frames.shift()!);
  };
  const local = await ask(buildQuery(1, 'db', TYPE.A));
  t.deepEqual(
    local.answers.map((a) => a.data),
    [{ kind: 'A', address: '172.18.0.3' }],
  );
  const fwd = await ask(buildQuery(2, 'outside.example', TYPE.A));
  t.is(fwd.id, 2);
  t.deepEqual(
    fwd.answers.map((a) => a.data),
    [{ kind: 'A', address: '192.0.2.53' }],
  );
  // A big local answer that UDP truncates comes whole over TCP.
  const many = await startResolver({
    inNetns: ns.inNetns,
    lookup: (n, ty) => (n === 'svc' && ty === 'A' ? Array.from({ length: 100 }, (_, i) => `10.9.0.${i + 1}`) : []),
    upstreams: [],
  });
  t.teardown(() => many.close());
  const client = udpClientIn(t, ns);
  const udpReply = decodeMessage(await udpAsk(client, many.udpPort, buildQuery(3, 'svc', TYPE.A)));
  t.true(udpReply.flags.tc);
  const fd2 = ns.inNetns(() => createTcpBinder()('127.0.0.1', 0));
  const s2 = new net.Socket({ fd: fd2, readable: true, writable: true });
  t.teardown(() => s2.destroy());
  const whole = await new Promise<Buffer>((resolve, reject) => {
    let b = Buffer.alloc(0);
    s2.on('error', reject);
    s2.on('data', (d: Buffer) => {
      b = Buffer.concat([b, d]);
      if (b.length >= 2 && b.length >= 2 + b.readUInt16BE(0)) resolve(b.subarray(2));
    });
    s2.connect(many.tcpPort, RESOLVER_IP, () => {
      const q = buildQuery(4, 'svc', TYPE.A);
      const len = Buffer.alloc(2);
      len.writeUInt16BE(q.length);
      s2.write(Buffer.concat([len, q]));
    });
  });
  t.is(decodeMessage(whole).answers.length, 100);
});

serial('an upstream that never answers gives SERVFAIL; no upstreams gives SERVFAIL too', async (t) => {
  const ns = makeNetns(t);
  const silent = await fakeUpstream(t, true);
  const r = await start(t, ns, [silent.addr]);
  const client = udpClientIn(t, ns);
  const reply = decodeMessage(await udpAsk(client, r.udpPort, buildQuery(0x7777, 'outside.example', TYPE.A)));
  t.is(reply.flags.rcode, RCODE.SERVFAIL);
  t.is(reply.id, 0x7777);
  t.true(silent.seen.length >= 1, 'the upstream was asked');

  const none = await start(t, ns, []);
  const r2 = decodeMessage(await udpAsk(client, none.udpPort, buildQuery(0x7778, 'outside.example', TYPE.A)));
  t.is(r2.flags.rcode, RCODE.SERVFAIL);
  t.is(r2.id, 0x7778);
});

serial('a container process can still bind port 53; malformed packets do not stop the resolver', async (t) => {
  const ns = makeNetns(t);
  const r = await start(t, ns, []);
  await applyRules(t, ns, r);
  const own53 = ns.inNetns(() => {
    const s = dgram.createSocket({ type: 'udp4', lookup: literalLookup });
    s.bind({ address: '0.0.0.0', port: 53 });
    return s;
  });
  t.teardown(() => own53.close());
  t.is(own53.address().port, 53);
  let stolen = 0;
  own53.on('message', () => stolen++);
  const client = udpClientIn(t, ns);
  for (const junk of ['', '00', 'ffffffffffffffffffffffffffff', '0001000000010000000000000c00c00010001']) {
    client.send(Buffer.from(junk, 'hex'), 53, RESOLVER_IP);
  }
  const reply = decodeMessage(await udpAsk(client, 53, buildQuery(9, 'web', TYPE.A)));
  t.deepEqual(
    reply.answers.map((a) => a.data),
    [{ kind: 'A', address: '172.18.0.2' }],
  );
  t.is(stolen, 0, 'traffic to 127.0.0.11:53 reaches the resolver, not the container socket on :53');
});

serial('re-applying the rules for a new resolver re-points the chains without duplicate jumps', async (t) => {
  const ns = makeNetns(t);
  const r1 = await start(t, ns, []);
  await applyRules(t, ns, r1);
  await r1.close();
  const r2 = await start(t, ns, []);
  const save = (await ns.exec('iptables-save', ['-t', 'nat'])).stdout;
  const res = await ns.exec(
    'iptables-restore',
    ['--noflush'],
    sandboxRules(r2.udpPort, r2.tcpPort, { jumps: !sandboxJumpsPresent(save) }),
  );
  t.is(res.code, 0, res.stderr);
  const after = (await ns.exec('iptables-save', ['-t', 'nat'])).stdout;
  t.is(after.split('\n').filter((l) => l.includes('-j TSNET-DNS-OUTPUT')).length, 1);
  t.false(after.includes(`:${r1.udpPort}`));
  t.true(after.includes(`127.0.0.11:${r2.udpPort}`));
  const client = udpClientIn(t, ns);
  const reply = decodeMessage(await udpAsk(client, 53, buildQuery(1, 'web', TYPE.A)));
  t.is(reply.answers.length, 1);
});

serial('1000 sequential UDP queries are all answered, via 127.0.0.11:53 and directly', async (t) => {
  const ns = makeNetns(t);
  const r = await start(t, ns, []);
  await applyRules(t, ns, r);
  const client = udpClientIn(t, ns);
  for (const port of [53, r.udpPort]) {
    let answered = 0;
    for (let i = 0; i < 1000; i++) {
      const reply = decodeMessage(await udpAsk(client, port, buildQuery(i, 'web', TYPE.A)));
      if (reply.id === i && reply.answers.length === 1) answered++;
    }
    t.is(answered, 1000, `port ${port}`);
  }
});
