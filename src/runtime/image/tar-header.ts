/**
 * Writing tar headers (ustar, plus a pax extended header when a value does not fit or
 * xattrs are attached). Used to hand a cleaned-up stream to GNU tar. Pure, no I/O.
 */
import { Header } from 'tar';

export type EntryType = 'File' | 'Link' | 'SymbolicLink' | 'CharacterDevice' | 'BlockDevice' | 'Directory' | 'FIFO';

export interface HeaderFields {
  path: string;
  type: EntryType;
  mode: number;
  uid: number;
  gid: number;
  size?: number;
  mtime?: Date;
  linkpath?: string;
  devmajor?: number;
  devminor?: number;
  /** Extended attributes, written as `SCHILY.xattr.<name>` pax records (GNU tar's form). */
  xattrs?: ReadonlyMap<string, Buffer | string>;
}

export const BLOCK = 512;
export const END_OF_ARCHIVE = Buffer.alloc(BLOCK * 2);

/** One pax record: `<len> <key>=<value>\n`, where len counts itself. Binary-safe. */
export function paxRecord(key: string, value: string | Buffer): Buffer {
  const body = Buffer.concat([
    Buffer.from(` ${key}=`, 'utf8'),
    typeof value === 'string' ? Buffer.from(value, 'utf8') : value,
    Buffer.from('\n'),
  ]);
  let digits = String(body.length).length;
  if (String(body.length + digits).length > digits) digits++;
  return Buffer.concat([Buffer.from(String(body.length + digits), 'latin1'), body]);
}

function paxTime(d: Date): string {
  const ms = d.getTime();
  const seconds = Math.floor(ms / 1000);
  const frac = ms - seconds * 1000;
  return frac === 0 ? String(seconds) : `${seconds}.${String(frac).padStart(3, '0')}`;
}

const MAX_OCTAL_8 = 0o7777777;
const MAX_OCTAL_12 = 0o77777777777;

function isAscii(s: string): boolean {
  // eslint-disable-next-line no-control-regex
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 1 || c > 0x7f) return false;
  }
  return true;
}

/** Header block(s) for one entry: [pax header + records], then the ustar block. */
export function encodeHeader(f: HeaderFields): Buffer {
  const size = f.type === 'File' ? (f.size ?? 0) : 0;
  const mtime = f.mtime ?? new Date(0);
  const header = new Header({
    path: f.path,
    type: f.type,
    mode: f.mode & 0o7777,
    uid: f.uid,
    gid: f.gid,
    size,
    mtime: new Date(Math.floor(mtime.getTime() / 1000) * 1000),
    linkpath: f.linkpath ?? '',
    uname: '',
    gname: '',
    devmaj: f.devmajor ?? 0,
    devmin: f.devminor ?? 0,
  });
  const block = Buffer.alloc(BLOCK);
  const needPax = header.encode(block);

  const records: Buffer[] = [];
  const seconds = mtime.getTime() / 1000;
  if (needPax || !isAscii(f.path) || Buffer.byteLength(f.path) > 100) records.push(paxRecord('path', f.path));
  if (f.linkpath !== undefined && (needPax || !isAscii(f.linkpath) || Buffer.byteLength(f.linkpath) > 100)) {
    records.push(paxRecord('linkpath', f.linkpath));
  }
  if (size > MAX_OCTAL_12) records.push(paxRecord('size', String(size)));
  if (f.uid > MAX_OCTAL_8 || f.uid < 0) records.push(paxRecord('uid', String(f.uid)));
  if (f.gid > MAX_OCTAL_8 || f.gid < 0) records.push(paxRecord('gid', String(f.gid)));
  if (!Number.isInteger(seconds) || seconds < 0 || seconds > MAX_OCTAL_12) records.push(paxRecord('mtime', paxTime(mtime)));
  for (const [name, value] of f.xattrs ?? []) records.push(paxRecord(`SCHILY.xattr.${name}`, value));
  if (records.length === 0) return block;

  const body = Buffer.concat(records);
  const paxHeader = new Header({
    path: `PaxHeaders/${f.path.slice(f.path.lastIndexOf('/') + 1)}`.slice(0, 99),
    type: 'ExtendedHeader',
    mode: 0o644,
    uid: 0,
    gid: 0,
    size: body.length,
    mtime: new Date(0),
    linkpath: '',
    uname: '',
    gname: '',
  });
  const paxBlock = Buffer.alloc(BLOCK);
  paxHeader.encode(paxBlock);
  return Buffer.concat([paxBlock, body, padding(body.length), block]);
}

/** Zero bytes that round `size` up to a whole block. */
export function padding(size: number): Buffer {
  const rest = size % BLOCK;
  return rest === 0 ? Buffer.alloc(0) : Buffer.alloc(BLOCK - rest);
}
