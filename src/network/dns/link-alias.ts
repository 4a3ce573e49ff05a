/**
 * Links on user-defined networks (`EndpointsConfig.<net>.Links`, `--link NAME:ALIAS` with
 * `--network <user net>`): ALIAS (or ALIAS.<network>) asked by the linking container resolves as
 * NAME on that network, as libnetwork's per-endpoint aliases do. The target need not exist when
 * the link is made; it is looked up at query time. Pure.
 */
import type { EndpointState } from '../container-api.js';

/** The network and target name a link alias of the asking container points to, if `q` is one. */
export function linkAliasTarget(endpoints: EndpointState[], q: string): { networkId: string; target: string } | undefined {
  for (const ep of endpoints) {
    for (const spec of ep.links ?? []) {
      const parts = spec.split(':');
      const target = (parts[0] ?? '').replace(/^\//, '').toLowerCase();
      const aliasPart = parts[1] ?? parts[0] ?? '';
      const alias = aliasPart.slice(aliasPart.lastIndexOf('/') + 1).toLowerCase();
      if (!target || !alias) continue;
      if (q === alias || q === `${alias}.${ep.networkName.toLowerCase()}`) return { networkId: ep.networkId, target };
    }
  }
  return undefined;
}
