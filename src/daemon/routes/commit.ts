/**
 * `POST /commit?container=…&repo=…&tag=…&comment=…&author=…&pause=…&changes=…` (body: a
 * container config, or null): a new image of the container's image plus its changes (its upper
 * dir as a layer), the config as dockerd makes it (runtime/container/commit.ts). The container
 * is frozen while its files are read unless `pause=0`, and the commit holds its lock (no start,
 * stop or removal meanwhile). Answers 201 `{"Id": "sha256:…"}`.
 */
import { TsnetError } from '../../errors/index.js';
import type { Xattr } from '../../kernel/xattr.js';
import { commitConfig, upperDirForm, upperLayer } from '../../runtime/container/commit.js';
import type { ContainerManager } from '../../runtime/container/container-manager.js';
import type { ImageStore } from '../../runtime/image/image-store.js';
import type { ImageConfig } from '../../runtime/image/types.js';
import type { Route } from '../http/router.js';
import { CommitQuery, ContainerCreateBody, Nullable } from '../schemas/index.js';
import { bool, changesOf, repoTagParam } from './params.js';

export interface CommitDeps {
  containers: ContainerManager;
  images: ImageStore;
  xattr: Xattr;
}

/** The image-config part of a container config in the body. */
function userConfig(body: Record<string, unknown> | null | undefined): ImageConfig {
  if (!body) return {};
  const out: ImageConfig = {};
  const keys = [
    'Env',
    'Cmd',
    'Entrypoint',
    'WorkingDir',
    'User',
    'ExposedPorts',
    'Labels',
    'Healthcheck',
    'Volumes',
    'StopSignal',
  ] as const;
  for (const k of keys) if (body[k] !== undefined && body[k] !== null) (out as Record<string, unknown>)[k] = body[k];
  return out;
}

export function commitRoutes(d: CommitDeps): Route[] {
  return [
    {
      method: 'POST',
      pattern: '/commit',
      schema: { query: CommitQuery, body: Nullable(ContainerCreateBody) },
      handler: async ({ query, body }) => {
        const ref = query.get('container');
        if (!ref) throw new TsnetError('TSNET_INVALID_ARGUMENT', 'commit needs container=NAME|ID');
        const repoTag = repoTagParam(query);
        if (query.get('tag') && !repoTag)
          throw new TsnetError('TSNET_INVALID_ARGUMENT', 'a tag needs a repository (repo=NAME&tag=TAG)');
        const changes = changesOf(query);
        const user = userConfig(body as Record<string, unknown> | null | undefined);
        const comment = query.get('comment') ?? '';
        const author = query.get('author') ?? '';
        const rec = d.containers.get(ref);
        const parent = await d.images.resolve(rec.imageId);
        // the config first: a bad change is refused before anything is frozen or read
        const config = commitConfig(user, changes, rec.config, parent.config);
        const image = await d.containers.whileFrozen(rec.id, bool(query, 'pause', true), async (r) =>
          d.images.commit({
            parent,
            layer: () => upperLayer(d.containers.paths(r).upper, d.xattr, upperDirForm(d.xattr)),
            config,
            container: r.id,
            createdBy: [r.path, ...r.args].join(' '),
            ...(repoTag ? { repoTag } : {}),
            ...(comment ? { comment } : {}),
            ...(author ? { author } : {}),
          }),
        );
        d.containers.announce(rec, 'commit', { comment, imageID: image.id, imageRef: image.repoTags[0] ?? '' });
        return { status: 201, json: { Id: image.id } };
      },
    },
  ];
}
