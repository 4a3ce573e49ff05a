/**
 * The host driver (`--network host`): the predefined network `host`; a container on it has no
 * netns of its own and shares the host's network and UTS namespaces, /etc/hosts and resolv.conf,
 * as in Docker. No endpoints, no published ports (Docker ignores -p here).
 */
import fs from 'node:fs';
import { TsnetError } from '../../../errors/index.js';
import type { SandboxSetup } from '../../container-api.js';
import type { DriverCapability, NetworkDriver, NetworkModeDriver } from '../../driver-api.js';

export interface HostDriverOptions {
  /** The host's files (tests may give their own). */
  hostsFile?: string;
  resolvConfFile?: string;
}

export function createHostDriver(opts: HostDriverOptions = {}): NetworkDriver & NetworkModeDriver {
  return {
    name: 'host',
    mode: 'host',
    ownNetns: false,
    capabilities: (): DriverCapability => ({ scope: 'local', networkMode: 'host' }),
    createNetwork: async () => {
      throw new TsnetError('TSNET_INVALID_ARGUMENT', 'only one instance of "host" network is allowed');
    },
    deleteNetwork: async () => undefined,
    createEndpoint: async () => {
      throw new TsnetError('TSNET_NETWORK_MODE', 'the host network takes no endpoints: use --network host alone');
    },
    deleteEndpoint: async () => undefined,
    join: async () => {
      throw new TsnetError('TSNET_NETWORK_MODE', 'the host network takes no endpoints: use --network host alone');
    },
    leave: async () => undefined,
    plan: () => ({ ignoresPorts: true }),
    setup: (): SandboxSetup => ({
      shareHostUts: true,
      hosts: [],
      hostsText: readOr(opts.hostsFile ?? '/etc/hosts', ''),
      resolvConf: readOr(opts.resolvConfFile ?? '/etc/resolv.conf', ''),
    }),
    netnsOwner: () => undefined,
  };
}

function readOr(file: string, fallback: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return fallback;
  }
}
