/**
 * tsnet plugin conformance suite, against any running plugin:
 *
 *   node --import tsx test/conformance/main.ts --socket /run/tsnet/plugins/x.sock
 *   node --import tsx test/conformance/main.ts --name x [--plugin-dir DIR] [--spec-dir DIR]
 *   node --import tsx test/conformance/main.ts --url tcp://127.0.0.1:9000 --netns /proc/<pid>/ns/net
 *
 * Options: --netns FILE|PID (the plugin's network namespace; found from the socket when omitted),
 * --subnet CIDR (network test), --ipam-subnet CIDR (ask an IPAM plugin for this pool),
 * -o key=value (network driver option, repeatable), --no-ping, --timeout MS, --strict
 * (warnings fail), --json, --verbose, --restart-cmd CMD (a shell command that restarts the plugin:
 * enables the restart-mid-sequence and replay checks), -h/--help. Needs root for the network cycle.
 * Exit code: 0 all passed, 1 failures, 2 bad usage.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { PluginClient } from '../../src/plugins/client.js';
import { parseArgs } from 'node:util';
import { locatePlugin } from '../../src/plugins/discovery.js';
import { parsePluginUrl, socketAddress } from '../../src/plugins/spec-files.js';
import { DEFAULT_SOCKET_DIRS, DEFAULT_SPEC_DIRS, type PluginAddress } from '../../src/plugins/types.js';
import { formatResult, runPluginConformance } from './plugin-suite.js';

const USAGE = `usage: npm run conformance -- (--socket PATH | --name NAME [--plugin-dir DIR] [--spec-dir DIR] | --url URL) [options]

Checks a running network or IPAM plugin against Docker's plugin protocol as tsnet and Docker use it.

  --socket PATH        the plugin's unix socket
  --name NAME          find the plugin by name (--plugin-dir / --spec-dir, default tsnet's dirs)
  --url URL            unix://…, tcp://host:port or https://host:port
  --netns FILE|PID     the plugin's network namespace (default: found from the socket's owner)
  --subnet CIDR        subnet for the network cycle (default: a free 10.2xx.y.0/24)
  --ipam-subnet CIDR   pool to ask an IPAM plugin for (default: the plugin chooses)
  -o, --opt k=v        network driver option (repeatable)
  --restart-cmd CMD    shell command that restarts the plugin: adds the restart and replay checks
  --no-ping            skip the ping between sandboxes
  --timeout MS         per-call timeout (default 30000, tsnetd's --plugin-timeout)
  --strict             warnings count as failures
  --json               one JSON report instead of TAP lines
  --verbose            log every call
  -h, --help           this text

Exit code: 0 all passed, 1 failures, 2 bad usage. Needs root for the network cycle.
`;

function usage(msg: string): never {
  process.stderr.write(`conformance: ${msg}\n${USAGE}`);
  process.exit(2);
}

function parse() {
  try {
    return parseArgs({ options: OPTIONS });
  } catch (err) {
    usage((err as Error).message);
  }
}

const OPTIONS = {
  socket: { type: 'string' },
  name: { type: 'string' },
  url: { type: 'string' },
  'plugin-dir': { type: 'string', multiple: true },
  'spec-dir': { type: 'string', multiple: true },
  netns: { type: 'string' },
  subnet: { type: 'string' },
  'ipam-subnet': { type: 'string' },
  opt: { type: 'string', short: 'o', multiple: true },
  'no-ping': { type: 'boolean', default: false },
  timeout: { type: 'string' },
  strict: { type: 'boolean', default: false },
  json: { type: 'boolean', default: false },
  verbose: { type: 'boolean', default: false },
  'restart-cmd': { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

const { values } = parse();
if (values.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}

let address: PluginAddress | undefined;
if (values.socket) {
  const file = path.resolve(values.socket);
  address = socketAddress(path.basename(file).replace(/\.sock$/, ''), file);
} else if (values.url) {
  address = parsePluginUrl(values.name ?? 'plugin', values.url, '--url');
} else if (values.name) {
  address = locatePlugin(values.name, {
    socketDirs: values['plugin-dir'] ?? [...DEFAULT_SOCKET_DIRS],
    specDirs: values['spec-dir'] ?? [...DEFAULT_SPEC_DIRS],
  });
  if (!address) usage(`plugin ${values.name} not found`);
} else usage('give --socket, --name or --url');

const networkOptions: Record<string, string> = {};
for (const kv of values.opt ?? []) {
  const i = kv.indexOf('=');
  if (i <= 0) usage(`-o wants key=value, got ${kv}`);
  networkOptions[kv.slice(0, i)] = kv.slice(i + 1);
}
const netns = values.netns && /^\d+$/.test(values.netns) ? `/proc/${values.netns}/ns/net` : values.netns;
const log = (line: string): void => void process.stderr.write(`${line}\n`);
const restartCmd = values['restart-cmd'];
const plugin = address;

/** Run --restart-cmd, then wait until the plugin answers /Plugin.Activate again. */
async function restart(): Promise<void> {
  const r = spawnSync('sh', ['-c', restartCmd!], { stdio: ['ignore', 'inherit', 'inherit'], timeout: 60_000 });
  if (r.status !== 0) throw new Error(`--restart-cmd exited with ${r.status ?? r.signal}`);
  const probe = new PluginClient(plugin, { retryBudgetMs: 10_000 });
  try {
    await probe.probe(15_000);
  } finally {
    probe.close();
  }
}

if (!values.json) process.stdout.write(`# tsnet plugin conformance: ${address.name} at ${address.url}\n`);
const report = await runPluginConformance({
  address,
  ...(netns ? { netns } : {}),
  ...(values.subnet ? { subnet: values.subnet } : {}),
  ...(values['ipam-subnet'] ? { ipamSubnet: values['ipam-subnet'] } : {}),
  ...(Object.keys(networkOptions).length ? { networkOptions } : {}),
  ping: !values['no-ping'],
  ...(restartCmd ? { restart } : {}),
  ...(values.timeout ? { timeoutMs: Number(values.timeout) } : {}),
  ...(values.json ? {} : { onResult: (r, n) => void process.stdout.write(`${formatResult(r, n)}\n`) }),
  ...(values.verbose ? { logger: { debug: log, info: log, warn: log, error: log } } : {}),
});
const failed = report.failed + (values.strict ? report.warned : 0);
if (values.json) process.stdout.write(`${JSON.stringify({ plugin: address.name, address: address.url, ...report }, null, 2)}\n`);
else
  process.stdout.write(
    `1..${report.results.length}\n# ${report.passed} passed, ${report.failed} failed, ${report.warned} warnings, ${report.skipped} skipped\n`,
  );
process.exit(failed > 0 ? 1 : 0);
