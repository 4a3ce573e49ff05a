/**
 * IpamStore on disk: small JSON documents, each written atomically (temp file in the same
 * directory, rename; pools also fsync the file and the directory), so a crash leaves either the
 * old or the new document, never a partial one — but for the cursor on a file thread, rewritten in
 * place at one length (cursorText: a crash leaves the old or the new bytes of one small write; an
 * unreadable one is skipped with a warning at load). Address records and the cursor are not fsynced
 * (see putAddress/deleteAddress): a power loss may lose the last few, which the daemon's start-up
 * reconciliation repairs from the container records. One writer (the daemon; DefaultIpam serialises calls).
 *
 *   <dir>/pools/<pool key>/pool.json                  the PoolRecord (+ "version": 1)
 *   <dir>/pools/<pool key>/cursor.json                where serial allocation resumes
 *   <dir>/pools/<pool key>/addresses/<ip>.json        one AddressRecord per allocated address
 *
 * One document per address keeps each request O(1) on disk (a pool-wide document would be
 * rewritten whole on every allocation). The pool key is the pool id with "/" as "_"
 * (LocalDefault_10.42.0.0_24). A pool is deleted by renaming its directory to
 * ".trash-…" and then removing it; load() finishes such deletions, removes leftover temp
 * files, and drops pool directories whose pool.json was never written.
 */
import type { FileThread } from '../../store/file-thread.js';
import { writeThenRename, type FileOp } from '../../store/file-ops.js';
import fs from 'node:fs';
import { open, readdir, readFile, rename, rm, mkdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { asTsnetError } from '../../errors/index.js';
import type { AddressRecord, CursorRecord, IpamStore, PoolRecord, StoredPool, StoredState } from '../store-api.js';

export interface FileStoreOptions {
  /** fsync files and directories (default true). Tests may turn it off for speed. */
  fsync?: boolean;
  /** Test hook between writing+syncing the temp file and renaming it over the target. */
  beforeRename?: (tempPath: string, targetPath: string) => void | Promise<void>;
  /**
   * Address records are written (and removed) on this file thread: an allocation's write goes
   * behind (not waited for; a failure goes to `onBehindError`: the daemon's start re-reserves an
   * address the store lost), a release waits for its removal. One queue keeps them in order.
   */
  thread?: FileThread;
  onBehindError?: (message: string) => void;
}

const FORMAT_VERSION = 1;
const TEMP_MARK = '.tmp-';
const TRASH_PREFIX = '.trash-';
const READ_BATCH = 256;

/**
 * The cursor document, padded to one length: rewritten in place at every release, a write never
 * leaves the tail of a longer one behind (an IPv6 cursor takes ~80 bytes).
 */
export function cursorText(cursor: CursorRecord): string {
  return `${JSON.stringify(cursor).padEnd(CURSOR_BYTES - 1)}\n`;
}
const CURSOR_BYTES = 128;

export function poolKey(poolId: string): string {
  return poolId.replace(/[^A-Za-z0-9.:-]/g, '_');
}

export class FileStore implements IpamStore {
  readonly dir: string;
  private readonly thread: FileThread | undefined;
  readonly ordered: boolean;
  private readonly onBehindError: ((message: string) => void) | undefined;
  private readonly fsync: boolean;
  private readonly beforeRename: FileStoreOptions['beforeRename'];
  private seq = 0;

  constructor(dir: string, options: FileStoreOptions = {}) {
    this.dir = dir;
    this.fsync = options.fsync ?? true;
    this.beforeRename = options.beforeRename;
    this.thread = options.beforeRename ? undefined : options.thread;
    // address writes and releases go to the thread's one queue in call order
    this.ordered = this.thread !== undefined;
    this.onBehindError = options.onBehindError;
  }

  private get poolsDir(): string {
    return join(this.dir, 'pools');
  }

  private poolDir(poolId: string): string {
    return join(this.poolsDir, poolKey(poolId));
  }

  async load(): Promise<StoredState> {
    const warnings: string[] = [];
    const pools: StoredPool[] = [];
    await this.io(`create ${this.poolsDir}`, () => mkdir(this.poolsDir, { recursive: true, mode: 0o700 }));
    const entries = await this.io(`read ${this.poolsDir}`, () => readdir(this.poolsDir, { withFileTypes: true }));
    for (const ent of entries) {
      const path = join(this.poolsDir, ent.name);
      if (ent.name.startsWith(TRASH_PREFIX) || ent.name.includes(TEMP_MARK)) {
        await this.io(`remove ${path}`, () => rm(path, { recursive: true, force: true }));
        continue;
      }
      if (!ent.isDirectory()) continue;
      await this.sweepTemps(path);
      const pool = await this.readJson(join(path, 'pool.json'), warnings);
      if (pool === undefined) {
        // mkdir happened, pool.json was never renamed into place: an interrupted create.
        await this.io(`remove ${path}`, () => rm(path, { recursive: true, force: true }));
        warnings.push(`removed incomplete pool directory ${path}`);
        continue;
      }
      if (pool === null || !isPoolRecord(pool)) {
        warnings.push(`skipped ${join(path, 'pool.json')}: not a valid pool record`);
        continue;
      }
      const { version: _v, ...rest } = pool as PoolRecord & { version?: number };
      const record: PoolRecord = { ...rest, dynamic: rest.dynamic === true };
      const sp: StoredPool = { pool: record, addresses: await this.loadAddresses(join(path, 'addresses'), warnings) };
      const cursor = await this.readJson(join(path, 'cursor.json'), warnings);
      if (cursor && isCursorRecord(cursor)) sp.cursor = { last: cursor.last, serial: cursor.serial };
      pools.push(sp);
    }
    pools.sort((a, b) =>
      a.pool.createdAt < b.pool.createdAt ? -1 : a.pool.createdAt > b.pool.createdAt ? 1 : a.pool.poolId < b.pool.poolId ? -1 : 1,
    );
    return { pools, warnings };
  }

  private async loadAddresses(dir: string, warnings: string[]): Promise<AddressRecord[]> {
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw asTsnetError(err, 'TSNET_INTERNAL', `IPAM store: read ${dir}`);
    }
    const out: AddressRecord[] = [];
    const files: string[] = [];
    for (const n of names) {
      if (n.includes(TEMP_MARK)) await this.io(`remove ${join(dir, n)}`, () => rm(join(dir, n), { force: true }));
      else if (n.endsWith('.json')) files.push(n);
    }
    files.sort();
    for (let i = 0; i < files.length; i += READ_BATCH) {
      const batch = await Promise.all(files.slice(i, i + READ_BATCH).map((n) => this.readJson(join(dir, n), warnings)));
      batch.forEach((doc, k) => {
        if (doc && isAddressRecord(doc)) {
          const a: AddressRecord = { ip: doc.ip, owner: doc.owner };
          if (typeof doc.mac === 'string') a.mac = doc.mac;
          if (Number.isInteger(doc.serial)) a.serial = doc.serial!;
          out.push(a);
        } else if (doc !== undefined) {
          warnings.push(`skipped ${join(dir, files[i + k]!)}: not a valid address record`);
        }
      });
    }
    return out;
  }

  /** Remove temp files a crash left between their write and their rename. */
  private async sweepTemps(dir: string): Promise<void> {
    const names = await this.io(`read ${dir}`, () => readdir(dir));
    for (const n of names) {
      if (n.includes(TEMP_MARK)) await this.io(`remove ${join(dir, n)}`, () => rm(join(dir, n), { force: true }));
    }
  }

  /** Parsed JSON; undefined if the file does not exist; null (with a warning) if unreadable. */
  private async readJson(path: string, warnings: string[]): Promise<Record<string, unknown> | null | undefined> {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw asTsnetError(err, 'TSNET_INTERNAL', `IPAM store: read ${path}`);
    }
    try {
      const v: unknown = JSON.parse(text);
      if (v !== null && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
    } catch {
      // fall through
    }
    warnings.push(`skipped ${path}: not valid JSON`);
    return null;
  }

  async putPool(pool: PoolRecord): Promise<void> {
    const dir = this.poolDir(pool.poolId);
    await this.io(`create ${dir}`, () => mkdir(join(dir, 'addresses'), { recursive: true, mode: 0o700 }));
    // the pool dir's entry in pools/ and pool.json's in the pool dir are synced at once
    await Promise.all([
      this.syncDir(this.poolsDir),
      this.writeAtomic(join(dir, 'pool.json'), { version: FORMAT_VERSION, ...pool }),
    ]);
  }

  async deletePool(poolId: string): Promise<void> {
    const dir = this.poolDir(poolId);
    const trash = join(this.poolsDir, `${TRASH_PREFIX}${poolKey(poolId)}-${process.pid}-${++this.seq}`);
    try {
      await rename(dir, trash);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw asTsnetError(err, 'TSNET_INTERNAL', `IPAM store: remove ${dir}`);
    }
    // Not fsynced: a release lost to a power loss leaves a pool no network explains, which the
    // daemon releases at its next start (NetworkController reconcileIpam).
    await this.io(`remove ${trash}`, () => rm(trash, { recursive: true, force: true }));
  }

  /**
   * Not fsynced either: the container record holding the endpoint is the durable copy, and the
   * daemon re-reserves at start an endpoint's address this store lost (NetworkController
   * reconcileIpam). Pools stay durable.
   */
  async putAddress(poolId: string, address: AddressRecord): Promise<void> {
    const target = join(this.poolDir(poolId), 'addresses', `${address.ip}.json`);
    if (!this.thread) return this.writeAtomic(target, address, false);
    const temp = this.tempFor(target);
    this.thread
      .run(writeThenRename(temp, target, `${JSON.stringify(address, null, 2)}\n`, { mode: 0o600, exclusive: true }))
      .catch((err: Error) => this.onBehindError?.(`IPAM store: write ${target}: ${err.message}`));
  }

  /**
   * A release is not fsynced: one lost to a power loss leaves an address record no endpoint
   * explains, which the daemon releases at its next start; a lost cursor only moves where serial
   * allocation resumes. (Allocations stay durable: a lost one could hand an address out twice.)
   */
  async deleteAddress(poolId: string, ip: string, cursor: CursorRecord | undefined): Promise<void> {
    const dir = this.poolDir(poolId);
    if (this.thread) {
      // in place, at one length: a release creates no file (no temp file and rename per release)
      const cursorOps: FileOp[] = cursor
        ? [{ op: 'overwrite', path: join(dir, 'cursor.json'), data: cursorText(cursor), mode: 0o600 }]
        : [];
      try {
        await this.thread.run([...cursorOps, { op: 'unlink', path: join(dir, 'addresses', `${ip}.json`) }]);
      } catch (err) {
        // The pool is gone: nothing to release.
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw asTsnetError(err, 'TSNET_INTERNAL', `IPAM store: release ${ip} in ${dir}`);
      }
      return;
    }
    if (cursor) {
      try {
        await this.writeAtomic(join(dir, 'cursor.json'), cursor, false);
      } catch (err) {
        // The pool is gone: nothing to release.
        if ((err as { cause?: NodeJS.ErrnoException }).cause?.code === 'ENOENT') return;
        throw err;
      }
    }
    const path = join(dir, 'addresses', `${ip}.json`);
    try {
      await unlink(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw asTsnetError(err, 'TSNET_INTERNAL', `IPAM store: remove ${path}`);
    }
  }

  /** The temp file a record is written to before its rename over `target` (load() removes leftovers). */
  private tempFor(target: string): string {
    return `${target}${TEMP_MARK}${process.pid}-${++this.seq}`;
  }

  /** Write `value` as JSON to `target` atomically: temp file, fsync, rename, fsync dir. */
  private async writeAtomic(target: string, value: unknown, durable = this.fsync): Promise<void> {
    const temp = this.tempFor(target);
    const data = `${JSON.stringify(value, null, 2)}\n`;
    if (!durable && !this.beforeRename) {
      // no fsync to wait for: written synchronously (a small file; four thread-pool round trips
      // cost more than the write, and an attach waits for them)
      try {
        fs.writeFileSync(temp, data, { flag: 'wx', mode: 0o600 });
        fs.renameSync(temp, target);
      } catch (err) {
        fs.rmSync(temp, { force: true });
        throw asTsnetError(err, 'TSNET_INTERNAL', `IPAM store: write ${target}`);
      }
      return;
    }
    try {
      const fh = await open(temp, 'wx', 0o600);
      try {
        await fh.writeFile(data, 'utf8');
        if (durable) await fh.sync();
      } finally {
        await fh.close();
      }
      await this.beforeRename?.(temp, target);
      await rename(temp, target);
    } catch (err) {
      await rm(temp, { force: true }).catch(() => undefined);
      throw asTsnetError(err, 'TSNET_INTERNAL', `IPAM store: write ${target}`);
    }
    if (durable) await this.syncDir(join(target, '..'));
  }

  private async syncDir(dir: string): Promise<void> {
    if (!this.fsync) return;
    await this.io(`sync ${dir}`, async () => {
      const fh = await open(dir, 'r');
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
    });
  }

  private async io<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw asTsnetError(err, 'TSNET_INTERNAL', `IPAM store: ${what}`);
    }
  }
}

function isPoolRecord(v: Record<string, unknown>): v is Record<string, unknown> & PoolRecord {
  return (
    typeof v.poolId === 'string' &&
    typeof v.networkId === 'string' &&
    typeof v.networkName === 'string' &&
    (v.family === 4 || v.family === 6) &&
    typeof v.subnet === 'string' &&
    typeof v.gateway === 'string' &&
    (v.ipRange === undefined || typeof v.ipRange === 'string') &&
    typeof v.auxAddresses === 'object' &&
    v.auxAddresses !== null &&
    typeof v.createdAt === 'string'
  );
}

function isAddressRecord(v: Record<string, unknown>): v is Record<string, unknown> & AddressRecord {
  return typeof v.ip === 'string' && typeof v.owner === 'string';
}

function isCursorRecord(v: Record<string, unknown>): v is Record<string, unknown> & CursorRecord {
  return typeof v.last === 'string' && typeof v.serial === 'number';
}
