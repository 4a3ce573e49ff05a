/** POST /containers/{id}/update: resources applied live and stored, and the restart policy stored. */
import type { UpdateBody } from '../../runtime/container/resources.js';
import { type UpdateDeps, updateContainer } from '../../runtime/container/update.js';
import type { Route } from '../http/router.js';
import { ContainerUpdateBody, RefParams } from '../schemas/index.js';
import { object } from './params.js';

export function containerUpdateRoutes(d: UpdateDeps): Route[] {
  return [
    {
      method: 'POST',
      pattern: '/containers/{id}/update',
      schema: { params: RefParams, body: ContainerUpdateBody },
      handler: async ({ params, body }) => ({
        status: 200,
        json: { Warnings: await updateContainer(d, params.id!, object<UpdateBody>(body, 'container update')) },
      }),
    },
  ];
}
