import { ERROR_CODES, HTTP_STATUS, type ErrorCategory, type ErrorCode } from './codes.js';

/** The one error class of tsnet: a stable code, a category, one clear line of message. */
export class TsnetError extends Error {
  readonly code: ErrorCode;
  readonly category: ErrorCategory;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TsnetError';
    this.code = code;
    this.category = ERROR_CODES[code];
    this.details = options.details;
  }

  get httpStatus(): number {
    return HTTP_STATUS[this.category];
  }
}

export function isTsnetError(err: unknown, code?: ErrorCode): err is TsnetError {
  return err instanceof TsnetError && (code === undefined || err.code === code);
}

/** Wrap anything thrown into a TsnetError, keeping TsnetErrors as they are. */
export function asTsnetError(err: unknown, code: ErrorCode = 'TSNET_INTERNAL', context?: string): TsnetError {
  if (err instanceof TsnetError) return err;
  const text = err instanceof Error ? err.message : String(err);
  return new TsnetError(code, context ? `${context}: ${text}` : text, { cause: err });
}

/** Several failures collected while tearing down: teardown goes on past each one, then reports all. */
export class AggregateTsnetError extends TsnetError {
  readonly errors: unknown[];
  constructor(what: string, errors: unknown[]) {
    const lines = errors.map((e) => (e instanceof Error ? e.message : String(e)));
    super('TSNET_INTERNAL', `${what}: ${lines.join('; ')}`);
    this.errors = errors;
  }
}
