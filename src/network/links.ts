/**
 * Legacy links (`HostConfig.Links`, `--link NAME:ALIAS` on the default bridge), with Docker's
 * semantics: the target must exist at create (a container sharing another's network leads to
 * that one; host mode is refused), must be running and on the default bridge at start; the
 * linking container then gets /etc/hosts entries (alias, hostname, name) and Docker's link
 * environment variables. On user-defined networks `HostConfig.Links` is ignored, as in Docker:
 * there links live on the endpoint (`EndpointsConfig.<net>.Links`) and are answered by the
 * embedded DNS (see embedded-dns.ts).
 */
import { TsnetError } from '../errors/index.js';
import type { NetworkedContainer as ContainerRecord } from './container-api.js';
import type { HostEntry } from './etc-entries.js';
import { parseLink } from './endpoint-settings.js';
import { linkEnv } from './link-env.js';

export type Lookup = (ref: string) => ContainerRecord | undefined;

/** Does this network mode take legacy links (default bridge, or none)? */
function legacyMode(mode: string | undefined): boolean {
  return !mode || mode === 'default' || mode === 'bridge' || mode === 'none';
}

/** Check HostConfig.Links at create and resolve the targets; nothing is made. */
export function planLegacyLinks(rec: ContainerRecord, lookup: Lookup): Array<{ id: string; alias: string }> | undefined {
  const given = rec.hostConfig.Links ?? [];
  if (given.length === 0) return undefined;
  const mode = rec.hostConfig.NetworkMode ?? 'default';
  if (mode === 'host')
    throw new TsnetError(
      'TSNET_NETWORK_MODE',
      'conflicting options: host type networking can not be used with links (links need the default bridge)',
    );
  if (mode.startsWith('container:'))
    throw new TsnetError(
      'TSNET_NETWORK_MODE',
      'conflicting options: container type network can not be used with links (link from the container that owns the network)',
    );
  const parsed = given.map(parseLink);
  if (!legacyMode(mode)) return undefined; // user-defined: only EndpointsConfig.<net>.Links count
  const out: Array<{ id: string; alias: string }> = [];
  for (const { name, alias } of parsed) {
    let target = lookup(name);
    if (!target)
      throw new TsnetError('TSNET_INVALID_ARGUMENT', `could not get container for ${name}: No such container: ${name}`);
    for (let hops = 0; target.network.mode === 'container' && hops < 16; hops++) {
      const next = lookup(target.network.sharedWith ?? '');
      if (!next)
        throw new TsnetError('TSNET_INVALID_ARGUMENT', `could not get container for ${name}: the container it shares is gone`);
      target = next;
    }
    if (target.network.mode === 'host')
      throw new TsnetError(
        'TSNET_NETWORK_MODE',
        `conflicting options: cannot link to ${target.name}: it uses host networking (links need the default bridge)`,
      );
    if (target.id === rec.id) throw new TsnetError('TSNET_INVALID_ARGUMENT', `cannot link ${name} to itself`);
    if (out.some((l) => l.alias === alias))
      throw new TsnetError('TSNET_INVALID_ARGUMENT', `conflicting links: the alias ${alias} is given twice`);
    out.push({ id: target.id, alias });
  }
  return out;
}

function bridgeEndpoint(rec: ContainerRecord) {
  return Object.values(rec.network.endpoints).find((e) => e.networkName === 'bridge');
}

/**
 * At start: /etc/hosts entries and environment variables of the container's legacy links.
 * Targets removed since create are skipped (Docker drops such links); a target that is not
 * running or not on the default bridge fails the start with one line.
 */
export function legacyLinkSetup(rec: ContainerRecord, lookup: Lookup): { hosts: HostEntry[]; env: string[] } {
  const hosts: HostEntry[] = [];
  const env: string[] = [];
  const own = bridgeEndpoint(rec);
  for (const link of rec.network.links ?? []) {
    const child = lookup(link.id);
    if (!child || child.id !== link.id) continue;
    const full = `/${rec.name}/${link.alias}`;
    if (child.state.Status !== 'running')
      throw new TsnetError(
        'TSNET_CONTAINER_NOT_RUNNING',
        `Cannot link to a non running container: /${child.name} AS ${full} (start ${child.name} first)`,
      );
    const ep = bridgeEndpoint(child);
    if (!ep)
      throw new TsnetError(
        'TSNET_NETWORK_MODE',
        `Cannot link to /${child.name}, as it does not belong to the default network (use a user-defined network and its DNS instead)`,
      );
    const names = [link.alias, child.config.Hostname, ...(link.alias !== child.name ? [child.name] : [])];
    const ip4 = ep.ipv4?.split('/')[0];
    const ip6 = ep.ipv6?.split('/')[0];
    if (ip4) hosts.push({ ip: ip4, names });
    if (ip6) hosts.push({ ip: ip6, names });
    if (own && ip4)
      env.push(
        ...linkEnv({
          name: full,
          childIp: ip4,
          childEnv: child.config.Env ?? [],
          exposedPorts: Object.keys(child.config.ExposedPorts ?? {}),
        }),
      );
  }
  return { hosts, env };
}

/** HostConfig.Links as Docker's inspect shows them: `/target:/parent/alias`, targets that still exist. */
export function inspectLinks(rec: ContainerRecord, lookup: Lookup): string[] | null {
  const out: string[] = [];
  for (const link of rec.network.links ?? []) {
    const child = lookup(link.id);
    if (child && child.id === link.id) out.push(`/${child.name}:/${rec.name}/${link.alias}`);
  }
  return out.length ? out : null;
}

/**
 * `rm --link PARENT/ALIAS` (DELETE /containers/PARENT/ALIAS?link=true): the parent loses that
 * link and its /etc/hosts entries (the variables of a running process stay, as in Docker).
 * Returns false when the parent has no such link.
 */
export function removeLegacyLink(parent: ContainerRecord, alias: string): boolean {
  const before = parent.network.links ?? [];
  const kept = before.filter((l) => l.alias !== alias);
  if (kept.length === before.length) return false;
  if (kept.length) parent.network.links = kept;
  else delete parent.network.links;
  if (parent.network.linkHosts) parent.network.linkHosts = parent.network.linkHosts.filter((h) => h.names[0] !== alias);
  const prefix = `${alias.toUpperCase().replaceAll('-', '_')}_`;
  if (parent.network.linkEnv) parent.network.linkEnv = parent.network.linkEnv.filter((e) => !e.startsWith(prefix));
  return true;
}

/** The container a link name `PARENT/ALIAS` stands for (Docker registers link names as names of the target). */
export function linkTargetOf(parent: ContainerRecord, alias: string): string | undefined {
  return parent.network.links?.find((l) => l.alias === alias)?.id;
}
