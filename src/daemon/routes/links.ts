/**
 * Docker's link names: `DELETE /containers/PARENT/ALIAS?link=true` removes the legacy link ALIAS
 * of PARENT (`docker rm --link`); without `link` the name stands for the link's target, which is
 * removed as by `DELETE /containers/{id}` (Docker registers `/PARENT/ALIAS` as a name of the target).
 */
import { TsnetError } from '../../errors/index.js';
import type { ContainerManager } from '../../runtime/container/container-manager.js';
import type { Route } from '../http/router.js';
import { Ref, RemoveQuery } from '../schemas/index.js';
import { Type } from '@sinclair/typebox';
import { bool } from './params.js';

export interface LinkRouteDeps {
  containers: ContainerManager;
}

export function linkRoutes(d: LinkRouteDeps): Route[] {
  return [
    {
      method: 'DELETE',
      pattern: '/containers/{parent}/{alias}',
      only: true,
      schema: { params: Type.Object({ parent: Ref, alias: Ref }), query: RemoveQuery },
      handler: async ({ params, query }) => {
        const parent = d.containers.get(params.parent!);
        const alias = params.alias!;
        const name = `${parent.name}/${alias}`;
        const target = d.containers.network(parent).links?.find((l) => l.alias === alias)?.id;
        if (!target) throw new TsnetError('TSNET_CONTAINER_NOT_FOUND', `No such container: ${name}`);
        if (!bool(query, 'link')) {
          await d.containers.remove(target, { force: bool(query, 'force') });
          return { status: 204 };
        }
        await d.containers.removeLink(parent.id, alias);
        return { status: 204 };
      },
    },
  ];
}
