/**
 * Section "network": `tsnet network create` / `network rm` (whole CLI commands), and the
 * daemon-side cost of attaching a container to a user bridge — `POST /containers/create` and
 * `DELETE /containers/{id}?force=1` as raw HTTP requests on the daemon socket — beside the CNI
 * bridge plugin's ADD and DEL (Debian containernetworking-plugins, host-local IPAM), run in the
 * world's host netns in the same run, interleaved.
 */
import fs from 'node:fs';
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

const CNI_PATH = '/usr/lib/cni';

export async function benchNetwork(o: BenchOptions): Promise<SectionResult> {
  const N = o.quick ? 10 : 20;
  const w = await benchWorld();
  const tmp = path.join(w.dir, 'bench-cni');
  fs.mkdirSync(tmp, { recursive: true });
  try {
    // 1. network create + rm, whole CLI commands, and the daemon side (raw API requests).
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

    // 2. attach: tsnet's create/delete on a user bridge vs CNI bridge ADD/DEL.
    ok(await w.cli(['network', 'create', 'attachnet']), 'network create attachnet');
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
      const r = await run('nsenter', [`--net=${w.hostNetns}`, `${CNI_PATH}/bridge`], { input: conf, env });
      if (r.exitCode !== 0) throw new Error(`CNI bridge ${command}: exit ${r.exitCode}: ${r.stdout}${r.stderr}`);
      return r.ms;
    };
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

      const nsFile = path.join(tmp, `ns${i + 1}`);
      fs.writeFileSync(nsFile, '');
      const u = await run('unshare', [`--net=${nsFile}`, 'true']);
      if (u.exitCode !== 0) throw new Error(`unshare: ${u.stderr}`);
      const cid = `benchcni${String(i + 1).padStart(4, '0')}`;
      const add = await cni('ADD', cid, nsFile);
      const del = await cni('DEL', cid, nsFile);
      const t = await run('nsenter', [`--net=${w.hostNetns}`, 'true']);
      await removeNetns(nsFile);
      if (i >= 0) {
        tCreate.push(c.ms);
        tDelete.push(d.ms);
        cAdd.push(add);
        cDel.push(del);
        nsMake.push(u.ms);
        nsenterTrue.push(t.ms);
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
    const text = [
      `network create/rm: 1 warm-up + ${N}; attach: 1 warm-up + ${N}, tsnet and CNI interleaved in the same world netns`,
      '',
      table(rows1),
      '',
      table(rows2),
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
