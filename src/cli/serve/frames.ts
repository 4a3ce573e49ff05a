/**
 * The CLI socket's wire format, shared by the launcher (src/cli/launcher/tsnet.c, which has its
 * own copy of these numbers) and the daemon's CLI host (host.ts). Every frame is
 *   u32 big-endian payload length | u8 type | payload
 * Client → daemon:
 *   'h' hello, first and once: u8 protocol version (PROTOCOL), u8 tty bits (1 stdin, 2 stdout, 4 stderr), u16 rows, u16 columns
 *       (of stdout; 0 when not a terminal), u32 argc, u32 envc, then NUL-terminated strings:
 *       cwd, argv[1..] (argc of them), environ (envc of them, "KEY=VALUE");
 *   'i' stdin bytes (an empty one: end of input);  'w' resize: u16 rows, u16 columns;
 *   's' a signal: u8 number.
 * Daemon → client:
 *   'f' fallback (only ever the first frame): run the command line with node instead;
 *   'o' / 'e' bytes for fd 1 / fd 2;  'r' u8 1 / 0: start / stop reading stdin;
 *   't' u8 1 / 0: terminal raw mode on / off (the client restores it at exit anyway);
 *   'k' u8 signal: the command did not handle it: die of it, as node would have;
 *   'x' u8 exit code, the last frame.
 * The bytes come from another process: every length is bounded, and anything malformed is a
 * FrameError (the host answers one line and closes).
 */

export const HEADER = 5;
/** The hello's first byte; a daemon that does not know it answers fallback (an old daemon, a new launcher). */
export const PROTOCOL = 1;
/** A hello frame: argv and environ together (a bigger command line runs with node). */
export const HELLO_MAX = 1 << 20;
/** Any other frame, both ways (stdin and output are cut into frames this big at most). */
export const DATA_MAX = 1 << 16;
export const ARGS_MAX = 65_536;
export const ENV_MAX = 65_536;

export const T = {
  hello: 0x68, // 'h'
  stdin: 0x69, // 'i'
  resize: 0x77, // 'w'
  signal: 0x73, // 's'
  fallback: 0x66, // 'f'
  stdout: 0x6f, // 'o'
  stderr: 0x65, // 'e'
  read: 0x72, // 'r'
  raw: 0x74, // 't'
  kill: 0x6b, // 'k'
  exit: 0x78, // 'x'
} as const;

export class FrameError extends Error {}

export interface Frame {
  type: number;
  payload: Buffer;
}

export function frame(type: number, payload: Buffer | Uint8Array = Buffer.alloc(0)): Buffer {
  const out = Buffer.allocUnsafe(HEADER + payload.length);
  out.writeUInt32BE(payload.length, 0);
  out[4] = type;
  out.set(payload, HEADER);
  return out;
}

export function byteFrame(type: number, value: number): Buffer {
  return frame(type, Buffer.of(value & 0xff));
}

/** Cuts a byte stream into frames; the first must be a hello, no later one may be. */
export class FrameReader {
  private buf: Buffer = Buffer.alloc(0);
  private first = true;

  /** The complete frames in `chunk` (and before it); throws FrameError on a malformed one. */
  push(chunk: Buffer): Frame[] {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const out: Frame[] = [];
    while (this.buf.length >= HEADER) {
      const len = this.buf.readUInt32BE(0);
      const type = this.buf[4]!;
      if (this.first !== (type === T.hello))
        throw new FrameError(this.first ? 'the first frame is not a hello' : 'a second hello');
      const max = type === T.hello ? HELLO_MAX : DATA_MAX;
      if (len > max) throw new FrameError(`a frame of ${len} bytes (at most ${max})`);
      if (this.buf.length < HEADER + len) break;
      this.first = false;
      out.push({ type, payload: this.buf.subarray(HEADER, HEADER + len) });
      this.buf = this.buf.subarray(HEADER + len);
    }
    return out;
  }
}

export interface Hello {
  version: number;
  tty: { stdin: boolean; stdout: boolean; stderr: boolean };
  rows: number;
  columns: number;
  cwd: string;
  argv: string[];
  env: NodeJS.ProcessEnv;
}

export function parseHello(p: Buffer): Hello {
  if (p.length < 1) throw new FrameError('an empty hello');
  const version = p[0]!;
  // another version's hello need not parse: the host answers fallback to it
  if (version !== PROTOCOL)
    return { version, tty: { stdin: false, stdout: false, stderr: false }, rows: 0, columns: 0, cwd: '/', argv: [], env: {} };
  if (p.length < 14) throw new FrameError('a hello shorter than its header');
  const bits = p[1]!;
  const rows = p.readUInt16BE(2);
  const columns = p.readUInt16BE(4);
  const argc = p.readUInt32BE(6);
  const envc = p.readUInt32BE(10);
  if (argc > ARGS_MAX || envc > ENV_MAX) throw new FrameError(`a hello with ${argc} arguments and ${envc} variables`);
  const strings: string[] = [];
  let at = 14;
  const want = 1 + argc + envc;
  while (strings.length < want) {
    const nul = p.indexOf(0, at);
    if (nul === -1) throw new FrameError(`a hello with ${strings.length} of its ${want} strings`);
    strings.push(p.toString('utf8', at, nul));
    at = nul + 1;
  }
  if (at !== p.length) throw new FrameError('a hello with bytes after its strings');
  const cwd = strings[0]!;
  if (!cwd.startsWith('/')) throw new FrameError('a hello whose directory is not absolute');
  const env: NodeJS.ProcessEnv = {};
  for (const kv of strings.slice(1 + argc)) {
    const eq = kv.indexOf('=');
    if (eq > 0 && !Object.hasOwn(env, kv.slice(0, eq))) env[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  return {
    version,
    tty: { stdin: (bits & 1) !== 0, stdout: (bits & 2) !== 0, stderr: (bits & 4) !== 0 },
    rows,
    columns,
    cwd,
    argv: strings.slice(1, 1 + argc),
    env,
  };
}

/** A hello as the launcher builds it (tests, and hostile variants of it). */
export function encodeHello(h: Hello): Buffer {
  const head = Buffer.alloc(14);
  head[0] = h.version;
  head[1] = (h.tty.stdin ? 1 : 0) | (h.tty.stdout ? 2 : 0) | (h.tty.stderr ? 4 : 0);
  head.writeUInt16BE(h.rows, 2);
  head.writeUInt16BE(h.columns, 4);
  const env = Object.entries(h.env).map(([k, v]) => `${k}=${v ?? ''}`);
  head.writeUInt32BE(h.argv.length, 6);
  head.writeUInt32BE(env.length, 10);
  const body = [h.cwd, ...h.argv, ...env].map((s) => `${s}\0`).join('');
  return frame(T.hello, Buffer.concat([head, Buffer.from(body)]));
}
