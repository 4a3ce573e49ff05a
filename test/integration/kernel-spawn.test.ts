/**
 * src/kernel/spawn.ts: programs started with posix_spawn (not a fork of the daemon) — a run to
 * its end with input and both outputs, a program that is not there, a timeout, and a detached
 * supervisor's pipes and reaping.
 */
import test, { type ExecutionContext } from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { DetachedProgram } from '../../src/kernel/process.js';
import { createSpawner } from '../../src/kernel/spawn.js';

const spawner = createSpawner();

test('run: stdin in, stdout and stderr apart, the exit code; the signal dispositions are reset', async (t) => {
  const r = await spawner.run('sh', ['-c', 'cat; echo oops >&2; trap - PIPE; kill -PIPE $$'], { input: 'hello\n' });
  t.is(r.stdout, 'hello\n');
  t.is(r.stderr, 'oops\n');
  // Node ignores SIGPIPE; a child that inherited that would survive its own kill -PIPE
  t.is(r.signal, 'SIGPIPE');
  t.is(r.exitCode, undefined);
  const three = await spawner.run('sh', ['-c', 'exit 3']);
  t.is(three.exitCode, 3);
});

test('run: a missing program is a start error; a timeout kills', async (t) => {
  const missing = await spawner.run('/nonexistent/tsnet-nothing', []);
  t.is(missing.startError, 'ENOENT');
  t.is(missing.exitCode, undefined);
  const slow = await spawner.run('sleep', ['30'], { timeoutMs: 100 });
  t.true(slow.timedOut);
  t.is(slow.signal, 'SIGKILL');
});

/** A detached `sh` reading a line: its own session, stdin/stdout pipes, stderr to the file, close after the end. */
async function checkDetached(
  t: ExecutionContext,
  spawn: (cmd: string, args: string[], opts: { stderrFile: string; env: Record<string, string> }) => Promise<DetachedProgram>,
): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-spawn-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const err = path.join(dir, 'err');
  const script = 'read line; echo "got $line $(cut -d" " -f6 /proc/self/stat)"; echo e >&2';
  const p = await spawn('sh', ['-c', script], { stderrFile: err, env: { PATH: '/usr/bin:/bin' } });
  t.truthy(p.pid);
  const closed = new Promise<number | null>((r) => p.on('close', (code) => r(code)));
  let out = '';
  p.stdout?.setEncoding('utf8');
  p.stdout?.on('data', (d: string) => (out += d));
  p.stdin?.write('ping\n');
  t.is(await closed, 0);
  // field 6 of /proc/<pid>/stat is the session id: its own pid's (setsid)
  t.regex(out, /^got ping \d+\n$/);
  t.is(out.trim().split(' ')[2], String(p.pid), 'the child leads its own session');
  t.is(fs.readFileSync(err, 'utf8'), 'e\n');
  return err;
}

test('spawnDetached: its own session, stdin/stdout pipes, stderr to the file, close after the end', async (t) => {
  await checkDetached(t, async (cmd, args, opts) => spawner.spawnDetached(cmd, args, opts));
});

test('spawnDetachedAsync: the spawn on a pool thread; its own session, pipes, stderr file, close after the end', async (t) => {
  const err = await checkDetached(t, (cmd, args, opts) => spawner.spawnDetachedAsync(cmd, args, opts));
  // a missing program: an 'error' event with the errno's name, as Node's spawn gives
  const missing = await spawner.spawnDetachedAsync('/nonexistent/prog', [], { stderrFile: err });
  const e = await new Promise<NodeJS.ErrnoException>((r) => missing.on('error', r));
  t.is(e.code, 'ENOENT');
});

test('spawnDetachedAsync: 12 at once (a queue, two on the pool at a time) all run, end and close', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-spawn-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  // a daemon's event loop never runs dry; this test's would, between a program's last output
  // and its SIGCHLD (a signal watcher keeps no loop alive), and end the test unfinished
  const alive = setInterval(() => undefined, 1000);
  t.teardown(() => clearInterval(alive));
  const spawns = Array.from({ length: 12 }, (_, i) =>
    spawner.spawnDetachedAsync('sh', ['-c', `exit ${i}`], { stderrFile: path.join(dir, `err${i}`) }),
  );
  const codes = await Promise.all(spawns.map(async (s) => closeOf(await s)));
  t.deepEqual(
    codes,
    Array.from({ length: 12 }, (_, i) => i),
  );
});

test.serial(
  'spawnDetachedAsync: a program gone before its spawn is known is reaped by the answer (its SIGCHLD came first)',
  async (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-spawn-'));
    t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
    const alive = setInterval(() => undefined, 1000);
    t.teardown(() => clearInterval(alive));
    const own = createSpawner();
    await own.run('true', []); // its SIGCHLD watcher is on
    // without it, only the answer can reap a program that ended before it was registered
    const watchers = process.listeners('SIGCHLD');
    process.removeAllListeners('SIGCHLD');
    t.teardown(() => {
      for (const w of watchers) process.on('SIGCHLD', w);
    });
    const spawns = [3, 4].map((i) =>
      own.spawnDetachedAsync('sh', ['-c', `exit ${i}`], { stderrFile: path.join(dir, `err${i}`) }),
    );
    // this thread busy until both have ended (zombies of this process), before their answers run
    while (zombieChildren() < 2);
    t.deepEqual(await Promise.all(spawns.map(async (s) => closeOf(await s))), [3, 4]);
  },
);

const closeOf = (p: DetachedProgram) => new Promise<number | null>((r) => p.on('close', (code) => r(code)));

/** Ended children of this process not reaped yet. */
function zombieChildren(): number {
  let n = 0;
  for (const pid of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const st = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
      if (f[0] === 'Z' && Number(f[1]) === process.pid) n++;
    } catch {
      /* gone */
    }
  }
  return n;
}
