/** /containers/… routes (Docker Engine API shapes). */
import { TsnetError } from '../../errors/index.js';
import type { ContainerManager } from '../../runtime/container/container-manager.js';
import type { CreateBody } from '../../runtime/container/create-request.js';
import { containerInspect } from '../../runtime/container/docker-json.js';
import { ContainerSummaries } from '../../runtime/container/summaries.js';
import type { ExecManager, ExecConfig } from '../../runtime/container/exec-manager.js';
import { parseDetachKeys } from '../../runtime/container/detach-keys.js';
import { keepsLog, type LogConfig } from '../../runtime/container/log-config.js';
import { frame, streamLogs } from '../../runtime/container/logs.js';
import { logDetailsPrefix } from './log-details.js';
import type { ContainerRecord } from '../../runtime/container/types.js';
import { top } from '../../runtime/container/top.js';
import { inspectLinks } from '../../network/links.js';
import { Duplex } from 'node:stream';
import { deframer } from '../../runtime/container/stream-form.js';
import type { Route } from '../http/router.js';
import { API_VERSION, versionLess } from '../http/version.js';
import { validKey } from '../http/websocket.js';
import {
  AttachQuery,
  ContainerCreateBody,
  ContainerCreateQuery,
  ContainerListQuery,
  InspectQuery,
  ExecCreateBody,
  ExecStartBody,
  KillQuery,
  LogsQuery,
  RefParams,
  RenameQuery,
  RemoveQuery,
  ResizeQuery,
  StopQuery,
  TopQuery,
  WaitQuery,
} from '../schemas/index.js';
import { normalizeCreateBody, normalizeExecBody } from './create-body.js';
import { bool, filters, int, object } from './params.js';
import { CONTAINER_LIST_FILTERS, filterContainers } from './container-list.js';
import { sizesOf, withSizes } from './container-sizes.js';
import { notApplied } from './not-applied.js';

export interface ContainerRouteDeps {
  containers: ContainerManager;
  execs: ExecManager;
  imageName: (imageId: string, requested: string) => string;
  lowerDirs: (imageId: string) => Promise<string[]>;
  /** One line when the container's endpoint teardown waits for a plugin (sent as X-Tsnet-Warning on rm). */
  pendingFor?: (containerId: string) => string | undefined;
  /** The ids of an image and of the images committed from it (ps --filter ancestor). */
  imageFamily: (ref: string) => Promise<Set<string>>;
  /** Bytes of an image's layers (ps -s: SizeRootFs). */
  imageSize: (imageId: string) => Promise<number>;
  /** Is this network user-defined (inspect shows Docker's per-version aliases there)? */
  userNetwork?: (networkId: string) => boolean;
}

export function containerRoutes(d: ContainerRouteDeps): Route[] {
  const { containers } = d;
  // serialized ps entries, kept between listings (summaries.ts)
  const summaries = new ContainerSummaries({
    network: (r) => containers.network(r),
    networkRevision: (r) => containers.networkRevision(r),
    imageName: (r) => d.imageName(r.imageId, r.config.Image),
  });
  /** An attach session on a taken-over connection: the log first when asked, then the live streams. */
  const session = async (rec: ContainerRecord, conn: Duplex, o: AttachOptions): Promise<void> => {
    if (o.logs) {
      await streamLogs(containers.paths(rec).log, conn, {
        stdout: o.stdout,
        stderr: o.stderr,
        follow: false,
        timestamps: false,
        tty: rec.config.Tty,
        isRunning: () => false,
      });
    }
    if (!o.stream) {
      conn.end();
      return;
    }
    await containers.attach(rec.id, conn, {
      stdin: o.stdin,
      stdout: o.stdout,
      stderr: o.stderr,
      ...(o.detachKeys ? { detachKeys: o.detachKeys } : {}),
    });
  };
  return [
    {
      method: 'GET',
      pattern: '/containers/json',
      schema: { query: ContainerListQuery },
      handler: async ({ query }) => {
        const f = filters(query, CONTAINER_LIST_FILTERS);
        const list = await filterContainers(
          containers.list(),
          f,
          { all: bool(query, 'all'), limit: int(query, 'limit') },
          { get: (ref) => containers.get(ref), network: (r) => containers.network(r), imageFamily: d.imageFamily },
        );
        if (bool(query, 'size'))
          return {
            status: 200,
            json: await withSizes(list, {
              summaries,
              upper: (r) => containers.paths(r).upper,
              imageSize: d.imageSize,
            }),
          };
        return { status: 200, jsonBytes: summaries.json(list) };
      },
    },
    {
      method: 'POST',
      pattern: '/containers/create',
      schema: { query: ContainerCreateQuery, body: ContainerCreateBody },
      handler: async ({ query, body, apiVersion }) => {
        const req = normalizeCreateBody(object<CreateBody>(body, 'container create'), apiVersion);
        const warnings = notApplied(req.HostConfig);
        const rec = await containers.create(req, query.get('name') || undefined);
        return { status: 201, json: { Id: rec.id, Warnings: warnings } };
      },
    },
    {
      method: 'GET',
      pattern: '/containers/{id}/json',
      schema: { params: RefParams, query: InspectQuery },
      handler: async ({ params, query, apiVersion }) => {
        const rec = containers.get(params.id!);
        const net = containers.network(rec);
        // docker inspect --size: the writable layer and that plus the image, as ps -s
        const sizes = bool(query, 'size') ? await sizesOf(rec, (r) => containers.paths(r).upper, d.imageSize) : {};
        return {
          status: 200,
          json: {
            ...containerInspect(
              rec,
              containers.paths(rec),
              d.execs.idsOf(rec.id),
              await d.lowerDirs(rec.imageId).catch(() => []),
              net,
              {
                view: (e) => ({ apiVersion, userDefined: d.userNetwork?.(e.networkId) ?? false }),
                links: inspectLinks(rec.name, net.links, (ref) => containers.find(ref)),
              },
            ),
            ...sizes,
          },
        };
      },
    },
    {
      method: 'POST',
      pattern: '/containers/{id}/start',
      schema: { params: RefParams },
      handler: async ({ params }) => ({ status: (await containers.start(params.id!)) ? 204 : 304 }),
    },
    {
      method: 'POST',
      pattern: '/containers/{id}/stop',
      schema: { params: RefParams, query: StopQuery },
      handler: async ({ params, query }) => ({
        status: (await containers.stop(params.id!, int(query, 't'), query.get('signal') ?? undefined)) ? 204 : 304,
      }),
    },
    {
      method: 'POST',
      pattern: '/containers/{id}/restart',
      schema: { params: RefParams, query: StopQuery },
      handler: async ({ params, query }) => {
        await containers.restart(params.id!, int(query, 't'), query.get('signal') ?? undefined);
        return { status: 204 };
      },
    },
    {
      method: 'POST',
      pattern: '/containers/{id}/rename',
      schema: { params: RefParams, query: RenameQuery },
      handler: async ({ params, query }) => {
        const name = query.get('name');
        if (!name) throw new TsnetError('TSNET_INVALID_ARGUMENT', 'rename needs a new name: ?name=NEW');
        await containers.rename(params.id!, name);
        return { status: 204 };
      },
    },
    {
      method: 'POST',
      pattern: '/containers/{id}/kill',
      schema: { params: RefParams, query: KillQuery },
      handler: async ({ params, query }) => {
        await containers.kill(params.id!, query.get('signal') ?? undefined);
        return { status: 204 };
      },
    },
    {
      method: 'DELETE',
      pattern: '/containers/{id}',
      schema: { params: RefParams, query: RemoveQuery },
      handler: async ({ params, query }) => {
        const rec = containers.get(params.id!);
        await containers.remove(rec.id, { force: bool(query, 'force'), volumes: bool(query, 'v') });
        d.execs.forgetContainer(rec.id);
        const pending = d.pendingFor?.(rec.id);
        // Docker answers 204 with no body; a header keeps that shape for every client
        return pending ? { status: 204, headers: { 'X-Tsnet-Warning': headerSafe(pending) } } : { status: 204 };
      },
    },
    {
      method: 'POST',
      pattern: '/containers/{id}/wait',
      schema: { params: RefParams, query: WaitQuery },
      handler: async ({ params, query, res, req }) => {
        const cond = (query.get('condition') || 'not-running') as 'not-running' | 'next-exit' | 'removed';
        if (!['not-running', 'next-exit', 'removed'].includes(cond))
          throw new TsnetError('TSNET_INVALID_ARGUMENT', `invalid wait condition: ${cond}`);
        // A missing container is a 404 now, not a 200 whose body never comes.
        const rec = containers.get(params.id!);
        const waiting = containers.wait(rec.id, cond);
        // Send the headers now, like Docker, so clients know the wait is registered.
        res?.writeHead(200, { 'Content-Type': 'application/json', 'Api-Version': API_VERSION });
        res?.flushHeaders();
        req.socket.setTimeout(0);
        const result = await waiting;
        res?.end(`${JSON.stringify(result)}\n`);
        return { handled: true };
      },
    },
    {
      method: 'POST',
      pattern: '/containers/{id}/attach',
      schema: { params: RefParams, query: AttachQuery },
      handler: async ({ params, query, hijack }) => {
        const rec = containers.get(params.id!);
        const detachKeys = query.get('detachKeys') || undefined;
        if (detachKeys) parseDetachKeys(detachKeys); // a bad one is a 400 before the hijack
        const logs = bool(query, 'logs');
        if (logs) readableLog(rec);
        if (!hijack) throw new TsnetError('TSNET_INTERNAL', 'attach needs a hijackable connection');
        const conn = await hijack({ multiplexed: !rec.config.Tty });
        await session(rec, conn, {
          logs,
          stream: bool(query, 'stream', true),
          stdin: bool(query, 'stdin'),
          stdout: bool(query, 'stdout'),
          stderr: bool(query, 'stderr'),
          detachKeys,
        });
        return { handled: true };
      },
    },
    {
      // Docker's websocket attach: binary frames, stdout and stderr as they are (never
      // multiplexed); before API 1.42 every stream is attached whatever the query says.
      method: 'GET',
      pattern: '/containers/{id}/attach/ws',
      schema: { params: RefParams, query: AttachQuery },
      handler: async ({ params, query, hijack, req, apiVersion }) => {
        const rec = containers.get(params.id!);
        const key = req.headers['sec-websocket-key'];
        if ((req.headers.upgrade ?? '').toLowerCase() !== 'websocket' || !validKey(key))
          throw new TsnetError(
            'TSNET_INVALID_ARGUMENT',
            'attach/ws is a websocket: send Upgrade: websocket with a Sec-WebSocket-Key',
          );
        const detachKeys = query.get('detachKeys') || undefined;
        if (detachKeys) parseDetachKeys(detachKeys);
        const logs = bool(query, 'logs');
        if (logs) readableLog(rec);
        if (!hijack) throw new TsnetError('TSNET_INTERNAL', 'attach needs a hijackable connection');
        const ws = await hijack({ websocketKey: key });
        const raw = rec.config.Tty ? undefined : deframer();
        raw?.pipe(ws);
        const all = versionLess(apiVersion, '1.42');
        await session(rec, raw ? Duplex.from({ readable: ws, writable: raw }) : ws, {
          logs,
          stream: bool(query, 'stream'),
          stdin: all || bool(query, 'stdin'),
          stdout: all || bool(query, 'stdout'),
          stderr: all || bool(query, 'stderr'),
          detachKeys,
        });
        return { handled: true };
      },
    },
    {
      method: 'POST',
      pattern: '/containers/{id}/resize',
      schema: { params: RefParams, query: ResizeQuery },
      handler: async ({ params, query }) => {
        await containers.resize(params.id!, int(query, 'h') ?? 0, int(query, 'w') ?? 0);
        return { status: 200 };
      },
    },
    {
      method: 'GET',
      pattern: '/containers/{id}/logs',
      schema: { params: RefParams, query: LogsQuery },
      handler: async ({ params, query, res }) => {
        const rec = readableLog(containers.get(params.id!));
        const stdout = bool(query, 'stdout');
        const stderr = bool(query, 'stderr');
        if (!stdout && !stderr)
          throw new TsnetError('TSNET_INVALID_ARGUMENT', 'you must choose at least one stream (stdout or stderr)');
        const tailRaw = query.get('tail');
        const tail = tailRaw === null || tailRaw === 'all' || tailRaw === '' ? undefined : Number(tailRaw);
        if (tail !== undefined && !(Number.isInteger(tail) && tail >= 0))
          throw new TsnetError('TSNET_INVALID_ARGUMENT', `invalid tail value: ${tailRaw}`);
        const since = query.get('since');
        const until = query.get('until');
        for (const [k, v] of [
          ['since', since],
          ['until', until],
        ] as const) {
          if (v !== null && v !== '' && !Number.isFinite(Number(v)))
            throw new TsnetError('TSNET_INVALID_ARGUMENT', `invalid ${k} value "${v}": a unix time in seconds`);
        }
        const details = bool(query, 'details')
          ? Buffer.from(logDetailsPrefix(rec.hostConfig.LogConfig as LogConfig | undefined, rec.config.Labels, rec.config.Env))
          : undefined;
        res!.writeHead(200, {
          'Content-Type': rec.config.Tty ? 'application/vnd.docker.raw-stream' : 'application/vnd.docker.multiplexed-stream',
          'Api-Version': API_VERSION,
        });
        res!.flushHeaders();
        await streamLogs(containers.paths(rec).log, res!, {
          stdout,
          stderr,
          follow: bool(query, 'follow'),
          ...(tail !== undefined ? { tail } : {}),
          ...(since ? { since: Number(since) } : {}),
          ...(until && Number(until) > 0 ? { until: Number(until) } : {}),
          timestamps: bool(query, 'timestamps'),
          ...(details ? { details } : {}),
          tty: rec.config.Tty,
          isRunning: () => containers.find(rec.id)?.state.Status === 'running',
        });
        res!.end();
        return { handled: true };
      },
    },
    {
      method: 'GET',
      pattern: '/containers/{id}/top',
      schema: { params: RefParams, query: TopQuery },
      handler: async ({ params, query }) => {
        const rec = containers.get(params.id!);
        if (rec.state.Status !== 'running')
          throw new TsnetError('TSNET_CONTAINER_NOT_RUNNING', `container ${rec.id} is not running`);
        return { status: 200, json: await top(containers.pids(rec), query.get('ps_args') || undefined) };
      },
    },
    {
      method: 'POST',
      pattern: '/containers/{id}/pause',
      schema: { params: RefParams },
      handler: async ({ params }) => {
        await containers.pause(params.id!);
        return { status: 204 };
      },
    },
    {
      method: 'POST',
      pattern: '/containers/{id}/unpause',
      schema: { params: RefParams },
      handler: async ({ params }) => {
        await containers.unpause(params.id!);
        return { status: 204 };
      },
    },
    {
      method: 'POST',
      pattern: '/containers/{id}/exec',
      schema: { params: RefParams, body: ExecCreateBody },
      handler: async ({ params, body }) => {
        const config = normalizeExecBody(object<ExecConfig>(body, 'exec create'));
        if (config.DetachKeys) parseDetachKeys(config.DetachKeys);
        const inst = d.execs.create(params.id!, config);
        return { status: 201, json: { Id: inst.id } };
      },
    },
    {
      method: 'POST',
      pattern: '/exec/{id}/start',
      schema: { params: RefParams, body: ExecStartBody },
      handler: async ({ params, body, hijack }) => {
        // As Docker: the process keeps the tty it was created with, and the start body's Tty
        // picks the session's output form (the Python SDK sends Tty: false, so a tty exec's
        // output comes framed as stdout).
        const opts = object<{ Detach?: boolean; Tty?: boolean }>(body, 'exec start');
        const inst = d.execs.get(params.id!);
        if (opts.Detach) {
          await d.execs.start(inst.id);
          return { status: 200 };
        }
        if (!hijack) throw new TsnetError('TSNET_INTERNAL', 'exec start needs a hijackable connection');
        // Validate before hijacking, so errors still come back as HTTP errors.
        d.containers.get(inst.containerId);
        const sessionTty = opts.Tty ?? false;
        const conn = await hijack({ multiplexed: !sessionTty });
        try {
          await d.execs.start(inst.id, conn, sessionTty);
        } catch (err) {
          // on stderr when the session has one (Docker puts it on stdout; a CLI then prints it as output)
          const msg = `${(err as Error).message}\n`;
          conn.end(sessionTty ? msg : frame('stderr', Buffer.from(msg)));
        }
        return { handled: true };
      },
    },
    {
      method: 'POST',
      pattern: '/exec/{id}/resize',
      schema: { params: RefParams, query: ResizeQuery },
      handler: async ({ params, query }) => {
        await d.execs.resize(params.id!, int(query, 'h') ?? 0, int(query, 'w') ?? 0);
        return { status: 200 };
      },
    },
    {
      method: 'GET',
      pattern: '/exec/{id}/json',
      schema: { params: RefParams },
      handler: async ({ params }) => {
        const e = d.execs.get(params.id!);
        return {
          status: 200,
          json: {
            ID: e.id,
            ContainerID: e.containerId,
            Running: e.running,
            ExitCode: e.exitCode,
            Pid: e.pid,
            OpenStdin: e.config.AttachStdin ?? false,
            OpenStdout: e.config.AttachStdout ?? true,
            OpenStderr: e.config.AttachStderr ?? true,
            ProcessConfig: {
              tty: e.config.Tty ?? false,
              entrypoint: e.config.Cmd?.[0] ?? '',
              arguments: e.config.Cmd?.slice(1) ?? [],
              privileged: e.config.Privileged ?? false,
              user: e.config.User ?? '',
            },
            CanRemove: false,
            DetachKeys: e.config.DetachKeys ?? '',
          },
        };
      },
    },
  ];
}

/** The container, when its log driver keeps a log to read (Docker's words otherwise). */
function readableLog(rec: ContainerRecord): ContainerRecord {
  if (!keepsLog(rec.hostConfig.LogConfig as LogConfig | undefined))
    throw new TsnetError('TSNET_NOT_IMPLEMENTED', 'configured logging driver does not support reading');
  return rec;
}

interface AttachOptions {
  logs: boolean;
  stream: boolean;
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  detachKeys: string | undefined;
}

/** An HTTP header value: one line of printable ASCII. */
function headerSafe(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, '?').slice(0, 1000);
}
