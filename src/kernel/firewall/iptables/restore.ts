/**
 * The only code here that execs: one `iptables-restore --noflush` (or ip6tables-restore) per
 * operation, script on stdin, with a per-call timeout; and `iptables-save` for the slow paths.
 * "# Warning: iptables-legacy tables present" on stderr is not an error.
 */
import { execa } from 'execa';
import { TsnetError } from '../../../errors/index.js';
import type { Family } from '../addr.js';
import type { Spawner } from '../../spawn.js';

export interface CommandInfo {
  argv: string[];
  input?: string;
  ok: boolean;
  durationMs: number;
}

export interface IptablesExecOptions {
  iptablesRestore?: string;
  ip6tablesRestore?: string;
  iptablesSave?: string;
  ip6tablesSave?: string;
  /** Prepended to every command, e.g. ['nsenter', '--net=/run/netns/x'] for tests. */
  commandPrefix?: string[];
  /** Environment for the commands (merged over the daemon's). */
  execaEnv?: Record<string, string>;
  /** Per-call timeout (default 30 s). */
  timeoutMs?: number;
  /** How long iptables-legacy waits for the xtables lock (default 10 s; nft ignores it). */
  waitSeconds?: number;
  /** Called after every command (tests, metrics, debug logs). */
  onCommand?: (info: CommandInfo) => void;
  /**
   * Runs the commands instead of execa: the daemon passes its posix_spawn runner
   * (../../spawn.ts), which does not fork the whole daemon per command.
   */
  runner?: Spawner['run'];
}

export interface IptablesExec {
  /** Apply one restore script. Throws TSNET_FIREWALL '<what>: <first stderr line>'. */
  restore(family: Family, script: string, what: string): Promise<void>;
  /** The whole ruleset of one family, as iptables-save prints it. */
  save(family: Family, what: string): Promise<string>;
}

const HEADER = /^(?:ip6?tables|xtables)[\w-]*(?: v[\d.]+)?(?: \([^)]*\))?:\s*$/;

/** The first meaningful stderr line: skips the legacy-tables warning and a bare "iptables-restore v1.8.9 (nf_tables):" header. */
export function firstErrorLine(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('# Warning:'));
  const first = lines.find((l) => !HEADER.test(l));
  return first ?? lines[0] ?? '';
}

/** A runner's result in the shape of execa's (the fields used above). */
async function viaRunner(
  runner: Spawner['run'],
  file: string,
  args: string[],
  input: string | undefined,
  timeoutMs: number,
  env: Record<string, string> | undefined,
): Promise<{ failed: boolean; exitCode?: number; stdout: string; stderr: string; timedOut: boolean; shortMessage?: string }> {
  const r = await runner(file, args, {
    input: input ?? '',
    timeoutMs,
    // as execa: the given variables over the daemon's own
    env: { ...(process.env as Record<string, string>), ...env },
  });
  return {
    failed: r.exitCode !== 0,
    ...(r.exitCode !== undefined ? { exitCode: r.exitCode } : {}),
    stdout: r.stdout,
    stderr: r.stderr,
    timedOut: r.timedOut,
    ...(r.startError ? { shortMessage: `cannot run ${file}: ${r.startError}` } : {}),
  };
}

export function createIptablesExec(opts: IptablesExecOptions = {}): IptablesExec {
  const bins = {
    restore: { 4: opts.iptablesRestore ?? 'iptables-restore', 6: opts.ip6tablesRestore ?? 'ip6tables-restore' },
    save: { 4: opts.iptablesSave ?? 'iptables-save', 6: opts.ip6tablesSave ?? 'ip6tables-save' },
  } as const;
  const prefix = opts.commandPrefix ?? [];
  const timeout = opts.timeoutMs ?? 30_000;
  const wait = opts.waitSeconds ?? 10;

  const run = async (argv: string[], input: string | undefined, what: string): Promise<string> => {
    const full = [...prefix, ...argv];
    const [file, ...args] = full as [string, ...string[]];
    const started = performance.now();
    const result = opts.runner
      ? await viaRunner(opts.runner, file, args, input, timeout, opts.execaEnv)
      : await execa(file, args, {
          input: input ?? '',
          timeout,
          reject: false,
          stripFinalNewline: false,
          ...(opts.execaEnv ? { env: opts.execaEnv } : {}),
        });
    const ok = !result.failed && result.exitCode === 0;
    const info: CommandInfo = { argv: full, ok, durationMs: performance.now() - started };
    if (input !== undefined) info.input = input;
    opts.onCommand?.(info);
    if (!ok) {
      const reason = result.timedOut
        ? `timed out after ${timeout} ms`
        : firstErrorLine(String(result.stderr ?? '')) || (result.shortMessage ?? `exit code ${String(result.exitCode)}`);
      throw new TsnetError('TSNET_FIREWALL', `${what}: ${reason}`, {
        details: { argv: full, stderr: String(result.stderr ?? ''), ...(input !== undefined ? { input } : {}) },
      });
    }
    return String(result.stdout ?? '');
  };

  return {
    async restore(family, script, what) {
      await run([bins.restore[family], '--noflush', `--wait=${wait}`], script, what);
    },
    async save(family, what) {
      return run([bins.save[family]], undefined, what);
    },
  };
}
