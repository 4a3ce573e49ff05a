// Preloaded with `node --import` by test/unit/daemon/lazy-cluster.test.ts: when the process exits,
// writes how many modules of the etcd3 package it loaded (an ES import of a CommonJS package goes
// through the CommonJS cache).
import { createRequire } from 'node:module';

const cache = createRequire(import.meta.url).cache;
process.on('exit', () => {
  const n = Object.keys(cache).filter((k) => k.includes('/node_modules/etcd3/')).length;
  process.stderr.write(`etcd3-modules=${n}\n`);
});
