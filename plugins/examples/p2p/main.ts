/**
 * Run the p2p network plugin:
 *   node --import tsx plugins/examples/p2p/main.ts [--socket-dir DIR] [--name p2p] [--state FILE]
 *                                                  [--tcp HOST:PORT --spec-dir DIR] [--verbose]
 * It serves <socket-dir>/<name>.sock (default /run/tsnet/plugins/p2p.sock; use
 * --socket-dir /run/docker/plugins for Docker) until SIGINT/SIGTERM, then removes it.
 * Run it in the network namespace of the daemon that uses it (its veths are made there).
 */
import { parseArgs } from 'node:util';
import { closeOnSignals, serveNetworkPlugin, TSNET_SOCKET_DIR, TSNET_SPEC_DIR } from '../../sdk/src/index.js';
import { createP2pHandlers } from './driver.js';
import { createIpTool } from './ip.js';

const { values } = parseArgs({
  options: {
    'socket-dir': { type: 'string', default: TSNET_SOCKET_DIR },
    name: { type: 'string', default: 'p2p' },
    state: { type: 'string' },
    tcp: { type: 'string' },
    'spec-dir': { type: 'string', default: TSNET_SPEC_DIR },
    verbose: { type: 'boolean', default: false },
  },
});

const log = (line: string): void => {
  process.stderr.write(`${new Date().toISOString()} p2p: ${line}\n`);
};
const verbose = values.verbose ? log : undefined;
let tcp: { host: string; port: number; specDir: string } | undefined;
if (values.tcp) {
  const m = /^(.*):(\d+)$/.exec(values.tcp);
  if (!m) throw new Error(`--tcp wants HOST:PORT, got ${values.tcp}`);
  tcp = { host: m[1]!.replace(/^\[(.*)\]$/, '$1'), port: Number(m[2]), specDir: values['spec-dir']! };
}

const handlers = createP2pHandlers({ ip: createIpTool(), ...(values.state ? { stateFile: values.state } : {}), log });
const server = await serveNetworkPlugin({
  name: values.name!,
  handlers,
  socketDir: values['socket-dir']!,
  ...(tcp ? { tcp } : {}),
  ...(verbose ? { log: verbose } : {}),
});
closeOnSignals(server);
log(`serving ${server.address}${server.specFile ? ` (spec ${server.specFile})` : ''}`);
