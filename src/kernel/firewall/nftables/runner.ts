/**
 * The only code of the nftables backend that reaches the kernel: one nftables batch (one kernel
 * transaction) per call, either in-process through libnftables (koffi; `libnftables.so.1` from
 * Debian's nftables package — no fork per change) or, as a fallback, `nft -f -` per batch.
 *
 * A libnftables context opens its netlink socket when it is created, in the network namespace
 * of the creating thread; contexts for another namespace are created while the main thread is
 * switched into it (src/kernel/netns.ts) and keep working after the switch back. Calls are
 * synchronous and short (≈0.3 ms for a port publish), so they run on the main thread.
 *
 * Listing (`list table`) makes libnftables cache the whole table in the context, and that cache
 * makes every later command of the context slower as the table grows. Listings are therefore
 * done on a throwaway context; the long-lived one only ever runs add/delete batches, whose cost
 * stays flat (measured: 0.25 ms with 0 or 10 000 elements in the maps).
 */
import { execa } from 'execa';
import fs from 'node:fs';
import koffi from 'koffi';
import { TsnetError } from '../../../errors/index.js';
import { createLowFdSlots, type LowFdSlots } from './low-fds.js';
import { createSignalBlocker } from './no-signals.js';

export type RunnerMode = 'lib' | 'exec';

export interface BatchInfo {
  mode: RunnerMode;
  text: string;
  ok: boolean;
  durationMs: number;
}

export interface NftRunnerOptions {
  mode?: RunnerMode;
  /** Operate in this network namespace (a bind-mounted netns file) instead of the caller's. */
  netns?: string;
  /** Run `fn` synchronously with the main thread inside a netns file (netns.run). Needed with `netns` in lib mode. */
  inNetns?: <T>(file: string, fn: () => T) => T;
  /** exec mode: the nft binary (default /usr/sbin/nft when present: `npx` puts @vercel/nft's `nft` first in PATH). */
  nftPath?: string;
  /** Called after every batch (tests count transactions; debug logs). */
  onBatch?: (info: BatchInfo) => void;
  /**
   * lib mode: the reserved low fds every context's socket is moved onto (low-fds.ts). Made at
   * start and shared by the runners of one daemon; without it the runner reserves its own.
   */
  lowFds?: LowFdSlots;
  /** lib mode: a batch went to `nft -f` because no context could be placed on a low fd. */
  onFallback?: (why: string) => void;
}

export interface NftRunner {
  readonly mode: RunnerMode;
  /** Run one batch of nft commands as one transaction. Throws TSNET_FIREWALL '<what>: <first error line>'. */
  run(text: string, what: string): Promise<void>;
  /** `list table <family> <table>` as nft JSON objects; [] when the table does not exist. */
  listTable(family: 'ip' | 'ip6', table: string, what: string): Promise<NftObject[]>;
  /** Run one batch in another network namespace (a netns file), e.g. a container's sandbox. */
  runIn(netns: string, text: string, what: string): Promise<void>;
}

/** One entry of nft's JSON output (`{"table": …}`, `{"chain": …}`, `{"rule": …}`, `{"map": …}`, …). */
export type NftObject = Record<string, Record<string, unknown>>;

const JSON_FLAG = 1 << 4;
/** Contexts freed on worker threads at the same time (koffi bounds its asynchronous calls). */
const FREES_AT_ONCE = 4;

interface Lib {
  ctxNew(flags: number): unknown;
  /**
   * Free a context on a worker thread: nft_ctx_free took ~13 ms here (most of a sandbox's DNS
   * rules), and nothing else uses the context once it is handed over.
   */
  ctxFree(ctx: unknown): void;
  bufferOutput(ctx: unknown): number;
  bufferError(ctx: unknown): number;
  getOutput(ctx: unknown): string;
  getError(ctx: unknown): string;
  run(ctx: unknown, text: string): number;
  setFlags(ctx: unknown, flags: number): void;
}

function loadLib(): Lib {
  let lib: ReturnType<typeof koffi.load>;
  try {
    lib = koffi.load('libnftables.so.1');
  } catch (err) {
    throw new TsnetError(
      'TSNET_FIREWALL',
      `nftables backend: cannot load libnftables.so.1 (install Debian's nftables package): ${(err as Error).message}`,
    );
  }
  const f = {
    ctxNew: lib.func('void *nft_ctx_new(uint32_t flags)'),
    ctxFree: lib.func('void nft_ctx_free(void *ctx)'),
    bufferOutput: lib.func('int nft_ctx_buffer_output(void *ctx)'),
    bufferError: lib.func('int nft_ctx_buffer_error(void *ctx)'),
    getOutput: lib.func('const char *nft_ctx_get_output_buffer(void *ctx)'),
    getError: lib.func('const char *nft_ctx_get_error_buffer(void *ctx)'),
    run: lib.func('int nft_run_cmd_from_buffer(void *ctx, const char *buf)'),
    setFlags: lib.func('void nft_ctx_output_set_flags(void *ctx, uint32_t flags)'),
  };
  // koffi runs a bounded number of asynchronous calls at once and throws ("Too many asynchronous
  // calls are running") beyond it: a burst of sandboxes failed their DNS rules that way. Frees
  // wait in a queue instead, a few on the worker threads at a time.
  const waiting: unknown[] = [];
  let running = 0;
  const freeNext = (): void => {
    while (running < FREES_AT_ONCE && waiting.length > 0) {
      const ctx = waiting.shift();
      running++;
      f.ctxFree.async(ctx, () => {
        running--;
        freeNext();
      });
    }
  };
  return {
    ctxNew: (flags) => f.ctxNew(flags),
    ctxFree: (ctx) => {
      waiting.push(ctx);
      freeNext();
    },
    bufferOutput: (ctx) => f.bufferOutput(ctx) as number,
    bufferError: (ctx) => f.bufferError(ctx) as number,
    getOutput: (ctx) => (f.getOutput(ctx) as string | null) ?? '',
    getError: (ctx) => (f.getError(ctx) as string | null) ?? '',
    run: (ctx, text) => f.run(ctx, text) as number,
    setFlags: (ctx, flags) => f.setFlags(ctx, flags),
  };
}

/** The first line of nft's error output that says what went wrong ("Error: …"). */
export function firstNftError(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  return lines.find((l) => l.startsWith('Error:')) ?? lines[0] ?? 'failed';
}

function isMissingTable(message: string): boolean {
  return /No such file or directory/.test(message);
}

function parseListing(out: string): NftObject[] {
  const doc = JSON.parse(out || '{"nftables":[]}') as { nftables?: NftObject[] };
  return (doc.nftables ?? []).filter((o) => !('metainfo' in o));
}

export function createNftRunner(opts: NftRunnerOptions = {}): NftRunner {
  const mode = opts.mode ?? 'lib';
  const report = (text: string, ok: boolean, started: number) =>
    opts.onBatch?.({ mode, text, ok, durationMs: performance.now() - started });
  const fail = (what: string, message: string, text: string): TsnetError =>
    new TsnetError('TSNET_FIREWALL', `${what}: ${message}`, { details: { input: text } });

  if (mode === 'exec') {
    const nftPath = opts.nftPath ?? (fs.existsSync('/usr/sbin/nft') ? '/usr/sbin/nft' : 'nft');
    const nsPrefix = (ns: string | undefined) => (ns ? ['nsenter', `--net=${ns}`] : []);
    const nft = async (args: string[], input: string, ns = opts.netns) => {
      const [file, ...rest] = [...nsPrefix(ns), nftPath, ...args] as [string, ...string[]];
      return execa(file, rest, { input, reject: false, timeout: 30_000 });
    };
    return {
      mode,
      async run(text, what) {
        const started = performance.now();
        const r = await nft(['-f', '-'], text);
        const ok = r.exitCode === 0 && !r.failed;
        report(text, ok, started);
        if (!ok) throw fail(what, firstNftError(String(r.stderr ?? r.shortMessage ?? '')), text);
      },
      async runIn(netns, text, what) {
        const started = performance.now();
        const r = await nft(['-f', '-'], text, netns);
        const ok = r.exitCode === 0 && !r.failed;
        report(text, ok, started);
        if (!ok) throw fail(what, firstNftError(String(r.stderr ?? r.shortMessage ?? '')), text);
      },
      async listTable(family, table, what) {
        const r = await nft(['-j', 'list', 'table', family, table], '');
        if (r.exitCode !== 0) {
          const msg = firstNftError(String(r.stderr ?? ''));
          if (isMissingTable(msg)) return [];
          throw fail(what, msg, `list table ${family} ${table}`);
        }
        return parseListing(String(r.stdout));
      },
    };
  }

  const lib = loadLib();
  const slots = opts.lowFds ?? createLowFdSlots();
  // select() inside a batch is not restarted after a signal: no signal may land meanwhile
  const quiet = createSignalBlocker();
  // libnftables waits for the kernel's answers with select(): glibc aborts the whole process
  // when a context's netlink socket has an fd number ≥ 1024 (FD_SETSIZE), as any new socket
  // does once the daemon holds ~1000 fds. Every context's socket is therefore moved onto a
  // low fd reserved at start (low-fds.ts); when none is free, the batch goes to `nft -f`.
  let fallback: NftRunner | undefined;
  const viaExec = (why: string): NftRunner => {
    opts.onFallback?.(why);
    fallback ??= createNftRunner({ ...opts, mode: 'exec' });
    return fallback;
  };
  /** A context whose socket sits on a reserved low fd, or undefined. */
  const newCtx = (netns = opts.netns): unknown => {
    const make = () => {
      const ctx = lib.ctxNew(0);
      if (!ctx) throw new TsnetError('TSNET_FIREWALL', 'nftables backend: nft_ctx_new failed');
      lib.bufferOutput(ctx);
      lib.bufferError(ctx);
      return ctx;
    };
    if (netns && !opts.inNetns) throw new TsnetError('TSNET_INTERNAL', 'nftables runner: a netns needs the inNetns option');
    const ctx = netns && opts.inNetns ? opts.inNetns(netns, make) : make();
    if (slots.adopt(ctx)) return ctx;
    lib.ctxFree(ctx);
    return undefined;
  };
  const freeCtx = (ctx: unknown): void => {
    slots.release(ctx);
    lib.ctxFree(ctx);
  };
  let ops: unknown;
  const exec = (ctx: unknown, text: string, json: boolean): { ok: boolean; out: string; err: string } => {
    lib.setFlags(ctx, json ? JSON_FLAG : 0);
    const rc = quiet(() => lib.run(ctx, text));
    return { ok: rc === 0, out: lib.getOutput(ctx), err: lib.getError(ctx) };
  };
  const NO_SLOT = 'no low fd free for a libnftables context';
  return {
    mode,
    async run(text, what) {
      ops ??= newCtx();
      if (!ops) return viaExec(NO_SLOT).run(text, what);
      const started = performance.now();
      const r = exec(ops, text, false);
      report(text, r.ok, started);
      if (!r.ok) throw fail(what, firstNftError(r.err), text);
    },
    async runIn(netns, text, what) {
      const ctx = newCtx(netns);
      if (!ctx) return viaExec(NO_SLOT).runIn(netns, text, what);
      try {
        const started = performance.now();
        const r = exec(ctx, text, false);
        report(text, r.ok, started);
        if (!r.ok) throw fail(what, firstNftError(r.err), text);
      } finally {
        freeCtx(ctx);
      }
    },
    async listTable(family, table, what) {
      const ctx = newCtx();
      if (!ctx) return viaExec(NO_SLOT).listTable(family, table, what);
      try {
        const r = exec(ctx, `list table ${family} ${table}`, true);
        if (!r.ok) {
          const msg = firstNftError(r.err);
          if (isMissingTable(msg)) return [];
          throw fail(what, msg, `list table ${family} ${table}`);
        }
        return parseListing(r.out);
      } finally {
        freeCtx(ctx);
      }
    },
  };
}
