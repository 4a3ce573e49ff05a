/**
 * Section "firewall": the per-operation cost of the firewall backends — publishing one port,
 * unpublishing it, the embedded DNS rules of one sandbox, and a container attach (its DNS rules
 * plus one published port) — with 1, 100 and 1000 containers (endpoints with a published port)
 * already programmed; iptables (iptables-nft-restore, one fork per operation), nftables through
 * libnftables in-process, and nftables through `nft -f` (one fork), in the same run. Each backend
 * runs in a worker process inside its own throwaway netns (bench/firewall-worker.ts).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cleanEnv, REPO } from '../test/helpers/world.js';
import { liveChildren, ms, ratio, stats, table, type BenchOptions, type SectionResult } from './lib.js';

const BACKENDS = ['iptables', 'nftables', 'nftables-exec'] as const;
type Result = Record<string, Record<string, number[]>>;

function must(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const c = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    c.stderr.on('data', (d: Buffer) => (err += d.toString()));
    c.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(' ')}: ${err.trim()}`))));
  });
}

async function runWorker(backend: string, reps: number): Promise<Result> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-benchfw-'));
  const host = path.join(dir, 'host');
  const sandboxes = path.join(dir, 'sandboxes');
  fs.mkdirSync(sandboxes);
  try {
    fs.writeFileSync(host, '');
    await must('unshare', [`--net=${host}`, 'true']);
    const worker = path.join(REPO, 'bench', 'firewall-worker.ts');
    const child = spawn('nsenter', [`--net=${host}`, 'node', '--import', 'tsx', worker, backend, String(reps), sandboxes], {
      cwd: REPO,
      env: cleanEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    liveChildren.add(child);
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((r) => child.on('close', r));
    liveChildren.delete(child);
    if (code !== 0)
      throw new Error(`firewall worker (${backend}) exited ${code}: ${err.trim().split('\n').slice(0, 5).join('\n')}`);
    return JSON.parse(out) as Result;
  } finally {
    await must('umount', [host]).catch(() => undefined);
    for (const f of fs.readdirSync(sandboxes)) await must('umount', [path.join(sandboxes, f)]).catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export async function benchFirewall(o: BenchOptions): Promise<SectionResult> {
  const reps = o.quick ? 7 : 15;
  const results: Record<string, Result> = {};
  for (const b of BACKENDS) {
    o.log(`firewall: ${b}`);
    results[b] = await runWorker(b, reps);
  }
  const med = (b: string, n: string, what: string): number => stats(results[b]?.[n]?.[what] ?? []).median;
  const rows: string[][] = [['operation', 'containers', ...BACKENDS.map((b) => `${b} ms`), 'iptables / nftables']];
  for (const what of ['publish', 'unpublish', 'dns', 'attach']) {
    for (const n of ['1', '100', '1000']) {
      rows.push([
        what === 'dns' ? 'sandbox DNS rules' : what === 'attach' ? 'attach (DNS rules + 1 port)' : `${what} 1 port`,
        n,
        ...BACKENDS.map((b) => ms(med(b, n, what))),
        ratio(med('iptables', n, what), med('nftables', n, what)),
      ]);
    }
  }
  const text = [
    `medians of ${reps} per cell; "containers" = endpoints with one published port each, already programmed.`,
    'nftables = libnftables in-process (the backend default), nftables-exec = `nft -f -` per operation.',
    '',
    table(rows),
  ].join('\n');
  return {
    text,
    headlines: [
      {
        what: 'publish 1 port with 1000 containers (nftables)',
        value: `${ms(med('nftables', '1000', 'publish'))} ms`,
        against: `iptables ${ms(med('iptables', '1000', 'publish'))} ms (${ratio(med('iptables', '1000', 'publish'), med('nftables', '1000', 'publish'))})`,
      },
      {
        what: 'attach (DNS rules + 1 port) with 1000 containers (nftables)',
        value: `${ms(med('nftables', '1000', 'attach'))} ms`,
        against: `iptables ${ms(med('iptables', '1000', 'attach'))} ms (${ratio(med('iptables', '1000', 'attach'), med('nftables', '1000', 'attach'))})`,
      },
    ],
  };
}
