/**
 * Swarm mode: tsnet is never a swarm manager. Docker on a node outside a swarm answers every
 * swarm endpoint with 503 and these words; SDKs rely on it (docker-py ignores the 503 of
 * `POST /swarm/leave` in every test's tearDown).
 */
import { TsnetError } from '../../errors/index.js';
import type { Route } from '../http/router.js';
import { Text } from '../schemas/index.js';
import { Type } from '@sinclair/typebox';

const NOT_MANAGER =
  'This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.';
const NOT_IN_SWARM = 'This node is not part of a swarm';

const Rest = { params: Type.Object({ rest: Text({ maxLength: 4096 }) }) };

export function swarmRoutes(): Route[] {
  const notManager = async (): Promise<never> => {
    throw new TsnetError('TSNET_NOT_SWARM_MANAGER', NOT_MANAGER);
  };
  const routes: Route[] = [
    {
      method: 'POST',
      pattern: '/swarm/leave',
      schema: {},
      handler: async () => {
        throw new TsnetError('TSNET_NOT_SWARM_MANAGER', NOT_IN_SWARM);
      },
    },
  ];
  for (const base of ['/swarm', '/services', '/nodes', '/tasks', '/secrets', '/configs']) {
    routes.push(
      { method: '*', pattern: base, schema: {}, handler: notManager },
      { method: '*', pattern: `${base}/{rest*}`, schema: Rest, handler: notManager },
    );
  }
  return routes;
}
