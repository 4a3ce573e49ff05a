/**
 * The client of one out-of-process plugin (Docker's legacy v1 protocol, moby pkg/plugins).
 *
 * What it keeps from Docker: POST /<Subsystem>.<Method> with a JSON body (or none), activation
 * with POST /Plugin.Activate, retries only when the request never reached the plugin
 * (connection refused, socket missing), errors from `Err` (network) or `Error` (IPAM) in a 200
 * reply or from any non-200 reply, case-insensitive decoding.
 *
 * What it does differently (DESIGN "Plugins"):
 * - every call has a deadline (default 30 s, per call overridable): a hung plugin fails that one
 *   operation with TSNET_PLUGIN_TIMEOUT instead of wedging the daemon (moby/moby#33994);
 * - connection retries are bounded (100 ms doubling to 2 s, within retryBudgetMs, default 8 s,
 *   never past the call's deadline) instead of ~15 s per call;
 * - a plugin that restarted is activated again before the next call, and the activation hooks
 *   (the remote driver's GetCapabilities, …) run again. A restart is noticed when the socket
 *   file was re-created (inode and times), after any connection failure, or after a call lost
 *   its connection (a TCP plugin restarted between two calls is not noticed: nothing failed);
 * - a call whose connection broke after the request was sent is NOT retried (it may have had
 *   an effect): it fails with TSNET_PLUGIN_UNAVAILABLE "connection lost".
 * Every failure is one TsnetError line: `plugin "<name>": <Method>: <what happened>`.
 * There is no lock: calls run concurrently, only activation is shared.
 */
import fs from 'node:fs';
import { TsnetError, type ErrorCode } from '../errors/index.js';
import {
  ConnectError,
  createTransport,
  DeadlineError,
  LostError,
  TlsError,
  TooLargeError,
  type HttpReply,
  type Transport,
} from './http.js';
import { field, isObject, type JsonObject } from './wire.js';
import type { PluginAddress, PluginKind, PluginManifest } from './types.js';
import { NOOP_LOGGER, type Logger } from '../lib/logger.js';

export const DEFAULT_TIMEOUT_MS = 30_000;
export const DEFAULT_RETRY_BUDGET_MS = 8_000;

export interface PluginClientOptions {
  /** Deadline of one call, retries included (default 30 000 ms). */
  timeoutMs?: number;
  /** Stop retrying a refused connection when elapsed + next wait would pass this (default 8 000 ms). */
  retryBudgetMs?: number;
  /** First wait between connection attempts (default 100 ms, doubling). */
  initialBackoffMs?: number;
  /** Longest wait between connection attempts (default 2 000 ms). */
  maxBackoffMs?: number;
  logger?: Logger;
  /** Discovery again (the registry passes its lookup): used when the plugin cannot be reached. */
  relocate?: () => PluginAddress | undefined;
}

export interface CallOptions {
  /** Deadline of this call in ms (default: the client's timeoutMs). */
  timeoutMs?: number;
}

/** A call that does not trigger activation (for activation hooks). */
export type RawCall = <T extends JsonObject = JsonObject>(method: string, body?: unknown, opts?: CallOptions) => Promise<T>;

/** Runs after every successful /Plugin.Activate (first time and after a restart). */
export type ActivationHook = (call: RawCall, manifest: PluginManifest) => Promise<void>;

/**
 * True for the error of a call the plugin answered with 404. Docker's plugin client reads any 404
 * as "not found" and its remote driver treats that as "not implemented" only for the optional
 * calls (ProgramExternalConnectivity, RevokeExternalConnectivity, DiscoverNew/Delete); callers use
 * this at exactly those calls. Elsewhere a 404 is an ordinary error carrying the plugin's message.
 */
export function isNotImplemented(err: unknown): boolean {
  return err instanceof TsnetError && err.code === 'TSNET_PLUGIN_ERROR' && err.details?.status === 404;
}

/**
 * A 404 that carried the plugin's own error text (`Err`): the plugin implements the call but used
 * 404 for a failure — Docker would silently take it for "not implemented". Worth a warning.
 */
export function isMisused404(err: unknown): boolean {
  return isNotImplemented(err) && (err as TsnetError).details?.errField === true;
}

/** The plugin's own error text, for errors the plugin reported (TSNET_PLUGIN_ERROR). */
export function pluginMessage(err: unknown): string | undefined {
  if (!(err instanceof TsnetError)) return undefined;
  const m = err.details?.pluginMessage;
  return typeof m === 'string' ? m : undefined;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function firstLine(text: string, max = 300): string {
  const line =
    text
      .trim()
      .split('\n')
      .find((l) => l.trim() !== '') ?? '';
  return line.length > max ? `${line.slice(0, max)}…` : line.trim();
}

function socketIdentity(addr: PluginAddress): string | undefined {
  if (addr.protocol !== 'unix') return undefined;
  try {
    // Inode numbers are reused at once on most file systems: the times tell a new socket apart.
    const st = fs.statSync(addr.socketPath!, { bigint: true });
    return `${st.dev}:${st.ino}:${st.birthtimeNs}:${st.ctimeNs}`;
  } catch {
    return undefined;
  }
}

export class PluginClient {
  readonly name: string;
  private addr: PluginAddress;
  private transport: Transport;
  private readonly timeoutMs: number;
  private readonly retryBudgetMs: number;
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly logger: Logger;
  private readonly relocate: (() => PluginAddress | undefined) | undefined;
  private readonly hooks: ActivationHook[] = [];
  private current: PluginManifest | undefined;
  /** Identity of the socket file we activated (unix only): a new one means a restarted plugin. */
  private identity: string | undefined;
  private stale = true;
  private activating: Promise<PluginManifest> | undefined;
  private activationCount = 0;

  constructor(address: PluginAddress, opts: PluginClientOptions = {}) {
    this.name = address.name;
    this.addr = address;
    this.transport = createTransport(address);
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.retryBudgetMs = opts.retryBudgetMs ?? DEFAULT_RETRY_BUDGET_MS;
    this.initialBackoffMs = opts.initialBackoffMs ?? 100;
    this.maxBackoffMs = opts.maxBackoffMs ?? 2_000;
    this.logger = opts.logger ?? NOOP_LOGGER;
    this.relocate = opts.relocate;
  }

  get address(): PluginAddress {
    return this.addr;
  }

  /** The manifest of the last activation (undefined before the first one). */
  get manifest(): PluginManifest | undefined {
    return this.current;
  }

  /** How many times the plugin was activated (2+ means it restarted and was re-activated). */
  get activations(): number {
    return this.activationCount;
  }

  get defaultTimeoutMs(): number {
    return this.timeoutMs;
  }

  implements(kind: PluginKind | string): boolean {
    return this.current?.Implements.includes(kind) ?? false;
  }

  /** Register a hook run after each activation; returns its remover. */
  onActivate(hook: ActivationHook): () => void {
    this.hooks.push(hook);
    return () => {
      const i = this.hooks.indexOf(hook);
      if (i >= 0) this.hooks.splice(i, 1);
    };
  }

  /** Switch to another address (the plugin moved); the next call activates it again. */
  setAddress(address: PluginAddress): void {
    if (address.url === this.addr.url && JSON.stringify(address.tls) === JSON.stringify(this.addr.tls)) return;
    const old = this.transport;
    this.transport = createTransport(address);
    old.close();
    this.addr = address;
    this.stale = true;
  }

  /** Make sure the plugin is activated (activating it if needed); returns its manifest. */
  activate(opts: CallOptions = {}): Promise<PluginManifest> {
    return this.invoke('Plugin.Activate', undefined, opts, true, true) as unknown as Promise<PluginManifest>;
  }

  /**
   * One call, e.g. call('NetworkDriver.Join', {...}). Activates the plugin first if needed.
   * Resolves with the decoded reply object; rejects with a TsnetError (TSNET_PLUGIN_*).
   */
  call<T extends JsonObject = JsonObject>(method: string, body?: unknown, opts: CallOptions = {}): Promise<T> {
    return this.invoke(method, body, opts, true, false) as Promise<T>;
  }

  /**
   * Does the plugin answer? One /Plugin.Activate attempt, no retries, no hooks, no state change.
   * For `tsnet plugin ls`.
   */
  async probe(timeoutMs = 3_000): Promise<PluginManifest> {
    const deadline = Date.now() + timeoutMs;
    try {
      return parseManifest(this.name, await this.send('Plugin.Activate', undefined, deadline));
    } catch (err) {
      throw this.mapError('Plugin.Activate', err, { attempts: 1, since: deadline - timeoutMs, timeoutMs });
    }
  }

  close(): void {
    this.transport.close();
  }

  // ------------------------------------------------------------------ internals

  private needsActivation(): boolean {
    if (this.stale || !this.current) return true;
    const id = socketIdentity(this.addr);
    if (id !== undefined && this.identity !== undefined && id !== this.identity) {
      this.logger.info(
        `plugin "${this.name}": socket ${this.addr.socketPath} was re-created (plugin restarted): activating it again`,
      );
      this.stale = true;
      return true;
    }
    return false;
  }

  private ensureActive(deadline: number): Promise<PluginManifest> {
    if (!this.needsActivation()) return Promise.resolve(this.current!);
    this.activating ??= this.doActivate(deadline).finally(() => {
      this.activating = undefined;
    });
    return this.activating;
  }

  private async doActivate(deadline: number): Promise<PluginManifest> {
    const identity = socketIdentity(this.addr);
    const manifest = parseManifest(this.name, await this.send('Plugin.Activate', undefined, deadline));
    this.current = manifest;
    this.identity = identity;
    this.stale = false;
    const raw: RawCall = (method, body, opts = {}) =>
      this.invoke(method, body, { timeoutMs: opts.timeoutMs ?? Math.max(1, deadline - Date.now()) }, false, false) as never;
    try {
      for (const hook of [...this.hooks]) await hook(raw, manifest);
    } catch (err) {
      this.stale = true;
      throw err;
    }
    this.activationCount++;
    const again = this.activationCount > 1 ? 're-activated' : 'activated';
    this.logger.info(
      `plugin "${this.name}" ${again} at ${this.addr.url} (implements ${manifest.Implements.join(', ') || 'nothing'})`,
    );
    return manifest;
  }

  private async invoke(
    method: string,
    body: unknown,
    opts: CallOptions,
    activate: boolean,
    activationOnly: boolean,
  ): Promise<JsonObject | PluginManifest> {
    const timeoutMs = opts.timeoutMs ?? this.timeoutMs;
    const since = Date.now();
    const deadline = since + timeoutMs;
    const budget = Math.min(this.retryBudgetMs, timeoutMs);
    let delay = this.initialBackoffMs;
    let attempts = 0;
    for (;;) {
      attempts++;
      try {
        if (activationOnly) return await this.ensureActive(deadline);
        if (activate) await this.ensureActive(deadline);
        return decodeOk(this.name, method, await this.send(method, body, deadline));
      } catch (err) {
        if (err instanceof TsnetError) throw err;
        if (err instanceof LostError) this.stale = true;
        if (!(err instanceof ConnectError)) throw this.mapError(method, err, { attempts, since, timeoutMs });
        this.stale = true;
        this.maybeRelocate();
        const elapsed = Date.now() - since;
        if (elapsed + delay >= budget || Date.now() + delay >= deadline) {
          throw this.mapError(method, err, { attempts, since, timeoutMs });
        }
        this.logger.warn(
          `plugin "${this.name}": ${method}: cannot connect to ${this.addr.url} (${err.code}), retrying in ${delay} ms`,
        );
        await sleep(delay);
        delay = Math.min(delay * 2, this.maxBackoffMs);
      }
    }
  }

  private maybeRelocate(): void {
    if (!this.relocate) return;
    let found: PluginAddress | undefined;
    try {
      found = this.relocate();
    } catch {
      return;
    }
    if (found && found.url !== this.addr.url) {
      this.logger.info(`plugin "${this.name}" moved from ${this.addr.url} to ${found.url}`);
      this.setAddress(found);
    }
  }

  private send(method: string, body: unknown, deadline: number): Promise<HttpReply> {
    const payload = body === undefined || body === null ? Buffer.alloc(0) : Buffer.from(`${JSON.stringify(body)}\n`);
    return this.transport.post(`/${method}`, payload, deadline);
  }

  private mapError(method: string, err: unknown, ctx: { attempts: number; since: number; timeoutMs: number }): TsnetError {
    if (err instanceof TsnetError) return err;
    const where = `plugin "${this.name}": ${method}`;
    const details = { plugin: this.name, method, address: this.addr.url };
    const make = (code: ErrorCode, msg: string, extra: Record<string, unknown> = {}): TsnetError =>
      new TsnetError(code, `${where}: ${msg}`, { cause: err, details: { ...details, ...extra } });
    if (err instanceof DeadlineError)
      return make(
        'TSNET_PLUGIN_TIMEOUT',
        `no reply within ${ctx.timeoutMs} ms (a slow plugin may need a longer tsnetd --plugin-timeout)`,
        { timeoutMs: ctx.timeoutMs },
      );
    if (err instanceof ConnectError) {
      const secs = ((Date.now() - ctx.since) / 1000).toFixed(1);
      const tries = ctx.attempts === 1 ? '1 attempt' : `${ctx.attempts} attempts in ${secs} s`;
      return make(
        'TSNET_PLUGIN_UNAVAILABLE',
        `cannot connect to ${this.addr.url}: ${err.code} (${tries}); is the plugin running?`,
        { errno: err.code },
      );
    }
    if (err instanceof LostError) {
      return make(
        'TSNET_PLUGIN_UNAVAILABLE',
        `connection lost before a reply (${err.code}): the plugin may have crashed mid-call`,
        { errno: err.code },
      );
    }
    if (err instanceof TlsError) {
      return make(
        'TSNET_PLUGIN_UNAVAILABLE',
        `TLS handshake with ${this.addr.url} failed (${err.code}): check TLSConfig (CAFile, CertFile, KeyFile) in the plugin's .json spec`,
        { errno: err.code },
      );
    }
    if (err instanceof TooLargeError) return make('TSNET_PLUGIN_BAD_REPLY', err.message);
    return make('TSNET_PLUGIN_UNAVAILABLE', err instanceof Error ? err.message : String(err));
  }
}

/** Decode a reply: errors from the status, `Err` or `Error`; malformed JSON → BAD_REPLY. */
export function decodeReply(plugin: string, method: string, reply: HttpReply): JsonObject {
  return decodeOk(plugin, method, reply);
}

function decodeOk(plugin: string, method: string, reply: HttpReply): JsonObject {
  const where = `plugin "${plugin}": ${method}`;
  const text = reply.body.toString('utf8');
  let parsed: unknown;
  let parseError: Error | undefined;
  if (text.trim() === '') parsed = {};
  else {
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      parseError = err as Error;
    }
  }
  const errText = (): string => {
    if (!isObject(parsed)) return '';
    for (const k of ['Err', 'Error']) {
      const v = field(parsed, k);
      if (typeof v === 'string' && v.trim() !== '') return v.trim();
    }
    return '';
  };
  if (reply.status !== 200) {
    const msg = errText() || firstLine(text);
    const details = { plugin, method, status: reply.status, pluginMessage: msg };
    if (reply.status === 404) {
      const own = errText();
      // With its own `Err`, the plugin reported a failure (with status 404); without one, the
      // call is not served at all ("404 page not found" from its router).
      return fail(
        own
          ? new TsnetError('TSNET_PLUGIN_ERROR', `${where}: ${own} (HTTP 404)`, { details: { ...details, errField: true } })
          : new TsnetError('TSNET_PLUGIN_ERROR', `${where}: not implemented by the plugin (HTTP 404${msg ? `: ${msg}` : ''})`, {
              details,
            }),
      );
    }
    return fail(new TsnetError('TSNET_PLUGIN_ERROR', `${where}: ${msg || `HTTP ${reply.status}`}`, { details }));
  }
  if (parseError) {
    throw new TsnetError(
      'TSNET_PLUGIN_BAD_REPLY',
      `${where}: malformed JSON reply (${parseError.message}): ${JSON.stringify(firstLine(text, 80))}`,
      {
        details: { plugin, method },
      },
    );
  }
  if (!isObject(parsed)) {
    throw new TsnetError(
      'TSNET_PLUGIN_BAD_REPLY',
      `${where}: reply is not a JSON object: ${JSON.stringify(firstLine(text, 80))}`,
      { details: { plugin, method } },
    );
  }
  const msg = errText();
  if (msg)
    throw new TsnetError('TSNET_PLUGIN_ERROR', `${where}: ${msg}`, {
      details: { plugin, method, status: 200, pluginMessage: msg },
    });
  return parsed;
}

function fail(e: TsnetError): never {
  throw e;
}

function parseManifest(plugin: string, reply: HttpReply): PluginManifest {
  const body = decodeOk(plugin, 'Plugin.Activate', reply);
  const impl = field(body, 'Implements');
  if (!Array.isArray(impl) || impl.some((x) => typeof x !== 'string')) {
    throw new TsnetError(
      'TSNET_PLUGIN_BAD_REPLY',
      `plugin "${plugin}": Plugin.Activate: "Implements" must be a list of strings, got ${JSON.stringify(impl ?? null)}`,
      {
        details: { plugin, method: 'Plugin.Activate' },
      },
    );
  }
  return { Implements: impl as string[] };
}
