/**
 * The plugin conformance suite (issue 4, H12): runnable against any plugin socket or URL.
 *   protocol:  activation exactly as Docker sends it, capabilities, error replies (Err/Error),
 *              404 for unknown methods, malformed JSON refused, deletes of unknown objects;
 *   network:   the driver suite (driver-suite.ts) through tsnet's remote driver, in throwaway
 *              sandboxes, acting as a daemon in the plugin's own network namespace;
 *   ipam:      ipam-suite.ts.
 * Levels: fail = tsnet or Docker would not work with the plugin; warn = a deviation both
 * tolerate (use strict to count warnings as failures).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadLibc } from '../../src/kernel/libc.js';
import { createNetnsOps } from '../../src/kernel/netns.js';
import { Netlink } from '../../src/kernel/netlink/index.js';
import { overlaps } from '../../src/lib/cidr.js';
import { createRemoteDriver } from '../../src/network/drivers/remote/index.js';
import { PluginClient } from '../../src/plugins/client.js';
import { ACCEPT_HEADER, createTransport } from '../../src/plugins/http.js';
import { field, isObject } from '../../src/plugins/wire.js';
import type { PluginAddress } from '../../src/plugins/types.js';
import { runDriverConformance, randomId } from './driver-suite.js';
import { assertNot404, runIpamConformance } from './ipam-suite.js';
import { netnsOfSocket } from './plugin-netns.js';
import { assert, Checks, formatResult, type CheckResult, type ConformanceReport } from './report.js';
import { NOOP_LOGGER, type Logger } from '../../src/lib/logger.js';

export interface PluginConformanceOptions {
  address: PluginAddress;
  /** The plugin's network namespace (a netns file); found from the socket's owner when absent. */
  netns?: string;
  /** IPv4 subnet for the network test (default: a free 10.2xx.y.0/24). */
  subnet?: string;
  /** Subnet to ask an IPAM plugin for (default: let it choose). */
  ipamSubnet?: string;
  networkOptions?: Record<string, string>;
  ping?: boolean;
  timeoutMs?: number;
  /** Called with each result as it is known. */
  onResult?: (r: CheckResult, n: number) => void;
  logger?: Logger;
  /** Restart the plugin (e.g. a shell command) and resolve when it answers again: enables the restart and replay checks. */
  restart?: () => Promise<void>;
}

const QUIET: Logger = NOOP_LOGGER;

/** Raw POST to the plugin: status and parsed body (or text). */
async function raw(
  addr: PluginAddress,
  method: string,
  body: string,
  timeoutMs: number,
): Promise<{ status: number; json: unknown; text: string }> {
  const t = createTransport(addr);
  try {
    const r = await t.post(`/${method}`, Buffer.from(body), Date.now() + timeoutMs);
    const text = r.body.toString('utf8');
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: r.status, json, text };
  } finally {
    t.close();
  }
}

function errorText(json: unknown): string {
  if (!isObject(json)) return '';
  for (const k of ['Err', 'Error']) {
    const v = field(json, k);
    if (typeof v === 'string' && v) return v;
  }
  return '';
}

/** A /24 in 10.200–10.254 that no route in the plugin's netns overlaps. */
async function freeSubnet(nl: Netlink): Promise<string> {
  const routes = (await nl.listRoutes({ table: 'all', family: 4 })).map((r) => r.dst).filter((d) => d !== 'default');
  for (let i = 0; i < 200; i++) {
    const c = `10.${200 + Math.floor(Math.random() * 55)}.${Math.floor(Math.random() * 256)}.0/24`;
    if (!routes.some((r) => overlaps(r, c))) return c;
  }
  throw new Error('no free 10.2xx.y.0/24 subnet in the plugin netns');
}

export async function runPluginConformance(o: PluginConformanceOptions): Promise<ConformanceReport> {
  const checks = new Checks(o.onResult);
  const timeoutMs = o.timeoutMs ?? 30_000;
  const addr = o.address;
  const p = `plugin "${addr.name}"`;
  let implementsList: string[] = [];

  // ---------------------------------------------------------------- protocol
  const active = await checks.check(`${p}: POST /Plugin.Activate with an empty body (Accept: ${ACCEPT_HEADER})`, async () => {
    const r = await raw(addr, 'Plugin.Activate', '', timeoutMs);
    assert(r.status === 200, `HTTP ${r.status}: ${r.text.slice(0, 200)}`);
    assert(isObject(r.json), `reply is not a JSON object: ${r.text.slice(0, 200)}`);
    const impl = field(r.json, 'Implements');
    assert(Array.isArray(impl) && impl.every((x) => typeof x === 'string'), `"Implements" is ${JSON.stringify(impl)}`);
    implementsList = impl as string[];
    assert(
      implementsList.includes('NetworkDriver') || implementsList.includes('IpamDriver'),
      `implements neither NetworkDriver nor IpamDriver: ${implementsList.join(', ')}`,
    );
    return `implements ${implementsList.join(', ')}`;
  });
  if (!active) return checks.report();
  await checks.check(`${p}: activation can be repeated (a restarted daemon activates again)`, async () => {
    const r = await raw(addr, 'Plugin.Activate', '', timeoutMs);
    assert(r.status === 200, `HTTP ${r.status}`);
  });

  const client = new PluginClient(addr, { timeoutMs, logger: o.logger ?? QUIET, retryBudgetMs: 2_000 });
  // Every call is timed: an answer near the timeout fails for a daemon under load.
  const slowest = { ms: 0, method: '' };
  const plainCall = client.call.bind(client);
  client.call = (async (method: string, body?: unknown, opts?: Parameters<typeof plainCall>[2]) => {
    const t0 = performance.now();
    try {
      return await plainCall(method, body, opts);
    } finally {
      const ms = performance.now() - t0;
      if (ms > slowest.ms) Object.assign(slowest, { ms, method });
    }
  }) as typeof client.call;
  const kind = implementsList.includes('NetworkDriver') ? 'NetworkDriver' : 'IpamDriver';
  await checks.check(
    `${p}: an unknown method gets 404 (not implemented)`,
    async () => {
      const r = await raw(addr, `${kind}.TsnetConformanceNoSuchMethod`, '{}\n', timeoutMs);
      assert(r.status === 404, `HTTP ${r.status} (Docker and tsnet read 404 as "not implemented")`);
    },
    'warn',
  );
  await checks.check(
    `${p}: a malformed JSON request gets an error reply`,
    async () => {
      const method = kind === 'NetworkDriver' ? 'NetworkDriver.CreateNetwork' : 'IpamDriver.RequestPool';
      const r = await raw(addr, method, '{"NetworkID": tsnet-not-json\n', timeoutMs);
      const err = errorText(r.json);
      assert(r.status !== 200 || err, `HTTP 200 without an error`);
      assert(err, `HTTP ${r.status} without {"Err": "..."}: ${r.text.slice(0, 120)} (Docker then shows the raw body)`);
      return `HTTP ${r.status}: ${err}`;
    },
    'warn',
  );

  try {
    if (implementsList.includes('NetworkDriver')) {
      await checks.check(`${p}: NetworkDriver.GetCapabilities`, async () => {
        const r = await client.call('NetworkDriver.GetCapabilities');
        const scope = field(r, 'Scope');
        assert(scope === 'local' || scope === 'global', `Scope must be "local" or "global", got ${JSON.stringify(scope)}`);
        const cs = field(r, 'ConnectivityScope');
        assert(
          cs === undefined || cs === null || cs === '' || cs === 'local' || cs === 'global',
          `ConnectivityScope is ${JSON.stringify(cs)}`,
        );
        return `Scope ${String(scope)}${cs ? `, ConnectivityScope ${String(cs)}` : ''}`;
      });
      const unknownNet = randomId();
      await checks.check(
        `${p}: CreateEndpoint on a network it never created gets an Err reply`,
        async () => {
          let msg = '';
          try {
            await client.call('NetworkDriver.CreateEndpoint', {
              NetworkID: unknownNet,
              EndpointID: randomId(),
              Interface: { Address: '10.254.254.2/24', AddressIPv6: '', MacAddress: '' },
              Options: {},
            });
          } catch (err) {
            msg = (err as Error).message;
            assertNot404(err);
          }
          assert(msg, 'accepted');
          return msg;
        },
        'warn',
      );
      await checks.check(`${p}: ProgramExternalConnectivity errors are not 404 (Docker would ignore them)`, async () => {
        try {
          await client.call('NetworkDriver.ProgramExternalConnectivity', {
            NetworkID: unknownNet,
            EndpointID: randomId(),
            Options: {},
          });
        } catch (err) {
          // A bare 404 = not implemented (fine); a 404 with the plugin's own Err = a misused 404.
          if ((err as { details?: { errField?: boolean } }).details?.errField) assertNot404(err);
        }
      });
      await checks.check(
        `${p}: DeleteEndpoint / Leave / DeleteNetwork of unknown ids succeed (idempotent deletes)`,
        async () => {
          const ids = { NetworkID: unknownNet, EndpointID: randomId() };
          await client.call('NetworkDriver.Leave', ids);
          await client.call('NetworkDriver.DeleteEndpoint', ids);
          await client.call('NetworkDriver.DeleteNetwork', { NetworkID: unknownNet });
        },
        'warn',
      );

      // ---------------------------------------------------------------- the network cycle
      let netnsFile = o.netns;
      if (!netnsFile && addr.protocol === 'unix') netnsFile = netnsOfSocket(addr.socketPath!)?.netns;
      if (!netnsFile) {
        checks.skip(`${p}: network cycle`, 'cannot tell which network namespace the plugin runs in: give --netns');
      } else if (process.getuid?.() !== 0) {
        checks.skip(`${p}: network cycle`, 'needs root (namespaces)');
      } else {
        const netns = createNetnsOps(loadLibc());
        const hostNl = netns.run(netnsFile, () => Netlink.open());
        const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-conformance-'));
        try {
          const driver = await createRemoteDriver(addr.name, client, {
            netns,
            hostNetlink: () => hostNl,
            hostNetns: netnsFile,
            logger: o.logger ?? QUIET,
          });
          await runDriverConformance({
            driver,
            netns,
            hostNetlink: () => hostNl,
            workDir,
            subnet: o.subnet ?? (await freeSubnet(hostNl)),
            ping: o.ping !== false,
            ...(o.networkOptions ? { networkOptions: o.networkOptions } : {}),
            ...(o.restart ? { restart: o.restart } : {}),
            checks,
          });
        } catch (err) {
          await checks.check(`${p}: network cycle`, () => {
            throw err;
          });
        } finally {
          hostNl.close();
          fs.rmSync(workDir, { recursive: true, force: true });
        }
      }
    }
    if (implementsList.includes('IpamDriver')) {
      await runIpamConformance({
        client,
        checks,
        ...(o.ipamSubnet ? { subnet: o.ipamSubnet } : {}),
        ...(o.restart ? { restart: o.restart } : {}),
      });
    }
    await checks.check(
      `${p}: every answer well inside the timeout (${timeoutMs} ms)`,
      () => {
        assert(
          slowest.ms < timeoutMs / 2,
          `${slowest.method} took ${Math.round(slowest.ms)} ms, over half the daemon's timeout: under load it will time out`,
        );
        return `slowest ${slowest.method || '-'} ${Math.round(slowest.ms)} ms`;
      },
      'warn',
    );
  } finally {
    client.close();
  }
  return checks.report();
}

export { formatResult };
