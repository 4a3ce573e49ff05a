/**
 * Terminal handling for `run -it`, `start -ai`, `exec -it`: raw mode on stdin (always
 * restored, even on an abrupt exit) and the terminal size, now and on every SIGWINCH.
 */
import type { ReadStream, WriteStream } from 'node:tty';

export function isTerminal(stream: unknown): boolean {
  return (stream as { isTTY?: boolean } | undefined)?.isTTY === true;
}

/**
 * Put a TTY stdin in raw mode; returns the function that restores it (idempotent). `onExit`
 * (the context's) restores it too when the process ends first.
 */
export function makeRaw(stdin: NodeJS.ReadStream, onExit: (fn: () => void) => () => void): () => void {
  if (!isTerminal(stdin)) return () => {};
  const tty = stdin as unknown as ReadStream;
  const wasRaw = tty.isRaw;
  tty.setRawMode(true);
  let restored = false;
  let unhook = (): void => {};
  const restore = (): void => {
    if (restored) return;
    restored = true;
    unhook();
    try {
      tty.setRawMode(wasRaw);
    } catch {
      // the terminal is gone: nothing to restore
    }
  };
  unhook = onExit(restore);
  return restore;
}

export interface TerminalSize {
  rows: number;
  columns: number;
}

export function terminalSize(stdout: NodeJS.WriteStream): TerminalSize | undefined {
  if (!isTerminal(stdout)) return undefined;
  const tty = stdout as unknown as WriteStream;
  const [columns, rows] = tty.getWindowSize();
  if (!rows || !columns) return undefined;
  return { rows, columns };
}

/**
 * Call `onResize` with the current size now and again whenever the terminal is resized.
 * Node turns SIGWINCH into a 'resize' event on a TTY stdout after refreshing its size;
 * without a TTY stdout there is no size to report and nothing is watched.
 * Returns the function that stops watching.
 */
export function watchTerminalSize(stdout: NodeJS.WriteStream, onResize: (size: TerminalSize) => void): () => void {
  if (!isTerminal(stdout)) return () => {};
  const emit = (): void => {
    const size = terminalSize(stdout);
    if (size) onResize(size);
  };
  emit();
  stdout.on('resize', emit);
  return () => {
    stdout.removeListener('resize', emit);
  };
}
