/**
 * The container's files: GET /containers/{id}/changes, and GET|HEAD|PUT /containers/{id}/archive
 * (`docker cp`), with Docker's `X-Docker-Container-Path-Stat` header. Paths are resolved inside
 * the container's root (archive/in-root.ts); a stopped container's rootfs is mounted for the
 * request in a mount namespace of its own (rootfs-view.ts), under the container's lock.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { TsnetError } from '../../errors/index.js';
import type { InRoot } from '../../kernel/openat2.js';
import type { Xattr } from '../../kernel/xattr.js';
import { containerChanges } from '../../runtime/container/archive/changes.js';
import { cleanPath, ContainerFs, followsLast } from '../../runtime/container/archive/in-root.js';
import { pathStat, statHeader } from '../../runtime/container/archive/path-stat.js';
import { extractTar } from '../../runtime/container/archive/tar-in.js';
import { contentsTar, tarTree } from '../../runtime/container/archive/tar-out.js';
import type { ContainerManager } from '../../runtime/container/container-manager.js';
import { openFlatView, openRootfsView, type ViewMount } from '../../runtime/container/rootfs-view.js';
import type { ContainerRecord } from '../../runtime/container/types.js';
import type { Route } from '../http/router.js';
import { API_VERSION } from '../http/version.js';
import { ArchivePutQuery, ArchiveQuery, RefParams } from '../schemas/index.js';
import { bool } from './params.js';

export interface ContainerFileDeps {
  containers: ContainerManager;
  inRoot: InRoot;
  /** Reads the file capabilities that go into export's and GET archive's tars, sets PUT archive's. */
  xattr: Xattr;
  lowerDirs: (imageId: string) => Promise<string[]>;
  /** What the container mounts besides its rootfs (mounted for a stopped container's copy). */
  mounts: (rec: ContainerRecord) => ViewMount[];
}

const STAT_HEADER = 'X-Docker-Container-Path-Stat';

export function containerFileRoutes(d: ContainerFileDeps): Route[] {
  /** Run fn with the container's filesystem; a stopped container's is mounted meanwhile (under its lock). */
  const withFs = async <T>(rec: ContainerRecord, fn: (cfs: ContainerFs) => Promise<T>): Promise<T> => {
    const open = async () => {
      const view = await openRootfsView(rec, d.containers.paths(rec), await d.lowerDirs(rec.imageId));
      const cfs = new ContainerFs(d.inRoot, view.fd, rec.name);
      try {
        if (rec.state.Status !== 'running')
          for (const m of d.mounts(rec)) {
            // the mount point is made inside the root (no process runs in it: nothing moves meanwhile)
            const target = cfs.real(m.target);
            if (target === '/') continue;
            cfs.mkdirAll(target, !fs.statSync(m.source, { throwIfNoEntry: false })?.isDirectory());
            await view.bind(m.source, target, m.readOnly);
          }
        return await fn(cfs);
      } finally {
        cfs.close();
        await view.close();
      }
    };
    if (rec.state.Status === 'running') return open();
    return d.containers.withLock(rec.id, open);
  };
  const pathOf = (query: URLSearchParams): string => {
    const raw = query.get('path');
    if (!raw) throw new TsnetError('TSNET_INVALID_ARGUMENT', 'bad parameter: path cannot be empty');
    return raw;
  };

  /** What `raw` names: its entry (parents resolved), stat, Docker's stat header and archive name. */
  const statOf = (cfs: ContainerFs, raw: string) => {
    const abs = cleanPath(raw);
    const loc = cfs.locate(followsLast(raw) ? cfs.real(abs) : abs);
    let st: fs.Stats;
    try {
      st = fs.lstatSync(loc.at);
    } catch {
      throw cfs.notFound(abs);
    }
    const name = raw.endsWith('/.') || raw === '.' ? '.' : abs === '/' ? '/' : path.posix.basename(abs);
    const linkTarget = st.isSymbolicLink() ? cfs.real(loc.abs) : '';
    return { loc, st, header: statHeader(pathStat(name, st, linkTarget)), rebase: name === '/' ? '.' : name };
  };

  return [
    {
      // `docker export`: the container's files as one tar, without its volumes and binds (as
      // dockerd's); a stopped container's under its lock, a running one's while it runs
      method: 'GET',
      pattern: '/containers/{id}/export',
      schema: { params: RefParams },
      handler: async ({ params, res }) => {
        const rec = d.containers.get(params.id!);
        const exportFiles = async () => {
          const view = await openFlatView(rec, d.containers.paths(rec), await d.lowerDirs(rec.imageId));
          try {
            res!.writeHead(200, { 'Content-Type': 'application/x-tar', 'Api-Version': API_VERSION });
            d.containers.announce(rec, 'export');
            await pipeline(Readable.from(contentsTar(`/proc/self/fd/${view.fd}`, d.xattr)), res!);
          } catch {
            res!.destroy(); // the client went away, or the tree could not be read: a cut stream
          } finally {
            await view.close();
          }
        };
        if (rec.state.Status === 'running') await exportFiles();
        else await d.containers.withLock(rec.id, exportFiles);
        return { handled: true };
      },
    },
    {
      method: 'GET',
      pattern: '/containers/{id}/changes',
      schema: { params: RefParams },
      handler: async ({ params }) => {
        const rec = d.containers.get(params.id!);
        const lower = await d.lowerDirs(rec.imageId);
        return { status: 200, json: containerChanges(d.inRoot, d.containers.paths(rec).upper, lower) };
      },
    },
    {
      method: 'HEAD',
      pattern: '/containers/{id}/archive',
      schema: { params: RefParams, query: ArchiveQuery },
      handler: async ({ params, query }) => {
        const rec = d.containers.get(params.id!);
        const raw = pathOf(query);
        const header = await withFs(rec, async (cfs) => statOf(cfs, raw).header);
        return { status: 200, text: '', headers: { [STAT_HEADER]: header } };
      },
    },
    {
      method: 'GET',
      pattern: '/containers/{id}/archive',
      schema: { params: RefParams, query: ArchiveQuery },
      handler: async ({ params, query, res }) => {
        const rec = d.containers.get(params.id!);
        const raw = pathOf(query);
        await withFs(rec, async (cfs) => {
          const s = statOf(cfs, raw);
          res!.writeHead(200, { 'Content-Type': 'application/x-tar', [STAT_HEADER]: s.header, 'Api-Version': API_VERSION });
          d.containers.announce(rec, 'archive-path');
          try {
            await pipeline(Readable.from(tarTree(s.loc.at, s.rebase, d.xattr)), res!);
          } catch {
            res!.destroy(); // the client went away, or the tree could not be read: a cut stream
          }
        });
        return { handled: true };
      },
    },
    {
      method: 'PUT',
      pattern: '/containers/{id}/archive',
      schema: { params: RefParams, query: ArchivePutQuery },
      rawBody: true,
      handler: async ({ params, query, req }) => {
        const rec = d.containers.get(params.id!);
        const raw = pathOf(query);
        const readOnly = new TsnetError('TSNET_CONTAINER_READ_ONLY', 'container rootfs is marked read-only');
        if (rec.hostConfig.ReadonlyRootfs && rec.state.Status !== 'running') throw readOnly;
        await withFs(rec, async (cfs) => {
          const abs = cleanPath(raw);
          const dest = cfs.real(abs);
          const s = statOf(cfs, dest);
          if (!s.st.isDirectory()) throw new TsnetError('TSNET_INVALID_ARGUMENT', 'extraction point is not a directory');
          cfs.release(s.loc.parentFd);
          try {
            await extractTar(cfs, dest, req, {
              noOverwriteDirNonDir: bool(query, 'noOverwriteDirNonDir'),
              xattr: d.xattr,
              ...(bool(query, 'copyUIDGID') ? { owner: await containerUser(cfs, rec.config.User) } : {}),
            });
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code === 'EROFS') throw readOnly;
            throw err;
          }
        });
        d.containers.announce(rec, 'extract-to-dir');
        return { status: 200 };
      },
    },
  ];
}

/** The container's user as uid/gid (`copyUIDGID`): numbers, or names looked up in its /etc/passwd and /etc/group. */
async function containerUser(cfs: ContainerFs, user: string): Promise<{ uid: number; gid: number }> {
  const [u = '', g] = user.split(':');
  const read = (file: string): string[][] => {
    try {
      const loc = cfs.locate(file);
      const fd = fs.openSync(loc.at, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
      try {
        if (!fs.fstatSync(fd).isFile()) return [];
        const buf = Buffer.alloc(1 << 20);
        const n = fs.readSync(fd, buf, 0, buf.length, 0);
        return buf
          .toString('utf8', 0, n)
          .split('\n')
          .map((l) => l.split(':'));
      } finally {
        fs.closeSync(fd);
        cfs.release(loc.parentFd);
      }
    } catch {
      return [];
    }
  };
  let uid = 0;
  let gid = 0;
  if (/^\d+$/.test(u)) uid = Number(u);
  else if (u) {
    const row = read('/etc/passwd').find((r) => r[0] === u);
    if (!row) throw new TsnetError('TSNET_BAD_USER', `unable to find user ${u}: no matching entries in passwd file`);
    uid = Number(row[2]);
    gid = Number(row[3]);
  }
  if (g !== undefined && /^\d+$/.test(g)) gid = Number(g);
  else if (g) {
    const row = read('/etc/group').find((r) => r[0] === g);
    if (!row) throw new TsnetError('TSNET_BAD_USER', `unable to find group ${g}: no matching entries in group file`);
    gid = Number(row[2]);
  }
  return { uid, gid };
}
