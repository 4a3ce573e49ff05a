#!/usr/bin/env node
// Runs the ava suite with the TAP reporter, shows its output, and ends with the plain line
// `N passed, N failed, N skipped` that CI reads.
//
//   node scripts/run-tests.mjs            every test file (unit + integration; needs root)
//   node scripts/run-tests.mjs --unit     test/unit only (no root, no C helper build)
//   node scripts/run-tests.mjs FILE...    the given files (extra arguments go to ava)
//
// A whole-suite run then runs the network suite (NFT_PASS below) a second time with
// TSNET_TEST_FIREWALL=nftables, so every test world's daemon uses `--firewall-backend nftables`
// (test/helpers/firewall.ts); the totals cover both passes. For one file against nftables:
//   TSNET_TEST_FIREWALL=nftables node scripts/run-tests.mjs test/integration/network-bridge.test.ts
//
// The run fails (exit 1) when any test fails, when any test is skipped or marked todo, when ava
// itself fails (a crashed file, a timeout), and — for a whole-suite run — when fewer tests ran than
// the committed minimum in test/min-tests.json (so a stray `test.only`, a file that stopped loading
// or a lost shard cannot go green). Raise the minimum when you add tests.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const unit = argv[0] === '--unit';
const extra = unit ? argv.slice(1) : argv;
const whole = extra.length === 0;

if (!unit && process.getuid?.() !== 0) {
  console.error('npm test needs root: the integration tests create namespaces, mounts and cgroups (npm run test:unit does not)');
  process.exit(1);
}
const minimums = JSON.parse(fs.readFileSync(path.join(repo, 'test', 'min-tests.json'), 'utf8'));
const minimum = whole ? (unit ? minimums.unit : minimums.all) : 0;

const env = { ...process.env };
delete env.NODE_EXTRA_CA_CERTS;
const files = unit ? ['test/unit/**/*.test.ts'] : [];
// The network suite, run again against the nftables backend after a whole-suite run.
const NFT_PASS = [
  'test/integration/network-bridge.test.ts',
  'test/integration/network-dns.test.ts',
  'test/integration/network-ipv6.test.ts',
  'test/integration/network-restart.test.ts',
  'test/integration/loopback-guard.test.ts',
  'test/integration/plugins-e2e.test.ts',
  'test/integration/network-failpoints.test.ts',
  'test/integration/network-crash-loop.test.ts',
  'test/integration/network-container-mode.test.ts',
  'test/integration/network-races.test.ts',
  'test/integration/network-sweep.test.ts',
  'test/integration/network-parallel.test.ts',
  'test/integration/network-none.test.ts',
  'test/integration/network-macvlan.test.ts',
  'test/integration/extra-hosts-dns.test.ts',
  'test/integration/endpoint-settings.test.ts',
  'test/integration/dns.test.ts',
  'test/integration/plugins-gateway-e2e.test.ts',
  'test/integration/plugins-pending-delete.test.ts',
  'test/integration/overlay-daemon.test.ts',
  'test/integration/network-fast-path.test.ts',
];
// A hung test file must not hang CI: ava's own timeout only fires when *no* test makes progress.
const LIMIT_MIN = Number(process.env.TSNET_TEST_LIMIT_MIN ?? 25);
const deadline = Date.now() + LIMIT_MIN * 60_000;
let timedOut = false;
let passed = 0;
let failed = 0;
let skipped = 0;
const skippedNames = [];

function count(line) {
  if (/^not ok \d+/.test(line)) {
    if (/# TODO/.test(line)) {
      skipped++;
      skippedNames.push(line);
    } else failed++;
  } else if (/^ok \d+/.test(line)) {
    if (/# (SKIP|TODO)/.test(line)) {
      skipped++;
      skippedNames.push(line);
    } else passed++;
  }
}

/** One ava run; resolves with its exit code (counts go to the totals). */
function runAva(args, runEnv) {
  return new Promise((resolve) => {
    const child = spawn('npx', ['ava', '--tap', ...args], { cwd: repo, env: runEnv, stdio: ['ignore', 'pipe', 'inherit'] });
    const limit = setTimeout(
      () => {
        timedOut = true;
        console.error(`\nrun-tests: still running after ${LIMIT_MIN} minutes; stopping ava`);
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
      },
      Math.max(0, deadline - Date.now()),
    );
    limit.unref();
    let rest = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk) => {
      process.stdout.write(chunk);
      const lines = (rest + chunk).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) count(line);
    });
    child.on('close', (code) => {
      if (rest) count(rest);
      clearTimeout(limit);
      resolve(code ?? 1);
    });
  });
}

let code = await runAva([...files, ...extra], env);
if (whole && !unit && !timedOut) {
  console.log('\n# run-tests: the network suite again with --firewall-backend nftables (TSNET_TEST_FIREWALL=nftables)');
  const nftCode = await runAva(NFT_PASS, { ...env, TSNET_TEST_FIREWALL: 'nftables' });
  if (code === 0) code = nftCode;
}

const reasons = [];
if (code !== 0 || timedOut) reasons.push(timedOut ? `the run was stopped after ${LIMIT_MIN} minutes` : `ava exited with ${code}`);
if (skipped > 0)
  reasons.push(`${skipped} test(s) skipped or todo — a test that does not run proves nothing:\n  ${skippedNames.join('\n  ')}`);
if (passed + failed < minimum) {
  reasons.push(
    `only ${passed + failed} tests ran, fewer than the committed minimum ${minimum} (test/min-tests.json): a file crashed, a test.only, or tests were lost`,
  );
}
if ((code !== 0 || timedOut) && failed === 0) failed = 1; // ava itself failed (a crash, a timeout, no tests)
if (reasons.length) console.error(`\nrun-tests: FAILED: ${reasons.join('\nrun-tests: FAILED: ')}`);
console.log(`\n${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(reasons.length > 0 ? 1 : 0);
