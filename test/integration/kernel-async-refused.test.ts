/**
 * koffi refuses an asynchronous call beyond `max_async_calls` ("Too many asynchronous calls are
 * running"): the daemon's asynchronous spawn and unmount (decision 47) then make the call on the
 * calling thread instead of failing. This file's process allows one asynchronous call at a time
 * and keeps it busy (koffi's config is per process; ava runs each file in its own).
 */
import test from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import koffi from 'koffi';
import { loadLibc } from '../../src/kernel/libc.js';
import { createNetnsOps } from '../../src/kernel/netns.js';
import { createSpawner } from '../../src/kernel/spawn.js';

koffi.config({ ...koffi.config(), resident_async_pools: 1, max_async_calls: 1 });
const usleep = koffi.load('libc.so.6').func('int usleep(unsigned int us)') as unknown as {
  async: (us: number, cb: (err: unknown, rc: number) => void) => void;
};

/** Hold koffi's one asynchronous slot while `fn` runs. */
async function slotTaken<T>(fn: () => Promise<T>): Promise<T> {
  const held = new Promise<void>((r) => usleep.async(300_000, () => r()));
  try {
    return await fn();
  } finally {
    await held;
  }
}

test('spawnDetachedAsync and removeAsync still work when koffi refuses another asynchronous call', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-async-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const netns = createNetnsOps(loadLibc());
  const file = path.join(dir, 'ns');
  netns.create(file);
  t.teardown(() => {
    if (fs.existsSync(file)) netns.remove(file);
  });
  const code = await slotTaken(async () => {
    const p = await createSpawner().spawnDetachedAsync('sh', ['-c', 'exit 3'], { stderrFile: path.join(dir, 'err') });
    return new Promise<number | null>((r) => p.on('close', (c) => r(c)));
  });
  t.is(code, 3, 'the program ran');
  await slotTaken(() => netns.removeAsync(file));
  t.false(fs.readFileSync('/proc/self/mountinfo', 'utf8').includes(` ${file} `), 'unmounted');
  t.false(fs.existsSync(file));
});
