/**
 * The daemon's own files under a hostile environment: started with umask 000, the API socket
 * is never connectable by another user, not even for an instant (chmod is slowed down with
 * strace's fault injection to make that instant a second long); state directories are
 * private; `--group` decides the socket's group as in dockerd; a planted record whose id is a
 * path is ignored with a warning, never followed.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { api } from '../helpers/api.js';
import { createWorld, run } from '../helpers/world.js';

function mode(p: string): number {
  return fs.statSync(p).mode & 0o777;
}

/** An unprivileged process that tries to connect to `socket` every millisecond; counts the successes. */
function prober(socket: string): { stop: () => Promise<number> } {
  const script = `
    const net = require('node:net');
    let ok = 0, stop = false;
    process.stdin.on('data', () => { stop = true; });
    const tick = () => {
      if (stop) { process.stdout.write(String(ok)); process.exit(0); }
      const c = net.connect(${JSON.stringify(socket)});
      c.on('connect', () => { ok++; c.destroy(); setTimeout(tick, 1); });
      c.on('error', () => setTimeout(tick, 1));
    };
    tick();`;
  const child = spawn('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'node', '-e', script], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  return {
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', () => resolve(Number(out || '0')));
        child.stdin.end('x');
      }),
  };
}

test.serial('umask 000: the socket is never connectable by another user, and comes out 0660 in the chosen group', async (t) => {
  for (const bin of ['strace', 'setpriv']) {
    const r = await run('sh', ['-c', `command -v ${bin}`]);
    t.is(r.exitCode, 0, `${bin} is needed: apt-get install ${bin === 'strace' ? 'strace' : 'util-linux'}`);
  }
  const w = await createWorld({ busybox: false, daemonArgs: ['--group', 'daemon'] });
  t.teardown(() => w.teardown());
  await w.killDaemon();
  fs.rmSync(w.socket, { force: true });
  // Let the unprivileged prober reach the socket's directory, as users reach /run/tsnet.
  fs.chmodSync(w.dir, 0o711);
  fs.chmodSync(w.execRoot, 0o711);
  const oldUmask = process.umask(0);
  const oldWrap = process.env.TSNET_DAEMON_WRAP;
  // Every chmod of the daemon waits 300 ms: the window between bind and chmod becomes wide.
  process.env.TSNET_DAEMON_WRAP =
    'strace -f -qq -o /dev/null --seccomp-bpf -e trace=chmod,fchmodat,fchmod -e inject=chmod,fchmodat,fchmod:delay_enter=300000';
  const p = prober(w.socket);
  try {
    await w.startDaemon();
  } finally {
    process.umask(oldUmask);
    if (oldWrap === undefined) delete process.env.TSNET_DAEMON_WRAP;
    else process.env.TSNET_DAEMON_WRAP = oldWrap;
  }
  const connected = await p.stop();
  t.is(connected, 0, 'an unprivileged user connected to the API socket');
  const st = fs.statSync(w.socket);
  t.is(st.mode & 0o777, 0o660);
  t.is(st.gid, 1, 'group daemon (--group)');
  t.is(mode(w.root), 0o700, '--root is private');
  t.is(mode(path.join(w.root, 'state', 'containers')), 0o700);
  t.is(mode(path.join(w.root, 'state', 'networks')), 0o700);
  t.is(mode(w.execRoot), 0o711);
  t.deepEqual(
    fs.readdirSync(w.execRoot).filter((n) => n.startsWith('.sock-')),
    [],
    'the private bind directory is gone',
  );
  t.is((await api(w.socket, { path: '/_ping' })).status, 200);
});

test.serial(
  '--group: a missing default group falls back to root; a missing named group stops the daemon with one line',
  async (t) => {
    const w = await createWorld({ busybox: false, daemonArgs: ['--group', '0'] });
    t.teardown(() => w.teardown());
    t.is(fs.statSync(w.socket).gid, 0);
    await w.killDaemon();
    const err = await t.throwsAsync(() => w.startDaemon(['--group', 'no-such-group-here']));
    t.regex(err?.message ?? '', /tsnetd: group no-such-group-here not found: give an existing group name or gid to --group/);
  },
);

test.serial('a planted record whose id is a path is ignored with a warning; nothing outside --root is touched', async (t) => {
  const w = await createWorld();
  t.teardown(() => w.teardown());
  const id = await w.ok(['create', '--name', 'model', 'busybox', 'true']);
  await w.killDaemon();
  const dir = path.join(w.root, 'state', 'containers');
  const rec = JSON.parse(fs.readFileSync(path.join(dir, `${id}.json`), 'utf8')) as Record<string, unknown> & {
    hostConfig: Record<string, unknown>;
    state: Record<string, unknown>;
  };
  // A record that, followed, names a directory beside --root: running with a dead pid and
  // --rm, so restore would record its exit and remove "its" directories.
  const victim = path.join(w.dir, 'victim');
  fs.mkdirSync(path.join(victim, 'keep'), { recursive: true });
  const evil = {
    ...rec,
    id: '../../victim',
    name: 'evil',
    hostConfig: { ...rec.hostConfig, AutoRemove: true },
    state: { ...rec.state, Status: 'running', Pid: 999_999_9, SupervisorPid: 999_999_9 },
  };
  fs.writeFileSync(path.join(dir, 'evil.json'), JSON.stringify(evil));
  fs.writeFileSync(path.join(dir, `${'a'.repeat(64)}.json`), JSON.stringify({ ...evil, id: '../../victim' }));
  await w.startDaemon();
  t.true(fs.existsSync(path.join(victim, 'keep')), 'the directory outside --root is still there');
  t.regex(w.daemonLog(), /evil\.json: ignored, its id "\.\.\/\.\.\/victim" is not 64 hex characters/);
  const names = ((await api(w.socket, { path: '/containers/json?all=1' })).json as Array<{ Names: string[] }>).map(
    (c) => c.Names[0],
  );
  t.deepEqual(names, ['/model']);
});
