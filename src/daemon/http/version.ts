/**
 * The Engine API versions tsnet serves. Requests may name one with a `/vX.Y` prefix; without
 * one they get the newest. Where shapes differ between versions (container-wide vs per-endpoint
 * MacAddress, one vs several networks at create; before 1.45 a user network's Aliases in inspect
 * also hold the short id and hostname), the handler looks at `ctx.apiVersion`. 1.45's other
 * changes (VolumeOptions.Subpath, image search's is-automated, no Container/ContainerConfig in
 * image inspect) concern nothing tsnet serves differently.
 */
export const API_VERSION = '1.45';
export const MIN_API_VERSION = '1.24';

/** Docker's versions.LessThan: numeric, part by part ("1.9" < "1.10"). */
export function versionLess(a: string, b: string): boolean {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i] ?? 0;
    const y = pb[i] ?? 0;
    if (x !== y) return x < y;
  }
  return false;
}
