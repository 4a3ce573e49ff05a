/**
 * Section "run": the whole `tsnet run --rm … busybox true` command (CLI start, create, attach,
 * start, wait, remove) for five network modes, beside `runc run` of the same busybox rootfs in
 * its own new network namespace, measured interleaved in the same run; plus the resident size
 * of the tsnet-init supervisors of `run -d` containers and of tsnetd.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BUSYBOX_TAR, cleanEnv, run } from '../test/helpers/world.js';
import {
  benchWorld,
  DOCKER_EARLIER,
  must,
  ms,
  ok,
  ratio,
  sleep,
  stats,
  table,
  timingRow,
  vmRssKb,
  type BenchOptions,
  type SectionResult,
} from './lib.js';

const RUNC = '/usr/sbin/runc';

interface Variant {
  key: string;
  label: string;
  args: string[];
  docker: number;
}

export async function benchRun(o: BenchOptions): Promise<SectionResult> {
  const N = o.quick ? 5 : 11;
  const w = await benchWorld();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-bench-runc-'));
  const runcRoot = path.join(tmp, 'state');
  try {
    ok(await w.cli(['network', 'create', 'benchnet']), 'network create benchnet');
    const variants: Variant[] = [
      { key: 'none', label: 'run --rm --network none', args: ['--network', 'none'], docker: DOCKER_EARLIER.none },
      { key: 'host', label: 'run --rm --network host', args: ['--network', 'host'], docker: DOCKER_EARLIER.host },
      { key: 'bridge', label: 'run --rm (default bridge)', args: [], docker: DOCKER_EARLIER.defaultBridge },
      {
        key: 'user',
        label: 'run --rm --network benchnet (user bridge)',
        args: ['--network', 'benchnet'],
        docker: DOCKER_EARLIER.userBridge,
      },
      {
        key: 'publish',
        label: 'run --rm --network benchnet -p 127.0.0.1:18080:80',
        args: ['--network', 'benchnet', '-p', '127.0.0.1:18080:80'],
        docker: DOCKER_EARLIER.publish,
      },
    ];

    // The OCI bundle for runc: the same busybox rootfs, `true`, no terminal, runc's default
    // namespaces (a new network namespace among them).
    const bundle = path.join(tmp, 'bundle');
    fs.mkdirSync(path.join(bundle, 'rootfs'), { recursive: true });
    await must('tar', ['-xf', BUSYBOX_TAR, '-C', path.join(bundle, 'rootfs')]);
    await must(RUNC, ['spec', '--bundle', bundle]);
    const cfgFile = path.join(bundle, 'config.json');
    const cfg = JSON.parse(fs.readFileSync(cfgFile, 'utf8')) as {
      process: { args: string[]; terminal: boolean };
      linux: { namespaces: Array<{ type: string }> };
    };
    cfg.process.args = ['true'];
    cfg.process.terminal = false;
    if (!cfg.linux.namespaces.some((n) => n.type === 'network')) cfg.linux.namespaces.push({ type: 'network' });
    fs.writeFileSync(cfgFile, JSON.stringify(cfg, null, 2));
    let runcSeq = 0;
    const runcOnce = async (): Promise<number> => {
      const id = `tsnetbench-${process.pid}-${runcSeq++}`;
      const r = await run(RUNC, ['--root', runcRoot, 'run', '--bundle', bundle, id]);
      await run(RUNC, ['--root', runcRoot, 'delete', '-f', id]);
      if (r.exitCode !== 0) throw new Error(`runc run: exit ${r.exitCode}: ${r.stderr.trim()}`);
      return r.ms;
    };
    // The floor every tsnet CLI command pays: a Node start with a clean environment.
    const nodeOnce = async (): Promise<number> => (await run('node', ['-e', ''], { env: cleanEnv() })).ms;

    const samples: Record<string, number[]> = { runc: [], node: [] };
    for (const v of variants) samples[v.key] = [];
    for (let i = -1; i < N; i++) {
      o.log(`run: round ${i + 1}/${N}`);
      const t = await runcOnce();
      if (i >= 0) samples.runc!.push(t);
      const n = await nodeOnce();
      if (i >= 0) samples.node!.push(n);
      for (const v of variants) {
        const r = ok(await w.cli(['run', '--rm', ...v.args, 'busybox', 'true']), v.label);
        if (i >= 0) samples[v.key]!.push(r.ms);
      }
    }
    const runcMed = stats(samples.runc!).median;
    const rows: string[][] = [['whole command, same rootfs', 'n', 'median ms', 'min', 'max', '÷ runc', 'Docker*', '÷ Docker*']];
    rows.push(timingRow('runc run (bundle, new netns), peer', samples.runc!, '1.00×', String(DOCKER_EARLIER.runcBundle), '–'));
    rows.push(
      timingRow('node -e "" (clean env): CLI start floor', samples.node!, ratio(stats(samples.node!).median, runcMed), '', ''),
    );
    for (const v of variants) {
      const m = stats(samples[v.key]!).median;
      rows.push(timingRow(`tsnet ${v.label}`, samples[v.key]!, ratio(m, runcMed), String(v.docker), ratio(m, v.docker)));
    }

    // Supervisor and daemon RSS with `run -d` containers.
    const daemonPid = w.daemon?.pid;
    const daemonIdle = daemonPid ? vmRssKb(daemonPid) : NaN;
    const K = o.quick ? 3 : 5;
    const ids: string[] = [];
    for (let i = 0; i < K; i++)
      ids.push(ok(await w.cli(['run', '-d', '--network', 'benchnet', 'busybox', 'sleep', '1000']), 'run -d').stdout.trim());
    await sleep(300);
    const rss: number[] = [];
    const cdir = path.join(w.execRoot, 'c');
    for (const b of fs.readdirSync(cdir)) {
      const pid = Number(fs.readFileSync(path.join(cdir, b, 'supervisor.pid'), 'utf8').trim());
      const kb = vmRssKb(pid);
      if (Number.isFinite(kb)) rss.push(kb);
    }
    const daemonBusy = daemonPid ? vmRssKb(daemonPid) : NaN;
    await w.cli(['rm', '-f', ...ids]);
    const r = stats(rss);
    const rssRows = [
      ['resident memory', 'n', 'median kB', 'min', 'max'],
      ['tsnet-init supervisor of a `run -d` container (VmRSS)', String(r.n), String(r.median), String(r.min), String(r.max)],
      ['tsnetd, before those containers', '1', String(daemonIdle), '', ''],
      [`tsnetd, with ${K} running containers`, '1', String(daemonBusy), '', ''],
    ];

    const none = stats(samples.none!).median;
    const br = stats(samples.bridge!).median;
    const text = [
      `tsnet run --rm … busybox true vs runc run, interleaved, 1 warm-up + ${N} rounds`,
      '',
      table(rows),
      '',
      '* Docker 20.10 (and runc bundle figure) from shared/reference/machine-facts.md: measured earlier, NOT in this run.',
      '',
      table(rssRows),
    ].join('\n');
    return {
      text,
      headlines: [
        {
          what: 'run --rm --network none',
          value: `${ms(none)} ms`,
          against: `runc ${ms(runcMed)} ms (${ratio(none, runcMed)}); Docker* ${DOCKER_EARLIER.none} ms (${ratio(none, DOCKER_EARLIER.none)})`,
        },
        {
          what: 'run --rm default bridge',
          value: `${ms(br)} ms`,
          against: `Docker* ${DOCKER_EARLIER.defaultBridge} ms: ${ratio(br, DOCKER_EARLIER.defaultBridge)} (target ≤ 0.20×)`,
        },
        {
          what: 'run --rm user bridge -p',
          value: `${ms(stats(samples.publish!).median)} ms`,
          against: `Docker* ${DOCKER_EARLIER.publish} ms: ${ratio(stats(samples.publish!).median, DOCKER_EARLIER.publish)}`,
        },
        { what: 'tsnet-init supervisor RSS', value: `${r.median} kB`, against: `median of ${r.n}` },
      ],
    };
  } finally {
    // runc containers are deleted after each run; the state dir and bundle go with tmp.
    fs.rmSync(tmp, { recursive: true, force: true });
    await w.teardown();
  }
}
