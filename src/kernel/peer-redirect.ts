/**
 * bpf(2) through koffi for the peer-redirect program (./peer-redirect-program.ts): a hash map
 * and the program reading it, per table. The program goes onto a link's ingress as a tc filter
 * (./netlink/tc.ts: clsact + cls_bpf, ~0.2 ms; a tcx link took 13–20 ms per attach and as much
 * per detach here: the kernel waits for an RCU grace period), which holds it: a filter and its
 * program outlive the daemon and die with their link. Plain values in (addresses, ifindexes, MACs), errno-carrying
 * TsnetErrors out; synchronous.
 */
import fs from 'node:fs';
import koffi from 'koffi';
import type { TsnetError } from '../errors/index.js';
import { bpfCaller, bpfFailure, bpfProgramLoader, bpfStructCaller } from './bpf-load.js';
import { PEER_KEY_SIZE, PEER_VALUE_SIZE, peerEntry, peerKey, peerRedirectProgram } from './peer-redirect-program.js';

const BPF_MAP_CREATE = 0;
const BPF_MAP_UPDATE_ELEM = 2;
const BPF_MAP_DELETE_ELEM = 3;
const BPF_MAP_TYPE_HASH = 1;
const BPF_F_NO_PREALLOC = 1;
const BPF_PROG_TYPE_SCHED_CLS = 3;

export interface PeerTable {
  /** Frames to `ip` (IPv4 or IPv6) with destination MAC `mac` go to the peer of link `ifindex`. */
  put(ip: string, ifindex: number, mac: string): void;
  /** No entry for `ip` any more (none: nothing to do). */
  remove(ip: string): void;
  /** The program's fd, for a filter (close() ends it; the filters made with it keep the program). */
  readonly program: number;
  readonly name: string;
  close(): void;
}

export interface PeerRedirect {
  /** A map of at most `maxEntries` addresses and a program reading it. */
  table(name: string, maxEntries: number): PeerTable;
}

/** The bindings only; `table()` fails (TSNET_KERNEL, with the errno) where the kernel cannot: no bpf(2), no rights. */
export function loadPeerRedirect(): PeerRedirect {
  const lib = koffi.load('libc.so.6');
  const call = bpfCaller(lib);
  const elem = bpfStructCaller(
    lib,
    koffi.struct({ map_fd: 'uint32_t', pad: 'uint32_t', key: 'const void *', value: 'const void *', flags: 'uint64_t' }),
  );
  const loadProgram = bpfProgramLoader(lib);

  return {
    table(name, maxEntries) {
      const create = Buffer.alloc(48); // map_type, key_size, value_size, max_entries, map_flags, …, map_name
      create.writeUInt32LE(BPF_MAP_TYPE_HASH, 0);
      create.writeUInt32LE(PEER_KEY_SIZE, 4);
      create.writeUInt32LE(PEER_VALUE_SIZE, 8);
      create.writeUInt32LE(maxEntries, 12);
      create.writeUInt32LE(BPF_F_NO_PREALLOC, 16);
      create.write(name.slice(0, 15), 28, 'latin1');
      const map = call(BPF_MAP_CREATE, create);
      if (map < 0) throw bpfFailure(`create bpf map ${name}`);
      let prog: number;
      try {
        prog = loadProgram(`load bpf program ${name}`, {
          type: BPF_PROG_TYPE_SCHED_CLS,
          insns: peerRedirectProgram(map),
          license: 'GPL',
          name,
        });
      } catch (err) {
        fs.closeSync(map);
        throw err;
      }
      const update = (cmd: number, key: Buffer, value: Buffer | null, what: string) => {
        const r = elem(cmd, { map_fd: map, pad: 0, key, value, flags: 0 });
        if (r < 0) throw bpfFailure(what);
      };
      return {
        program: prog,
        name,
        put(ip, ifindex, mac) {
          const e = peerEntry(ip, ifindex, mac);
          update(BPF_MAP_UPDATE_ELEM, e.key, e.value, `bpf map ${name}: put ${ip}`);
        },
        remove(ip) {
          try {
            update(BPF_MAP_DELETE_ELEM, peerKey(ip), null, `bpf map ${name}: remove ${ip}`);
          } catch (err) {
            if ((err as TsnetError).details?.errno !== 'ENOENT') throw err;
          }
        },
        close() {
          fs.closeSync(prog);
          fs.closeSync(map);
        },
      };
    },
  };
}

/** A link's index in the calling thread's network namespace (if_nametoindex); 0 when there is none. */
export function loadNameToIndex(): (name: string) => number {
  const lib = koffi.load('libc.so.6');
  const f = lib.func('unsigned int if_nametoindex(const char *name)') as (name: string) => number;
  return (name) => f(name);
}
