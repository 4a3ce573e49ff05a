/** /images/… routes: list, inspect, pull, import (rootfs, docker save, OCI layout), load, tag, remove; /auth (login check). */
import { PassThrough } from 'node:stream';
import { TsnetError, asTsnetError } from '../../errors/index.js';
import type { ImageStore } from '../../runtime/image/image-store.js';
import { credentialsFrom, decodeRegistryAuth, type ProgressMessage, type Puller } from '../../runtime/image/pull/index.js';
import type { ImageHistory, ImageRecord, ImportOptions } from '../../runtime/image/types.js';
import type { Reply, Route } from '../http/router.js';
import {
  AuthBody,
  ImageCreateQuery,
  ImageListQuery,
  ImageLoadQuery,
  ImageNameParams,
  ImageRemoveQuery,
  ImageTagQuery,
} from '../schemas/index.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { API_VERSION } from '../http/server.js';
import { bool, changesOf, filters, repoTagParam } from './params.js';
import { filterImages, IMAGE_LIST_FILTERS } from './image-list.js';

export interface ImageRouteDeps {
  images: ImageStore;
  inUse: (imageId: string) => boolean;
  layerDirs: (image: ImageRecord) => string[];
  puller: Puller;
}

const unix = (iso: string) => Math.floor(Date.parse(iso) / 1000);

export function imageSummary(img: ImageRecord) {
  return {
    Id: img.id,
    ParentId: img.parent ?? '',
    RepoTags: img.repoTags,
    RepoDigests: img.repoDigests ?? [],
    Created: unix(img.created),
    Size: img.size,
    VirtualSize: img.size,
    SharedSize: -1,
    Labels: img.config.Labels ?? {},
    Containers: -1,
  };
}

export function imageInspect(img: ImageRecord, layerDirs: string[]) {
  return {
    Id: img.id,
    RepoTags: img.repoTags,
    RepoDigests: img.repoDigests ?? [],
    Parent: img.parent ?? '',
    Comment: img.comment ?? '',
    Created: img.created,
    DockerVersion: '',
    Author: img.author ?? '',
    Config: { Env: [], Cmd: null, Entrypoint: null, WorkingDir: '', User: '', Labels: null, Volumes: null, ...img.config },
    // Docker < 25 sent the config of the container the image was committed from; docker-compose 1.x
    // reads ContainerConfig.Volumes when it recreates a container
    ContainerConfig: {
      Env: null,
      Cmd: null,
      Entrypoint: null,
      WorkingDir: '',
      User: '',
      Labels: null,
      Volumes: img.config.Volumes ?? null,
    },
    Architecture: img.architecture,
    Os: img.os,
    Size: img.size,
    VirtualSize: img.size,
    GraphDriver: { Name: 'overlay', Data: { LowerDir: layerDirs.join(':') } },
    RootFS: { Type: 'layers', Layers: img.layers },
    Metadata: { LastTagTime: '0001-01-01T00:00:00Z' },
  };
}

/**
 * Import the request body. A refused import (a limit, a bad archive) stops reading it, but the
 * connection is not torn down under the client: the rest of the upload is read and dropped, so
 * the client gets the one-line error instead of a connection reset.
 */
async function importRequest(images: ImageStore, req: IncomingMessage, opts: ImportOptions) {
  const body = new PassThrough();
  req.pipe(body);
  try {
    return await images.importTar(body, opts);
  } catch (err) {
    req.unpipe(body);
    req.resume();
    throw err;
  }
}

export function imageRoutes(d: ImageRouteDeps): Route[] {
  return [
    {
      method: 'GET',
      pattern: '/images/json',
      schema: { query: ImageListQuery },
      handler: async ({ query }) => {
        const list = await filterImages(await d.images.list(), filters(query, IMAGE_LIST_FILTERS), {
          all: bool(query, 'all'),
          resolve: (ref) => d.images.resolve(ref),
        });
        return { status: 200, json: list.map(imageSummary) };
      },
    },
    {
      method: 'GET',
      pattern: '/images/{name*}/json',
      schema: { params: ImageNameParams },
      handler: async ({ params }) => {
        const img = await d.images.resolve(params.name!);
        return { status: 200, json: imageInspect(img, d.layerDirs(img)) };
      },
    },
    {
      method: 'GET',
      pattern: '/images/{name*}/history',
      schema: { params: ImageNameParams },
      handler: async ({ params }) => ({ status: 200, json: await imageHistory(d.images, await d.images.resolve(params.name!)) }),
    },
    {
      method: 'POST',
      pattern: '/images/create',
      schema: { query: ImageCreateQuery },
      rawBody: true,
      handler: async ({ req, res, query }) => {
        const fromImage = query.get('fromImage');
        if (fromImage !== null && fromImage !== '')
          return pullReply(d.puller, fromImage, query.get('tag') ?? '', query.get('platform') ?? '', req, res);
        if (query.get('fromSrc') !== '-') {
          throw new TsnetError(
            'TSNET_INVALID_ARGUMENT',
            'POST /images/create needs fromImage=NAME (pull) or fromSrc=- (import the request body)',
          );
        }
        const repoTag = repoTagParam(query);
        const changes = changesOf(query);
        const message = query.get('message') ?? '';
        const imported = await importRequest(d.images, req, {
          ...(repoTag ? { repoTag } : {}),
          ...(changes.length ? { changes } : {}),
          ...(message ? { comment: message } : {}),
        });
        const lines = imported.map((i) => JSON.stringify({ status: i.id, id: i.id, tags: i.repoTags })).join('\n');
        return { status: 200, text: `${lines}\n`, headers: { 'Content-Type': 'application/json' } };
      },
    },
    {
      method: 'POST',
      pattern: '/auth',
      schema: { body: AuthBody },
      handler: async ({ body }) => {
        const creds = credentialsFrom(body ?? {});
        const server = creds.serverAddress ?? 'docker.io';
        await d.puller.login(server, creds);
        return { status: 200, json: { Status: 'Login Succeeded', IdentityToken: '' } };
      },
    },
    {
      method: 'POST',
      pattern: '/images/load',
      schema: { query: ImageLoadQuery },
      rawBody: true,
      handler: async ({ req }) => {
        // as dockerd: the answer is a JSON stream, and a load that fails says so in it (200 with
        // an errorDetail message: the Docker SDK raises ImageLoadError from that, the CLI prints it)
        let imported: ImageRecord[];
        try {
          imported = await importRequest(d.images, req, {});
        } catch (err) {
          return {
            status: 200,
            text: `${JSON.stringify(streamError(err))}\n`,
            headers: { 'Content-Type': 'application/json' },
          };
        }
        const lines = imported
          .map((i) =>
            JSON.stringify({
              stream: i.repoTags.length ? `Loaded image: ${i.repoTags.join(', ')}\n` : `Loaded image ID: ${i.id}\n`,
            }),
          )
          .join('\n');
        return { status: 200, text: `${lines}\n`, headers: { 'Content-Type': 'application/json' } };
      },
    },
    {
      method: 'POST',
      pattern: '/images/{name*}/tag',
      schema: { params: ImageNameParams, query: ImageTagQuery },
      handler: async ({ params, query }) => {
        const repoTag = repoTagParam(query);
        if (!repoTag) throw new TsnetError('TSNET_INVALID_ARGUMENT', 'tag needs a repo');
        await d.images.tag(params.name!, repoTag);
        return { status: 201 };
      },
    },
    {
      method: 'DELETE',
      pattern: '/images/{name*}',
      schema: { params: ImageNameParams, query: ImageRemoveQuery },
      handler: async ({ params, query }) => {
        const r = await d.images.remove(params.name!, {
          force: bool(query, 'force'),
          noprune: bool(query, 'noprune'),
          inUse: d.inUse,
        });
        return { status: 200, json: [...r.untagged.map((u) => ({ Untagged: u })), ...r.deleted.map((x) => ({ Deleted: x }))] };
      },
    },
  ];
}

/**
 * `POST /images/create?fromImage=NAME&tag=TAG|DIGEST`: pull, answering with Docker's JSON
 * progress stream. Failures before the first message are plain API errors; later ones are
 * an `{"errorDetail"}` message at the end of the stream, as dockerd does. A client that goes
 * away cancels the pull.
 */
async function pullReply(
  puller: Puller,
  fromImage: string,
  tag: string,
  platform: string,
  req: IncomingMessage,
  res: ServerResponse | undefined,
): Promise<Reply> {
  if (!res) throw new TsnetError('TSNET_INVALID_ARGUMENT', 'pull cannot be used on an upgraded connection');
  let reference = fromImage;
  if (tag !== '') reference = tag.startsWith('sha256:') ? `${fromImage}@${tag}` : `${fromImage}:${tag}`;
  const credentials = decodeRegistryAuth(headerValue(req.headers['x-registry-auth']));
  const abort = new AbortController();
  const onClose = () => {
    if (!res.writableEnded) abort.abort();
  };
  res.once('close', onClose);
  const write = (m: ProgressMessage | Record<string, unknown>): void => {
    if (!res.headersSent) {
      res.writeHead(200, { 'Content-Type': 'application/json', 'Api-Version': API_VERSION, Server: 'tsnetd' });
    }
    res.write(`${JSON.stringify(m)}\r\n`);
  };
  try {
    await puller.pull({ reference, credentials, progress: write, signal: abort.signal, ...(platform ? { platform } : {}) });
  } catch (err) {
    if (!res.headersSent) throw err;
    write(streamError(err));
  } finally {
    res.off('close', onClose);
  }
  res.end();
  return { handled: true };
}

/** A failure as the last message of a JSON progress stream, in dockerd's form. */
function streamError(err: unknown): { errorDetail: { message: string }; error: string } {
  const message = asTsnetError(err).message;
  return { errorDetail: { message }, error: message };
}

function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/**
 * `GET /images/{name}/history` as dockerd builds it: the config's steps newest first, each step
 * that made a layer with that layer's size; the newest step carries the image's id and tags, the
 * one before it its parent's (an image made by `commit`), and so on up the stored parents; the
 * others say `<missing>`. An image whose record has no history (stored by an older tsnet) gets
 * one step per layer.
 */
async function imageHistory(images: ImageStore, img: ImageRecord) {
  const steps: ImageHistory[] = img.history ?? img.layers.map(() => ({ created: img.created }));
  const out: Array<{ Id: string; Created: number; CreatedBy: string; Tags: string[] | null; Size: number; Comment: string }> = [];
  let layer = 0;
  for (const h of steps) {
    let size = 0;
    if (!h.empty_layer) {
      const diffId = img.layers[layer++];
      if (diffId === undefined)
        throw new TsnetError('TSNET_IMAGE_INVALID', `image ${img.id.slice(7, 19)} has more steps with layers than layers`);
      size = await images.layerSize(diffId);
    }
    const created = h.created !== undefined ? Date.parse(h.created) : Number.NaN;
    out.unshift({
      Id: '<missing>',
      Created: Number.isNaN(created) ? 0 : Math.floor(created / 1000),
      CreatedBy: h.created_by ?? '',
      Tags: null,
      Size: size,
      Comment: h.comment ?? '',
    });
  }
  let cur: ImageRecord | undefined = img;
  for (const step of out) {
    if (!cur) break;
    step.Id = cur.id;
    step.Tags = cur.repoTags.length ? cur.repoTags : null;
    cur = cur.parent ? await images.resolve(cur.parent).catch(() => undefined) : undefined;
  }
  return out;
}
