/** Swarm commands: swarm init|leave (tsnet's single-node swarm mode, docs/swarm.md). */
import type { Command } from 'commander';
import { collect, lazy } from './shared.js';

export function defineSwarmCommands(program: Command): void {
  const swarm = program
    .command('swarm')
    .helpCommand(false)
    .description('Manage single-node swarm mode (swarm-scope overlay networks on this host)');
  swarm
    .command('init')
    .description('Make this node a single-node swarm (its only manager) and create the ingress network')
    .option(
      '--advertise-addr <addr>',
      "Advertised address (IP or interface, optional :port); default: the default route's interface",
    )
    .option(
      '--listen-addr <addr>',
      'Listen address (IP or interface, optional :port); recorded, nothing listens on it',
      '0.0.0.0:2377',
    )
    .option('--data-path-addr <addr>', 'Address or interface the VXLAN devices are bound to (default: the advertise address)')
    .option('--data-path-port <port>', 'VXLAN UDP port, 1024 to 49151 (default 4789)')
    .option('--default-addr-pool <cidr>', 'Address pool of swarm-scope networks (repeatable; default 10.0.0.0/8)', collect)
    .option('--default-addr-pool-mask-length <n>', 'Prefix length of the subnets taken from the pools (default 24)')
    .action(lazy('swarm-init'));
  swarm
    .command('leave')
    .description('Leave the swarm: every swarm-scope network is removed (containers are disconnected first)')
    .option('-f, --force', 'Leave although this node is the manager (always needed: it is the only one)')
    .action(lazy('swarm-leave'));
}
