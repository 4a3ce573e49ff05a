/**
 * Section "scale": attach time as the number of containers on one user bridge grows —
 * `POST /containers/create` (raw HTTP, not started) for containers 1 … 500, reported at 1, 100,
 * 250 and 500 (that sample and the median of the 10 ending there), then `DELETE` of them all.
 */
import { benchWorld, apiOk, createBody, ms, ok, ratio, stats, table, type BenchOptions, type SectionResult } from './lib.js';

export async function benchScale(o: BenchOptions): Promise<SectionResult> {
  const TOTAL = o.quick ? 250 : 500;
  const marks = o.quick ? [1, 100, 250] : [1, 100, 250, 500];
  const w = await benchWorld();
  try {
    ok(await w.cli(['network', 'create', 'scalenet']), 'network create scalenet');
    const ids: string[] = [];
    const create: number[] = [];
    const t0 = performance.now();
    for (let i = 0; i < TOTAL; i++) {
      const r = await apiOk(w.socket, 'POST', '/containers/create', createBody('scalenet'));
      ids.push((JSON.parse(r.body) as { Id: string }).Id);
      create.push(r.ms);
      if ((i + 1) % 100 === 0) o.log(`scale: ${i + 1}/${TOTAL} created`);
    }
    const createAll = performance.now() - t0;
    const ps = ok(await w.cli(['ps', '-a', '-q']), 'ps -a');
    const listed = ps.stdout.trim().split('\n').filter(Boolean).length;

    const del: number[] = [];
    const t1 = performance.now();
    for (const id of ids) del.push((await apiOk(w.socket, 'DELETE', `/containers/${id}?force=1`)).ms);
    const deleteAll = performance.now() - t1;
    o.log('scale: all removed');

    // window: the 10 samples ending at the mark (for mark 1: samples 1..10)
    const win = (xs: number[], mark: number): number[] => (mark < 10 ? xs.slice(0, 10) : xs.slice(mark - 10, mark));
    const rows = [['container # on one bridge', 'create ms', 'median of 10 ms', 'DELETE ms (same #)', 'median of 10 ms']];
    for (const m of marks) rows.push([`#${m}`, ms(create[m - 1]!), ms(stats(win(create, m)).median), ms(del[m - 1]!), ms(stats(win(del, m)).median)]);
    const first = stats(win(create, 1)).median;
    const last = stats(win(create, TOTAL)).median;
    const c = stats(create);
    const d = stats(del);
    const text = [
      `${TOTAL} containers created one after another on one user bridge (raw POST /containers/create, not started), then deleted`,
      '',
      table(rows),
      '',
      table([
        ['all', 'n', 'median ms', 'min', 'max', 'total s'],
        ['create', String(c.n), ms(c.median), ms(c.min), ms(c.max), (createAll / 1000).toFixed(1)],
        ['DELETE ?force=1', String(d.n), ms(d.median), ms(d.min), ms(d.max), (deleteAll / 1000).toFixed(1)],
      ]),
      '',
      `last 10 / first 10 create medians: ${ratio(last, first)}   (tsnet ps -a with ${TOTAL} containers: ${ms(ps.ms)} ms, ${listed} listed)`,
    ].join('\n');
    return {
      text,
      headlines: [{ what: `attach (create) #1 vs #${TOTAL}`, value: `${ms(first)} → ${ms(last)} ms`, against: `${ratio(last, first)} (medians of 10)` }],
    };
  } finally {
    await w.teardown();
  }
}
