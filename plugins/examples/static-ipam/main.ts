/**
 * Run the static IPAM plugin:
 *   node --import tsx plugins/examples/static-ipam/main.ts --config FILE [--socket-dir DIR]
 *        [--name static-ipam] [--tcp HOST:PORT --spec-dir DIR] [--verbose]
 * Serves <socket-dir>/<name>.sock (default /run/tsnet/plugins/static-ipam.sock) until
 * SIGINT/SIGTERM. SIGHUP is not needed: restart it to reload the file.
 */
import { parseArgs } from 'node:util';
import { closeOnSignals, serveIpamPlugin, TSNET_SOCKET_DIR, TSNET_SPEC_DIR } from '../../sdk/src/index.js';
import { createStaticIpam, loadConfig } from './ipam.js';

const { values } = parseArgs({
  options: {
    config: { type: 'string' },
    'socket-dir': { type: 'string', default: TSNET_SOCKET_DIR },
    name: { type: 'string', default: 'static-ipam' },
    tcp: { type: 'string' },
    'spec-dir': { type: 'string', default: TSNET_SPEC_DIR },
    verbose: { type: 'boolean', default: false },
  },
});

const log = (line: string): void => {
  process.stderr.write(`${new Date().toISOString()} static-ipam: ${line}\n`);
};
if (!values.config) {
  log('--config FILE is required (see plugins/examples/static-ipam/README.md)');
  process.exit(2);
}
let tcp: { host: string; port: number; specDir: string } | undefined;
if (values.tcp) {
  const m = /^(.*):(\d+)$/.exec(values.tcp);
  if (!m) throw new Error(`--tcp wants HOST:PORT, got ${values.tcp}`);
  tcp = { host: m[1]!.replace(/^\[(.*)\]$/, '$1'), port: Number(m[2]), specDir: values['spec-dir']! };
}
const handlers = createStaticIpam(loadConfig(values.config), log);
const server = await serveIpamPlugin({
  name: values.name!,
  handlers,
  socketDir: values['socket-dir']!,
  ...(tcp ? { tcp } : {}),
  ...(values.verbose ? { log } : {}),
});
closeOnSignals(server);
log(`serving ${server.address}${server.specFile ? ` (spec ${server.specFile})` : ''}`);
