/** /networks/… routes (Docker Engine API shapes) and /plugins. */
import { pruneFilter, pruneMatch } from './prune-filters.js';
import { TsnetError } from '../../errors/index.js';
import type { NetworkController, NetworkCreateBody } from '../../network/controller.js';
import { pendingInspectEntries, type PendingDelete } from '../../network/pending-deletes.js';
import type { ContainerManager } from '../../runtime/container/container-manager.js';
import type { EndpointSettingsRequest } from '../../network/container-api.js';
import type { Route } from '../http/router.js';
import {
  NetworkConnectBody,
  NetworkCreateBody as NetworkCreateSchema,
  NetworkDisconnectBody,
  NetworkInspectQuery,
  NetworkListQuery,
  NetworkPruneQuery,
  RefParams,
} from '../schemas/index.js';
import { filters, object } from './params.js';
import type { NetworkRecord } from '../../network/network-record.js';
import { checkSwarmCreate } from '../../swarm/ingress.js';
import { nameFilter } from './name-pattern.js';

/** Options only tsnet itself may set: the default bridge is made by the daemon, never through the API. */
const RESERVED_OPTIONS = ['com.docker.network.bridge.default_bridge'];

export interface NetworkRouteDeps {
  controller: NetworkController;
  containers: ContainerManager;
  plugins: () => Promise<unknown[]>;
  /** Endpoint teardowns of a network waiting for a plugin (shown in inspect). */
  pending?: (networkId: string) => PendingDelete[];
  /** The node is in (single-node) swarm mode: Ingress and Scope swarm are possible. */
  inSwarm?: () => boolean;
}

export function networkRoutes(d: NetworkRouteDeps): Route[] {
  const { controller } = d;
  return [
    {
      method: 'GET',
      pattern: '/networks',
      schema: { query: NetworkListQuery },
      handler: async ({ query }) => {
        const f = filters(query, ['name', 'id', 'driver', 'scope', 'type', 'label', 'dangling']);
        let list = controller.list();
        if (f.name) {
          const match = nameFilter(f.name);
          list = list.filter((n) => match([n.name]));
        }
        if (f.id) list = list.filter((n) => f.id!.some((x) => n.id.startsWith(x)));
        if (f.dangling) {
          // as dockerd: a network no container uses and that is not one of bridge, host, none
          const v = f.dangling.length === 1 ? f.dangling[0] : '';
          if (v !== 'true' && v !== '1' && v !== 'false' && v !== '0')
            throw new TsnetError(
              'TSNET_INVALID_ARGUMENT',
              `invalid value for filter 'dangling', must be "true" (or "1"), or "false" (or "0")`,
            );
          const want = v === 'true' || v === '1';
          list = list.filter((n) => (!n.predefined && controller.endpointUsers(n.id).length === 0) === want);
        }
        if (f.driver) list = list.filter((n) => f.driver!.includes(n.driver));
        if (f.scope) list = list.filter((n) => f.scope!.includes(n.scope));
        if (f.type) list = list.filter((n) => f.type!.some((t) => (t === 'builtin') === Boolean(n.predefined)));
        if (f.label) {
          list = list.filter((n) =>
            f.label!.every((l) => {
              const i = l.indexOf('=');
              return i < 0 ? l in n.labels : n.labels[l.slice(0, i)] === l.slice(i + 1);
            }),
          );
        }
        return { status: 200, json: list.map((n) => controller.json(n)) };
      },
    },
    {
      method: 'POST',
      pattern: '/networks/create',
      schema: { body: NetworkCreateSchema },
      handler: async ({ body }) => {
        const b = object<NetworkCreateBody>(body, 'network create');
        for (const k of RESERVED_OPTIONS) {
          if (b.Options && k in b.Options)
            throw new TsnetError('TSNET_INVALID_ARGUMENT', `option ${k} cannot be set: tsnet makes its default bridge itself`);
        }
        checkSwarmCreate(b, d.inSwarm?.() ?? false, controller.list());
        // accepted by the schema, never applied: refused in one line rather than a different network
        const extra = b as { ConfigOnly?: boolean; ConfigFrom?: { Network?: string } | null; EnableIPv4?: boolean };
        if (extra.ConfigOnly === true || extra.ConfigFrom?.Network)
          throw new TsnetError(
            'TSNET_INVALID_ARGUMENT',
            'tsnet has no config-only networks (--config-only, --config-from): give the subnet and options to the network itself',
          );
        if (extra.EnableIPv4 === false)
          throw new TsnetError('TSNET_INVALID_ARGUMENT', 'tsnet networks always have IPv4 (--ipv4=false is not supported)');
        const n = await controller.create(b);
        return { status: 201, json: { Id: n.id, Warning: '' } };
      },
    },
    {
      method: 'POST',
      pattern: '/networks/prune',
      schema: { query: NetworkPruneQuery },
      handler: async ({ query }) => {
        const f = pruneFilter(filters(query, ['until', 'label', 'label!']));
        // as Docker: the swarm's ingress network is never pruned (remove it by name)
        const match = (n: NetworkRecord) => !n.ingress && pruneMatch(f, n.created, n.labels);
        return { status: 200, json: { NetworksDeleted: await controller.prune(match) } };
      },
    },
    {
      method: 'GET',
      pattern: '/networks/{id}',
      schema: { params: RefParams, query: NetworkInspectQuery },
      handler: async ({ params, query }) => {
        const n = await controller.resolve(params.id!);
        // ?scope=: only a network of that scope is found (Docker)
        const scope = query.get('scope');
        if (scope && scope !== n.scope) throw new TsnetError('TSNET_NETWORK_NOT_FOUND', `network ${params.id} not found`);
        const json = controller.json(n);
        const pending = d.pending?.(n.id) ?? [];
        if (!pending.length) return { status: 200, json };
        return { status: 200, json: { ...json, Containers: { ...json.Containers, ...pendingInspectEntries(pending) } } };
      },
    },
    {
      method: 'DELETE',
      pattern: '/networks/{id}',
      schema: { params: RefParams },
      handler: async ({ params }) => {
        await controller.remove(params.id!);
        return { status: 204 };
      },
    },
    {
      method: 'POST',
      pattern: '/networks/{id}/connect',
      schema: { params: RefParams, body: NetworkConnectBody },
      handler: async ({ params, body }) => {
        const b = object<{ Container?: string; EndpointConfig?: EndpointSettingsRequest | null }>(body, 'network connect');
        if (!b.Container) throw new TsnetError('TSNET_INVALID_ARGUMENT', 'network connect needs a container');
        const rec = d.containers.get(b.Container);
        await d.containers.connect(rec.id, params.id!, b.EndpointConfig ?? null);
        return { status: 200 };
      },
    },
    {
      method: 'POST',
      pattern: '/networks/{id}/disconnect',
      schema: { params: RefParams, body: NetworkDisconnectBody },
      handler: async ({ params, body }) => {
        const b = object<{ Container?: string; Force?: boolean }>(body, 'network disconnect');
        if (!b.Container) throw new TsnetError('TSNET_INVALID_ARGUMENT', 'network disconnect needs a container');
        const rec = d.containers.get(b.Container);
        await d.containers.disconnect(rec.id, params.id!, b.Force ?? false);
        return { status: 200 };
      },
    },
    {
      method: 'GET',
      pattern: '/plugins',
      schema: { query: NetworkListQuery },
      handler: async () => ({ status: 200, json: await d.plugins() }),
    },
  ];
}
