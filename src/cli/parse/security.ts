/**
 * `--device HOST[:CONTAINER][:PERMISSIONS]` and `--security-opt` as the docker CLI parses them:
 * a seccomp profile given as a file is read here and sent as JSON text (the daemon never opens
 * the client's files).
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

export interface DeviceMapping {
  PathOnHost: string;
  PathInContainer: string;
  CgroupPermissions: string;
}

const PERMS = /^[rwm]{1,3}$/;

export function parseDevice(spec: string): DeviceMapping {
  const parts = spec.split(':');
  if (parts.length > 3 || parts.some((p) => p === '')) throw new Error('use HOST-PATH[:CONTAINER-PATH][:rwm]');
  const [host, second, third] = parts as [string, string?, string?];
  let ctr = host;
  let perms = 'rwm';
  if (third !== undefined) {
    ctr = second!;
    perms = third;
  } else if (second !== undefined) {
    if (PERMS.test(second)) perms = second;
    else ctr = second;
  }
  if (!host.startsWith('/')) throw new Error(`host path ${JSON.stringify(host)} is not absolute`);
  if (!ctr.startsWith('/')) throw new Error(`container path ${JSON.stringify(ctr)} is not absolute`);
  if (!PERMS.test(perms) || new Set(perms).size !== perms.length)
    throw new Error(`permissions ${JSON.stringify(perms)}: use a combination of r, w and m`);
  return { PathOnHost: host, PathInContainer: ctr, CgroupPermissions: perms };
}

/** `seccomp=<file>` becomes `seccomp=<compact JSON>`; everything else is passed as given. */
export function parseSecurityOpt(opt: string, cwd: string): string {
  const m = /^seccomp[=:](.*)$/s.exec(opt);
  if (!m || m[1] === 'unconfined' || m[1] === 'builtin') return opt;
  const file = m[1]!;
  if (file === '') throw new Error('seccomp needs "unconfined" or a profile file');
  let text: string;
  try {
    text = readFileSync(resolve(cwd, file), 'utf8');
  } catch (err) {
    throw new Error(`opening seccomp profile (${file}) failed: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  try {
    return `seccomp=${JSON.stringify(JSON.parse(text))}`;
  } catch (err) {
    throw new Error(`seccomp profile ${file} is not JSON: ${(err as Error).message}`);
  }
}
