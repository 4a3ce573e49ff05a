/**
 * Writing to fds 1 and 2 without building process.stdout / process.stderr: creating one of those
 * streams costs 3–6 ms of start-up (it loads the tty, fs or pipe stream machinery), and most
 * commands print a few lines or nothing. Once a stream exists (a command streams output, or reads
 * its size), everything for that fd goes through it, so the order stays the same.
 */
import { writeSync } from 'node:fs';

/** Write all of `text` to fd 1 or 2 synchronously; on EAGAIN hand the rest to `stream()`. */
export function writeFd(fd: 1 | 2, text: string | Buffer, stream: () => NodeJS.WriteStream): void {
  const buf = typeof text === 'string' ? Buffer.from(text) : text;
  let off = 0;
  while (off < buf.length) {
    try {
      off += writeSync(fd, buf, off);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN') {
        stream().write(buf.subarray(off));
        return;
      }
      // `tsnet ps | head`: a closed stdout ends the command quietly; a closed stderr is ignored
      if (code === 'EPIPE' && fd === 1) process.exit(0);
      return;
    }
  }
}

/** Resolve once everything written to `stream` so far has been handed to the kernel. */
export function flush(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => {
    if (stream.destroyed || stream.writableEnded) resolve();
    else stream.write('', () => resolve());
  });
}

/** process.stdout with the EPIPE handler: a closed stdout is not an error worth a stack trace. */
export function stdoutStream(): NodeJS.WriteStream {
  const s = process.stdout;
  if (s.listenerCount('error') === 0) {
    s.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(0);
    });
  }
  return s;
}
