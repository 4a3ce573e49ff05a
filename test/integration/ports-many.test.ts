/**
 * A few hundred published ports on one daemon (issue 14.5): all programmed, a port published
 * last still reaches its container from a client namespace, and removing the containers leaves
 * no rule, chain or map element of theirs behind (the removal runs after the exit replies, so
 * the check polls). Runs against the backend of TSNET_TEST_FIREWALL (iptables by default).
 */
import test from 'ava';
import { programmedPorts, testBackend } from '../helpers/firewall.js';
import { createWorld, eventually, type World } from '../helpers/world.js';

const HOLDERS = 30;
const PER_HOLDER = 10;
const LAST_PORT = 30000;

let w: World;
test.before(async () => {
  w = await createWorld();
});
test.after.always(async () => {
  await w?.teardown();
});

/** Kernel objects owned by an endpoint (not the network or the base layout) in the host netns. */
async function endpointLeftovers(): Promise<string[]> {
  if (testBackend() === 'iptables') {
    const out: string[] = [];
    for (const save of ['iptables-save', 'ip6tables-save']) {
      const r = await w.inHost([save]);
      if (r.exitCode !== 0) throw new Error(`${save}: ${r.stderr}`);
      // endpoint-owned rules carry the comment "tsnet:<net12>:<ep12>" (the slots they fill stay)
      out.push(...r.stdout.split('\n').filter((l) => /--comment "tsnet:[0-9a-f]{12}:[0-9a-f]{12}"/.test(l)));
    }
    return out;
  }
  const out: string[] = [];
  for (const family of ['ip', 'ip6']) {
    const r = await w.inHost(['/usr/sbin/nft', 'list', 'table', family, 'tsnet']);
    if (r.exitCode !== 0) throw new Error(`nft list table ${family} tsnet: ${r.stderr}`);
    // endpoint-owned elements carry the comment "tsnet:<net12>:<ep12> <hash>"
    out.push(...r.stdout.split(/[,\n]/).filter((l) => /comment "tsnet:[0-9a-f]{12}:[0-9a-f]{12} /.test(l)));
  }
  return out;
}

test.serial(
  `${HOLDERS * PER_HOLDER + 1} published ports: programmed, the last one reaches its container, none left after rm`,
  async (t) => {
    const client = await w.addClient();
    await w.ok(['network', 'create', '--subnet', '10.93.0.0/16', 'pnet']);
    const ids: string[] = [];
    for (let i = 0; i < HOLDERS; i++) {
      const flags: string[] = [];
      for (let j = 0; j < PER_HOLDER; j++) flags.push('-p', `${21000 + i * PER_HOLDER + j}:80`);
      ids.push(await w.ok(['run', '-d', '--network', 'pnet', ...flags, 'busybox', 'sleep', '100000']));
    }
    const httpd = 'mkdir -p /www && echo the-last-one > /www/index.html && exec httpd -f -p 80 -h /www';
    ids.push(await w.ok(['run', '-d', '--network', 'pnet', '-p', `${LAST_PORT}:80`, 'busybox', 'sh', '-c', httpd]));

    const programmed = new Set(await programmedPorts(w));
    t.is(programmed.size, HOLDERS * PER_HOLDER + 1, 'one DNAT rule / map element per published port');
    t.true(programmed.has(`tcp ${LAST_PORT}`));
    t.true(programmed.has('tcp 21000') && programmed.has(`tcp ${21000 + HOLDERS * PER_HOLDER - 1}`));

    const url = `http://${client.hostIp}:${LAST_PORT}/`;
    const got = await eventually(async () => {
      const r = await client.run(['busybox', 'timeout', '3', 'busybox', 'wget', '-qO-', url]);
      return r.stdout.trim() === 'the-last-one' ? r.stdout.trim() : undefined;
    }, 20_000);
    t.is(got, 'the-last-one', 'the port published last reaches its container from the client namespace');

    await w.ok(['rm', '-f', ...ids]);
    // the removals run after the exits replied: poll until they are done
    const leftovers = async () => [...(await programmedPorts(w)), ...(await endpointLeftovers())];
    const left =
      (await eventually(async () => ((await leftovers()).length === 0 ? [] : undefined), 30_000)) ?? (await leftovers());
    t.deepEqual(left, [], 'no DNAT rule, endpoint chain or map element left');

    // the host ports are free again, for tsnet and its rules alike
    const again = await w.ok([
      'run',
      '-d',
      '--network',
      'pnet',
      ...['-p', `${LAST_PORT}:80`, '-p', '21000:80'],
      'busybox',
      'top',
    ]);
    t.deepEqual((await programmedPorts(w)).sort(), ['tcp 21000', `tcp ${LAST_PORT}`]);
    await w.ok(['rm', '-f', again]);
    await w.ok(['network', 'rm', 'pnet']);
  },
);
