/**
 * src/kernel/spawn.ts: programs started with posix_spawn (not a fork of the daemon) — a run to
 * its end with input and both outputs, a program that is not there, a timeout, and a detached
 * supervisor's pipes and reaping.
 */
import test from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
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

test('spawnDetached: its own session, stdin/stdout pipes, stderr to the file, close after the end', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-spawn-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const err = path.join(dir, 'err');
  const p = spawner.spawnDetached('sh', ['-c', 'read line; echo "got $line $(cut -d" " -f6 /proc/self/stat)"; echo e >&2'], {
    stderrFile: err,
    env: { PATH: '/usr/bin:/bin' },
  });
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
});
