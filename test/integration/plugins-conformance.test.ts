/**
 * The conformance suite against both example plugins: the p2p network plugin inside a throwaway
 * "daemon" netns, the static IPAM plugin in a temp dir. Also runs the CLI once, as
 * `npm run conformance -- --socket …` would.
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { runPluginConformance } from './../conformance/plugin-suite.js';
import { runDriverConformance } from '../conformance/driver-suite.js';
import { Checks } from '../conformance/report.js';
import { createBridgeDriver } from '../../src/network/drivers/bridge/index.js';
import { createNoneFirewall } from '../../src/kernel/firewall/none.js';
import { readSysctl, writeSysctl } from '../../src/kernel/sysctl.js';
import { socketAddress } from '../../src/plugins/spec-files.js';
import { cleanEnv, createNsWorld, linkNames, REPO, startExample } from '../conformance/harness.js';
import { requireNeeds } from '../helpers/preconditions.js';

const serial = test.serial;
test.before(() => requireNeeds({ root: true }));

function summary(r: Awaited<ReturnType<typeof runPluginConformance>>): string {
  return r.results
    .filter((x) => x.level !== 'pass')
    .map((x) => `${x.level} ${x.name}: ${x.message ?? ''}`)
    .join('\n');
}

serial('conformance: p2p example passes every check, nothing left behind', async (t) => {
  const w = await createNsWorld();
  t.teardown(() => w.teardown());
  const p = await startExample('p2p', { socketDir: path.join(w.dir, 'plugins'), netnsFile: w.hostNs, world: w });
  const report = await runPluginConformance({ address: socketAddress('p2p', p.socket) });
  t.is(report.failed, 0, summary(report));
  t.is(report.warned, 0, summary(report));
  t.true(report.passed >= 20, `${report.passed} passed`);
  t.true(report.results.some((r) => /ping/.test(r.name) && r.level === 'pass'));
  t.deepEqual(await linkNames(w.netns, w.hostNs), ['lo']);
});

serial('conformance: static-ipam example passes every check', async (t) => {
  const w = await createNsWorld();
  t.teardown(() => w.teardown());
  const cfg = path.join(w.dir, 'static.json');
  fs.writeFileSync(cfg, JSON.stringify({ pools: [{ subnet: '10.88.0.0/24', gateway: '10.88.0.1', range: '10.88.0.128/25' }] }));
  const p = await startExample('static-ipam', { socketDir: path.join(w.dir, 'plugins'), world: w, args: ['--config', cfg] });
  const report = await runPluginConformance({ address: socketAddress('static-ipam', p.socket) });
  t.is(report.failed, 0, summary(report));
  t.is(report.warned, 0, summary(report));
});

serial('conformance CLI: exit code 0 and TAP output against a running plugin (netns found from the socket)', async (t) => {
  const w = await createNsWorld();
  t.teardown(() => w.teardown());
  const p = await startExample('p2p', { socketDir: path.join(w.dir, 'plugins'), netnsFile: w.hostNs, world: w });
  const child = spawn('node', ['--import', 'tsx', 'test/conformance/main.ts', '--socket', p.socket], {
    cwd: REPO,
    env: cleanEnv(),
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  t.is(code, 0, out);
  t.regex(out, /^# tsnet plugin conformance: p2p at unix:\/\//m);
  t.regex(out, /ok \d+ - p2p: ping/);
  t.regex(out, /# \d+ passed, 0 failed, 0 warnings, 0 skipped/);
});

serial('the built-in bridge driver passes the same driver suite (H12)', async (t) => {
  const w = await createNsWorld();
  t.teardown(() => w.teardown());
  const quiet = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
  const driver = createBridgeDriver({
    host: w.hostNl,
    inNetns: (file, fn) => w.netns.run(file, fn),
    firewall: createNoneFirewall(),
    // /proc/sys/net is per netns: every sysctl goes to the throwaway host netns, never the machine's.
    sysctl: {
      write: (k, v) => w.netns.run(w.hostNs, () => writeSysctl(k, v)),
      read: (k) => w.netns.run(w.hostNs, () => readSysctl(k)),
    },
    flushConntrack: async () => undefined,
    logger: quiet,
  });
  const checks = new Checks();
  await runDriverConformance({
    driver,
    netns: w.netns,
    hostNetlink: () => w.hostNl,
    workDir: w.dir,
    subnet: '10.214.0.0/24',
    checks,
  });
  const report = checks.report();
  t.is(
    report.failed,
    0,
    report.results
      .filter((r) => r.level !== 'pass')
      .map((r) => `${r.level} ${r.name}: ${r.message ?? ''}`)
      .join('\n'),
  );
  t.deepEqual(await linkNames(w.netns, w.hostNs), ['lo']);
});
