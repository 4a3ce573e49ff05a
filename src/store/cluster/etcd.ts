/**
 * A thin layer over the `etcd3` client: raw transactions (so compares can span a key range),
 * leases, watches, and one error rule — anything that is not a semantic answer from etcd
 * becomes TSNET_CLUSTER_UNAVAILABLE "cluster store etcd://… unreachable: <reason>".
 *
 * The client's own fault handling is replaced: the default circuit breaker refuses every call
 * for 5 s after three failures (long after etcd is back) and the default policy retries
 * three times. tsnet retries where it knows it is safe, and fails fast everywhere else.
 * Every unary call has a deadline; streams (watch, lease keepalive) have none.
 */
import { Etcd3, type IKeyValue, type IRequestOp, type ICompare, type ITxnResponse, type Watcher } from 'etcd3';
import { TsnetError } from '../../errors/index.js';
import { prefixEnd } from './keys.js';
import type { ClusterStoreUrl } from './url.js';

export interface EtcdKvOptions {
  /** Deadline of each unary call (default 3000 ms). */
  opTimeoutMs?: number;
}

/** A key-value pair as tsnet reads it (text key and value, revisions as strings). */
export interface Kv {
  key: string;
  value: string;
  createRevision: string;
  modRevision: string;
  lease: string;
}

export interface RangeResult {
  kvs: Kv[];
  /** The store revision the read was served at. */
  revision: string;
}

const buf = (s: string): Buffer => Buffer.from(s, 'utf8');

export function toKv(kv: IKeyValue): Kv {
  return {
    key: kv.key.toString('utf8'),
    value: kv.value ? kv.value.toString('utf8') : '',
    createRevision: String(kv.create_revision ?? '0'),
    modRevision: String(kv.mod_revision ?? '0'),
    lease: String(kv.lease ?? '0'),
  };
}

// ---------------------------------------------------------------------------- compares

/** The key does not exist. */
export function cmpAbsent(key: string): ICompare {
  return { key: buf(key), target: 'Create', result: 'Equal', create_revision: '0' };
}
/** The key exists. */
export function cmpExists(key: string): ICompare {
  return { key: buf(key), target: 'Create', result: 'Greater', create_revision: '0' };
}
/** The key was created at this revision (it is the same key we read, not a recreated one). */
export function cmpCreated(key: string, createRevision: string): ICompare {
  return { key: buf(key), target: 'Create', result: 'Equal', create_revision: createRevision };
}
/** The key was last modified at this revision ('0': the key does not exist). */
export function cmpModRev(key: string, modRevision: string): ICompare {
  return { key: buf(key), target: 'Mod', result: 'Equal', mod_revision: modRevision };
}
export function cmpValue(key: string, value: string): ICompare {
  return { key: buf(key), target: 'Value', result: 'Equal', value: buf(value) };
}
/** No key starts with `prefix`. */
export function cmpPrefixEmpty(prefix: string): ICompare {
  return { key: buf(prefix), range_end: prefixEnd(buf(prefix)), target: 'Create', result: 'Equal', create_revision: '0' };
}
/** No key under `prefix` was created or changed after `revision`. */
export function cmpPrefixUnchangedSince(prefix: string, revision: string): ICompare {
  return {
    key: buf(prefix),
    range_end: prefixEnd(buf(prefix)),
    target: 'Mod',
    result: 'Less',
    mod_revision: String(BigInt(revision) + 1n),
  };
}

// ---------------------------------------------------------------------------- operations

export function opPut(key: string, value: string, lease?: string): IRequestOp {
  return { request_put: { key: buf(key), value: buf(value), ...(lease ? { lease } : {}) } };
}
export function opDelete(key: string): IRequestOp {
  return { request_delete_range: { key: buf(key) } };
}
export function opDeletePrefix(prefix: string): IRequestOp {
  return { request_delete_range: { key: buf(prefix), range_end: prefixEnd(buf(prefix)) } };
}
export function opGet(key: string): IRequestOp {
  return { request_range: { key: buf(key) } };
}
export function opGetPrefix(prefix: string, opts: { keysOnly?: boolean; limit?: number } = {}): IRequestOp {
  return {
    request_range: {
      key: buf(prefix),
      range_end: prefixEnd(buf(prefix)),
      ...(opts.keysOnly ? { keys_only: true } : {}),
      ...(opts.limit ? { limit: opts.limit } : {}),
    },
  };
}

/** The kvs of the i-th response of a transaction (a range op). */
export function rangeOf(res: ITxnResponse, i: number): Kv[] {
  return (res.responses[i]?.response_range?.kvs ?? []).map(toKv);
}

// ---------------------------------------------------------------------------- errors

const SEMANTIC = new Set([
  'EtcdLeaseInvalidError',
  'EtcdPermissionDeniedError',
  'EtcdAuthenticationFailedError',
  'GRPCInvalidArgumentError',
  'GRPCFailedPreconditionError',
  'GRPCOutOfRangeError',
]);

/** Is this an "etcd could not be reached / did not answer in time" failure? */
export function isUnreachable(err: unknown): boolean {
  if (err instanceof TsnetError) return err.code === 'TSNET_CLUSTER_UNAVAILABLE';
  if (!(err instanceof Error)) return true;
  return !SEMANTIC.has(err.constructor.name);
}

/** The short reason of a failure: "connect ECONNREFUSED 10.0.0.5:2379", "deadline exceeded", … */
export function reasonOf(err: unknown): string {
  if (err instanceof TsnetError && typeof err.details?.reason === 'string') return err.details.reason;
  const text = err instanceof Error ? err.message : String(err);
  const line = text.split('\n')[0] ?? text;
  // grpc-js: "14 UNAVAILABLE: No connection established. Last error: Error: connect ECONNREFUSED 10.0.0.5:2379. Resolution note: "
  const last = /Last error: (?:Error: )?(.*?)\.?(?: Resolution note:.*)?$/.exec(line);
  if (last?.[1]) return last[1].slice(0, 300);
  return line
    .replace(/^\d+\s+/, '')
    .replace(/^DEADLINE_EXCEEDED: .*/, 'no answer within the deadline')
    .slice(0, 300);
}

/** A no-op fault policy for the etcd3 client (the shape its connection pool calls). */
const passThrough = {
  execute: <T>(fn: (ctx: { signal: AbortSignal; attempt: number }) => T | Promise<T>): Promise<T> =>
    Promise.resolve().then(() => fn({ signal: new AbortController().signal, attempt: 1 })),
};

export class EtcdKv {
  readonly url: ClusterStoreUrl;
  readonly client: Etcd3;
  readonly opTimeoutMs: number;
  private closed = false;

  constructor(url: ClusterStoreUrl, options: EtcdKvOptions = {}) {
    this.url = url;
    this.opTimeoutMs = options.opTimeoutMs ?? 3000;
    const timeout = this.opTimeoutMs;
    this.client = new Etcd3({
      hosts: url.hosts,
      dialTimeout: timeout,
      defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + timeout }),
      grpcOptions: {
        'grpc.initial_reconnect_backoff_ms': 200,
        'grpc.max_reconnect_backoff_ms': 2000,
        // find a dead etcd behind a silent network within ~15 s (etcd allows pings every 5 s)
        'grpc.keepalive_time_ms': 10_000,
        'grpc.keepalive_timeout_ms': 5_000,
      },
      faultHandling: {
        host: () => passThrough as never,
        global: passThrough as never,
      },
    });
  }

  /** The TSNET_CLUSTER_UNAVAILABLE error for a failure (TsnetErrors pass through). */
  unavailable(err: unknown, what?: string): TsnetError {
    if (err instanceof TsnetError) return err;
    const reason = reasonOf(err);
    return new TsnetError(
      'TSNET_CLUSTER_UNAVAILABLE',
      `cluster store ${this.url.display} unreachable: ${reason}${what ? ` (${what})` : ''}`,
      {
        cause: err,
        details: { store: this.url.display, reason },
      },
    );
  }

  private async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    if (this.closed) {
      throw new TsnetError(
        'TSNET_CLUSTER_UNAVAILABLE',
        `cluster store ${this.url.display} unreachable: the client is closed (${what})`,
        {
          details: { store: this.url.display, reason: 'the client is closed' },
        },
      );
    }
    try {
      return await fn();
    } catch (err) {
      if (err instanceof Error && err.constructor.name === 'EtcdLeaseInvalidError') {
        // a put under a lease etcd no longer knows: the session must register again
        const reason = 'the node lease expired';
        throw new TsnetError(
          'TSNET_CLUSTER_UNAVAILABLE',
          `cluster store ${this.url.display}: ${reason} (${what}); registering again, try again shortly`,
          {
            cause: err,
            details: { store: this.url.display, reason },
          },
        );
      }
      if (isUnreachable(err)) throw this.unavailable(err, what);
      throw new TsnetError('TSNET_INTERNAL', `cluster store ${this.url.display}: ${what}: ${reasonOf(err)}`, { cause: err });
    }
  }

  txn(what: string, compare: ICompare[], success: IRequestOp[], failure: IRequestOp[] = []): Promise<ITxnResponse> {
    return this.call(what, () => this.client.kv.txn({ compare, success, failure }));
  }

  async get(what: string, key: string): Promise<Kv | undefined> {
    const res = await this.call(what, () => this.client.kv.range({ key: buf(key) }));
    const kv = res.kvs[0];
    return kv ? toKv(kv) : undefined;
  }

  async getPrefix(what: string, prefix: string, opts: { keysOnly?: boolean; revision?: string } = {}): Promise<RangeResult> {
    const res = await this.call(what, () =>
      this.client.kv.range({
        key: buf(prefix),
        range_end: prefixEnd(buf(prefix)),
        ...(opts.keysOnly ? { keys_only: true } : {}),
        ...(opts.revision ? { revision: opts.revision } : {}),
      }),
    );
    return { kvs: res.kvs.map(toKv), revision: String(res.header.revision) };
  }

  /** Grant a lease; returns its id. */
  async grantLease(ttlSeconds: number): Promise<string> {
    const res = await this.call('grant lease', () => this.client.leaseClient.leaseGrant({ TTL: ttlSeconds, ID: 0 }));
    return String(res.ID);
  }

  /** One keepalive; returns the lease's remaining TTL in seconds (0: the lease is gone). */
  keepAliveOnce(id: string): Promise<number> {
    return this.call('keep the node lease alive', async () => {
      const stream = await this.client.leaseClient.leaseKeepAlive();
      try {
        return await new Promise<number>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error('lease keepalive timed out')), this.opTimeoutMs);
          stream.on('data', (res: { TTL: string }) => {
            clearTimeout(timer);
            resolve(Number(res.TTL));
          });
          stream.on('error', (err: Error) => {
            clearTimeout(timer);
            reject(err);
          });
          stream.write({ ID: id });
        });
      } finally {
        try {
          stream.end();
        } catch {
          /* already gone */
        }
      }
    });
  }

  async revokeLease(id: string): Promise<void> {
    await this.call('revoke the node lease', () => this.client.leaseClient.leaseRevoke({ ID: id }));
  }

  /**
   * A watcher on every key under `prefix` from `fromRevision` on, with previous values.
   * The caller must listen to 'error' (an EventEmitter 'error' without a listener throws).
   */
  watchPrefix(prefix: string, fromRevision: string): Watcher {
    // a watcher made on a closed client would retry forever (see close())
    if (this.closed) throw new TsnetError('TSNET_CLUSTER_UNAVAILABLE', `cluster store ${this.url.display}: the client is closed`);
    return this.client.watch().prefix(prefix).startRevision(fromRevision).withPreviousKV().watcher();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.client.close();
    // etcd3 1.1.2 retries a broken watch stream forever, even on a closed client, for as long
    // as its watch manager still lists a watcher (one whose cancel was not acknowledged).
    // Nothing will ever watch through this client again: drop them so the loop ends.
    const wm = (this.client as unknown as { watchManager?: { watchers?: unknown[] } }).watchManager;
    if (wm && Array.isArray(wm.watchers)) wm.watchers = [];
  }
}
