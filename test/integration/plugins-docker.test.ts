/**
 * Docker cross-compatibility (issue 4): the example plugins, written with tsnet's SDK, driving a
 * real dockerd (Debian's docker.io 20.10) — `docker network create -d <plugin>` and
 * `--ipam-driver <plugin>`, containers get their addresses and ping each other.
 *
 * dockerd runs inside a throwaway netns (nsenter --net only) with its own --data-root,
 * --exec-root, --pidfile, -H unix://<tmp>.sock, --iptables=false, --ip-forward=false,
 * --ip-masq=false, --bridge=none, vfs storage, its own --cgroup-parent and trust key path; it
 * starts its own containerd under its exec-root. dockerd only finds legacy plugins in
 * /run/docker/plugins (sockets) and /etc/docker/plugins (specs), so the plugins serve uniquely
 * named sockets there. Teardown stops dockerd and its containerd by pid, kills what is left
 * that mentions the test dir, unmounts, removes cgroups, the sockets and the directories
 * dockerd or we created (/run/docker, /etc/docker/key.json) if they did not exist before.
 */
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { linkNames, startExample, stopChild } from '../conformance/harness.js';
import { BUSYBOX_TAR, DOCKER_PLUGIN_DIR, must, requireDocker, startDocker } from '../helpers/dockerd.js';

const serial = test.serial;
test.before(() => requireDocker());

serial(
  'dockerd uses the SDK example plugins: network create -d p2p, --ipam-driver static-ipam, containers get addresses and ping',
  async (t) => {
    const dw = await startDocker(t);
    const { w, id, docker } = dw;
    const p2p = `tsnet-p2p-${id}`;
    const sipam = `tsnet-sipam-${id}`;
    const cfg = path.join(w.dir, 'static.json');
    // Docker 20.10 sends no endpoint name to IPAM plugins (newer Docker does), so assign by MAC:
    // with RequiresMACAddress the daemon sends the endpoint's MAC in RequestAddress.
    fs.writeFileSync(
      cfg,
      JSON.stringify({
        requiresMacAddress: true,
        pools: [
          {
            subnet: '10.232.0.0/24',
            gateway: '10.232.0.1',
            range: '10.232.0.128/25',
            hosts: { '02:42:0a:e8:00:0a': '10.232.0.10' },
          },
        ],
      }),
    );
    await startExample('p2p', { name: p2p, socketDir: DOCKER_PLUGIN_DIR, netnsFile: w.hostNs, world: w, args: ['--verbose'] });
    await startExample('static-ipam', {
      name: sipam,
      socketDir: DOCKER_PLUGIN_DIR,
      netnsFile: w.hostNs,
      world: w,
      args: ['--config', cfg],
    });

    must(t, await docker(['import', BUSYBOX_TAR, 'tsnet-busybox:test']), 'docker import', dw.log);

    // 1. A network of the p2p plugin with Docker's own IPAM.
    must(
      t,
      await docker(['network', 'create', '-d', p2p, '--subnet', '10.231.0.0/24', '--gateway', '10.231.0.1', 'pnet']),
      'network create -d p2p',
      dw.log,
    );
    const ls = must(t, await docker(['network', 'ls', '--format', '{{.Name}} {{.Driver}}']), 'network ls');
    t.true(ls.split('\n').includes(`pnet ${p2p}`), ls);
    must(
      t,
      await docker(['run', '-d', '--name', 'c1', '--network', 'pnet', 'tsnet-busybox:test', 'sleep', '300']),
      'run c1',
      dw.log,
    );
    const ip1 = must(t, await docker(['inspect', '-f', '{{.NetworkSettings.Networks.pnet.IPAddress}}', 'c1']), 'inspect c1');
    t.is(ip1, '10.231.0.2');
    const r2 = await docker([
      'run',
      '--rm',
      '--network',
      'pnet',
      'tsnet-busybox:test',
      'sh',
      '-c',
      `ip -4 -o addr show eth0; ip route; ping -c 2 -W 2 ${ip1}`,
    ]);
    must(t, r2, 'run c2: address and ping c1', dw.log);
    t.regex(r2.out, /eth0\s+inet 10\.231\.0\.3\/24/);
    t.regex(r2.out, /default via 10\.231\.0\.1 dev eth0/);
    t.regex(r2.out, /2 packets transmitted, 2 packets received/);
    t.true(
      (await linkNames(w.netns, w.hostNs)).some((n) => n.startsWith('p2h')),
      'the host end of c1 is in the daemon netns',
    );

    // 2. The same driver with the static IPAM plugin.
    // --subnet names a pool of the file (Docker allows --ip only on networks with a user subnet).
    must(
      t,
      await docker(['network', 'create', '-d', p2p, '--ipam-driver', sipam, '--subnet', '10.232.0.0/24', 'snet']),
      'network create --ipam-driver static-ipam',
      dw.log,
    );
    const ipam = JSON.parse(
      must(t, await docker(['network', 'inspect', '-f', '{{json .IPAM}}', 'snet']), 'network inspect snet'),
    ) as { Driver: string; Config: Array<{ Subnet: string; Gateway: string }> };
    t.is(ipam.Driver, sipam);
    t.is(ipam.Config[0]?.Subnet, '10.232.0.0/24');
    const web = await docker([
      'run',
      '--rm',
      '--mac-address',
      '02:42:0a:e8:00:0a',
      '--network',
      'snet',
      'tsnet-busybox:test',
      'sh',
      '-c',
      'ip -4 -o addr show eth0; ip -o link show eth0; ip route',
    ]);
    const webOut = must(t, web, 'run web on snet', dw.log);
    t.regex(webOut, /inet 10\.232\.0\.10\/24/, 'the static assignment for MAC 02:42:0a:e8:00:0a');
    t.regex(webOut, /link\/ether 02:42:0a:e8:00:0a/);
    t.regex(webOut, /default via 10\.232\.0\.1 dev eth0/, 'the gateway the IPAM plugin gave for RequestAddressType=gateway');
    const other = await docker([
      'run',
      '--rm',
      '--network',
      'snet',
      'tsnet-busybox:test',
      'ip',
      '-4',
      '-o',
      'addr',
      'show',
      'eth0',
    ]);
    t.regex(must(t, other, 'run another on snet', dw.log), /inet 10\.232\.0\.128\/24/, 'the first address of the range');
    const fixed = await docker([
      'run',
      '--rm',
      '--network',
      'snet',
      '--ip',
      '10.232.0.77',
      'tsnet-busybox:test',
      'ip',
      '-4',
      '-o',
      'addr',
      'show',
      'eth0',
    ]);
    t.regex(must(t, fixed, 'run --ip on snet', dw.log), /inet 10\.232\.0\.77\/24/);

    // 3. Teardown through Docker: the plugin cleans up after itself.
    must(t, await docker(['rm', '-f', 'c1']), 'rm c1');
    must(t, await docker(['network', 'rm', 'pnet', 'snet']), 'network rm', dw.log);
    t.deepEqual(await linkNames(w.netns, w.hostNs), ['lo'], 'no veth left in the daemon netns');
  },
);

void stopChild;
