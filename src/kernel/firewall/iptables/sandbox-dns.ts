/**
 * The iptables backend's sandboxDns. With `sandboxDnsNft` (off by default) the rules go in
 * as one nft batch through the library, in-process: no process is started for a container's DNS
 * (see ../nftables/sandbox-dns.ts). A sandbox made by an older tsnet that carries the iptables
 * rules keeps them, re-pointed as before.
 *
 * Without libnftables: one `iptables-restore --noflush` inside the sandbox netns
 * (after an `iptables-save -t nat` there unless the sandbox is fresh, so the jumps from the
 * built-in chains are not added twice). The children are spawned while the main thread is
 * switched into the netns, so they inherit it and no nsenter is needed; without `inNetns` they
 * run under `nsenter --net=`.
 */
import { spawn } from 'node:child_process';
import { TsnetError } from '../../../errors/index.js';
import type { SandboxDns } from '../firewall-api.js';
import type { NftRunner } from '../nftables/runner.js';
import { applySandboxDns } from '../nftables/sandbox-dns.js';
import { sandboxJumpsPresent, sandboxRules } from './sandbox-rules.js';

export type InNetns = <T>(file: string, fn: () => T) => T;

function runIn(inNetns: InNetns | undefined, netns: string, cmd: string, args: string[], input?: string): Promise<string> {
  const env = { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' };
  const stdio: ['ignore' | 'pipe', 'pipe', 'pipe'] = [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'];
  const child = inNetns
    ? inNetns(netns, () => spawn(cmd, args, { stdio, env }))
    : spawn('nsenter', [`--net=${netns}`, cmd, ...args], { stdio, env });
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0
        ? resolve(out)
        : reject(new TsnetError('TSNET_FIREWALL', `${cmd} in sandbox ${netns}: ${err.trim().split('\n')[0] ?? code}`)),
    );
    if (child.stdin) {
      // an EPIPE on a stdin nobody reads must not become an uncaught exception
      child.stdin.on('error', () => undefined);
      child.stdin.end(input);
    }
  });
}

export async function iptablesSandboxDns(inNetns: InNetns | undefined, s: SandboxDns, nft?: NftRunner): Promise<void> {
  const save = s.fresh === true ? undefined : await runIn(inNetns, s.netns, 'iptables-save', ['-t', 'nat']);
  const jumpsPresent = save !== undefined && sandboxJumpsPresent(save);
  if (nft && !jumpsPresent) {
    await applySandboxDns(nft, s);
    return;
  }
  const jumps = !jumpsPresent;
  await runIn(inNetns, s.netns, 'iptables-restore', ['--noflush'], sandboxRules(s.udpPort, s.tcpPort, { jumps }));
}
