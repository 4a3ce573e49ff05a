/**
 * Reading files of an extracted docker-save or OCI archive ("bundle"). Every name comes
 * from the archive's own JSON, so it is normalized like a tar member name and resolved
 * with realpath: a symlink in the bundle (docker save links repeated layers) may point
 * anywhere inside it, never outside.
 */
import { createReadStream } from 'node:fs';
import { readFile, realpath, stat } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { TsnetError } from '../../errors/index.js';
import { normalizeEntryPath } from './entry-path.js';

const MAX_JSON = 16 * 1024 * 1024;

export class Bundle {
  private rootReal: string | undefined;

  /** `what` names the archive in messages: "docker save archive", "OCI layout". */
  constructor(
    readonly dir: string,
    readonly what: string,
  ) {}

  invalid(message: string): TsnetError {
    return new TsnetError('TSNET_IMAGE_INVALID', `invalid ${this.what}: ${message}`);
  }

  /** Absolute path of a regular file named by the archive. */
  async resolve(name: string): Promise<string> {
    if (typeof name !== 'string' || name === '') throw this.invalid(`bad file name ${JSON.stringify(name)}`);
    let rel: string;
    try {
      rel = normalizeEntryPath(name, 'file name');
    } catch (err) {
      throw this.invalid((err as Error).message);
    }
    this.rootReal ??= await realpath(this.dir);
    let real: string;
    try {
      real = await realpath(join(this.dir, rel));
    } catch {
      throw this.invalid(`it has no file "${name}"`);
    }
    if (!real.startsWith(this.rootReal + sep)) throw this.invalid(`"${name}" points outside the archive`);
    if (!(await stat(real)).isFile()) throw this.invalid(`"${name}" is not a regular file`);
    return real;
  }

  async has(name: string): Promise<boolean> {
    try {
      await this.resolve(name);
      return true;
    } catch {
      return false;
    }
  }

  async readBytes(name: string, max = MAX_JSON): Promise<Buffer> {
    const file = await this.resolve(name);
    const size = (await stat(file)).size;
    if (size > max) throw this.invalid(`"${name}" is too large (${size} bytes)`);
    return readFile(file);
  }

  async readJson(name: string): Promise<{ bytes: Buffer; value: unknown }> {
    const bytes = await this.readBytes(name);
    try {
      return { bytes, value: JSON.parse(bytes.toString('utf8')) as unknown };
    } catch (err) {
      throw this.invalid(`"${name}" is not JSON (${(err as Error).message})`);
    }
  }

  /** A stream of a file's bytes, opened lazily. */
  open(name: string): AsyncIterable<Buffer> {
    const resolve = () => this.resolve(name);
    return {
      async *[Symbol.asyncIterator]() {
        const file = await resolve();
        yield* createReadStream(file, { highWaterMark: 256 * 1024 }) as AsyncIterable<Buffer>;
      },
    };
  }
}
