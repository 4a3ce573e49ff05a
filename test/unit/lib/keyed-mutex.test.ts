import test from 'ava';
import { KeyedMutex } from '../../../src/lib/keyed-mutex.js';

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

test('exclusive holders of one key run one after the other, in arrival order', async (t) => {
  const m = new KeyedMutex();
  const order: string[] = [];
  const gate = deferred();
  const a = m.run('k', async () => {
    order.push('a start');
    await gate.promise;
    order.push('a end');
  });
  const b = m.run('k', async () => {
    order.push('b');
  });
  const other = m.run('other', async () => {
    order.push('other');
  });
  await other;
  t.deepEqual(order, ['a start', 'other'], 'another key is not blocked');
  gate.resolve();
  await Promise.all([a, b]);
  t.deepEqual(order, ['a start', 'other', 'a end', 'b']);
});

test('shared holders overlap; an exclusive one waits for them and is not starved', async (t) => {
  const m = new KeyedMutex();
  const order: string[] = [];
  const gate = deferred();
  const r1 = m.runShared('k', async () => {
    order.push('r1');
    await gate.promise;
  });
  const r2 = m.runShared('k', async () => {
    order.push('r2');
    await gate.promise;
  });
  const w = m.run('k', async () => {
    order.push('w');
  });
  const r3 = m.runShared('k', async () => {
    order.push('r3');
  });
  await new Promise((r) => setImmediate(r));
  t.deepEqual(order, ['r1', 'r2'], 'the writer waits, and the later reader queues behind it');
  gate.resolve();
  await Promise.all([r1, r2, w, r3]);
  t.deepEqual(order, ['r1', 'r2', 'w', 'r3']);
});

test('runAll takes keys in sorted order: crossing lock sets do not deadlock', async (t) => {
  const m = new KeyedMutex();
  let n = 0;
  await Promise.all(
    Array.from({ length: 20 }, (_, i) =>
      m.runAll(i % 2 ? ['a', 'b'] : ['b', 'a'], async () => {
        n++;
        await new Promise((r) => setImmediate(r));
      }),
    ),
  );
  t.is(n, 20);
});

test('a failing holder releases the key; idle resolves when nobody holds it', async (t) => {
  const m = new KeyedMutex();
  await t.throwsAsync(
    m.run('k', async () => {
      throw new Error('boom');
    }),
    { message: 'boom' },
  );
  t.is(await m.run('k', async () => 42), 42);
  let done = false;
  const gate = deferred();
  const held = m.run('k', async () => {
    await gate.promise;
    done = true;
  });
  const idle = m.idle('k').then(() => done);
  gate.resolve();
  await held;
  t.true(await idle, 'idle resolved only after the holder finished');
});
