/**
 * Image config JSON (the document whose sha256 is the image id): parsing the parts tsnet
 * keeps, and the host platform. Pure, no I/O.
 */
import { TsnetError } from '../../errors/index.js';
import type { ImageConfig, ImageHistory } from './types.js';

export const DIGEST = /^sha256:[0-9a-f]{64}$/;

export interface ParsedConfig {
  created?: string;
  architecture: string;
  os: string;
  config: ImageConfig;
  diffIds: string[];
  history?: ImageHistory[];
}

const MAX_HISTORY = 1000;
const MAX_HISTORY_TEXT = 64 * 1024;

/** The config's `history` steps, what `docker history` shows; malformed steps are skipped. */
export function pickHistory(raw: unknown): ImageHistory[] | undefined {
  if (!Array.isArray(raw)) return undefined;
  const out: ImageHistory[] = [];
  for (const h of raw.slice(0, MAX_HISTORY)) {
    if (!isObject(h)) continue;
    const step: ImageHistory = {};
    for (const k of ['created', 'created_by', 'author', 'comment'] as const) {
      const v = h[k];
      if (typeof v === 'string') step[k] = v.slice(0, MAX_HISTORY_TEXT);
    }
    if (h.empty_layer === true) step.empty_layer = true;
    out.push(step);
  }
  return out;
}

/** Node's process.arch as Go/OCI spell architectures. */
export function hostArchitecture(arch: string = process.arch): string {
  const map: Record<string, string> = {
    x64: 'amd64',
    ia32: '386',
    arm64: 'arm64',
    arm: 'arm',
    ppc64: 'ppc64le',
    s390x: 's390x',
    riscv64: 'riscv64',
    loong64: 'loong64',
  };
  return map[arch] ?? arch;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function stringArray(v: unknown): string[] | undefined {
  return Array.isArray(v) && v.every((s) => typeof s === 'string') ? [...(v as string[])] : undefined;
}

function stringRecord(v: unknown): Record<string, string> | undefined {
  if (!isObject(v)) return undefined;
  const out: Record<string, string> = {};
  for (const [k, s] of Object.entries(v)) if (typeof s === 'string') out[k] = s;
  return out;
}

/** The runtime config fields tsnet uses, copied only when they have the right type. */
export function pickConfig(raw: unknown): ImageConfig {
  if (!isObject(raw)) return {};
  const out: ImageConfig = {};
  const env = stringArray(raw.Env);
  if (env) out.Env = env;
  const cmd = stringArray(raw.Cmd);
  if (cmd) out.Cmd = cmd;
  const entrypoint = stringArray(raw.Entrypoint);
  if (entrypoint) out.Entrypoint = entrypoint;
  if (typeof raw.WorkingDir === 'string' && raw.WorkingDir !== '') out.WorkingDir = raw.WorkingDir;
  if (typeof raw.User === 'string' && raw.User !== '') out.User = raw.User;
  if (isObject(raw.ExposedPorts)) {
    const ports: Record<string, object> = {};
    for (const k of Object.keys(raw.ExposedPorts)) ports[k] = {};
    out.ExposedPorts = ports;
  }
  const labels = stringRecord(raw.Labels);
  if (labels) out.Labels = labels;
  if (isObject(raw.Healthcheck)) {
    const h = raw.Healthcheck;
    const test = stringArray(h.Test);
    const hc: NonNullable<ImageConfig['Healthcheck']> = test ? { Test: test } : {};
    for (const k of ['Interval', 'Timeout', 'Retries', 'StartPeriod', 'StartInterval'] as const) {
      const v = h[k];
      if (typeof v === 'number' && Number.isInteger(v) && v > 0) hc[k] = v;
    }
    out.Healthcheck = hc;
  }
  if (isObject(raw.Volumes)) {
    const vols: Record<string, object> = {};
    // biome-ignore lint/suspicious/noControlCharactersInRegex: a destination reaches the spec file
    for (const k of Object.keys(raw.Volumes)) if (k.startsWith('/') && !/[\x00-\x1f]/.test(k)) vols[k] = {};
    out.Volumes = vols;
  }
  if (typeof raw.StopSignal === 'string' && /^[A-Z0-9+-]{1,32}$/.test(raw.StopSignal)) out.StopSignal = raw.StopSignal;
  return out;
}

/** Parse an image config document; `what` names it in errors. */
export function parseImageConfig(bytes: Buffer, what: string): ParsedConfig {
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new TsnetError('TSNET_IMAGE_INVALID', `invalid ${what}: not JSON (${(err as Error).message})`);
  }
  if (!isObject(doc)) throw new TsnetError('TSNET_IMAGE_INVALID', `invalid ${what}: not a JSON object`);
  const rootfs = doc.rootfs;
  if (!isObject(rootfs) || rootfs.type !== 'layers' || !Array.isArray(rootfs.diff_ids)) {
    throw new TsnetError('TSNET_IMAGE_INVALID', `invalid ${what}: no rootfs of type "layers" with diff_ids`);
  }
  const diffIds = rootfs.diff_ids as unknown[];
  for (const d of diffIds) {
    if (typeof d !== 'string' || !DIGEST.test(d)) {
      throw new TsnetError('TSNET_IMAGE_INVALID', `invalid ${what}: diff id ${JSON.stringify(d)} is not a sha256 digest`);
    }
  }
  const created = typeof doc.created === 'string' && !Number.isNaN(Date.parse(doc.created)) ? doc.created : undefined;
  const parsed: ParsedConfig = {
    architecture: typeof doc.architecture === 'string' && doc.architecture !== '' ? doc.architecture : hostArchitecture(),
    os: typeof doc.os === 'string' && doc.os !== '' ? doc.os : 'linux',
    config: pickConfig(doc.config),
    diffIds: diffIds as string[],
  };
  if (created !== undefined) parsed.created = created;
  const history = pickHistory(doc.history);
  if (history !== undefined) parsed.history = history;
  return parsed;
}
