/** Embedded DNS on user-defined networks: names, aliases, ids; not across networks; not on the default bridge. */
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

test('containers resolve each other by name, alias and short id on a user network', async (t) => {
  await ok(['network', 'create', 'backend']);
  await ok(['network', 'create', 'elsewhere']);
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
      `timeout 5 wget -qO- http://${name}/; exit $?`,
    ]);
    t.is(r.stdout.trim(), 'db-says-hi', `${name}: ${r.stderr}`);
  }
  const across = await w.cli(['run', '--rm', '--network', 'elsewhere', 'busybox', 'nslookup', 'db', '127.0.0.11']);
  t.notRegex(across.stdout, /Address: 10\.|Address: 172\.|Address: 192\./, 'names do not resolve across networks');
  // live connect: the far container joins backend with an alias and becomes resolvable
  await ok(['network', 'connect', '--alias', 'api', 'backend', 'far']);
  const api = await w.cli(['exec', 'db', 'nslookup', 'api', '127.0.0.11']);
  t.regex(api.stdout, /Address:?\s+\d+\.\d+\.\d+\.\d+/, api.stdout + api.stderr);
  await ok(['rm', '-f', 'db', 'far']);
  await ok(['network', 'rm', 'backend', 'elsewhere']);
});

test('the default bridge network has no name resolution', async (t) => {
  await ok(['run', '-d', '--name', 'plain', 'busybox', 'sleep', '1000']);
  const resolv = await w.cli(['run', '--rm', 'busybox', 'cat', '/etc/resolv.conf']);
  t.notRegex(resolv.stdout, /127\.0\.0\.11/);
  const r = await w.cli(['run', '--rm', 'busybox', 'sh', '-c', `timeout 5 nslookup plain 127.0.0.11; exit $?`]);
  t.not(r.exitCode, 0);
  await ok(['rm', '-f', 'plain']);
});
