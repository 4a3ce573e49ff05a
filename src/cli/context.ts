/**
 * What every command gets: the API client for the daemon chosen by -H / TSNET_HOST, the
 * process streams and environment. Built only when a command runs (not for --help).
 * The std streams are made on first use (output.ts: each costs milliseconds of start-up);
 * print() and error() write to the fd directly until then.
 */
import { ApiClient, DEFAULT_HOST, parseHost } from './api-client.js';
import { flush, stdoutStream, writeFd } from './output.js';
import { clientVersion } from './version.js';

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
}

export function resolveHost(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  if (flag !== undefined && flag !== '') return flag;
  const fromEnv = env.TSNET_HOST;
  return fromEnv !== undefined && fromEnv !== '' ? fromEnv : DEFAULT_HOST;
}

/** Streams to use instead of the process's (the snapshot's warm-up writes to none of those). */
export interface ContextIo {
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
}

export function createContext(host: string | undefined, io?: ContextIo): Context {
  const address = parseHost(resolveHost(host, process.env));
  const client = new ApiClient(address, `tsnet-cli/${clientVersion()}`);
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
  return {
    client,
    get stdin() {
      return process.stdin;
    },
    get stdout() {
      return stdout();
    },
    get stderr() {
      return stderr();
    },
    env: process.env,
    cwd: process.cwd(),
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
  };
}
