/** Network commands: network create|ls|inspect|rm|prune|connect|disconnect. */
import type { Command } from 'commander';
import { pruneFlags } from './container-ops.js';
import { collect, eachObject, filterFlag, formatFlag, inspectCommand, lazy, quietNoTrunc } from './shared.js';

export function defineNetworkCommands(program: Command): void {
  const network = program.command('network').helpCommand(false).description('Manage networks');

  network
    .command('create')
    .description('Create a network')
    .usage('[options] NETWORK')
    .option('-d, --driver <driver>', 'Driver to manage the network (bridge, overlay, macvlan, a plugin…)', 'bridge')
    .option('--subnet <cidr>', 'Subnet in CIDR format (repeatable: one per IPAM pool)', collect)
    .option('--gateway <ip>', 'Gateway for a subnet (repeatable)', collect)
    .option('--ip-range <cidr>', 'Allocate container IPs from a sub-range of a subnet (repeatable)', collect)
    .option('--aux-address <name=ip>', 'Auxiliary address the IPAM driver must not hand out (repeatable)', collect)
    .option('--ipv6', 'Enable IPv6 networking')
    .option('--internal', 'Restrict external access to the network')
    .option('--attachable', 'Enable manual container attachment')
    .option('-o, --opt <key=value>', 'Driver-specific option (repeatable)', collect)
    .option('--ipam-driver <driver>', 'IP address management driver', 'default')
    .option('--ipam-opt <key=value>', 'IPAM driver-specific option (repeatable)', collect)
    .option('--label <key[=value]>', 'Set metadata on the network (repeatable)', collect)
    .argument('<name>', 'network name')
    .action(lazy('network-create'));

  const ls = quietNoTrunc(network.command('ls').alias('list').description('List networks'), 'Only display network IDs');
  filterFlag(ls, 'e.g. driver=bridge, name=web, label=k=v');
  formatFlag(ls, '{{.Name}}').action(lazy('network-ls'));

  inspectCommand(network, 'NETWORK', 'networks', 'network-inspect');

  eachObject(
    network.command('rm').alias('remove').description('Remove one or more networks'),
    'NETWORK',
    'networks',
    'networks to remove',
    false,
  ).action(lazy('network-rm'));

  pruneFlags(network.command('prune'), 'all unused networks', 'network-prune');

  network
    .command('connect')
    .description('Connect a container to a network')
    .usage('[options] NETWORK CONTAINER')
    .option('--ip <ipv4>', 'IPv4 address (e.g. 172.30.100.104)')
    .option('--ip6 <ipv6>', 'IPv6 address (e.g. 2001:db8::33)')
    .option('--alias <alias>', 'Network-scoped alias for the container (repeatable)', collect)
    .option('--link <name[:alias]>', 'Link to another container: ALIAS resolves to NAME for this container (repeatable)', collect)
    .option('--link-local-ip <ip>', 'Link-local address for the container (repeatable)', collect)
    .option('--driver-opt <key=value>', 'Driver option for the endpoint (repeatable)', collect)
    .argument('<network>', 'network')
    .argument('<container>', 'container')
    .action(lazy('network-connect'));

  network
    .command('disconnect')
    .description('Disconnect a container from a network')
    .usage('[options] NETWORK CONTAINER')
    .option('-f, --force', 'Force the container to disconnect from the network')
    .argument('<network>', 'network')
    .argument('<container>', 'container')
    .action(lazy('network-disconnect'));
}
