/**
 * streamLogs with follow: what the container wrote is delivered even when its log file is moved
 * away (rm moves the container dir to the trash) or rotated between two polls.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import test from 'ava';
import { streamLogs } from '../../../src/runtime/container/logs.js';

const line = (text: string) => `2026-12-06T10:00:00.000000000Z stdout F ${text}\n`;

function setup(t: { teardown: (fn: () => void) => void }) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-logs-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'container.log');
  fs.writeFileSync(file, line('first'));
  const out = new PassThrough();
  let got = '';
  out.on('data', (b: Buffer) => (got += b.toString('utf8')));
  return { dir, file, out, text: () => got };
}

/** Follow the log as `logs -f` does; `stop()` makes the container not running any more. */
function follow(file: string, out: PassThrough) {
  let running = true;
  const done = streamLogs(file, out, {
    stdout: true,
    stderr: true,
    follow: true,
    timestamps: false,
    tty: true,
    isRunning: () => running,
  });
  return { done, stop: () => (running = false) };
}

const waitFor = async (cond: () => boolean) => {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
};

test('a follow delivers the last lines of a container removed between two polls', async (t) => {
  const { dir, file, out, text } = setup(t);
  const f = follow(file, out);
  await waitFor(() => text() === 'first\n');
  // the container prints its last line and exits, and is removed before the next poll
  fs.appendFileSync(file, line('last'));
  fs.renameSync(file, path.join(dir, 'trashed.log'));
  f.stop();
  await f.done;
  t.is(text(), 'first\nlast\n');
});

test('a follow reads the rest of a rotated file, then the new one', async (t) => {
  const { file, out, text } = setup(t);
  const f = follow(file, out);
  await waitFor(() => text() === 'first\n');
  fs.appendFileSync(file, line('before rotation'));
  fs.renameSync(file, `${file}.1`);
  fs.writeFileSync(file, line('after rotation'));
  await waitFor(() => text().includes('after rotation'));
  f.stop();
  await f.done;
  t.is(text(), 'first\nbefore rotation\nafter rotation\n');
});

/** The text of `n` log lines: line i is `i` then filler (multi-byte UTF-8 in every line), on stdout or stderr. */
function bigLog(n: number, from = 0): { file: string; expect: string[] } {
  const file: string[] = [];
  const expect: string[] = [];
  for (let i = from; i < from + n; i++) {
    const text = `${i} ${'é€'.repeat(i % 97)}${'x'.repeat(i % 301)}`;
    file.push(`2026-12-06T10:00:00.000000000Z ${i % 3 ? 'stdout' : 'stderr'} F ${text}\n`);
    expect.push(`${text}\n`);
  }
  return { file: file.join(''), expect };
}

const all = (file: string, out: Writable, extra: { tail?: number } = {}) =>
  streamLogs(file, out, {
    stdout: true,
    stderr: true,
    follow: false,
    timestamps: false,
    tty: true,
    isRunning: () => false,
    ...extra,
  });

test('a log of many chunks, its lines cut by the chunk boundaries and multi-byte characters, comes out whole', async (t) => {
  const { file, out, text } = setup(t);
  const log = bigLog(20_000); // ~6 MB: 24 chunks of 256 KiB
  fs.writeFileSync(file, log.file);
  await all(file, out);
  t.is(text(), log.expect.join(''));
});

test('tail: the last n lines, across rotated files and chunk boundaries; 0 is none', async (t) => {
  const { file, out, text } = setup(t);
  const a = bigLog(9_000, 0);
  const b = bigLog(9_000, 9_000);
  const c = bigLog(50, 18_000);
  fs.writeFileSync(`${file}.2`, a.file);
  fs.writeFileSync(`${file}.1`, b.file);
  fs.writeFileSync(file, `${c.file}2026-12-06T10:00:00.000000000Z stdout P still being writ`);
  const every = [...a.expect, ...b.expect, ...c.expect];
  for (const n of [1, 50, 51, 9_049, 9_051, 18_050, 40_000]) {
    const o = new PassThrough();
    let got = '';
    o.on('data', (d: Buffer) => (got += d.toString('utf8')));
    await all(file, o, { tail: n });
    t.is(got, every.slice(-n).join(''), `tail ${n}`);
  }
  await all(file, out, { tail: 0 });
  t.is(text(), '');
});

test('a consumer slower than the file: everything arrives, the reader waits for it (backpressure)', async (t) => {
  const { file } = setup(t);
  const log = bigLog(8_000); // ~3.4 MB
  fs.writeFileSync(file, log.file);
  const parts: Buffer[] = [];
  let maxWaiting = 0;
  const out = new Writable({
    highWaterMark: 64 * 1024,
    write(chunk: Buffer, _enc, done) {
      maxWaiting = Math.max(maxWaiting, out.writableLength);
      parts.push(chunk);
      setImmediate(done); // a slow reader: one chunk per turn of the loop
    },
  });
  await all(file, out);
  await new Promise<void>((r) => out.end(r));
  t.is(Buffer.concat(parts).toString('utf8'), log.expect.join(''));
  t.true(
    maxWaiting <= 1024 * 1024,
    `what waits for the reader is about one chunk of the file, not the log (${maxWaiting} bytes)`,
  );
});
