/**
 * The daemon's pool of network namespaces made ahead (--netns-pool, src/network/sandbox-pool.ts):
 * entries are pool-* netns mounts holding only lo, a create takes one (its sandbox file is the
 * container's own), the pool refills, a kill -9 leaves entries that the next start sweeps,
 * a stop removes them, and size 0 makes none.
 */
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { POOL_PREFIX } from '../../src/network/sandbox-pool.js';
import { createWorld, eventually, type World } from '../helpers/world.js';

let w: World;
test.before(async () => {
  w = await createWorld({ daemonArgs: ['--netns-pool', '2'] });
});
test.after.always(async () => {
  await w?.teardown();
});

const netnsDir = () => path.join(w.execRoot, 'netns');
const mounted = (): string[] =>
  fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((p) => p.startsWith(`${netnsDir()}/`));
/** Pool entries that are netns mounts. */
const entries = (): string[] => mounted().filter((p) => path.basename(p).startsWith(POOL_PREFIX));
/** Pool-* names in the dir, mounted or not. */
const files = (): string[] => fs.readdirSync(netnsDir()).filter((f) => f.startsWith(POOL_PREFIX));

async function links(netns: string): Promise<string[]> {
  const r = await w.inHost(['nsenter', `--net=${netns}`, 'ip', '-o', 'link', 'show']);
  return r.stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => `${l.split(':')[1]?.trim().split('@')[0]} ${/state (\w+)/.exec(l)?.[1] ?? ''}`.trim());
}

test.serial('entries: pool-* netns mounts with only lo, up; a create takes one and the pool refills', async (t) => {
  t.true(await eventually(() => entries().length === 2), `pool entries: ${entries().join(', ')}`);
  for (const e of entries()) t.deepEqual(await links(e), ['lo UNKNOWN'], `${e} holds only lo, up`);
  const before = new Set(entries());

  await w.ok(['network', 'create', 'poolnet']);
  const id = (await w.ok(['create', '--network', 'poolnet', 'busybox', 'sleep', '1000'])).trim();
  const key = JSON.parse(await w.ok(['inspect', id]))[0].NetworkSettings.SandboxKey as string;
  // the sandbox's own file (named by its sandbox id), not a pool name
  t.is(path.dirname(key), netnsDir());
  t.regex(path.basename(key), /^[0-9a-f]{12}$/, "the sandbox file is the container's own");
  t.true(mounted().includes(key));
  // clean: lo (up, from the pool) and the container's eth0, nothing else
  const inside = await links(key);
  t.deepEqual(inside.map((l) => l.split(' ')[0]).sort(), ['eth0', 'lo'], inside.join(', '));
  t.true(inside.includes('lo UNKNOWN'), inside.join(', '));
  // it was one of the entries: exactly one of them is gone, and the pool is full again
  t.true(await eventually(() => entries().length === 2 && entries().filter((e) => before.has(e)).length === 1));
  t.false(entries().includes(key));

  await w.ok(['rm', '-f', id]);
  await w.ok(['network', 'rm', 'poolnet']);
});

test.serial('a kill -9 leaves the entries; the next start sweeps them and makes new ones', async (t) => {
  t.true(await eventually(() => entries().length === 2));
  const old = entries();
  await w.killDaemon('SIGKILL');
  t.deepEqual(entries().sort(), [...old].sort(), 'kill -9 leaves them (nothing ran to remove them)');
  await w.startDaemon();
  t.true(await eventually(() => entries().length === 2));
  t.deepEqual(
    entries().filter((e) => old.includes(e)),
    [],
    'the dead daemon’s entries were swept, not reused',
  );
  t.regex(w.daemonLog(), new RegExp(`swept .*netns ${old[0]!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
});

test.serial('a stop removes every entry; --netns-pool 0 makes none', async (t) => {
  t.true(await eventually(() => entries().length === 2));
  await w.killDaemon('SIGTERM');
  t.deepEqual(entries(), [], 'no pool mount after the stop');
  t.deepEqual(files(), [], 'no pool file after the stop');
  await w.startDaemon(['--netns-pool', '0']);
  const id = (await w.ok(['run', '-d', 'busybox', 'sleep', '1000'])).trim();
  t.deepEqual(files(), []);
  await w.ok(['rm', '-f', id]);
  await w.killDaemon('SIGTERM');
  await w.startDaemon();
});
