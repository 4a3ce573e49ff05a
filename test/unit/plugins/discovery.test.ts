import test from 'ava';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { candidatePaths, locatePlugin, scanPlugins, validatePluginName } from '../../../src/plugins/discovery.js';
import { isTsnetError } from '../../../src/errors/index.js';

interface Dirs {
  root: string;
  sock: string;
  sock2: string;
  spec1: string;
  spec2: string;
  servers: net.Server[];
}

async function dirs(t: { teardown(fn: () => void | Promise<void>): void }): Promise<Dirs> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-disc-'));
  const d: Dirs = {
    root,
    sock: path.join(root, 'run'),
    sock2: path.join(root, 'run2'),
    spec1: path.join(root, 'etc'),
    spec2: path.join(root, 'usr'),
    servers: [],
  };
  for (const x of [d.sock, d.sock2, d.spec1, d.spec2]) fs.mkdirSync(x, { recursive: true });
  t.teardown(async () => {
    for (const s of d.servers) await new Promise((r) => s.close(r));
    fs.rmSync(root, { recursive: true, force: true });
  });
  return d;
}

async function socketAt(d: Dirs, file: string): Promise<void> {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(file, r));
  d.servers.push(s);
}

function write(file: string, text: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
}

const cfg = (d: Dirs) => ({ socketDirs: [d.sock, d.sock2], specDirs: [d.spec1, d.spec2] });

test("candidate order is Docker's: sockets, then per spec dir .spec, <n>/<n>.spec, .json, <n>/<n>.json", (t) => {
  const c = candidatePaths('p', { socketDirs: ['/s'], specDirs: ['/a', '/b'] });
  t.deepEqual(
    c.map((x) => x.file),
    [
      '/s/p.sock',
      '/s/p/p.sock',
      '/a/p.spec',
      '/a/p/p.spec',
      '/a/p.json',
      '/a/p/p.json',
      '/b/p.spec',
      '/b/p/p.spec',
      '/b/p.json',
      '/b/p/p.json',
    ],
  );
});

test('each file kind is found', async (t) => {
  const d = await dirs(t);
  await socketAt(d, path.join(d.sock, 'a.sock'));
  await socketAt(d, path.join(d.sock, 'b', 'b.sock'));
  write(path.join(d.spec1, 'c.spec'), 'unix:///run/c.sock\n');
  write(path.join(d.spec1, 'd', 'd.spec'), 'tcp://127.0.0.1:4000');
  write(path.join(d.spec2, 'e.json'), JSON.stringify({ Addr: 'tcp://127.0.0.1:4001' }));
  write(path.join(d.spec2, 'f', 'f.json'), JSON.stringify({ Addr: 'unix:///run/f.sock' }));
  t.is(locatePlugin('a', cfg(d))?.socketPath, path.join(d.sock, 'a.sock'));
  t.is(locatePlugin('b', cfg(d))?.socketPath, path.join(d.sock, 'b', 'b.sock'));
  t.is(locatePlugin('c', cfg(d))?.url, 'unix:///run/c.sock');
  t.is(locatePlugin('d', cfg(d))?.url, 'tcp://127.0.0.1:4000');
  t.is(locatePlugin('e', cfg(d))?.port, 4001);
  t.is(locatePlugin('f', cfg(d))?.socketPath, '/run/f.sock');
  t.is(locatePlugin('nope', cfg(d)), undefined);
  t.deepEqual(scanPlugins(cfg(d)).sort(), ['a', 'b', 'c', 'd', 'e', 'f']);
});

test('precedence: socket dir before spec dirs, .spec before .json, first spec dir first', async (t) => {
  const d = await dirs(t);
  write(path.join(d.spec2, 'p.spec'), 'tcp://127.0.0.1:2');
  write(path.join(d.spec1, 'p', 'p.json'), JSON.stringify({ Addr: 'tcp://127.0.0.1:3' }));
  t.is(locatePlugin('p', cfg(d))?.port, 3, 'spec dir 1 beats spec dir 2');
  write(path.join(d.spec1, 'p.json'), JSON.stringify({ Addr: 'tcp://127.0.0.1:4' }));
  t.is(locatePlugin('p', cfg(d))?.port, 4, '<d>/p.json beats <d>/p/p.json');
  write(path.join(d.spec1, 'p', 'p.spec'), 'tcp://127.0.0.1:5');
  t.is(locatePlugin('p', cfg(d))?.port, 5, '.spec beats .json');
  write(path.join(d.spec1, 'p.spec'), 'tcp://127.0.0.1:6');
  t.is(locatePlugin('p', cfg(d))?.port, 6, '<d>/p.spec beats <d>/p/p.spec');
  await socketAt(d, path.join(d.sock2, 'p.sock'));
  t.is(locatePlugin('p', cfg(d))?.socketPath, path.join(d.sock2, 'p.sock'), 'a socket beats spec files');
  await socketAt(d, path.join(d.sock, 'p', 'p.sock'));
  t.is(locatePlugin('p', cfg(d))?.socketPath, path.join(d.sock, 'p', 'p.sock'), 'the first socket dir wins');
  await socketAt(d, path.join(d.sock, 'p.sock'));
  t.is(locatePlugin('p', cfg(d))?.socketPath, path.join(d.sock, 'p.sock'), '<s>/p.sock beats <s>/p/p.sock');
  t.deepEqual(scanPlugins(cfg(d)), ['p'], 'listed once');
});

test('a .sock that is not a socket is skipped', async (t) => {
  const d = await dirs(t);
  write(path.join(d.sock, 'q.sock'), 'not a socket');
  write(path.join(d.spec1, 'q.spec'), 'tcp://127.0.0.1:7');
  t.is(locatePlugin('q', cfg(d))?.port, 7);
  t.deepEqual(scanPlugins(cfg(d)), ['q']);
});

test('a malformed spec file is an error naming it; bad names are refused', async (t) => {
  const d = await dirs(t);
  write(path.join(d.spec1, 'bad.spec'), '127.0.0.1:80');
  const err = t.throws(() => locatePlugin('bad', cfg(d)));
  t.true(isTsnetError(err, 'TSNET_INVALID_ARGUMENT'));
  t.regex(err!.message, /bad\.spec/);
  for (const n of ['', '.', '..', 'a/b', 'x\0y']) t.throws(() => validatePluginName(n));
  t.notThrows(() => validatePluginName('my-plugin.v2:latest'));
});
