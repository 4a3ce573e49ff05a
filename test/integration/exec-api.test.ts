/**
 * Exec and process semantics Docker clients rely on (issue 11): the start request's Tty picks
 * the session's output form whatever tty the exec has, an exec runs as its User in its
 * WorkingDir, an Env entry without `=` is kept in Config.Env and unsets the variable, body keys
 * are matched case-insensitively (the Python SDK sends `detachKeys`), GroupAdd, and Runtime.
 */
import anyTest, { type TestFn } from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { api, rawApi } from '../helpers/api.js';
import { cleanEnv, createWorld, run, type World } from '../helpers/world.js';
import { runDetached } from '../helpers/world-test.js';

const test = anyTest as TestFn<{ w: World; id: string }>;
const DOCKER = ['/usr/local/bin/docker', '/usr/bin/docker'].find((p) => fs.existsSync(p)) ?? 'docker';

test.before(async (t) => {
  const w = await createWorld();
  t.context.w = w;
  t.context.id = await w.ok(['run', '-d', '--network', 'none', '--name', 'execbox', 'busybox', 'sleep', '1000']);
});
test.after.always(async (t) => {
  await t.context.w?.teardown();
});

/** Create an exec, start it on an upgraded connection; the 101's headers and the raw session bytes. */
async function session(t: { context: { w: World; id: string } }, create: object, start: object) {
  const { w, id } = t.context;
  const created = await api(w.socket, {
    method: 'POST',
    path: `/containers/${id}/exec`,
    body: { AttachStdout: true, AttachStderr: true, ...create },
  });
  if (created.status !== 201) throw new Error(created.text);
  const execId = (created.json as { Id: string }).Id;
  const body = JSON.stringify(start);
  const r = await rawApi(
    w.socket,
    `POST /v1.45/exec/${execId}/start HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
    20_000,
  );
  const headEnd = r.text.indexOf('\r\n\r\n');
  return { status: r.status, head: r.text.slice(0, headEnd), out: Buffer.from(r.text.slice(headEnd + 4), 'utf8'), execId };
}

/** Multiplexed frames → [stream, text] pairs; throws on anything that is not a frame. */
function frames(buf: Buffer): Array<[number, string]> {
  const out: Array<[number, string]> = [];
  for (let i = 0; i < buf.length; ) {
    const stream = buf[i]!;
    if (stream !== 1 && stream !== 2)
      throw new Error(`${stream} is not a valid stream (bytes ${JSON.stringify(buf.toString())})`);
    const n = buf.readUInt32BE(i + 4);
    out.push([stream, buf.subarray(i + 8, i + 8 + n).toString()]);
    i += 8 + n;
  }
  return out;
}

const script = 'echo hello out; sleep 0.3; echo hello err >&2';

test.serial('a tty exec started with Tty false comes framed as stdout; started with Tty true, raw', async (t) => {
  const framed = await session(t, { Cmd: ['sh', '-c', script], Tty: true }, { Detach: false, Tty: false });
  t.is(framed.status, 101);
  t.regex(framed.head, /Content-Type: application\/vnd\.docker\.multiplexed-stream/);
  const got = frames(framed.out);
  t.true(
    got.every(([s]) => s === 1),
    'a tty has one stream: stdout',
  );
  t.is(got.map(([, text]) => text).join(''), 'hello out\r\nhello err\r\n');

  const raw = await session(t, { Cmd: ['sh', '-c', script], Tty: true }, { Detach: false, Tty: true });
  t.regex(raw.head, /Content-Type: application\/vnd\.docker\.raw-stream/);
  t.is(raw.out.toString(), 'hello out\r\nhello err\r\n');
});

test.serial(
  'an exec without a tty started with Tty true gets stdout and stderr as plain bytes; with Tty false, frames',
  async (t) => {
    const raw = await session(t, { Cmd: ['sh', '-c', script] }, { Detach: false, Tty: true });
    t.is(raw.out.toString(), 'hello out\nhello err\n');
    const framed = await session(t, { Cmd: ['sh', '-c', script] }, { Detach: false, Tty: false });
    t.deepEqual(frames(framed.out), [
      [1, 'hello out\n'],
      [2, 'hello err\n'],
    ]);
  },
);

test.serial('an exec runs as its User, in its WorkingDir; an unknown user is one line', async (t) => {
  const { w, id } = t.context;
  t.is(await w.ok(['exec', '-u', 'nobody', '-w', '/tmp', id, 'sh', '-c', 'id -u; id -g; pwd']), '65534\n65534\n/tmp');
  t.is(await w.ok(['exec', '-u', '1234:5678', id, 'sh', '-c', 'id -u; id -g']), '1234\n5678');
  const bad = await session(t, { Cmd: ['whoami'], User: 'postgres' }, { Detach: false, Tty: false });
  const lines = frames(bad.out);
  t.is(lines.length, 1);
  t.regex(lines[0]![1], /^unable to find user postgres: no matching entries in passwd file\n$/);
});

test.serial(
  'an exec that cannot start exits as with current dockerd: 127 not found / no such cwd, 126 not executable / unknown user',
  async (t) => {
    const { w, id } = t.context;
    const docker = (args: string[]) =>
      run(DOCKER, ['-H', `unix://${w.socket}`, ...args], { env: cleanEnv({ DOCKER_CONFIG: path.join(w.dir, 'docker-config') }) });
    for (const [args, code, said] of [
      [[id, 'nosuchcmd'], 127, /executable file not found in \$PATH/],
      [[id, '/etc/passwd/x'], 127, /not a directory/],
      [['-w', '/nosuchdir', id, 'pwd'], 127, /chdir to cwd \/nosuchdir: No such file or directory/],
      [[id, '/etc/passwd'], 126, /permission denied/],
      [[id, '/etc'], 126, /permission denied|is a directory/],
      [['-u', 'nosuchuser', id, 'id'], 126, /unable to find user nosuchuser: no matching entries in passwd file/],
    ] as const) {
      const label = args.filter((a) => a !== id).join(' ');
      const r = await w.cli(['exec', ...args]);
      t.is(r.exitCode, code, `tsnet exec ${label}: ${r.stderr}`);
      t.regex(r.stderr, said, label);
      t.is(r.stderr.trim().split('\n').length, 1, r.stderr);
      const d = await docker(['exec', ...args]);
      t.is(d.exitCode, code, `docker exec ${label}: ${d.stdout}${d.stderr}`);
      t.regex(`${d.stdout}${d.stderr}`, said, label);
    }
  },
);

test.serial(
  'Env without = is kept in Config.Env and unsets the variable; HOSTNAME is set as in Docker; exec Env too',
  async (t) => {
    const { w } = t.context;
    const created = await api(w.socket, {
      method: 'POST',
      path: '/containers/create?name=envbox',
      body: {
        Image: 'busybox',
        Cmd: ['sleep', '1000'],
        Hostname: 'envhost',
        Env: ['Foo', 'Other=one', 'Blank=', 'HOSTNAME'],
        HostConfig: { NetworkMode: 'none' },
      },
    });
    t.is(created.status, 201, created.text);
    const inspect = await api(w.socket, { path: '/containers/envbox/json' });
    const env = (inspect.json as { Config: { Env: string[] } }).Config.Env;
    for (const e of ['Foo', 'Other=one', 'Blank=', 'HOSTNAME']) t.true(env.includes(e), `${e} in ${JSON.stringify(env)}`);
    await w.ok(['start', 'envbox']);
    const pid1 = (await w.ok(['exec', 'envbox', 'sh', '-c', "tr '\\0' '\\n' < /proc/1/environ"])).split('\n');
    t.true(pid1.includes('Other=one') && pid1.includes('Blank='), pid1.join(' '));
    t.false(
      pid1.some((e) => e === 'Foo' || e.startsWith('Foo=') || e.startsWith('HOSTNAME')),
      `unset in the process: ${pid1.join(' ')}`,
    );
    const execEnv = (await w.ok(['exec', '-e', 'X=Y', '-e', 'Other', 'envbox', 'env'])).split('\n');
    t.true(execEnv.includes('X=Y'));
    t.false(
      execEnv.some((e) => e.startsWith('Other')),
      execEnv.join(' '),
    );
    const plain = (await w.ok(['exec', t.context.id, 'env'])).split('\n');
    t.true(plain.includes(`HOSTNAME=${t.context.id.slice(0, 12)}`), plain.join(' '));
  },
);

test.serial('body keys in another case are the fields Docker decodes them as (the Python SDK sends detachKeys)', async (t) => {
  const { w, id } = t.context;
  const created = await api(w.socket, {
    method: 'POST',
    path: `/containers/${id}/exec`,
    body: { cmd: ['cat'], attachStdin: true, tty: true, detachKeys: 'ctrl-x' },
  });
  t.is(created.status, 201, created.text);
  const info = await api(w.socket, { path: `/exec/${(created.json as { Id: string }).Id}/json` });
  const e = info.json as { DetachKeys: string; OpenStdin: boolean; ProcessConfig: { tty: boolean; entrypoint: string } };
  t.deepEqual([e.DetachKeys, e.OpenStdin, e.ProcessConfig.tty, e.ProcessConfig.entrypoint], ['ctrl-x', true, true, 'cat']);
  const bad = await api(w.socket, {
    method: 'POST',
    path: `/containers/${id}/exec`,
    body: { cmd: ['true'], detachKeys: 'ctrl-1' },
  });
  t.is(bad.status, 400);
  t.regex((bad.json as { message: string }).message, /Invalid detach keys \(ctrl-1\)/);
});

test.serial('--group-add: gids as given and names from the container group file, for the process and its execs', async (t) => {
  const { w } = t.context;
  const id = await w.ok([
    'run',
    '-d',
    '--network',
    'none',
    '--group-add',
    '1000',
    '--group-add',
    'tty',
    '-u',
    'nobody',
    'busybox',
    'sleep',
    '1000',
  ]);
  const pid1 = await w.ok(['exec', id, 'sh', '-c', "grep '^Groups:' /proc/1/status"]);
  t.deepEqual(
    pid1
      .split(/\s+/)
      .slice(1)
      .map(Number)
      .sort((a, b) => a - b),
    [5, 1000, 65534],
    pid1,
  );
  const groups = (await w.ok(['exec', id, 'id', '-G']))
    .split(' ')
    .map(Number)
    .sort((a, b) => a - b);
  t.deepEqual(groups, [5, 1000, 65534], 'an exec gets them too');
  t.is(await w.ok(['inspect', '-f', '{{json .HostConfig.GroupAdd}}', id]), '["1000","tty"]');
  const missing = await w.cli(['run', '--network', 'none', '--group-add', 'wheel', 'busybox', 'true']);
  t.not(missing.exitCode, 0);
  t.regex(missing.stderr, /unable to find group wheel: no matching entries in group file/);
  t.is(missing.stderr.trim().split('\n').length, 1, missing.stderr);
  for (const bad of ['a:b', '4294967296']) {
    const r = await w.cli(['create', '--network', 'none', '--group-add', bad, 'busybox', 'true']);
    t.is(r.exitCode, 125, bad);
    t.regex(
      r.stderr,
      bad === 'a:b' ? /invalid group "a:b": a group name or a gid/ : /uids and gids must be in range 0-2147483647/,
    );
  }
});

test.serial('HostConfig.Runtime: empty is the default runtime, shown by inspect; any other name gets Docker error', async (t) => {
  const { w } = t.context;
  const ok = await api(w.socket, {
    method: 'POST',
    path: '/containers/create',
    body: { Image: 'busybox', Cmd: ['true'], HostConfig: { NetworkMode: 'none', Runtime: '' } },
  });
  t.is(ok.status, 201, ok.text);
  const id = (ok.json as { Id: string }).Id;
  t.is(await w.ok(['inspect', '-f', '{{.HostConfig.Runtime}}', id]), 'tsnet-init');
  const before = await w.ok(['ps', '-aq', '--no-trunc']);
  const bad = await api(w.socket, {
    method: 'POST',
    path: '/containers/create',
    body: { Image: 'busybox', Cmd: ['true'], HostConfig: { NetworkMode: 'none', Runtime: 'runc' } },
  });
  t.is(bad.status, 400);
  t.regex(
    (bad.json as { message: string }).message,
    /^unknown or invalid runtime name: runc \(tsnet has one runtime: tsnet-init\)$/,
  );
  t.is(await w.ok(['ps', '-aq', '--no-trunc']), before, 'nothing was made');
});

test.serial(
  "a hijacked session's first bytes come after the client has read the 101 head (buffered readers lose nothing)",
  async (t) => {
    const { w } = t.context;
    const id = await runDetached(t, w, ['busybox', 'echo', 'hello']);
    await w.ok(['wait', id]);
    // A client that sends its attach (logs, no stream: all of it is ready at once) and reads nothing
    // for a while, then reads once, as Python's http.client does before the Docker SDK takes the raw
    // socket. Without the hold, head and output are both queued by then and that one read takes both;
    // with it, the first read is the head and the output follows.
    const client = [
      'import socket, sys, time',
      's = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)',
      's.connect(sys.argv[1])',
      `s.sendall(b"POST /v1.45/containers/${id}/attach?logs=1&stream=0&stdout=1&stderr=1 HTTP/1.1\\r\\nHost: x\\r\\nConnection: Upgrade\\r\\nUpgrade: tcp\\r\\n\\r\\n")`,
      'time.sleep(0.05)',
      'first = s.recv(65536)',
      'rest = b""',
      'while True:',
      '    c = s.recv(65536)',
      '    if not c: break',
      '    rest += c',
      'sys.stdout.write(first.hex() + " " + rest.hex())',
    ].join('\n');
    const r = await run('python3', ['-c', client, w.socket]);
    t.is(r.exitCode, 0, r.stderr);
    const [first, rest] = r.stdout.split(' ').map((h) => Buffer.from(h, 'hex').toString('latin1')) as [string, string];
    t.true(first.startsWith('HTTP/1.1 101 UPGRADED'), first);
    t.true(first.endsWith('\r\n\r\n'), `the first read held more than the head: ${JSON.stringify(first)}`);
    t.is(rest.slice(8), 'hello\n');
  },
);
