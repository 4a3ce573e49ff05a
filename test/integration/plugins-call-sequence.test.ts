/**
 * Issue 15 (3): the calls a plugin receives for one container's life — network create, create,
 * start, stop, start, connect, disconnect, rm -f, network rm — recorded from tsnetd and from
 * dockerd 20.10 (Debian's docker.io) driving the same plugin (the p2p driver and the static
 * IPAM in one process, test/helpers/recording-plugin.ts). Each daemon's recorded sequence must
 * equal its column of the table in docs/plugins.md §3 ("Call sequences"), whose last column says
 * why tsnet differs where it does: the docs cannot drift from what either daemon does.
 */
import test, { type ExecutionContext } from 'ava';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cleanEnv, REPO, sleep, stopChild, waitForSocket } from '../conformance/harness.js';
import { BUSYBOX_TAR, DOCKER_PLUGIN_DIR, must, requireDocker, startDocker } from '../helpers/dockerd.js';
import { createWorld } from '../helpers/world.js';

const serial = test.serial;
test.before(() => requireDocker());

const STEPS = [
  'network create',
  'create',
  'start',
  'stop',
  'start again',
  'network connect',
  'network disconnect',
  'rm -f',
  'network rm',
] as const;
type Step = (typeof STEPS)[number];

/** Calls that are about the daemon finding the plugin, not about the container's life. */
const PROBES =
  /^(Plugin\.Activate|NetworkDriver\.GetCapabilities|IpamDriver\.GetCapabilities|IpamDriver\.GetDefaultAddressSpaces|NetworkDriver\.Discover(New|Delete)|NetworkDriver\.EndpointOperInfo)( !404)?$/;

/** The table of docs/plugins.md: step → { docker, tsnet } as lists of short call names. */
function documented(): Map<string, { docker: string[]; tsnet: string[] }> {
  const md = fs.readFileSync(path.join(REPO, 'docs', 'plugins.md'), 'utf8');
  const start = md.indexOf('<!-- call-sequences -->');
  const end = md.indexOf('<!-- /call-sequences -->');
  if (start < 0 || end < 0) throw new Error('docs/plugins.md has no <!-- call-sequences --> table');
  const rows = new Map<string, { docker: string[]; tsnet: string[] }>();
  const cells = (s: string) =>
    s
      .replace(/`/g, '')
      .split(',')
      .map((x) => x.trim())
      .filter((x) => x && x !== '—');
  for (const line of md.slice(start, end).split('\n')) {
    const m = /^\|\s*`?([^|`]+?)`?\s*\|([^|]*)\|([^|]*)\|/.exec(line);
    if (!m || /^(step|-+)$/i.test(m[1]!.trim()) || /^-+$/.test(m[2]!.trim())) continue;
    rows.set(m[1]!.trim(), { docker: cells(m[2]!), tsnet: cells(m[3]!) });
  }
  return rows;
}

interface Recorder {
  file: string;
  stop(): Promise<void>;
}

async function startRecorder(netns: string, socketDir: string, name: string, dir: string): Promise<Recorder> {
  const cfg = path.join(dir, `${name}.json`);
  fs.writeFileSync(
    cfg,
    JSON.stringify({
      pools: [
        { subnet: '10.241.0.0/24', gateway: '10.241.0.1', range: '10.241.0.128/25' },
        { subnet: '10.242.0.0/24', gateway: '10.242.0.1', range: '10.242.0.128/25' },
      ],
    }),
  );
  const file = path.join(dir, `${name}.calls`);
  fs.writeFileSync(file, '');
  const main = path.join(REPO, 'test', 'helpers', 'recording-plugin.ts');
  const args = [
    `--net=${netns}`,
    'node',
    '--import',
    'tsx',
    main,
    '--socket-dir',
    socketDir,
    '--name',
    name,
    '--config',
    cfg,
    '--record',
    file,
  ];
  const child = spawn('nsenter', args, { cwd: REPO, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  await waitForSocket(path.join(socketDir, `${name}.sock`), 20_000, child, () => out);
  return { file, stop: () => stopChild(child) };
}

/** Wait until the plugin has seen nothing new for 800 ms (the daemon may finish a step after its reply). */
async function settle(file: string): Promise<void> {
  let last = -1;
  let still = 0;
  for (let i = 0; i < 100 && still < 4; i++) {
    const size = fs.statSync(file).size;
    still = size === last ? still + 1 : 0;
    last = size;
    await sleep(200);
  }
}

/** Run the steps, recording which calls each one caused. */
async function recordSteps(file: string, runStep: (step: Step) => Promise<void>): Promise<Map<Step, string[]>> {
  const seen = new Map<Step, string[]>();
  for (const step of STEPS) {
    const from = fs.readFileSync(file, 'utf8').length;
    await runStep(step);
    await settle(file);
    const calls = fs
      .readFileSync(file, 'utf8')
      .slice(from)
      .split('\n')
      .filter((l) => l && !PROBES.test(l))
      .map((l) => l.replace(/^(NetworkDriver|IpamDriver)\./, '').replace(/ !404$/, ''));
    seen.set(step, calls);
  }
  return seen;
}

function compare(t: ExecutionContext, who: 'docker' | 'tsnet', seen: Map<Step, string[]>): void {
  const table = documented();
  const lines = STEPS.map((s) => `| ${s} | ${seen.get(s)!.join(', ') || '—'} |`);
  t.log(`${who} sent:\n${lines.join('\n')}`);
  for (const step of STEPS) {
    const row = table.get(step);
    t.truthy(row, `docs/plugins.md has a row for "${step}"`);
    t.deepEqual(seen.get(step), row?.[who], `${who}: ${step}`);
  }
}

/** The CLI commands of one step (the same for tsnet's and Docker's CLI). */
function commandsOf(step: Step, plugin: string, image: string): string[][] {
  const net = (name: string, subnet: string) => [
    'network',
    'create',
    '-d',
    plugin,
    '--ipam-driver',
    plugin,
    '--subnet',
    subnet,
    name,
  ];
  switch (step) {
    case 'network create':
      return [net('n1', '10.241.0.0/24'), net('n2', '10.242.0.0/24')];
    case 'create':
      return [['create', '--name', 'web', '--network', 'n1', image, 'sleep', '300']];
    case 'start':
    case 'start again':
      return [['start', 'web']];
    case 'stop':
      return [['stop', '-t', '1', 'web']];
    case 'network connect':
      return [['network', 'connect', 'n2', 'web']];
    case 'network disconnect':
      return [['network', 'disconnect', 'n2', 'web']];
    case 'rm -f':
      return [['rm', '-f', 'web']];
    case 'network rm':
      return [['network', 'rm', 'n1', 'n2']];
  }
}

serial('tsnetd sends the calls docs/plugins.md lists for create/start/stop/start/connect/disconnect/rm', async (t) => {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-calls-'));
  const pluginDir = path.join(base, 'plugins');
  fs.mkdirSync(pluginDir);
  const w = await createWorld({ daemonArgs: ['--plugin-dir', pluginDir, '--plugin-timeout', '10000'] });
  let rec: Recorder | undefined;
  t.teardown(async () => {
    await w.teardown();
    await rec?.stop();
    fs.rmSync(base, { recursive: true, force: true });
  });
  rec = await startRecorder(w.hostNetns, pluginDir, 'rec', base);
  const seen = await recordSteps(rec.file, async (step) => {
    for (const args of commandsOf(step, 'rec', 'busybox')) await w.ok(args);
  });
  compare(t, 'tsnet', seen);
});

serial('dockerd 20.10 sends the calls docs/plugins.md lists for the same steps', async (t) => {
  const dw = await startDocker(t);
  const plugin = `tsnet-rec-${dw.id}`;
  const rec = await startRecorder(dw.w.hostNs, DOCKER_PLUGIN_DIR, plugin, dw.w.dir);
  t.teardown(() => rec.stop());
  must(t, await dw.docker(['import', BUSYBOX_TAR, 'tsnet-busybox:test']), 'docker import', dw.log);
  const ok = async (args: string[]) => {
    must(t, await dw.docker(args), `docker ${args.join(' ')}`, dw.log);
  };
  const seen = await recordSteps(rec.file, async (step) => {
    for (const args of commandsOf(step, plugin, 'tsnet-busybox:test')) await ok(args);
  });
  compare(t, 'docker', seen);
});
