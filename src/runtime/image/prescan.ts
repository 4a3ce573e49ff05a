/**
 * A quick read of a tarball file before extracting it, so that importing a rootfs tarball
 * whose layer is already stored costs a hash instead of an extraction.
 *
 * It stops at the first member that looks like part of a docker-save archive or an OCI
 * layout (their layers are skipped by diff id anyway), so only rootfs tarballs are read
 * in full. The answer only lets the import skip work; the format is decided again by the
 * import itself when it does extract.
 */
import { createReadStream } from 'node:fs';
import { FormatDetector } from './import-detect.js';
import { normalizeEntryPath } from './entry-path.js';
import { decompress, TarDigest, tarEntries } from './tar-read.js';

const BUNDLE_NAME = /^(?:[0-9a-f]{64}(?:\/|\.json$|$)|blobs(?:\/|$)|manifest\.json$|oci-layout$|index\.json$|repositories$)/;

/** The diff id of a rootfs tarball file, or undefined if it is not (or may not be) one. */
export async function prescanRootfs(file: string): Promise<string | undefined> {
  const digest = new TarDigest();
  const detector = new FormatDetector();
  const source = createReadStream(file, { highWaterMark: 256 * 1024 }) as AsyncIterable<Buffer>;
  try {
    for await (const e of tarEntries(decompress(source, 'archive'), digest, 'archive')) {
      const path = normalizeEntryPath(e.path);
      if (BUNDLE_NAME.test(path)) return undefined;
      detector.add(path, e.type === '0');
    }
  } catch {
    return undefined; // the import proper reports what is wrong
  }
  return detector.result() === 'rootfs' ? digest.digest() : undefined;
}
