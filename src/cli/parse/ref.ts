import { UsageError } from '../errors.js';

/** `NAME[:TAG]` → repo and tag. A colon before the last `/` belongs to a registry host:port. */
export function splitRepoTag(ref: string): { repo: string; tag: string | undefined } {
  const colon = ref.lastIndexOf(':');
  if (colon > ref.lastIndexOf('/')) {
    const tag = ref.slice(colon + 1);
    const repo = ref.slice(0, colon);
    if (repo === '' || tag === '') throw new Error(`invalid reference format: ${JSON.stringify(ref)}`);
    return { repo, tag };
  }
  if (ref === '') throw new Error('invalid reference format: empty name');
  return { repo: ref, tag: undefined };
}

/** A `NAME[:TAG]` argument (commit, import) as the query's repo and tag; a bad one is a usage error. */
export function repoTagArg(ref: string | undefined): { repo: string | undefined; tag: string | undefined } {
  if (ref === undefined) return { repo: undefined, tag: undefined };
  try {
    return splitRepoTag(ref);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}
