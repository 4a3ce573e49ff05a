/**
 * References to images in a registry, `NAME[:TAG|@DIGEST]` as Docker reads them:
 * `busybox` is `docker.io/library/busybox:latest`, `localhost:5000/x@sha256:…` names a
 * registry with a port and a manifest digest. Pure, no I/O.
 */
import { TsnetError } from '../../../errors/index.js';
import { parseReference } from '../reference.js';

export const DOCKER_HUB = 'docker.io';
const MANIFEST_DIGEST = /^sha256:[0-9a-f]{64}$/;

export interface RemoteReference {
  /** Registry as named: `docker.io`, `localhost:5000`, `registry.example.com`. */
  registry: string;
  /** Repository path on the registry: `library/busybox`, `team/app`. */
  repository: string;
  /** Familiar name (what image records show): `busybox`, `localhost:5000/app`. */
  name: string;
  tag?: string;
  /** `sha256:<hex>` of the manifest, when pulled by digest. */
  digest?: string;
}

function invalid(ref: string, why: string): TsnetError {
  return new TsnetError('TSNET_INVALID_ARGUMENT', `invalid reference format "${ref}": ${why}`);
}

/** Parse `NAME[:TAG][@DIGEST]`; without either the tag is `latest`. */
export function parseRemoteReference(ref: string): RemoteReference {
  if (typeof ref !== 'string' || ref === '') throw invalid(String(ref), 'empty reference');
  let rest = ref;
  let digest: string | undefined;
  const at = ref.indexOf('@');
  if (at !== -1) {
    digest = ref.slice(at + 1);
    rest = ref.slice(0, at);
    if (!MANIFEST_DIGEST.test(digest)) throw invalid(ref, `bad digest "${digest}" (expected sha256: and 64 hex digits)`);
  }
  const lastSlash = rest.lastIndexOf('/');
  const lastColon = rest.lastIndexOf(':');
  const hasTag = lastColon > lastSlash;
  const parsed = parseReference(rest);
  const { name } = parsed;
  const firstSlash = name.indexOf('/');
  const first = firstSlash === -1 ? '' : name.slice(0, firstSlash);
  const isDomain = first !== '' && (first.includes('.') || first.includes(':') || first === 'localhost');
  const registry = isDomain ? first : DOCKER_HUB;
  let repository = isDomain ? name.slice(firstSlash + 1) : name;
  if (registry === DOCKER_HUB && !repository.includes('/')) repository = `library/${repository}`;
  const out: RemoteReference = { registry, repository, name };
  if (hasTag || digest === undefined) out.tag = parsed.tag;
  if (digest !== undefined) out.digest = digest;
  return out;
}

/** `name:tag`, `name@digest` or `name:tag@digest`, in familiar form. */
export function formatRemoteReference(r: RemoteReference): string {
  return `${r.name}${r.tag !== undefined ? `:${r.tag}` : ''}${r.digest !== undefined ? `@${r.digest}` : ''}`;
}

/**
 * The host to talk to for a registry name: Docker Hub's API lives on registry-1.docker.io.
 * Server addresses as `docker login` writes them (`https://index.docker.io/v1/`) are accepted.
 */
export function registryHost(registry: string): string {
  const bare = registry.replace(/^[a-z]+:\/\//, '').replace(/\/.*$/, '');
  if (bare === DOCKER_HUB || bare === 'index.docker.io' || bare === 'registry-1.docker.io') return 'registry-1.docker.io';
  return bare;
}

/** The registry name a server address stands for (`https://index.docker.io/v1/` → docker.io). */
export function registryName(server: string): string {
  const host = registryHost(server);
  return host === 'registry-1.docker.io' ? DOCKER_HUB : host;
}
