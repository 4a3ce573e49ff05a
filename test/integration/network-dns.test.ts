/**
 * Embedded DNS on user-defined networks: names, aliases, ids; not across networks; not on the
 * default bridge; names go away on disconnect and rm, and their addresses return to the pool.
 *
 * Every resolution is checked against the address `inspect` reports, never by the shape of
 * nslookup's output (busybox prints the server's own `Address:` line even on NXDOMAIN).
 */
import test from 'ava';
import { createWorld, type World } from '../helpers/world.js';

let w: World;
test.before(async () => {
  w = await createWorld();
});
test.after.always(async () => {
  await w?.teardown();
});

const ok = (args: string[]): Promise<string> => w.ok(args);

async function ipOf(container: string, network: string): Promise<string> {
  const ip = await ok(['inspect', '-f', `{{.NetworkSettings.Networks.${network}.IPAddress}}`, container]);
  if (!/^\d+\.\d+\.\d+\.\d+$/.test(ip)) throw new Error(`${container} has no IPv4 address on ${network}: "${ip}"`);
  return ip;
}

/**
 * The IPv4 addresses in the answer of `nslookup <name> 127.0.0.11`, run in `from` (a running
 * container): the `Address` lines after the `Name:` line (the lines before it describe the server).
 */
async function resolve(from: string, name: string): Promise<string[]> {
  const r = await w.cli(['exec', from, 'nslookup', '-type=a', name, '127.0.0.11']);
  return answerAddresses(r.stdout);
}

function answerAddresses(out: string): string[] {
  const at = out.search(/^Name:/m);
  if (at < 0) return [];
  return [...out.slice(at).matchAll(/^Address(?:\s+\d+)?:\s*(\d+\.\d+\.\d+\.\d+)\s*$/gm)].map((m) => m[1]!);
}

test('containers resolve each other by name, alias and short id on a user network', async (t) => {
  await ok(['network', 'create', 'backend']);
  await ok(['network', 'create', 'elsewhere']);
  t.teardown(async () => {
    await w.cli(['rm', '-f', 'db', 'far']);
    await w.cli(['network', 'rm', 'backend', 'elsewhere']);
  });
  const dbId = await ok([
    'run',
    '-d',
    '--name',
    'db',
    '--network',
    'backend',
    '--network-alias',
    'database',
    'busybox',
    'sh',
    '-c',
    'mkdir -p /www && echo db-says-hi > /www/index.html && exec httpd -f -p 80 -h /www',
  ]);
  await ok(['run', '-d', '--name', 'far', '--network', 'elsewhere', 'busybox', 'sleep', '1000']);
  const dbIp = await ipOf('db', 'backend');
  const resolv = await w.cli(['run', '--rm', '--network', 'backend', 'busybox', 'cat', '/etc/resolv.conf']);
  t.regex(resolv.stdout, /nameserver 127\.0\.0\.11/);
  for (const name of ['db', 'database', dbId.slice(0, 12), 'db.backend']) {
    const r = await w.cli([
      'run',
      '--rm',
      '--network',
      'backend',
      'busybox',
      'sh',
      '-c',
      `nslookup -type=a ${name} 127.0.0.11; timeout 5 wget -qO- http://${name}/; exit $?`,
    ]);
    t.deepEqual(answerAddresses(r.stdout), [dbIp], `${name} resolves to db's address: ${r.stdout}`);
    t.regex(r.stdout, /^db-says-hi$/m, `${name}: ${r.stderr}`);
  }
  // the same query from the other network gets no answer (the name exists, just not there)
  t.deepEqual(await resolve('far', 'db'), [], 'names do not resolve across networks');
  t.deepEqual(await resolve('far', 'database'), []);
  // live connect: the far container joins backend with an alias and becomes resolvable
  t.deepEqual(await resolve('db', 'api'), [], 'no "api" before the connect');
  await ok(['network', 'connect', '--alias', 'api', 'backend', 'far']);
  const farIp = await ipOf('far', 'backend');
  t.deepEqual(await resolve('db', 'api'), [farIp], "the alias resolves to far's address on backend");
  t.deepEqual(await resolve('db', 'far'), [farIp]);
});

test('the default bridge network has no name resolution', async (t) => {
  await ok(['run', '-d', '--name', 'plain', 'busybox', 'sleep', '1000']);
  t.teardown(() => w.cli(['rm', '-f', 'plain']));
  const resolv = await w.cli(['run', '--rm', 'busybox', 'cat', '/etc/resolv.conf']);
  t.notRegex(resolv.stdout, /127\.0\.0\.11/);
  const r = await w.cli(['run', '--rm', 'busybox', 'sh', '-c', `timeout 5 nslookup plain 127.0.0.11; exit $?`]);
  t.not(r.exitCode, 0);
  t.deepEqual(answerAddresses(r.stdout), []);
});

test('name and aliases stop resolving after disconnect and after rm; the addresses return to the pool', async (t) => {
  const net = 'fades';
  await ok(['network', 'create', '--subnet', '10.33.0.0/24', net]);
  t.teardown(async () => {
    await w.cli(['rm', '-f', 'asker', 'leaver', 'remover', 'reuse1', 'reuse2']);
    await w.cli(['network', 'rm', net]);
  });
  await ok(['run', '-d', '--name', 'asker', '--network', net, 'busybox', 'sleep', '1000']);
  const common = ['-d', '--network', net, 'busybox', 'sleep', '1000'];
  await ok(['run', '--name', 'leaver', '--network-alias', 'la1', '--network-alias', 'la2', '--ip', '10.33.0.50', ...common]);
  await ok(['run', '--name', 'remover', '--network-alias', 'ra1', '--ip', '10.33.0.60', ...common]);
  // first: every name answers with the right address
  for (const name of ['leaver', 'la1', 'la2', 'leaver.fades']) t.deepEqual(await resolve('asker', name), ['10.33.0.50'], name);
  for (const name of ['remover', 'ra1']) t.deepEqual(await resolve('asker', name), ['10.33.0.60'], name);

  await ok(['network', 'disconnect', net, 'leaver']);
  for (const name of ['leaver', 'la1', 'la2', 'leaver.fades'])
    t.deepEqual(await resolve('asker', name), [], `${name} is gone after disconnect`);
  t.deepEqual(await resolve('asker', 'remover'), ['10.33.0.60'], 'the other container still resolves');

  await ok(['rm', '-f', 'remover']);
  for (const name of ['remover', 'ra1']) t.deepEqual(await resolve('asker', name), [], `${name} is gone after rm`);

  // both addresses are free again: new containers can take them explicitly
  await ok(['run', '--name', 'reuse1', '--ip', '10.33.0.50', ...common]);
  await ok(['run', '--name', 'reuse2', '--ip', '10.33.0.60', ...common]);
  t.is(await ipOf('reuse1', net), '10.33.0.50');
  t.is(await ipOf('reuse2', net), '10.33.0.60');
  t.deepEqual(await resolve('asker', 'reuse1'), ['10.33.0.50']);
  t.deepEqual(await resolve('asker', 'reuse2'), ['10.33.0.60']);
  t.deepEqual(await resolve('asker', 'la1'), [], 'the new owner of the address does not inherit old aliases');
});
