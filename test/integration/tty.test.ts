/**
 * `run -it` and `exec -it` through a real pty driven by the test (util-linux `script`).
 *
 * The pty echoes what the test types, so every marker the test looks for is *computed* by the
 * shell inside the container (`$((6*7))`) and never appears literally in the typed text: only a
 * shell whose stdin/stdout really is a terminal prints it.
 */
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

const cli = () => `node ${path.join(REPO, 'dist/cli-bundle/main.cjs')} -H unix://${w.socket}`;

// What the container's shell is asked to print; none of the expected lines is in this text.
const PROBE = [
  // ttyname of stdin: the pty the runtime made for the container
  'echo "T0=$(tty)"',
  // terminal tests on stdin and stdout: yes-<n> only when both are ttys
  '[ -t 0 ] && echo "IN-$((6*7))"',
  '[ -t 1 ] && echo "OUT-$((5*7))"',
  // the line settings (TCGETS): stty fails on a pipe
  'stty && echo "STTY-$((2*4))"',
].join('; ');

function assertRealTty(t: import('ava').ExecutionContext, out: string): void {
  t.regex(out, /T0=\/dev\/(pts\/\d+|console)/, out);
  t.regex(out, /IN-42/, out);
  t.regex(out, /OUT-35/, out);
  t.regex(out, /speed \d+ baud/, `stty prints the line settings: ${out}`);
  t.regex(out, /STTY-8/, out);
  t.notRegex(out, /not a tty/, out);
}

test('run -it gives an interactive shell on a tty', async (t) => {
  const r = await run('script', ['-qfec', `${cli()} run -it --rm --network none busybox sh`, '/dev/null'], {
    input: `${PROBE}; exit 3\n`,
    timeoutMs: 20_000,
  });
  t.is(r.exitCode, 3, r.stdout + r.stderr);
  assertRealTty(t, r.stdout);
});

test('exec -it gets a tty too', async (t) => {
  const id = await w.ok(['run', '-d', '--network', 'none', 'busybox', 'sleep', '1000']);
  t.teardown(() => w.cli(['rm', '-f', id]));
  const r = await run('script', ['-qfec', `${cli()} exec -it ${id} sh`, '/dev/null'], {
    input: `${PROBE}; exit 0\n`,
    timeoutMs: 20_000,
  });
  t.is(r.exitCode, 0, r.stdout + r.stderr);
  assertRealTty(t, r.stdout);
});

test('without -t the same probe sees no tty (the markers are not echoes)', async (t) => {
  const id = await w.ok(['run', '-d', '--network', 'none', 'busybox', 'sleep', '1000']);
  t.teardown(() => w.cli(['rm', '-f', id]));
  const r = await run('script', ['-qfec', `${cli()} exec -i ${id} sh`, '/dev/null'], {
    input: `${PROBE}; exit 0\n`,
    timeoutMs: 20_000,
  });
  t.is(r.exitCode, 0, r.stdout + r.stderr);
  t.notRegex(r.stdout, /IN-42|OUT-35|STTY-8/, r.stdout);
  t.regex(r.stdout, /T0=not a tty/, r.stdout);
});
