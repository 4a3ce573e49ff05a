/**
 * Errors of the CLI. Each carries the exit code the process ends with; main prints
 * `tsnet: <message>` (one line) for every one that has a message.
 *
 * Exit codes follow the docker CLI: 125 when tsnet itself failed (usage error, daemon
 * error, daemon unreachable), 126 when the container command cannot be executed, 127
 * when it cannot be found, 1 when some targets of a multi-target command failed.
 */

export class CliError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 125) {
    super(message);
    this.name = 'CliError';
    this.exitCode = exitCode;
  }
}

/** Bad flags, arguments or flag values: exit 125. */
export class UsageError extends CliError {
  constructor(message: string) {
    super(message, 125);
    this.name = 'UsageError';
  }
}

/** The daemon answered with HTTP status >= 400. */
export class ApiError extends CliError {
  readonly status: number;
  readonly code: string | undefined;
  constructor(status: number, message: string, code?: string) {
    super(message, 125);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }
}

/** The daemon socket could not be reached at all. */
export class DaemonUnreachableError extends CliError {
  constructor(message: string) {
    super(message, 125);
    this.name = 'DaemonUnreachableError';
  }
}

/** End the process with this code; nothing more to print (the command already did). */
export class ExitCode extends CliError {
  constructor(code: number) {
    super('', code);
    this.name = 'ExitCode';
  }
}

/** `invalid argument "VALUE" for "FLAG": REASON`, the one shape of every bad flag value. */
export function invalidArgument(value: string, flag: string, reason: string): UsageError {
  return new UsageError(`invalid argument ${JSON.stringify(value)} for ${JSON.stringify(flag)}: ${reason}`);
}

export function isNotFound(err: unknown): boolean {
  return err instanceof ApiError && err.status === 404;
}

/**
 * The exit code for a failure to start the user's command (run, start, exec), like docker:
 * 127 command not found, 126 not executable, otherwise the error's own code (125).
 */
export function startFailureExitCode(err: unknown): number {
  if (err instanceof ApiError) {
    if (err.code === 'TSNET_COMMAND_NOT_FOUND') return 127;
    if (err.code === 'TSNET_COMMAND_NOT_EXECUTABLE') return 126;
  }
  return err instanceof CliError ? err.exitCode : 125;
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
