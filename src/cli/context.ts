/**
 * What every command gets: the API client for the daemon chosen by -H / TSNET_HOST, the
 * process streams and environment. Built only when a command runs (not for --help).
 */
import { ApiClient, DEFAULT_HOST, parseHost } from './api-client.js';
import { clientVersion } from './version.js';

export interface Context {
  client: ApiClient;
  stdin: NodeJS.ReadStream;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Write a line to stdout. */
  print(line: string): void;
  /** Write `tsnet: <message>` to stderr (a failure that does not stop the command). */
  error(message: string): void;
}

export function resolveHost(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  if (flag !== undefined && flag !== '') return flag;
  const fromEnv = env.TSNET_HOST;
  return fromEnv !== undefined && fromEnv !== '' ? fromEnv : DEFAULT_HOST;
}

export function createContext(host: string | undefined): Context {
  const address = parseHost(resolveHost(host, process.env));
  const client = new ApiClient(address, `tsnet-cli/${clientVersion()}`);
  return {
    client,
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    cwd: process.cwd(),
    print: (line) => {
      process.stdout.write(`${line}\n`);
    },
    error: (message) => {
      process.stderr.write(`tsnet: ${message}\n`);
    },
  };
}
