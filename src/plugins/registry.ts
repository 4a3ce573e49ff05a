/**
 * The daemon's plugins, by name. Built once by the daemon (DESIGN rule 6) and passed to the
 * network controller (`get(name, 'NetworkDriver')`) and to `GET /plugins` (`list()`).
 *
 * - Lazy, as in Docker: a plugin is looked up and activated the first time something names it.
 * - One PluginClient per name, kept for the daemon's life; the client re-activates a plugin that
 *   restarted, and follows it when its socket/spec moves (it calls discovery again).
 * - No lock is held across a plugin call: concurrent `get`s of one name share one activation,
 *   other names are not affected (a plugin may call back into the tsnet API meanwhile).
 */
import { TsnetError } from '../errors/index.js';
import { PluginClient } from './client.js';
import { describeSearch, locatePlugin, scanPlugins, validatePluginName, type DiscoveryDirs } from './discovery.js';
import { DEFAULT_SOCKET_DIRS, DEFAULT_SPEC_DIRS, type PluginKind } from './types.js';
import type { Logger } from '../lib/logger.js';

export interface PluginRegistryOptions {
  /** Socket directories, searched first (default /run/tsnet/plugins). */
  socketDirs?: string[];
  /** Spec directories for .spec/.json files (default /etc/tsnet/plugins, /usr/lib/tsnet/plugins). */
  specDirs?: string[];
  /** Per-call timeout of every plugin call (default 30 000 ms). */
  timeoutMs?: number;
  /** Budget for retrying refused connections within one call (default 8 000 ms). */
  retryBudgetMs?: number;
  /** How long `list()` waits for each plugin to answer (default min(timeoutMs, 3000) ms). */
  probeTimeoutMs?: number;
  logger: Logger;
}

/** One row of `GET /plugins` / `tsnet plugin ls`. */
export interface PluginListEntry {
  Name: string;
  /** unix:///run/tsnet/plugins/x.sock, tcp://host:port, … */
  Addr: string;
  /** What the plugin answered to /Plugin.Activate ([] when it does not answer). */
  Implements: string[];
  /** "active" when it answers, otherwise "unavailable: <reason>" or "invalid: <reason>". */
  Status: string;
}

export class PluginRegistry {
  private readonly dirs: DiscoveryDirs;
  private readonly clients = new Map<string, PluginClient>();
  private readonly timeoutMs: number | undefined;
  private readonly retryBudgetMs: number | undefined;
  private readonly probeTimeoutMs: number;
  private readonly logger: Logger;

  constructor(opts: PluginRegistryOptions) {
    this.dirs = {
      socketDirs: [...(opts.socketDirs && opts.socketDirs.length > 0 ? opts.socketDirs : DEFAULT_SOCKET_DIRS)],
      specDirs: [...(opts.specDirs && opts.specDirs.length > 0 ? opts.specDirs : DEFAULT_SPEC_DIRS)],
    };
    this.timeoutMs = opts.timeoutMs;
    this.retryBudgetMs = opts.retryBudgetMs;
    this.probeTimeoutMs = opts.probeTimeoutMs ?? Math.min(opts.timeoutMs ?? 3_000, 3_000);
    this.logger = opts.logger;
  }

  get directories(): DiscoveryDirs {
    return { socketDirs: [...this.dirs.socketDirs], specDirs: [...this.dirs.specDirs] };
  }

  /** Is there a file describing `name` (no activation)? */
  has(name: string): boolean {
    try {
      return locatePlugin(name, this.dirs) !== undefined;
    } catch {
      return true; // a malformed spec file still names a plugin; get() reports the problem
    }
  }

  /**
   * The activated client of plugin `name`, which must implement `kind`.
   * TSNET_PLUGIN_NOT_FOUND when no file describes it or it does not implement `kind`;
   * TSNET_PLUGIN_UNAVAILABLE / TSNET_PLUGIN_TIMEOUT when it does not answer.
   */
  async get(name: string, kind: PluginKind): Promise<PluginClient> {
    validatePluginName(name);
    const address = locatePlugin(name, this.dirs);
    let client = this.clients.get(name);
    // A plugin we already know whose file is gone is probably restarting: its client retries
    // (within its budget) and follows it if it comes back elsewhere.
    if (!address && !client) {
      throw new TsnetError(
        'TSNET_PLUGIN_NOT_FOUND',
        `plugin "${name}" not found (looked for ${describeSearch(name, this.dirs)})`,
        {
          details: { plugin: name, kind },
        },
      );
    }
    if (!client) {
      client = new PluginClient(address!, {
        ...(this.timeoutMs !== undefined ? { timeoutMs: this.timeoutMs } : {}),
        ...(this.retryBudgetMs !== undefined ? { retryBudgetMs: this.retryBudgetMs } : {}),
        logger: this.logger,
        relocate: () => {
          try {
            return locatePlugin(name, this.dirs);
          } catch {
            return undefined;
          }
        },
      });
      this.clients.set(name, client);
    } else if (address) {
      client.setAddress(address);
    }
    const manifest = await client.activate();
    if (!manifest.Implements.includes(kind)) {
      throw new TsnetError(
        'TSNET_PLUGIN_NOT_FOUND',
        `plugin "${name}" does not implement ${kind} (it implements: ${manifest.Implements.join(', ') || 'nothing'})`,
        { details: { plugin: name, kind, implements: manifest.Implements } },
      );
    }
    return client;
  }

  /** Every plugin in the directories, each probed once (in parallel, bounded wait, no retries). */
  async list(): Promise<PluginListEntry[]> {
    const names = scanPlugins(this.dirs);
    return Promise.all(
      names.map(async (name): Promise<PluginListEntry> => {
        let address: ReturnType<typeof locatePlugin>;
        try {
          address = locatePlugin(name, this.dirs);
        } catch (err) {
          return { Name: name, Addr: '', Implements: [], Status: `invalid: ${(err as Error).message}` };
        }
        if (!address) return { Name: name, Addr: '', Implements: [], Status: 'unavailable: gone' };
        const cached = this.clients.get(name);
        const client =
          cached && cached.address.url === address.url
            ? cached
            : new PluginClient(address, { logger: this.logger, retryBudgetMs: 0 });
        try {
          const m = await client.probe(this.probeTimeoutMs);
          return { Name: name, Addr: address.url, Implements: m.Implements, Status: 'active' };
        } catch (err) {
          const msg =
            err instanceof TsnetError
              ? String(err.details?.errno ?? err.message.replace(/^plugin "[^"]*": Plugin\.Activate: /, ''))
              : String(err);
          // What it implemented is not known while it does not answer: say what it last said, in the status.
          const last = cached?.manifest?.Implements ?? [];
          const was = last.length > 0 ? ` (last seen implementing ${last.join(', ')})` : '';
          return { Name: name, Addr: address.url, Implements: [], Status: `unavailable: ${msg}${was}` };
        } finally {
          if (client !== cached) client.close();
        }
      }),
    );
  }

  /** Close every client (daemon shutdown). */
  close(): void {
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }
}
