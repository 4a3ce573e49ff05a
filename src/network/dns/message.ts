/**
 * DNS wire format (RFC 1035, 3596, 2782, 6891): header, questions and resource records.
 * Pure: bytes in, plain objects out and back. No I/O, no state.
 *
 * - Names are presentation text without the trailing dot, as received (case kept, so 0x20
 *   case randomisation survives the echo); the root is ''. Bytes other than letters, digits and
 *   printable punctuation are escaped as \DDD, and '.' or '\' inside a label as '\.' / '\\'.
 * - Decoding follows compression pointers (backwards only, bounded hops, 255-byte names) and
 *   checks every length against the buffer; anything malformed throws TsnetError TSNET_DNS.
 * - A, AAAA, PTR, CNAME, NS and SRV data are decoded; everything else (OPT included) is kept
 *   as raw bytes and written back unchanged, which is all EDNS passthrough needs.
 * - Encoding compresses owner names and PTR/CNAME/NS targets (not SRV targets, RFC 2782).
 */
import { TsnetError } from '../../errors/index.js';
import { formatIp, tryParseIp } from '../../lib/cidr.js';

export const TYPE = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  PTR: 12,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  SRV: 33,
  OPT: 41,
  ANY: 255,
} as const;

export const CLASS_IN = 1;

export const RCODE = {
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  REFUSED: 5,
} as const;

export const OPCODE_QUERY = 0;
export const HEADER_SIZE = 12;
/** Largest UDP answer without EDNS (RFC 1035 4.2.1). */
export const UDP_MIN_SIZE = 512;

export interface DnsFlags {
  qr: boolean;
  opcode: number;
  aa: boolean;
  tc: boolean;
  rd: boolean;
  ra: boolean;
  ad: boolean;
  cd: boolean;
  rcode: number;
}

export interface DnsQuestion {
  name: string;
  type: number;
  class: number;
}

export type RecordData =
  | { kind: 'A'; address: string }
  | { kind: 'AAAA'; address: string }
  | { kind: 'PTR' | 'CNAME' | 'NS'; target: string }
  | { kind: 'SRV'; priority: number; weight: number; port: number; target: string }
  | { kind: 'raw'; bytes: Uint8Array };

export interface DnsRecord {
  name: string;
  type: number;
  /** The class; for OPT the requestor's UDP payload size. */
  class: number;
  /** The TTL; for OPT the extended rcode, version and flags (RFC 6891 6.1.3). */
  ttl: number;
  data: RecordData;
}

export interface DnsMessage {
  id: number;
  flags: DnsFlags;
  questions: DnsQuestion[];
  answers: DnsRecord[];
  authorities: DnsRecord[];
  additionals: DnsRecord[];
}

function bad(what: string): TsnetError {
  return new TsnetError('TSNET_DNS', `malformed DNS message: ${what}`);
}

// ---------------------------------------------------------------------------------------------
// Header

export function decodeFlags(word: number): DnsFlags {
  return {
    qr: (word & 0x8000) !== 0,
    opcode: (word >> 11) & 0xf,
    aa: (word & 0x0400) !== 0,
    tc: (word & 0x0200) !== 0,
    rd: (word & 0x0100) !== 0,
    ra: (word & 0x0080) !== 0,
    ad: (word & 0x0020) !== 0,
    cd: (word & 0x0010) !== 0,
    rcode: word & 0xf,
  };
}

export function encodeFlags(f: DnsFlags): number {
  return (
    (f.qr ? 0x8000 : 0) |
    ((f.opcode & 0xf) << 11) |
    (f.aa ? 0x0400 : 0) |
    (f.tc ? 0x0200 : 0) |
    (f.rd ? 0x0100 : 0) |
    (f.ra ? 0x0080 : 0) |
    (f.ad ? 0x0020 : 0) |
    (f.cd ? 0x0010 : 0) |
    (f.rcode & 0xf)
  );
}

export const NO_FLAGS: DnsFlags = {
  qr: false,
  opcode: 0,
  aa: false,
  tc: false,
  rd: false,
  ra: false,
  ad: false,
  cd: false,
  rcode: 0,
};

export interface DnsHeader {
  id: number;
  flags: DnsFlags;
  qdcount: number;
  ancount: number;
  nscount: number;
  arcount: number;
}

/** Just the fixed 12-byte header; throws TSNET_DNS when the buffer is shorter. */
export function decodeHeader(buf: Uint8Array): DnsHeader {
  if (buf.length < HEADER_SIZE) throw bad(`${buf.length} bytes is shorter than the 12-byte header`);
  const v = view(buf);
  return {
    id: v.getUint16(0),
    flags: decodeFlags(v.getUint16(2)),
    qdcount: v.getUint16(4),
    ancount: v.getUint16(6),
    nscount: v.getUint16(8),
    arcount: v.getUint16(10),
  };
}

function view(buf: Uint8Array): DataView {
  return new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
}

// ---------------------------------------------------------------------------------------------
// Names

const MAX_NAME_WIRE = 255;
const MAX_LABEL = 63;
const MAX_POINTER_HOPS = 64;

function escapeLabel(buf: Uint8Array, start: number, len: number): string {
  let out = '';
  for (let i = start; i < start + len; i++) {
    const c = buf[i]!;
    if (c === 0x2e /* . */ || c === 0x5c /* \ */) out += `\\${String.fromCharCode(c)}`;
    else if (c > 0x20 && c < 0x7f) out += String.fromCharCode(c);
    else out += `\\${c.toString().padStart(3, '0')}`;
  }
  return out;
}

/** Read a possibly compressed name at `offset`; returns it and the offset just after it. */
export function readName(buf: Uint8Array, offset: number): { name: string; next: number } {
  const labels: string[] = [];
  let pos = offset;
  let next = -1;
  let wire = 1; // the final zero byte
  let hops = 0;
  for (;;) {
    if (pos >= buf.length) throw bad(`name at ${offset} runs past the end`);
    const len = buf[pos]!;
    if ((len & 0xc0) === 0xc0) {
      if (pos + 1 >= buf.length) throw bad(`compression pointer at ${pos} is cut short`);
      const target = ((len & 0x3f) << 8) | buf[pos + 1]!;
      if (target >= pos) throw bad(`compression pointer at ${pos} does not point backwards`);
      if (++hops > MAX_POINTER_HOPS) throw bad(`too many compression pointers in name at ${offset}`);
      if (next < 0) next = pos + 2;
      pos = target;
      continue;
    }
    if ((len & 0xc0) !== 0) throw bad(`unsupported label type 0x${len.toString(16)} at ${pos}`);
    if (len === 0) {
      if (next < 0) next = pos + 1;
      break;
    }
    if (pos + 1 + len > buf.length) throw bad(`label at ${pos} runs past the end`);
    wire += len + 1;
    if (wire > MAX_NAME_WIRE) throw bad(`name at ${offset} is longer than 255 bytes`);
    labels.push(escapeLabel(buf, pos + 1, len));
    pos += 1 + len;
  }
  return { name: labels.join('.'), next };
}

/** Split presentation text into raw labels (escapes resolved); '' and '.' are the root. */
export function nameToLabels(name: string): Uint8Array[] {
  const text = name.endsWith('.') && !name.endsWith('\\.') ? name.slice(0, -1) : name;
  if (text === '') return [];
  const labels: Uint8Array[] = [];
  let cur: number[] = [];
  let wire = 1;
  const finish = (): void => {
    if (cur.length === 0) throw new TsnetError('TSNET_DNS', `invalid DNS name "${name}": empty label`);
    if (cur.length > MAX_LABEL) throw new TsnetError('TSNET_DNS', `invalid DNS name "${name}": label longer than 63 bytes`);
    wire += cur.length + 1;
    labels.push(Uint8Array.from(cur));
    cur = [];
  };
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (ch === 0x2e) {
      finish();
      continue;
    }
    if (ch === 0x5c) {
      const digits = text.slice(i + 1, i + 4);
      if (/^[0-9]{3}$/.test(digits) && Number(digits) <= 255) {
        cur.push(Number(digits));
        i += 3;
      } else if (i + 1 < text.length) {
        cur.push(text.charCodeAt(i + 1) & 0xff);
        i += 1;
      } else {
        throw new TsnetError('TSNET_DNS', `invalid DNS name "${name}": dangling escape`);
      }
      continue;
    }
    if (ch > 0x7f) throw new TsnetError('TSNET_DNS', `invalid DNS name "${name}": non-ASCII character (use punycode)`);
    cur.push(ch);
  }
  finish();
  if (wire > MAX_NAME_WIRE) throw new TsnetError('TSNET_DNS', `invalid DNS name "${name}": longer than 255 bytes`);
  return labels;
}

/**
 * Canonical lookup key of a name: ASCII lower case, no trailing dot. Escapes are left as they
 * are (DNS comparison is ASCII case-insensitive only).
 */
export function normalizeName(name: string): string {
  let n = name.endsWith('.') && !name.endsWith('\\.') ? name.slice(0, -1) : name;
  n = n.replace(/[A-Z]+/g, (s) => s.toLowerCase());
  return n;
}

// ---------------------------------------------------------------------------------------------
// Decoding

export function decodeMessage(buf: Uint8Array): DnsMessage {
  const h = decodeHeader(buf);
  const v = view(buf);
  let pos = HEADER_SIZE;
  const need = (n: number, what: string): void => {
    if (pos + n > buf.length) throw bad(`${what} at ${pos} runs past the end`);
  };

  const questions: DnsQuestion[] = [];
  for (let i = 0; i < h.qdcount; i++) {
    const { name, next } = readName(buf, pos);
    pos = next;
    need(4, 'question');
    questions.push({ name, type: v.getUint16(pos), class: v.getUint16(pos + 2) });
    pos += 4;
  }

  const readRecords = (count: number): DnsRecord[] => {
    const out: DnsRecord[] = [];
    for (let i = 0; i < count; i++) {
      const { name, next } = readName(buf, pos);
      pos = next;
      need(10, 'record header');
      const type = v.getUint16(pos);
      const klass = v.getUint16(pos + 2);
      const ttl = v.getUint32(pos + 4);
      const rdlen = v.getUint16(pos + 8);
      pos += 10;
      need(rdlen, 'record data');
      const data = decodeRdata(buf, type, pos, rdlen);
      pos += rdlen;
      out.push({ name, type, class: klass, ttl, data });
    }
    return out;
  };

  const answers = readRecords(h.ancount);
  const authorities = readRecords(h.nscount);
  const additionals = readRecords(h.arcount);
  if (pos !== buf.length) throw bad(`${buf.length - pos} trailing bytes`);
  return { id: h.id, flags: h.flags, questions, answers, authorities, additionals };
}

function decodeRdata(buf: Uint8Array, type: number, start: number, len: number): RecordData {
  const end = start + len;
  const nameIn = (at: number): { name: string; next: number } => {
    // A name inside rdata may point anywhere before it, but must end inside the rdata.
    const r = readName(buf.subarray(0, end), at);
    return r;
  };
  switch (type) {
    case TYPE.A:
      if (len !== 4) throw bad(`A record with ${len} bytes of data`);
      return { kind: 'A', address: `${buf[start]}.${buf[start + 1]}.${buf[start + 2]}.${buf[start + 3]}` };
    case TYPE.AAAA: {
      if (len !== 16) throw bad(`AAAA record with ${len} bytes of data`);
      let value = 0n;
      for (let i = 0; i < 16; i++) value = (value << 8n) | BigInt(buf[start + i]!);
      return { kind: 'AAAA', address: formatIp(value, 6) };
    }
    case TYPE.PTR:
    case TYPE.CNAME:
    case TYPE.NS: {
      const { name, next } = nameIn(start);
      if (next !== end) throw bad(`name in record data does not fill it`);
      return { kind: type === TYPE.PTR ? 'PTR' : type === TYPE.CNAME ? 'CNAME' : 'NS', target: name };
    }
    case TYPE.SRV: {
      if (len < 7) throw bad(`SRV record with ${len} bytes of data`);
      const v = view(buf);
      const { name, next } = nameIn(start + 6);
      if (next !== end) throw bad(`SRV target does not fill the record data`);
      return {
        kind: 'SRV',
        priority: v.getUint16(start),
        weight: v.getUint16(start + 2),
        port: v.getUint16(start + 4),
        target: name,
      };
    }
    default:
      return { kind: 'raw', bytes: new Uint8Array(buf.subarray(start, end)) };
  }
}

// ---------------------------------------------------------------------------------------------
// Encoding

class Writer {
  buf: Buffer;
  pos = 0;
  /** Exact (case-kept) suffix → offset, for name compression; keeps echoed names' case. */
  private readonly names = new Map<string, number>();

  constructor(size = 512) {
    this.buf = Buffer.alloc(size);
  }

  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const grown = Buffer.alloc(size);
    this.buf.copy(grown, 0, 0, this.pos);
    this.buf = grown;
  }

  u8(n: number): void {
    this.ensure(1);
    this.buf.writeUInt8(n, this.pos);
    this.pos += 1;
  }

  u16(n: number): void {
    this.ensure(2);
    this.buf.writeUInt16BE(n, this.pos);
    this.pos += 2;
  }

  u32(n: number): void {
    this.ensure(4);
    this.buf.writeUInt32BE(n >>> 0, this.pos);
    this.pos += 4;
  }

  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  name(name: string, compress: boolean): void {
    const labels = nameToLabels(name);
    const keys = labels.map((_, i) => suffixKey(labels, i));
    for (let i = 0; i < labels.length; i++) {
      const key = keys[i]!;
      const seen = compress ? this.names.get(key) : undefined;
      if (seen !== undefined) {
        this.u16(0xc000 | seen);
        return;
      }
      if (this.pos < 0x4000) this.names.set(key, this.pos);
      const label = labels[i]!;
      this.u8(label.length);
      this.bytes(label);
    }
    this.u8(0);
  }

  result(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}

function suffixKey(labels: Uint8Array[], from: number): string {
  let key = '';
  for (let i = from; i < labels.length; i++) key += `${Buffer.from(labels[i]!).toString('latin1')}\u0000`;
  return key;
}

function addressBytes(address: string, family: 4 | 6, kind: string): Uint8Array {
  const ip = tryParseIp(address);
  if (!ip || ip.family !== family)
    throw new TsnetError('TSNET_DNS', `${kind} record needs an IPv${family} address, got "${address}"`);
  const n = family === 4 ? 4 : 16;
  const out = new Uint8Array(n);
  let v = ip.value;
  for (let i = n - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

function writeRecord(w: Writer, r: DnsRecord): void {
  w.name(r.name, true);
  w.u16(r.type);
  w.u16(r.class);
  w.u32(r.ttl);
  const lenAt = w.pos;
  w.u16(0);
  const d = r.data;
  switch (d.kind) {
    case 'A':
      w.bytes(addressBytes(d.address, 4, 'A'));
      break;
    case 'AAAA':
      w.bytes(addressBytes(d.address, 6, 'AAAA'));
      break;
    case 'PTR':
    case 'CNAME':
    case 'NS':
      w.name(d.target, true);
      break;
    case 'SRV':
      w.u16(d.priority);
      w.u16(d.weight);
      w.u16(d.port);
      w.name(d.target, false);
      break;
    case 'raw':
      w.bytes(d.bytes);
      break;
  }
  const len = w.pos - lenAt - 2;
  if (len > 0xffff) throw new TsnetError('TSNET_DNS', `record data of ${len} bytes is too long`);
  w.buf.writeUInt16BE(len, lenAt);
}

export function encodeMessage(msg: DnsMessage): Buffer {
  const w = new Writer();
  w.u16(msg.id);
  w.u16(encodeFlags(msg.flags));
  w.u16(msg.questions.length);
  w.u16(msg.answers.length);
  w.u16(msg.authorities.length);
  w.u16(msg.additionals.length);
  for (const q of msg.questions) {
    w.name(q.name, true);
    w.u16(q.type);
    w.u16(q.class);
  }
  for (const r of msg.answers) writeRecord(w, r);
  for (const r of msg.authorities) writeRecord(w, r);
  for (const r of msg.additionals) writeRecord(w, r);
  if (w.pos > 0xffff) throw new TsnetError('TSNET_DNS', `DNS message of ${w.pos} bytes is longer than 65535`);
  return w.result();
}

// ---------------------------------------------------------------------------------------------
// Helpers on messages

/** The OPT pseudo-record of a message, if any. */
export function findOpt(msg: DnsMessage): DnsRecord | undefined {
  return msg.additionals.find((r) => r.type === TYPE.OPT);
}

/** An OPT record advertising `udpSize`, version 0, no flags or options. */
export function optRecord(udpSize: number): DnsRecord {
  return { name: '', type: TYPE.OPT, class: udpSize, ttl: 0, data: { kind: 'raw', bytes: new Uint8Array(0) } };
}

/** A query message with one question (what a stub resolver sends). */
export function buildQuery(id: number, name: string, type: number, opts: { rd?: boolean; udpSize?: number } = {}): Buffer {
  return encodeMessage({
    id,
    flags: { ...NO_FLAGS, rd: opts.rd ?? true },
    questions: [{ name, type, class: CLASS_IN }],
    answers: [],
    authorities: [],
    additionals: opts.udpSize === undefined ? [] : [optRecord(opts.udpSize)],
  });
}

/** Human name of a query type, for logs ("A", "AAAA", "TYPE65"). */
export function typeName(type: number): string {
  for (const [k, v] of Object.entries(TYPE)) if (v === type) return k;
  return `TYPE${type}`;
}
