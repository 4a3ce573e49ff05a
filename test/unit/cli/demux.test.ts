import test from 'ava';
import { PassThrough, Readable } from 'node:stream';
import { demuxStream, encodeFrame, FrameDecoder, STDERR, STDOUT, SYSTEMERR } from '../../../src/cli/stream-demux.js';

test('decoder: whole frames in one chunk', (t) => {
  const d = new FrameDecoder();
  const frames = d.push(Buffer.concat([encodeFrame(STDOUT, 'a'), encodeFrame(STDERR, 'bc'), encodeFrame(STDOUT, '')]));
  t.deepEqual(
    frames.map((f) => [f.stream, f.payload.toString()]),
    [
      [1, 'a'],
      [2, 'bc'],
      [1, ''],
    ],
  );
  t.is(d.pending, 0);
});

test('decoder: frames split at every possible byte boundary', (t) => {
  const bytes = Buffer.concat([
    encodeFrame(STDOUT, 'hello world'),
    encodeFrame(STDERR, 'err'),
    encodeFrame(STDOUT, 'x'.repeat(300)),
  ]);
  for (let size = 1; size <= bytes.length; size++) {
    const d = new FrameDecoder();
    const out: string[] = [];
    for (let i = 0; i < bytes.length; i += size) {
      for (const f of d.push(bytes.subarray(i, i + size))) out.push(`${f.stream}:${f.payload.toString()}`);
    }
    t.deepEqual(out, ['1:hello world', '2:err', `1:${'x'.repeat(300)}`], `chunk size ${size}`);
    t.is(d.pending, 0);
  }
});

test('decoder: a partial frame stays pending; a bad stream byte is an error', (t) => {
  const d = new FrameDecoder();
  const f = encodeFrame(STDOUT, 'abcdef');
  t.deepEqual(d.push(f.subarray(0, 10)), []);
  t.is(d.pending, 10);
  t.throws(() => new FrameDecoder().push(Buffer.from([9, 0, 0, 0, 0, 0, 0, 1, 65])), { message: /unrecognized stream/ });
});

test('demuxStream: routes to stdout/stderr across chunks; systemerr becomes an error', async (t) => {
  const bytes = Buffer.concat([encodeFrame(STDOUT, 'out1\n'), encodeFrame(STDERR, 'err1\n'), encodeFrame(STDOUT, 'out2\n')]);
  const chunks = [bytes.subarray(0, 5), bytes.subarray(5, 14), bytes.subarray(14)];
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let o = '';
  let e = '';
  stdout.on('data', (c: Buffer) => (o += c.toString()));
  stderr.on('data', (c: Buffer) => (e += c.toString()));
  await demuxStream(Readable.from(chunks), stdout, stderr);
  t.is(o, 'out1\nout2\n');
  t.is(e, 'err1\n');
  await t.throwsAsync(
    demuxStream(
      Readable.from([encodeFrame(STDOUT, 'x'), encodeFrame(SYSTEMERR, 'daemon broke\n')]),
      new PassThrough(),
      new PassThrough(),
    ),
    { message: 'daemon broke' },
  );
});
