/**
 * The CLI's start-up snapshot (dist/cli-bundle/tsnet.blob, started by the launcher) answers every
 * command line exactly as the bundle (node main.cjs) does, and the launcher uses the blob only
 * when its stamp still fits: a blob for another node, a missing blob or NODE_OPTIONS (V8 flags
 * there make node refuse the blob) fall back to the bundle, with the same output and no error.
 * Needs `npm run build` (which makes the blob).
 */
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import test from 'ava';
import { fileSize, snapshotStamp } from '../../../src/cli/snapshot/stamp.js';
import { FakeDaemon, ROOT, tsnet, type CliResult } from './helpers/fake-daemon.js';

const BUNDLE = path.join(ROOT, 'dist/cli-bundle');
const ID = 'c'.repeat(64);
const FILES = ['tsnet', 'tsnet.blob', 'main.cjs', 'full.cjs'];

const LINES = [
  ['version'],
  ['ps', '-a'],
  ['ps', '--format', '{{.ID}} {{.Names}}'],
  ['network', 'ls', '-q'],
  ['run', '-d', '--name', 'web', '-p', '127.0.0.1:8080:80', 'busybox', 'true'],
  ['inspect', 'missing'],
  ['--version'],
  ['network', '--help'],
  ['run', '--no-such-flag', 'busybox'],
];

async function daemon(): Promise<FakeDaemon> {
  const d = await FakeDaemon.start();
  d.reply('GET', '/version', 200, { Version: '9.9.9', ApiVersion: '1.45', MinAPIVersion: '1.24', Os: 'linux', Arch: 'amd64' });
  d.reply('GET', '/containers/json', 200, [
    { Id: ID, Names: ['/web'], Image: 'busybox', Command: 'true', Created: 0, Ports: [], State: 'exited', Status: 'Exited (0)' },
  ]);
  d.reply('GET', '/networks', 200, [{ Name: 'bridge', Id: ID, Driver: 'bridge', Scope: 'local' }]);
  d.reply('POST', '/containers/create', 201, { Id: ID, Warnings: [] });
  d.reply('POST', `/containers/${ID}/start`, 204);
  return d;
}

/** The launcher's last line on stderr (TSNET_LAUNCH_DEBUG: how node started) and the rest. */
function split(r: CliResult): { launch: string; rest: CliResult } {
  const lines = r.stderr.split('\n');
  const launch = lines.filter((l) => l.startsWith('tsnet: launch: ')).pop() ?? '';
  return { launch, rest: { ...r, stderr: lines.filter((l) => !l.startsWith('tsnet: launch: ')).join('\n') } };
}

function viaLauncher(launcher: string, d: FakeDaemon, args: string[], env: Record<string, string> = {}) {
  return tsnet(args, { exec: launcher, host: d.host, env: { NODE_OPTIONS: '', TSNET_LAUNCH_DEBUG: '1', ...env } });
}

/** A copy of the built CLI in a temp dir, to spoil without touching dist/. */
function copyBundle(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'tsnet-snap-test-'));
  for (const f of FILES) copyFileSync(path.join(BUNDLE, f), path.join(dir, f));
  return dir;
}

test.before(() => {
  for (const f of [...FILES, 'tsnet.blob.stamp'])
    if (!existsSync(path.join(BUNDLE, f)))
      throw new Error(`dist/cli-bundle/${f} is missing: run npm run build (it builds the launcher and the snapshot)`);
});

test('the snapshot and the bundle print the same for each command line', async (t) => {
  const d = await daemon();
  t.teardown(() => d.close());
  for (const args of LINES) {
    const snap = split(await viaLauncher(path.join(BUNDLE, 'tsnet'), d, args));
    const bundle = await tsnet(args, { entry: path.join(BUNDLE, 'main.cjs'), host: d.host });
    t.regex(snap.launch, / from the snapshot /, `tsnet ${args.join(' ')}: ${snap.launch}`);
    t.deepEqual(snap.rest, bundle, `tsnet ${args.join(' ')}`);
  }
});

test('a blob for another node, a missing blob or NODE_OPTIONS: the bundle runs, same output, no error', async (t) => {
  const d = await daemon();
  const dir = copyBundle();
  t.teardown(async () => {
    await d.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const launcher = path.join(dir, 'tsnet');
  const blob = path.join(dir, 'tsnet.blob');
  const main = path.join(dir, 'main.cjs');
  const stamp = path.join(dir, 'tsnet.blob.stamp');
  const nodeId = readFileSync(path.join(BUNDLE, 'tsnet.blob.stamp'), 'utf8').split(' ').slice(1, 5).join(' ');
  const want = await tsnet(['version'], { entry: path.join(BUNDLE, 'main.cjs'), host: d.host });
  t.is(want.code, 0, want.stderr);

  // a copy of the build (an install) with the build's stamp: the snapshot runs; and the stamp the
  // test writes fits too (so the stamps below differ only as meant)
  copyFileSync(path.join(BUNDLE, 'tsnet.blob.stamp'), stamp);
  t.regex(split(await viaLauncher(launcher, d, ['version'])).launch, / from the snapshot /);
  writeFileSync(stamp, snapshotStamp(process.execPath, blob, main));
  t.regex(split(await viaLauncher(launcher, d, ['version'])).launch, / from the snapshot /);

  // a blob built by another node (same blob and bundle, the node's identity changed): never loaded
  writeFileSync(blob, 'not a snapshot: loading this would fail\n');
  writeFileSync(
    stamp,
    `tsnet-snapshot-2 ${nodeId.replace(/^(\d+) (\d+)/, (_m, dev, ino) => `${dev} ${BigInt(ino) + 1n}`)}${fileSize(blob)}${fileSize(main)}\n`,
  );
  const other = split(await viaLauncher(launcher, d, ['version']));
  t.regex(other.launch, /main\.cjs \(the snapshot was built for another node or bundle\)/);
  t.deepEqual(other.rest, want);

  // NODE_OPTIONS set (even with a stamp that fits this node): the bundle
  writeFileSync(stamp, snapshotStamp(process.execPath, blob, main));
  const withOptions = split(await viaLauncher(launcher, d, ['version'], { NODE_OPTIONS: '--max-old-space-size=200' }));
  t.regex(withOptions.launch, /\(NODE_OPTIONS is set\)/);
  t.deepEqual(withOptions.rest, want);

  // no blob at all
  rmSync(blob);
  const missing = split(await viaLauncher(launcher, d, ['version']));
  t.regex(missing.launch, /\(no snapshot blob\)/);
  t.deepEqual(missing.rest, want);
});
