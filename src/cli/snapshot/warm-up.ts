/**
 * Before the snapshot is taken: run a few common command lines against a stand-in daemon, so the
 * snapshot holds `net`, the stream machinery and the compiled code of the paths a command takes
 * (parse, request, response, output), not only the loaded modules. The output goes to sinks, no
 * handle is left open (node refuses to snapshot one), and a failing line fails the build step
 * (scripts/bundle-cli.mjs then leaves no blob: the launcher runs the bundle).
 */
import { Writable } from 'node:stream';
import type { ContextIo } from '../context.js';
import { parseFast } from '../fast/argv.js';
import { runParsed } from '../fast/run.js';
import { FAST_COMMANDS } from '../fast/table.js';
import { startFakeDaemon } from './fake-daemon.js';

const LINES = [
  ['version'],
  ['ps', '-a'],
  ['run', '--rm', '--network', 'warm', 'busybox', 'true'],
  ['run', '-d', '--name', 'warm', '-p', '127.0.0.1:8080:80', '-e', 'A=1', 'busybox', 'true'],
  ['rm', '-f', 'warm'],
  ['network', 'create', 'warm'],
  ['network', 'ls'],
  ['network', 'rm', 'warm'],
  ['images'],
];

function sink(): NodeJS.WriteStream {
  return new Writable({
    write(_chunk, _enc, done) {
      done();
    },
  }) as unknown as NodeJS.WriteStream;
}

export async function warmUp(): Promise<void> {
  const daemon = await startFakeDaemon();
  try {
    for (let round = 0; round < 2; round++)
      for (const line of LINES) {
        const parsed = parseFast(['-H', daemon.host, ...line], FAST_COMMANDS);
        if (!parsed) throw new Error(`snapshot warm-up: the fast path does not take: ${line.join(' ')}`);
        const io: ContextIo = { stdout: sink(), stderr: sink() };
        const code = await runParsed(parsed, io);
        if (code !== 0) throw new Error(`snapshot warm-up: tsnet ${line.join(' ')} exited ${code}`);
      }
  } finally {
    await daemon.close();
  }
}
