/**
 * File operations for which "already gone" is no failure: the removal of a file that is
 * normally there, the close of an fd that may have been closed. Shared by the kernel layer,
 * the stores and the network layer.
 */
import fs from 'node:fs';

/**
 * Remove a file that is normally there: one unlink, a missing file is no error (`fs.rmSync(f,
 * { force: true })` stats it first and costs ~10× the syscall in JavaScript). A directory still
 * fails (EISDIR), as rmSync without `recursive` does.
 */
export function unlinkIfThere(file: string): void {
  try {
    fs.unlinkSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

/** Close an fd nobody else uses (best effort: one closed already is no error). */
export function closeQuietly(fd: number, close: (fd: number) => void = fs.closeSync): void {
  try {
    close(fd);
  } catch {
    /* closed already */
  }
}
