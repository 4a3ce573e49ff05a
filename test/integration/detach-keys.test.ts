/**
 * Detach keys (issue 12): on a tty session the daemon scans the client's stdin for the sequence
 * (default ctrl-p,ctrl-q, or `detachKeys` / `--detach-keys`), closes the attach connection when
 * it is complete and leaves the container running; a broken sequence reaches the container.
 * Driven through the API on a raw socket and through the CLI in a real pty (util-linux script).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { api } from '../helpers/api.js';
import { cleanEnv, eventually, REPO, type World } from '../helpers/world.js';
import { eventActions, runDetached, worldTest } from '../helpers/world-test.js';

const test = worldTest();

/**
 * A hijacked attach (or exec start) on a raw socket: what it received, and whether the daemon
 * closed it. With `bodyLater`, the body is sent only once the daemon has read the headers.
 */
function hijack(socket: string, head: string, body = '', bodyLater = false) {
  const c = net.connect(socket);
  let text = '';
  let closed = false;
  c.on('data', (d: Buffer) => {
    text += d.toString('latin1');
  });
  c.on('close', () => {
    closed = true;
  });
  c.on('error', () => undefined);
  const headers = `${head}\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: ${body.length}\r\n\r\n`;
  if (bodyLater) {
    c.write(headers);
    setTimeout(() => c.write(body), 300);
  } else c.write(headers + body);
  return { c, text: () => text, closed: () => closed };
}

const running = async (w: World, id: string) => (await w.ok(['inspect', '-f', '{{.State.Running}}', id])) === 'true';

test.serial(
  'attach: the default ctrl-p,ctrl-q closes the connection, the container keeps running; other bytes pass',
  async (t) => {
    const { w } = t.context;
    const id = await runDetached(t, w, ['-it', 'busybox', 'sh']);
    const s = hijack(w.socket, `POST /v1.44/containers/${id}/attach?stream=1&stdin=1&stdout=1&stderr=1 HTTP/1.1`);
    await eventually(() => s.text().includes('101'));
    // a ctrl-p that is not followed by ctrl-q is passed on: the shell sees "echo A-$((6*7))"
    s.c.write('\x10');
    s.c.write('\x7f'); // the shell's line editor erases the ctrl-p it got
    s.c.write('echo A-$((6*7))\n');
    await eventually(() => s.text().includes('A-42'));
    t.regex(s.text(), /A-42/);
    s.c.write('\x10\x11');
    await eventually(() => s.closed(), 10_000);
    t.true(s.closed(), 'the daemon closed the attach connection');
    t.true(await running(w, id), 'the container still runs');
    // it can be attached to again: still the same shell
    const again = hijack(w.socket, `POST /v1.44/containers/${id}/attach?stream=1&stdin=1&stdout=1&detachKeys=ctrl-a,d HTTP/1.1`);
    await eventually(() => again.text().includes('101'));
    again.c.write('echo B-$((5*7))\n');
    await eventually(() => again.text().includes('B-35'));
    t.regex(again.text(), /B-35/);
    again.c.write('\x01d');
    await eventually(() => again.closed(), 10_000);
    t.true(again.closed());
    t.true(await running(w, id));
    const events = await eventActions(w, id);
    t.is(events.filter((e) => e === 'detach').length, 2, events.join(' '));
    const bad = await api(w.socket, { method: 'POST', path: `/containers/${id}/attach?stream=1&stdin=1&detachKeys=ctrl-foo` });
    t.is(bad.status, 400);
    t.regex(bad.text, /Invalid detach keys \(ctrl-foo\) provided/);
  },
);

test.serial('without a tty the sequence is only data (as Docker)', async (t) => {
  const { w } = t.context;
  const id = await runDetached(t, w, ['-i', 'busybox', 'sh', '-c', 'od -An -c; sleep 1000']);
  const s = hijack(w.socket, `POST /v1.44/containers/${id}/attach?stream=1&stdin=1&stdout=1&stderr=1 HTTP/1.1`);
  await eventually(() => s.text().includes('101'));
  s.c.end('\x10\x11x');
  await eventually(() => /020\s+021\s+x/.test(s.text()));
  t.regex(s.text(), /020\s+021\s+x/);
});

const cliCmd = (w: World) => `node ${path.join(REPO, 'dist/cli-bundle/main.cjs')} -H unix://${w.socket}`;

/** Run a CLI command in a pty; type `first`, wait for `marker` in the output, then type `keys`; resolves with the exit code. */
function inPty(cmd: string, first: string, marker: RegExp, keys: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const p = spawn('script', ['-qfec', cmd, '/dev/null'], { env: cleanEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let typed = false;
    const timer = setTimeout(() => p.kill('SIGKILL'), 30_000);
    p.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (!typed && marker.test(out)) {
        typed = true;
        p.stdin.write(keys);
      }
    });
    p.stderr.on('data', (d: Buffer) => {
      out += d.toString();
    });
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, out });
    });
    p.stdin.write(first);
  });
}

test.serial(
  'the CLI: run -it then ctrl-p ctrl-q exits 0 and the container runs on; exec -it and attach with --detach-keys',
  async (t) => {
    const { w } = t.context;
    const r = await inPty(
      `${cliCmd(w)} run -it --name detachme --network none busybox sh`,
      'echo R-$((6*7))\n',
      /R-42/,
      '\x10\x11',
    );
    t.teardown(() => w.cli(['rm', '-f', 'detachme']));
    t.is(r.code, 0, r.out);
    t.true(await running(w, 'detachme'), 'the container still runs');

    const e = await inPty(`${cliCmd(w)} exec -it --detach-keys ctrl-x,q detachme sh`, 'echo E-$((5*7))\n', /E-35/, '\x18q');
    t.is(e.code, 0, e.out);
    t.true(await running(w, 'detachme'));

    const a = await inPty(`${cliCmd(w)} attach --detach-keys ctrl-a,d detachme`, 'echo T-$((4*7))\n', /T-28/, '\x01d');
    t.is(a.code, 0, a.out);
    t.true(await running(w, 'detachme'));
    // the first shell is still there: exiting it through attach ends the container
    const end = await inPty(`${cliCmd(w)} attach detachme`, 'echo X-$((3*7))\n', /X-21/, 'exit 4\n');
    t.is(end.code, 4, end.out);
    t.false(await running(w, 'detachme'));
  },
);

test.serial(
  "the CLI takes detachKeys from its config file (as docker's config.json); the default sequence is then only data",
  async (t) => {
    const { w } = t.context;
    const cfg = path.join(w.dir, 'cli-config');
    fs.mkdirSync(cfg, { recursive: true });
    fs.writeFileSync(path.join(cfg, 'config.json'), JSON.stringify({ detachKeys: 'ctrl-e,e' }));
    const id = await runDetached(t, w, ['-it', 'busybox', 'sh']);
    const r = await inPty(`TSNET_CONFIG=${cfg} ${cliCmd(w)} attach ${id}`, 'echo C-$((8*7))\n', /C-56/, '\x05e');
    t.is(r.code, 0, r.out);
    t.true(await running(w, id));
    // with the config's keys in force, the default sequence is only data: the shell gets it (ctrl-p
    // recalls the last line in its editor; ctrl-u clears it)
    const d = await inPty(`TSNET_CONFIG=${cfg} ${cliCmd(w)} attach ${id}`, 'echo D-$((9*7))\n', /D-63/, '\x10\x11\x15exit 5\n');
    t.is(d.code, 5, d.out);
  },
);

test.serial(
  'exec start whose body comes in a read of its own still reads stdin and detaches (the SDK sends them apart)',
  async (t) => {
    const { w } = t.context;
    const id = await w.ok(['run', '-d', '--network', 'none', 'busybox', 'sleep', '1000']);
    t.teardown(() => w.cli(['rm', '-f', id]));
    const created = await api(w.socket, {
      method: 'POST',
      path: `/containers/${id}/exec`,
      body: { Cmd: ['cat'], AttachStdin: true, AttachStdout: true, Tty: true },
    });
    t.is(created.status, 201, created.text);
    const execId = (created.json as { Id: string }).Id;
    const s = hijack(w.socket, `POST /v1.45/exec/${execId}/start HTTP/1.1`, JSON.stringify({ Detach: false, Tty: true }), true);
    await eventually(() => s.text().includes('101'));
    s.c.write('typed-1\n');
    await eventually(() => s.text().includes('typed-1\r\ntyped-1'), 10_000);
    t.regex(s.text(), /typed-1\r\ntyped-1/, 'cat got stdin (the tty echoes it, cat writes it back)');
    s.c.write('\x10\x11');
    await eventually(() => s.closed(), 10_000);
    t.true(s.closed(), 'the daemon closed the session');
    t.true(await running(w, id));
  },
);
