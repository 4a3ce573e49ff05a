/**
 * Section "network": `tsnet network create` / `network rm` (whole CLI commands), and the
 * daemon-side cost of attaching a container to a user bridge — `POST /containers/create` and
 * `DELETE /containers/{id}?force=1` as raw HTTP requests on the daemon socket — beside the CNI
 * bridge plugin's ADD and DEL (Debian containernetworking-plugins, host-local IPAM), run in the
 * world's host netns in the same run, interleaved. And the daemon side of `run --rm` on a user
 * bridge (row `daemon-run`): the requests the CLI sends for it — create with AutoRemove, wait
 * (condition removed) opened before start, start — as raw requests, from the create's send to
 * the wait's answer (the daemon answers it once the container is removed). The CLI's attach
 * stream is left out.
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { run } from '../test/helpers/world.js';
import {
  benchWorld,
  DOCKER_EARLIER,
  apiOk,
  createBody,
  ms,
  ok,
  ratio,
  removeNetns,
  stats,
  table,
  timingRow,
  type BenchOptions,
  type SectionResult,
} from './lib.js';
import { settle } from './settle.js';

const CNI_PATH = '/usr/lib/cni';

export async function benchNetwork(o: BenchOptions): Promise<SectionResult> {
  const N = o.quick ? 10 : 20;
  /** run --rm: warm-ups, then the runs kept (more than N: one run is ~15 ms, and its median is a target). */
  const RUN_WARMUP = 3;
  const RUN_N = o.quick ? 10 : 40;
  const w = await benchWorld();
  const tmp = path.join(w.dir, 'bench-cni');
  fs.mkdirSync(tmp, { recursive: true });
  try {
    // 1. the daemon side of run --rm on a user bridge, first: the section starts on a quiet
    // machine (main.ts waits for the CPUs and for ext4), and the target is for a quiet
    // machine. After the attach rounds it met the kernel's and ext4's cleanup of their 21 CNI
    // namespaces and 42 containers (settle.ts says what that cleanup costs a file creation).
    ok(await w.cli(['network', 'create', 'attachnet']), 'network create attachnet');
    const daemonRun: number[] = [];
    for (let i = -RUN_WARMUP; i < RUN_N; i++) daemonRun.push(await daemonSideRun(w.socket, 'attachnet'));
    daemonRun.splice(0, RUN_WARMUP);
    o.log('network: daemon-side run --rm done');
    // their removals' background teardown (netns, trash) is not the next rows' load
    await settle();

    // 2. network create + rm, whole CLI commands, and the daemon side (raw API requests).
    const create: number[] = [];
    const rm: number[] = [];
    const apiCreate: number[] = [];
    const apiRm: number[] = [];
    for (let i = -1; i < N; i++) {
      const c = ok(await w.cli(['network', 'create', `bn${i + 1}`]), 'network create');
      const r = ok(await w.cli(['network', 'rm', `bn${i + 1}`]), 'network rm');
      const ac = await apiOk(w.socket, 'POST', '/networks/create', { Name: `bna${i + 1}`, Driver: 'bridge' });
      const ar = await apiOk(w.socket, 'DELETE', `/networks/${(JSON.parse(ac.body) as { Id: string }).Id}`);
      if (i >= 0) {
        create.push(c.ms);
        rm.push(r.ms);
        apiCreate.push(ac.ms);
        apiRm.push(ar.ms);
      }
    }
    o.log('network: create/rm done');

    // 3. attach: tsnet's create/delete on a user bridge vs CNI bridge ADD/DEL.
    const tCreate: number[] = [];
    const tDelete: number[] = [];
    const cAdd: number[] = [];
    const cDel: number[] = [];
    const nsMake: number[] = [];
    const nsenterTrue: number[] = [];
    for (let i = -1; i < N; i++) {
      const c = await apiOk(w.socket, 'POST', '/containers/create', createBody('attachnet'));
      const id = (JSON.parse(c.body) as { Id: string }).Id;
      const d = await apiOk(w.socket, 'DELETE', `/containers/${id}?force=1`);
      const r = await cniRound(w.hostNetns, tmp, i + 1);
      if (i >= 0) {
        tCreate.push(c.ms);
        tDelete.push(d.ms);
        cAdd.push(r.add);
        cDel.push(r.del);
        nsMake.push(r.unshare);
        nsenterTrue.push(r.nsenterTrue);
      }
    }
    o.log('network: attach done');

    const cm = stats(create).median;
    const rows1 = [
      ['whole CLI command', 'n', 'median ms', 'min', 'max', 'Docker*', '÷ Docker*'],
      timingRow(
        'tsnet network create (bridge)',
        create,
        String(DOCKER_EARLIER.networkCreate),
        ratio(cm, DOCKER_EARLIER.networkCreate),
      ),
      timingRow('tsnet network rm', rm, '', ''),
      timingRow('  daemon side: POST /networks/create', apiCreate, '', ''),
      timingRow('  daemon side: DELETE /networks/{id}', apiRm, '', ''),
    ];
    const tc = stats(tCreate).median;
    const ca = stats(cAdd).median;
    const td = stats(tDelete).median;
    const cd = stats(cDel).median;
    const rows2 = [
      ['attach to a bridge, daemon/plugin side', 'n', 'median ms', 'min', 'max', 'ratio'],
      timingRow('tsnet POST /containers/create (user bridge, not started)', tCreate, `${ratio(tc, ca)} of CNI ADD`),
      timingRow('CNI bridge ADD (host-local IPAM, ipMasq)', cAdd, '1.00×'),
      timingRow('tsnet DELETE /containers/{id}?force=1', tDelete, `${ratio(td, cd)} of CNI DEL`),
      timingRow('CNI bridge DEL', cDel, '1.00×'),
      timingRow('  context: unshare --net=FILE true (netns CNI gets ready-made)', nsMake, ''),
      timingRow('  context: nsenter --net=HOST true (exec floor inside CNI times)', nsenterTrue, ''),
    ];
    const dr = stats(daemonRun).median;
    const rows3 = [
      ['daemon side of run --rm (raw API, no CLI)', 'n', 'median ms', 'min', 'max', 'target'],
      timingRow('create (AutoRemove) + wait (removed) + start, user bridge', daemonRun, '< 15 ms'),
    ];
    const text = [
      `daemon side of run --rm: ${RUN_WARMUP} warm-ups + ${RUN_N}, first in the section (on the quiet machine it starts on); network create/rm: 1 warm-up + ${N}; attach: 1 warm-up + ${N}, tsnet and CNI interleaved in the same world netns`,
      '',
      table(rows1),
      '',
      table(rows2),
      '',
      table(rows3),
      '',
      '* Docker 20.10 from shared/reference/machine-facts.md: measured earlier, NOT in this run (Podman 4.3: 28–34 ms).',
      'tsnet create = container dirs + new netns + IPAM + veth + DNS resolver + record; CNI ADD = veth + IPAM +',
      'iptables masquerade into a netns made beforehand (CNI figures earlier on this machine kind: 23 / 68 ms).',
    ].join('\n');
    return {
      text,
      report: [
        {
          group: 'attach',
          key: 'attach',
          what: 'attach: POST /containers/create (user bridge) vs CNI bridge ADD',
          tsnet: tc,
          peers: { 'CNI bridge ADD': ca },
          target: 'CNI bridge ADD 0.25',
        },
        {
          group: 'run',
          key: 'daemon-run',
          what: 'daemon side of run --rm (user bridge): create + wait + start, raw API, no attach',
          tsnet: dr,
          peers: {},
          target: '≤ 15 ms',
        },
        {
          group: 'attach',
          key: 'detach',
          what: 'detach: DELETE /containers/{id} vs CNI bridge DEL',
          tsnet: td,
          peers: { 'CNI bridge DEL': cd },
        },
      ],
      headlines: [
        {
          what: 'network create',
          value: `${ms(cm)} ms`,
          against: `Docker* ${DOCKER_EARLIER.networkCreate} ms (${ratio(cm, DOCKER_EARLIER.networkCreate)})`,
        },
        {
          what: 'attach: POST /containers/create',
          value: `${ms(tc)} ms`,
          against: `CNI bridge ADD ${ms(ca)} ms (${ratio(tc, ca)})`,
        },
        {
          what: 'daemon side of run --rm (user bridge)',
          value: `${ms(dr)} ms`,
          against: 'target < 15 ms',
        },
        {
          what: 'detach: DELETE /containers/{id}',
          value: `${ms(td)} ms`,
          against: `CNI bridge DEL ${ms(cd)} ms (${ratio(td, cd)})`,
        },
      ],
    };
  } finally {
    await w.teardown();
  }
}

/**
 * The CNI half of one attach round (bench `network`): a netns made with `unshare --net=FILE`, the
 * CNI bridge plugin's ADD and DEL on it (host-local IPAM, state under `tmp`), an `nsenter … true`
 * (what the plugin's times include beside its own work), the netns removed. Times in ms.
 */
export async function cniRound(
  hostNetns: string,
  tmp: string,
  n: number,
): Promise<{ unshare: number; add: number; del: number; nsenterTrue: number }> {
  const conf = JSON.stringify({
    cniVersion: '1.0.0',
    name: 'benchcni',
    type: 'bridge',
    bridge: 'cnibench0',
    isGateway: true,
    ipMasq: true,
    ipam: { type: 'host-local', subnet: '10.199.0.0/16', routes: [{ dst: '0.0.0.0/0' }], dataDir: path.join(tmp, 'ipam') },
  });
  const cni = async (command: 'ADD' | 'DEL', id: string, netns: string): Promise<number> => {
    const env = {
      PATH: '/usr/sbin:/usr/bin:/sbin:/bin',
      CNI_COMMAND: command,
      CNI_CONTAINERID: id,
      CNI_NETNS: netns,
      CNI_IFNAME: 'eth0',
      CNI_PATH,
    };
    const r = await run('nsenter', [`--net=${hostNetns}`, `${CNI_PATH}/bridge`], { input: conf, env });
    if (r.exitCode !== 0) throw new Error(`CNI bridge ${command}: exit ${r.exitCode}: ${r.stdout}${r.stderr}`);
    return r.ms;
  };
  const nsFile = path.join(tmp, `ns${n}`);
  fs.writeFileSync(nsFile, '');
  const u = await run('unshare', [`--net=${nsFile}`, 'true']);
  if (u.exitCode !== 0) throw new Error(`unshare: ${u.stderr}`);
  const cid = `benchcni${String(n).padStart(4, '0')}`;
  const add = await cni('ADD', cid, nsFile);
  const del = await cni('DEL', cid, nsFile);
  const t = await run('nsenter', [`--net=${hostNetns}`, 'true']);
  await removeNetns(nsFile);
  return { unshare: u.ms, add, del, nsenterTrue: t.ms };
}

/**
 * One `run --rm busybox true` on `network` as the CLI drives it, minus the attach stream: create
 * with AutoRemove, the wait for `removed` opened before the start, the start; done when the wait
 * answers. Returns the wall time in ms.
 */
async function daemonSideRun(socket: string, network: string): Promise<number> {
  const body = createBody(network, ['true']) as { HostConfig: Record<string, unknown> };
  body.HostConfig.AutoRemove = true;
  const t0 = performance.now();
  const c = await apiOk(socket, 'POST', '/containers/create', body);
  const id = (JSON.parse(c.body) as { Id: string }).Id;
  // as the CLI: the start is sent once the wait is answered with its headers (registered)
  const waiting = await openRequest(socket, 'POST', `/containers/${id}/wait?condition=removed`);
  await apiOk(socket, 'POST', `/containers/${id}/start`);
  const w = JSON.parse(await waiting.body) as { StatusCode: number };
  if (w.StatusCode !== 0) throw new Error(`run --rm busybox true: exit ${w.StatusCode}`);
  return performance.now() - t0;
}

/** A request whose reply headers came (resolves then); `body` is its body. */
export function openRequest(socketPath: string, method: string, urlPath: string): Promise<{ body: Promise<string> }> {
  return new Promise((opened, reject) => {
    const req = http.request({ socketPath, method, path: `/v1.41${urlPath}`, agent: false }, (res) => {
      if ((res.statusCode ?? 0) >= 300) reject(new Error(`${method} ${urlPath}: ${res.statusCode}`));
      const chunks: Buffer[] = [];
      opened({
        body: new Promise((done, fail) => {
          res.on('data', (d: Buffer) => chunks.push(d));
          res.on('end', () => done(Buffer.concat(chunks).toString('utf8')));
          res.on('error', fail);
        }),
      });
    });
    req.on('error', reject);
    req.end();
  });
}
