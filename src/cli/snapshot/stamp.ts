/**
 * tsnet.blob.stamp: what the launcher (launcher/tsnet.c) checks before it starts node from the
 * snapshot. One line: `tsnet-snapshot-2`, ` dev ino size sec.nsec` of the node binary that built
 * the blob, then ` size` of the blob and of main.cjs. Another node (upgraded, or another on PATH)
 * or a replaced blob or bundle no longer match, and the launcher runs main.cjs instead; a copy
 * of dist/cli-bundle (an install) still does (a rebuild writes a new stamp). The launcher prints
 * the same fields with the same format: keep the two in step.
 */
import { statSync } from 'node:fs';

const NS = 1_000_000_000n;

/** ` dev ino size sec.nsec` of a file (symlinks followed, as stat(2) does). */
export function fileIdentity(file: string): string {
  const st = statSync(file, { bigint: true });
  return ` ${st.dev} ${st.ino} ${st.size} ${st.mtimeNs / NS}.${String(st.mtimeNs % NS).padStart(9, '0')}`;
}

/** ` size` of a file. */
export function fileSize(file: string): string {
  return ` ${statSync(file).size}`;
}

export function snapshotStamp(node: string, blob: string, main: string): string {
  return `tsnet-snapshot-2${fileIdentity(node)}${fileSize(blob)}${fileSize(main)}\n`;
}
