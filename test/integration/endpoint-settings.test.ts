/**
 * Endpoint settings as Docker clients give them (issue 11.4), checked inside the containers with
 * files and packets: `--link` on the default bridge (/etc/hosts, link variables, ping by alias),
 * a link on a user network (the alias resolves in the embedded DNS for the linker only),
 * `--mac-address` in both API forms (the interface has it), `--link-local-ip` (on the interface,
 * reached by a neighbour), endpoint DriverOpts (to a remote plugin's CreateEndpoint, and in
 * inspect). Bad values are one line and leave nothing behind.
 */
import test from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { serveNetworkPlugin, type CreateEndpointRequest, type PluginServer } from '../../plugins/sdk/src/index.js';
import { api } from '../helpers/api.js';
import { createWorld, type World } from '../helpers/world.js';

let w: World;
let pluginDir: string;
let plugin: PluginServer;
const created: CreateEndpointRequest[] = [];

test.before(async () => {
  pluginDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-epset-'));
  w = await createWorld({ daemonArgs: ['--plugin-dir', pluginDir, '--plugin-timeout', '5000'] });
  // a plugin that keeps what CreateEndpoint was told and gives the container no interface
  plugin = await serveNetworkPlugin({
    name: 'optsrec',
    socketDir: pluginDir,
    handlers: {
      createNetwork: () => undefined,
      deleteNetwork: () => undefined,
      createEndpoint: (req) => {
        created.push(req);
      },
      deleteEndpoint: () => undefined,
      join: () => ({}),
      leave: () => undefined,
    },
  });
});
test.after.always(async () => {
  await w?.teardown();
  await plugin?.close();
  if (pluginDir) fs.rmSync(pluginDir, { recursive: true, force: true });
});

const ok = (args: string[]): Promise<string> => w.ok(args);
interface Endpoint {
  IPAddress: string;
  Aliases: string[] | null;
  DNSNames: string[] | null;
  MacAddress: string;
  Links: string[] | null;
  DriverOpts: Record<string, string> | null;
  IPAMConfig: Record<string, unknown> | null;
}
interface Inspect {
  HostConfig: { Links: string[] | null };
  Config: { MacAddress?: string };
  NetworkSettings: { Networks: Record<string, Endpoint> };
}
const inspect = async (c: string): Promise<Inspect> => (JSON.parse(await ok(['inspect', c])) as Inspect[])[0]!;
/** The container's endpoint on a network (fails loudly when it has none). */
const epOf = async (c: string, net: string): Promise<Endpoint> => {
  const ep = (await inspect(c)).NetworkSettings.Networks[net];
  if (!ep) throw new Error(`${c} has no endpoint on ${net}`);
  return ep;
};

function answerAddresses(out: string): string[] {
  const at = out.search(/^Name:/m);
  if (at < 0) return [];
  return [...out.slice(at).matchAll(/^Address(?:\s+\d+)?:\s*(\d+\.\d+\.\d+\.\d+)\s*$/gm)].map((m) => m[1]!);
}
async function resolve(from: string, name: string): Promise<string[]> {
  const r = await w.cli(['exec', from, 'nslookup', '-type=a', name, '127.0.0.11']);
  return answerAddresses(r.stdout);
}

/** A create that must fail with one line and leave no container behind. */
async function refused(t: import('ava').ExecutionContext, args: string[], msg: RegExp): Promise<void> {
  const before = await ok(['ps', '-aq']);
  const r = await w.cli(args);
  t.not(r.exitCode, 0, `${args.join(' ')} was accepted`);
  t.regex(r.stderr, msg);
  t.is(r.stderr.trim().split('\n').length, 1, r.stderr);
  t.is(await ok(['ps', '-aq']), before, 'nothing left behind');
}

test.serial('--link on the default bridge: /etc/hosts, link variables (run and exec), ping by alias, inspect', async (t) => {
  const db = `db-${w.id}`;
  const web = `web-${w.id}`;
  await ok(['run', '-d', '--name', db, '-h', 'dbhost', '-e', 'PGUSER=app', '--expose', '5432', 'busybox', 'sleep', '1000']);
  const dbIp = (await epOf(db, 'bridge')).IPAddress;
  await ok(['run', '-d', '--name', web, '--link', `${db}:store`, 'busybox', 'sleep', '1000']);
  const hosts = await ok(['exec', web, 'cat', '/etc/hosts']);
  t.regex(hosts, new RegExp(`^${dbIp.replaceAll('.', '\\.')}\\tstore dbhost ${db}$`, 'm'), hosts);
  const env1 = await ok(['exec', web, 'cat', '/proc/1/environ']);
  const pid1 = env1.split('\0');
  for (const v of [
    `STORE_PORT=tcp://${dbIp}:5432`,
    `STORE_PORT_5432_TCP=tcp://${dbIp}:5432`,
    `STORE_PORT_5432_TCP_ADDR=${dbIp}`,
    'STORE_PORT_5432_TCP_PORT=5432',
    'STORE_PORT_5432_TCP_PROTO=tcp',
    `STORE_NAME=/${web}/store`,
    'STORE_ENV_PGUSER=app',
  ])
    t.true(pid1.includes(v), `${v} in PID 1's environment: ${pid1.join(' ')}`);
  t.false(
    pid1.some((v) => v.startsWith('STORE_ENV_PATH=')),
    'PATH of the target is not passed',
  );
  t.regex(await ok(['exec', web, 'env']), new RegExp(`^STORE_PORT=tcp://${dbIp.replaceAll('.', '\\.')}:5432$`, 'm'));
  const ping = await w.cli(['exec', web, 'ping', '-c', '1', '-W', '2', 'store']);
  t.is(ping.exitCode, 0, ping.stdout + ping.stderr);
  t.regex(ping.stdout, new RegExp(`from ${dbIp.replaceAll('.', '\\.')}`));
  const ins = await inspect(web);
  t.deepEqual(ins.HostConfig.Links, [`/${db}:/${web}/store`]);
  t.deepEqual(ins.NetworkSettings.Networks.bridge?.Links, [`${db}:store`]);
  t.is((await inspect(db)).HostConfig.Links, null);

  // a stopped target fails the linker's start with one line
  await ok(['stop', '-t', '0', db]);
  await ok(['stop', '-t', '0', web]);
  const r = await w.cli(['start', web]);
  t.not(r.exitCode, 0);
  t.regex(r.stderr, /Cannot link to a non running container: \/db-\S+ AS \/web-\S+\/store/);
  t.is(r.stderr.trim().split('\n').length, 1, r.stderr);

  // rm --link PARENT/ALIAS: the link goes (hosts entry, inspect), both containers stay
  await ok(['start', db]);
  await ok(['start', web]);
  t.regex(await ok(['exec', web, 'cat', '/etc/hosts']), /\tstore /);
  await ok(['rm', '--link', `${web}/store`]);
  t.notRegex(await ok(['exec', web, 'cat', '/etc/hosts']), /\bstore\b/);
  t.is((await inspect(web)).HostConfig.Links, null);
  t.regex(await ok(['ps', '-a', '--format', '{{.Names}}']), new RegExp(`^${db}$`, 'm'));
  const again = await w.cli(['rm', '--link', `${web}/store`]);
  t.not(again.exitCode, 0);
  t.regex(again.stderr, /No such container: web-\S+\/store/);
  await ok(['rm', '-f', web, db]);
});

test.serial('--link refusals: unknown target, bad form, host network', async (t) => {
  await refused(t, ['create', '--link', `nosuch-${w.id}:x`, 'busybox', 'true'], /could not get container for nosuch-/);
  await refused(
    t,
    ['create', '--link', 'a:b:c', 'busybox', 'true'],
    /^tsnet: invalid argument "a:b:c" for "--link": want NAME or NAME:ALIAS$/m,
  );
  const target = `tgt-${w.id}`;
  await ok(['create', '--name', target, 'busybox', 'true']);
  await refused(
    t,
    ['create', '--network', 'host', '--link', target, 'busybox', 'true'],
    /host type networking can not be used with links/,
  );
  await ok(['rm', target]);
});

test.serial('a link on a user network: the alias resolves for the linker only, even for a target made later', async (t) => {
  const net = `ln-${w.id}`;
  await ok(['network', 'create', net]);
  const linker = `linker-${w.id}`;
  const other = `other-${w.id}`;
  const up = `upstream-${w.id}`;
  await ok(['run', '-d', '--name', linker, '--network', net, '--link', `${up}:bar`, 'busybox', 'sleep', '1000']);
  await ok(['run', '-d', '--name', other, '--network', net, 'busybox', 'sleep', '1000']);
  t.deepEqual(await resolve(linker, 'bar'), [], 'no target yet');
  await ok(['run', '-d', '--name', up, '--network', net, 'busybox', 'sleep', '1000']);
  const upIp = (await epOf(up, net)).IPAddress;
  t.deepEqual(await resolve(linker, 'bar'), [upIp]);
  t.deepEqual(await resolve(linker, `bar.${net}`), [upIp]);
  t.deepEqual(await resolve(other, 'bar'), [], 'another container on the network does not see the alias');
  const ping = await w.cli(['exec', linker, 'ping', '-c', '1', '-W', '2', 'bar']);
  t.is(ping.exitCode, 0, ping.stdout + ping.stderr);
  t.regex(ping.stdout, new RegExp(`from ${upIp.replaceAll('.', '\\.')}`));
  const ins = await inspect(linker);
  t.deepEqual(ins.NetworkSettings.Networks[net]?.Links, [`${up}:bar`]);
  // Aliases exactly as given from API 1.45; before, Docker adds the short id and the hostname
  const id12 = ((await inspect(linker)) as unknown as { Id: string }).Id.slice(0, 12);
  t.is(ins.NetworkSettings.Networks[net]?.Aliases, null);
  const at144 = (await api(w.socket, { path: `/v1.44/containers/${linker}/json` })).json as Inspect;
  t.deepEqual(at144.NetworkSettings.Networks[net]?.Aliases, [id12]);
  t.deepEqual(at144.NetworkSettings.Networks[net]?.DNSNames, [linker, id12]);
  t.is(ins.HostConfig.Links, null, 'Docker shows no legacy links on a user network');
  t.notRegex(await ok(['exec', linker, 'cat', '/etc/hosts']), /\bbar\b/, 'no hosts entry on a user network');

  // network connect --link: the same, given at connect
  const net2 = `ln2-${w.id}`;
  await ok(['network', 'create', net2]);
  await ok(['network', 'connect', net2, up]);
  await ok(['network', 'connect', '--link', `${up}:baz`, net2, other]);
  const upIp2 = (await epOf(up, net2)).IPAddress;
  t.deepEqual(await resolve(other, 'baz'), [upIp2]);
  t.deepEqual((await epOf(other, net2)).Links, [`${up}:baz`]);
  await ok(['rm', '-f', linker, other, up]);
  await ok(['network', 'rm', net, net2]);
});

test.serial('--mac-address: the interface has it (CLI and API < 1.44 Config.MacAddress); bad ones refused', async (t) => {
  const a = `mac-${w.id}`;
  await ok(['run', '-d', '--name', a, '--mac-address', '02:42:AC:11:00:0A', 'busybox', 'sleep', '1000']);
  t.regex(await ok(['exec', a, 'ip', 'link', 'show', 'eth0']), /link\/ether 02:42:ac:11:00:0a /);
  t.is((await epOf(a, 'bridge')).MacAddress, '02:42:ac:11:00:0a');
  await ok(['rm', '-f', a]);

  const r = await api(w.socket, {
    method: 'POST',
    path: `/v1.43/containers/create?name=old-${w.id}`,
    body: { Image: 'busybox', Cmd: ['sleep', '1000'], MacAddress: '02:42:ac:11:00:0b' },
  });
  t.is(r.status, 201, r.text);
  await ok(['start', `old-${w.id}`]);
  t.regex(await ok(['exec', `old-${w.id}`, 'cat', '/sys/class/net/eth0/address']), /^02:42:ac:11:00:0b$/);
  const old = await api(w.socket, { path: `/v1.43/containers/old-${w.id}/json` });
  t.is((old.json as Inspect).Config.MacAddress, '02:42:ac:11:00:0b');
  await ok(['rm', '-f', `old-${w.id}`]);

  await refused(t, ['create', '--mac-address', '01:00:5e:00:00:01', 'busybox', 'true'], /multicast address/);
  await refused(t, ['create', '--mac-address', '00:00:00:00:00:00', 'busybox', 'true'], /all zeros/);
  await refused(t, ['create', '--mac-address', 'zz:00:5e:00:00:01', 'busybox', 'true'], /--mac-address/);
});

test.serial('--link-local-ip: on the interface with /16, reached from a neighbour; in inspect as given', async (t) => {
  const a = `ll-a-${w.id}`;
  const b = `ll-b-${w.id}`;
  await ok(['run', '-d', '--name', a, '--link-local-ip', '169.254.8.8', 'busybox', 'sleep', '1000']);
  await ok(['run', '-d', '--name', b, '--link-local-ip', '169.254.8.9', 'busybox', 'sleep', '1000']);
  t.regex(await ok(['exec', a, 'ip', '-4', 'addr', 'show', 'eth0']), /inet 169\.254\.8\.8\/16 /);
  const ping = await w.cli(['exec', b, 'ping', '-c', '1', '-W', '2', '169.254.8.8']);
  t.is(ping.exitCode, 0, ping.stdout + ping.stderr);
  t.deepEqual((await epOf(a, 'bridge')).IPAMConfig, { LinkLocalIPs: ['169.254.8.8'] });
  await ok(['rm', '-f', a, b]);
  await refused(
    t,
    ['create', '--link-local-ip', 'nope', 'busybox', 'true'],
    /^tsnet: invalid argument "nope" for "--link-local-ip": not an IP address$/m,
  );
});

test.serial('endpoint DriverOpts: top-level keys of a plugin CreateEndpoint, reported back by inspect', async (t) => {
  const net = `po-${w.id}`;
  await ok(['network', 'create', '-d', 'optsrec', net]);
  const c = `po-c-${w.id}`;
  const r = await api(w.socket, {
    method: 'POST',
    path: `/containers/create?name=${c}`,
    body: {
      Image: 'busybox',
      Cmd: ['sleep', '1000'],
      HostConfig: { NetworkMode: net },
      NetworkingConfig: { EndpointsConfig: { [net]: { DriverOpts: { 'com.example.vlan': '42', 'x.y': 'on' } } } },
    },
  });
  t.is(r.status, 201, r.text);
  const got = created.at(-1);
  t.is(got?.Options['com.example.vlan'], '42', JSON.stringify(got));
  t.is(got?.Options['x.y'], 'on');
  t.deepEqual((await epOf(c, net)).DriverOpts, { 'com.example.vlan': '42', 'x.y': 'on' });

  // network connect --driver-opt, to the plugin and to the bridge driver (which ignores unknown keys, as Docker's)
  const bridged = `po-b-${w.id}`;
  const bnet = `pb-${w.id}`;
  await ok(['network', 'create', bnet]);
  await ok(['create', '--name', bridged, '--network', bnet, 'busybox', 'true']);
  await ok(['network', 'connect', '--driver-opt', 'com.example.k=v=1', net, bridged]);
  t.is(created.at(-1)?.Options['com.example.k'], 'v=1');
  await ok(['network', 'disconnect', bnet, bridged]);
  await ok(['network', 'connect', '--driver-opt', 'com.example.b=2', bnet, bridged]);
  const ins = await inspect(bridged);
  t.deepEqual(ins.NetworkSettings.Networks[net]?.DriverOpts, { 'com.example.k': 'v=1' });
  t.deepEqual(ins.NetworkSettings.Networks[bnet]?.DriverOpts, { 'com.example.b': '2' });
  t.is((await epOf(c, net)).Links, null);
  await ok(['rm', '-f', c, bridged]);
  await ok(['network', 'rm', net, bnet]);
});
