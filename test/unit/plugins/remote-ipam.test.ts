import test from 'ava';
import path from 'node:path';
import {
  serveIpamPlugin,
  type IpamDriverHandlers,
  type RequestAddressRequest,
  type RequestPoolRequest,
} from '../../../plugins/sdk/src/index.js';
import { createRemoteIpam } from '../../../src/ipam/remote/index.js';
import { PluginClient } from '../../../src/plugins/client.js';
import { socketAddress } from '../../../src/plugins/spec-files.js';
import { isTsnetError } from '../../../src/errors/index.js';
import { tmpDir } from './fake-plugin.js';

interface Calls {
  pools: RequestPoolRequest[];
  addrs: RequestAddressRequest[];
  released: string[];
  releasedPools: string[];
  caps: number;
}

async function setup(
  t: Parameters<typeof tmpDir>[0] & { teardown(fn: () => void | Promise<void>): void },
  handlers: Partial<IpamDriverHandlers>,
  caps = { RequiresMACAddress: false },
) {
  const dir = tmpDir(t);
  const calls: Calls = { pools: [], addrs: [], released: [], releasedPools: [], caps: 0 };
  let next = 2;
  const server = await serveIpamPlugin({
    name: 'ri',
    socketDir: dir,
    handlers: {
      getCapabilities: () => {
        calls.caps++;
        return caps;
      },
      getDefaultAddressSpaces: () => ({ LocalDefaultAddressSpace: 'L', GlobalDefaultAddressSpace: 'G' }),
      requestPool: (r) => {
        calls.pools.push(r);
        return { PoolID: `L/${r.Pool || '10.9.0.0/24'}`, Pool: r.Pool || '10.9.0.0/24' };
      },
      releasePool: (r) => void calls.releasedPools.push(r.PoolID),
      requestAddress: (r) => {
        calls.addrs.push(r);
        if (r.Address) return { Address: `${r.Address}/24` };
        if (r.Options.RequestAddressType) return { Address: '10.9.0.1/24' };
        return { Address: `10.9.0.${next++}/24` };
      },
      releaseAddress: (r) => void calls.released.push(r.Address),
      ...handlers,
    },
  });
  const client = new PluginClient(socketAddress('ri', server.socketPath!), { retryBudgetMs: 200 });
  t.teardown(async () => {
    client.close();
    await server.close();
  });
  return { calls, client, server, dir };
}

const base = { v6: false, networkId: 'n'.repeat(64), networkName: 'net', avoid: [] as string[] };

test('requestPool: address space from GetDefaultAddressSpaces, the gateway via RequestAddressType, aux addresses', async (t) => {
  const { calls, client } = await setup(t, {});
  const ipam = await createRemoteIpam('ri', client);
  t.is(ipam.name, 'ri');
  const lease = await ipam.requestPool({
    ...base,
    subnet: '10.9.0.0/24',
    ipRange: '10.9.0.128/25',
    options: { k: 'v' },
    auxAddresses: { router: '10.9.0.254' },
  });
  t.deepEqual(lease, { poolId: 'L/10.9.0.0/24', subnet: '10.9.0.0/24', gateway: '10.9.0.1', ipRange: '10.9.0.128/25' });
  t.deepEqual(calls.pools, [
    { AddressSpace: 'L', Pool: '10.9.0.0/24', SubPool: '10.9.0.128/25', Options: { k: 'v' }, V6: false },
  ]);
  t.deepEqual(calls.addrs, [
    { PoolID: 'L/10.9.0.0/24', Address: '', Options: { RequestAddressType: 'com.docker.network.gateway' } },
    { PoolID: 'L/10.9.0.0/24', Address: '10.9.0.254', Options: {} },
  ]);
  await ipam.releasePool(lease.poolId);
  t.deepEqual(calls.released, ['10.9.0.1', '10.9.0.254'], 'gateway and aux released with the pool');
  t.deepEqual(calls.releasedPools, ['L/10.9.0.0/24']);
});

test('requestPool: a gateway in the pool Data is used without RequestAddress; --gateway is requested as given', async (t) => {
  const asked: unknown[] = [];
  const { client } = await setup(t, {
    requestPool: (r) => ({
      PoolID: 'p',
      Pool: r.Pool || '10.7.0.0/16',
      Data: { 'com.docker.network.gateway': '10.7.255.254/16' },
    }),
    requestAddress: (r) => {
      asked.push(r);
      return { Address: `${r.Address || '10.7.0.2'}/16` };
    },
  });
  const ipam = await createRemoteIpam('ri', client);
  const a = await ipam.requestPool(base);
  t.is(a.gateway, '10.7.255.254');
  t.is(asked.length, 0);
  t.deepEqual(a.data, { 'com.docker.network.gateway': '10.7.255.254/16' });
  const b = await ipam.requestPool({ ...base, subnet: '10.7.0.0/16', gateway: '10.7.0.9' });
  t.is(b.gateway, '10.7.0.9');
  t.deepEqual(asked[0], {
    PoolID: 'p',
    Address: '10.7.0.9',
    Options: { RequestAddressType: 'com.docker.network.gateway' },
  });
});

test('overlap loop: a plugin that keeps returning an overlapping pool is stopped after maxPoolTries, every lease released', async (t) => {
  let asked = 0;
  const { calls, client } = await setup(t, {
    requestPool: () => {
      asked++;
      return { PoolID: 'same', Pool: '172.17.0.0/16' };
    },
  });
  const ipam = await createRemoteIpam('ri', client, { maxPoolTries: 5 });
  const err = await t.throwsAsync(ipam.requestPool({ ...base, avoid: ['172.17.0.0/16'] }));
  t.true(isTsnetError(err, 'TSNET_SUBNET_OVERLAP'));
  t.is(
    err!.message,
    'IPAM plugin "ri" returned only pools that overlap networks in use on the host (5 tries: 172.17.0.0/16); give --subnet or fix the plugin\'s pools',
  );
  t.is(asked, 5);
  t.deepEqual(calls.releasedPools, ['same', 'same', 'same', 'same', 'same']);
});

test('overlap loop: the next non-overlapping pool is taken and the overlapping ones released', async (t) => {
  let n = 16;
  const { calls, client } = await setup(t, {
    requestPool: (r) => (r.Pool ? { PoolID: `p-${r.Pool}`, Pool: r.Pool } : { PoolID: `p${n}`, Pool: `172.${n++}.0.0/16` }),
    requestAddress: (r) => ({
      Address: r.PoolID.startsWith('p1') && !r.PoolID.startsWith('p-') ? `172.${r.PoolID.slice(1)}.0.1/16` : '10.1.0.1/24',
    }),
  });
  const ipam = await createRemoteIpam('ri', client);
  const lease = await ipam.requestPool({ ...base, avoid: ['172.16.0.0/15', '10.0.0.0/8'] });
  t.is(lease.subnet, '172.18.0.0/16');
  t.deepEqual(calls.releasedPools, ['p16', 'p17']);
  // An explicit --subnet is not checked against the host (as in Docker).
  const own = await ipam.requestPool({ ...base, subnet: '10.1.0.0/24', avoid: ['10.0.0.0/8'] });
  t.is(own.subnet, '10.1.0.0/24');
});

test('requestAddress: endpoint name option, a MAC when the plugin requires one (made up if none given)', async (t) => {
  const { calls, client } = await setup(t, {}, { RequiresMACAddress: true });
  const ipam = await createRemoteIpam('ri', client);
  t.deepEqual(ipam.capabilities(), { requiresMacAddress: true, requiresRequestReplay: false });
  const lease = await ipam.requestPool({ ...base, subnet: '10.9.0.0/24' });
  const a = await ipam.requestAddress(lease.poolId, { owner: 'e1', mac: '02:42:0a:09:00:05' });
  t.deepEqual(a, { address: '10.9.0.2/24' });
  t.deepEqual(calls.addrs.at(-1)!.Options, {
    'com.docker.network.endpoint.name': 'e1',
    'com.docker.network.endpoint.macaddress': '02:42:0a:09:00:05',
  });
  const b = await ipam.requestAddress(lease.poolId, { owner: 'e2', options: { 'com.docker.network.endpoint.name': 'web' } });
  const made = b.data?.['com.docker.network.endpoint.macaddress'];
  t.regex(String(made), /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
  t.is(parseInt(String(made).slice(0, 2), 16) & 0x03, 0x02, 'locally administered unicast');
  t.is(calls.addrs.at(-1)!.Options['com.docker.network.endpoint.name'], 'web');
  const c = await ipam.requestAddress(lease.poolId, { owner: 'e3', ip: '10.9.0.77' });
  t.is(c.address, '10.9.0.77/24');
  await ipam.releaseAddress(lease.poolId, '10.9.0.77/24');
  t.is(calls.released.at(-1), '10.9.0.77');
});

test('requestAddress: an address outside the pool, a different one than asked, or none is a bad reply (and released)', async (t) => {
  let reply = '192.168.1.5/24';
  const { calls, client } = await setup(t, {
    requestAddress: (r) => (r.Options.RequestAddressType ? { Address: '10.9.0.1/24' } : { Address: reply }),
  });
  const ipam = await createRemoteIpam('ri', client);
  const lease = await ipam.requestPool({ ...base, subnet: '10.9.0.0/24' });
  const e1 = await t.throwsAsync(ipam.requestAddress(lease.poolId, { owner: 'e' }));
  t.true(isTsnetError(e1, 'TSNET_PLUGIN_BAD_REPLY'));
  t.regex(
    e1!.message,
    /^plugin "ri": IpamDriver\.RequestAddress: address for e: address 192\.168\.1\.5\/24 is not in pool 10\.9\.0\.0\/24$/,
  );
  t.is(calls.released.at(-1), '192.168.1.5');
  reply = '10.9.0.8/24';
  t.regex(
    (await t.throwsAsync(ipam.requestAddress(lease.poolId, { owner: 'e', ip: '10.9.0.9' })))!.message,
    /asked for 10\.9\.0\.9, got 10\.9\.0\.8/,
  );
  reply = '';
  t.regex((await t.throwsAsync(ipam.requestAddress(lease.poolId, { owner: 'e' })))!.message, /no address returned/);
  reply = '10.9.0.33';
  t.regex(
    (await t.throwsAsync(ipam.requestAddress(lease.poolId, { owner: 'e' })))!.message,
    /^plugin "ri": IpamDriver\.RequestAddress: address for e: Address "10\.9\.0\.33" has no prefix length \(expected 10\.9\.0\.33\/24/,
    'a plain IP is refused, as Docker does',
  );
  t.is(calls.released.at(-1), '10.9.0.33', 'the refused address is given back');
  reply = '10.9.0.34/16';
  t.regex(
    (await t.throwsAsync(ipam.requestAddress(lease.poolId, { owner: 'e' })))!.message,
    /has prefix length \/16; pool 10\.9\.0\.0\/24 is a \/24/,
  );
  reply = '10.9.0.35/24';
  t.is((await ipam.requestAddress(lease.poolId, { owner: 'e' })).address, '10.9.0.35/24');
});

test('errors: Error in a 200 reply, and a failing gateway request rolls the pool back', async (t) => {
  const { calls, client, server } = await setup(t, {
    requestAddress: () => {
      throw new Error('gateway 10.9.0.1 taken');
    },
  });
  void server;
  const ipam = await createRemoteIpam('ri', client);
  const err = await t.throwsAsync(ipam.requestPool({ ...base, subnet: '10.9.0.0/24' }));
  t.true(isTsnetError(err, 'TSNET_PLUGIN_ERROR'));
  t.is(err!.message, 'plugin "ri": IpamDriver.RequestAddress: gateway 10.9.0.1 taken');
  t.deepEqual(calls.releasedPools, ['L/10.9.0.0/24']);
  const bad = await t.throwsAsync(ipam.requestPool({ ...base, ipRange: '10.9.0.0/25' }));
  t.true(isTsnetError(bad, 'TSNET_INVALID_ARGUMENT'), 'validated before any call');
});

test('release of unknown pools/addresses is a no-op even when the plugin complains; capabilities refetched after a restart', async (t) => {
  const { calls, client, server, dir } = await setup(t, {
    releasePool: () => {
      throw new Error('unknown pool');
    },
    releaseAddress: () => {
      throw new Error('unknown address');
    },
  });
  const ipam = await createRemoteIpam('ri', client);
  await t.notThrowsAsync(ipam.releasePool('nope'));
  await t.notThrowsAsync(ipam.releaseAddress('nope', '10.0.0.1'));
  t.is(calls.caps, 1);
  await server.close();
  const again = await serveIpamPlugin({
    name: 'ri',
    socketDir: dir,
    handlers: {
      getCapabilities: () => ({ RequiresMACAddress: true, RequiresRequestReplay: true }),
      requestPool: () => ({ PoolID: 'x', Pool: '10.0.0.0/24' }),
      releasePool: () => undefined,
      requestAddress: () => ({ Address: '10.0.0.1/24' }),
      releaseAddress: () => undefined,
    },
  });
  t.teardown(() => again.close());
  await ipam.releasePool('x');
  t.deepEqual(ipam.capabilities(), { requiresMacAddress: true, requiresRequestReplay: true });
  void path;
});
