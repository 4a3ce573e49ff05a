/**
 * tsnet cp CONTAINER:SRC DEST|-  and  tsnet cp SRC|- CONTAINER:DEST, as `docker cp`:
 * GET|HEAD|PUT /containers/{id}/archive with tar streams; the local side is read and written by
 * GNU tar (names rebased with --transform), `-` is a tar stream on stdout or stdin.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { readBody, seg } from '../api-client.js';
import type { Context } from '../context.js';
import { ApiError, CliError, UsageError } from '../errors.js';

interface Side {
  container?: string;
  path: string;
}

interface PathStat {
  name: string;
  size: number;
  mode: number;
  mtime: string;
  linkTarget: string;
}

const GO_DIR = 2 ** 31;
const GO_SYMLINK = 2 ** 27;
const isDir = (s: PathStat) => Math.floor(s.mode / GO_DIR) % 2 === 1;
const isLink = (s: PathStat) => Math.floor(s.mode / GO_SYMLINK) % 2 === 1;

/** Docker's rule: a path starting with / or . is local; else `CONTAINER:PATH` when it has a colon. */
export function splitCpArg(arg: string): Side {
  if (arg.startsWith('/') || arg.startsWith('.') || arg === '-') return { path: arg };
  const i = arg.indexOf(':');
  if (i <= 0) return { path: arg };
  return { container: arg.slice(0, i), path: arg.slice(i + 1) };
}

function decodeStat(header: string | undefined): PathStat {
  if (!header) throw new CliError('the daemon sent no X-Docker-Container-Path-Stat header');
  return JSON.parse(Buffer.from(header, 'base64').toString('utf8')) as PathStat;
}

async function statIn(ctx: Context, container: string, p: string): Promise<PathStat | undefined> {
  try {
    const res = await ctx.client.send('HEAD', `/containers/${seg(container)}/archive`, { query: { path: p } });
    await readBody(res);
    return decodeStat(res.headers['x-docker-container-path-stat']);
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return undefined;
    throw err;
  }
}

/** `s|^from|to|` for GNU tar's --transform (a basic regex), or nothing when the name stays. */
function transform(from: string, to: string): string[] {
  if (from === to) return [];
  const re = from.replace(/[\\.*[\]^$|]/g, (c) => `\\${c}`);
  const rep = to.replace(/[\\&|]/g, (c) => `\\${c}`);
  return [`--transform=s|^${re}|${rep}|`];
}

/**
 * A file's capability goes along both ways, as with `docker cp` (Docker's archives carry only
 * `security.capability` among the extended attributes); setting it needs root, and as with
 * Docker a copy that cannot set it is still made (tar's warning is silenced).
 */
const XATTRS = ['--xattrs', '--xattrs-include=security.capability'];

function runTar(args: string[], stdin: 'pipe' | 'ignore'): ReturnType<typeof spawn> {
  const child = spawn('tar', args, { stdio: [stdin, stdin === 'pipe' ? 'inherit' : 'pipe', 'pipe'] });
  return child;
}

function tarDone(child: ReturnType<typeof spawn>, what: string): Promise<void> {
  let err = '';
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  return new Promise((resolve, reject) => {
    child.once('error', (e) =>
      reject(new CliError(`${what}: cannot run tar (${(e as NodeJS.ErrnoException).code}): install GNU tar`)),
    );
    child.once('close', (code) =>
      code === 0 ? resolve() : reject(new CliError(`${what}: ${err.trim().split('\n')[0] || `tar exited with ${code}`}`)),
    );
  });
}

async function fromContainer(ctx: Context, src: Side & { container: string }, dest: string, follow: boolean, archive: boolean) {
  let srcPath = src.path;
  if (follow) {
    const st = await statIn(ctx, src.container, srcPath);
    if (st && isLink(st) && st.linkTarget) srcPath = st.linkTarget;
  }
  const res = await ctx.client.send('GET', `/containers/${seg(src.container)}/archive`, { query: { path: srcPath } });
  const stat = decodeStat(res.headers['x-docker-container-path-stat']);
  if (dest === '-') {
    await pipeline(res, ctx.stdout);
    return;
  }
  let dir: string;
  let rename: string[] = [];
  let existing: fs.Stats | undefined;
  try {
    existing = fs.statSync(dest);
  } catch {
    existing = undefined;
  }
  if (existing?.isDirectory()) dir = dest;
  else if (existing) {
    if (isDir(stat)) throw new UsageError(`cannot copy a directory to a file: ${dest}`);
    dir = path.dirname(dest);
    rename = transform(stat.name, path.basename(dest));
  } else {
    if (dest.endsWith('/') && !isDir(stat)) throw new CliError(`destination directory ${dest} does not exist`);
    dir = path.dirname(path.resolve(dest));
    if (!fs.existsSync(dir)) throw new CliError(`no such directory: ${dir}`);
    rename = stat.name === '.' ? [] : transform(stat.name, path.basename(path.resolve(dest)));
    if (stat.name === '.') {
      fs.mkdirSync(dest);
      dir = dest;
    }
  }
  const tar = runTar(
    [
      '-x',
      '-f',
      '-',
      '-C',
      dir,
      ...XATTRS,
      '--warning=no-xattr-write',
      ...(archive ? ['--same-owner'] : ['--no-same-owner']),
      ...rename,
    ],
    'pipe',
  );
  const done = tarDone(tar, `extract into ${dir}`);
  await pipeline(res as Readable, tar.stdin!);
  await done;
}

async function toContainer(ctx: Context, src: string, dst: Side & { container: string }, follow: boolean, archive: boolean) {
  const put = async (dir: string, body: Readable) => {
    const res = await ctx.client.upload('PUT', `/containers/${seg(dst.container)}/archive`, body, {
      query: { path: dir, noOverwriteDirNonDir: true, copyUIDGID: archive ? true : undefined },
      contentType: 'application/x-tar',
    });
    await readBody(res);
  };
  if (src === '-') return put(dst.path, ctx.stdin);
  let st: fs.Stats;
  try {
    st = follow ? fs.statSync(src) : fs.lstatSync(src);
  } catch {
    throw new CliError(`could not find the file ${src} on this host`);
  }
  let dstStat = await statIn(ctx, dst.container, dst.path);
  let dstPath = dst.path;
  if (dstStat && isLink(dstStat) && dstStat.linkTarget) {
    dstPath = dstStat.linkTarget;
    dstStat = await statIn(ctx, dst.container, dstPath);
  }
  const contents = src.endsWith('/.') || src === '.';
  let dir: string;
  let rename: string[] = [];
  const base = path.basename(path.resolve(src));
  if (dstStat && isDir(dstStat)) dir = dstPath;
  else if (dstStat) {
    if (st.isDirectory()) throw new UsageError(`cannot copy a directory to a file: ${dst.container}:${dst.path}`);
    dir = path.posix.dirname(dstPath);
    rename = transform(base, path.posix.basename(dstPath));
  } else {
    if (dstPath.endsWith('/') && !st.isDirectory())
      throw new CliError(`destination directory ${dst.container}:${dst.path} does not exist`);
    dir = path.posix.dirname(dstPath.replace(/\/+$/, '') || '/');
    rename = contents ? [] : transform(base, path.posix.basename(dstPath.replace(/\/+$/, '')));
    if (contents) dir = dstPath; // the daemon answers 404 when it does not exist
  }
  const args = contents
    ? ['-c', '-f', '-', ...XATTRS, '-C', src, '.']
    : ['-c', '-f', '-', ...XATTRS, '-C', path.dirname(path.resolve(src)), ...(follow ? ['-h'] : []), ...rename, base];
  const tar = runTar(args, 'ignore');
  const done = tarDone(tar, `archive ${src}`);
  await put(dir, tar.stdout as Readable);
  await done;
}

export default async function cp(
  ctx: Context,
  [source, destination]: [string, string],
  opts: { archive?: boolean; followLink?: boolean },
): Promise<number> {
  const src = splitCpArg(source);
  const dst = splitCpArg(destination);
  if (src.container && dst.container) throw new UsageError('copying between containers is not supported');
  if (!src.container && !dst.container) throw new UsageError('must specify at least one container source');
  if ((src.container && !src.path) || (dst.container && !dst.path))
    throw new UsageError('the container path cannot be empty: CONTAINER:PATH');
  if (src.container) await fromContainer(ctx, src as Side & { container: string }, dst.path, !!opts.followLink, !!opts.archive);
  else await toContainer(ctx, src.path, dst as Side & { container: string }, !!opts.followLink, !!opts.archive);
  return 0;
}
