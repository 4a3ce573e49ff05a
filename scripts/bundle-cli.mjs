#!/usr/bin/env node
// Build the CLI into dist/cli-bundle/ (bin/tsnet is a symlink to dist/cli-bundle/tsnet):
//   tsnet            the launcher (src/cli/launcher/tsnet.c): execs node from the snapshot below
//                    when it fits this node and bundle, else node main.cjs (no shell, no fork);
//   tsnet.blob       V8 start-up snapshot of the CLI, warmed up (src/cli/snapshot/entry.ts),
//   tsnet.blob.stamp what the launcher checks before using the blob (node, blob, main.cjs identity);
//   main.cjs         the bundle: fast-path parser, HTTP client, every command module (src/cli/main.ts),
//                    CommonJS (Node's ESM loader costs ~8 ms per start), with a shebang;
//   full.cjs         the commander tree (src/cli/program.ts), required only for help, the version
//                    flag and command lines the fast path is not sure about (~20 ms to load).
// If the launcher or the snapshot cannot be built, this says why and the CLI still works: tsnet
// is then a symlink to main.cjs, or the launcher runs main.cjs.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';

const OUT = path.resolve('dist/cli-bundle');
const { version } = JSON.parse(readFileSync('package.json', 'utf8'));
const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  logLevel: 'warning',
  minify: true,
  // The version is built in; version.ts's package.json fallback (import.meta.url) is for tsx runs.
  define: { TSNET_CLI_VERSION: JSON.stringify(version), 'import.meta.url': '""' },
};

// For `node main.cjs` and the fallback symlink: `env -u` drops NODE_EXTRA_CA_CERTS, which makes
// every Node start read the CA bundle (~40-60 ms) although the CLI never uses TLS (the launcher
// unsets it too). `.cjs`: Node does not look for a package.json to decide the module type.
const SHEBANG = '#!/usr/bin/env -S -u NODE_EXTRA_CA_CERTS node';

/** main.ts's `import('./program.js')` → require('./full.cjs') at run time. */
const programIsFull = {
  name: 'program-is-full',
  setup(b) {
    b.onResolve({ filter: /^\.\/program\.js$/ }, (args) =>
      args.importer.endsWith('src/cli/main.ts') ? { path: './full.cjs', external: true } : undefined,
    );
  },
};

const file = (name) => path.join(OUT, name);
rmSync(file('tsnet'), { force: true });
rmSync(file('tsnet.blob'), { force: true });
rmSync(file('tsnet.blob.stamp'), { force: true });

await Promise.all([
  build({
    ...common,
    entryPoints: ['src/cli/main.ts'],
    outfile: file('main.cjs'),
    plugins: [programIsFull],
    banner: { js: SHEBANG },
  }),
  build({ ...common, entryPoints: ['src/cli/program.ts'], outfile: file('full.cjs') }),
  build({ ...common, entryPoints: ['src/cli/snapshot/entry.ts'], outfile: file('snapshot-entry.cjs') }),
]);
chmodSync(file('main.cjs'), 0o755);

const warn = (what) => process.stderr.write(`bundle-cli: ${what}\n`);

function buildLauncher() {
  try {
    execFileSync('make', ['-s', '-C', 'src/cli/launcher', `OUT=${file('tsnet')}`], { stdio: ['ignore', 'inherit', 'pipe'] });
    return true;
  } catch (err) {
    warn(
      `no launcher (${String(err.stderr ?? err.message)
        .trim()
        .split('\n')
        .pop()}): tsnet runs main.cjs through its shebang`,
    );
    symlinkSync('main.cjs', file('tsnet'));
    return false;
  }
}

// the stamp's format, shared with the launcher and the tests (tsc has built it before this runs)
const { snapshotStamp } = await import('../dist/cli/snapshot/stamp.js');

function buildSnapshot() {
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  delete env.NODE_EXTRA_CA_CERTS;
  const made = spawnSync(
    process.execPath,
    ['--snapshot-blob', file('tsnet.blob'), '--build-snapshot', file('snapshot-entry.cjs')],
    { env, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', timeout: 120_000 },
  );
  if (made.status !== 0)
    return `node --build-snapshot: ${(made.stderr || made.error?.message || `exit ${made.status}`).trim().split('\n')[0]}`;
  // the same answer from the blob as from the bundle (this also loads full.cjs from the blob's main)
  const run = (args) => spawnSync(process.execPath, args, { env, encoding: 'utf8', timeout: 30_000 }).stdout?.trim() ?? '';
  const fromBlob = run(['--snapshot-blob', file('tsnet.blob'), file('main.cjs'), '--version']);
  const fromBundle = run([file('main.cjs'), '--version']);
  if (fromBlob === '' || fromBlob !== fromBundle)
    return `the snapshot answers ${JSON.stringify(fromBlob)} to --version, the bundle ${JSON.stringify(fromBundle)}`;
  writeFileSync(file('tsnet.blob.stamp'), snapshotStamp(process.execPath, file('tsnet.blob'), file('main.cjs')));
  return undefined;
}

if (buildLauncher()) {
  const failed = buildSnapshot();
  if (failed) {
    rmSync(file('tsnet.blob'), { force: true });
    warn(`no start-up snapshot (${failed}): tsnet runs main.cjs, a few ms slower to start`);
  }
}
rmSync(file('snapshot-entry.cjs'), { force: true });
