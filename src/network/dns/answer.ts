/**
 * Building the resolver's own replies: local answers, NODATA, and error replies (FORMERR,
 * SERVFAIL, NOTIMP), truncated with the TC bit when they do not fit the client's UDP size.
 * Pure.
 */
import {
  encodeMessage,
  findOpt,
  HEADER_SIZE,
  NO_FLAGS,
  optRecord,
  UDP_MIN_SIZE,
  type DnsFlags,
  type DnsMessage,
  type DnsRecord,
} from './message.js';

/** The UDP payload size the resolver itself advertises in EDNS replies. */
export const OWN_UDP_SIZE = 1232;
/** Upper bound for a UDP reply whatever the client advertises. */
export const MAX_UDP_SIZE = 4096;
export const MAX_TCP_SIZE = 0xffff;

/** Largest UDP reply this query allows: 512, or its EDNS size (capped at 4096). */
export function udpLimit(query: DnsMessage): number {
  const opt = findOpt(query);
  if (!opt) return UDP_MIN_SIZE;
  return Math.min(Math.max(opt.class, UDP_MIN_SIZE), MAX_UDP_SIZE);
}

function replyFlags(query: { flags: DnsFlags }, rcode: number, aa: boolean): DnsFlags {
  return {
    ...NO_FLAGS,
    qr: true,
    opcode: query.flags.opcode,
    aa,
    rd: query.flags.rd,
    ra: true,
    cd: query.flags.cd,
    rcode,
  };
}

/**
 * A reply to `query` with `rcode` and `answers`, echoing its question (case kept) and adding an
 * OPT record when the query had one. When it exceeds `maxSize` bytes, trailing answers are
 * dropped until it fits and TC is set, so the client retries over TCP.
 */
export function buildReply(
  query: DnsMessage,
  rcode: number,
  answers: DnsRecord[],
  opts: { maxSize: number; authoritative?: boolean },
): Buffer {
  const msg: DnsMessage = {
    id: query.id,
    flags: replyFlags(query, rcode, opts.authoritative ?? false),
    questions: query.questions,
    answers,
    authorities: [],
    additionals: findOpt(query) ? [optRecord(OWN_UDP_SIZE)] : [],
  };
  const full = encodeMessage(msg);
  if (full.length <= opts.maxSize) return full;

  // Binary search the largest answer prefix that fits.
  let lo = 0;
  let hi = answers.length - 1;
  let best: Buffer | undefined;
  const tc = { ...msg.flags, tc: true };
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const b = encodeMessage({ ...msg, flags: tc, answers: answers.slice(0, mid) });
    if (b.length <= opts.maxSize) {
      best = b;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  if (best) return best;
  // Not even the question fits (impossible for real limits): header only, TC set.
  return encodeMessage({ ...msg, flags: tc, questions: [], answers: [], additionals: [] });
}

/**
 * An error reply built from whatever could be read: the id, the opcode and RD of the raw
 * query, and its questions when they decoded.
 */
export function errorReply(
  raw: Uint8Array,
  rcode: number,
  questions: DnsMessage['questions'] = [],
  hadOpt = false,
): Buffer | undefined {
  if (raw.length < HEADER_SIZE) return undefined;
  const id = (raw[0]! << 8) | raw[1]!;
  const word = (raw[2]! << 8) | raw[3]!;
  const query = {
    flags: { ...NO_FLAGS, opcode: (word >> 11) & 0xf, rd: (word & 0x0100) !== 0, cd: (word & 0x0010) !== 0 },
  };
  return encodeMessage({
    id,
    flags: replyFlags(query, rcode, false),
    questions,
    answers: [],
    authorities: [],
    additionals: hadOpt ? [optRecord(OWN_UDP_SIZE)] : [],
  });
}
