/**
 * A plugin that is both a network driver (the p2p example) and an IPAM driver (the static-ipam
 * example) and appends the name of every call it answers to a record file, one per line
 * (`NetworkDriver.Join`, `IpamDriver.RequestAddress`, …; failures as `<method> !error`). Used to
 * compare the call sequences tsnetd and dockerd send for the same container lifecycle.
 *
 *   node --import tsx test/helpers/recording-plugin.ts --socket-dir DIR --name NAME
 *        --config STATIC_IPAM_JSON --record FILE
 * Run it in the network namespace of the daemon under test (its veths are made there).
 */
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { createIpTool } from '../../plugins/examples/p2p/ip.js';
import { createP2pHandlers } from '../../plugins/examples/p2p/driver.js';
import { createStaticIpam, loadConfig } from '../../plugins/examples/static-ipam/ipam.js';
import { closeOnSignals, servePlugin } from '../../plugins/sdk/src/index.js';

const { values } = parseArgs({
  options: {
    'socket-dir': { type: 'string' },
    name: { type: 'string' },
    config: { type: 'string' },
    record: { type: 'string' },
  },
});
const need = (k: 'socket-dir' | 'name' | 'config' | 'record'): string => {
  const v = values[k];
  if (!v) {
    process.stderr.write(`recording-plugin: --${k} is required\n`);
    process.exit(2);
  }
  return v;
};
const record = need('record');
const quiet = (): void => undefined;
const server = await servePlugin({
  name: need('name'),
  socketDir: need('socket-dir'),
  network: createP2pHandlers({ ip: createIpTool(), log: quiet }),
  ipam: createStaticIpam(loadConfig(need('config')), quiet),
  log: (line) => {
    // The SDK logs "<method>: ok", "<method>: error …", "Plugin.Activate", "<method>: not implemented (404)".
    const m = /^([A-Za-z.]+)(?::\s*(ok|error|not implemented))?/.exec(line);
    if (!m) return;
    const suffix = m[2] === 'error' ? ' !error' : m[2] === 'not implemented' ? ' !404' : '';
    fs.appendFileSync(record, `${m[1]}${suffix}\n`);
  },
});
closeOnSignals(server);
process.stderr.write(`recording-plugin: serving ${server.address}\n`);
