/**
 * The kernel half of a remote Join/Leave — what dockerd does with a Join reply
 * (libnetwork sandbox_linux.go / osl/interface_linux.go), done with tsnet's kernel layer:
 *   join:  move SrcName from the daemon's netns into the sandbox (by netns fd), rename it to the
 *          controller's ifname, set MAC and addresses, bring it up, add the static routes;
 *   leave: take the interface out of the sandbox again — moved back into the daemon's netns
 *          under its SrcName (as Docker does, so a plugin can still delete it by name in
 *          DeleteEndpoint), or deleted when that is not possible.
 * Plain values in (names, CIDRs, files); no plugin calls here.
 */
import fs from 'node:fs';
import { TsnetError } from '../../../errors/index.js';
import { tryParseCidr } from '../../../lib/cidr.js';
import { Netlink } from '../../../kernel/netlink/index.js';
import type { Netns } from '../../../kernel/netns.js';
import type { Logger } from '../../../lib/logger.js';
import { errnoOf } from '../../../kernel/errno.js';

export interface KernelDeps {
  netns: Netns;
  /** rtnetlink socket in the daemon's own netns (where plugins create their interfaces). */
  hostNetlink: () => Netlink;
  /** A file naming the daemon's netns (default /proc/self/ns/net), to move interfaces back. */
  hostNetns?: string;
  logger: Logger;
}

export interface SandboxIfaceSpec {
  sandboxKey: string;
  srcName: string;
  ifname: string;
  mac?: string;
  address?: string;
  addressV6?: string;
  routes: Array<{ destination: string; connected: boolean; nextHop?: string }>;
}

/** Where an interface ended up: its name and ifindex in the sandbox. */
export interface PlacedIface {
  sandboxKey: string;
  ifname: string;
  index: number;
}

function withFd<T>(file: string, what: string, fn: (fd: number) => Promise<T>): Promise<T> {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (err) {
    throw new TsnetError('TSNET_NETNS', `${what}: open ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, {
      cause: err,
    });
  }
  return fn(fd).finally(() => fs.closeSync(fd));
}

/**
 * `fn` with the sandbox's netlink socket: the caller's (`own`, the Sandbox's one socket, left
 * open), or one opened in the sandbox and closed after `fn` when the caller has none.
 */
export async function inSandbox<T>(
  deps: KernelDeps,
  sandboxKey: string,
  fn: (nl: Netlink) => Promise<T>,
  own?: Netlink,
): Promise<T> {
  if (own) return fn(own);
  const nl = deps.netns.run(sandboxKey, () => Netlink.open());
  try {
    return await fn(nl);
  } finally {
    nl.close();
  }
}

/**
 * Move `srcName` into the sandbox. Resolves with the moved link's ifindex in the sandbox
 * (still named srcName there). Throws when srcName does not exist in the daemon's netns.
 */
export async function moveIn(
  deps: KernelDeps,
  plugin: string,
  sandboxKey: string,
  srcName: string,
  own?: Netlink,
): Promise<number> {
  const host = deps.hostNetlink();
  const link = await host.getLink(srcName);
  if (!link) {
    throw new TsnetError(
      'TSNET_PLUGIN_BAD_REPLY',
      `plugin "${plugin}": NetworkDriver.Join: the plugin named interface ${srcName} (SrcName), but there is no such interface in the daemon's network namespace`,
      {
        details: { plugin, srcName },
      },
    );
  }
  try {
    await withFd(sandboxKey, `move ${srcName} into ${sandboxKey}`, (fd) => host.moveToNetns(link.index, fd));
  } catch (err) {
    throw joinStepError(plugin, `InterfaceName.SrcName ${JSON.stringify(srcName)}`, 'cannot be moved into the sandbox', err);
  }
  return inSandbox(deps, sandboxKey, async (nl) => nl.indexOf(srcName), own);
}

/** A kernel step that failed on what the plugin's Join reply asked for: one line naming plugin, call and field. */
export function joinStepError(plugin: string, field: string, what: string, err: unknown): TsnetError {
  const errno = errnoOf(err) ?? (err instanceof Error ? err.message : String(err));
  return new TsnetError('TSNET_PLUGIN_BAD_REPLY', `plugin "${plugin}": NetworkDriver.Join: ${field} ${what} (${errno})`, {
    cause: err,
    details: { plugin, method: 'NetworkDriver.Join', field },
  });
}

/** Rename, MAC, addresses, up, routes — inside the sandbox, on the moved link. */
export async function configure(
  deps: KernelDeps,
  plugin: string,
  spec: SandboxIfaceSpec,
  index: number,
  own?: Netlink,
): Promise<void> {
  const src = `InterfaceName.SrcName ${JSON.stringify(spec.srcName)}`;
  const step = async (field: string, what: string, fn: () => Promise<unknown>): Promise<void> => {
    try {
      await fn();
    } catch (err) {
      throw joinStepError(plugin, field, what, err);
    }
  };
  await inSandbox(
    deps,
    spec.sandboxKey,
    async (nl) => {
      if (spec.ifname !== spec.srcName)
        await step(src, `cannot be renamed to ${spec.ifname}`, () => nl.rename(index, spec.ifname));
      if (spec.mac) await step(src, `cannot take MAC address ${spec.mac}`, () => nl.setMac(index, spec.mac!));
      if (spec.address) await step(src, `cannot take address ${spec.address}`, () => nl.addAddress(index, spec.address!));
      if (spec.addressV6)
        await step(src, `cannot take address ${spec.addressV6}`, () => nl.addAddress(index, spec.addressV6!, { noDad: true }));
      await step(src, 'cannot be brought up', () => nl.setUp(index));
      // Connected routes first: a next hop may only be reachable through one of them.
      for (const [i, r] of spec.routes.entries()) {
        if (!r.connected) continue;
        const fam = tryParseCidr(r.destination)!.family;
        await step(`StaticRoutes[${i}] ${r.destination}`, 'cannot be added as a connected route', () =>
          nl.addRoute({ dst: r.destination, dev: index, ...(fam === 4 ? { scope: 'link' as const } : {}) }),
        );
      }
      for (const [i, r] of spec.routes.entries()) {
        if (r.connected) continue;
        await step(
          `StaticRoutes[${i}] ${r.destination} via ${r.nextHop}`,
          'cannot be added (is the next hop on a connected network?)',
          () => nl.addRoute({ dst: r.destination, gateway: r.nextHop! }),
        );
      }
    },
    own,
  );
}

/**
 * Take the interface out of the sandbox: move it back into the daemon's netns as `srcName`
 * (when known) so the plugin can delete it, else delete it. Returns the ifindex it got in the
 * daemon's netns when moved back, undefined when it was deleted or already gone.
 * A sandbox that no longer exists, or an interface the plugin already removed, is not an error.
 */
export async function takeOut(
  deps: KernelDeps,
  placed: { sandboxKey: string; ifname: string; index?: number },
  srcName: string | undefined,
  own?: Netlink,
): Promise<number | undefined> {
  if (!deps.netns.exists(placed.sandboxKey)) return undefined;
  let nl: Netlink;
  try {
    nl = own ?? deps.netns.run(placed.sandboxKey, () => Netlink.open());
  } catch {
    return undefined; // not a namespace any more
  }
  try {
    const link = placed.index !== undefined ? await nl.getLink(placed.index) : await nl.getLink(placed.ifname);
    if (!link) return undefined;
    // An index that now belongs to another interface: look for ours by name only.
    if (link.name !== placed.ifname && link.name !== srcName) return undefined;
    if (srcName) {
      try {
        await nl.setDown(link.index);
        if (link.name !== srcName) await nl.rename(link.index, srcName);
        await withFd(deps.hostNetns ?? '/proc/self/ns/net', `move ${srcName} back`, (fd) => nl.moveToNetns(link.index, fd));
        const back = await deps.hostNetlink().getLink(srcName);
        return back?.index;
      } catch (err) {
        deps.logger.debug(`could not move ${link.name} back to the daemon's netns (${(err as Error).message}): deleting it`);
      }
    }
    await nl.deleteLink(link.index);
    return undefined;
  } finally {
    if (nl !== own) nl.close();
  }
}

/** Delete an interface left in the daemon's netns, if it is still the one we moved back. */
export async function deleteLeftover(deps: KernelDeps, leftover: { name: string; index: number }): Promise<boolean> {
  const host = deps.hostNetlink();
  const link = await host.getLink(leftover.index);
  if (!link || link.name !== leftover.name) return false;
  await host.deleteLink(leftover.index);
  return true;
}
