/**
 * Through tsnetd, with a scripted plugin (the SDK, in this process) whose Join hands over a veth it
 * makes in the world's host netns: the container's default route comes from the Join reply's
 * Gateway alone, as in Docker — a reply without one gives no default route through the network,
 * even though IPAM reserved a gateway address.
 */
import test, { type ExecutionContext } from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { serveNetworkPlugin } from '../../plugins/sdk/src/index.js';
import { createWorld, type World } from '../helpers/world.js';

async function setup(t: ExecutionContext, gateway: string): Promise<World> {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-gw-plug-'));
  const pluginDir = path.join(base, 'plugins');
  fs.mkdirSync(pluginDir);
  const world = await createWorld({ daemonArgs: ['--plugin-dir', pluginDir, '--plugin-timeout', '5000'] });
  let n = 0;
  const server = await serveNetworkPlugin({
    name: 'gwtest',
    socketDir: pluginDir,
    handlers: {
      createNetwork() {},
      deleteNetwork() {},
      createEndpoint() {},
      deleteEndpoint() {},
      async join() {
        n++;
        const r = await world.inHost(['ip', 'link', 'add', `gwt${n}`, 'type', 'veth', 'peer', 'name', `gwp${n}`]);
        if (r.exitCode !== 0) throw new Error(`ip link add: ${r.stderr}`);
        return { InterfaceName: { SrcName: `gwt${n}`, DstPrefix: 'eth' }, ...(gateway ? { Gateway: gateway } : {}) };
      },
      async leave() {
        await world.inHost(['ip', 'link', 'del', `gwp${n}`]);
      },
    },
  });
  t.teardown(async () => {
    await world.teardown();
    await server.close();
    fs.rmSync(base, { recursive: true, force: true });
  });
  return world;
}

test('a Join reply without a Gateway gives the container no default route (IPAM reserved one all the same)', async (t) => {
  const w = await setup(t, '');
  await w.ok(['network', 'create', '-d', 'gwtest', '--subnet', '10.83.0.0/24', 'pn']);
  const gw = JSON.parse(await w.ok(['network', 'inspect', 'pn', '--format', '{{json .IPAM.Config}}'])) as Array<{
    Gateway?: string;
  }>;
  t.is(gw[0]?.Gateway, '10.83.0.1', 'IPAM reserved a gateway address');
  const routes = await w.ok(['run', '--rm', '--network', 'pn', 'busybox', 'ip', 'route']);
  t.regex(routes, /10\.83\.0\.0\/24 dev eth0/);
  t.notRegex(routes, /default/, routes);
});

test('a Join reply with a Gateway gives the default route through it', async (t) => {
  const w = await setup(t, '10.84.0.1');
  await w.ok(['network', 'create', '-d', 'gwtest', '--subnet', '10.84.0.0/24', 'pn']);
  const routes = await w.ok(['run', '--rm', '--network', 'pn', 'busybox', 'ip', 'route']);
  t.regex(routes, /default via 10\.84\.0\.1 dev eth0/, routes);
});
