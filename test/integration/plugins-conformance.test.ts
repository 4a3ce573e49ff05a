/**
 * The conformance suite against both example plugins: the p2p network plugin inside a throwaway
 * "daemon" netns, the static IPAM plugin in a temp dir. Also runs the CLI once, as
 * `npm run conformance -- --socket …` would.
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PluginError, serveIpamPlugin } from '../../plugins/sdk/src/index.js';
import { runPluginConformance } from './../conformance/plugin-suite.js';
import { runDriverConformance } from '../conformance/driver-suite.js';
import { Checks } from '../conformance/report.js';
import { socketAddress } from '../../src/plugins/spec-files.js';
import { bridgeDriverIn, cleanEnv, createNsWorld, linkNames, REPO, startExample } from '../conformance/harness.js';
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
  const opts = {
    socketDir: path.join(w.dir, 'plugins'),
    netnsFile: w.hostNs,
    world: w,
    args: ['--state', path.join(w.dir, 'p2p-state.json')],
  };
  let p = await startExample('p2p', opts);
  let restarts = 0;
  const report = await runPluginConformance({
    address: socketAddress('p2p', p.socket),
    restart: async () => {
      await p.stop();
      p = await startExample('p2p', opts);
      restarts++;
    },
  });
  t.is(report.failed, 0, summary(report));
  t.is(report.warned, 0, summary(report));
  t.is(report.skipped, 0, summary(report));
  t.true(report.passed >= 20, `${report.passed} passed`);
  t.true(report.results.some((r) => /ping/.test(r.name) && r.level === 'pass'));
  t.is(restarts, 1, 'restarted between join and leave');
  t.true(report.results.some((r) => /leave endpoint 1 \(after the restart\)/.test(r.name) && r.level === 'pass'));
  t.deepEqual(await linkNames(w.netns, w.hostNs), ['lo']);
});

serial('conformance: static-ipam example passes every check', async (t) => {
  const w = await createNsWorld();
  t.teardown(() => w.teardown());
  const cfg = path.join(w.dir, 'static.json');
  fs.writeFileSync(
    cfg,
    JSON.stringify({
      requiresRequestReplay: true,
      pools: [{ subnet: '10.88.0.0/24', gateway: '10.88.0.1', range: '10.88.0.128/25' }],
    }),
  );
  const opts = { socketDir: path.join(w.dir, 'plugins'), world: w, args: ['--config', cfg] };
  let p = await startExample('static-ipam', opts);
  const report = await runPluginConformance({
    address: socketAddress('static-ipam', p.socket),
    restart: async () => {
      await p.stop();
      p = await startExample('static-ipam', opts);
    },
  });
  t.is(report.failed, 0, summary(report));
  t.is(report.warned, 0, summary(report));
  t.is(report.skipped, 0, summary(report));
  for (const name of [
    /SubPool .* gives addresses from the SubPool only/,
    /replayed RequestPool\/RequestAddress/,
    /not reported with 404/,
  ])
    t.true(
      report.results.some((r) => name.test(r.name) && r.level === 'pass'),
      `${name}: ${summary(report)}`,
    );
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
  t.regex(out, /# \d+ passed, 0 failed, 0 warnings, 1 skipped/);
  t.regex(out, /ok \d+ - p2p: the plugin restarts between join and leave # SKIP give --restart-cmd/);
});

serial('conformance CLI: --help prints the usage and exits 0; an unknown flag is one line and exit 2', async (t) => {
  const run = (args: string[]) =>
    new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn('node', ['--import', 'tsx', 'test/conformance/main.ts', ...args], { cwd: REPO, env: cleanEnv() });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      child.once('exit', (code) => resolve({ code, out }));
    });
  const help = await run(['--help']);
  t.is(help.code, 0, help.out);
  t.regex(help.out, /^usage: npm run conformance -- /);
  t.regex(help.out, /--restart-cmd CMD/);
  t.notRegex(help.out, /\bat .*\.ts:\d+/, 'no stack trace');
  const bad = await run(['--bogus']);
  t.is(bad.code, 2);
  t.regex(bad.out, /^conformance: Unknown option '--bogus'\n/);
  t.notRegex(bad.out, /\bat .*\.ts:\d+/, 'no stack trace');
});

serial(
  'conformance: an IPAM plugin that returns bare IPs, ignores SubPool and reports errors with 404 fails, naming each',
  async (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-sloppy-'));
    t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
    let next = 2;
    const server = await serveIpamPlugin({
      name: 'sloppy',
      socketDir: dir,
      handlers: {
        getDefaultAddressSpaces: () => ({ LocalDefaultAddressSpace: 'L', GlobalDefaultAddressSpace: 'G' }),
        requestPool: (r) => ({ PoolID: `p-${r.Pool || '10.66.0.0/24'}`, Pool: r.Pool || '10.66.0.0/24' }),
        releasePool: () => undefined,
        requestAddress: (r) => {
          if (!r.PoolID.startsWith('p-')) throw new PluginError(`no such pool ${r.PoolID}`, { status: 404 });
          return { Address: `10.66.0.${next++}` }; // no prefix, and never from the SubPool
        },
        releaseAddress: () => undefined,
      },
    });
    t.teardown(() => server.close());
    const report = await runPluginConformance({ address: socketAddress('sloppy', server.socketPath!) });
    const failed = report.results.filter((r) => r.level === 'fail');
    const has = (re: RegExp, msg: RegExp) => failed.some((r) => re.test(r.name) && msg.test(r.message ?? ''));
    t.true(has(/RequestAddress for the gateway/, /not in CIDR form/), summary(report));
    t.true(has(/errors are not reported with 404/, /HTTP 404.*"not implemented"/), summary(report));
    t.true(has(/SubPool/, /not in CIDR form|outside the SubPool/), summary(report));
  },
);

serial('the built-in bridge driver passes the same driver suite (H12)', async (t) => {
  const w = await createNsWorld();
  t.teardown(() => w.teardown());
  const driver = bridgeDriverIn(w);
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
