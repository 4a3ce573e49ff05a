/**
 * Legacy links (`HostConfig.Links`, `--link NAME:ALIAS` on the default bridge), with Docker's
 * semantics: the target must exist at create (a container sharing another's network leads to
 * that one; host mode is refused), must be running and on the default bridge at start; the
 * linking container then gets /etc/hosts entries (alias, hostname, name) and Docker's link
 * environment variables. They are kept in the linking container's sandbox record. On
 * user-defined networks `HostConfig.Links` is ignored, as in Docker: there links live on the
 * endpoint (`EndpointsConfig.<net>.Links`) and are answered by the embedded DNS (see
 * embedded-dns.ts).
 */
import { TsnetError } from '../errors/index.js';
import type { ContainerLookup, SandboxRequest } from './container-api.js';
import type { HostEntry } from './etc-entries.js';
import { parseLink } from './endpoint-settings.js';
import { linkEnv } from './link-env.js';
import type { EndpointRecord, SandboxRecord } from './sandbox-record.js';

/** What the link rules read of the network layer's records. */
export interface LinkContext {
  containers: ContainerLookup;
  sandbox(id: string): SandboxRecord | undefined;
  /** Is the sandbox's container running (its external connectivity programmed)? */
  isActive(id: string): boolean;
  /** The sandbox's endpoint on the default bridge. */
  bridgeEndpoint(sandboxId: string): EndpointRecord | undefined;
}

/** Does this network mode take legacy links (default bridge, or none)? */
function legacyMode(mode: string | undefined): boolean {
  return !mode || mode === 'default' || mode === 'bridge' || mode === 'none';
}

/** Check HostConfig.Links at create and resolve the targets; nothing is made. */
export function planLegacyLinks(req: SandboxRequest, ctx: LinkContext): Array<{ id: string; alias: string }> | undefined {
  const given = req.links ?? [];
  if (given.length === 0) return undefined;
  const mode = req.networkMode ?? 'default';
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
    const ref = ctx.containers(name);
    if (!ref) throw new TsnetError('TSNET_INVALID_ARGUMENT', `could not get container for ${name}: No such container: ${name}`);
    // a container sharing another's network leads to the one that owns it
    let target = ctx.sandbox(ref.sandboxId);
    for (let hops = 0; target?.mode === 'container' && hops < 16; hops++) target = ctx.sandbox(target.sharedWith ?? '');
    if (!target || target.mode === 'container')
      throw new TsnetError('TSNET_INVALID_ARGUMENT', `could not get container for ${name}: the container it shares is gone`);
    if (target.mode === 'host')
      throw new TsnetError(
        'TSNET_NETWORK_MODE',
        `conflicting options: cannot link to ${target.containerName}: it uses host networking (links need the default bridge)`,
      );
    if (target.containerId === req.containerId) throw new TsnetError('TSNET_INVALID_ARGUMENT', `cannot link ${name} to itself`);
    if (out.some((l) => l.alias === alias))
      throw new TsnetError('TSNET_INVALID_ARGUMENT', `conflicting links: the alias ${alias} is given twice`);
    out.push({ id: target.containerId, alias });
  }
  return out;
}

/**
 * At start: /etc/hosts entries and environment variables of the sandbox's legacy links.
 * Targets removed since create are skipped (Docker drops such links); a target that is not
 * running or not on the default bridge fails the start with one line.
 */
export function legacyLinkSetup(sb: SandboxRecord, ctx: LinkContext): { hosts: HostEntry[]; env: string[] } {
  const hosts: HostEntry[] = [];
  const env: string[] = [];
  const own = ctx.bridgeEndpoint(sb.id);
  for (const link of sb.links ?? []) {
    const ref = ctx.containers(link.id);
    const child = ref && ref.id === link.id ? ctx.sandbox(ref.sandboxId) : undefined;
    if (!ref || !child) continue;
    const full = `/${sb.containerName}/${link.alias}`;
    if (!ctx.isActive(child.id))
      throw new TsnetError(
        'TSNET_CONTAINER_NOT_RUNNING',
        `Cannot link to a non running container: /${ref.name} AS ${full} (start ${ref.name} first)`,
      );
    const ep = ctx.bridgeEndpoint(child.id);
    if (!ep)
      throw new TsnetError(
        'TSNET_NETWORK_MODE',
        `Cannot link to /${ref.name}, as it does not belong to the default network (use a user-defined network and its DNS instead)`,
      );
    const names = [link.alias, child.options.hostname, ...(link.alias !== ref.name ? [ref.name] : [])];
    const ip4 = ep.ipv4?.split('/')[0];
    const ip6 = ep.ipv6?.split('/')[0];
    if (ip4) hosts.push({ ip: ip4, names });
    if (ip6) hosts.push({ ip: ip6, names });
    if (own && ip4)
      env.push(
        ...linkEnv({
          name: full,
          childIp: ip4,
          childEnv: ref.env ?? [],
          exposedPorts: Object.keys(child.options.exposedPorts ?? {}),
        }),
      );
  }
  return { hosts, env };
}

/** HostConfig.Links as Docker's inspect shows them: `/target:/parent/alias`, targets that still exist. */
export function inspectLinks(
  parentName: string,
  links: ReadonlyArray<{ id: string; alias: string }> | undefined,
  lookup: (ref: string) => { id: string; name: string } | undefined,
): string[] | null {
  const out: string[] = [];
  for (const link of links ?? []) {
    const child = lookup(link.id);
    if (child && child.id === link.id) out.push(`/${child.name}:/${parentName}/${link.alias}`);
  }
  return out.length ? out : null;
}

/**
 * `rm --link PARENT/ALIAS`: the parent's sandbox record loses that link and its /etc/hosts
 * entries (the variables of a running process stay, as in Docker). Returns false when the
 * parent has no such link. The caller saves the record.
 */
export function removeLegacyLink(sb: SandboxRecord, alias: string): boolean {
  const before = sb.links ?? [];
  const kept = before.filter((l) => l.alias !== alias);
  if (kept.length === before.length) return false;
  if (kept.length) sb.links = kept;
  else delete sb.links;
  if (sb.linkHosts) sb.linkHosts = sb.linkHosts.filter((h) => h.names[0] !== alias);
  const prefix = `${alias.toUpperCase().replaceAll('-', '_')}_`;
  if (sb.linkEnv) sb.linkEnv = sb.linkEnv.filter((e) => !e.startsWith(prefix));
  return true;
}
