#!/usr/bin/env node
// Runs the ava suite (unit + integration) with the TAP reporter, shows its output, and ends with
// the plain line `N passed, N failed, N skipped` that CI reads. Exit code: non-zero on any failure.
// Arguments are passed to ava (e.g. a file list or --match).
import { spawn } from 'node:child_process';

if (process.getuid?.() !== 0) {
  console.error('npm test needs root: the integration tests create namespaces, mounts and cgroups');
  process.exit(1);
}
const env = { ...process.env };
delete env.NODE_EXTRA_CA_CERTS;
const child = spawn('npx', ['ava', '--tap', ...process.argv.slice(2)], { env, stdio: ['ignore', 'pipe', 'inherit'] });
// A hung test file must not hang CI: ava's own timeout only fires when *no* test makes progress.
const LIMIT_MIN = Number(process.env.TSNET_TEST_LIMIT_MIN ?? 25);
let timedOut = false;
const limit = setTimeout(() => {
  timedOut = true;
  console.error(`\nrun-tests: still running after ${LIMIT_MIN} minutes; stopping ava`);
  child.kill('SIGTERM');
  setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
}, LIMIT_MIN * 60_000);
limit.unref();
let passed = 0;
let failed = 0;
let skipped = 0;
let rest = '';
child.stdout.setEncoding('utf8');
child.stdout.on('data', (chunk) => {
  process.stdout.write(chunk);
  const lines = (rest + chunk).split('\n');
  rest = lines.pop() ?? '';
  for (const line of lines) count(line);
});
function count(line) {
  if (/^not ok \d+/.test(line)) {
    if (/# TODO/.test(line)) skipped++;
    else failed++;
  } else if (/^ok \d+/.test(line)) {
    if (/# SKIP/.test(line)) skipped++;
    else passed++;
  }
}
child.on('close', (code) => {
  if (rest) count(rest);
  clearTimeout(limit);
  if ((code !== 0 || timedOut) && failed === 0) failed = 1; // ava itself failed (a crash, a timeout, no tests)
  console.log(`\n${passed} passed, ${failed} failed, ${skipped} skipped`);
  process.exit(failed > 0 || code !== 0 ? 1 : 0);
});
