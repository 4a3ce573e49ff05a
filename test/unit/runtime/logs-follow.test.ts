/**
 * streamLogs with follow: what the container wrote is delivered even when its log file is moved
 * away (rm moves the container dir to the trash) or rotated between two polls.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
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
