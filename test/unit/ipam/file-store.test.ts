import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdtemp, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DefaultIpam } from '../../../src/ipam/default-ipam.js';
import { FileStore, poolKey } from '../../../src/ipam/stores/file-store.js';
import { createFileThread } from '../../../src/store/file-thread.js';
import type { PoolRequest } from '../../../src/ipam/ipam-api.js';

const CRASH_WRITER = fileURLToPath(new URL('./fixtures/crash-writer.ts', import.meta.url));

async function tempDir(t: import('ava').ExecutionContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tsnet-ipam-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function pr(over: Partial<PoolRequest> = {}): PoolRequest {
  return { v6: false, networkId: 'n1', networkName: 'net', avoid: [], ...over };
}

/** Every file under dir, relative, sorted. */
async function tree(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) out.push(join(e.parentPath, e.name).slice(dir.length + 1));
  }
  return out.sort();
}

test('round trip: a restarted IPAM keeps every pool, address and the serial cursor', async (t) => {
  const dir = await tempDir(t);
  const a = await DefaultIpam.load(new FileStore(dir));
  const v4 = await a.requestPool(pr({ subnet: '10.42.0.0/24', ipRange: '10.42.0.0/25', auxAddresses: { nas: '10.42.0.3' } }));
  const v6 = await a.requestPool(pr({ v6: true, subnet: 'fd00:42::/64' }));
  const dyn = await a.requestPool(pr({ networkId: 'n2', networkName: 'auto' }));
  for (const o of ['e1', 'e2', 'e3']) await a.requestAddress(v4.poolId, { owner: o }); // .2 .4 .5
  await a.requestAddress(v4.poolId, { owner: 'static', ip: '10.42.0.200', mac: '02:42:0a:2a:00:c8' });
  await a.requestAddress(v6.poolId, { owner: 'e1' });
  await a.releaseAddress(v4.poolId, '10.42.0.5');

  const b = await DefaultIpam.load(new FileStore(dir));
  t.deepEqual(b.loadWarnings, []);
  const byId = (xs: Array<{ poolId: string }>): Array<{ poolId: string }> =>
    [...xs].sort((x, y) => x.poolId.localeCompare(y.poolId));
  t.deepEqual(byId(b.listPools()), byId(a.listPools()));
  const byIp = (xs: Array<{ ip: string }>): Array<{ ip: string }> => [...xs].sort((x, y) => x.ip.localeCompare(y.ip));
  for (const id of [v4.poolId, v6.poolId, dyn.poolId]) t.deepEqual(byIp(b.listAddresses(id)), byIp(a.listAddresses(id)));
  t.is(b.listAddresses(v4.poolId).length, 3);
  t.is(b.getPool(dyn.poolId)!.subnet, '172.17.0.0/16');
  // restart keeps addresses: .2 and .4 are still taken, and .5 (released last) is not reused at once
  t.deepEqual(await b.requestAddress(v4.poolId, { owner: 'e4' }), { address: '10.42.0.6/24' });
  await t.throwsAsync(b.requestAddress(v4.poolId, { owner: 'x', ip: '10.42.0.200' }), { code: 'TSNET_ADDRESS_IN_USE' } as never);
  t.deepEqual(await b.requestAddress(v4.poolId, { owner: 'e1' }), { address: '10.42.0.2/24' }); // same endpoint, same address
  await t.throwsAsync(b.requestPool(pr({ networkId: 'n3', networkName: 'c', subnet: '172.17.1.0/24' })), {
    code: 'TSNET_SUBNET_OVERLAP',
  } as never);

  await b.releasePool(v6.poolId);
  const c = await DefaultIpam.load(new FileStore(dir));
  t.is(c.getPool(v6.poolId), undefined);
  t.is(c.listPools().length, 2);
});

test('state on disk is readable JSON, one document per pool and per address', async (t) => {
  const dir = await tempDir(t);
  const ipam = await DefaultIpam.load(new FileStore(dir), { now: () => new Date('2025-01-02T03:04:05.000Z') });
  const { poolId } = await ipam.requestPool(pr({ subnet: '10.42.0.0/24', networkName: 'frontend' }));
  await ipam.requestAddress(poolId, { owner: 'ep1', mac: '02:42:0a:2a:00:02' });
  await ipam.requestAddress(poolId, { owner: 'ep2' });
  await ipam.releaseAddress(poolId, '10.42.0.3');
  const key = poolKey(poolId);
  t.is(key, 'LocalDefault_10.42.0.0_24');
  t.deepEqual(await tree(dir), [`pools/${key}/addresses/10.42.0.2.json`, `pools/${key}/cursor.json`, `pools/${key}/pool.json`]);
  t.deepEqual(JSON.parse(await readFile(join(dir, 'pools', key, 'pool.json'), 'utf8')), {
    version: 1,
    poolId,
    networkId: 'n1',
    networkName: 'frontend',
    family: 4,
    subnet: '10.42.0.0/24',
    gateway: '10.42.0.1',
    auxAddresses: {},
    dynamic: false,
    createdAt: '2025-01-02T03:04:05.000Z',
  });
  const addr = await readFile(join(dir, 'pools', key, 'addresses', '10.42.0.2.json'), 'utf8');
  t.deepEqual(JSON.parse(addr), { ip: '10.42.0.2', owner: 'ep1', mac: '02:42:0a:2a:00:02', serial: 1 });
  t.true(addr.includes('\n  "owner": "ep1"'), 'pretty-printed');
  t.deepEqual(JSON.parse(await readFile(join(dir, 'pools', key, 'cursor.json'), 'utf8')), { last: '10.42.0.3', serial: 2 });
});

test('atomic write: a failure between temp write and rename leaves the old document and no temp file', async (t) => {
  const dir = await tempDir(t);
  let crash = false;
  const seen: string[] = [];
  const store = new FileStore(dir, {
    beforeRename: (temp, target) => {
      seen.push(temp.slice(target.length));
      if (crash) throw new Error('simulated crash');
    },
  });
  const ipam = await DefaultIpam.load(store);
  const { poolId } = await ipam.requestPool(pr({ subnet: '10.42.0.0/24' }));
  await ipam.requestAddress(poolId, { owner: 'a' });
  await ipam.requestAddress(poolId, { owner: 'b' });
  await ipam.releaseAddress(poolId, '10.42.0.3');
  const before = await tree(dir);
  const cursorBefore = await readFile(join(dir, 'pools', poolKey(poolId), 'cursor.json'), 'utf8');
  t.true(
    seen.every((s) => /^\.tmp-\d+-\d+$/.test(s)),
    'temp files sit next to their target',
  );

  crash = true;
  const err = await t.throwsAsync(ipam.requestAddress(poolId, { owner: 'c' }));
  t.regex(err!.message, /^IPAM store: write .*10\.42\.0\.4\.json: simulated crash$/);
  await t.throwsAsync(ipam.releaseAddress(poolId, '10.42.0.2'));
  t.deepEqual(await tree(dir), before);
  t.is(await readFile(join(dir, 'pools', poolKey(poolId), 'cursor.json'), 'utf8'), cursorBefore);
  // memory agrees with disk
  t.deepEqual(
    ipam.listAddresses(poolId).map((a) => a.ip),
    ['10.42.0.2'],
  );
});

for (const mode of ['address', 'release'] as const) {
  test(`crash (SIGKILL) between temp write and rename during ${mode}: restart sees the previous state, temp file swept`, async (t) => {
    const dir = await tempDir(t);
    const ipam = await DefaultIpam.load(new FileStore(dir));
    const { poolId } = await ipam.requestPool(pr({ subnet: '10.42.0.0/24' }));
    await ipam.requestAddress(poolId, { owner: 'a' }); // .2
    await ipam.requestAddress(poolId, { owner: 'b' }); // .3
    await ipam.releaseAddress(poolId, '10.42.0.3'); // cursor.json exists: the release crash overwrites it
    const key = poolKey(poolId);
    const cursorBefore = await readFile(join(dir, 'pools', key, 'cursor.json'), 'utf8');
    const before = await tree(dir);

    const child = spawnSync(process.execPath, ['--import=tsx', CRASH_WRITER, dir, poolId, mode], {
      cwd: fileURLToPath(new URL('../../..', import.meta.url)),
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root' },
      timeout: 60_000,
    });
    t.is(child.signal, 'SIGKILL', `child stderr: ${child.stderr}`);
    const after = await tree(dir);
    const leftovers = after.filter((f) => !before.includes(f));
    t.is(leftovers.length, 1, `exactly one temp file left by the crash: ${leftovers.join(', ')}`);
    t.regex(leftovers[0]!, mode === 'address' ? /addresses\/10\.42\.0\.4\.json\.tmp-\d+-\d+$/ : /cursor\.json\.tmp-\d+-\d+$/);
    // the temp file was complete (written and synced) — only the rename was missing
    t.notThrows(() => JSON.parse(spawnSync('cat', [join(dir, leftovers[0]!)], { encoding: 'utf8' }).stdout));
    t.false(after.includes(`pools/${key}/addresses/10.42.0.4.json`), 'no target file for an unfinished write');
    t.is(await readFile(join(dir, 'pools', key, 'cursor.json'), 'utf8'), cursorBefore, 'old document intact');

    const restarted = await DefaultIpam.load(new FileStore(dir));
    t.deepEqual(restarted.loadWarnings, []);
    t.deepEqual(await tree(dir), before, 'temp file removed at load');
    t.deepEqual(restarted.listAddresses(poolId), [{ ip: '10.42.0.2', owner: 'a', serial: 1 }]);
    t.deepEqual(await restarted.requestAddress(poolId, { owner: 'c' }), { address: '10.42.0.4/24' });
  });
}

test('load finishes interrupted pool deletes and creates, and reports unreadable documents', async (t) => {
  const dir = await tempDir(t);
  const ipam = await DefaultIpam.load(new FileStore(dir));
  const { poolId } = await ipam.requestPool(pr({ subnet: '10.42.0.0/24' }));
  await ipam.requestAddress(poolId, { owner: 'a' });
  const pools = join(dir, 'pools');
  await mkdir(join(pools, '.trash-LocalDefault_10.9.0.0_24-1-1', 'addresses'), { recursive: true }); // delete cut short
  await writeFile(join(pools, '.trash-LocalDefault_10.9.0.0_24-1-1', 'pool.json'), '{}');
  await mkdir(join(pools, 'LocalDefault_10.8.0.0_24', 'addresses'), { recursive: true }); // create cut short
  await mkdir(join(pools, 'LocalDefault_10.7.0.0_24', 'addresses'), { recursive: true });
  await writeFile(join(pools, 'LocalDefault_10.7.0.0_24', 'pool.json'), '{"poolId": 1'); // hand-edited, broken
  await writeFile(join(pools, poolKey(poolId), 'addresses', '10.42.0.9.json'), '{"nope": true}');

  const again = await DefaultIpam.load(new FileStore(dir));
  t.deepEqual(
    again.listPools().map((p) => p.poolId),
    [poolId],
  );
  t.deepEqual(
    again.listAddresses(poolId).map((a) => a.ip),
    ['10.42.0.2'],
  );
  const w = again.loadWarnings.join('\n');
  t.regex(w, /removed incomplete pool directory .*LocalDefault_10\.8\.0\.0_24/);
  t.regex(w, /skipped .*LocalDefault_10\.7\.0\.0_24\/pool\.json: not valid JSON/);
  t.regex(w, /skipped .*10\.42\.0\.9\.json: not a valid address record/);
  const left = await readdir(pools);
  t.false(left.some((n) => n.startsWith('.trash-')));
  t.false(left.includes('LocalDefault_10.8.0.0_24'));
  t.true(left.includes('LocalDefault_10.7.0.0_24'), 'a broken document is kept for a human to look at');
});

test('file store: 300 addresses persist one by one and reload exactly', async (t) => {
  const dir = await tempDir(t);
  const ipam = await DefaultIpam.load(new FileStore(dir));
  const { poolId } = await ipam.requestPool(pr({ subnet: '10.42.0.0/20' }));
  const n = 300;
  const given: Array<[string, string]> = [];
  for (let i = 0; i < n; i++) given.push([(await ipam.requestAddress(poolId, { owner: `ep${i}` })).address, `ep${i}`]);
  t.is(new Set(given.map(([ip]) => ip)).size, n, 'distinct addresses');
  const reloaded = await DefaultIpam.load(new FileStore(dir));
  const back = reloaded
    .listAddresses(poolId)
    .map((a) => [`${a.ip}/20`, a.owner] as [string, string])
    .sort();
  t.deepEqual(back, [...given].sort());
  t.deepEqual(reloaded.loadWarnings, []);
  // the reloaded allocator continues where the first one stopped
  t.is((await reloaded.requestAddress(poolId, { owner: 'next' })).address, '10.42.1.46/20');
});

test('with a file thread: an allocation is written behind, a release waits for it, both in order (decision 44)', async (t) => {
  const dir = await tempDir(t);
  const files = createFileThread();
  t.teardown(() => files.close());
  const errors: string[] = [];
  const store = new FileStore(dir, { thread: files, onBehindError: (m) => void errors.push(m) });
  const a = await DefaultIpam.load(store);
  const { poolId } = await a.requestPool(pr({ subnet: '10.42.0.0/24' }));
  const addressFile = (ip: string) => join(dir, 'pools', poolKey(poolId), 'addresses', `${ip}.json`);
  await a.requestAddress(poolId, { owner: 'e1' });
  await files.run([]); // the thread's queue, in order: the allocation's write is in place
  t.regex(await readFile(addressFile('10.42.0.2'), 'utf8'), /"owner": "e1"/);
  // an allocation and its release at once: the release's removal comes after the write
  await a.requestAddress(poolId, { owner: 'e2' });
  await a.releaseAddress(poolId, '10.42.0.3');
  t.deepEqual(await tree(join(dir, 'pools', poolKey(poolId), 'addresses')), ['10.42.0.2.json']);
  t.deepEqual(errors, []);
  // what a restart reads: the pool, the one address, the cursor of the release
  const b = await DefaultIpam.load(new FileStore(dir));
  t.deepEqual(
    b.listAddresses(poolId).map((x) => x.ip),
    ['10.42.0.2'],
  );
  t.deepEqual(await b.requestAddress(poolId, { owner: 'e3' }), { address: '10.42.0.4/24' }, 'the cursor was kept');
});

test('with a file thread: a release rewrites the cursor in place (no file created), and a restart reads it (decision 47)', async (t) => {
  const dir = await tempDir(t);
  const files = createFileThread();
  t.teardown(() => files.close());
  const a = await DefaultIpam.load(new FileStore(dir, { thread: files }));
  const { poolId } = await a.requestPool(pr({ subnet: '10.42.0.0/24' }));
  const cursorFile = join(dir, 'pools', poolKey(poolId), 'cursor.json');
  const inodes: number[] = [];
  for (const owner of ['e1', 'e2', 'e3']) {
    const { address } = await a.requestAddress(poolId, { owner });
    await a.releaseAddress(poolId, address);
    inodes.push((await stat(cursorFile)).ino);
  }
  t.deepEqual(inodes, [inodes[0], inodes[0], inodes[0]], 'the same file every time');
  const text = await readFile(cursorFile, 'utf8');
  t.is(text.length, 128, 'one length: a shorter cursor leaves no tail of a longer one');
  t.deepEqual(JSON.parse(text), { last: '10.42.0.4', serial: 3 });
  // an older, longer cursor document (written whole, pretty-printed) is cut to the new one
  await writeFile(cursorFile, `${JSON.stringify({ last: '10.42.0.4', serial: 3, pad: 'x'.repeat(300) }, null, 2)}\n`);
  const { address } = await a.requestAddress(poolId, { owner: 'e4' });
  await a.releaseAddress(poolId, address);
  t.deepEqual(JSON.parse(await readFile(cursorFile, 'utf8')), { last: '10.42.0.5', serial: 4 });
  const b = await DefaultIpam.load(new FileStore(dir));
  t.deepEqual(b.loadWarnings, []);
  t.deepEqual(
    await b.requestAddress(poolId, { owner: 'e5' }),
    { address: '10.42.0.6/24' },
    'allocation resumes after the cursor',
  );
});
