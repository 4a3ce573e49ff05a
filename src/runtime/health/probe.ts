/**
 * One health probe: an exec in the container (the same path as `docker exec`), its output
 * collected from the supervisor's multiplexed stream, killed at the timeout.
 */
import { Duplex } from 'node:stream';
import type { ExecManager } from '../container/exec-manager.js';
import type { ContainerRecord } from '../container/types.js';
import { supervisorCommand } from '../supervisor.js';
import { goDuration, MAX_OUTPUT } from './config.js';
import type { ProbeResult } from './monitor.js';

/** How long a finished probe's output may trail its exit status. */
const DRAIN_MS = 1000;

/** A writable end that demultiplexes Docker's stream frames and keeps the first MAX_OUTPUT bytes. */
class OutputCollector extends Duplex {
  private pending = Buffer.alloc(0);
  private readonly parts: Buffer[] = [];
  private size = 0;

  override _read(): void {}

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.pending = Buffer.concat([this.pending, chunk]);
    while (this.pending.length >= 8) {
      const len = this.pending.readUInt32BE(4);
      if (this.pending.length < 8 + len) break;
      this.keep(this.pending.subarray(8, 8 + len));
      this.pending = this.pending.subarray(8 + len);
    }
    cb();
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.push(null);
    cb();
  }

  /** Resolves when the stream has ended (the supervisor's output is all here) or after `ms`. */
  drained(ms: number): Promise<void> {
    if (this.writableFinished) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      this.once('finish', () => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  private keep(b: Buffer): void {
    if (this.size >= MAX_OUTPUT) return;
    const part = b.subarray(0, MAX_OUTPUT - this.size);
    this.parts.push(Buffer.from(part));
    this.size += part.length;
  }

  text(): string {
    return Buffer.concat(this.parts).toString('utf8');
  }
}

export async function runProbe(
  execs: ExecManager,
  rec: ContainerRecord,
  argv: string[],
  timeoutMs: number,
): Promise<ProbeResult> {
  let id: string | undefined;
  let timer: NodeJS.Timeout | undefined;
  const out = new OutputCollector();
  try {
    // a probe is never listed in ExecIDs, also while it runs
    const inst = execs.create(rec.id, { Cmd: argv, AttachStdout: true, AttachStderr: true, Tty: false }, { listed: false });
    id = inst.id;
    const timedOut = new Promise<'timeout'>((r) => {
      timer = setTimeout(() => r('timeout'), timeoutMs);
    });
    const done = execs.start(inst.id, out).then(() => 'done' as const);
    done.catch(() => undefined); // a launch failure after the timeout is not an unhandled rejection
    const first = await Promise.race([done, timedOut]);
    if (first === 'timeout') {
      await supervisorCommand(inst.bundle, 'signal 9').catch(() => undefined);
      return { exitCode: -1, output: `Health check exceeded timeout (${goDuration(timeoutMs)})` };
    }
    // the exit status can arrive before the last output: wait for the stream's end (bounded)
    await out.drained(DRAIN_MS);
    return { exitCode: execs.get(inst.id).exitCode ?? -1, output: out.text() };
  } catch (err) {
    return { exitCode: -1, output: (err as Error).message };
  } finally {
    if (timer) clearTimeout(timer);
    out.destroy();
    if (id) execs.forget(id);
  }
}
