/**
 * `docker exec`: an exec instance is created, then started; tsnet-init joins the container's
 * namespaces and cgroups and supervises the new process. Exec instances live in memory only.
 */
import fs from 'node:fs';
import type { Duplex } from 'node:stream';
import { TsnetError } from '../../errors/index.js';
import { readExitFile, writeSpec } from '../bundle.js';
import { newId } from '../ids.js';
import { copyStdin, detachKeysFor } from './detach-keys.js';
import { execStartExitCode } from './exec-exit-code.js';
import { connectSupervisor, type LaunchOptions, launch, supervisorCommand, waitForExit } from '../supervisor.js';
import type { ContainerManager } from './container-manager.js';
import { envOf, processEnv } from './env.js';
import { execBundle } from './paths.js';
import { deframer, framer } from './stream-form.js';
import type { Placement } from '../cgroups.js';
import { execSpec, type SecurityFiles } from './spec-builder.js';

const seccompFiles = (f: string | undefined): SecurityFiles => (f ? { seccomp: f } : {});

export interface ExecConfig {
  AttachStdin?: boolean;
  AttachStdout?: boolean;
  AttachStderr?: boolean;
  Tty?: boolean;
  Cmd?: string[];
  Env?: string[];
  User?: string;
  WorkingDir?: string;
  Privileged?: boolean;
  DetachKeys?: string;
}

export interface ExecInstance {
  id: string;
  containerId: string;
  config: ExecConfig;
  running: boolean;
  exitCode: number | null;
  pid: number;
  bundle: string;
  /** Shown in the container's ExecIDs (false for health probes, which Docker does not list). */
  listed: boolean;
}

export interface ExecDeps {
  containers: ContainerManager;
  execRoot: string;
  initPath: string;
  /** How tsnet-init is started (default: Node's spawn). */
  spawn?: LaunchOptions['spawn'];
  placement: (containerId: string) => Placement;
}

export class ExecManager {
  private readonly execs = new Map<string, ExecInstance>();

  constructor(private readonly deps: ExecDeps) {}

  create(containerRef: string, config: ExecConfig, opts: { listed?: boolean } = {}): ExecInstance {
    const rec = this.deps.containers.get(containerRef);
    if (!this.deps.containers.isRunning(rec)) {
      throw new TsnetError('TSNET_CONTAINER_NOT_RUNNING', `container ${rec.id} is not running: start it before exec`);
    }
    // dockerd refuses at create too: the docker CLI reads a failed start as exit code 0
    if (rec.state.Paused) throw new TsnetError('TSNET_CONTAINER_PAUSED', `container ${rec.id} is paused: unpause it before exec`);
    if (!config.Cmd || config.Cmd.length === 0 || !config.Cmd[0]) {
      throw new TsnetError('TSNET_INVALID_ARGUMENT', 'no exec command specified');
    }
    const id = newId();
    const inst: ExecInstance = {
      id,
      containerId: rec.id,
      config,
      running: false,
      exitCode: null,
      pid: 0,
      bundle: execBundle(this.deps.execRoot, id),
      listed: opts.listed ?? true,
    };
    this.execs.set(id, inst);
    this.deps.containers.announce(rec, `exec_create: ${config.Cmd.join(' ')}`, { execID: id });
    return inst;
  }

  get(id: string): ExecInstance {
    const inst = this.execs.get(id) ?? [...this.execs.values()].find((e) => e.id.startsWith(id) && id.length >= 12);
    if (!inst) throw new TsnetError('TSNET_EXEC_NOT_FOUND', `No such exec instance: ${id}`);
    return inst;
  }

  idsOf(containerId: string): string[] {
    return [...this.execs.values()].filter((e) => e.containerId === containerId && e.listed).map((e) => e.id);
  }

  /**
   * Start an exec; with `conn`, its streams are attached and the call resolves when it ends.
   * `sessionTty` is the start request's Tty: it picks the output form (stream-form.ts).
   */
  async start(id: string, conn?: Duplex, sessionTty?: boolean): Promise<void> {
    const inst = this.get(id);
    if (inst.running || inst.exitCode !== null) {
      throw new TsnetError('TSNET_CONTAINER_RUNNING', `exec ${id.slice(0, 12)} has already been started`);
    }
    const rec = this.deps.containers.get(inst.containerId);
    if (!this.deps.containers.isRunning(rec))
      throw new TsnetError('TSNET_CONTAINER_NOT_RUNNING', `container ${rec.id} is not running`);
    if (rec.state.Paused) throw new TsnetError('TSNET_CONTAINER_PAUSED', `container ${rec.id} is paused: unpause it before exec`);
    const c = inst.config;
    fs.rmSync(inst.bundle, { recursive: true, force: true });
    writeSpec(
      inst.bundle,
      execSpec({
        rec,
        targetPid: rec.state.Pid,
        argv: c.Cmd!,
        env: processEnv({ ...envOf(rec, this.deps.containers.network(rec).linkEnv), tty: c.Tty ?? false, execEnv: c.Env }),
        user: c.User || rec.config.User,
        cwd: c.WorkingDir || rec.config.WorkingDir,
        tty: c.Tty ?? false,
        stdin: c.AttachStdin ?? false,
        privileged: c.Privileged ?? false,
        placement: this.deps.placement(rec.id),
        files: seccompFiles(this.deps.containers.seccompFile(rec)),
      }),
    );
    inst.running = true;
    let detach = () => {};
    const detached = new Promise<void>((resolve) => {
      detach = resolve;
    });
    // The session's end waits for the launch's outcome: when the command cannot start, its
    // supervisor's stream ends too (the child is gone) and may come first under load; the caller
    // then writes the error on the session and ends it (the message was lost when the pipe had
    // ended the session already).
    let launchOk: (ok: boolean) => void = () => undefined;
    const launchSettled = new Promise<boolean>((resolve) => {
      launchOk = resolve;
    });
    let launched: Awaited<ReturnType<typeof launch>>;
    try {
      launched = await launch({
        initPath: this.deps.initPath,
        ...(this.deps.spawn ? { spawn: this.deps.spawn } : {}),
        mode: 'exec',
        bundleDir: inst.bundle,
        beforeGo: async () => {
          if (!conn) return;
          const flags = `${c.AttachStdin ? 'i' : ''}${c.AttachStdout !== false ? 'o' : ''}${c.AttachStderr !== false ? 'e' : ''}`;
          const sup = await connectSupervisor(inst.bundle, `attach ${flags}`);
          const tty = c.Tty ?? false;
          const form = sessionTty === undefined || sessionTty === tty ? undefined : tty ? framer() : deframer();
          const out = form ? sup.pipe(form) : sup;
          out.pipe(conn, { end: false });
          out.on('end', () => void launchSettled.then((ok) => ok && conn.end()));
          if (c.AttachStdin)
            copyStdin(conn, sup, detachKeysFor(c.Tty ?? false, c.DetachKeys), () => {
              sup.destroy();
              conn.end();
              detach();
            });
          else conn.resume();
          conn.on('close', () => sup.destroy());
          sup.on('error', () => conn.destroy());
          conn.on('error', () => sup.destroy());
        },
      });
      launchOk(true);
    } catch (err) {
      launchOk(false);
      inst.running = false;
      const code = (err as TsnetError).details?.exitCode;
      inst.exitCode = execStartExitCode((err as Error).message, typeof code === 'number' ? code : undefined);
      fs.rmSync(inst.bundle, { recursive: true, force: true });
      throw err;
    }
    inst.pid = launched.pid;
    this.deps.containers.announce(rec, `exec_start: ${c.Cmd!.join(' ')}`, { execID: inst.id });
    const finished = waitForExit(inst.bundle).then((code) => {
      inst.exitCode = code ?? readExitFile(inst.bundle)?.code ?? 137;
      inst.running = false;
      this.deps.containers.announce(rec, 'exec_die', { execID: inst.id, exitCode: String(inst.exitCode) });
      fs.rmSync(inst.bundle, { recursive: true, force: true });
    });
    // a session that detached (its detach keys) ends here; the process runs on
    if (conn) await Promise.race([finished, detached]);
  }

  async resize(id: string, rows: number, cols: number): Promise<void> {
    const inst = this.get(id);
    if (!inst.running) throw new TsnetError('TSNET_CONTAINER_NOT_RUNNING', `exec ${id.slice(0, 12)} is not running`);
    await supervisorCommand(inst.bundle, `resize ${rows} ${cols}`);
  }

  /** Forget one exec (a health probe: Docker does not list them in ExecIDs). */
  forget(id: string): void {
    this.execs.delete(id);
  }

  /** Forget finished execs of a removed container. */
  forgetContainer(containerId: string): void {
    for (const [id, e] of this.execs) if (e.containerId === containerId) this.execs.delete(id);
  }
}
