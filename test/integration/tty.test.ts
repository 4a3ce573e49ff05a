/** `run -it` and `exec -it` through a real pty driven by the test (util-linux `script`). */
import test from 'ava';
import path from 'node:path';
import { createWorld, REPO, run, type World } from '../helpers/world.js';

let w: World;
test.before(async () => {
  w = await createWorld();
});
test.after.always(async () => {
  await w?.teardown();
});

const cli = () => `node ${path.join(REPO, 'dist/cli-bundle/main.js')} -H unix://${w.socket}`;

test('run -it gives an interactive shell on a tty', async (t) => {
  const r = await run('script', ['-qfec', `${cli()} run -it --rm --network none busybox sh`, '/dev/null'], {
    input: 'tty; [ -t 0 ] && echo STDIN_IS_TTY; echo $((6*7)); exit 3\n',
    timeoutMs: 20_000,
  });
  t.is(r.exitCode, 3, r.stdout + r.stderr);
  t.regex(r.stdout, /\/dev\/(pts\/\d+|console)/);
  t.regex(r.stdout, /STDIN_IS_TTY/);
  t.regex(r.stdout, /42/);
});

test('exec -it gets a tty too', async (t) => {
  const d = await w.cli(['run', '-d', '--network', 'none', 'busybox', 'sleep', '1000']);
  const id = d.stdout.trim();
  const r = await run('script', ['-qfec', `${cli()} exec -it ${id} sh`, '/dev/null'], {
    input: '[ -t 1 ] && echo OUT_IS_TTY; exit 0\n',
    timeoutMs: 20_000,
  });
  t.is(r.exitCode, 0, r.stdout + r.stderr);
  t.regex(r.stdout, /OUT_IS_TTY/);
  await w.cli(['rm', '-f', id]);
});
