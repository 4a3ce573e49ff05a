/**
 * The thin client (docs/architecture.md decision 32): the launcher has the daemon run the
 * command line over `<API socket>.cli`, and everything a user sees — stdout, stderr, exit code,
 * stdin, the terminal — is what the node CLI gives (TSNET_CLI_DIRECT=0, compared side by side).
 * A client that is not in the daemon's mount namespace gets `fallback` and runs node; a client
 * killed mid-command leaves no session; hostile bytes on the socket get one line and the daemon
 * stays up.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import test from 'ava';
import { CLI_ENTRY, cleanEnv, createWorld, eventually, run, type RunResult, type World } from '../helpers/world.js';

let w: World;
test.before(async () => {
  w = await createWorld();
});
test.after.always(async () => {
  await w?.teardown();
});

const LAUNCH = 'tsnet: launch: ';
const SERVED = /^tsnet: launch: served by the daemon at /m;
const FALLBACK = /^tsnet: launch: the daemon at .* answered fallback$/m;

/** The launcher's own lines (TSNET_LAUNCH_DEBUG) taken out of stderr. */
function user(r: RunResult): { stdout: string; stderr: string; exitCode: number } {
  const stderr = r.stderr
    .split('\n')
    .filter((l) => !l.startsWith(LAUNCH))
    .join('\n');
  return { stdout: r.stdout, stderr, exitCode: r.exitCode };
}

/** The same command line through the daemon (the default) and through node. */
async function bothPaths(args: string[], o: { input?: string; env?: Record<string, string> } = {}) {
  const thin = await w.cli(args, { ...o, env: { TSNET_LAUNCH_DEBUG: '1', ...o.env } });
  const node = await w.cli(args, { ...o, env: { TSNET_LAUNCH_DEBUG: '1', TSNET_CLI_DIRECT: '0', ...o.env } });
  return { thin, node };
}

/** A shell command line (for script(1) and sh -c) running the launcher against this world. */
const tsnetSh = (): string => `${CLI_ENTRY} -H unix://${w.socket}`;

test.serial('the daemon runs the command; stdout, stderr, exit code, env and stdin are those of the node path', async (t) => {
  const lines: Array<{ args: string[]; input?: string; env?: Record<string, string> }> = [
    { args: ['run', '--rm', '--network', 'none', 'busybox', 'sh', '-c', 'echo out; echo err >&2; exit 3'] },
    { args: ['run', '--rm', '-i', '--network', 'none', 'busybox', 'sh', '-c', 'cat; echo done'], input: 'abc\ndef\n' },
    { args: ['run', '--rm', '--network', 'none', 'busybox', 'no-such-command'] },
    {
      args: ['run', '--rm', '--network', 'none', '-e', 'FOO', 'busybox', 'sh', '-c', 'echo "$FOO"'],
      env: { FOO: 'from-client' },
    },
    { args: ['inspect', '--type', 'network', 'no-such-network'] },
    { args: ['network', 'ls', '--format', '{{.Name}} {{.Driver}}'] },
    { args: ['version', '--format', '{{.Client.Version}} {{.Server.Version}}'] },
    { args: ['ps', '-a', '--format', '{{.Names}}'] },
  ];
  for (const l of lines) {
    const { thin, node } = await bothPaths(l.args, l);
    const what = `tsnet ${l.args.join(' ')}`;
    t.regex(thin.stderr, SERVED, `${what}: ${thin.stderr}`);
    t.notRegex(node.stderr, SERVED, what);
    t.deepEqual(user(thin), user(node), what);
  }
  // and the outputs are what the commands print (not two equal failures)
  const out = await w.cli(['run', '--rm', '-i', '--network', 'none', 'busybox', 'sh', '-c', 'cat; echo done'], {
    input: 'abc\n',
  });
  t.is(out.stdout, 'abc\ndone\n');
  t.is((await w.cli(['run', '--rm', '--network', 'none', 'busybox', 'sh', '-c', 'exit 3'])).exitCode, 3);
  t.regex(w.daemonLog(), /cli session \d+ ended: exit 3/);
});

test.serial(
  'help, usage errors, cp and another TZ get fallback before any output: node prints them, the same as ever',
  async (t) => {
    for (const args of [['network', 'create'], ['--help'], ['run', '--no-such-flag', 'busybox'], ['cp', 'nothing:/x', '-']]) {
      const { thin, node } = await bothPaths(args);
      const what = `tsnet ${args.join(' ')}`;
      t.regex(thin.stderr, FALLBACK, `${what}: ${thin.stderr}`);
      t.deepEqual(user(thin), user(node), what);
    }
    // a time zone other than the daemon's: dates are formatted in the process's zone, so node
    const id = await w.ok(['create', '--network', 'none', 'busybox', 'true']);
    t.teardown(() => w.cli(['rm', '-f', id]));
    const args = ['ps', '-a', '--filter', `id=${id}`, '--format', '{{.CreatedAt}}'];
    const { thin, node } = await bothPaths(args, { env: { TZ: 'Asia/Tokyo' } });
    t.regex(thin.stderr, FALLBACK, thin.stderr);
    t.regex(thin.stdout, /\+0900 /, thin.stdout);
    t.deepEqual(user(thin), user(node));
  },
);

test.serial('an env file and a bind mount named relative to the client directory are the client files', async (t) => {
  const dir = fs.mkdtempSync(path.join(w.dir, 'client-'));
  fs.writeFileSync(path.join(dir, 'vars.env'), 'GREETING=relative-file\n');
  fs.writeFileSync(path.join(dir, 'data.txt'), 'mounted-file\n');
  const cmd = `cd ${dir} && exec ${tsnetSh()} run --rm --network none --env-file vars.env -v ./data.txt:/data.txt busybox sh -c 'echo "$GREETING"; cat /data.txt'`;
  const thin = await run('sh', ['-c', cmd], { env: cleanEnv({ TSNET_LAUNCH_DEBUG: '1' }) });
  const node = await run('sh', ['-c', cmd], { env: cleanEnv({ TSNET_CLI_DIRECT: '0' }) });
  t.regex(thin.stderr, SERVED, thin.stderr);
  t.is(thin.stdout, 'relative-file\nmounted-file\n', thin.stderr);
  t.deepEqual(user(thin), user(node));
});

test.serial('a command that does not read stdin leaves it to the next reader, as node does', async (t) => {
  for (const env of [{ TSNET_LAUNCH_DEBUG: '1' }, { TSNET_CLI_DIRECT: '0' }] as Array<Record<string, string>>) {
    const r = await run('sh', ['-c', `${tsnetSh()} network ls -q --filter name=none; cat`], {
      input: 'left-for-cat\n',
      env: cleanEnv(env),
    });
    t.is(r.exitCode, 0, r.stderr);
    t.regex(r.stdout, /^[0-9a-f]{12}\nleft-for-cat\n$/, JSON.stringify(env));
  }
});

test.serial('run -it on a terminal: a real tty in the container, the exit code, and the terminal restored after', async (t) => {
  // stty -g before and after: raw mode was on during the session and must be off again
  const probe = `[ -t 0 ] && echo "IN-$((6*7))"; [ -t 1 ] && echo "OUT-$((5*7))"; exit 3`;
  const results: string[] = [];
  for (const env of [{ TSNET_LAUNCH_DEBUG: '1' }, { TSNET_CLI_DIRECT: '0' }] as Array<Record<string, string>>) {
    const line = `stty -g; ${tsnetSh()} run -it --rm --network none busybox sh; echo "rc=$?"; stty -g`;
    const r = await run('script', ['-qfec', line, '/dev/null'], { input: `${probe}\n`, env: cleanEnv(env), timeoutMs: 30_000 });
    const out = r.stdout.replace(/\r/g, '');
    t.regex(out, /IN-42/, out);
    t.regex(out, /OUT-35/, out);
    t.regex(out, /rc=3/, out);
    const modes = out.split('\n').filter((l) => /^[0-9a-f]+(:[0-9a-f]+){10,}$/.test(l));
    t.is(modes.length, 2, out);
    t.is(modes[0], modes[1], `the terminal settings after the command: ${out}`);
    results.push(out);
  }
  t.regex(results[0]!, SERVED);
});

test.serial('a signal the command does not handle ends it as it ends node; a handled one reaches the container', async (t) => {
  const id = await w.ok(['run', '-d', '--network', 'none', 'busybox', 'sleep', '1000']);
  t.teardown(() => w.cli(['rm', '-f', id]));
  for (const env of [{}, { TSNET_CLI_DIRECT: '0' }] as Array<Record<string, string>>) {
    const before = (w.daemonLog().match(/cli session \d+ started: wait/g) ?? []).length;
    const p = w.startCli(['wait', id], { env });
    // the thin path: once its session runs (a SIGINT before that kills the launcher itself: 130 too)
    if (!('TSNET_CLI_DIRECT' in env))
      await eventually(() => (w.daemonLog().match(/cli session \d+ started: wait/g) ?? []).length > before);
    p.kill('SIGINT');
    t.is((await p.done).exitCode, 130, JSON.stringify(env));
  }
  // the daemon logs the session's end once the command has wound down, which may be after the
  // client (told to die of the signal first) is gone
  t.true(
    await eventually(() => /cli session \d+ ended: the client dies of SIGINT/.test(w.daemonLog())),
    w.daemonLog().split('\n').slice(-20).join('\n'),
  );
  // run's sig-proxy: the container gets SIGTERM, its trap answers
  const script = 'trap "echo got-term; exit 9" TERM; echo ready; sleep 1000 & wait';
  for (const env of [{}, { TSNET_CLI_DIRECT: '0' }] as Array<Record<string, string>>) {
    const starts = (): number => (w.daemonLog().match(/POST \/containers\/[0-9a-f]+\/start /g) ?? []).length;
    const before = starts();
    const p = w.startCli(['run', '--rm', '--network', 'none', 'busybox', 'sh', '-c', script], { env });
    // the signal handlers are in place once the start request is answered (the daemon logs it then)
    t.truthy(await eventually(() => p.stdout().includes('ready') && starts() > before), p.stderr());
    p.kill('SIGTERM');
    const r = await p.done;
    t.is(r.exitCode, 9, JSON.stringify(env) + r.stderr);
    t.is(r.stdout, 'ready\ngot-term\n');
  }
});

test.serial('a client killed mid-command leaves no session behind (its API connections close)', async (t) => {
  const id = await w.ok(['run', '-d', '--network', 'none', 'busybox', 'sh', '-c', 'echo line; sleep 1000']);
  t.teardown(() => w.cli(['rm', '-f', id]));
  const before = (w.daemonLog().match(/cli session \d+ started: logs/g) ?? []).length;
  const p = w.startCli(['logs', '-f', id]);
  t.truthy(await eventually(() => p.stdout().includes('line')), p.stderr());
  const started = [...w.daemonLog().matchAll(/cli session (\d+) started: logs/g)];
  t.is(started.length, before + 1);
  const n = started[started.length - 1]![1]!;
  p.kill('SIGKILL');
  await p.done;
  const ended = await eventually(() => new RegExp(`cli session ${n} ended: client gone`).test(w.daemonLog()), 15_000);
  t.true(ended, w.daemonLog().split('\n').slice(-20).join('\n'));
});

test.serial('a client in another mount namespace gets fallback: node runs it, with the same output', async (t) => {
  const args = ['-H', `unix://${w.socket}`, 'network', 'ls', '--format', '{{.Name}}'];
  const other = await run('unshare', ['-m', CLI_ENTRY, ...args], { env: cleanEnv({ TSNET_LAUNCH_DEBUG: '1' }) });
  const here = await run(CLI_ENTRY, args, { env: cleanEnv({ TSNET_LAUNCH_DEBUG: '1' }) });
  t.regex(other.stderr, FALLBACK, other.stderr);
  t.regex(here.stderr, SERVED, here.stderr);
  t.is(other.exitCode, 0, other.stderr);
  t.deepEqual(user(other), user(here));
});

/** Connect to the CLI socket, send `bytes` (then half-close when `end`), and read until the daemon closes. */
function talk(bytes: Buffer, end = false): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const c = net.connect(`${w.socket}.cli`);
    const got: Buffer[] = [];
    const timer = setTimeout(() => {
      c.destroy();
      reject(new Error(`the daemon did not close the connection; it sent ${JSON.stringify(Buffer.concat(got).toString())}`));
    }, 15_000);
    c.on('connect', () => (end ? c.end(bytes) : c.write(bytes)));
    c.on('data', (d: Buffer) => got.push(d));
    c.on('error', () => undefined);
    c.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(got));
    });
  });
}

function frames(buf: Buffer): Array<{ type: string; payload: Buffer }> {
  const out: Array<{ type: string; payload: Buffer }> = [];
  for (let at = 0; at + 5 <= buf.length; ) {
    const len = buf.readUInt32BE(at);
    out.push({ type: String.fromCharCode(buf[at + 4]!), payload: buf.subarray(at + 5, at + 5 + len) });
    at += 5 + len;
  }
  return out;
}

const header = (len: number, type: string): Buffer => {
  const b = Buffer.alloc(5);
  b.writeUInt32BE(len, 0);
  b[4] = type.charCodeAt(0);
  return b;
};

/** A hello (frames.ts's layout) with `argc`/`envc` as given and these strings after the header. */
function hello(strings: string[], argc: number, envc: number): Buffer {
  const head = Buffer.alloc(14);
  head[0] = 1;
  head.writeUInt32BE(argc, 6);
  head.writeUInt32BE(envc, 10);
  const payload = Buffer.concat([head, Buffer.from(strings.map((s) => `${s}\0`).join(''))]);
  return Buffer.concat([header(payload.length, 'h'), payload]);
}

test.serial('hostile bytes on the CLI socket: one line each, exit 125, and the daemon stays up', async (t) => {
  const cases: Array<{ name: string; bytes: Buffer; line: RegExp }> = [
    { name: 'a huge length', bytes: header(0xffff_ffff, 'h'), line: /a frame of 4294967295 bytes \(at most 1048576\)/ },
    { name: 'not a hello first', bytes: Buffer.concat([header(1, 's'), Buffer.of(2)]), line: /the first frame is not a hello/ },
    { name: 'counts that lie', bytes: hello(['/', 'ps'], 5, 0), line: /a hello with 2 of its 6 strings/ },
    { name: 'a relative directory', bytes: hello(['tmp', 'ps'], 1, 0), line: /a hello whose directory is not absolute/ },
    { name: 'too many arguments', bytes: hello(['/'], 1 << 30, 0), line: /a hello with 1073741824 arguments/ },
    {
      name: 'an unknown frame in a session',
      bytes: Buffer.concat([hello(['/', 'logs', '-f', 'nothing-here-yet'], 3, 0), header(0, 'Z')]),
      line: /a frame of unknown type 90/,
    },
  ];
  for (const c of cases) {
    const got = frames(await talk(c.bytes));
    const text = got.map((f) => `${f.type}:${f.payload.toString()}`).join(' | ');
    const err = got.filter((f) => f.type === 'e');
    t.is(err.length, 1, `${c.name}: ${text}`);
    t.regex(err[0]?.payload.toString() ?? '', c.line, c.name);
    t.is(err[0]?.payload.toString().split('\n').length, 2, `${c.name}: one line`);
    t.deepEqual(got[got.length - 1], { type: 'x', payload: Buffer.of(125) }, `${c.name}: ${text}`);
  }
  // truncated: half a hello, then the client goes
  const half = hello(['/', 'ps'], 1, 0);
  t.deepEqual(await talk(half.subarray(0, 9), true), Buffer.alloc(0));
  // the daemon is up and still serves
  const r = await w.cli(['version', '--format', '{{.Server.Version}}'], { env: { TSNET_LAUNCH_DEBUG: '1' } });
  t.is(r.exitCode, 0, r.stderr);
  t.regex(r.stderr, SERVED);
  t.is((w.daemonLog().match(/cli socket: .*: session closed/g) ?? []).length, cases.length);
});
