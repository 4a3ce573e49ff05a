/**
 * tsnet's remote IPAM against the example static-ipam plugin (a separate process serving a
 * socket in a temp dir; it makes no kernel objects, so no namespace is needed).
 */
import test, { type ExecutionContext } from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRemoteIpam } from '../../src/ipam/remote/index.js';
import { PluginRegistry } from '../../src/plugins/registry.js';
import { isTsnetError } from '../../src/errors/index.js';
import { startExample } from '../conformance/harness.js';
import { randomId } from '../conformance/driver-suite.js';

const quiet = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

async function setup(t: ExecutionContext, config: unknown) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-sipam-'));
  const file = path.join(dir, 'static.json');
  fs.writeFileSync(file, JSON.stringify(config));
  const plugin = await startExample('static-ipam', { socketDir: path.join(dir, 'plugins'), args: ['--config', file] });
  const registry = new PluginRegistry({ socketDirs: [path.join(dir, 'plugins')], specDirs: [], logger: quiet });
  t.teardown(async () => {
    registry.close();
    await plugin.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const ipam = await createRemoteIpam('static-ipam', await registry.get('static-ipam', 'IpamDriver'), { logger: quiet });
  return { ipam, plugin, registry };
}

const req = (extra: Record<string, unknown> = {}) => ({
  v6: false,
  networkId: randomId(),
  networkName: 'lab',
  avoid: [],
  ...extra,
});

test.serial('static-ipam: pool and gateway from the file, fixed addresses by name, the range for others, --ip', async (t) => {
  const { ipam } = await setup(t, {
    pools: [
      { subnet: '10.88.0.0/24', gateway: '10.88.0.254', range: '10.88.0.128/25', hosts: { web: '10.88.0.10', db: '10.88.0.11' } },
    ],
  });
  const lease = await ipam.requestPool(req());
  t.like(lease, { poolId: 'static/10.88.0.0/24', subnet: '10.88.0.0/24', gateway: '10.88.0.254' });
  const opt = (name: string) => ({ 'com.docker.network.endpoint.name': name });
  t.is((await ipam.requestAddress(lease.poolId, { owner: randomId(), options: opt('web') })).address, '10.88.0.10/24');
  t.is((await ipam.requestAddress(lease.poolId, { owner: randomId(), options: opt('db') })).address, '10.88.0.11/24');
  t.is((await ipam.requestAddress(lease.poolId, { owner: randomId(), options: opt('other') })).address, '10.88.0.128/24');
  t.is((await ipam.requestAddress(lease.poolId, { owner: randomId(), ip: '10.88.0.50' })).address, '10.88.0.50/24');
  const dup = await t.throwsAsync(ipam.requestAddress(lease.poolId, { owner: randomId(), ip: '10.88.0.50' }));
  t.true(isTsnetError(dup, 'TSNET_PLUGIN_ERROR'));
  t.regex(
    dup!.message,
    /^plugin "static-ipam": IpamDriver\.RequestAddress: static-ipam: address 10\.88\.0\.50 is in use \(by [0-9a-f]{64}\)$/,
  );
  await ipam.releaseAddress(lease.poolId, '10.88.0.128/24');
  t.is(
    (await ipam.requestAddress(lease.poolId, { owner: randomId(), options: opt('again') })).address,
    '10.88.0.128/24',
    'freed addresses are reused',
  );
  const busy = await t.throwsAsync(ipam.requestPool(req({ subnet: '10.88.0.0/24' })));
  t.regex(busy!.message, /pool 10\.88\.0\.0\/24 is already in use/);
  await ipam.releasePool(lease.poolId);
  t.like(await ipam.requestPool(req({ subnet: '10.88.0.0/24', gateway: '10.88.0.1' })), { gateway: '10.88.0.1' });
});

test.serial('static-ipam: assignment by MAC when the plugin requires MAC addresses', async (t) => {
  const { ipam } = await setup(t, {
    requiresMacAddress: true,
    pools: [{ subnet: '10.89.0.0/24', hosts: { '02:42:0A:59:00:07': '10.89.0.7' } }],
  });
  t.true(ipam.capabilities().requiresMacAddress);
  const lease = await ipam.requestPool(req());
  t.is(lease.gateway, '10.89.0.1', 'first host when the file names no gateway');
  t.is((await ipam.requestAddress(lease.poolId, { owner: randomId(), mac: '02:42:0a:59:00:07' })).address, '10.89.0.7/24');
  const none = await t.throwsAsync(ipam.requestAddress(lease.poolId, { owner: 'x'.repeat(64) }));
  t.regex(none!.message, /no static address for endpoint "x{64}" in 10\.89\.0\.0\/24, and the pool has no "range"/);
});

test.serial('static-ipam: a pool not in the file, and exhaustion of the configured pools', async (t) => {
  const { ipam } = await setup(t, { pools: [{ subnet: '10.90.0.0/30', range: '10.90.0.0/30' }] });
  const other = await t.throwsAsync(ipam.requestPool(req({ subnet: '10.91.0.0/24' })));
  t.is(
    other!.message,
    'plugin "static-ipam": IpamDriver.RequestPool: static-ipam: pool 10.91.0.0/24 is not in the configuration',
  );
  const lease = await ipam.requestPool(req());
  t.is(lease.gateway, '10.90.0.1');
  t.is((await ipam.requestAddress(lease.poolId, { owner: randomId() })).address, '10.90.0.2/30');
  t.regex(
    (await t.throwsAsync(ipam.requestAddress(lease.poolId, { owner: randomId() })))!.message,
    /range 10\.90\.0\.0\/30 of 10\.90\.0\.0\/30 is exhausted/,
  );
  t.regex((await t.throwsAsync(ipam.requestPool(req())))!.message, /no free IPv4 pool left/);
});
