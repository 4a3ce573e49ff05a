/**
 * Image references the way Docker spells them: `busybox` means `busybox:latest`,
 * `localhost:5000/x:1` has a registry with a port, `docker.io/library/busybox` is shown
 * (and stored) in its familiar form `busybox`. Pure functions, no I/O.
 */
import { TsnetError } from '../../errors/index.js';

export interface ParsedReference {
  /** Familiar repository name: `busybox`, `foo/bar`, `localhost:5000/x`. */
  name: string;
  tag: string;
}

const TAG = /^[\w][\w.-]{0,127}$/;
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DOMAIN =
  /^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*(?::[0-9]+)?$/;
const IPV6_DOMAIN = /^\[[0-9a-fA-F:]+\](?::[0-9]+)?$/;
const HEX64 = /^[0-9a-f]{64}$/;
const MAX_NAME = 255;

function invalid(ref: string, why: string): TsnetError {
  return new TsnetError('TSNET_INVALID_ARGUMENT', `invalid reference format "${ref}": ${why}`);
}

/** Whether the first path component of a name is a registry host (Docker's rule). */
function isDomain(first: string): boolean {
  return first.includes('.') || first.includes(':') || first === 'localhost' || first.toLowerCase() !== first;
}

/**
 * Parse `name[:tag]` into a familiar name and a tag (default `latest`).
 * Throws TSNET_INVALID_ARGUMENT for anything Docker would not accept as a tag reference.
 */
export function parseReference(ref: string): ParsedReference {
  if (typeof ref !== 'string' || ref === '') throw invalid(String(ref), 'empty reference');
  if (ref.includes('@')) throw invalid(ref, 'digest references are not supported, use name:tag or an image id');
  const lastSlash = ref.lastIndexOf('/');
  const lastColon = ref.lastIndexOf(':');
  let name = ref;
  let tag = 'latest';
  if (lastColon > lastSlash) {
    name = ref.slice(0, lastColon);
    tag = ref.slice(lastColon + 1);
    if (!TAG.test(tag)) throw invalid(ref, `bad tag "${tag}"`);
  }
  const parts = name.split('/');
  let domain: string | undefined;
  if (parts.length > 1 && isDomain(parts[0]!)) {
    domain = parts.shift()!;
    if (!DOMAIN.test(domain) && !IPV6_DOMAIN.test(domain)) throw invalid(ref, `bad registry host "${domain}"`);
  }
  if (parts.length === 0) throw invalid(ref, 'missing repository name');
  for (const p of parts) {
    if (!PATH_COMPONENT.test(p)) {
      throw invalid(ref, p.toLowerCase() !== p ? 'repository name must be lowercase' : `bad name component "${p}"`);
    }
  }
  // Familiar form: docker.io/library/busybox and library/busybox are both `busybox`.
  if (domain === 'index.docker.io') domain = 'docker.io';
  if ((domain === undefined || domain === 'docker.io') && parts.length === 2 && parts[0] === 'library') parts.shift();
  if (domain === 'docker.io') domain = undefined;
  const familiar = domain === undefined ? parts.join('/') : `${domain}/${parts.join('/')}`;
  if (familiar.length > MAX_NAME) throw invalid(ref, `repository name longer than ${MAX_NAME} characters`);
  if (HEX64.test(familiar))
    throw invalid(ref, 'a repository name cannot be a 64-character hexadecimal string (that is an image id)');
  return { name: familiar, tag };
}

/** `name:tag` in familiar form; the canonical spelling of a tag in image records. */
export function normalizeRepoTag(ref: string): string {
  const { name, tag } = parseReference(ref);
  return `${name}:${tag}`;
}

/** The repository part of a normalized `name:tag`. */
export function repositoryOf(repoTag: string): string {
  const slash = repoTag.lastIndexOf('/');
  const colon = repoTag.lastIndexOf(':');
  return colon > slash ? repoTag.slice(0, colon) : repoTag;
}

/** `sha256:<64 hex>` */
export function isFullImageId(ref: string): boolean {
  return ref.startsWith('sha256:') && HEX64.test(ref.slice(7));
}

/**
 * The hex prefix a reference stands for if it can be an image id or id prefix
 * (`3f2a`, `sha256:3f2a…`), else undefined.
 */
export function idPrefixOf(ref: string): string | undefined {
  const hex = ref.startsWith('sha256:') ? ref.slice(7) : ref;
  return /^[0-9a-f]{1,64}$/.test(hex) ? hex : undefined;
}

/** The 12-character short form Docker shows. */
export function shortId(id: string): string {
  return (id.startsWith('sha256:') ? id.slice(7) : id).slice(0, 12);
}
