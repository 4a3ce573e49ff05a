/**
 * The network layer owns its records (issue 9, deliverable 1): sandbox and endpoint records on
 * disk, written only by the controller, agree with the API and the kernel after a kill -9 and a
 * restart; the container record keeps only the sandbox id; a container record of the previous
 * format (endpoints inside it) is migrated at start; a container whose network records are lost
 * (a create writes them without fsync, decision 36) gets them made again at its start.
 */
import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { checkInvariants, summary } from '../helpers/invariants.js';
import { createWorld, eventually, type World } from '../helpers/world.js';

let w: World;
test.before(async () => {
  w = await createWorld();
});
test.after.always(async () => {
  await w?.teardown();
});

interface EndpointFile {
  id: string;
  sandboxId: string;
  containerId: string;
  containerName: string;
  networkId: string;
  networkName: string;
  ipv4?: string;
  ifname?: string;
  state: string;
}

const stateDir = (kind: string) => path.join(w.root, 'state', kind);
function readAll<T>(kind: string): T[] {
  const dir = stateDir(kind);
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as T);
}

async function inspect(name: string) {
  return JSON.parse(await w.ok(['inspect', name]))[0];
}

/** The IPv4 addresses (CIDR) of `ifname` inside a sandbox netns, read from the kernel. */
async function kernelAddrs(sandboxKey: string, ifname: string): Promise<string[]> {
  const r = await w.inHost(['nsenter', `--net=${sandboxKey}`, 'ip', '-j', '-4', 'addr', 'show', 'dev', ifname]);
  if (r.exitCode !== 0) return [];
  const links = JSON.parse(r.stdout) as Array<{ addr_info: Array<{ local: string; prefixlen: number }> }>;
  return links.flatMap((l) => l.addr_info.map((a) => `${a.local}/${a.prefixlen}`));
}

test.serial('endpoint and sandbox records agree with the API and the kernel after kill -9 and a restart', async (t) => {
  await w.ok(['network', 'create', '--subnet', '10.78.0.0/24', 'obj-a']);
  await w.ok(['network', 'create', '--subnet', '10.79.0.0/24', 'obj-b']);
  await w.ok(['run', '-d', '--name', 'o1', '--network', 'obj-a', 'busybox', 'sleep', '1000']);
  await w.ok(['network', 'connect', 'obj-b', 'o1']);
  await w.ok(['run', '-d', '--name', 'o2', '--network', 'obj-a', '--network', 'obj-b', 'busybox', 'sleep', '1000']);
  await w.ok(['network', 'disconnect', 'obj-b', 'o2']);

  await w.killDaemon('SIGKILL');
  await w.startDaemon();

  const eps = readAll<EndpointFile>('endpoints');
  t.deepEqual(eps.map((e) => `${e.containerName}@${e.networkName}:${e.state}`).sort(), [
    'o1@obj-a:active',
    'o1@obj-b:active',
    'o2@obj-a:active',
  ]);
  for (const name of ['o1', 'o2']) {
    const c = await inspect(name);
    const mine = eps.filter((e) => e.containerName === name);
    // the API shows what the records say
    t.deepEqual(Object.keys(c.NetworkSettings.Networks).sort(), mine.map((e) => e.networkName).sort());
    for (const e of mine) {
      const shown = c.NetworkSettings.Networks[e.networkName];
      t.is(shown.EndpointID, e.id);
      t.is(`${shown.IPAddress}/${shown.IPPrefixLen}`, e.ipv4 ?? '');
      t.is(e.sandboxId, c.NetworkSettings.SandboxID);
      // and the kernel has the address on the recorded interface
      t.deepEqual(await kernelAddrs(c.NetworkSettings.SandboxKey, e.ifname!), [e.ipv4!], `${name} ${e.ifname}`);
    }
    // the container record keeps only the sandbox id
    const rec = JSON.parse(fs.readFileSync(path.join(stateDir('containers'), `${c.Id}.json`), 'utf8'));
    t.is(rec.sandboxId, c.NetworkSettings.SandboxID);
    t.false('network' in rec);
    const sb = JSON.parse(fs.readFileSync(path.join(stateDir('sandboxes'), `${rec.sandboxId}.json`), 'utf8'));
    t.is(sb.key, c.NetworkSettings.SandboxKey);
    t.is(sb.containerId, c.Id);
  }
  // network inspect lists the containers from the endpoint index
  const [a] = JSON.parse(await w.ok(['network', 'inspect', 'obj-a']));
  t.deepEqual(
    Object.values(a.Containers as Record<string, { Name: string }>)
      .map((x) => x.Name)
      .sort(),
    ['o1', 'o2'],
  );
  // a network with endpoints (restored from the records) cannot be removed
  t.regex((await w.cli(['network', 'rm', 'obj-b'])).stderr, /has active endpoints \(o1\)/);

  await w.ok(['rm', '-f', 'o1', 'o2']);
  t.deepEqual(readAll('endpoints'), []);
  t.deepEqual(readAll('sandboxes'), []);
  await w.ok(['network', 'rm', 'obj-a', 'obj-b']);
});

test.serial('a container record of the previous format (endpoints inside it) is migrated at start', async (t) => {
  await w.ok(['network', 'create', '--subnet', '10.80.0.0/24', 'obj-m']);
  await w.ok(['run', '-d', '--name', 'mig', '--network', 'obj-m', '-p', '18090:80', 'busybox', 'sleep', '1000']);
  // a joiner and a joiner of that joiner: each must point at its target's new sandbox
  await w.ok(['run', '-d', '--name', 'mj1', '--network', 'container:mig', 'busybox', 'sleep', '1000']);
  await w.ok(['run', '-d', '--name', 'mj2', '--network', 'container:mj1', 'busybox', 'sleep', '1000']);
  const before = await inspect('mig');
  const joiners = [await inspect('mj1'), await inspect('mj2')];
  await w.killDaemon('SIGKILL');
  for (const [j, target] of [
    [joiners[1], joiners[0]],
    [joiners[0], before],
  ]) {
    // the previous format of a joiner: mode container, sharedWith = the target's container id
    const jf = path.join(stateDir('containers'), `${j.Id}.json`);
    const jr = JSON.parse(fs.readFileSync(jf, 'utf8'));
    fs.rmSync(path.join(stateDir('sandboxes'), `${jr.sandboxId}.json`));
    delete jr.sandboxId;
    jr.network = { mode: 'container', sharedWith: target.Id, endpoints: {}, ports: [] };
    fs.writeFileSync(jf, JSON.stringify(jr));
  }

  // rewrite the records as the previous tsnet kept them: the network state inside the container record
  const file = path.join(stateDir('containers'), `${before.Id}.json`);
  const rec = JSON.parse(fs.readFileSync(file, 'utf8'));
  const sbFile = path.join(stateDir('sandboxes'), `${rec.sandboxId}.json`);
  const sb = JSON.parse(fs.readFileSync(sbFile, 'utf8'));
  const endpoints: Record<string, unknown> = {};
  for (const e of readAll<EndpointFile & Record<string, unknown>>('endpoints').filter((x) => x.sandboxId === sb.id)) {
    const { id: _i, sandboxId: _s, containerId: _c, containerName: _n, state: _st, seq: _q, ...old } = e;
    endpoints[e.networkId] = old;
    fs.rmSync(path.join(stateDir('endpoints'), `${e.id}.json`));
  }
  rec.network = { mode: 'networks', sandboxKey: sb.key, endpoints, gatewayNetwork: sb.gatewayNetwork, ports: sb.ports };
  delete rec.sandboxId;
  fs.writeFileSync(file, JSON.stringify(rec));
  fs.rmSync(sbFile);

  await w.startDaemon();
  t.regex(w.daemonLog(), /migrated the network state of container/);
  const after = await inspect('mig');
  t.is(after.NetworkSettings.Networks['obj-m'].IPAddress, before.NetworkSettings.Networks['obj-m'].IPAddress);
  t.is(after.NetworkSettings.SandboxKey, before.NetworkSettings.SandboxKey);
  t.deepEqual(after.NetworkSettings.Ports, before.NetworkSettings.Ports);
  const migrated = JSON.parse(fs.readFileSync(file, 'utf8'));
  t.false('network' in migrated);
  t.is(migrated.sandboxId, after.NetworkSettings.SandboxID);
  t.is(readAll<EndpointFile>('endpoints').filter((e) => e.containerName === 'mig').length, 1);
  const sandboxes = readAll<{ id: string; containerName: string; sharedWith?: string }>('sandboxes');
  const sbOf = (name: string) => sandboxes.find((s) => s.containerName === name);
  t.is(sbOf('mj1')?.sharedWith, sbOf('mig')?.id, 'the joiner points at its target');
  t.is(sbOf('mj2')?.sharedWith, sbOf('mj1')?.id, 'the joiner of the joiner points at the joiner');
  // the joiner of a joiner starts again in the owner's network namespace
  await w.ok(['restart', '-t', '0', 'mj2']);
  const [inNs, inOwner] = await Promise.all(
    ['mj2', 'mig'].map(async (n) => (await w.ok(['exec', n, 'cat', '/sys/class/net/eth0/address'])).trim()),
  );
  t.is(inNs, inOwner);
  // the migrated container is a normal one: disconnect, rm and network rm leave nothing
  await w.ok(['rm', '-f', 'mj2', 'mj1']);
  await w.ok(['network', 'disconnect', 'obj-m', 'mig']);
  await w.ok(['rm', '-f', 'mig']);
  t.deepEqual(readAll('endpoints'), []);
  t.deepEqual(readAll('sandboxes'), []);
  await w.ok(['network', 'rm', 'obj-m']);
});

test.serial('a container whose network records a power loss took: its start makes them again from its request', async (t) => {
  await w.ok(['network', 'create', '--subnet', '10.81.0.0/24', 'obj-l']);
  const id = (
    await w.ok(['create', '--name', 'lost', '--network', 'obj-l', '--network-alias', 'lal', 'busybox', 'sleep', '1000'])
  ).trim();
  const rec = JSON.parse(fs.readFileSync(path.join(stateDir('containers'), `${id}.json`), 'utf8'));
  await w.killDaemon('SIGKILL');
  // what a power loss right after the create may leave: the container record (fsynced), no sandbox
  // or endpoint record (written without fsync); the reboot's empty kernel is what the sweep makes
  fs.rmSync(path.join(stateDir('sandboxes'), `${rec.sandboxId}.json`));
  for (const e of readAll<EndpointFile>('endpoints').filter((x) => x.sandboxId === rec.sandboxId))
    fs.rmSync(path.join(stateDir('endpoints'), `${e.id}.json`));
  await w.startDaemon();
  const m = await checkInvariants(w);
  t.deepEqual(Object.values(m).flat(), [], `after the restart: ${summary(m)}`);

  await w.ok(['start', 'lost']);
  t.regex(w.daemonLog(), /container [0-9a-f]{12} had no network records .*made again from its request/);
  const after = await inspect('lost');
  const net = after.NetworkSettings.Networks['obj-l'];
  t.regex(net.IPAddress, /^10\.81\.0\./);
  t.true(net.Aliases.includes('lal'));
  t.deepEqual(await kernelAddrs(after.NetworkSettings.SandboxKey, 'eth0'), [`${net.IPAddress}/24`]);
  const saved = JSON.parse(fs.readFileSync(path.join(stateDir('containers'), `${id}.json`), 'utf8'));
  t.is(saved.sandboxId, after.NetworkSettings.SandboxID, 'the container record names the new sandbox');
  t.not(saved.sandboxId, rec.sandboxId);
  t.is(readAll<EndpointFile>('endpoints').filter((e) => e.sandboxId === saved.sandboxId).length, 1);
  await w.ok(['rm', '-f', 'lost']);
  t.deepEqual(readAll('endpoints'), []);
  t.deepEqual(readAll('sandboxes'), []);
  // the veth dies with the netns a moment after rm (the kernel's cleanup worker): poll for it
  let m2 = await checkInvariants(w);
  await eventually(async () => {
    m2 = await checkInvariants(w);
    return Object.values(m2).flat().length === 0;
  });
  t.deepEqual(Object.values(m2).flat(), [], `after rm: ${summary(m2)}`);
  await w.ok(['network', 'rm', 'obj-l']);
});
