/**
 * A container's file or directory tree as a tar stream in Docker's form (ustar, pax where names
 * or values do not fit; directories end in `/`; hard links after their first name), with its
 * entries renamed from the requested name (`rebase`). Every step is one component under a
 * pinned directory fd and nothing is followed (in-root.ts), so a tree the container changes
 * while it is read can make entries vanish or come out short, never lead out of it. A file's
 * capability goes with it as Docker writes it (`tarXattrs`).
 */
import fs from 'node:fs';
import { TsnetError } from '../../../errors/index.js';
import type { XattrReader } from '../../../kernel/xattr.js';
import { END_OF_ARCHIVE, encodeHeader, type HeaderFields, padding } from '../../image/tar-header.js';

const CHUNK = 64 * 1024;

function readAt(fd: number, buf: Buffer, length: number, position: number): Promise<number> {
  return new Promise((resolve, reject) => fs.read(fd, buf, 0, length, position, (err, n) => (err ? reject(err) : resolve(n))));
}

function devNumbers(rdev: number): { devmajor: number; devminor: number } {
  const r = BigInt(rdev);
  return {
    devmajor: Number(((r >> 8n) & 0xfffn) | ((r >> 32n) & ~0xfffn)),
    devminor: Number((r & 0xffn) | ((r >> 12n) & ~0xffn)),
  };
}

const CAPABILITY = 'security.capability';
/** vfs_cap_data (linux/capability.h): the revision is the top byte of its first le32; revision 2 is 20 bytes. */
const CAP_REVISION_AT = 3;
const CAP_REVISION_2 = 2;
const CAP_REVISION_3 = 3;
const CAP_V2_SIZE = 20;

/**
 * The extended attributes of the open file `fd` that go into a tar, as Docker writes them
 * (go-archive's ReadSecurityXattrToTarHeader, containerd's diff writer): the file capability
 * only — never user.*, trusted.* (overlayfs' own above all) or other security.* names — and a
 * revision-3 capability (one set in a user namespace, with its root uid) as revision 2, since
 * that uid means nothing outside it. A read that fails leaves the attribute out, as Docker's.
 */
export function tarXattrs(xattr: XattrReader, fd: number): ReadonlyMap<string, Buffer> | undefined {
  let cap: Buffer | undefined;
  try {
    cap = xattr.get(fd, CAPABILITY);
  } catch {
    return undefined;
  }
  if (cap === undefined || cap.length === 0) return undefined;
  if (cap.length > CAP_REVISION_AT && cap[CAP_REVISION_AT] === CAP_REVISION_3) {
    cap = Buffer.from(cap.subarray(0, CAP_V2_SIZE));
    cap[CAP_REVISION_AT] = CAP_REVISION_2;
  }
  return new Map([[CAPABILITY, cap]]);
}

/** What one tar walk carries: the hard links seen (first name by dev:ino), the xattr reader, an upper dir's form. */
interface Walk {
  links: Map<string, string>;
  xattr: XattrReader;
  form?: LayerForm;
}

/** Tar of the entry at `at` (a `/proc/self/fd/N/name` path), named `rebase` in the archive. */
export async function* tarTree(at: string, rebase: string, xattr: XattrReader): AsyncGenerator<Buffer> {
  yield* entry(at, rebase, { links: new Map(), xattr });
  yield END_OF_ARCHIVE;
}

/** How an overlayfs upper dir becomes a layer tar (`contentsTar`). */
export interface LayerForm {
  /** Whether the open directory `fd` is opaque (overlayfs: `trusted.overlay.opaque=y`). */
  isOpaque(fd: number): boolean;
  /** Entries left out (tsnet-init's mount points), by their path in the layer (`etc/hosts`). */
  skip(name: string, st: fs.Stats): boolean;
}

/**
 * What is below the directory at `at` (a `/proc/self/fd/N` path), entries named from there
 * (`etc/`, `etc/passwd`), read as `tarTree` reads (pinned fds, nothing followed): `export`'s
 * form. With `form`, an upper dir as a layer tar in Docker's form, what `commit` stores: an
 * overlayfs whiteout (a 0:0 character device) as an empty `.wh.<name>` file, an opaque directory
 * followed by its `.wh..wh..opq` marker.
 */
export async function* contentsTar(at: string, xattr: XattrReader, form?: LayerForm): AsyncGenerator<Buffer> {
  yield* children(at, '', form ? { links: new Map(), xattr, form } : { links: new Map(), xattr });
  yield END_OF_ARCHIVE;
}

/**
 * Deepest directory nesting read (a path that deep is far past PATH_MAX). Every level is one
 * more generator that each entry below passes through: a container that nests directories
 * without end would make a read cost the daemon's thread depth² steps.
 */
const MAX_DEPTH = 1024;

async function* children(dirAt: string, prefix: string, walk: Walk): AsyncGenerator<Buffer> {
  if (prefix.split('/').length > MAX_DEPTH)
    throw new TsnetError(
      'TSNET_INVALID_ARGUMENT',
      `directories nest deeper than ${MAX_DEPTH} levels at ${prefix.slice(0, 120)}…: not read`,
    );
  let names: string[];
  try {
    names = fs.readdirSync(dirAt).sort();
  } catch {
    return; // removed while the tree was read
  }
  for (const child of names) yield* entry(`${dirAt}/${child}`, `${prefix}${child}`, walk);
}

async function* entry(at: string, name: string, walk: Walk): AsyncGenerator<Buffer> {
  const { links, form } = walk;
  let st: fs.Stats;
  try {
    st = fs.lstatSync(at);
  } catch {
    return; // removed while the tree was read
  }
  const base = { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: st.mtime };
  if (form) {
    if (st.isCharacterDevice() && st.rdev === 0) {
      const slash = name.lastIndexOf('/');
      const whiteout = `${name.slice(0, slash + 1)}.wh.${name.slice(slash + 1)}`;
      yield encodeHeader({ mode: 0o600, uid: 0, gid: 0, mtime: st.mtime, path: whiteout, type: 'File', size: 0 });
      return;
    }
    if (form.skip(name, st)) return;
  }
  if (st.isFile()) {
    const key = `${st.dev}:${st.ino}`;
    if (st.nlink > 1) {
      const first = links.get(key);
      if (first !== undefined) {
        yield encodeHeader({ ...base, path: name, type: 'Link', linkpath: first });
        return;
      }
      links.set(key, name);
    }
    let fd: number;
    try {
      fd = fs.openSync(at, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
    } catch {
      return;
    }
    try {
      const now = fs.fstatSync(fd);
      if (!now.isFile() || now.ino !== st.ino) return;
      const xattrs = tarXattrs(walk.xattr, fd);
      yield encodeHeader({ ...base, path: name, type: 'File', size: st.size, ...(xattrs ? { xattrs } : {}) });
      let left = st.size;
      let pos = 0;
      const buf = Buffer.allocUnsafe(CHUNK);
      while (left > 0) {
        const n = await readAt(fd, buf, Math.min(CHUNK, left), pos);
        if (n === 0) break; // shrank meanwhile: zeros fill the declared size
        yield Buffer.from(buf.subarray(0, n));
        left -= n;
        pos += n;
      }
      for (; left > 0; left -= Math.min(left, CHUNK)) yield Buffer.alloc(Math.min(left, CHUNK));
      yield padding(st.size);
    } finally {
      fs.closeSync(fd);
    }
    return;
  }
  if (st.isDirectory()) {
    let fd: number;
    try {
      fd = fs.openSync(at, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY | fs.constants.O_NOFOLLOW);
    } catch {
      return;
    }
    try {
      if (fs.fstatSync(fd).ino !== st.ino) return;
      const prefix = name.endsWith('/') ? name : `${name}/`;
      const xattrs = tarXattrs(walk.xattr, fd);
      yield encodeHeader({ ...base, path: prefix, type: 'Directory', ...(xattrs ? { xattrs } : {}) });
      if (form?.isOpaque(fd))
        yield encodeHeader({
          mode: 0o600,
          uid: 0,
          gid: 0,
          mtime: st.mtime,
          path: `${prefix}.wh..wh..opq`,
          type: 'File',
          size: 0,
        });
      yield* children(`/proc/self/fd/${fd}`, prefix, walk);
    } finally {
      fs.closeSync(fd);
    }
    return;
  }
  const h: HeaderFields = { ...base, path: name, type: 'File' };
  if (st.isSymbolicLink()) {
    try {
      h.linkpath = fs.readlinkSync(at);
    } catch {
      return;
    }
    h.type = 'SymbolicLink';
  } else if (st.isCharacterDevice() || st.isBlockDevice()) {
    h.type = st.isCharacterDevice() ? 'CharacterDevice' : 'BlockDevice';
    Object.assign(h, devNumbers(st.rdev));
  } else if (st.isFIFO()) h.type = 'FIFO';
  else return; // sockets have no tar form
  yield encodeHeader(h);
}
