/**
 * Detached containers: ps, logs, exec, stop timing, kill, wait, inspect, restart, rm.
 */
import test from 'ava';
import fs from 'node:fs';
import { createWorld, eventually, type World } from '../helpers/world.js';

let w: World;
test.before(async () => {
  w = await createWorld();
});
test.after.always(async () => {
  await w?.teardown();
});

async function runD(...args: string[]): Promise<string> {
  const r = await w.cli(['run', '-d', '--network', 'none', ...args]);
  if (r.exitCode !== 0) throw new Error(`run -d failed: ${r.stderr}`);
  return r.stdout.trim();
}

test('ps shows running containers; -a shows exited ones; --format json and -q', async (t) => {
  const name = `ps-${w.id}`;
  const id = await runD('--name', name, 'busybox', 'sleep', '1000');
  const ps = await w.cli(['ps']);
  t.regex(ps.stdout, /CONTAINER ID\s+IMAGE\s+COMMAND\s+CREATED\s+STATUS\s+PORTS\s+NAMES/);
  t.regex(ps.stdout, new RegExp(`${id.slice(0, 12)}\\s+busybox\\s+"sleep 1000"\\s+.*Up .*${name}`));
  const q = await w.cli(['ps', '-q']);
  t.true(q.stdout.split('\n').includes(id.slice(0, 12)));
  const json = await w.cli(['ps', '--format', 'json']);
  const rows = json.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { Names: string; State: string });
  t.true(rows.some((r) => r.Names === name && r.State === 'running'));
  await w.cli(['rm', '-f', name]);

  const ex = `exited-${w.id}`;
  t.is((await w.cli(['run', '--network', 'none', '--name', ex, 'busybox', 'sh', '-c', 'exit 3'])).exitCode, 3);
  t.false((await w.cli(['ps'])).stdout.includes(ex));
  t.regex((await w.cli(['ps', '-a'])).stdout, new RegExp(`Exited \\(3\\).*${ex}`));
  await w.cli(['rm', ex]);
});

test('logs: stdout and stderr, --tail and -f', async (t) => {
  // The last line waits for /tmp/go, which the test makes once `logs -f` is following: what each
  // `logs` sees is decided by the test, not by how fast the machine is.
  const id = await runD(
    'busybox',
    'sh',
    '-c',
    'for i in 1 2 3; do echo out$i; echo err$i >&2; done; until [ -e /tmp/go ]; do sleep 0.05; done; echo late',
  );
  await eventually(
    async () => (await w.cli(['logs', id])).stdout.includes('out3') && (await w.cli(['logs', id])).stderr.includes('err3'),
    60_000,
  );
  const logs = await w.cli(['logs', id]);
  t.is(logs.stdout, 'out1\nout2\nout3\n');
  t.is(logs.stderr, 'err1\nerr2\nerr3\n');
  const follow = w.startCli(['logs', '-f', id]);
  t.teardown(() => follow.kill());
  t.true(await eventually(() => follow.stdout().endsWith('out3\n'), 60_000), `logs -f printed: ${follow.stdout()}`);
  await w.ok(['exec', id, 'touch', '/tmp/go']);
  const followed = await follow.done;
  t.is(followed.exitCode, 0, followed.stderr);
  t.is(followed.stdout, 'out1\nout2\nout3\nlate\n');
  t.is(followed.stderr, 'err1\nerr2\nerr3\n');
  await w.cli(['rm', '-f', id]);

  const only = await runD('busybox', 'sh', '-c', 'for i in 1 2 3 4 5; do echo line$i; done; sleep 1000');
  await eventually(async () => (await w.cli(['logs', only])).stdout.includes('line5'));
  t.is((await w.cli(['logs', '--tail', '2', only])).stdout, 'line4\nline5\n');
  t.is((await w.cli(['logs', '--tail', '0', only])).stdout, '');
  await w.cli(['rm', '-f', only]);
});

test('exec runs in the container namespaces and passes its exit code', async (t) => {
  const id = await runD('--hostname', 'exechost', 'busybox', 'sleep', '1000');
  const r = await w.cli(['exec', id, 'sh', '-c', 'hostname; cat /proc/1/cmdline | tr "\\0" " "; exit 4']);
  t.is(r.exitCode, 4);
  const [host, cmd] = r.stdout.trim().split('\n');
  t.is(host, 'exechost');
  t.is(cmd?.trim(), 'sleep 1000');
  const ps = await w.cli(['exec', id, 'ps']);
  t.regex(ps.stdout, /sleep 1000/);
  const e = await w.cli(['exec', '-e', 'X=42', '-w', '/tmp', id, 'sh', '-c', 'echo $X; pwd']);
  t.is(e.stdout, '42\n/tmp\n');
  const missing = await w.cli(['exec', id, 'nosuchcmd']);
  t.is(missing.exitCode, 127);
  await w.cli(['rm', '-f', id]);
});

test('stop: SIGTERM, then SIGKILL after the timeout even for a PID 1 without handlers', async (t) => {
  const id = await runD('busybox', 'sleep', '1000');
  const pid = Number(JSON.parse((await w.cli(['inspect', id])).stdout)[0].State.Pid);
  t.true(pid > 1 && fs.existsSync(`/proc/${pid}`), `the container's process ${pid} runs`);
  const s = await w.cli(['stop', '-t', '1', id]);
  t.is(s.exitCode, 0, s.stderr);
  const insp = JSON.parse((await w.cli(['inspect', id])).stdout)[0];
  t.is(insp.State.Status, 'exited');
  t.is(insp.State.ExitCode, 137, 'PID 1 ignored SIGTERM and was killed');
  t.false(fs.existsSync(`/proc/${pid}`), 'the process is gone when stop returns');
  // A process that handles SIGTERM exits by itself (0), long before the 10 s SIGKILL (137)
  const id2 = await runD('busybox', 'sh', '-c', 'trap "exit 0" TERM; while true; do sleep 0.1; done');
  const s2 = await w.cli(['stop', '-t', '10', id2]);
  t.is(s2.exitCode, 0, s2.stderr);
  const insp2 = JSON.parse((await w.cli(['inspect', id2])).stdout)[0];
  t.is(insp2.State.ExitCode, 0);
  await w.cli(['rm', id, id2]);
});

test('kill -s, wait, restart, and rm of a running container', async (t) => {
  const id = await runD('busybox', 'sleep', '1000');
  const waiting = w.cli(['wait', id]);
  await w.cli(['kill', '-s', 'SIGKILL', id]);
  const waited = await waiting;
  t.is(waited.stdout.trim(), '137');
  const restart = await w.cli(['start', id]);
  t.is(restart.exitCode, 0, restart.stderr);
  t.is(JSON.parse((await w.cli(['inspect', id])).stdout)[0].State.Status, 'running');
  const rm = await w.cli(['rm', id]);
  t.is(rm.exitCode, 1);
  // Docker's words: clients look for them (the Python SDK's errors test)
  t.regex(rm.stderr, /container is running: stop the container before removing or force remove/);
  t.is((await w.cli(['rm', '-f', id])).exitCode, 0);
  const gone = await w.cli(['inspect', id]);
  t.not(gone.exitCode, 0);
  t.regex(gone.stderr, /[Nn]o such/);
});

test("inspect shows Docker's shape", async (t) => {
  const name = `insp-${w.id}`;
  const id = await runD('--name', name, '-e', 'K=V', '--memory', '64m', 'busybox', 'sleep', '1000');
  const [c] = JSON.parse((await w.cli(['inspect', name])).stdout);
  t.is(c.Id, id);
  t.is(c.Name, `/${name}`);
  t.is(c.Path, 'sleep');
  t.deepEqual(c.Args, ['1000']);
  t.true(c.State.Running);
  t.true(c.State.Pid > 1);
  t.is(c.HostConfig.Memory, 64 * 1024 * 1024);
  t.true(c.Config.Env.includes('K=V'));
  await w.cli(['rm', '-f', name]);
});

/** Children of `pid` that exited and were not reaped (state Z in /proc/<child>/stat). */
function zombiesOf(pid: number): number[] {
  const out: number[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    // "<pid> (<comm>) <state> <ppid> …" — comm may hold spaces and parentheses
    const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (state === 'Z' && Number(ppid) === pid) out.push(Number(name));
  }
  return out;
}

// The daemon starts tsnet-init with posix_spawn (src/kernel/spawn.ts), not through Node, so it
// reaps those supervisors itself.
// serial: the file's other tests start and end processes in the same world (a zombie of theirs,
// between its exit and its reaping, is no leak)
test.serial('tsnet-init supervisors are reaped: no zombie child of the daemon after run --rm, exec and rm -f', async (t) => {
  const daemonPid = w.daemon?.pid;
  if (!daemonPid) throw new Error('the world has no daemon process');
  t.is((await w.cli(['run', '--rm', '--network', 'none', 'busybox', 'true'])).exitCode, 0);
  const id = await runD('busybox', 'sleep', '1000');
  t.is((await w.cli(['exec', id, 'true'])).exitCode, 0);
  t.is((await w.cli(['rm', '-f', id])).exitCode, 0);
  // a supervisor is reaped when the daemon handles its SIGCHLD: poll for that, no fixed sleep
  const reaped = await eventually(() => zombiesOf(daemonPid).length === 0);
  t.true(reaped, `zombie children of the daemon: ${zombiesOf(daemonPid).join(', ')}`);
});
