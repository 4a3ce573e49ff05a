/**
 * Docker's and Podman's container → container and published-port paths, for the throughput
 * section to measure in the same rounds as tsnet's and the raw paths (issue 14: "faster than
 * every peer"). Each peer (bench/peers.ts: dockerd in a throwaway netns, Podman with its
 * commands in one) gets what `pair2` gives tsnet: a user bridge `tputnet`, a server container
 * publishing 15201 → 5201 and a client container on it, and a client netns on a routed veth
 * into the peer's namespace, reaching the published port at the peer's address on that veth,
 * as tsnet's world client does. iperf3 runs in the containers' network namespaces
 * (/proc/<pid>/ns/net of their first process). Traffic stays inside these namespaces.
 */
import path from 'node:path';
import type { IperfPath } from './iperf.js';
import { makeNetns, routedVeth } from './lib.js';
import type { Peer } from './peers.js';

export interface PeerPaths {
  c2c: IperfPath;
  pub: IperfPath;
}

async function cli(p: Peer, args: string[]): Promise<string> {
  const r = await p.cli(args, 120_000);
  if (r.exitCode !== 0) throw new Error(`${p.name} ${args.join(' ')}: ${(r.stderr || r.stdout).trim().slice(0, 300)}`);
  return r.stdout.trim();
}

/** A running container's network namespace and its address on `net`. */
async function container(p: Peer, name: string, net: string): Promise<{ netns: string; ip: string }> {
  const pid = await cli(p, ['inspect', '-f', '{{.State.Pid}}', name]);
  const ip = await cli(p, ['inspect', '-f', `{{(index .NetworkSettings.Networks "${net}").IPAddress}}`, name]);
  if (!/^[1-9][0-9]*$/.test(pid) || !/^[0-9.]+$/.test(ip)) throw new Error(`${p.name} inspect ${name}: pid "${pid}", ip "${ip}"`);
  return { netns: `/proc/${pid}/ns/net`, ip };
}

/**
 * The peer's two paths. `dir` holds the client netns file, which goes to `files` at once; `n`
 * keeps the peers' client subnets apart (198.51.100.(4n)/30: TEST-NET-2, used nowhere else by
 * the bench).
 */
export async function peerPaths(p: Peer, dir: string, n: number, files: string[]): Promise<PeerPaths> {
  await cli(p, ['network', 'create', 'tputnet']);
  const run = (name: string, extra: string[]): Promise<string> =>
    cli(p, ['run', '-d', '--name', name, '--network', 'tputnet', ...p.runFlags, ...extra, p.image, 'sleep', '100000']);
  await run('srv', ['-p', '15201:5201']);
  await run('cli', []);
  const srv = await container(p, 'srv', 'tputnet');
  const cl = await container(p, 'cli', 'tputnet');

  const client = path.join(dir, `${p.name}-client`);
  files.push(client); // removed by the caller, also when a step below fails (the peer's teardown removes the rest)
  await makeNetns(client);
  const hostIp = `198.51.100.${1 + n * 4}`;
  const clientIp = `198.51.100.${2 + n * 4}`;
  await routedVeth(p.netns, `tpc${p.name}`.slice(0, 15), client, hostIp, clientIp);
  return {
    c2c: { serverNs: srv.netns, clientNs: cl.netns, target: srv.ip },
    pub: { serverNs: srv.netns, clientNs: client, target: hostIp, serverPort: 5201, clientPort: 15201 },
  };
}
