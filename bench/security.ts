/**
 * Section "security": what seccomp and the device restriction add to a container start.
 *
 * A. tsnet-init alone (spawn → `started`, busybox `true`), the variants interleaved in one run:
 *    plain; + the seccomp filter; + the cgroup2 dir with the device program (the child created
 *    in it by clone3, the daemon's mkdir included); + a v1 devices cgroup joined by a
 *    cgroup.procs write instead (the fallback without cgroup2); all of tsnet's defaults.
 * B. The daemon's `POST /containers/{id}/start` of a created `--network none` container:
 *    default (seccomp + device program), `seccomp=unconfined`, `--privileged` (neither).
 * C. The kernel operations alone (bench/security-micro.c, built here with gcc): installing the
 *    filter, a v1 devices join, the cgroup2 way, a plain fork. A and B include a whole process
 *    start and are dominated by the machine's load; C isolates what each protection adds.
 */
import { execFileSync, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createCgroups, type Placement } from '../src/runtime/cgroups.js';
import { DEFAULT_CAPS } from '../src/runtime/container/security-opts.js';
import { deviceProgram } from '../src/runtime/devices/bpf-program.js';
import { DEFAULT_DEVICE_RULES } from '../src/runtime/devices/rules.js';
import { seccompFilter } from '../src/runtime/seccomp/index.js';
import { BUSYBOX_TAR, REPO } from '../test/helpers/world.js';
import {
  apiOk,
  type BenchOptions,
  benchWorld,
  createBody,
  type SectionResult,
  stats,
  table,
  timingRow,
  TIMING_HEADER,
} from './lib.js';

const INIT = path.join(REPO, 'src/runtime/native/tsnet-init');

/** spawn → `started` of one `tsnet-init run` (go sent at ready), then wait for its exit. */
function startOnce(bundle: string, records: string[]): Promise<number> {
  fs.mkdirSync(bundle, { recursive: true });
  fs.writeFileSync(path.join(bundle, 'spec'), records.map((r) => `${r}\0`).join(''));
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    let took = 0;
    let text = '';
    let goSent = false;
    const p = spawn(INIT, ['run', bundle], { stdio: ['pipe', 'pipe', 'ignore'] });
    p.stdout.setEncoding('utf8').on('data', (d: string) => {
      text += d;
      if (/^ready \d+$/m.test(text) && !goSent) {
        goSent = true;
        p.stdin.write('go\n');
      }
      if (/^error /m.test(text)) reject(new Error(text.trim()));
    });
    // after go the pipe ends at the execve: that is `started` (docs/tsnet-init.md)
    p.stdout.on('end', () => {
      if (goSent && !took && !/^error /m.test(text)) took = performance.now() - t0;
    });
    p.on('exit', () => (took ? resolve(took) : reject(new Error(`tsnet-init: ${text.trim()}`))));
  });
}

async function partA(o: BenchOptions): Promise<string> {
  const N = o.quick ? 7 : 25;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-bench-sec-'));
  const parent = `tsnet-bench-${crypto.randomBytes(3).toString('hex')}`;
  const hybrid = createCgroups({ parent });
  const v1 = createCgroups({ parent, devices: 'v1' });
  try {
    const rootfs = path.join(tmp, 'rootfs');
    fs.mkdirSync(rootfs);
    execFileSync('tar', ['-xf', BUSYBOX_TAR, '-C', rootfs]);
    const base = [`rootfs=${rootfs}`, 'env=PATH=/bin', 'arg=true'];
    const sc = path.join(tmp, 'seccomp.bpf');
    fs.writeFileSync(sc, seccompFilter(undefined, DEFAULT_CAPS));
    const dev = path.join(tmp, 'devices.bpf');
    const devCode = deviceProgram(DEFAULT_DEVICE_RULES);
    const withCgroup = (p: Placement): string[] => [
      ...p.join.map((d) => `cgroup=${d}`),
      ...(p.into ? [`cgroup_into=${p.into}`] : []),
      ...(p.devices === 'bpf' ? [`devices_bpf=${dev}`] : []),
    ];
    type V = { label: string; run: (name: string) => Promise<number> };
    const timed = async (name: string, cg: typeof hybrid | undefined, extra: string[]) => {
      const t0 = performance.now();
      let recs = [...base, ...extra];
      if (cg) {
        const p = cg.create(name, {}, DEFAULT_DEVICE_RULES);
        if (p.devices === 'bpf') fs.writeFileSync(dev, devCode);
        recs = [...recs, ...withCgroup(p)];
      }
      const setup = performance.now() - t0;
      const took = await startOnce(path.join(tmp, name), recs);
      fs.rmSync(path.join(tmp, name), { recursive: true, force: true });
      if (cg)
        for (let i = 0; i < 50; i++) {
          try {
            cg.remove(name);
            break;
          } catch {
            await new Promise((r) => setTimeout(r, 20));
          }
        }
      return setup + took;
    };
    const variants: V[] = [
      { label: 'plain (no seccomp, no device cgroup)', run: (n) => timed(n, undefined, []) },
      { label: '+ seccomp filter', run: (n) => timed(n, undefined, [`seccomp=${sc}`]) },
      { label: '+ cgroup2 dir, device program, clone3 into it', run: (n) => timed(n, hybrid, []) },
      { label: '+ v1 devices cgroup (cgroup.procs write)', run: (n) => timed(n, v1, []) },
      { label: "tsnet's default: seccomp + device program", run: (n) => timed(n, hybrid, [`seccomp=${sc}`]) },
    ];
    const xs = variants.map(() => [] as number[]);
    for (let i = 0; i < N + 1; i++) {
      for (const [j, v] of variants.entries()) {
        const t = await v.run(`c${i}v${j}`);
        if (i > 0) xs[j]!.push(t); // round 0 warms up
      }
      o.log(`security A: round ${i + 1}/${N + 1}`);
    }
    const plain = stats(xs[0]!).median;
    return table([
      [...TIMING_HEADER, 'vs plain'],
      ...variants.map((v, j) => timingRow(v.label, xs[j]!, `${(stats(xs[j]!).median - plain).toFixed(2)} ms`)),
    ]);
  } finally {
    for (const c of ['devices', 'unified']) {
      try {
        fs.rmdirSync(path.join('/sys/fs/cgroup', c, parent));
      } catch {
        /* not made or gone */
      }
    }
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

async function partB(o: BenchOptions): Promise<string> {
  const N = o.quick ? 7 : 21;
  const w = await benchWorld();
  try {
    const variants = [
      { label: 'start: default (seccomp + device program)', hc: {} },
      { label: 'start: --security-opt seccomp=unconfined', hc: { SecurityOpt: ['seccomp=unconfined'] } },
      { label: 'start: --privileged (no seccomp, no device program)', hc: { Privileged: true } },
    ];
    const xs = variants.map(() => [] as number[]);
    for (let i = 0; i < N + 1; i++) {
      for (const [j, v] of variants.entries()) {
        const body = createBody('none', ['true']) as { HostConfig: Record<string, unknown> };
        body.HostConfig = { ...body.HostConfig, ...v.hc };
        const id = (JSON.parse((await apiOk(w.socket, 'POST', '/containers/create', body)).body) as { Id: string }).Id;
        const t0 = performance.now();
        await apiOk(w.socket, 'POST', `/containers/${id}/start`);
        const took = performance.now() - t0;
        await apiOk(w.socket, 'POST', `/containers/${id}/wait`);
        await apiOk(w.socket, 'DELETE', `/containers/${id}?force=1`);
        if (i > 0) xs[j]!.push(took);
      }
      o.log(`security B: round ${i + 1}/${N + 1}`);
    }
    return table([TIMING_HEADER, ...variants.map((v, j) => timingRow(v.label, xs[j]!))]);
  } finally {
    await w.teardown();
  }
}

function partC(): string {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-bench-micro-'));
  const name = `tsnet-bench-${crypto.randomBytes(3).toString('hex')}`;
  const dirs = [path.join('/sys/fs/cgroup/devices', name), path.join('/sys/fs/cgroup/unified', name)];
  try {
    const bin = path.join(tmp, 'security-micro');
    execFileSync('gcc', ['-O2', '-o', bin, path.join(REPO, 'bench', 'security-micro.c')]);
    fs.writeFileSync(path.join(tmp, 'sc.bpf'), seccompFilter(undefined, DEFAULT_CAPS));
    fs.writeFileSync(path.join(tmp, 'dev.bpf'), deviceProgram(DEFAULT_DEVICE_RULES));
    for (const d of dirs) fs.mkdirSync(d);
    return execFileSync(bin, [path.join(tmp, 'sc.bpf'), path.join(tmp, 'dev.bpf'), ...dirs], { encoding: 'utf8' });
  } finally {
    for (const d of dirs) {
      try {
        fs.rmdirSync(d);
      } catch {
        /* not made */
      }
    }
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

export async function benchSecurity(o: BenchOptions): Promise<SectionResult> {
  const c = partC();
  const a = await partA(o);
  const b = await partB(o);
  return {
    text:
      `C. the kernel operations alone (31 rounds)\n${c}\n` +
      `A. tsnet-init, spawn → started (daemon-side mkdir/cgroup setup included)\n${a}\n\nB. the daemon's POST /containers/{id}/start, --network none\n${b}`,
    headlines: [],
  };
}
