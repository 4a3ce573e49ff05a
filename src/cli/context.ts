/**
 * What every command gets: the API client for the daemon chosen by -H / TSNET_HOST, the
 * process streams and environment. Built only when a command runs (not for --help).
 * The std streams are made on first use (output.ts: each costs milliseconds of start-up);
 * print() and error() write to the fd directly until then.
 *
 * A command never reaches for `process` itself: its streams, environment, directory, signal
 * handlers and exit hooks all come from here, so the daemon's CLI host (serve/host.ts) can run
 * several command lines at once in one process, each with its client's (ContextIo).
 */
import { ApiClient, DEFAULT_HOST, parseHost } from './api-client.js';
import { flush, stdoutStream, writeFd } from './output.js';
import { clientVersion } from './version.js';

export type SignalHandler = (signal: NodeJS.Signals) => void;

export interface Context {
  client: ApiClient;
  readonly stdin: NodeJS.ReadStream;
  readonly stdout: NodeJS.WriteStream;
  readonly stderr: NodeJS.WriteStream;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Write a line to stdout. */
  print(line: string): void;
  /** Write `tsnet: <message>` to stderr (a failure that does not stop the command). */
  error(message: string): void;
  /** Resolve once the output written through the streams is out. */
  drain(): Promise<void>;
  /** Call `handler` when one of `signals` reaches the command (it then does not end it); returns the remover. */
  onSignal(signals: readonly NodeJS.Signals[], handler: SignalHandler): () => void;
  /** Call `fn` when the command's process ends, however it ends; returns the remover. */
  onExit(fn: () => void): () => void;
}

export function resolveHost(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  if (flag !== undefined && flag !== '') return flag;
  const fromEnv = env.TSNET_HOST;
  return fromEnv !== undefined && fromEnv !== '' ? fromEnv : DEFAULT_HOST;
}

/**
 * Streams and process state to use instead of the process's: the snapshot's warm-up gives sinks
 * for stdout and stderr only; the daemon's CLI host gives everything (its client's).
 */
export interface ContextIo {
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  stdin?: NodeJS.ReadStream;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** The daemon to talk to whatever -H and TSNET_HOST say (the host: the daemon's own API socket). */
  host?: string;
  onSignal?: Context['onSignal'];
  onExit?: Context['onExit'];
  /** Told of the API client once made (the host closes its connections when the session ends). */
  adoptClient?: (client: ApiClient) => void;
}

const processSignals: Context['onSignal'] = (signals, handler) => {
  for (const s of signals) process.on(s, handler);
  return () => {
    for (const s of signals) process.removeListener(s, handler);
  };
};

const processExit: Context['onExit'] = (fn) => {
  process.on('exit', fn);
  return () => {
    process.removeListener('exit', fn);
  };
};

export function ioEnv(io: ContextIo | undefined): NodeJS.ProcessEnv {
  return io?.env ?? process.env;
}

export function createContext(host: string | undefined, io?: ContextIo): Context {
  const env = ioEnv(io);
  const address = parseHost(io?.host ?? resolveHost(host, env));
  const client = new ApiClient(address, `tsnet-cli/${clientVersion()}`);
  io?.adoptClient?.(client);
  let out: NodeJS.WriteStream | undefined = io?.stdout;
  let err: NodeJS.WriteStream | undefined = io?.stderr;
  const stdout = (): NodeJS.WriteStream => {
    out ??= stdoutStream();
    return out;
  };
  const stderr = (): NodeJS.WriteStream => {
    err ??= process.stderr;
    return err;
  };
  const stdin = io?.stdin;
  return {
    client,
    get stdin() {
      return stdin ?? process.stdin;
    },
    get stdout() {
      return stdout();
    },
    get stderr() {
      return stderr();
    },
    env,
    cwd: io?.cwd ?? process.cwd(),
    print: (line) => {
      if (out) out.write(`${line}\n`);
      else writeFd(1, `${line}\n`, stdout);
    },
    error: (message) => {
      if (err) err.write(`tsnet: ${message}\n`);
      else writeFd(2, `tsnet: ${message}\n`, stderr);
    },
    drain: async () => {
      await Promise.all([out && flush(out), err && flush(err)]);
    },
    onSignal: io?.onSignal ?? processSignals,
    onExit: io?.onExit ?? processExit,
  };
}
