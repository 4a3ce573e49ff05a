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
 * (warnings fail), --json, --verbose. Needs root for the network cycle (throwaway namespaces).
 * Exit code: 0 all passed, 1 failures, 2 bad usage.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { locatePlugin } from '../../src/plugins/discovery.js';
import { parsePluginUrl, socketAddress } from '../../src/plugins/spec-files.js';
import { DEFAULT_SOCKET_DIRS, DEFAULT_SPEC_DIRS, type PluginAddress } from '../../src/plugins/types.js';
import { formatResult, runPluginConformance } from './plugin-suite.js';

function usage(msg: string): never {
  process.stderr.write(
    `conformance: ${msg}\nusage: conformance --socket PATH | --name NAME [--plugin-dir DIR] | --url URL [--netns FILE|PID] [--subnet CIDR] [--ipam-subnet CIDR] [-o k=v] [--no-ping] [--timeout MS] [--strict] [--json]\n`,
  );
  process.exit(2);
}

const { values } = parseArgs({
  options: {
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
  },
});

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

if (!values.json) process.stdout.write(`# tsnet plugin conformance: ${address.name} at ${address.url}\n`);
const report = await runPluginConformance({
  address,
  ...(netns ? { netns } : {}),
  ...(values.subnet ? { subnet: values.subnet } : {}),
  ...(values['ipam-subnet'] ? { ipamSubnet: values['ipam-subnet'] } : {}),
  ...(Object.keys(networkOptions).length ? { networkOptions } : {}),
  ping: !values['no-ping'],
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
