/**
 * The start-up sweep removes only links tsnet made (marked with the alias `tsnet:<id>`) that no
 * network or endpoint explains; links that only look like tsnet's (Docker names its bridges
 * `br-<id12>` too) survive a restart.
 */
import test from 'ava';
import crypto from 'node:crypto';
import { createWorld, type World } from '../helpers/world.js';

let w: World;
test.before(async () => {
  w = await createWorld();
});
test.after.always(async () => {
  await w?.teardown();
});

async function link(name: string): Promise<{ alias?: string; master?: string } | undefined> {
  const r = await w.inHost(['ip', '-j', '-d', 'link', 'show', 'dev', name]);
  if (r.exitCode !== 0) return undefined;
  const [l] = JSON.parse(r.stdout) as Array<{ ifalias?: string; master?: string }>;
  return { ...(l?.ifalias ? { alias: l.ifalias } : {}), ...(l?.master ? { master: l.master } : {}) };
}

async function sh(args: string[]): Promise<void> {
  const r = await w.inHost(args);
  if (r.exitCode !== 0) throw new Error(`${args.join(' ')}: ${r.stderr}`);
}

test.serial('a restart keeps foreign look-alike links and removes only marked orphans', async (t) => {
  const netId = await w.ok(['network', 'create', 'sweepnet']);
  const bridge = `br-${netId.slice(0, 12)}`;
  const ctr = await w.ok(['run', '-d', '--network', 'sweepnet', 'busybox', 'sleep', '1000']);
  const [info] = JSON.parse(await w.ok(['inspect', ctr]));
  const endpointId = info.NetworkSettings.Networks.sweepnet.EndpointID as string;
  t.is((await link(bridge))?.alias, `tsnet:${netId}`, 'the bridge carries its network id');
  const hostVeths = JSON.parse((await w.inHost(['ip', '-j', '-d', 'link', 'show', 'master', bridge])).stdout) as Array<{
    ifname: string;
    ifalias?: string;
  }>;
  t.deepEqual(
    hostVeths.map((l) => l.ifalias),
    [`tsnet:${endpointId}`],
    'the veth carries its endpoint id',
  );

  await w.killDaemon('SIGKILL');
  // foreign links named like tsnet's: a Docker bridge, a veth named like ours (unmarked)
  await sh(['ip', 'link', 'add', 'br-0123456789ab', 'type', 'bridge']);
  await sh(['ip', 'link', 'add', 'ts0123456789', 'type', 'veth', 'peer', 'name', 'ts0123456788']);
  // a foreign link with someone else's alias
  await sh(['ip', 'link', 'add', 'br-abcdefabcdef', 'type', 'bridge']);
  await sh(['ip', 'link', 'set', 'br-abcdefabcdef', 'alias', 'docker:whatever']);
  // tsnet's own orphans (a crash between the kernel work and the record): marked, unexplained
  const ghostNet = crypto.randomBytes(32).toString('hex');
  const ghostEp = crypto.randomBytes(32).toString('hex');
  await sh(['ip', 'link', 'add', 'anyname0', 'type', 'bridge']);
  await sh(['ip', 'link', 'set', 'anyname0', 'alias', `tsnet:${ghostNet}`]);
  await sh(['ip', 'link', 'add', 'anyname1', 'type', 'veth', 'peer', 'name', 'anyname2']);
  await sh(['ip', 'link', 'set', 'anyname1', 'alias', `tsnet:${ghostEp}`]);

  await w.startDaemon();
  t.truthy(await link('br-0123456789ab'), 'a foreign br-<12 hex> bridge survives');
  t.truthy(await link('ts0123456789'), 'a foreign veth named like ours survives');
  t.truthy(await link('br-abcdefabcdef'), 'a link with a foreign alias survives');
  t.falsy(await link('anyname0'), 'a marked bridge no network explains is swept');
  t.falsy(await link('anyname1'), 'a marked veth no endpoint explains is swept');
  t.truthy(await link(bridge), "the network's bridge stays");
  t.is(hostVeths.length, 1);
  t.is((await link(hostVeths[0]!.ifname))?.master, bridge, "the container's veth stays on its bridge");
  const ping = await w.cli(['exec', ctr, 'ping', '-c', '1', '-W', '2', info.NetworkSettings.Networks.sweepnet.Gateway]);
  t.is(ping.exitCode, 0, ping.stderr);

  await w.ok(['rm', '-f', ctr]);
  await w.ok(['network', 'rm', 'sweepnet']);
  t.falsy(await link(bridge));
  for (const l of ['br-0123456789ab', 'ts0123456789', 'br-abcdefabcdef']) await sh(['ip', 'link', 'del', l]);
});
