/**
 * IPAM plugin conformance: the /IpamDriver.* calls Docker makes, raw (to see exactly what the
 * plugin answers) and through tsnet's remote IPAM (what `network create --ipam-driver` does).
 */
import type { PluginClient } from '../../src/plugins/client.js';
import { createRemoteIpam } from '../../src/ipam/remote/index.js';
import { contains, formatCidr, makeCidr, tryParseCidr } from '../../src/lib/cidr.js';
import { TsnetError } from '../../src/errors/index.js';
import { field, type JsonObject } from '../../src/plugins/wire.js';
import { assert, type Checks } from './report.js';
import { randomId } from './driver-suite.js';

export interface IpamConformanceOptions {
  client: PluginClient;
  checks: Checks;
  /** Ask for this subnet instead of letting the plugin choose (for plugins that need --subnet). */
  subnet?: string;
  /** Restart the plugin (and wait until it answers): enables the replay checks. */
  restart?: () => Promise<void>;
}

/** An address as Docker accepts it from RequestAddress: CIDR with the pool's prefix, inside the pool. */
export function assertPoolAddress(pool: string, a: string): string {
  const c = tryParseCidr(a);
  const pc = tryParseCidr(pool)!;
  assert(c, `Address ${JSON.stringify(a)} is not in CIDR form (address/prefix): Docker refuses it`);
  assert(c.family === pc.family, `${a} is not of the pool's family`);
  assert(contains(pool, a.split('/')[0]!), `${a} is not in ${pool}`);
  assert(c.prefix === pc.prefix, `${a} has prefix /${c.prefix}, the pool ${pool} is a /${pc.prefix}`);
  return a.split('/')[0]!;
}

/** A 404 carrying an error: Docker and tsnet read 404 as "not implemented". */
export function assertNot404(err: unknown): void {
  const status = err instanceof TsnetError ? err.details?.status : undefined;
  assert(
    status !== 404,
    `answered HTTP 404 (${(err as Error).message}): to Docker and tsnet a 404 means "not implemented" — report errors with another status (500)`,
  );
}

const GW = { RequestAddressType: 'com.docker.network.gateway' };

function s(r: JsonObject, k: string): string {
  const v = field(r, k);
  return typeof v === 'string' ? v : '';
}

export async function runIpamConformance(o: IpamConformanceOptions): Promise<void> {
  const { client, checks } = o;
  const call = (m: string, body?: unknown): Promise<JsonObject> => client.call(`IpamDriver.${m}`, body);
  const p = `ipam "${client.name}"`;

  await checks.check(
    `${p}: GetCapabilities answers booleans`,
    async () => {
      const r = await call('GetCapabilities');
      for (const k of ['RequiresMACAddress', 'RequiresRequestReplay']) {
        const v = field(r, k);
        assert(v === undefined || v === null || typeof v === 'boolean', `${k} is ${JSON.stringify(v)}`);
      }
      return `RequiresMACAddress=${String(field(r, 'RequiresMACAddress') ?? false)}`;
    },
    'warn',
  );

  let space = '';
  await checks.check(`${p}: GetDefaultAddressSpaces`, async () => {
    const r = await call('GetDefaultAddressSpaces');
    space = s(r, 'LocalDefaultAddressSpace');
    assert(space !== '', 'LocalDefaultAddressSpace is empty');
    assert(s(r, 'GlobalDefaultAddressSpace') !== '', 'GlobalDefaultAddressSpace is empty');
    return `local ${space}`;
  });

  await checks.check(
    `${p}: RequestPool with SubPool but no Pool is refused`,
    async () => {
      let refused = false;
      try {
        const r = await call('RequestPool', { AddressSpace: space, Pool: '', SubPool: '10.0.0.0/24', Options: null, V6: false });
        const id = s(r, 'PoolID');
        if (id) await call('ReleasePool', { PoolID: id }).catch(() => undefined);
      } catch {
        refused = true;
      }
      assert(refused, 'accepted (Docker documents this request as invalid)');
    },
    'warn',
  );

  let poolId = '';
  let pool = '';
  const got = await checks.check(`${p}: RequestPool ${o.subnet ?? '(plugin chooses)'}`, async () => {
    const r = await call('RequestPool', { AddressSpace: space, Pool: o.subnet ?? '', SubPool: '', Options: null, V6: false });
    poolId = s(r, 'PoolID');
    pool = s(r, 'Pool');
    assert(poolId !== '', 'no PoolID');
    assert(tryParseCidr(pool)?.family === 4, `Pool ${JSON.stringify(pool)} is not an IPv4 CIDR`);
    return `${pool} as ${poolId}`;
  });
  if (got) {
    const taken: string[] = [];
    await checks.check(`${p}: RequestAddress for the gateway (RequestAddressType)`, async () => {
      const r = await call('RequestAddress', { PoolID: poolId, Address: '', Options: GW });
      const a = s(r, 'Address');
      taken.push(assertPoolAddress(pool, a));
      return a;
    });
    await checks.check(`${p}: RequestAddress twice gives two different addresses in the pool`, async () => {
      const out: string[] = [];
      for (const n of ['conformance-a', 'conformance-b']) {
        const r = await call('RequestAddress', {
          PoolID: poolId,
          Address: '',
          Options: { 'com.docker.network.endpoint.name': n, 'com.docker.network.endpoint.macaddress': '02:42:ac:11:00:0a' },
        });
        const a = s(r, 'Address');
        const ip = assertPoolAddress(pool, a);
        out.push(ip);
        taken.push(ip);
      }
      assert(out[0] !== out[1], `both got ${out[0]}`);
      return out.join(', ');
    });
    for (const ip of taken)
      await checks.check(
        `${p}: ReleaseAddress ${ip}`,
        async () => void (await call('ReleaseAddress', { PoolID: poolId, Address: ip })),
      );
    if (taken[0]) {
      await checks.check(
        `${p}: ReleaseAddress again is a no-op`,
        async () => void (await call('ReleaseAddress', { PoolID: poolId, Address: taken[0] })),
        'warn',
      );
    }
    await checks.check(`${p}: ReleasePool`, async () => void (await call('ReleasePool', { PoolID: poolId })));
    await checks.check(
      `${p}: ReleasePool again is a no-op`,
      async () => void (await call('ReleasePool', { PoolID: poolId })),
      'warn',
    );
  }
  await checks.check(
    `${p}: RequestAddress in an unknown pool is refused`,
    async () => {
      let refused = false;
      try {
        await call('RequestAddress', { PoolID: `conformance-${randomId().slice(0, 8)}`, Address: '', Options: null });
      } catch {
        refused = true;
      }
      assert(refused, 'accepted');
    },
    'warn',
  );
  await checks.check(`${p}: errors are not reported with 404`, async () => {
    try {
      await call('RequestAddress', { PoolID: `conformance-${randomId().slice(0, 8)}`, Address: '', Options: null });
    } catch (err) {
      assertNot404(err);
    }
  });

  if (got) {
    // --ip-range: RequestPool{Pool, SubPool} — every address handed out must come from the SubPool.
    const whole = tryParseCidr(pool)!;
    const half = makeCidr(whole.network + (whole.last - whole.network + 1n) / 2n, whole.prefix + 1, whole.family);
    const subPool = formatCidr(half);
    await checks.check(
      `${p}: RequestPool ${pool} with SubPool ${subPool} (--ip-range) gives addresses from the SubPool only`,
      async () => {
        const r = await call('RequestPool', { AddressSpace: space, Pool: pool, SubPool: subPool, Options: null, V6: false });
        const id = s(r, 'PoolID');
        assert(id !== '', 'no PoolID');
        const got: string[] = [];
        try {
          for (const n of ['conformance-r1', 'conformance-r2', 'conformance-r3']) {
            const a = s(
              await call('RequestAddress', { PoolID: id, Address: '', Options: { 'com.docker.network.endpoint.name': n } }),
              'Address',
            );
            const ip = assertPoolAddress(pool, a);
            got.push(ip);
            assert(contains(subPool, ip), `${a} is outside the SubPool ${subPool}: the plugin ignores --ip-range`);
          }
        } finally {
          for (const ip of got) await call('ReleaseAddress', { PoolID: id, Address: ip }).catch(() => undefined);
          await call('ReleasePool', { PoolID: id }).catch(() => undefined);
        }
        return got.join(', ');
      },
    );
  }

  // Replay (RequiresRequestReplay): after a restart the daemon asks again for what it holds.
  const caps = await call('GetCapabilities').catch(() => ({}) as JsonObject);
  if (field(caps, 'RequiresRequestReplay') === true) {
    if (!o.restart || !got) {
      checks.skip(`${p}: replay after a restart`, o.restart ? 'no pool to replay' : 'give --restart-cmd to test it');
    } else {
      await checks.check(`${p}: after a restart, replayed RequestPool/RequestAddress get the same pool and address`, async () => {
        const r = await call('RequestPool', { AddressSpace: space, Pool: pool, SubPool: '', Options: null, V6: false });
        const id = s(r, 'PoolID');
        const a = assertPoolAddress(pool, s(await call('RequestAddress', { PoolID: id, Address: '', Options: null }), 'Address'));
        await o.restart!();
        const r2 = await call('RequestPool', { AddressSpace: space, Pool: pool, SubPool: '', Options: null, V6: false });
        const id2 = s(r2, 'PoolID');
        assert(s(r2, 'Pool') === s(r, 'Pool'), `replayed RequestPool gave ${s(r2, 'Pool')}, not ${s(r, 'Pool')}`);
        const a2 = s(await call('RequestAddress', { PoolID: id2, Address: a, Options: null }), 'Address');
        assert(assertPoolAddress(pool, a2) === a, `replayed RequestAddress ${a} gave ${a2}`);
        await call('ReleaseAddress', { PoolID: id2, Address: a });
        await call('ReleasePool', { PoolID: id2 });
        return `${pool} and ${a} again`;
      });
    }
  }

  await checks.check(`${p}: a network's pool, gateway and two endpoints through tsnet's remote IPAM`, async () => {
    const ipam = await createRemoteIpam(client.name, client);
    const id = randomId();
    const lease = await ipam.requestPool({
      v6: false,
      networkId: id,
      networkName: 'conformance',
      avoid: [],
      ...(o.subnet ? { subnet: o.subnet } : {}),
    });
    try {
      const a = await ipam.requestAddress(lease.poolId, {
        owner: randomId(),
        options: { 'com.docker.network.endpoint.name': 'conformance-c' },
      });
      const b = await ipam.requestAddress(lease.poolId, {
        owner: randomId(),
        options: { 'com.docker.network.endpoint.name': 'conformance-d' },
      });
      assert(a.address !== b.address, `both got ${a.address}`);
      await ipam.releaseAddress(lease.poolId, a.address);
      await ipam.releaseAddress(lease.poolId, b.address);
      return `${lease.subnet} gw ${lease.gateway}: ${a.address}, ${b.address}`;
    } finally {
      await ipam.releasePool(lease.poolId);
    }
  });
}
