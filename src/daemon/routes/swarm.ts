/**
 * Swarm endpoints. Outside swarm mode every one answers as Docker does on a node outside a
 * swarm: 503 and Docker's words (SDKs rely on it: docker-py ignores the 503 of
 * `POST /swarm/leave` in every test's tearDown). In tsnet's single-node swarm mode (src/swarm):
 * /swarm, /swarm/init|leave|update|unlockkey and /nodes are real; services, tasks, secrets and
 * configs do not exist (lists are empty, one is never found) and cannot be made (501).
 */
import { Type } from '@sinclair/typebox';
import { TsnetError } from '../../errors/index.js';
import { JOIN_UNSUPPORTED, NOT_IN_SWARM, NOT_MANAGER, type Swarm, type SwarmInitRequest } from '../../swarm/swarm.js';
import type { SwarmSpec } from '../../swarm/state.js';
import type { Route } from '../http/router.js';
import { RefParams, SwarmInitBody, SwarmLeaveQuery, SwarmSpecBody, SwarmUpdateQuery, Text } from '../schemas/index.js';
import { bool, object } from './params.js';

const Rest = { params: Type.Object({ rest: Text({ maxLength: 4096 }) }) };

/** What each kind is called in Docker's "not found" words. */
const KINDS: Record<string, string> = { services: 'service', tasks: 'task', secrets: 'secret', configs: 'config' };

export function swarmRoutes(swarm: Swarm): Route[] {
  const manager = (): void => {
    if (!swarm.active) throw new TsnetError('TSNET_NOT_SWARM_MANAGER', NOT_MANAGER);
  };
  const routes: Route[] = [
    {
      method: 'POST',
      pattern: '/swarm/init',
      schema: { body: SwarmInitBody },
      handler: async ({ body }) => ({
        status: 200,
        json: await swarm.init(object<SwarmInitRequest>(body, 'swarm init')),
      }),
    },
    {
      method: 'POST',
      pattern: '/swarm/join',
      schema: {},
      handler: async () => {
        if (swarm.active) await swarm.init({}); // Docker's "already part of a swarm" (503)
        throw new TsnetError('TSNET_SWARM_UNSUPPORTED', JOIN_UNSUPPORTED);
      },
    },
    {
      method: 'POST',
      pattern: '/swarm/leave',
      schema: { query: SwarmLeaveQuery },
      handler: async ({ query }) => {
        if (!swarm.active) throw new TsnetError('TSNET_NOT_SWARM_MANAGER', NOT_IN_SWARM);
        await swarm.leave(bool(query, 'force'));
        return { status: 200 };
      },
    },
    {
      method: 'GET',
      pattern: '/swarm',
      schema: {},
      handler: async () => ({ status: 200, json: swarm.inspect() }),
    },
    {
      method: 'POST',
      pattern: '/swarm/update',
      schema: { query: SwarmUpdateQuery, body: SwarmSpecBody },
      handler: async ({ query, body }) => {
        manager();
        const version = query.get('version');
        if (version === null)
          throw new TsnetError('TSNET_INVALID_ARGUMENT', 'swarm update needs ?version= (the Version.Index of GET /swarm)');
        await swarm.update(Number(version), object<Partial<SwarmSpec>>(body, 'swarm update'), {
          worker: bool(query, 'rotateWorkerToken'),
          manager: bool(query, 'rotateManagerToken'),
          unlockKey: bool(query, 'rotateManagerUnlockKey'),
        });
        return { status: 200 };
      },
    },
    {
      method: 'GET',
      pattern: '/swarm/unlockkey',
      schema: {},
      handler: async () => {
        manager();
        // autolock is refused at init and update: there is no key (Docker answers "" then too)
        return { status: 200, json: { UnlockKey: '' } };
      },
    },
    {
      method: 'POST',
      pattern: '/swarm/unlock',
      schema: {},
      handler: async () => {
        manager();
        throw new TsnetError('TSNET_SWARM_NOT_LOCKED', 'swarm is not locked');
      },
    },
    {
      method: 'GET',
      pattern: '/nodes',
      schema: {},
      handler: async () => ({ status: 200, json: swarm.nodes() }),
    },
    {
      method: 'GET',
      pattern: '/nodes/{id}',
      schema: { params: RefParams },
      handler: async ({ params }) => ({ status: 200, json: swarm.node(params.id!) }),
    },
    {
      method: '*',
      pattern: '/nodes/{rest*}',
      schema: Rest,
      handler: async ({ params }) => {
        manager();
        swarm.node(params.rest!.split('/')[0]!);
        throw new TsnetError(
          'TSNET_SWARM_UNSUPPORTED',
          'tsnet runs a single-node swarm that schedules no tasks: its node cannot be updated or removed (leave the swarm with --force instead)',
        );
      },
    },
  ];
  for (const [base, kind] of Object.entries(KINDS)) {
    routes.push(
      {
        method: 'GET',
        pattern: `/${base}`,
        schema: {},
        handler: async () => {
          manager();
          return { status: 200, json: [] };
        },
      },
      {
        method: 'POST',
        pattern: `/${base}/create`,
        schema: {},
        handler: async () => {
          manager();
          throw new TsnetError(
            'TSNET_SWARM_UNSUPPORTED',
            `tsnet does not run swarm services: it cannot create ${kind}s (swarm mode here gives overlay networks only)`,
          );
        },
      },
      {
        method: '*',
        pattern: `/${base}/{rest*}`,
        schema: Rest,
        handler: async ({ params }) => {
          manager();
          throw new TsnetError('TSNET_SWARM_OBJECT_NOT_FOUND', `${kind} ${params.rest!.split('/')[0]} not found`);
        },
      },
    );
  }
  const unsupported = async (): Promise<never> => {
    manager();
    throw new TsnetError('TSNET_SWARM_UNSUPPORTED', 'tsnet does not run swarm services: this swarm endpoint is not supported');
  };
  // every other swarm path (a method the routes above do not take): Docker's 503 outside swarm mode
  for (const base of ['/swarm', '/nodes', ...Object.keys(KINDS).map((k) => `/${k}`)]) {
    routes.push(
      { method: '*', pattern: base, schema: {}, handler: unsupported },
      { method: '*', pattern: `${base}/{rest*}`, schema: Rest, handler: unsupported },
    );
  }
  return routes;
}
