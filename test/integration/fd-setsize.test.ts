/**
 * libnftables in a daemon holding more than FD_SETSIZE (1024) fds (decision 28). libnftables
 * waits for the kernel with select(), and glibc aborts the whole process when the context's
 * socket has an fd ≥ 1024 — which a daemon with ~470 containers (two DNS sockets each) reached.
 * Instead of making hundreds of containers, the daemon holds 1200 extra fds from start
 * (test-only `TSNET_TEST_EXTRA_FDS`), then runs what makes libnftables contexts: the sandbox DNS
 * rules of each container (both backends), and on the nftables backend the table's listing
 * (reconcile at restart), port publishing and network create/rm. Each container must resolve
 * another by name (its sandbox's DNS NAT is in place), the published port must answer, the daemon
 * must stay up, and no batch may have left the library for `nft -f`.
 */
import test from 'ava';
import fs from 'node:fs';
import { createWorld, eventually, type World } from '../helpers/world.js';
import { requireNeeds } from '../helpers/preconditions.js';

test.before(() => requireNeeds({ root: true, commands: [['busybox', 'busybox']] }));

const EXTRA_FDS = '1200';

async function daemonFds(w: World): Promise<number> {
  const pid = w.daemon?.pid;
  if (!pid) throw new Error('no daemon');
  return fs.readdirSync(`/proc/${pid}/fd`).length;
}

for (const backend of ['iptables', 'nftables'] as const) {
  test.serial(`${backend} backend: libnftables contexts work in a daemon holding > 1100 fds`, async (t) => {
    const w = await createWorld({ daemonArgs: ['--firewall-backend', backend] });
    t.teardown(() => w.teardown());
    // restart with the extra fds: the restart also lists and reconciles the nftables table
    await w.killDaemon('SIGTERM');
    await w.startDaemon([], { TSNET_TEST_EXTRA_FDS: EXTRA_FDS });
    t.true((await daemonFds(w)) > 1100, 'the daemon holds more than 1100 fds');

    await w.ok(['network', 'create', 'fdnet']);
    const names = ['fd1', 'fd2', 'fd3'];
    for (const [i, name] of names.entries()) {
      await w.ok([
        'run',
        '-d',
        '--name',
        name,
        '--network',
        'fdnet',
        '-p',
        `127.0.0.1:${18100 + i}:80`,
        'busybox',
        'sh',
        '-c',
        `mkdir -p /www && echo ${name}-here > /www/index.html && exec httpd -f -p 80 -h /www`,
      ]);
    }
    // each sandbox's DNS NAT (127.0.0.11:53 → the resolver's ports) was programmed in-process
    for (const [i, name] of names.entries()) {
      const other = names[(i + 1) % names.length]!;
      const r = await w.cli(['exec', name, 'wget', '-qO-', `http://${other}/`]);
      t.is(r.stdout.trim(), `${other}-here`, `${name} reaches ${other} by name: ${r.stderr}`);
    }
    // the published port (a map element on the nftables backend) answers from the host
    const page = await eventually(async () => {
      const r = await w.inHost(['busybox', 'timeout', '3', 'busybox', 'wget', '-qO-', 'http://127.0.0.1:18101/']);
      if (r.exitCode !== 0) throw new Error(r.stderr);
      return r.stdout.trim();
    });
    t.is(page, 'fd2-here');
    await w.ok(['rm', '-f', ...names]);
    await w.ok(['network', 'rm', 'fdnet']);
    await w.ok(['network', 'create', 'fdnet2']);
    await w.ok(['network', 'rm', 'fdnet2']);

    t.is(w.daemon?.exitCode, null, 'the daemon is still running');
    t.true((await daemonFds(w)) > 1100);
    const log = w.daemonLog();
    t.notRegex(log, /FD_SETSIZE/);
    t.notRegex(log, /nftables: nft -f/, 'every batch went through the library');
  });
}
