/**
 * A container's log configuration (`HostConfig.LogConfig`), Docker's shape: the supervisor
 * writes one log file whichever of Docker's file drivers is named, so `json-file` (the
 * default, what Docker clients expect: the Python SDK reads output back only for json-file
 * and journald) and `local` are accepted, with `max-size` / `max-file` rotation done by the
 * supervisor. `none` keeps no log (any options are ignored, as Docker does). Docker's other
 * drivers are refused with one line; a name Docker does not know gets Docker's words. Pure.
 */
import { TsnetError } from '../../errors/index.js';

export const DEFAULT_LOG_DRIVER = 'json-file';
const DRIVERS = new Set(['json-file', 'local']);
/** Docker's built-in drivers that ship logs elsewhere: tsnet has none of them. */
const ELSEWHERE = new Set(['syslog', 'journald', 'gelf', 'fluentd', 'awslogs', 'splunk', 'etwlogs', 'gcplogs', 'logentries']);
/** Options Docker's file drivers take that change nothing in the file (labels/env: what `logs --details` shows, log-details.ts). */
const IGNORED = new Set(['labels', 'labels-regex', 'env', 'env-regex', 'tag', 'mode', 'max-buffer-size']);
/** Docker's local driver defaults: 20 MB, 5 files. */
const LOCAL_DEFAULTS = { 'max-size': '20m', 'max-file': '5' };

export interface LogConfig {
  Type: string;
  Config: Record<string, string>;
}

export interface LogRotation {
  maxSize?: number;
  maxFiles?: number;
}

const UNITS: Record<string, number> = { k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

function bad(message: string): TsnetError {
  return new TsnetError('TSNET_INVALID_ARGUMENT', message);
}

/** `10m`, `512k`, `1g`, `100` (bytes), binary units as Docker's RAMInBytes. */
function parseSize(v: string): number {
  const m = /^(\d+(?:\.\d+)?) ?(?:([kmgt])(?:b|ib)?|b)?$/i.exec(v.trim());
  const bytes = m ? Math.trunc(Number(m[1]) * (m[2] ? UNITS[m[2].toLowerCase()]! : 1)) : Number.NaN;
  if (!Number.isSafeInteger(bytes) || bytes <= 0) throw bad(`invalid log opt max-size "${v}": use a size like 10m`);
  return bytes;
}

/** Validate and complete a LogConfig from a create request; absent means json-file. */
export function normalizeLogConfig(raw: unknown): LogConfig {
  if (raw === undefined || raw === null) return { Type: DEFAULT_LOG_DRIVER, Config: {} };
  if (typeof raw !== 'object' || Array.isArray(raw)) throw bad('HostConfig.LogConfig must be an object');
  const r = raw as { Type?: unknown; Config?: unknown };
  const type = r.Type === undefined || r.Type === '' ? DEFAULT_LOG_DRIVER : r.Type;
  if (typeof type !== 'string') throw bad('HostConfig.LogConfig.Type must be a string');
  const config: Record<string, string> = {};
  if (r.Config !== undefined && r.Config !== null) {
    if (typeof r.Config !== 'object' || Array.isArray(r.Config)) throw bad('HostConfig.LogConfig.Config must be an object');
    for (const [k, v] of Object.entries(r.Config)) {
      if (typeof v !== 'string') throw bad(`log opt ${k} must be a string`);
      config[k] = v;
    }
  }
  if (type === 'none') return { Type: type, Config: config };
  const mode = config.mode ?? '';
  if (mode !== '' && mode !== 'blocking' && mode !== 'non-blocking') throw bad(`logger: logging mode not supported: ${mode}`);
  if (config['max-buffer-size'] !== undefined && mode !== 'non-blocking')
    throw bad("logger: max-buffer-size option is only supported with 'mode=non-blocking'");
  if (ELSEWHERE.has(type))
    throw bad(`log driver "${type}" is not supported: tsnet keeps container logs in files (use json-file, local or none)`);
  if (!DRIVERS.has(type)) throw bad(`logger: no log driver named '${type.slice(0, 64)}' is registered`);
  for (const k of Object.keys(config)) {
    if (k !== 'max-size' && k !== 'max-file' && k !== 'compress' && !IGNORED.has(k))
      throw bad(`unknown log opt '${k.slice(0, 64)}' for ${type} log driver`);
  }
  if (config.compress !== undefined && config.compress !== 'false') {
    throw bad('log opt compress is not supported: rotated logs are kept uncompressed (compress=false)');
  }
  const cfg = { Type: type, Config: type === 'local' ? { ...LOCAL_DEFAULTS, ...config } : config };
  logRotation(cfg); // validates the values
  return cfg;
}

/** Does this configuration keep a log that `logs` and `attach --logs` can read? */
export function keepsLog(cfg: LogConfig | undefined): boolean {
  return cfg?.Type !== 'none';
}

/**
 * max-size in bytes and max-file (files kept, the live one included). As Docker's json-file,
 * max-file without max-size is accepted and changes nothing: a file with no size limit never
 * rotates.
 */
export function logRotation(cfg: LogConfig | undefined): LogRotation {
  const c = cfg?.Config ?? {};
  const out: LogRotation = {};
  const size = c['max-size'];
  if (size !== undefined && size !== '' && size !== '-1') out.maxSize = parseSize(size);
  const files = c['max-file'];
  if (files !== undefined && files !== '') {
    if (!/^\d+$/.test(files) || Number(files) < 1 || Number(files) > 1000) {
      throw bad(`invalid log opt max-file "${files}": a number from 1 to 1000`);
    }
    if (out.maxSize !== undefined) out.maxFiles = Number(files);
  }
  return out;
}
