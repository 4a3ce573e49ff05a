/**
 * The daemon loads the cluster store's client (etcd3 with gRPC and protobufjs, ~20 % of a
 * start's CPU) only with --cluster-store: every module of tsnetd is loaded (`--help` parses the
 * command line after all static imports ran) and none of etcd3's may be among them. The overlay
 * tests (multi-host) cover the other side: with --cluster-store the store still comes up.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

const PROBE = path.join(REPO, 'test/helpers/etcd3-probe.mjs');

function etcd3Modules(importFirst?: string): number {
  const r = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      '--import',
      PROBE,
      ...(importFirst ? ['--import', importFirst] : []),
      path.join(REPO, 'src/daemon/main.ts'),
      '--help',
    ],
    { cwd: REPO, encoding: 'utf8', env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root' } },
  );
  const m = /etcd3-modules=(\d+)/.exec(r.stderr);
  if (r.status !== 0 || !m) throw new Error(`tsnetd --help failed (${r.status}): ${r.stderr}${r.stdout}`);
  return Number(m[1]);
}

test('tsnetd without --cluster-store loads no module of etcd3', (t) => {
  t.is(etcd3Modules(), 0);
});

test('the check sees etcd3 when the cluster store is loaded', (t) => {
  // the same process, with the cluster store's entry imported before tsnetd's own modules
  t.true(etcd3Modules(path.join(REPO, 'src/store/cluster/index.ts')) > 0);
});
