/**
 * The null driver (`--network none`): the predefined network `none`; a container on it gets a
 * netns of its own with only `lo`, as in Docker. No endpoints, no published ports.
 */
import { TsnetError } from '../../../errors/index.js';
import type { DriverCapability, NetworkDriver, NetworkModeDriver } from '../../driver-api.js';

export function createNullDriver(): NetworkDriver & NetworkModeDriver {
  const refuse = async (): Promise<never> => {
    throw new TsnetError('TSNET_NETWORK_MODE', 'the none network takes no endpoints: use --network none alone');
  };
  return {
    name: 'null',
    mode: 'none',
    ownNetns: true,
    capabilities: (): DriverCapability => ({ scope: 'local', networkMode: 'none' }),
    createNetwork: async () => {
      throw new TsnetError('TSNET_INVALID_ARGUMENT', 'only one instance of "none" network is allowed');
    },
    deleteNetwork: async () => undefined,
    createEndpoint: refuse,
    deleteEndpoint: async () => undefined,
    join: refuse,
    leave: async () => undefined,
    plan: () => ({ ignoresPorts: true }),
    setup: (sb, ctx) => ctx.ownSetup(sb),
    netnsOwner: (sb) => sb,
  };
}
