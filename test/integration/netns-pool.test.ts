/**
 * The daemon's pool of network namespaces made ahead (--netns-pool, src/network/sandbox-pool.ts):
 * entries are pool-* netns mounts holding only lo, a create takes one (its sandbox file is the
 * container's own), the pool refills, a kill -9 leaves entries that the next start sweeps,
 * a stop removes them, and size 0 makes none. After a create on a user network the entries also
 * carry the embedded resolver's sockets and DNS rules (decision 44), which such a create's
 * resolver uses, and which a create without the resolver never gets.
 */
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { POOL_PREFIX } from '../../src/network/sandbox-pool.js';
import { createWorld, eventually, type World } from '../helpers/world.js';

let w: World;
test.before(async () => {
  w = await createWorld({ daemonArgs: ['--netns-pool', '2'] });
});
test.after.always(async () => {
  await w?.teardown();
});

const netnsDir = () => path.join(w.execRoot, 'netns');
const mounted = (): string[] =>
  fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((p) => p.startsWith(`${netnsDir()}/`));
/** Pool entries that are netns mounts. */
const entries = (): string[] => mounted().filter((p) => path.basename(p).startsWith(POOL_PREFIX));
/** Pool-* names in the dir, mounted or not. */
const files = (): string[] => fs.readdirSync(netnsDir()).filter((f) => f.startsWith(POOL_PREFIX));

async function links(netns: string): Promise<string[]> {
  const r = await w.inHost(['nsenter', `--net=${netns}`, 'ip', '-o', 'link', 'show']);
  return r.stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => `${l.split(':')[1]?.trim().split('@')[0]} ${/state (\w+)/.exec(l)?.[1] ?? ''}`.trim());
}

test.serial('entries: pool-* netns mounts with only lo, up; a create takes one and the pool refills', async (t) => {
  t.true(await eventually(() => entries().length === 2), `pool entries: ${entries().join(', ')}`);
  for (const e of entries()) t.deepEqual(await links(e), ['lo UNKNOWN'], `${e} holds only lo, up`);
  const before = new Set(entries());

  await w.ok(['network', 'create', 'poolnet']);
  const id = (await w.ok(['create', '--network', 'poolnet', 'busybox', 'sleep', '1000'])).trim();
  const key = JSON.parse(await w.ok(['inspect', id]))[0].NetworkSettings.SandboxKey as string;
  // the sandbox's own file (named by its sandbox id), not a pool name
  t.is(path.dirname(key), netnsDir());
  t.regex(path.basename(key), /^[0-9a-f]{12}$/, "the sandbox file is the container's own");
  t.true(mounted().includes(key));
  // clean: lo (up, from the pool) and the container's eth0, nothing else
  const inside = await links(key);
  t.deepEqual(inside.map((l) => l.split(' ')[0]).sort(), ['eth0', 'lo'], inside.join(', '));
  t.true(inside.includes('lo UNKNOWN'), inside.join(', '));
  // it was one of the entries: it is gone, and the pool is full again (the other one is replaced
  // too: after a take for a sandbox with the resolver the entries carry it, decision 44)
  t.true(await eventually(() => entries().length === 2 && !entries().includes(key) && before.size === 2));
  t.false(entries().includes(key));

  await w.ok(['rm', '-f', id]);
  await w.ok(['network', 'rm', 'poolnet']);
});

/** The DNS table of a namespace (`nft list table netdev tsnet-dns`), '' when it has none. */
async function dnsTable(netns: string): Promise<string> {
  // /usr/sbin/nft, not `nft` on PATH: under npx that resolves to @vercel/nft
  const r = await w.inHost(['nsenter', `--net=${netns}`, '/usr/sbin/nft', 'list', 'table', 'netdev', 'tsnet-dns']);
  return r.exitCode === 0 ? r.stdout : '';
}
/** UDP ports bound to 127.0.0.11 in a namespace (the resolver's). */
async function resolverUdpPorts(netns: string): Promise<number[]> {
  const r = await w.inHost(['nsenter', `--net=${netns}`, 'ss', '-Hlun']);
  return [...r.stdout.matchAll(/127\.0\.0\.11:(\d+)/g)].map((m) => Number(m[1]));
}
const udpPortOf = (table: string): number | undefined => {
  const m = /udp dport set (\d+)/.exec(table);
  return m ? Number(m[1]) : undefined;
};

test.serial(
  'after a create on a user network, entries carry the resolver: its sockets and rules; a create without it never gets them',
  async (t) => {
    await w.ok(['network', 'create', 'dnspool']);
    // the take of this create wants the resolver: the refill makes entries with it
    await w.ok(['run', '-d', '--name', 'dnsa', '--network', 'dnspool', 'busybox', 'sleep', '1000']);
    let ready: Array<{ entry: string; port: number }> = [];
    let seen: string[] = [];
    t.true(
      await eventually(async () => {
        const found: Array<{ entry: string; port: number }> = [];
        for (const e of entries()) {
          const port = udpPortOf(await dnsTable(e));
          // the rules point at a UDP socket bound to 127.0.0.11 in the entry
          if (port !== undefined && (await resolverUdpPorts(e)).includes(port)) found.push({ entry: e, port });
        }
        ready = found;
        seen = await Promise.all(entries().map(async (e) => `${e}: ${await dnsTable(e)} ${await resolverUdpPorts(e)}`));
        return found.length === 2;
      }),
      `entries with the resolver ready: ${JSON.stringify(ready)}; ${seen.join('; ')}`,
    );
    for (const { entry } of ready) t.deepEqual(await links(entry), ['lo UNKNOWN'], `${entry} holds only lo`);
    const ports = new Set(ready.map((r) => r.port));

    // the next container on the network takes one: its resolver answers on those ports
    const id = (await w.ok(['run', '-d', '--name', 'dnsb', '--network', 'dnspool', 'busybox', 'sleep', '1000'])).trim();
    const key = JSON.parse(await w.ok(['inspect', id]))[0].NetworkSettings.SandboxKey as string;
    const port = udpPortOf(await dnsTable(key));
    t.true(
      port !== undefined && ports.has(port),
      `the sandbox's rules came with its entry (port ${port}, entries ${[...ports]})`,
    );
    t.deepEqual(await resolverUdpPorts(key), [port], 'one resolver socket, the one the rules point at');
    const r = await w.cli(['exec', 'dnsb', 'nslookup', 'dnsa']);
    t.is(r.exitCode, 0, r.stdout + r.stderr);
    t.regex(r.stdout, /Name:\s+dnsa/);

    // a container without the embedded resolver (default bridge): no DNS table in its sandbox
    const plain = (await w.ok(['run', '-d', 'busybox', 'sleep', '1000'])).trim();
    const plainKey = JSON.parse(await w.ok(['inspect', plain]))[0].NetworkSettings.SandboxKey as string;
    t.is(await dnsTable(plainKey), '', 'no DNS rules in a sandbox without the embedded resolver');
    t.deepEqual(await resolverUdpPorts(plainKey), []);
    // and the pool makes plain entries again
    t.true(
      await eventually(async () => {
        const es = entries();
        if (es.length !== 2) return false;
        for (const e of es) if ((await dnsTable(e)) !== '') return false;
        return true;
      }),
    );
    await w.ok(['rm', '-f', 'dnsa', 'dnsb', plain]);
    await w.ok(['network', 'rm', 'dnspool']);
  },
);

test.serial('a kill -9 leaves the entries; the next start sweeps them and makes new ones', async (t) => {
  t.true(await eventually(() => entries().length === 2));
  const old = entries();
  await w.killDaemon('SIGKILL');
  t.deepEqual(entries().sort(), [...old].sort(), 'kill -9 leaves them (nothing ran to remove them)');
  await w.startDaemon();
  t.true(await eventually(() => entries().length === 2));
  t.deepEqual(
    entries().filter((e) => old.includes(e)),
    [],
    'the dead daemon’s entries were swept, not reused',
  );
  t.regex(w.daemonLog(), new RegExp(`swept .*netns ${old[0]!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
});

/** accept_ra of eth0 and of `default` inside a running container (kernel/netns-birth.ts). */
async function acceptRa(id: string): Promise<string> {
  const r = await w.cli([
    'exec',
    id,
    'cat',
    '/proc/sys/net/ipv6/conf/eth0/accept_ra',
    '/proc/sys/net/ipv6/conf/default/accept_ra',
  ]);
  return r.stdout.split('\n').filter(Boolean).join(' ');
}

test.serial('router advertisements are refused in a container netns from the pool and in one made at the create', async (t) => {
  // a neighbour on the bridge could otherwise hand an IPv4-only container IPv6 addresses and a
  // default route through itself (CVE-2020-13401 in Docker)
  await w.ok(['network', 'create', 'ranet']);
  t.true(await eventually(() => entries().length === 2), 'the pool is full: the next create takes an entry');
  const pooled = (await w.ok(['run', '-d', '--network', 'ranet', 'busybox', 'sleep', '1000'])).trim();
  t.is(await acceptRa(pooled), '0 0', 'a namespace from the pool');
  await w.ok(['rm', '-f', pooled]);
  await w.killDaemon('SIGTERM');
  await w.startDaemon(['--netns-pool', '0']);
  try {
    const made = (await w.ok(['run', '-d', '--network', 'ranet', 'busybox', 'sleep', '1000'])).trim();
    t.is(await acceptRa(made), '0 0', 'a namespace made at the create (no pool)');
    await w.ok(['rm', '-f', made]);
    await w.ok(['network', 'rm', 'ranet']);
  } finally {
    await w.killDaemon('SIGTERM');
    await w.startDaemon();
  }
});

test.serial('a stop removes every entry; --netns-pool 0 makes none', async (t) => {
  t.true(await eventually(() => entries().length === 2));
  await w.killDaemon('SIGTERM');
  t.deepEqual(entries(), [], 'no pool mount after the stop');
  t.deepEqual(files(), [], 'no pool file after the stop');
  await w.startDaemon(['--netns-pool', '0']);
  const id = (await w.ok(['run', '-d', 'busybox', 'sleep', '1000'])).trim();
  t.deepEqual(files(), []);
  await w.ok(['rm', '-f', id]);
  await w.killDaemon('SIGTERM');
  await w.startDaemon();
});
