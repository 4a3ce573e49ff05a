/**
 * The CPU one published port costs the firewall — publishing it and unpublishing it, measured
 * apart — with 10, 100 and 1000 endpoints already publishing (issue 14.5: flat per port). One
 * worker per (build, backend, level), each in a netns of its own (`unshare --net`, gone with the
 * worker), set up once; then rounds in which every worker in turn publishes one more port and
 * removes it, so a change in the machine's load hits every level alike (bench/ports-flat-worker.ts
 * measures each operation with getrusage, the iptables-restore it runs included).
 *
 * By hand, A/B against another checkout (alternating within every round):
 *   node --import tsx bench/ports-flat-cpu.ts [--rounds 15] [--ab /path/to/other/tsnet]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { cleanEnv, REPO } from '../test/helpers/world.js';
import { argOption, liveChildren, stats } from './lib.js';

export const CPU_LEVELS = [10, 100, 1000] as const;
export type CpuBackend = 'iptables' | 'nftables';

export interface CpuWorkerKey {
  build: string;
  backend: CpuBackend;
  level: number;
}

export interface CpuSamples extends CpuWorkerKey {
  add: number[];
  remove: number[];
}

interface Worker {
  child: ChildProcess;
  next(): Promise<string>;
}

function startWorker(key: CpuWorkerKey, repo: string): Worker {
  const worker = path.join(REPO, 'bench', 'ports-flat-worker.ts');
  const child = spawn('unshare', ['--net', 'node', '--import', 'tsx', worker, key.backend, String(key.level), repo], {
    cwd: REPO,
    env: cleanEnv(),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  liveChildren.add(child);
  let err = '';
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const lines = readline.createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  return {
    child,
    async next() {
      const r = await lines.next();
      if (r.done)
        throw new Error(`ports-flat worker ${JSON.stringify(key)} ended: ${err.trim().split('\n').slice(-3).join(' ')}`);
      return r.value;
    },
  };
}

/** Measure every (build, backend, level); builds: name → checkout directory. */
export async function measurePortCpu(opts: {
  builds: Record<string, string>;
  backends: readonly CpuBackend[];
  rounds: number;
  log: (s: string) => void;
}): Promise<CpuSamples[]> {
  const keys: CpuWorkerKey[] = [];
  for (const level of CPU_LEVELS)
    for (const backend of opts.backends) for (const build of Object.keys(opts.builds)) keys.push({ build, backend, level });
  const workers: Worker[] = [];
  const samples: CpuSamples[] = keys.map((k) => ({ ...k, add: [], remove: [] }));
  try {
    for (const k of keys) {
      opts.log(`ports-flat: ${k.build} ${k.backend}: publishing ${k.level} endpoints`);
      const w = startWorker(k, opts.builds[k.build]!);
      workers.push(w);
      const first = await w.next();
      if (first !== 'ready') throw new Error(`ports-flat worker: ${first}`);
    }
    for (let r = -1; r < opts.rounds; r++) {
      if (r % 5 === 4) opts.log(`ports-flat: round ${r + 1}/${opts.rounds}`);
      for (const [i, w] of workers.entries()) {
        w.child.stdin!.write('round\n');
        const s = JSON.parse(await w.next()) as { add: number; remove: number };
        if (r < 0) continue; // warm-up
        samples[i]!.add.push(s.add);
        samples[i]!.remove.push(s.remove);
      }
    }
  } finally {
    for (const w of workers) {
      w.child.stdin?.end();
      await new Promise((res) => (w.child.exitCode !== null ? res(null) : w.child.on('close', res)));
      liveChildren.delete(w.child);
    }
  }
  return samples;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const rounds = Number(argOption(args, '--rounds') ?? 15);
  const other = argOption(args, '--ab');
  const builds: Record<string, string> = other ? { this: REPO, other: path.resolve(other) } : { this: REPO };
  const load0 = (await import('node:os')).loadavg()[0]!;
  const samples = await measurePortCpu({ builds, backends: ['iptables', 'nftables'], rounds, log: (s) => console.error(s) });
  const load1 = (await import('node:os')).loadavg()[0]!;
  console.log(`CPU ms per operation, medians of ${rounds} interleaved rounds; load ${load0.toFixed(1)} → ${load1.toFixed(1)}`);
  console.log('build\tbackend\tlevel\tadd\tremove\tadd min-max\tremove min-max');
  for (const s of samples) {
    const a = stats(s.add);
    const d = stats(s.remove);
    console.log(
      [
        s.build,
        s.backend,
        s.level,
        a.median.toFixed(2),
        d.median.toFixed(2),
        `${a.min.toFixed(1)}-${a.max.toFixed(1)}`,
        `${d.min.toFixed(1)}-${d.max.toFixed(1)}`,
      ].join('\t'),
    );
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
