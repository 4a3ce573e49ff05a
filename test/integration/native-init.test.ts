/**
 * Integration tests for tsnet-init (src/runtime/native), the per-container helper and
 * supervisor. They drive the real binary the way the daemon does (docs/tsnet-init.md):
 * write <bundle>/spec, spawn `tsnet-init run|exec <bundle>` with stdio pipes, wait for
 * `ready <pid>`, connect attach clients, send `go`, expect `started` or `error …`.
 *
 * Needs root (namespaces, mounts, cgroups). The test image is a busybox rootfs built from
 * /bin/busybox (Debian busybox-static) in a temp dir. Every test removes what it made
 * (processes by pid, bundle dirs, cgroups, netns) in t.teardown, also on failure.
 */
import test, { type ExecutionContext } from 'ava';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  rmSync,
  rmdirSync,
  symlinkSync,
  copyFileSync,
  writeFileSync,
} from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { Readable } from 'node:stream';
import { requireNeeds } from '../helpers/preconditions.js';
import { capabilities } from '../../src/runtime/container/security-opts.js';
import { seccompFilter } from '../../src/runtime/seccomp/index.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const INIT = path.join(repo, 'src/runtime/native/tsnet-init');
const BUSYBOX = '/bin/busybox';
const PATH_ENV = 'env=PATH=/usr/sbin:/usr/bin:/sbin:/bin';
const DOCKER_DEFAULT_CAPS = '00000000a80425fb';

const rootTest = test;

let base = '';
let rootfs = '';

test.before(() => {
  requireNeeds({
    root: true,
    commands: [
      [BUSYBOX, 'busybox-static'],
      ['make', 'make'],
      ['gcc', 'gcc'],
    ],
  });
  execFileSync('make', ['-s', '-C', path.join(repo, 'src/runtime/native')], { stdio: 'inherit' });
  base = mkdtempSync(path.join(os.tmpdir(), 'tsnet-init-test-'));
  rootfs = path.join(base, 'rootfs');
  buildRootfs(rootfs);
});

test.after.always(() => {
  if (base) rmSync(base, { recursive: true, force: true });
});

function buildRootfs(dir: string): void {
  for (const d of ['bin', 'sbin', 'usr/bin', 'usr/sbin', 'etc', 'proc', 'sys', 'dev', 'tmp', 'root', 'mnt']) {
    mkdirSync(path.join(dir, d), { recursive: true });
  }
  copyFileSync(BUSYBOX, path.join(dir, 'bin/busybox'));
  const applets = execFileSync(BUSYBOX, ['--list-full'], { encoding: 'utf8' }).split('\n').filter(Boolean);
  for (const a of applets) {
    const p = path.join(dir, a);
    if (a === 'bin/busybox' || existsSync(p)) continue;
    mkdirSync(path.dirname(p), { recursive: true });
    symlinkSync('/bin/busybox', p);
  }
  writeFileSync(
    path.join(dir, 'etc/passwd'),
    'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n',
  );
  writeFileSync(path.join(dir, 'etc/group'), 'root:x:0:\ntty:x:5:\nstaff:x:50:nobody\nnogroup:x:65534:\n');
}

const rand = (): string => randomBytes(4).toString('hex');

// ---------------------------------------------------------------- driving tsnet-init

class LineReader {
  private buf = '';
  private readonly lines: string[] = [];
  private readonly waiters: Array<(l: string | null) => void> = [];
  private ended = false;

  constructor(stream: Readable) {
    stream.setEncoding('utf8');
    stream.on('data', (d: string) => {
      this.buf += d;
      for (let i = this.buf.indexOf('\n'); i >= 0; i = this.buf.indexOf('\n')) {
        this.push(this.buf.slice(0, i));
        this.buf = this.buf.slice(i + 1);
      }
    });
    stream.on('end', () => {
      this.ended = true;
      while (this.waiters.length) this.waiters.shift()!(null);
    });
  }

  private push(line: string): void {
    const w = this.waiters.shift();
    if (w) w(line);
    else this.lines.push(line);
  }

  /** Next line, or null at EOF. */
  async next(timeoutMs = 10_000): Promise<string | null> {
    if (this.lines.length) return this.lines.shift()!;
    if (this.ended) return null;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('timed out waiting for a line from tsnet-init')), timeoutMs);
      this.waiters.push((l) => {
        clearTimeout(timer);
        resolve(l);
      });
    });
  }
}

interface Sup {
  proc: ChildProcess;
  bundle: string;
  sock: string;
  out: LineReader;
  stderr: () => string;
  exited: Promise<number | null>;
  spawnedAt: bigint;
  childPid: number;
}

function ppidOf(pid: number): number {
  try {
    const st = readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(/^PPid:\s+(\d+)/m.exec(st)?.[1] ?? -1);
  } catch {
    return -1;
  }
}

function alive(pid: number): boolean {
  try {
    const st = readFileSync(`/proc/${pid}/status`, 'utf8');
    return !/^State:\s+Z/m.test(st);
  } catch {
    return false;
  }
}

async function waitFor(cond: () => boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await delay(20);
  }
}

function writeSpec(bundle: string, records: string[]): void {
  for (const r of records) if (r.includes('\0')) throw new Error('NUL in spec record');
  writeFileSync(path.join(bundle, 'spec'), records.map((r) => `${r}\0`).join(''));
}

/** Kill the container (by pid, only if it is still the supervisor's child) and the supervisor. */
async function stopSup(sup: Sup): Promise<void> {
  const supPid = sup.proc.pid!;
  if (sup.proc.exitCode === null && sup.proc.signalCode === null) {
    if (sup.childPid > 0 && ppidOf(sup.childPid) === supPid) {
      try {
        process.kill(sup.childPid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    const done = await Promise.race([sup.exited.then(() => true), delay(4000).then(() => false)]);
    if (!done) {
      try {
        process.kill(supPid, 'SIGKILL');
      } catch {
        /* gone */
      }
      await sup.exited;
    }
  }
}

function startSup(t: ExecutionContext, mode: 'run' | 'exec', records: string[]): Sup {
  const bundle = mkdtempSync(path.join(base, 'b-'));
  writeSpec(bundle, records);
  const spawnedAt = process.hrtime.bigint();
  const proc = spawn(INIT, [mode, bundle], { stdio: ['pipe', 'pipe', 'pipe'] });
  proc.stdin!.on('error', () => {});
  let err = '';
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  const sup: Sup = {
    proc,
    bundle,
    sock: path.join(bundle, 'attach.sock'),
    out: new LineReader(proc.stdout!),
    stderr: () => err,
    exited,
    spawnedAt,
    childPid: -1,
  };
  t.teardown(async () => {
    await stopSup(sup);
    rmSync(bundle, { recursive: true, force: true });
  });
  return sup;
}

async function expectReady(t: ExecutionContext, sup: Sup): Promise<number> {
  const line = await sup.out.next();
  const m = /^ready (\d+)$/.exec(line ?? '');
  if (!m) throw new Error(`expected "ready <pid>", got ${JSON.stringify(line)} (stderr: ${sup.stderr()})`);
  sup.childPid = Number(m[1]);
  t.is(readFileSync(path.join(sup.bundle, 'pid'), 'utf8').trim(), String(sup.childPid));
  return sup.childPid;
}

/**
 * Say go; the next line (an exec error), or `started` when the pipe ends first: after go its only
 * writer is the container's process, close-on-exec, so its end is the execve (docs/tsnet-init.md).
 */
async function goStarted(sup: Sup): Promise<string | null> {
  sup.proc.stdin!.write('go\n');
  return (await sup.out.next()) ?? 'started';
}

interface Attach {
  sock: net.Socket;
  data: () => Buffer;
  done: Promise<Buffer>;
  waitFor: (re: RegExp, timeoutMs?: number) => Promise<void>;
}

/** Connect to attach.sock, send one command line (and optional stdin bytes). */
async function connect(sockPath: string, command: string, input?: string | Buffer): Promise<Attach> {
  const sock = net.createConnection(sockPath);
  await new Promise<void>((resolve, reject) => {
    sock.once('connect', resolve);
    sock.once('error', reject);
  });
  const chunks: Buffer[] = [];
  sock.on('data', (d: Buffer) => chunks.push(d));
  const done = new Promise<Buffer>((resolve) => {
    sock.on('close', () => resolve(Buffer.concat(chunks)));
    sock.on('error', () => {});
  });
  sock.write(`${command}\n`);
  if (input !== undefined) sock.write(input);
  const data = (): Buffer => Buffer.concat(chunks);
  return {
    sock,
    data,
    done,
    waitFor: (re, timeoutMs = 10_000) => waitFor(() => re.test(data().toString('latin1')), timeoutMs, String(re)),
  };
}

/** Docker's multiplexed stream: [stream, 0, 0, 0, uint32 BE length] + payload. */
function demux(buf: Buffer): { stdout: string; stderr: string; frames: Array<[number, string]> } {
  const frames: Array<[number, string]> = [];
  let off = 0;
  while (off < buf.length) {
    if (off + 8 > buf.length) throw new Error('truncated frame header');
    const stream = buf[off]!;
    if (buf[off + 1] !== 0 || buf[off + 2] !== 0 || buf[off + 3] !== 0 || (stream !== 1 && stream !== 2)) {
      throw new Error(`bad frame header at ${off}: ${buf.subarray(off, off + 8).toString('hex')}`);
    }
    const len = buf.readUInt32BE(off + 4);
    frames.push([stream, buf.subarray(off + 8, off + 8 + len).toString('utf8')]);
    off += 8 + len;
  }
  return {
    stdout: frames
      .filter((f) => f[0] === 1)
      .map((f) => f[1])
      .join(''),
    stderr: frames
      .filter((f) => f[0] === 2)
      .map((f) => f[1])
      .join(''),
    frames,
  };
}

async function command(sockPath: string, line: string): Promise<string> {
  const c = await connect(sockPath, line);
  return (await c.done).toString('utf8');
}

interface ExitFile {
  code: number;
  signal: number;
  finished: string;
}

function readExit(bundle: string): ExitFile {
  const text = readFileSync(path.join(bundle, 'exit'), 'utf8');
  const kv = Object.fromEntries(
    text
      .trim()
      .split('\n')
      .map((l) => l.split('=', 2) as [string, string]),
  );
  return { code: Number(kv.code), signal: Number(kv.signal), finished: kv.finished ?? '' };
}

interface RunResult {
  sup: Sup;
  status: string | null;
  stdout: string;
  stderr: string;
  raw: Buffer;
  exit: ExitFile;
  supExit: number | null;
}

/** Whole lifecycle: ready → attach → go → started → output until close → exit file. */
async function run(
  t: ExecutionContext,
  records: string[],
  opts: { flags?: string; input?: string; tty?: boolean; beforeGo?: (sup: Sup) => Promise<void> } = {},
): Promise<RunResult> {
  const withRoot = records.some((r) => r.startsWith('rootfs=')) ? [] : [`rootfs=${rootfs}`];
  const sup = startSup(t, 'run', [...withRoot, PATH_ENV, ...records]);
  await expectReady(t, sup);
  const client = await connect(sup.sock, `attach ${opts.flags ?? 'oe'}`, opts.input);
  if (opts.beforeGo) await opts.beforeGo(sup);
  const status = await goStarted(sup);
  const raw = await client.done;
  const supExit = await sup.exited;
  const { stdout, stderr } = opts.tty ? { stdout: raw.toString('utf8'), stderr: '' } : demux(raw);
  return { sup, status, stdout, stderr, raw, exit: readExit(sup.bundle), supExit };
}

const sh = (script: string): string[] => ['arg=/bin/sh', 'arg=-c', `arg=${script}`];

// ---------------------------------------------------------------- tests

rootTest('after go the pipe to the daemon ends at the execve, while the container and its supervisor run', async (t) => {
  const sup = startSup(t, 'run', [`rootfs=${rootfs}`, PATH_ENV, 'arg=sleep', 'arg=30']);
  const pid = await expectReady(t, sup);
  sup.proc.stdin!.write('go\n');
  // (3 s: a supervisor that kept its copy of the pipe would end it only with the container, in 30 s)
  t.is(await sup.out.next(3000), null);
  t.true(alive(pid));
  t.is(sup.proc.exitCode, null);
  t.is(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0], 'sleep');
});

rootTest('PID 1, own hostname, own /proc, exit code 0', async (t) => {
  const r = await run(t, [
    'hostname=tsnet-c1',
    ...sh('echo pid=$$; hostname; ls /proc | grep -c "^[0-9][0-9]*$"; cat /proc/1/cmdline | tr "\\0" " "; echo'),
  ]);
  t.is(r.status, 'started');
  const lines = r.stdout.trim().split('\n');
  t.is(lines[0], 'pid=1');
  t.is(lines[1], 'tsnet-c1');
  t.true(Number(lines[2]) >= 1 && Number(lines[2]) <= 4, `pids visible in /proc: ${lines[2]}`);
  t.true(lines[3]!.startsWith('/bin/sh -c echo pid=$$'), lines[3]);
  t.is(r.exit.code, 0);
  t.is(r.exit.signal, 0);
  t.regex(r.exit.finished, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
  t.is(r.supExit, 0);
  t.false(existsSync(r.sup.sock), 'attach.sock is removed at the end');
  t.is(readFileSync(path.join(r.sup.bundle, 'supervisor.pid'), 'utf8').trim(), String(r.sup.proc.pid));
  t.not(os.hostname(), 'tsnet-c1');
});

rootTest('cat /proc/1/cmdline as the container command itself', async (t) => {
  const r = await run(t, ['arg=cat', 'arg=/proc/1/cmdline']);
  t.is(r.stdout, 'cat\0/proc/1/cmdline\0');
});

rootTest('share_uts keeps the host hostname', async (t) => {
  const r = await run(t, ['share_uts=1', 'hostname=ignored', 'arg=hostname']);
  t.is(r.stdout.trim(), os.hostname());
});

rootTest('hold_mntns=1: the supervisor holds the container mount namespace until the exit is told', async (t) => {
  // (decision 45: the exit of PID 1 then does not unmount the tree before the supervisor reaps it)
  for (const hold of [true, false]) {
    const sup = startSup(t, 'run', [`rootfs=${rootfs}`, PATH_ENV, ...(hold ? ['hold_mntns=1'] : []), 'arg=true']);
    const pid = await expectReady(t, sup);
    const ns = readlinkSync(`/proc/${pid}/ns/mnt`);
    const fds = `/proc/${sup.proc.pid}/fd`;
    const held = readdirSync(fds).some((fd) => {
      try {
        return readlinkSync(path.join(fds, fd)) === ns;
      } catch {
        return false;
      }
    });
    t.is(held, hold, `hold_mntns=${hold ? 1 : 0}: an fd of the supervisor is the container's ${ns}`);
    const w = await connect(sup.sock, 'wait');
    t.is(await goStarted(sup), 'started');
    t.is((await w.done).toString(), 'exit 0\n');
    t.is(await sup.exited, 0);
  }
});

rootTest(
  'seccomp_early=1: the filter is in place at ready (not loaded between go and the execve); without it, only after go',
  async (t) => {
    // decision 47: the default profile allows what the child calls after ready, so the daemon says so
    const filter = path.join(base, `seccomp-${rand()}.bpf`);
    writeFileSync(filter, seccompFilter(undefined, capabilities()));
    t.teardown(() => rmSync(filter, { force: true }));
    for (const early of [true, false]) {
      const sup = startSup(t, 'run', [
        `rootfs=${rootfs}`,
        PATH_ENV,
        `seccomp=${filter}`,
        ...(early ? ['seccomp_early=1'] : []),
        ...sh('grep Seccomp: /proc/self/status'),
      ]);
      const pid = await expectReady(t, sup);
      const at = /^Seccomp:\s+(\d)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
      t.is(at, early ? '2' : '0', `seccomp_early=${early ? 1 : 0}: the child's seccomp mode at ready`);
      const out = await connect(sup.sock, 'attach o');
      t.is(await goStarted(sup), 'started');
      t.regex((await out.done).toString(), /Seccomp:\s+2/, 'the container process is filtered either way');
      t.is(await sup.exited, 0);
    }
  },
);

rootTest('exit codes pass through to the exit file and wait clients', async (t) => {
  const sup = startSup(t, 'run', [`rootfs=${rootfs}`, PATH_ENV, ...sh('sleep 0.2; exit 7')]);
  await expectReady(t, sup);
  const w = await connect(sup.sock, 'wait');
  t.is(await goStarted(sup), 'started');
  t.is((await w.done).toString(), 'exit 7\n');
  t.is(await sup.exited, 0);
  t.deepEqual({ ...readExit(sup.bundle), finished: '' }, { code: 7, signal: 0, finished: '' });
});

rootTest('signal 15 is ignored by PID 1 without a handler; signal 9 gives 137', async (t) => {
  const sup = startSup(t, 'run', [`rootfs=${rootfs}`, PATH_ENV, 'arg=sleep', 'arg=1000']);
  await expectReady(t, sup);
  t.is(await goStarted(sup), 'started');
  t.is(await command(sup.sock, 'signal 15'), 'ok\n');
  await delay(300);
  t.true(alive(sup.childPid), 'PID 1 ignores SIGTERM without a handler');
  t.false(existsSync(path.join(sup.bundle, 'exit')));
  const w = await connect(sup.sock, 'wait');
  t.is(await command(sup.sock, 'signal 9'), 'ok\n');
  t.is((await w.done).toString(), 'exit 137\n');
  t.is(await sup.exited, 0);
  const ex = readExit(sup.bundle);
  t.is(ex.code, 137);
  t.is(ex.signal, 9);
  t.is(await command(sup.sock, 'signal 9').catch((e: Error) => e.message.split(' ')[0]), 'connect');
});

rootTest('SIGTERM to the supervisor is forwarded (sh with a trap)', async (t) => {
  const sup = startSup(t, 'run', [
    `rootfs=${rootfs}`,
    PATH_ENV,
    ...sh('trap "echo got-term; exit 3" TERM; echo armed; while :; do sleep 0.05; done'),
  ]);
  await expectReady(t, sup);
  const a = await connect(sup.sock, 'attach o');
  t.is(await goStarted(sup), 'started');
  await a.waitFor(/armed/);
  process.kill(sup.proc.pid!, 'SIGTERM');
  t.is(await sup.exited, 0);
  t.regex(demux(await a.done).stdout, /got-term/);
  t.is(readExit(sup.bundle).code, 3);
});

rootTest('command not found → error 127; not executable → error 126', async (t) => {
  for (const [arg, code, re] of [
    ['nonexistent-cmd', 127, /^error 127 exec: "nonexistent-cmd": executable file not found in \$PATH$/],
    ['/nope/x', 127, /^error 127 exec: "\/nope\/x": stat \/nope\/x: no such file or directory$/],
    ['/etc/passwd', 126, /^error 126 exec: "\/etc\/passwd": permission denied$/],
  ] as const) {
    const sup = startSup(t, 'run', [`rootfs=${rootfs}`, PATH_ENV, `arg=${arg}`]);
    await expectReady(t, sup);
    const w = await connect(sup.sock, 'wait');
    const line = await goStarted(sup);
    t.regex(line ?? '', re);
    t.is(await sup.exited, code);
    t.is((await w.done).toString(), `exit ${code}\n`);
    t.is(readExit(sup.bundle).code, code);
  }
});

rootTest('setup failures before ready: error 125 and exit 125', async (t) => {
  const cases: Array<[string[], RegExp]> = [
    [[`rootfs=${rootfs}`, 'arg=true', 'bogus=1'], /^error 125 .*unknown key "bogus"/],
    [
      [`rootfs=${rootfs}`, 'arg=true', 'user=nosuchuser'],
      /^error 125 unable to find user nosuchuser: no matching entries in passwd file$/,
    ],
    [[`rootfs=${rootfs}`, 'arg=true', 'user=0:nosuchgroup'], /^error 125 unable to find group nosuchgroup/],
    [[`rootfs=${rootfs}`], /^error 125 .*arg/],
    [['arg=true'], /^error 125 .*rootfs/],
    [[`rootfs=${rootfs}`, 'arg=true', 'netns=/nonexistent/netns'], /^error 125 open netns \/nonexistent\/netns: No such file/],
    [[`rootfs=${rootfs}`, 'arg=true', `bind=/nonexistent-src-${rand()}\t/x\tro`], /^error 125 bind .*No such file/],
    [[`rootfs=${rootfs}`, 'arg=true', 'cap=CAP_BOGUS'], /^error 125 .*unknown capability/],
    [[`rootfs=${rootfs}`, 'arg=true', 'rlimit=bogus 1 1'], /^error 125 spec: invalid rlimit "bogus 1 1"/],
    [[`rootfs=${rootfs}`, 'arg=true', 'rlimit=nofile 2 1'], /^error 125 spec: invalid rlimit/],
    [[`rootfs=${rootfs}`, 'arg=true', 'rlimit=nofile -1 1'], /^error 125 spec: invalid rlimit/],
    // the daemon refuses these at create; tsnet-init is the last line
    [[`rootfs=${rootfs}`, 'arg=true', 'sysctl=net/../../kernel/pid_max\t1'], /^error 125 spec: invalid sysctl/],
    [[`rootfs=${rootfs}`, 'arg=true', 'sysctl=net...kernel.pid_max\t1'], /^error 125 spec: invalid sysctl/],
    [[`rootfs=${rootfs}`, 'arg=true', 'sysctl=kernel.pid_max\t1'], /^error 125 spec: invalid sysctl/],
    [[`rootfs=${rootfs}`, 'arg=true', 'sysctl=net.core.somaxconn\t1\nkernel.x=1'], /^error 125 spec: invalid sysctl/],
    [
      [`rootfs=${rootfs}`, 'arg=true', 'sysctl=fs.mqueue.no_such_key\t1'],
      /^error 125 write sysctl fs.mqueue.no_such_key=1: No such file/,
    ],
    [[`rootfs=${rootfs}`, 'arg=true', 'shm_size=0'], /^error 125 spec: invalid shm_size/],
    [[`rootfs=${rootfs}`, 'arg=true', 'oom_score_adj=1001'], /^error 125 spec: invalid oom_score_adj 1001/],
    [[`rootfs=${rootfs}`, 'arg=true', 'ipc=container'], /^error 125 spec: invalid ipc container/],
    [
      [`rootfs=${rootfs}`, 'arg=true', 'ipc=host', 'sysctl=kernel.shmmax\t1'],
      /^error 125 sysctl "kernel.shmmax" is not allowed in the host's IPC namespace$/,
    ],
    [
      [`rootfs=${rootfs}`, 'arg=true', 'sysctl=net.core.somaxconn\t1'],
      /^error 125 sysctl "net.core.somaxconn" is not allowed in the host's network namespace$/,
    ],
    [
      [`rootfs=${rootfs}`, 'arg=true', 'rlimit=nofile 99999999 99999999'],
      /^error 125 set ulimit nofile=99999999:99999999: Operation not permitted/,
    ],
  ];
  for (const [records, re] of cases) {
    const sup = startSup(t, 'run', records);
    const line = await sup.out.next();
    t.regex(line ?? '', re);
    t.is(await sup.exited, 125);
    t.false(existsSync(sup.sock));
  }
});

rootTest('stdin EOF before go kills the child and exits 125', async (t) => {
  const sup = startSup(t, 'run', [`rootfs=${rootfs}`, PATH_ENV, 'arg=sleep', 'arg=1000']);
  const pid = await expectReady(t, sup);
  sup.proc.stdin!.end();
  t.regex((await sup.out.next()) ?? '', /^error 125 /);
  t.is(await sup.exited, 125);
  await waitFor(() => !alive(pid), 5000, 'child gone');
  t.false(alive(pid), 'the child is gone');
});

rootTest('mounts made inside are invisible on the host', async (t) => {
  const marker = `tsnet-mnt-${rand()}`;
  const sup = startSup(t, 'run', [
    `rootfs=${rootfs}`,
    PATH_ENV,
    'privileged=1',
    ...sh(`mount -t tmpfs ${marker} /mnt && grep -c ${marker} /proc/self/mountinfo && echo mounted && sleep 1000`),
  ]);
  await expectReady(t, sup);
  const a = await connect(sup.sock, 'attach oe');
  t.is(await goStarted(sup), 'started');
  await a.waitFor(/mounted/);
  const hostMounts = readFileSync('/proc/self/mountinfo', 'utf8');
  t.false(hostMounts.includes(marker));
  t.false(hostMounts.includes(rootfs), 'the rootfs bind is not visible on the host');
  t.is(await command(sup.sock, 'signal 9'), 'ok\n');
  await sup.exited;
  t.is(demux(await a.done).stdout, '1\nmounted\n');
});

rootTest('overlay: writes land in upper, lowers stack topmost first, nothing on the host', async (t) => {
  const dir = mkdtempSync(path.join(base, 'ovl-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const top = path.join(dir, 'top,layer'); // a comma forces the fsconfig(lowerdir+) path
  const merged = path.join(dir, 'merged');
  const upper = path.join(dir, 'upper');
  const work = path.join(dir, 'work');
  for (const d of [top, merged, upper, work]) mkdirSync(d);
  mkdirSync(path.join(top, 'etc'));
  writeFileSync(path.join(top, 'etc/motd'), 'from top layer\n');
  const records = [
    `rootfs=${merged}`,
    PATH_ENV,
    `lower=${top}`,
    `lower=${rootfs}`,
    `upper=${upper}`,
    `work=${work}`,
    ...sh('echo hello > /newfile; cat /etc/motd; grep -c overlay /proc/self/mountinfo'),
  ];
  const sup = startSup(t, 'run', records);
  await expectReady(t, sup);
  t.false(readFileSync('/proc/self/mountinfo', 'utf8').includes(merged), 'overlay is not mounted on the host');
  const a = await connect(sup.sock, 'attach oe');
  t.is(await goStarted(sup), 'started');
  const out = demux(await a.done);
  t.is(out.stdout, 'from top layer\n1\n', out.stderr);
  await sup.exited;
  t.is(readExit(sup.bundle).code, 0);
  t.is(readFileSync(path.join(upper, 'newfile'), 'utf8'), 'hello\n');
  t.false(existsSync(path.join(rootfs, 'newfile')));
  t.deepEqual(readdirSync(merged), []);

  // plain lowerdir= option string, read-only without upper (two lowers, and one lower)
  const plainTop = path.join(dir, 'plain');
  mkdirSync(plainTop);
  for (const lowers of [[plainTop, rootfs], [rootfs]]) {
    const m2 = mkdtempSync(path.join(dir, 'm-'));
    const r = await run(t, [
      `rootfs=${m2}`,
      ...lowers.map((l) => `lower=${l}`),
      ...sh('touch /x 2>/dev/null && echo rw || echo ro; ls /bin/busybox'),
    ]);
    t.is(r.stdout, 'ro\n/bin/busybox\n', r.stderr);
  }
});

rootTest('log file gets CRI lines for stdout and stderr, partial lines as P', async (t) => {
  const logDir = mkdtempSync(path.join(base, 'log-'));
  t.teardown(() => rmSync(logDir, { recursive: true, force: true }));
  const log = path.join(logDir, 'c.log');
  const r = await run(t, [
    `log=${log}`,
    ...sh('echo out1; echo err1 >&2; echo; head -c 20000 /dev/zero | tr "\\0" a; echo; printf partial'),
  ]);
  t.is(r.exit.code, 0);
  const lines = readFileSync(log, 'utf8').split('\n');
  t.is(lines.pop(), '');
  const parsed = lines.map((l) => {
    const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z) (stdout|stderr) ([FP]) (.*)$/s.exec(l);
    if (!m) throw new Error(`bad CRI line: ${l.slice(0, 80)}`);
    t.false(Number.isNaN(Date.parse(m[1]!)));
    return [m[2], m[3], m[4]] as const;
  });
  const find = (s: string, tag: string, content: string): boolean =>
    parsed.some((p) => p[0] === s && p[1] === tag && p[2] === content);
  t.true(find('stdout', 'F', 'out1'));
  t.true(find('stderr', 'F', 'err1'));
  t.true(find('stdout', 'F', ''));
  t.true(find('stdout', 'P', 'a'.repeat(16384)), '16 KiB split as a partial line');
  t.true(find('stdout', 'F', 'a'.repeat(20000 - 16384)));
  t.true(find('stdout', 'P', 'partial'), 'unterminated last line is P');
});

rootTest('attach: Docker framing, stdin, several clients at once, stdin EOF closes the pipe', async (t) => {
  const sup = startSup(t, 'run', [
    `rootfs=${rootfs}`,
    PATH_ENV,
    'stdin=1',
    ...sh('read x; echo "got $x"; echo oops >&2; cat; echo "cat done"'),
  ]);
  await expectReady(t, sup);
  const a = await connect(sup.sock, 'attach ioe', 'hello\n');
  const b = await connect(sup.sock, 'attach o');
  const c = await connect(sup.sock, 'attach e');
  t.is(await goStarted(sup), 'started');
  await a.waitFor(/oops/);
  a.sock.write('more\n');
  await a.waitFor(/more/);
  a.sock.end(); // half-close: the child's stdin pipe is closed, cat ends
  const [ra, rb, rc] = await Promise.all([a.done, b.done, c.done]);
  t.is(await sup.exited, 0);
  const da = demux(ra);
  t.is(da.stdout, 'got hello\nmore\ncat done\n');
  t.is(da.stderr, 'oops\n');
  t.deepEqual(da.frames[0], [1, 'got hello\n']);
  t.is(ra.readUInt32BE(4), 'got hello\n'.length);
  t.deepEqual(demux(rb), { stdout: 'got hello\nmore\ncat done\n', stderr: '', frames: demux(rb).frames });
  t.is(demux(rc).stdout, '');
  t.is(demux(rc).stderr, 'oops\n');
  t.is(readExit(sup.bundle).code, 0);
});

rootTest('an attach client that does not read holds the output back (as Docker); gone, it releases the container', async (t) => {
  const logDir = mkdtempSync(path.join(base, 'log-'));
  t.teardown(() => rmSync(logDir, { recursive: true, force: true }));
  const sup = startSup(t, 'run', [
    `rootfs=${rootfs}`,
    PATH_ENV,
    `log=${path.join(logDir, 'l')}`,
    ...sh('head -c 8000000 /dev/zero; echo finished >&2'),
  ]);
  await expectReady(t, sup);
  const slow = await connect(sup.sock, 'attach o');
  slow.sock.pause(); // does not read
  const e = await connect(sup.sock, 'attach e');
  t.is(await goStarted(sup), 'started');
  let ended = false;
  void e.done.then(() => {
    ended = true;
  });
  await delay(1000);
  t.false(ended, 'the container waits in write() while a client has 1 MiB of its output unread');
  t.false(existsSync(path.join(sup.bundle, 'exit')));
  slow.sock.destroy(); // gone: dropped, and the output flows again
  t.is(demux(await e.done).stderr, 'finished\n');
  t.is(await sup.exited, 0);
  t.is(readExit(sup.bundle).code, 0);
  t.true(readFileSync(path.join(logDir, 'l'), 'utf8').includes(' stderr F finished\n'), 'the log has it all');
});

rootTest('tty: pty from the container devpts, resize, raw output', async (t) => {
  const r = await run(
    t,
    [
      'tty=1',
      'stdin=1',
      ...sh('tty; [ -t 0 ] && [ -t 1 ] && echo isatty; stty size; ls -l /dev/console | cut -c1-10; echo $TERM'),
    ],
    {
      flags: 'io',
      tty: true,
      beforeGo: async (sup) => {
        t.is(await command(sup.sock, 'resize 33 101'), 'ok\n');
      },
    },
  );
  t.is(r.status, 'started');
  const lines = r.stdout.split('\r\n');
  t.is(lines[0], '/dev/pts/0');
  t.is(lines[1], 'isatty');
  t.is(lines[2], '33 101');
  t.is(lines[3], 'crw--w----');
  t.is(r.exit.code, 0);
});

rootTest('tty: log strips \\r and marks everything stdout', async (t) => {
  const logDir = mkdtempSync(path.join(base, 'log-'));
  t.teardown(() => rmSync(logDir, { recursive: true, force: true }));
  const log = path.join(logDir, 'c.log');
  const r = await run(t, ['tty=1', `log=${log}`, ...sh('echo one; echo two >&2')], { flags: 'o', tty: true });
  t.is(r.stdout, 'one\r\ntwo\r\n');
  const lines = readFileSync(log, 'utf8')
    .trim()
    .split('\n')
    .map((l) => l.split(' ').slice(1).join(' '));
  t.deepEqual(lines, ['stdout F one', 'stdout F two']);
  t.is(await command(r.sup.sock, 'resize 1 1').catch(() => 'gone'), 'gone');
});

rootTest('without stdin=1 stdin is /dev/null; only fds 0-2 reach the container; umask 022', async (t) => {
  const r = await run(t, [...sh('cat; readlink /proc/self/fd/0; ls /proc/self/fd | tr "\\n" " "; echo; umask')], {
    input: 'ignored\n',
    flags: 'ioe',
  });
  t.is(r.stdout, '/dev/null\n0 1 2 3 \n0022\n', r.stderr);
});

rootTest('exec: a background process holding stdout does not keep the exec from ending', async (t) => {
  const sup = startSup(t, 'run', [`rootfs=${rootfs}`, PATH_ENV, 'arg=sleep', 'arg=1000']);
  const pid = await expectReady(t, sup);
  t.is(await goStarted(sup), 'started');
  t.timeout(60_000);
  const ex = startSup(t, 'exec', [`target_pid=${pid}`, PATH_ENV, ...sh('sleep 1000 & echo bg')]);
  await expectReady(t, ex);
  const w = await connect(ex.sock, 'wait');
  const a = await connect(ex.sock, 'attach o');
  t.is(await goStarted(ex), 'started');
  // the shell exits at once; its `sleep 1000` keeps stdout open far past the test's own
  // timeout: the exec reports its end and closes the stream anyway
  t.is((await w.done).toString(), 'exit 0\n');
  t.is(demux(await a.done).stdout, 'bg\n');
  t.is(await ex.exited, 0);
});

rootTest('resize without a tty is an error; unknown commands are rejected', async (t) => {
  const sup = startSup(t, 'run', [`rootfs=${rootfs}`, PATH_ENV, 'arg=sleep', 'arg=1000']);
  await expectReady(t, sup);
  t.is(await command(sup.sock, 'resize 10 10'), 'error container has no tty\n');
  t.is(await command(sup.sock, 'frobnicate'), 'error unknown command\n');
  t.is(await command(sup.sock, 'signal x'), 'error usage: signal <n>\n');
  t.is(await goStarted(sup), 'started');
});

rootTest('user=nobody: uid, gid, supplementary groups, HOME, no effective caps', async (t) => {
  const r = await run(t, ['user=nobody', ...sh('id -u; id -g; id -G; echo $HOME; grep -E "^Cap(Eff|Prm)" /proc/self/status')]);
  t.is(r.stdout, `65534\n65534\n65534 50\n/nonexistent\nCapPrm:\t0000000000000000\nCapEff:\t0000000000000000\n`);
  const r2 = await run(t, ['user=1234:5', 'env=HOME=/given', ...sh('id -u; id -g; echo $HOME')]);
  t.is(r2.stdout, '1234\n5\n/given\n');
  const r3 = await run(t, [...sh('id -u; echo $HOME')]);
  t.is(r3.stdout, '0\n/root\n');
});

rootTest('capabilities: Docker default set, explicit set, privileged; no_new_privs; masked paths', async (t) => {
  const status = 'grep -E "^(CapEff|CapBnd|CapInh|CapAmb|NoNewPrivs)" /proc/self/status';
  const r = await run(t, [
    ...sh(
      `${status}; wc -c < /proc/timer_list; wc -c < /proc/interrupts; grep " /proc/sys " /proc/self/mountinfo | grep -c " ro,"`,
    ),
  ]);
  t.is(
    r.stdout,
    `CapInh:\t0000000000000000\nCapEff:\t${DOCKER_DEFAULT_CAPS}\nCapBnd:\t${DOCKER_DEFAULT_CAPS}\nCapAmb:\t0000000000000000\nNoNewPrivs:\t1\n0\n0\n1\n`,
  );
  const r2 = await run(t, ['cap=CAP_NET_ADMIN', 'cap=NET_RAW', ...sh('grep -E "^Cap(Eff|Bnd)" /proc/self/status')]);
  t.is(r2.stdout, 'CapEff:\t0000000000003000\nCapBnd:\t0000000000003000\n');
  const r4 = await run(t, ['cap=none', ...sh('grep -E "^Cap(Eff|Bnd)" /proc/self/status')]);
  t.is(r4.stdout, 'CapEff:\t0000000000000000\nCapBnd:\t0000000000000000\n');
  const r3 = await run(t, [
    'privileged=1',
    ...sh(
      'grep -E "^NoNewPrivs" /proc/self/status; wc -c < /proc/timer_list | grep -vc "^0$"; grep " /sys " /proc/self/mountinfo | grep -c " rw,"',
    ),
  ]);
  t.is(r3.stdout, 'NoNewPrivs:\t1\n1\n1\n');
});

rootTest('binds (rw dir, ro file), readonly rootfs, cwd created, exact env', async (t) => {
  const vol = mkdtempSync(path.join(base, 'vol-'));
  t.teardown(() => rmSync(vol, { recursive: true, force: true }));
  writeFileSync(path.join(vol, 'in'), 'volume data\n');
  const hostsFile = path.join(vol, 'hosts');
  writeFileSync(hostsFile, '127.0.0.1 localhost\n10.0.0.2 c1\n');
  const id = rand();
  const r = await run(t, [
    `bind=${vol}\t/vol-${id}/data\trw`,
    `bind=${hostsFile}\t/etc/hosts\tro`,
    'readonly_rootfs=1',
    `cwd=/work-${id}/sub`,
    'env=FOO=bar baz',
    'env=MULTI=line1\nline2',
    ...sh(
      `pwd; cat /vol-${id}/data/in; echo written > /vol-${id}/data/out && echo wrote; ` +
        'cat /etc/hosts; (echo x >> /etc/hosts) 2>/dev/null || echo hosts-ro; (touch /newfile) 2>/dev/null || echo root-ro; ' +
        'echo "$FOO|$MULTI"; env | sort | grep -v -e ^PWD= -e ^SHLVL= | tr "\\n" ";"',
    ),
  ]);
  t.is(
    r.stdout,
    `/work-${id}/sub\nvolume data\nwrote\n127.0.0.1 localhost\n10.0.0.2 c1\nhosts-ro\nroot-ro\nbar baz|line1\nline2\n` +
      'FOO=bar baz;HOME=/root;MULTI=line1;PATH=/usr/sbin:/usr/bin:/sbin:/bin;line2;',
    r.stderr,
  );
  t.is(readFileSync(path.join(vol, 'out'), 'utf8'), 'written\n');
  // the bind target and cwd were created inside the rootfs; tidy the shared rootfs
  rmSync(path.join(rootfs, `vol-${id}`), { recursive: true, force: true });
  rmSync(path.join(rootfs, `work-${id}`), { recursive: true, force: true });
});

rootTest('bind targets never escape the rootfs through symlinks', async (t) => {
  const evil = mkdtempSync(path.join(base, 'evil-'));
  const outside = mkdtempSync(path.join(base, 'outside-'));
  t.teardown(() => {
    rmSync(evil, { recursive: true, force: true });
    rmSync(outside, { recursive: true, force: true });
  });
  const lowerTop = path.join(evil, 'top');
  mkdirSync(lowerTop);
  symlinkSync(outside, path.join(lowerTop, 'esc')); // absolute symlink pointing at a host dir
  const vol = path.join(evil, 'vol');
  mkdirSync(vol);
  const merged = path.join(evil, 'm');
  mkdirSync(merged);
  for (const d of ['u', 'w']) mkdirSync(path.join(evil, d));
  const r = await run(t, [
    `rootfs=${merged}`,
    `lower=${lowerTop}`,
    `lower=${rootfs}`,
    `upper=${path.join(evil, 'u')}`,
    `work=${path.join(evil, 'w')}`,
    `bind=${vol}\t/esc/newdir\trw`,
    ...sh('ls -d /esc/newdir'),
  ]);
  t.is(r.stdout, '/esc/newdir\n');
  t.deepEqual(readdirSync(outside), [], 'nothing created outside the rootfs');
});

rootTest('exec joins a running container (hostname, pid ns, mnt ns, tty)', async (t) => {
  const sup = startSup(t, 'run', [`rootfs=${rootfs}`, PATH_ENV, 'hostname=exec-host', 'arg=sleep', 'arg=1000']);
  const pid = await expectReady(t, sup);
  t.is(await goStarted(sup), 'started');

  const ex = startSup(t, 'exec', [
    `target_pid=${pid}`,
    PATH_ENV,
    'cwd=/tmp',
    ...sh('hostname; cat /proc/1/cmdline | tr "\\0" " "; echo; pwd; readlink /proc/self/ns/mnt; grep CapEff /proc/self/status'),
  ]);
  await expectReady(t, ex);
  const a = await connect(ex.sock, 'attach oe');
  t.is(await goStarted(ex), 'started');
  const out = demux(await a.done);
  t.is(await ex.exited, 0);
  const mntNs = execFileSync('readlink', [`/proc/${pid}/ns/mnt`], { encoding: 'utf8' }).trim();
  t.is(out.stdout, `exec-host\nsleep 1000 \n/tmp\n${mntNs}\nCapEff:\t${DOCKER_DEFAULT_CAPS}\n`, out.stderr);
  t.is(readExit(ex.bundle).code, 0);

  const ex2 = startSup(t, 'exec', [`target_pid=${pid}`, PATH_ENV, 'tty=1', 'user=nobody', ...sh('tty; id -u; exit 4')]);
  await expectReady(t, ex2);
  const a2 = await connect(ex2.sock, 'attach o');
  t.is(await goStarted(ex2), 'started');
  t.regex((await a2.done).toString(), /^\/dev\/pts\/\d+\r\n65534\r\n$/);
  t.is(await ex2.exited, 0);
  t.is(readExit(ex2.bundle).code, 4);
  t.true(alive(pid), 'the container keeps running');
});

rootTest(
  "cgroup v2 layout (simulated: cgroup2 on /sys/fs/cgroup in a private mount namespace): cgroup2 is the container's /sys/fs/cgroup, read-only, rooted at its cgroup",
  async (t) => {
    // this VM is v1 hybrid; a mount namespace of the test's own with the cgroup2 hierarchy (the
    // hybrid's `unified` one) on /sys/fs/cgroup is what a v2 host looks like to tsnet-init
    t.true(readFileSync('/proc/filesystems', 'utf8').includes('cgroup2'), 'the kernel has cgroup2');
    const bundle = mkdtempSync(path.join(base, 'b-'));
    t.teardown(() => rmSync(bundle, { recursive: true, force: true }));
    const name = `tsnet-test-v2sim-${rand()}`;
    const cg = `/sys/fs/cgroup/${name}`;
    // the same dir in this (the host's) view: the unified hierarchy of a hybrid host, or a v2 host's
    const hostDir = ['/sys/fs/cgroup/unified', '/sys/fs/cgroup'].map((m) => path.join(m, name));
    t.teardown(() => {
      for (const d of hostDir) if (existsSync(d)) rmdirSync(d);
    });
    const log = path.join(bundle, 'out.log');
    writeSpec(bundle, [
      `rootfs=${rootfs}`,
      PATH_ENV,
      `cgroup_into=${cg}`,
      `log=${log}`,
      ...sh(
        'grep " /sys/fs/cgroup " /proc/self/mountinfo | cut -d" " -f4,5,6,9; grep -c . /sys/fs/cgroup/cgroup.procs; touch /sys/fs/cgroup/x',
      ),
    ]);
    const script = [
      'set -e',
      'umount -l /sys/fs/cgroup',
      'mount -t cgroup2 none /sys/fs/cgroup',
      `mkdir ${cg}`,
      `echo go | ${INIT} run ${bundle} || true`,
      `for i in $(seq 100); do rmdir ${cg} 2>/dev/null && break; sleep 0.05; done`,
    ].join('\n');
    const r = execFileSync('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script], {
      encoding: 'utf8',
      timeout: 20_000,
    });
    t.regex(r, /^ready \d+\n$/);
    const out = readFileSync(log, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split(' ').slice(3).join(' '));
    // the mount's root is the container's own cgroup ("/" in its namespace): its processes only
    // (the shell and this grep)
    t.deepEqual(out, [
      '/ /sys/fs/cgroup ro,nosuid,nodev,noexec,relatime cgroup2',
      '2',
      'touch: /sys/fs/cgroup/x: Read-only file system',
    ]);
  },
);

rootTest(
  'cgroup v1: the child is in the cgroup before exec, cgroup ns is private, its cgroup is /sys/fs/cgroup/memory',
  async (t) => {
    const cg = `/sys/fs/cgroup/memory/tsnet-test-${rand()}`;
    mkdirSync(cg);
    t.teardown(async () => {
      // teardowns run last-in first-out, so the supervisors registered below are stopped
      // already; kill anything still in this (uniquely named, test-only) cgroup anyway
      for (let i = 0; i < 100; i++) {
        try {
          for (const p of readFileSync(path.join(cg, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) {
            process.kill(Number(p), 'SIGKILL');
          }
        } catch {
          /* gone */
        }
        try {
          rmdirSync(cg);
          return;
        } catch {
          await delay(50);
        }
      }
    });
    writeFileSync(path.join(cg, 'memory.limit_in_bytes'), String(64 * 1024 * 1024));
    const sup = startSup(t, 'run', [
      `rootfs=${rootfs}`,
      PATH_ENV,
      `cgroup=${cg}`,
      ...sh(
        'grep memory /proc/self/cgroup; cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || echo no-cgroupfs; echo end; exec sleep 1000',
      ),
    ]);
    const pid = await expectReady(t, sup);
    t.true(readFileSync(path.join(cg, 'cgroup.procs'), 'utf8').split('\n').includes(String(pid)), 'in cgroup before go');
    const a = await connect(sup.sock, 'attach o');
    t.is(await goStarted(sup), 'started');
    await a.waitFor(/end/);
    // the mount's root is the container's cgroup (its own limit), not the host's hierarchy
    t.regex(demux(a.data()).stdout, /^\d+:memory:\/\n67108864\nend\n$/);
    t.regex(readFileSync(`/proc/${pid}/cgroup`, 'utf8'), new RegExp(`:memory:${cg.replace('/sys/fs/cgroup/memory', '')}\\n`));

    const ex = startSup(t, 'exec', [`target_pid=${pid}`, PATH_ENV, `cgroup=${cg}`, 'arg=sleep', 'arg=1000']);
    const epid = await expectReady(t, ex);
    t.true(readFileSync(path.join(cg, 'cgroup.procs'), 'utf8').split('\n').includes(String(epid)));
    t.is(await goStarted(ex), 'started');
    t.is(await command(ex.sock, 'signal 9'), 'ok\n');
    t.is(await command(sup.sock, 'signal 9'), 'ok\n');
    await Promise.all([sup.exited, ex.exited]);
    t.is(readExit(ex.bundle).code, 137);
  },
);

rootTest('netns: joins the given network namespace, sysfs shows its interfaces', async (t) => {
  const name = `tsnet-init-test-${rand()}`;
  execFileSync('ip', ['netns', 'add', name]);
  t.teardown(() => {
    try {
      execFileSync('ip', ['netns', 'del', name]);
    } catch {
      /* already gone */
    }
  });
  const r = await run(t, [`netns=/run/netns/${name}`, ...sh('ls /sys/class/net; grep -c : /proc/net/dev')]);
  t.is(r.stdout, 'lo\n1\n', r.stderr);
  const host = await run(t, ['share_uts=1', ...sh('ls /sys/class/net | wc -l')]);
  t.true(Number(host.stdout.trim()) > 1, 'host networking sees the host interfaces');
});

rootTest('the supervisor survives its parent being SIGKILLed', async (t) => {
  const bundle = mkdtempSync(path.join(base, 'b-'));
  writeSpec(bundle, [`rootfs=${rootfs}`, PATH_ENV, 'arg=sleep', 'arg=1000']);
  const script = `
    import { spawn } from 'node:child_process';
    const p = spawn(process.argv[1], ['run', process.argv[2]], { stdio: ['pipe', 'pipe', 'inherit'] });
    let buf = '';
    p.stdout.setEncoding('utf8').on('data', (d) => {
      buf += d;
      if (buf.includes('ready ') && !buf.includes('go-sent')) { buf += 'go-sent'; p.stdin.write('go\\n'); }
    });
    // after go the pipe ends at the execve: started
    p.stdout.on('end', () => { if (buf.includes('go-sent') && !buf.includes('error ')) console.log('up ' + p.pid); });
    setInterval(() => {}, 1000);
  `;
  const parent = spawn(process.execPath, ['--input-type=module', '-e', script, INIT, bundle], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
  });
  let supPid = -1;
  let childPid = -1;
  t.teardown(async () => {
    parent.kill('SIGKILL');
    if (childPid > 0 && ppidOf(childPid) === supPid) process.kill(childPid, 'SIGKILL');
    await waitFor(() => supPid < 0 || !alive(supPid), 5000).catch(() => {
      try {
        process.kill(supPid, 'SIGKILL');
      } catch {
        /* gone */
      }
    });
    rmSync(bundle, { recursive: true, force: true });
  });
  const line = await new LineReader(parent.stdout!).next(15_000);
  supPid = Number(/^up (\d+)$/.exec(line ?? '')?.[1] ?? -1);
  t.true(supPid > 0, String(line));
  childPid = Number(readFileSync(path.join(bundle, 'pid'), 'utf8'));
  parent.kill('SIGKILL');
  await new Promise((r) => parent.once('exit', r));
  // the parent is gone (reaped): the supervisor was re-parented at that moment, not killed
  t.true(alive(supPid), 'supervisor still running');
  t.true(alive(childPid), 'container still running');
  t.not(ppidOf(supPid), parent.pid);
  t.is(await command(path.join(bundle, 'attach.sock'), 'signal 9'), 'ok\n');
  await waitFor(() => existsSync(path.join(bundle, 'exit')), 5000, 'exit file');
  t.is(readExit(bundle).code, 137);
  await waitFor(() => !alive(supPid), 5000, 'supervisor exit');
  t.false(existsSync(path.join(bundle, 'attach.sock')));
});
