import test from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TsnetError } from '../../../src/errors/index.js';
import type { XattrReader } from '../../../src/kernel/xattr.js';
import { contentsTar, tarTree, tarXattrs } from '../../../src/runtime/container/archive/tar-out.js';
import { TarDigest, tarEntries } from '../../../src/runtime/image/tar-read.js';

// vfs_cap_data for cap_net_raw=ep: revision 2 (20 bytes); revision 3 adds the namespace's root uid
const V2 = Buffer.from('0100000200200000000000000000000000000000', 'hex');
const V3 = Buffer.from('0100000300200000000000000000000000000000e8030000', 'hex');

/** A reader whose attributes are set per file name (found from the fd's inode); every name asked is recorded. */
function fakeXattr(dir: string, values: Record<string, Buffer | Error>): { xattr: XattrReader; asked: string[] } {
  const asked: string[] = [];
  const byIno = new Map(Object.entries(values).map(([name, v]) => [fs.statSync(path.join(dir, name)).ino, v]));
  return {
    asked,
    xattr: {
      get(fd, name) {
        asked.push(name);
        const v = byIno.get(fs.fstatSync(fd).ino);
        if (v instanceof Error) throw v;
        return v;
      },
    },
  };
}

async function xattrsOf(tar: AsyncIterable<Buffer>): Promise<Record<string, Record<string, string>>> {
  const out: Record<string, Record<string, string>> = {};
  for await (const e of tarEntries(tar, new TarDigest(), 'test')) {
    out[e.path] = Object.fromEntries([...e.xattrs].map(([k, v]) => [k, v.toString('hex')]));
    for await (const _ of e.body()) {
      // drain
    }
  }
  return out;
}

test("a file's and a directory's capability go into the tar as Docker writes them: revision 3 as 2, nothing else asked", async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-tar-xattrs-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, 'v3'), 'a');
  fs.writeFileSync(path.join(dir, 'plain'), 'b');
  fs.writeFileSync(path.join(dir, 'unreadable'), 'c');
  fs.mkdirSync(path.join(dir, 'd'));
  fs.symlinkSync('v3', path.join(dir, 'link'));
  const { xattr, asked } = fakeXattr(dir, {
    v3: V3,
    d: V2,
    unreadable: new TsnetError('TSNET_SYSCALL', 'fgetxattr: EIO'),
  });
  const fd = fs.openSync(dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
  t.teardown(() => fs.closeSync(fd));
  const capability = { 'security.capability': V2.toString('hex') };
  t.deepEqual(await xattrsOf(contentsTar(`/proc/self/fd/${fd}`, xattr)), {
    'd/': capability,
    link: {},
    plain: {},
    unreadable: {},
    v3: capability,
  });
  t.true(asked.length === 4 && asked.every((n) => n === 'security.capability'), asked.join(' '));
  t.deepEqual(await xattrsOf(tarTree(`/proc/self/fd/${fd}/v3`, 'renamed', xattr)), { renamed: capability });
});

test('tarXattrs: none without a capability; an empty or short value is not mistaken for revision 3', (t) => {
  const fixed = (v: Buffer | undefined): XattrReader => ({ get: () => v });
  t.is(tarXattrs(fixed(undefined), 0), undefined);
  t.is(tarXattrs(fixed(Buffer.alloc(0)), 0), undefined);
  t.deepEqual(tarXattrs(fixed(Buffer.from([1, 0, 0])), 0), new Map([['security.capability', Buffer.from([1, 0, 0])]]));
  // the reader's buffer is not changed by the conversion
  const v3 = Buffer.from(V3);
  t.deepEqual(tarXattrs(fixed(v3), 0), new Map([['security.capability', V2]]));
  t.deepEqual(v3, V3);
});
