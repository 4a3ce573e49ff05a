/**
 * Daemon restart with many containers (issue 14.5, "scaling without slowing down"): a fleet of
 * containers on a few bridges — some running (some of those with a published port), some exited,
 * some only created — then tsnetd is stopped (SIGTERM; containers keep running: live restore)
 * and started again. Timed from the start of the new daemon: until `GET /_ping` answers, until
 * `GET /containers/json?all=1` answers, and until the daemon logs that its restore is done
 * (every running container has its ports and embedded DNS back); the daemon's CPU (own and
 * reaped children's) until then.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { World } from '../test/helpers/world.js';
import {
  api,
  apiOk,
  benchWorld,
  createBody,
  median,
  ms,
  ratio,
  sleep,
  table,
  type BenchOptions,
  type ReportRow,
  type SectionResult,
} from './lib.js';

/** The marker line the daemon logs when its background restore has finished (src/daemon/main.ts). */
export const RESTORE_DONE = /restore done in ([0-9.]+) ms/;

export interface Fleet {
  running: string[];
  exited: string[];
  created: string[];
  published: number;
}

/**
 * `n` containers on the default bridge and three user bridges, round robin: 4 in 10 running
 * (`sleep`; every 5th of them with a published port), 3 in 10 exited (ran `true`), 3 in 10
 * created only. Raw API requests, a few at a time.
 */
export function populate(w: World, n: number, log: (s: string) => void = () => undefined): Promise<Fleet> {
  return populateFrom(w, 0, n, log);
}

/** Containers #from … #to-1 of the fleet (populate). */
export async function populateFrom(w: World, from: number, n: number, log: (s: string) => void): Promise<Fleet> {
  const nets = ['bridge', 'rnet1', 'rnet2', 'rnet3'];
  for (const net of nets.slice(1)) {
    const r = await api(w.socket, 'POST', '/networks/create', { Name: net, CheckDuplicate: true });
    if (r.status !== 201 && r.status !== 409) throw new Error(`network create ${net}: ${r.status} ${r.body}`);
  }
  const fleet: Fleet = { running: [], exited: [], created: [], published: 0 };
  const one = async (i: number): Promise<void> => {
    const net = nets[i % nets.length]!;
    const kind = i % 10 < 4 ? 'running' : i % 10 < 7 ? 'exited' : 'created';
    const publish = kind === 'running' && i % 5 === 0;
    const ports: Record<string, Array<{ HostIp: string; HostPort: string }>> = publish
      ? { '80/tcp': [{ HostIp: '127.0.0.1', HostPort: String(20000 + i) }] }
      : {};
    const c = await apiOk(
      w.socket,
      'POST',
      '/containers/create',
      createBody(net, kind === 'exited' ? ['true'] : ['sleep', '100000'], ports),
    );
    const id = (JSON.parse(c.body) as { Id: string }).Id;
    if (kind !== 'created') {
      const waiting = kind === 'exited' ? apiOk(w.socket, 'POST', `/containers/${id}/wait?condition=next-exit`) : undefined;
      await apiOk(w.socket, 'POST', `/containers/${id}/start`);
      await waiting;
    }
    fleet[kind].push(id);
    if (publish) fleet.published++;
  };
  const WIDTH = 4;
  for (let i = from; i < n; i += WIDTH) {
    await Promise.all(Array.from({ length: Math.min(WIDTH, n - i) }, (_, k) => one(i + k)));
    if ((i + WIDTH) % 200 < WIDTH) log(`restart: ${Math.min(i + WIDTH, n)}/${n} containers made`);
  }
  return fleet;
}

export interface RestartTimes {
  /** From the new daemon's spawn until `GET /_ping` answers 200. */
  ping: number;
  /** … until `GET /containers/json?all=1` answers 200 (the first try after the ping). */
  ps: number;
  /** … until the daemon logs "restore done" (a daemon without that line: the ping). */
  done: number;
  /** The daemon's CPU (own + reaped children) at `done`, ms (10 ms ticks). */
  cpu: number;
  /** How many containers `ps -a` listed. */
  listed: number;
  /** The daemon's "restore done" line ('' for a build that does not log one). */
  line: string;
}

function cpuMs(pid: number | undefined): number {
  if (!pid) return NaN;
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const v = f
    .slice(f.lastIndexOf(')') + 2)
    .split(' ')
    .map(Number);
  return (v[11]! + v[12]! + v[13]! + v[14]!) * 10;
}

/**
 * Stop the world's daemon (SIGTERM) and start it again (through `wrap`, a daemonWrapper script,
 * when given), timing the new one's start.
 */
export async function timeRestart(
  w: World,
  wrap = '',
  env: Record<string, string> = {},
  signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM',
): Promise<RestartTimes> {
  await w.killDaemon(signal);
  const logFile = path.join(w.dir, 'daemon.log');
  const from = fs.existsSync(logFile) ? fs.statSync(logFile).size : 0;
  const saved = process.env.TSNET_DAEMON_WRAP;
  process.env.TSNET_DAEMON_WRAP = wrap;
  const t0 = performance.now();
  let started: Promise<void>;
  try {
    started = w.startDaemon([], env);
  } finally {
    process.env.TSNET_DAEMON_WRAP = saved ?? '';
  }
  let failed: unknown;
  started.catch((err: unknown) => (failed = err));
  const until = async (what: string, fn: () => Promise<boolean>): Promise<number> => {
    for (;;) {
      if (failed) throw failed;
      if (performance.now() - t0 > 300_000) throw new Error(`restart: no ${what} within 300 s`);
      if (await fn().catch(() => false)) return performance.now() - t0;
      await sleep(5);
    }
  };
  const ping = await until('ping', async () => (await api(w.socket, 'GET', '/_ping')).status === 200);
  let listed = 0;
  const ps = await until('ps', async () => {
    const r = await api(w.socket, 'GET', '/containers/json?all=1');
    if (r.status === 200) listed = (JSON.parse(r.body) as unknown[]).length;
    return r.status === 200;
  });
  const newLog = (): string => {
    const fd = fs.openSync(logFile, 'r');
    try {
      const buf = Buffer.alloc(fs.fstatSync(fd).size - from);
      fs.readSync(fd, buf, 0, buf.length, from);
      return buf.toString('utf8');
    } finally {
      fs.closeSync(fd);
    }
  };
  // a build that logs "restore starts" listens before its restore is over and logs "restore
  // done" at its end; an older one restores before it listens (done at its ping)
  const done = /restore starts/.test(newLog()) ? await until('restore done', async () => RESTORE_DONE.test(newLog())) : ping;
  const cpu = cpuMs(w.daemon?.pid);
  await started;
  const line = /restore done in .*/.exec(newLog())?.[0] ?? '';
  return { ping, ps, done, cpu, listed, line };
}

/**
 * The bench rows: restarts of a daemon with `sizes` containers (the smaller first, then the fleet
 * grown to the larger), clean (SIGTERM, as `systemctl restart`) and after a kill -9, alternating.
 */
export async function benchRestart(o: BenchOptions): Promise<Omit<SectionResult, 'curves'>> {
  const sizes = o.quick ? [100, 250] : [250, 1000];
  const ROUNDS = o.quick ? 3 : 5;
  const w = await benchWorld();
  try {
    const by = new Map<string, RestartTimes[]>();
    let fleet: Fleet | undefined;
    let made = 0;
    for (const n of sizes) {
      const more = await populateFrom(w, made, n, (s) => o.log(s));
      fleet = fleet ? merge(fleet, more) : more;
      made = n;
      for (let r = 0; r < ROUNDS; r++) {
        for (const signal of r % 2 === 0 ? (['SIGTERM', 'SIGKILL'] as const) : (['SIGKILL', 'SIGTERM'] as const)) {
          const t = await timeRestart(w, '', {}, signal);
          const k = `${n} ${signal}`;
          by.set(k, [...(by.get(k) ?? []), t]);
        }
      }
      o.log(`restart: ${n} containers, ${ROUNDS} restarts each way`);
    }
    const med = (n: number, signal: string, k: 'ping' | 'ps' | 'done' | 'cpu'): number =>
      median((by.get(`${n} ${signal}`) ?? []).map((x) => x[k]));
    const [small, big] = [sizes[0]!, sizes[1]!];
    const rows = [['containers', 'stop', 'API answers (_ping) ms', 'ps -a answers ms', 'restore done ms', 'daemon CPU ms']];
    for (const n of sizes)
      for (const signal of ['SIGTERM', 'SIGKILL'])
        rows.push([
          String(n),
          signal === 'SIGTERM' ? 'clean (SIGTERM)' : 'kill -9',
          ms(med(n, signal, 'ping')),
          ms(med(n, signal, 'ps')),
          ms(med(n, signal, 'done')),
          ms(med(n, signal, 'cpu')),
        ]);
    const f = fleet!;
    const text = [
      `tsnetd restarted with ${big} containers on the default bridge and three user bridges (${f.running.length} running, ${f.published} of them with a published port; ${f.exited.length} exited; ${f.created.length} created), and before that with ${small}; medians of ${ROUNDS}, clean stops and kill -9 alternating. Timed from the new daemon's spawn; "restore done": every running container has its ports and embedded DNS back (the daemon's log line). Containers keep running throughout (live restore).`,
      '',
      table(rows),
      '',
      `restore done, ${big} vs ${small} containers: ${ratio(med(big, 'SIGTERM', 'done'), med(small, 'SIGTERM', 'done'))} clean, ${ratio(med(big, 'SIGKILL', 'done'), med(small, 'SIGKILL', 'done'))} after kill -9 (${(big / small).toFixed(0)}× the containers)`,
      "Docker is not measured here: a dockerd with live-restore and 1000 containers (400 running) takes minutes to populate (its create and start are ~10× tsnet's), more than this section's budget.",
    ].join('\n');
    const report: ReportRow[] = [
      {
        group: 'scale',
        key: `restart-${big}`,
        what: `daemon restart (SIGTERM) with ${big} containers: until the API answers (_ping; ps -a ${ms(med(big, 'SIGTERM', 'ps'))} ms)`,
        tsnet: med(big, 'SIGTERM', 'ping'),
        peers: {},
      },
      {
        group: 'scale',
        key: `restart-${big}-done`,
        what: `daemon restart (SIGTERM) with ${big} containers: until the restore is done (ports, DNS of ${f.running.length} running)`,
        tsnet: med(big, 'SIGTERM', 'done'),
        peers: {},
      },
      {
        group: 'scale',
        key: `restart-${big}-kill`,
        what: `daemon restart after kill -9 with ${big} containers: until the restore is done`,
        tsnet: med(big, 'SIGKILL', 'done'),
        peers: {},
      },
    ];
    return {
      text,
      report,
      headlines: [
        {
          what: `daemon restart, ${big} containers`,
          value: `${ms(med(big, 'SIGTERM', 'ping'))} / ${ms(med(big, 'SIGTERM', 'done'))} ms`,
          against: `API answers / restore done (clean stop); after kill -9 ${ms(med(big, 'SIGKILL', 'done'))} ms; ${small} containers: ${ms(med(small, 'SIGTERM', 'done'))} ms`,
        },
      ],
    };
  } finally {
    await w.teardown();
  }
}

function merge(a: Fleet, b: Fleet): Fleet {
  return {
    running: [...a.running, ...b.running],
    exited: [...a.exited, ...b.exited],
    created: [...a.created, ...b.created],
    published: a.published + b.published,
  };
}
