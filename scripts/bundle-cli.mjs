#!/usr/bin/env node
// Bundle the CLI into dist/cli-bundle/ as CommonJS (Node's ESM loader costs ~8 ms per start):
//   main.cjs  the entry: fast-path parser, HTTP client, every command module (src/cli/main.ts);
//             executable, with the shebang: bin/tsnet is a symlink to it;
//   full.cjs  the commander tree (src/cli/program.ts), required only for help, the version flag
//             and command lines the fast path is not sure about.
// The two are separate bundles on purpose: loading commander and defining ~40 commands costs
// ~20 ms. Nothing crosses between them but the argv (each has its own copy of what it uses).
import { chmodSync, readFileSync } from 'node:fs';
import { build } from 'esbuild';

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

// No shell in front of node (a fork+exec); `env -u` drops NODE_EXTRA_CA_CERTS, which makes every
// Node start read the CA bundle (~40-60 ms) although the CLI never uses TLS. `.cjs`: Node does not
// look for a package.json to decide the module type.
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

await Promise.all([
  build({
    ...common,
    entryPoints: ['src/cli/main.ts'],
    outfile: 'dist/cli-bundle/main.cjs',
    plugins: [programIsFull],
    banner: { js: SHEBANG },
  }),
  build({ ...common, entryPoints: ['src/cli/program.ts'], outfile: 'dist/cli-bundle/full.cjs' }),
]);
chmodSync('dist/cli-bundle/main.cjs', 0o755);
