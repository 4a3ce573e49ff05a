/**
 * The daemon's CLI host: runs the command line a launcher (src/cli/launcher/tsnet.c) sends over
 * the CLI socket, with the CLI's own code (fast/run.ts) and a Context made of frames (frames.ts,
 * streams.ts), so a command costs no Node start-up. The command still talks to the daemon only
 * through the HTTP API, over the daemon's own API socket: this is wiring, not logic.
 *
 * What it does not run, it answers `fallback` to, before any output, and the launcher runs node:
 * a command line the fast path is not sure about (help, usage errors: the commander tree prints
 * those), and the commands that use the client's files in ways a daemon process cannot share
 * (cp runs tar in the client's directory, image import and load read a file, login/logout write the
 * credentials file). The daemon's listener (src/daemon/cli-socket.ts) has checked the peer.
 *
 * Sessions run side by side in one process: each has its own streams, environment, directory,
 * signal handlers and exit hooks; a throw ends the session, never the daemon; a client that goes
 * away ends its session (its API connections are closed, its stdin ends).
 */
import { constants } from 'node:os';
import type net from 'node:net';
import type { ApiClient } from '../api-client.js';
import { COMMANDS } from '../commands/index.js';
import type { ContextIo, SignalHandler } from '../context.js';
import { parseFast } from '../fast/argv.js';
import { runParsed } from '../fast/run.js';
import { FAST_COMMANDS } from '../fast/table.js';
import { reportFailure } from '../report.js';
import { byteFrame, frame, FrameError, FrameReader, type Hello, parseHello, PROTOCOL, T } from './frames.js';
import { RemoteInput, RemoteOutput, type Send } from './streams.js';

/** Command modules that run with node (see above). */
const NOT_SERVED = new Set(['cp', 'export', 'image-import', 'image-load', 'login', 'logout']);

/** A client that has not said hello by then is closed. */
const HELLO_TIMEOUT_MS = 10_000;

export interface HostOptions {
  /** The daemon's API socket path: every session's API client talks to it. */
  apiSocket: string;
  /** One line about a session that was closed for a protocol error. */
  warn(line: string): void;
  /** A session's start and end, and each fallback (the daemon's debug log). */
  debug(line: string): void;
}

export interface CliHost {
  serve(socket: net.Socket): void;
  /** Load the modules of the commands served (the daemon calls it once it is ready). */
  warm(): Promise<void>;
  /** Sessions running now, and served since the start (tests, bench). */
  stats(): { active: number; served: number; fallbacks: number };
}

const SIGNAL_NAMES = new Map<number, NodeJS.Signals>(
  Object.entries(constants.signals).map(([name, n]) => [n, name as NodeJS.Signals]),
);

export function createCliHost(opts: HostOptions): CliHost {
  let active = 0;
  let served = 0;
  let fallbacks = 0;

  function serve(socket: net.Socket): void {
    const reader = new FrameReader();
    let session: Session | undefined;
    let done = false;
    const timer = setTimeout(() => fail('no hello in time'), HELLO_TIMEOUT_MS);
    timer.unref();

    const fail = (reason: string): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      opts.warn(`cli socket: ${reason}: session closed`);
      session?.abort();
      if (!socket.destroyed) {
        socket.write(frame(T.stderr, Buffer.from(`tsnet: cli socket: ${reason}\n`)));
        socket.end(byteFrame(T.exit, 125));
      }
    };

    socket.on('error', () => {
      // a client gone mid-write: 'close' follows
    });
    socket.on('close', () => {
      clearTimeout(timer);
      done = true;
      session?.abort();
    });
    socket.on('data', (chunk: Buffer) => {
      if (done) return;
      try {
        for (const f of reader.push(chunk)) {
          if (f.type === T.hello) {
            clearTimeout(timer);
            session = start(socket, parseHello(f.payload));
            if (!session) done = true;
          } else if (session) session.frame(f.type, f.payload);
        }
      } catch (err) {
        fail(err instanceof FrameError ? err.message : `internal error: ${(err as Error).message}`);
      }
    });
  }

  /** Run the hello's command line, or answer fallback (then undefined). */
  function start(socket: net.Socket, hello: Hello): Session | undefined {
    const parsed = hello.version === PROTOCOL ? parseFast(hello.argv, FAST_COMMANDS) : undefined;
    // dates are formatted in the process's time zone: the client's TZ must be the daemon's
    const sameZone = (hello.env.TZ ?? '') === (process.env.TZ ?? '');
    if (!parsed || NOT_SERVED.has(parsed.module) || !sameZone) {
      fallbacks++;
      opts.debug(`cli session: fallback (${parsed ? (sameZone ? parsed.module : 'TZ') : 'not a fast-path command line'})`);
      socket.end(frame(T.fallback));
      return undefined;
    }
    const n = ++served;
    const s = new Session(socket, hello);
    active++;
    opts.debug(`cli session ${n} started: ${parsed.module}`);
    void s
      .run((io) => runParsed(parsed, io))
      .then((outcome) => opts.debug(`cli session ${n} ended: ${outcome}`))
      .finally(() => {
        active--;
      });
    return s;
  }

  class Session {
    private readonly stdin: RemoteInput;
    private readonly stdout: RemoteOutput;
    private readonly stderr: RemoteOutput;
    private readonly signals = new Map<NodeJS.Signals, Set<SignalHandler>>();
    private readonly exits = new Set<() => void>();
    private readonly clients: ApiClient[] = [];
    private aborted = false;
    private abortedBy = '';

    constructor(
      private readonly socket: net.Socket,
      private readonly hello: Hello,
    ) {
      let corked = false;
      const send: Send = (buf, cb) => {
        // a session whose client is gone drops its output (its command is being ended)
        if (this.aborted || socket.destroyed) {
          cb?.();
          return;
        }
        // the frames of one tick leave in one write (ctx.print per line, then the exit)
        if (!corked) {
          corked = true;
          socket.cork();
          process.nextTick(() => {
            corked = false;
            socket.uncork();
          });
        }
        socket.write(buf, cb === undefined ? undefined : () => cb());
      };
      const size = { rows: hello.rows, columns: hello.columns };
      this.stdin = new RemoteInput(send, hello.tty.stdin);
      this.stdout = new RemoteOutput(send, T.stdout, hello.tty.stdout, size);
      this.stderr = new RemoteOutput(send, T.stderr, hello.tty.stderr, size);
    }

    /** Resolves with how it ended: `exit N`, or `client gone`. */
    async run(command: (io: ContextIo) => Promise<number>): Promise<string> {
      const io: ContextIo = {
        stdin: this.stdin as unknown as NodeJS.ReadStream,
        stdout: this.stdout as unknown as NodeJS.WriteStream,
        stderr: this.stderr as unknown as NodeJS.WriteStream,
        env: this.hello.env,
        cwd: this.hello.cwd,
        host: `unix://${opts.apiSocket}`,
        onSignal: (signals, handler) => this.onSignal(signals, handler),
        onExit: (fn) => {
          this.exits.add(fn);
          return () => this.exits.delete(fn);
        },
        adoptClient: (client) => {
          client.trackConnections();
          this.clients.push(client);
        },
      };
      let code: number;
      try {
        code = await command(io);
      } catch (err) {
        code = reportFailure(err, io);
      }
      this.end();
      if (this.aborted || this.socket.destroyed) return this.abortedBy || 'client gone';
      this.socket.end(byteFrame(T.exit, code));
      return `exit ${code}`;
    }

    private onSignal(signals: readonly NodeJS.Signals[], handler: SignalHandler): () => void {
      for (const s of signals) {
        const set = this.signals.get(s) ?? new Set<SignalHandler>();
        this.signals.set(s, set);
        set.add(handler);
      }
      return () => {
        for (const s of signals) this.signals.get(s)?.delete(handler);
      };
    }

    frame(type: number, payload: Buffer): void {
      switch (type) {
        case T.stdin:
          this.stdin.received(payload);
          return;
        case T.resize:
          if (payload.length !== 4) throw new FrameError('a resize frame that is not 4 bytes');
          this.stdout.resized(payload.readUInt16BE(0), payload.readUInt16BE(2));
          this.stderr.resized(payload.readUInt16BE(0), payload.readUInt16BE(2));
          return;
        case T.signal: {
          if (payload.length !== 1) throw new FrameError('a signal frame that is not 1 byte');
          this.signal(payload[0]!);
          return;
        }
        default:
          throw new FrameError(`a frame of unknown type ${type}`);
      }
    }

    /** A signal the client got: to the command's handlers, else the command dies of it (as node would). */
    private signal(n: number): void {
      const name = SIGNAL_NAMES.get(n);
      const handlers = name === undefined ? undefined : this.signals.get(name);
      if (name && handlers && handlers.size > 0) {
        for (const h of [...handlers]) {
          try {
            h(name);
          } catch {
            // a handler's throw is the command's: it ends the session like any other
          }
        }
        return;
      }
      if (this.socket.destroyed) return;
      this.socket.end(byteFrame(T.kill, n));
      this.abort(`the client dies of ${name ?? `signal ${n}`}`);
    }

    /** The client is gone (or dies of a signal): end the command's connections and input. */
    abort(why = 'client gone'): void {
      if (this.aborted) return;
      this.aborted = true;
      this.abortedBy = why;
      this.stdin.received(Buffer.alloc(0));
      this.end();
    }

    private end(): void {
      for (const fn of [...this.exits]) {
        try {
          fn();
        } catch {
          // an exit hook's failure changes nothing for the others
        }
      }
      this.exits.clear();
      for (const c of this.clients) c.destroy();
    }
  }

  async function warm(): Promise<void> {
    const modules = new Set(Object.values(FAST_COMMANDS).map((c) => c.module));
    for (const m of modules) if (!NOT_SERVED.has(m)) await COMMANDS[m]?.();
  }

  return { serve, warm, stats: () => ({ active, served, fallbacks }) };
}
