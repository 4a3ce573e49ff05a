/**
 * Issue 12's acceptance: docker-compose 1.29 (Debian) drives a throwaway tsnetd. A project
 * with two services on two networks, an alias, a published port, a healthcheck that the other
 * service waits for (service_healthy), restart: always and a named volume survives up -d, a
 * config change (recreate), --scale, pause/unpause, a killed process and down -v — checked
 * by what happens: bytes through the published port and the alias, the volume's data.
 */
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { api } from '../helpers/api.js';
import { cleanEnv, createWorld, eventually, run, type World } from '../helpers/world.js';

const COMPOSE = '/usr/bin/docker-compose';
let w: World;
let project: string;
let dir: string;

test.before(async () => {
  if (!fs.existsSync(COMPOSE)) throw new Error(`${COMPOSE} is missing: apt-get install docker-compose (scripts/setup.sh)`);
  w = await createWorld();
  project = `tc${w.id}`;
  dir = path.join(w.dir, 'project');
  fs.mkdirSync(dir);
  writeCompose('1');
});
test.after.always(async () => {
  if (w && dir) await compose(['down', '-v', '--timeout', '1']).catch(() => undefined);
  await w?.teardown();
});

function writeCompose(gen: string): void {
  fs.writeFileSync(
    path.join(dir, 'docker-compose.yml'),
    `version: "2.4"
services:
  web:
    image: busybox
    command: ["sh", "-c", "[ -f /www/created ] || echo $$$$-$$RANDOM > /www/created; echo ok > /www/index.html; exec httpd -f -p 80 -h /www"]
    environment:
      GEN: "${gen}"
    ports:
      - "8080:80"
    volumes:
      - webdata:/www
    networks:
      front: {}
      back:
        aliases: [webalias]
    restart: always
    healthcheck:
      test: ["CMD-SHELL", "wget -q -O- http://127.0.0.1/index.html | grep -q ok"]
      interval: 1s
      timeout: 2s
      retries: 3
  client:
    image: busybox
    command: ["sleep", "100000"]
    networks: [back]
    depends_on:
      web:
        condition: service_healthy
volumes:
  webdata: {}
networks:
  front: {}
  back: {}
`,
  );
}

async function compose(args: string[]): Promise<string> {
  const r = await run(COMPOSE, ['-f', path.join(dir, 'docker-compose.yml'), '-p', project, ...args], {
    env: cleanEnv({ DOCKER_HOST: `unix://${w.socket}`, HOME: w.dir, DOCKER_CONFIG: path.join(w.dir, 'docker-config') }),
    timeoutMs: 180_000,
  });
  if (r.exitCode !== 0) throw new Error(`docker-compose ${args.join(' ')} failed (${r.exitCode}):\n${r.stderr}\n${r.stdout}`);
  return `${r.stdout}${r.stderr}`;
}

interface Inspect {
  Id: string;
  Name: string;
  RestartCount: number;
  Config: { Env: string[] };
  State: { Status: string; Running: boolean; Paused: boolean; Pid: number; Health?: { Status: string } };
}
const inspect = async (name: string) => (await api(w.socket, { path: `/containers/${name}/json` })).json as Inspect;
const containerNames = async () =>
  ((await api(w.socket, { path: '/containers/json?all=1' })).json as Array<{ Names: string[] }>)
    .map((c) => c.Names[0]!.slice(1))
    .sort();

/** GET through the published port from the world's host netns (a real TCP connection to the DNAT). */
async function viaPort(file: string): Promise<string> {
  const r = await w.inHost(['busybox', 'timeout', '3', 'busybox', 'wget', '-qO-', `http://127.0.0.1:8080/${file}`]);
  return r.exitCode === 0 ? r.stdout : `(failed: ${r.stderr.trim()})`;
}

async function viaAlias(client: string): Promise<string> {
  const r = await w.cli(['exec', client, 'timeout', '3', 'wget', '-qO-', 'http://webalias/index.html']);
  return r.exitCode === 0 ? r.stdout : `(failed: ${r.stderr.trim()})`;
}

test.serial('docker-compose: up, recreate, scale, pause, a killed process, down -v', async (t) => {
  const web = `${project}_web_1`;
  const client1 = `${project}_client_1`;

  // up -d: the client starts only once web is healthy (depends_on: service_healthy)
  await compose(['up', '-d']);
  const w1 = await inspect(web);
  t.is(w1.State.Health?.Status, 'healthy');
  t.true((await inspect(client1)).State.Running);
  t.is(await viaPort('index.html'), 'ok\n');
  t.is(await viaAlias(client1), 'ok\n');
  const created = await viaPort('created');
  t.regex(created, /^\d+-\d+\n$/);

  // a config change: web is recreated (new container, new env), the volume's data stays
  writeCompose('2');
  const out = await compose(['up', '-d']);
  t.regex(out, /Recreating .*web_1/);
  const w2 = await inspect(web);
  t.not(w2.Id, w1.Id);
  t.true(w2.Config.Env.includes('GEN=2'));
  t.is(await eventually(async () => ((await viaPort('created')) === created ? created : ''), 30_000), created);
  t.is(await eventually(async () => ((await viaAlias(client1)) === 'ok\n' ? 'ok\n' : ''), 30_000), 'ok\n');

  // --scale: a second client on the back network reaches the alias too
  await compose(['up', '-d', '--scale', 'client=2']);
  const client2 = `${project}_client_2`;
  t.true((await inspect(client2)).State.Running);
  t.is(await viaAlias(client2), 'ok\n');
  t.deepEqual(await containerNames(), [client1, client2, web].sort());

  // pause / unpause: frozen, then serving again
  await compose(['pause']);
  for (const n of [web, client1, client2]) t.true((await inspect(n)).State.Paused, n);
  await compose(['unpause']);
  for (const n of [web, client1, client2]) t.false((await inspect(n)).State.Paused, n);
  t.is(await viaPort('index.html'), 'ok\n');

  // the web process killed behind the daemon's back: restart: always brings it back
  const before = await inspect(web);
  process.kill(before.State.Pid, 'SIGKILL');
  const after = await eventually(async () => {
    const i = await inspect(web);
    return i.RestartCount === before.RestartCount + 1 && i.State.Running && i.State.Pid !== before.State.Pid ? i : undefined;
  }, 30_000);
  t.truthy(after, 'restarted by policy');
  t.is(await eventually(async () => ((await viaPort('created')) === created ? created : ''), 30_000), created);

  // down -v: containers, networks and the named volume (with its data) are gone
  const volName = `${project}_webdata`;
  const mountpoint = ((await api(w.socket, { path: `/volumes/${volName}` })).json as { Mountpoint: string }).Mountpoint;
  t.true(fs.existsSync(path.join(mountpoint, 'created')));
  await compose(['down', '-v']);
  t.deepEqual(await containerNames(), []);
  const nets = ((await api(w.socket, { path: '/networks' })).json as Array<{ Name: string }>).map((n) => n.Name);
  t.false(
    nets.some((n) => n.startsWith(project)),
    nets.join(' '),
  );
  t.is((await api(w.socket, { path: `/volumes/${volName}` })).status, 404);
  t.false(fs.existsSync(path.dirname(mountpoint)));
  t.regex(await viaPort('index.html'), /failed/);
});
