/**
 * What every request of the daemon goes through, kept cheap (decision 50): the router's lookup by
 * first path segment (same answers as trying every route in order), the served-version memo,
 * the body key folding with its lookups kept per route, `timed` without an async wrapper when
 * timing is off, the timing lines written together, and the V8 tiering the daemon sets.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import test from 'ava';
import { Router } from '../../../src/daemon/http/router.js';
import { compileSchema } from '../../../src/daemon/http/schema.js';
import { ContainerCreateBody } from '../../../src/daemon/schemas/index.js';
import { DAEMON_V8_FLAGS, tuneV8 } from '../../../src/daemon/v8-tiers.js';
import { timed } from '../../../src/errors/rollback.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

test('routes are tried by first segment, in the order added; param-first patterns stay candidates everywhere', (t) => {
  const r = new Router();
  const h = (name: string) => async () => ({ status: 200, text: name });
  r.add(
    { method: 'GET', pattern: '/a/{x}', schema: {}, handler: h('a-x') },
    { method: 'POST', pattern: '/{any}/b', schema: {}, handler: h('any-b') },
    { method: 'GET', pattern: '/a/c', schema: {}, handler: h('a-c') },
    { method: 'DELETE', pattern: '/z/{x}', schema: {}, handler: h('z-x'), only: true },
  );
  const route = (method: string, p: string) => {
    const m = r.match(method, p);
    return typeof m === 'object' ? m.route.pattern : m;
  };
  t.is(route('GET', '/a/c'), '/a/{x}'); // the first added wins, as before
  t.is(route('POST', '/a/b'), '/{any}/b'); // a param-first route added before /a/c is a candidate for /a/...
  t.is(route('POST', '/q/b'), '/{any}/b'); // a first segment no literal route has
  t.is(route('POST', '/z/b'), '/{any}/b'); // a literal first segment first added after a param-first route
  t.is(route('GET', '/q/b'), 'method');
  t.is(route('GET', '/q/nothing'), undefined);
  t.is(route('GET', '/z/1'), undefined); // `only`: another method on its path is a 404
  t.is(route('PUT', '/a/c'), 'method');
  // a route added after the first lookup is found too
  r.add({ method: 'PUT', pattern: '/a/c', schema: {}, handler: h('put') });
  t.is(route('PUT', '/a/c'), '/a/c');
});

test('an API version is checked on every request until it is found served', (t) => {
  const r = new Router();
  r.add({ method: 'GET', pattern: '/x', schema: {}, handler: async () => ({ status: 200 }) });
  for (let i = 0; i < 2; i++) t.throws(() => r.match('GET', '/v1.99/x'), { message: /too new/ });
  for (let i = 0; i < 2; i++) t.is((r.match('GET', '/v1.41/x') as { apiVersion: string }).apiVersion, '1.41');
  t.throws(() => r.match('GET', '/v1.2/x'), { message: /too old/ });
});

test("a route's body folding keeps its lookups between requests and folds each object by its own schema", (t) => {
  const fold = compileSchema({ body: ContainerCreateBody }).foldBody!;
  const first = fold({ image: 'a', hostconfig: { binds: ['/a:/b'] } });
  t.deepEqual(first, { Image: 'a', HostConfig: { Binds: ['/a:/b'] } });
  const second = fold({ hostconfig: { logconfig: { type: 'none' }, networkmode: 'n' }, Labels: { image: 'x' } });
  t.deepEqual(second, { HostConfig: { LogConfig: { Type: 'none' }, NetworkMode: 'n' }, Labels: { image: 'x' } });
});

test('timed with timing off: the step promise itself, a synchronous throw as a rejection', async (t) => {
  const p = Promise.resolve(7);
  t.is(
    timed('x', () => p),
    p,
  );
  t.is(await timed('x', () => 8), 8);
  const err = new Error('boom');
  const r = timed('x', () => {
    throw err;
  });
  t.true(r instanceof Promise);
  await t.throwsAsync(r, { is: err });
});

test('timing lines are written together: at a flush (a request answered) or by the exit, in order', (t) => {
  const script = [
    `import { flushTiming, timingLine } from ${JSON.stringify(path.join(REPO, 'src/errors/rollback.ts'))};`,
    "timingLine('step 0', performance.now());",
    "process.stdout.write('before\\n');",
    'flushTiming();',
    "process.stdout.write('flushed\\n');",
    "for (let i = 1; i < 3; i++) timingLine('step ' + i, performance.now());",
    "process.stdout.write('body done\\n');",
  ].join('\n');
  // stdout and stderr into one pipe: the order of the writes is what is checked
  const r = spawnSync('sh', ['-c', '"$0" --import tsx --input-type=module -e "$1" 2>&1', process.execPath, script], {
    cwd: REPO,
    env: { ...process.env, TSNET_TIMING: '1' },
    encoding: 'utf8',
    timeout: 60_000,
  });
  t.is(r.status, 0, r.stdout);
  t.deepEqual(
    r.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => l.replace(/^timing [0-9.]+ ms /, 'timing: ')),
    ['before', 'timing: step 0', 'flushed', 'body done', 'timing: step 1', 'timing: step 2'],
  );
});

test('the daemon compiles a function to baseline code at its first call (--always-sparkplug)', (t) => {
  t.deepEqual([...DAEMON_V8_FLAGS], ['--always-sparkplug']);
  tuneV8();
  v8.setFlagsFromString('--allow-natives-syntax');
  // %GetOptimizationStatus bit 15: the function has baseline (Sparkplug) code
  const status = new Function('f', 'return %GetOptimizationStatus(f)') as (f: unknown) => number;
  const fresh = new Function('x', 'return x + 1') as (x: number) => number;
  fresh(1);
  t.true((status(fresh) & (1 << 15)) !== 0, `status ${status(fresh).toString(2)}`);
});
