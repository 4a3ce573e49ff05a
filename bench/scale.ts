/**
 * Section "scale": attach time as the number of containers on one user bridge grows —
 * `POST /containers/create` (raw HTTP, not started) for containers 1 … 500, reported at 1, 100,
 * 250 and 500 (that sample and the median of the 10 ending there); then the listing paths with
 * 1000 containers on the bridge (`ps -a` and `network inspect`, whole commands and the daemon
 * side, issue 14's target: under 100 ms); then `DELETE` of them all. Then, in a world of its own,
 * the daemon's restart with 1000 containers (bench/restart.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import { run } from '../test/helpers/world.js';
import {
  benchWorld,
  removeNetns,
  apiOk,
  createBody,
  ms,
  ok,
  ratio,
  stats,
  table,
  timingRow,
  type BenchOptions,
  type SectionResult,
} from './lib.js';
import { benchRestart } from './restart.js';

export async function benchScale(o: BenchOptions): Promise<SectionResult> {
  const s = await attachScale(o);
  const r = await benchRestart(o);
  return {
    ...s,
    text: `${s.text}\n\n${r.text}`,
    report: [...(s.report ?? []), ...(r.report ?? [])],
    headlines: [...s.headlines, ...r.headlines],
  };
}

async function attachScale(o: BenchOptions): Promise<SectionResult> {
  const TOTAL = o.quick ? 250 : 500;
  const marks = o.quick ? [1, 100, 250] : [1, 100, 250, 500];
  const w = await benchWorld();
  try {
    ok(await w.cli(['network', 'create', 'scalenet']), 'network create scalenet');
    // Control: after every 10th create, one create + delete on a second, empty bridge. If the
    // scalenet creates slow down and the control does not, the cost grows with the bridge's
    // size; if both do, it is daemon-wide (or the machine got busier).
    ok(await w.cli(['network', 'create', 'ctlnet']), 'network create ctlnet');
    // frames sent by the ports of scalenet's bridge (what it floods into the containers), per block of 50
    const bridge = `br-${(JSON.parse((await apiOk(w.socket, 'GET', '/networks/scalenet')).body) as { Id: string }).Id.slice(0, 12)}`;
    const portFrames = async (): Promise<number> => {
      const r = await run('nsenter', [`--net=${w.hostNetns}`, 'ip', '-s', '-j', 'link', 'show', 'master', bridge]);
      const links = JSON.parse(r.stdout || '[]') as Array<{ stats64?: { tx?: { packets?: number } } }>;
      return links.reduce((sum, l) => sum + (l.stats64?.tx?.packets ?? 0), 0);
    };
    const flooded: number[] = [];
    let framesAt = await portFrames();
    const ids: string[] = [];
    const create: number[] = [];
    const control: Array<{ at: number; ms: number }> = [];
    const kernel: Array<{ at: number; veth: number; netns: number }> = [];
    let createAll = 0;
    for (let i = 0; i < TOTAL; i++) {
      const r = await apiOk(w.socket, 'POST', '/containers/create', createBody('scalenet'));
      createAll += r.ms;
      ids.push((JSON.parse(r.body) as { Id: string }).Id);
      create.push(r.ms);
      if (i % 10 === 9) {
        const c = await apiOk(w.socket, 'POST', '/containers/create', createBody('ctlnet'));
        control.push({ at: i + 1, ms: c.ms });
        await apiOk(w.socket, 'DELETE', `/containers/${(JSON.parse(c.body) as { Id: string }).Id}?force=1`);
        // kernel floor with the same number of namespaces and veths around: a veth pair added in
        // the world's host netns (timed `ip link add`, minus nothing), and a new netns file.
        const v = await run('nsenter', [
          `--net=${w.hostNetns}`,
          'ip',
          'link',
          'add',
          'bscale0',
          'type',
          'veth',
          'peer',
          'name',
          'bscale1',
        ]);
        await run('nsenter', [`--net=${w.hostNetns}`, 'ip', 'link', 'del', 'bscale0']);
        const nsFile = path.join(w.dir, 'bench-scale-ns');
        fs.writeFileSync(nsFile, '');
        const u = await run('unshare', [`--net=${nsFile}`, 'true']);
        await removeNetns(nsFile);
        if (v.exitCode === 0 && u.exitCode === 0) kernel.push({ at: i + 1, veth: v.ms, netns: u.ms });
      }
      if ((i + 1) % 50 === 0) {
        const f = await portFrames();
        flooded.push(f - framesAt);
        framesAt = f;
      }
      if ((i + 1) % 100 === 0) o.log(`scale: ${i + 1}/${TOTAL} created`);
    }
    const ps = ok(await w.cli(['ps', '-a', '-q']), 'ps -a');
    const listed = ps.stdout.trim().split('\n').filter(Boolean).length;

    // The listing paths with LIST_N containers (more made untimed, removed again below).
    const LIST_N = o.quick ? 500 : 1000;
    const LIST_ROUNDS = 9;
    const extra: string[] = [];
    for (let i = TOTAL; i < LIST_N; i++) {
      const r = await apiOk(w.socket, 'POST', '/containers/create', createBody('scalenet'));
      extra.push((JSON.parse(r.body) as { Id: string }).Id);
      if ((i + 1) % 250 === 0) o.log(`scale: ${i + 1}/${LIST_N} created for the listings`);
    }
    // Whole commands through bin/tsnet (the launcher's default path, and the node path forced with
    // TSNET_CLI_DIRECT=0), and the daemon side alone: the same request on the raw API socket.
    const lists: Record<string, number[]> = {
      version: [],
      ps: [],
      psNode: [],
      psApi: [],
      inspect: [],
      inspectNode: [],
      inspectApi: [],
    };
    const nodePath = { env: { TSNET_CLI_DIRECT: '0' } };
    let listedAll = 0;
    for (let i = -1; i < LIST_ROUNDS; i++) {
      const v = ok(await w.cli(['version']), 'version');
      const p = ok(await w.cli(['ps', '-a']), 'ps -a');
      const pn = ok(await w.cli(['ps', '-a'], nodePath), 'ps -a (TSNET_CLI_DIRECT=0)');
      const pa = await apiOk(w.socket, 'GET', '/containers/json?all=1');
      const n = ok(await w.cli(['network', 'inspect', 'scalenet']), 'network inspect');
      const nn = ok(await w.cli(['network', 'inspect', 'scalenet'], nodePath), 'network inspect (TSNET_CLI_DIRECT=0)');
      const na = await apiOk(w.socket, 'GET', '/networks/scalenet');
      if (i < 0) continue;
      listedAll = p.stdout.trim().split('\n').length - 1;
      lists.version!.push(v.ms);
      lists.ps!.push(p.ms);
      lists.psNode!.push(pn.ms);
      lists.psApi!.push(pa.ms);
      lists.inspect!.push(n.ms);
      lists.inspectNode!.push(nn.ms);
      lists.inspectApi!.push(na.ms);
    }
    for (const id of extra.reverse()) await apiOk(w.socket, 'DELETE', `/containers/${id}?force=1`);
    const med = (k: string): number => stats(lists[k]!).median;

    // Removed newest first, so the DELETE of #m happens with m containers present, like its create.
    const del: number[] = new Array<number>(TOTAL).fill(NaN);
    const t1 = performance.now();
    for (let i = TOTAL - 1; i >= 0; i--) del[i] = (await apiOk(w.socket, 'DELETE', `/containers/${ids[i]}?force=1`)).ms;
    const deleteAll = performance.now() - t1;
    o.log('scale: all removed');

    // window: the 10 samples ending at the mark (for mark 1: samples 1..10)
    const win = (xs: number[], mark: number): number[] => (mark < 10 ? xs.slice(0, 10) : xs.slice(mark - 10, mark));
    // control samples taken among the 50 creates ending at the mark (the first 50 for mark 1)
    const ctl = (mark: number): number[] =>
      control.filter((c) => c.at > Math.max(0, mark - 50) && c.at <= Math.max(50, mark)).map((c) => c.ms);
    const rows = [
      [
        'container #m on one bridge',
        'create ms',
        'median of 10 ms',
        'control: empty bridge ms',
        'DELETE ms (m present)',
        'median of 10 ms',
      ],
    ];
    for (const m of marks)
      rows.push([
        `#${m} (${m} present)`,
        ms(create[m - 1]!),
        ms(stats(win(create, m)).median),
        ms(stats(ctl(m)).median),
        ms(del[m - 1]!),
        ms(stats(win(del, m)).median),
      ]);
    const blocks = [
      ['creates in block', 'scalenet create', 'control create', 'DELETE', 'ip link add veth', 'unshare --net', 'frames flooded'],
    ];
    for (let b = 0; b < TOTAL; b += 50) {
      const inBlock = <T extends { at: number }>(xs: T[]): T[] => xs.filter((c) => c.at > b && c.at <= b + 50);
      blocks.push([
        `${b + 1}–${b + 50}`,
        ms(stats(create.slice(b, b + 50)).median),
        ms(stats(inBlock(control).map((c) => c.ms)).median),
        ms(stats(del.slice(b, b + 50)).median),
        ms(stats(inBlock(kernel).map((k) => k.veth)).median),
        ms(stats(inBlock(kernel).map((k) => k.netns)).median),
        String(flooded[b / 50] ?? ''),
      ]);
    }
    // the target row (docs/benchmarks.md, "scale"): the first and the last block of 50 creates
    const BLOCK = 50;
    const firstBlock = stats(create.slice(0, BLOCK)).median;
    const lastBlock = stats(create.slice(TOTAL - BLOCK, TOTAL)).median;
    // before session 10 the row's figures: the first and the last 10 creates
    const first = stats(win(create, 1)).median;
    const last = stats(win(create, TOTAL)).median;
    const c = stats(create);
    const d = stats(del);
    const text = [
      `${TOTAL} containers created one after another on one user bridge (raw POST /containers/create, not started), then deleted newest first`,
      '',
      table(rows),
      '',
      "median ms per block of 50 creates (control, ip link add, unshare: the 5 samples taken in the block); frames flooded: what the ports of scalenet's bridge sent in the block (IPv6 multicast of new endpoints before decision 43)",
      table(blocks),
      '',
      table([
        ['all', 'n', 'median ms', 'min', 'max', 'sum s'],
        ['create', String(c.n), ms(c.median), ms(c.min), ms(c.max), (createAll / 1000).toFixed(1)],
        ['DELETE ?force=1', String(d.n), ms(d.median), ms(d.min), ms(d.max), (deleteAll / 1000).toFixed(1)],
      ]),
      '',
      `target row: creates ${TOTAL - BLOCK + 1}–${TOTAL} / creates 1–${BLOCK} (medians of ${BLOCK}): ${ratio(lastBlock, firstBlock)} (${ms(lastBlock)} vs ${ms(firstBlock)} ms); last 10 / first 10 (the row before session 10): ${ratio(last, first)}; control (empty bridge) last 50 / first 50: ${ratio(stats(ctl(TOTAL)).median, stats(ctl(1)).median)}`,
      `tsnet ps -a with ${TOTAL} containers: ${ms(ps.ms)} ms, ${listed} listed`,
      '',
      `listings with ${LIST_N} containers on the bridge (1 warm-up + ${LIST_ROUNDS} rounds; ${listedAll} listed by ps -a); whole command through bin/tsnet, the same with TSNET_CLI_DIRECT=0 (node client), and the daemon side alone (the same GET on the raw API socket)`,
      table([
        ['command', 'n', 'median ms', 'min', 'max', 'TSNET_CLI_DIRECT=0 ms', 'daemon side (raw GET) ms'],
        timingRow('tsnet version (CLI floor)', lists.version!, '', ''),
        timingRow('tsnet ps -a', lists.ps!, ms(med('psNode')), ms(med('psApi'))),
        timingRow('tsnet network inspect scalenet', lists.inspect!, ms(med('inspectNode')), ms(med('inspectApi'))),
      ]),
    ].join('\n');
    const blockCurve = (xs: number[]): Array<[number, number]> => {
      const pts: Array<[number, number]> = [[1, stats(xs.slice(0, 10)).median]];
      for (let b = 50; b <= TOTAL; b += 50) pts.push([b, stats(xs.slice(b - 50, b)).median]);
      return pts;
    };
    return {
      text,
      report: [
        {
          group: 'scale',
          key: 'scale',
          what: `create at containers #${TOTAL - BLOCK + 1}–${TOTAL} vs #1–${BLOCK} on one bridge (medians of ${BLOCK}; of 10: ${ratio(last, first)})`,
          tsnet: lastBlock,
          peers: { [`#1–${BLOCK} (same run)`]: firstBlock },
          target: `#1–${BLOCK} (same run) 1.3`,
        },
        {
          group: 'scale',
          key: `ps-${LIST_N}`,
          what: `ps -a with ${LIST_N} containers, whole command (bin/tsnet; daemon side ${ms(med('psApi'))} ms)`,
          tsnet: med('ps'),
          peers: {},
          target: '≤ 100 ms',
        },
        {
          group: 'scale',
          key: `ps-${LIST_N}-daemon`,
          what: `ps -a with ${LIST_N} containers, daemon side (raw GET /containers/json?all=1)`,
          tsnet: med('psApi'),
          peers: {},
        },
        {
          group: 'scale',
          key: `inspect-${LIST_N}`,
          what: `network inspect with ${LIST_N} containers, whole command (bin/tsnet; daemon side ${ms(med('inspectApi'))} ms)`,
          tsnet: med('inspect'),
          peers: {},
          target: '≤ 100 ms',
        },
        {
          group: 'scale',
          key: `inspect-${LIST_N}-daemon`,
          what: `network inspect with ${LIST_N} containers, daemon side (raw GET /networks/{id})`,
          tsnet: med('inspectApi'),
          peers: {},
        },
      ],
      curves: [
        { name: 'tsnet create on the growing bridge', points: blockCurve(create) },
        {
          name: 'control: create on an empty bridge',
          points: [50, 100, 150, 200, 250, 300, 350, 400, 450, 500]
            .filter((b) => b <= TOTAL)
            .map((b): [number, number] => [b, stats(control.filter((c) => c.at > b - 50 && c.at <= b).map((c) => c.ms)).median]),
        },
      ],
      headlines: [
        {
          what: `attach (create) #1–${BLOCK} vs #${TOTAL - BLOCK + 1}–${TOTAL}`,
          value: `${ms(firstBlock)} → ${ms(lastBlock)} ms`,
          against: `${ratio(lastBlock, firstBlock)} (medians of ${BLOCK}; of the first and last 10: ${ms(first)} → ${ms(last)} ms, ${ratio(last, first)}); control on an empty bridge ${ms(stats(ctl(1)).median)} → ${ms(stats(ctl(TOTAL)).median)} ms`,
        },
        {
          what: `ps -a / network inspect, ${LIST_N} containers`,
          value: `${ms(med('ps'))} / ${ms(med('inspect'))} ms`,
          against: `daemon side ${ms(med('psApi'))} / ${ms(med('inspectApi'))} ms; node client (TSNET_CLI_DIRECT=0) ${ms(med('psNode'))} / ${ms(med('inspectNode'))} ms; tsnet version ${ms(med('version'))} ms (target: under 100 ms)`,
        },
      ],
    };
  } finally {
    await w.teardown();
  }
}
