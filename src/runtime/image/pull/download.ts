/**
 * Downloading one layer blob into a file, hashing as it arrives. The file is kept only when
 * the bytes hash to the digest the manifest names (and are as many as it says); otherwise
 * it is removed and the pull fails. Network failures are retried a few times.
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { TsnetError } from '../../../errors/index.js';
import type { Descriptor } from './manifest.js';
import type { RegistryClient } from './registry-client.js';

const ATTEMPTS = 3;

export interface DownloadOptions {
  client: RegistryClient;
  layer: Descriptor;
  file: string;
  /** `layer sha256:3f2a… of busybox`, for messages. */
  what: string;
  onProgress: (current: number, total: number) => void;
  signal?: AbortSignal;
}

function retryable(err: unknown): boolean {
  if (err instanceof TsnetError) return err.code === 'TSNET_REGISTRY_UNAVAILABLE' && !/cancelled/.test(err.message);
  return (err as Error | null)?.name !== 'AbortError';
}

async function attempt(o: DownloadOptions): Promise<void> {
  const res = await o.client.blobStream(o.layer.digest, o.what);
  const hash = createHash('sha256');
  let current = 0;
  const total = o.layer.size;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      current += chunk.length;
      if (current > total) {
        done(new TsnetError('TSNET_IMAGE_INVALID', `${o.what} is larger than the ${total} bytes the manifest says: refused`));
        return;
      }
      hash.update(chunk);
      o.onProgress(current, total);
      done(null, chunk);
    },
  });
  await pipeline(res, counter, createWriteStream(o.file, { mode: 0o600 }), o.signal ? { signal: o.signal } : {});
  const actual = `sha256:${hash.digest('hex')}`;
  if (current !== total || actual !== o.layer.digest) {
    throw new TsnetError(
      'TSNET_IMAGE_INVALID',
      `${o.what} failed verification: ${current} bytes hashing to ${actual}, expected ${total} bytes with digest ${o.layer.digest}`,
    );
  }
}

export async function downloadLayer(o: DownloadOptions): Promise<void> {
  for (let i = 1; ; i++) {
    try {
      await attempt(o);
      return;
    } catch (err) {
      await rm(o.file, { force: true });
      if (o.signal?.aborted) throw new TsnetError('TSNET_REGISTRY_UNAVAILABLE', 'the pull was cancelled');
      if (i >= ATTEMPTS || !retryable(err)) {
        if (err instanceof TsnetError) throw err;
        throw new TsnetError('TSNET_REGISTRY_UNAVAILABLE', `downloading ${o.what}: ${(err as Error).message}`, { cause: err });
      }
    }
  }
}
