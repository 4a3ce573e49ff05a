/**
 * One world for a whole test file, in ava's t.context (the container-* files): made before the
 * first test and torn down after the last; and containers that go when their test ends.
 */
import anyTest, { type TestFn } from 'ava';
import { createWorld, type World, type WorldOptions } from './world.js';

export interface WorldContext {
  w: World;
}

/** ava's `test` whose `t.context.w` is one world shared by the file's tests. */
export function worldTest(opts?: WorldOptions): TestFn<WorldContext> {
  const test = anyTest as TestFn<WorldContext>;
  test.before(async (t) => {
    t.context.w = await createWorld(opts);
  });
  test.after.always(async (t) => {
    await t.context.w?.teardown();
  });
  return test;
}

/** `tsnet run -d --network none ARGS…` (ARGS: more flags, the image, its command); `rm -f` when the test ends. */
export async function runDetached(t: { teardown(fn: () => Promise<unknown>): void }, w: World, args: string[]): Promise<string> {
  const id = await w.ok(['run', '-d', '--network', 'none', ...args]);
  t.teardown(() => w.cli(['rm', '-f', id]));
  return id;
}

/** The actions of a container's events from `since` (unix seconds) until now, oldest first. */
export async function eventActions(w: World, id: string, since: string | number = 0): Promise<string[]> {
  const until = String(Math.ceil(Date.now() / 1000) + 1);
  const out = await w.ok([
    'events',
    '--since',
    String(since),
    '--until',
    until,
    '--filter',
    `container=${id}`,
    '--format',
    '{{.Action}}',
  ]);
  return out.split('\n');
}
