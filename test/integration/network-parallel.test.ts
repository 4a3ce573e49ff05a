/**
 * Many containers started at once on one user bridge: each gets its own address, and every one is
 * reachable by name (embedded DNS answer = the inspected address, and a ping by name answers)
 * from another container on the network.
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

const COUNT = 24;

test(`${COUNT} parallel run -d on one bridge: distinct addresses, all reachable by name`, async (t) => {
  t.timeout(300_000);
  const net = 'crowd';
  await w.ok(['network', 'create', '--subnet', '10.44.0.0/24', net]);
  const names = Array.from({ length: COUNT }, (_, i) => `c${i}`);
  t.teardown(async () => {
    await w.cli(['rm', '-f', 'asker', ...names]);
    await w.cli(['network', 'rm', net]);
  });
  const started = await Promise.all(
    names.map((n) => w.cli(['run', '-d', '--name', n, '--network', net, 'busybox', 'sleep', '1000'], { timeoutMs: 240_000 })),
  );
  started.forEach((r, i) => {
    t.is(r.exitCode, 0, `${names[i]}: ${r.stderr}`);
  });

  const inspected = JSON.parse(await w.ok(['inspect', ...names])) as Array<{
    Name: string;
    State: { Running: boolean };
    NetworkSettings: { Networks: Record<string, { IPAddress: string }> };
  }>;
  const ipOf = new Map(inspected.map((c) => [c.Name.replace(/^\//, ''), c.NetworkSettings.Networks[net]?.IPAddress ?? '']));
  t.is(ipOf.size, COUNT);
  t.true(
    inspected.every((c) => c.State.Running),
    'all running',
  );
  for (const [name, ip] of ipOf) t.regex(ip, /^10\.44\.0\.\d+$/, `${name} has an address in the subnet`);
  t.is(new Set(ipOf.values()).size, COUNT, `distinct addresses: ${JSON.stringify([...ipOf])}`);

  // from one more container: every name resolves to that container's address and answers a ping
  await w.ok(['run', '-d', '--name', 'asker', '--network', net, 'busybox', 'sleep', '1000']);
  const script = names
    .map((n) => `echo "== ${n}"; nslookup -type=a ${n} 127.0.0.11; ping -c 1 -W 2 ${n} >/dev/null && echo "ping-ok ${n}"`)
    .join('; ');
  const r = await w.cli(['exec', 'asker', 'sh', '-c', script], { timeoutMs: 240_000 });
  const sections = new Map(
    r.stdout
      .split(/^== /m)
      .filter(Boolean)
      .map((s) => [s.split('\n')[0]!.trim(), s] as const),
  );
  for (const name of names) {
    const section = sections.get(name) ?? '';
    const at = section.search(/^Name:/m);
    const answers =
      at < 0 ? [] : [...section.slice(at).matchAll(/^Address(?:\s+\d+)?:\s*(\d+\.\d+\.\d+\.\d+)\s*$/gm)].map((m) => m[1]);
    t.deepEqual(answers, [ipOf.get(name)], `${name} resolves to its own address: ${section}`);
    t.regex(section, new RegExp(`^ping-ok ${name}$`, 'm'), `${name} answers a ping by name: ${section}`);
  }
});
