/**
 * Docker's environment rules (an entry without `=` is kept in Config.Env and unsets the variable
 * in the process) and the exec session's output forms (raw tty bytes framed as stdout, frames
 * unwrapped for a tty session), without a daemon.
 */
import { Readable } from 'node:stream';
import test from 'ava';
import { createEnv, DEFAULT_PATH, processEnv, replaceOrAppend } from '../../../src/runtime/container/env.js';
import { deframer, framer } from '../../../src/runtime/container/stream-form.js';

test('create keeps the request entries as given, then the image entries it does not name', (t) => {
  const image = ['PATH=/bin', 'Foo=from-image', 'LANG=C'];
  t.deepEqual(createEnv(image, ['Foo', 'Other=one', 'Blank=']), ['Foo', 'Other=one', 'Blank=', 'PATH=/bin', 'LANG=C']);
  t.deepEqual(createEnv(image, []), image);
});

test('an entry without = removes the variable of that name from the process and is not passed on', (t) => {
  t.deepEqual(replaceOrAppend(['A=1', 'B=2', 'C=3'], ['B', 'NOPE', 'A=9', 'D=4']), ['A=9', 'C=3', 'D=4']);
  const env = processEnv({ hostname: 'h1', tty: false, env: ['Foo', 'HOSTNAME', 'Other=one'] });
  t.deepEqual(env, [DEFAULT_PATH, 'Other=one']);
});

test('the process gets PATH, HOSTNAME, TERM with a tty and the link variables; Config.Env and then the exec Env override', (t) => {
  const env = processEnv({
    hostname: 'web',
    tty: true,
    linkEnv: ['DB_PORT=tcp://10.0.0.2:5432', 'X=link'],
    env: ['PATH=/bin', 'X=own'],
    execEnv: ['X=exec', 'TERM'],
  });
  t.deepEqual(env, ['PATH=/bin', 'HOSTNAME=web', 'DB_PORT=tcp://10.0.0.2:5432', 'X=exec']);
  t.deepEqual(processEnv({ hostname: 'web', tty: false, env: [] }), [DEFAULT_PATH, 'HOSTNAME=web']);
});

const collect = async (input: Buffer[], through: NodeJS.ReadWriteStream): Promise<Buffer> => {
  const chunks: Buffer[] = [];
  for await (const c of Readable.from(input).pipe(through)) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
};

const frameOf = (stream: number, text: string): Buffer => {
  const h = Buffer.alloc(8);
  h[0] = stream;
  h.writeUInt32BE(Buffer.byteLength(text), 4);
  return Buffer.concat([h, Buffer.from(text)]);
};

test('raw tty output becomes stdout frames, one per chunk', async (t) => {
  const out = await collect([Buffer.from('hello out\r\n'), Buffer.from('hello err\r\n')], framer());
  t.deepEqual(out, Buffer.concat([frameOf(1, 'hello out\r\n'), frameOf(1, 'hello err\r\n')]));
});

test('frames become their payloads, also when headers and payloads arrive split anywhere', async (t) => {
  const whole = Buffer.concat([frameOf(1, 'out\n'), frameOf(2, 'err\n'), frameOf(1, ''), frameOf(1, 'x'.repeat(300))]);
  const expected = Buffer.from(`out\nerr\n${'x'.repeat(300)}`);
  t.deepEqual(await collect([whole], deframer()), expected);
  for (const size of [1, 3, 7, 9]) {
    const pieces: Buffer[] = [];
    for (let i = 0; i < whole.length; i += size) pieces.push(whole.subarray(i, i + size));
    t.deepEqual(await collect(pieces, deframer()), expected, `pieces of ${size}`);
  }
});
