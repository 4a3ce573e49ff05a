export { TsnetError, AggregateTsnetError, isTsnetError, asTsnetError } from './tsnet-error.js';
export { ERROR_CODES, HTTP_STATUS, type ErrorCode, type ErrorCategory } from './codes.js';
