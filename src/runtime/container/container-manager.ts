/**
 * Container lifecycle: create, start, stop, kill, remove, wait, attach, resize, restore.
 * Validation happens before anything is made; each start step has an undo (DESIGN rule 1).
 * The process itself is supervised by tsnet-init, so containers outlive the daemon.
 */
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { TsnetError } from '../../errors/index.js';
import type { EventSink } from '../../events/types.js';
import { Rollback } from '../../errors/rollback.js';
import type { Logger } from '../../lib/logger.js';
import type { RecordStore } from '../../store/record-store.js';
import { rewriteInPlace } from '../../store/atomic-file.js';
import { readExitFile, writeSpec } from '../bundle.js';
import type { Cgroups } from '../cgroups.js';
import { setFrozen } from '../freezer.js';
import { cgroupPids } from './top.js';
import { deviceProgram } from '../devices/bpf-program.js';
import { DEFAULT_DEVICE_RULES, hostDevice } from '../devices/rules.js';
import { seccompFilter } from '../seccomp/index.js';
import { extraHostEntries, hostsFile, type HostEntry } from '../etc-files.js';
import { NAME_PATTERN, randomName } from '../ids.js';
import { connectSupervisor, isSupervisorOf, launch, processAlive, supervisorCommand, waitForExit } from '../supervisor.js';
import type { Failpoint } from '../../lib/failpoints.js';
import { KeyedMutex } from '../../lib/keyed-mutex.js';
import type {
  ContainerNetworkState,
  ContainerNetworking,
  EndpointSettingsRequest,
  SandboxRequest,
} from '../../network/container-api.js';
import { containerPaths, type ContainerPaths } from './paths.js';
import { parseSignal } from './signals.js';
import { buildRecord, parseBind, type CreateBody, type ImageInfo } from './create-request.js';
import { capabilities, deviceCgroupRules, deviceMappings, securitySettings } from './security-opts.js';
import { copyStdin, detachKeysFor } from './detach-keys.js';
import { limitsOf } from './resources.js';
import { runSpec, type SecurityFiles } from './spec-builder.js';
import type { ContainerRecord } from './types.js';

export interface ImageSource {
  resolve(ref: string): Promise<ImageInfo & { layers: string[] }>;
  layerDirs(image: ImageInfo & { layers: string[] }): string[];
}

export interface ContainerManagerDeps {
  root: string;
  execRoot: string;
  initPath: string;
  store: RecordStore<ContainerRecord>;
  images: ImageSource;
  cgroups: Cgroups;
  networking: ContainerNetworking;
  /** Container events (create, start, die, kill, stop, destroy, …): the daemon's event bus. */
  events?: EventSink;
  /** Test-only crash points (TSNET_FAILPOINTS). */
  failpoint?: Failpoint;
  logger: Logger;
}

export interface AttachStreams {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  /** The session's detach keys (Docker's format; default ctrl-p,ctrl-q): scanned with a tty only. */
  detachKeys?: string;
}

export type WaitCondition = 'not-running' | 'next-exit' | 'removed';

export class ContainerManager {
  private readonly records = new Map<string, ContainerRecord>();
  private readonly locks = new KeyedMutex();
  private readonly events = new EventEmitter();
  /** Attach streams waiting for the next start (docker run attaches before it starts). */
  private readonly pendingAttach = new Map<string, Array<{ conn: Duplex; streams: AttachStreams }>>();
  /** Compiled seccomp filters by profile + capability set (compiling costs a few ms). */
  private readonly seccompCache = new Map<string, Buffer>();

  constructor(private readonly deps: ContainerManagerDeps) {
    this.events.setMaxListeners(0);
  }

  // ---- lookup -------------------------------------------------------------------------------

  list(): ContainerRecord[] {
    return [...this.records.values()].sort((a, b) => b.created.localeCompare(a.created));
  }

  /** By full id, name (with or without a leading /), or unique id prefix, like Docker. */
  get(ref: string): ContainerRecord {
    const name = ref.replace(/^\//, '');
    const byId = this.records.get(name);
    if (byId) return byId;
    for (const r of this.records.values()) if (r.name === name) return r;
    const matches =
      name.length > 0 && /^[0-9a-f]+$/.test(name) ? [...this.records.values()].filter((r) => r.id.startsWith(name)) : [];
    if (matches.length === 1) return matches[0]!;
    if (matches.length > 1)
      throw new TsnetError('TSNET_CONTAINER_AMBIGUOUS', `multiple containers match "${ref}": use more characters of the id`);
    throw new TsnetError('TSNET_CONTAINER_NOT_FOUND', `No such container: ${ref}`);
  }

  find(ref: string): ContainerRecord | undefined {
    try {
      return this.get(ref);
    } catch {
      return undefined;
    }
  }

  paths(rec: ContainerRecord): ContainerPaths {
    return containerPaths(this.deps.root, this.deps.execRoot, rec.id);
  }

  isRunning(rec: ContainerRecord): boolean {
    return rec.state.Status === 'running';
  }

  /** Publish a container event as Docker does: labels, image and name as attributes. */
  announce(rec: ContainerRecord, action: string, extra: Record<string, string> = {}): void {
    this.deps.events?.publish('container', action, {
      ID: rec.id,
      Attributes: { ...rec.config.Labels, ...extra, image: rec.config.Image, name: rec.name },
    });
  }

  // ---- create -------------------------------------------------------------------------------

  async create(body: CreateBody, requestedName?: string): Promise<ContainerRecord> {
    if (!body.Image) throw new TsnetError('TSNET_INVALID_ARGUMENT', 'no image given: tsnet run IMAGE [COMMAND]');
    const image = await this.deps.images.resolve(body.Image);
    const name = requestedName ? requestedName.replace(/^\//, '') : randomName((n) => this.nameTaken(n));
    if (requestedName && this.nameTaken(name)) {
      const other = [...this.records.values()].find((r) => r.name === name)!;
      throw new TsnetError(
        'TSNET_CONTAINER_NAME_IN_USE',
        `the container name "/${name}" is already in use by container "${other.id}": remove or rename that container to reuse the name`,
      );
    }
    const rec = buildRecord(body, name, image);
    const plan = await this.deps.networking.plan(sandboxRequest(rec), (ref) => {
      const target = this.find(ref);
      return target ? { name: target.name, sandboxId: target.sandboxId } : undefined;
    });
    // Docker ignores published ports without a network of their own (host, none)
    const hc = rec.hostConfig;
    if (plan.ignoresPorts && (Object.values(hc.PortBindings ?? {}).some((b) => b?.length) || hc.PublishAllPorts))
      hc.PortBindings = {};
    rec.sandboxId = plan.sandboxId;

    const p = this.paths(rec);
    // visible by name from records.set on: start/rm/connect of it wait for this lock, so they
    // never meet a half-made container (or one whose create is being rolled back)
    await this.locks.run(rec.id, async () => {
      const rb = new Rollback();
      try {
        await rb.step(
          'make container dirs',
          () => {
            fs.mkdirSync(p.dir, { recursive: true, mode: 0o700 });
            // the upper dir's mode becomes the container root's mode: 0755 like any /
            for (const d of [p.upper, p.work, p.rootfs]) fs.mkdirSync(d, { recursive: true, mode: 0o755 });
            fs.writeFileSync(p.log, '', { mode: 0o640 });
          },
          () => fs.rmSync(p.dir, { recursive: true, force: true }),
        );
        // a parallel create may have taken the name while this one was being planned
        if (this.nameTaken(name)) {
          throw new TsnetError(
            'TSNET_CONTAINER_NAME_IN_USE',
            `the container name "/${name}" is already in use: remove or rename that container to reuse the name`,
          );
        }
        this.records.set(rec.id, rec);
        rb.push('forget record', () => this.records.delete(rec.id));
        await rb.step(
          'create network sandbox',
          () => this.deps.networking.createSandbox(plan),
          () => this.deps.networking.deleteSandbox(rec.sandboxId),
        );
        await rb.step(
          'join networks',
          () => this.deps.networking.join(rec.sandboxId, plan.endpoints),
          () => this.deps.networking.leave(rec.sandboxId),
        );
        this.deps.failpoint?.('container-create.after-network');
        await rb.step(
          'save record',
          () => this.deps.store.save(rec),
          () => this.deps.store.remove(rec.id),
        );
        rb.commit();
      } catch (err) {
        await rb.unwind();
        throw err;
      }
    });
    this.deps.logger.info(`created container ${rec.id.slice(0, 12)} (${rec.name})`);
    this.announce(rec, 'create');
    return rec;
  }

  private nameTaken(name: string): boolean {
    for (const r of this.records.values()) if (r.name === name) return true;
    return false;
  }

  // ---- start --------------------------------------------------------------------------------

  /** Returns false when the container was already running (HTTP 304). */
  async start(ref: string): Promise<boolean> {
    const rec = this.get(ref);
    return this.locks.run(rec.id, async () => {
      if (this.isRunning(rec)) return false;
      try {
        await this.startLocked(rec);
      } catch (err) {
        const e = err instanceof TsnetError ? err : new TsnetError('TSNET_START_FAILED', (err as Error).message, { cause: err });
        rec.state = {
          ...rec.state,
          Status: rec.state.Status === 'created' ? 'created' : 'exited',
          ExitCode: Number(e.details?.exitCode ?? 128),
          Error: e.message,
          Pid: 0,
          SupervisorPid: 0,
        };
        if (e.code === 'TSNET_COMMAND_NOT_FOUND') rec.state.ExitCode = 127;
        if (e.code === 'TSNET_COMMAND_NOT_EXECUTABLE') rec.state.ExitCode = 126;
        await this.deps.store.save(rec).catch(() => undefined);
        this.closePendingAttach(rec.id);
        this.events.emit(`exit:${rec.id}`, rec.state.ExitCode, e.message);
        // --rm: gone before the error reaches the client (we hold the container's lock here)
        if (rec.hostConfig.AutoRemove)
          await this.removeLocked(rec).catch((err: Error) =>
            this.deps.logger.warn(`auto-remove ${rec.id.slice(0, 12)}: ${err.message}`),
          );
        throw e;
      }
      return true;
    });
  }

  private async startLocked(rec: ContainerRecord): Promise<void> {
    const p = this.paths(rec);
    const image = await this.deps.images.resolve(rec.imageId);
    for (const b of rec.hostConfig.Binds ?? []) {
      const bind = parseBind(b);
      if (!fs.existsSync(bind.source)) fs.mkdirSync(bind.source, { recursive: true });
    }
    const hc = rec.hostConfig;
    const mappings = deviceMappings(hc);
    const deviceRules = hc.Privileged ? 'all' : [...DEFAULT_DEVICE_RULES, ...deviceCgroupRules(hc), ...mappings.map(hostDevice)];
    const seccomp = this.seccompFor(rec);
    const rb = new Rollback();
    try {
      const sandbox = await rb.step(
        'prepare network',
        () => this.deps.networking.programExternalConnectivity(rec.sandboxId),
        () => this.deps.networking.revokeExternalConnectivity(rec.sandboxId),
      );
      this.deps.failpoint?.('start.after-ports');
      const extra = this.extraHosts(rec);
      rewriteInPlace(
        p.hosts,
        sandbox.hostsText !== undefined
          ? sandbox.hostsText + extra.map((e) => `${e.ip}\t${e.names.join(' ')}\n`).join('')
          : hostsFile([...extra, ...sandbox.hosts]),
      );
      rewriteInPlace(p.hostname, `${sandbox.shareHostUts ? readHostname() : rec.config.Hostname}\n`);
      rewriteInPlace(p.resolvConf, sandbox.resolvConf);
      const placement = await rb.step(
        'create cgroups',
        () => this.deps.cgroups.create(rec.id, limitsOf(hc, 'start'), deviceRules),
        () => this.deps.cgroups.remove(rec.id),
      );
      fs.rmSync(p.bundle, { recursive: true, force: true });
      fs.mkdirSync(p.bundle, { recursive: true, mode: 0o700 });
      const files: SecurityFiles = {};
      if (seccomp) {
        files.seccomp = path.join(p.bundle, 'seccomp.bpf');
        fs.writeFileSync(files.seccomp, seccomp, { mode: 0o600 });
      }
      if (placement.devices === 'bpf' && deviceRules !== 'all') {
        files.devicesBpf = path.join(p.bundle, 'devices.bpf');
        fs.writeFileSync(files.devicesBpf, deviceProgram(deviceRules), { mode: 0o600 });
      }
      writeSpec(
        p.bundle,
        runSpec({
          rec,
          rootfs: p.rootfs,
          lowerDirs: this.deps.images.layerDirs(image),
          upperDir: p.upper,
          workDir: p.work,
          ...(sandbox.netnsPath ? { netnsPath: sandbox.netnsPath } : {}),
          shareHostUts: sandbox.shareHostUts,
          etcFiles: { hosts: p.hosts, hostname: p.hostname, resolvConf: p.resolvConf },
          placement,
          files,
          devices: mappings.map((m) => ({ host: m.PathOnHost, container: m.PathInContainer })),
          logPath: p.log,
        }),
      );
      rb.push('remove bundle', () => fs.rmSync(p.bundle, { recursive: true, force: true }));
      const launched = await launch({
        initPath: this.deps.initPath,
        mode: 'run',
        bundleDir: p.bundle,
        beforeGo: () => this.connectPendingAttach(rec),
      });
      this.deps.failpoint?.('start.after-launch');
      rb.commit();
      rec.state = {
        Status: 'running',
        Pid: launched.pid,
        SupervisorPid: launched.supervisorPid,
        ExitCode: 0,
        OOMKilled: false,
        Error: '',
        StartedAt: new Date().toISOString(),
        FinishedAt: rec.state.FinishedAt,
      };
      await this.deps.store.save(rec);
      this.deps.logger.info(`started container ${rec.id.slice(0, 12)} pid ${launched.pid}`);
      this.announce(rec, 'start');
      this.monitor(rec);
    } catch (err) {
      const failures = await rb.unwind();
      for (const f of failures) this.deps.logger.warn(`rollback of start ${rec.id.slice(0, 12)}: ${f.message}`);
      throw err;
    }
  }

  /** The container's compiled seccomp filter, or undefined when it runs unconfined. */
  private seccompFor(rec: ContainerRecord): Buffer | undefined {
    const hc = rec.hostConfig;
    const sec = securitySettings(hc);
    if (!sec.seccomp) return undefined;
    const caps = capabilities(hc.CapAdd ?? [], hc.CapDrop ?? [], hc.Privileged === true);
    const key = `${sec.seccomp === 'default' ? 'default' : JSON.stringify(sec.seccomp)}\0${caps.sort().join(',')}`;
    let filter = this.seccompCache.get(key);
    if (!filter) {
      filter = seccompFilter(sec.seccomp === 'default' ? undefined : sec.seccomp, caps);
      if (this.seccompCache.size >= 32) this.seccompCache.delete(this.seccompCache.keys().next().value!);
      this.seccompCache.set(key, filter);
    }
    return filter;
  }

  /** The seccomp filter file of a running container (exec processes get the same filter). */
  seccompFile(rec: ContainerRecord): string | undefined {
    const f = path.join(this.paths(rec).bundle, 'seccomp.bpf');
    return fs.existsSync(f) ? f : undefined;
  }

  /** Follow the supervisor until the container exits, then record it. */
  private monitor(rec: ContainerRecord): void {
    const p = this.paths(rec);
    const startedAt = rec.state.StartedAt;
    void waitForExit(p.bundle).then(async (code) => {
      // A restarted container gets a new monitor; ignore a stale one.
      if (rec.state.StartedAt !== startedAt || !this.records.has(rec.id)) return;
      await this.locks.run(rec.id, () => this.recordExit(rec, code));
    });
  }

  private async recordExit(rec: ContainerRecord, told?: number): Promise<void> {
    if (rec.state.Status !== 'running') return;
    const p = this.paths(rec);
    let exit = readExitFile(p.bundle);
    for (let i = 0; !exit && told === undefined && i < 20 && processAlive(rec.state.SupervisorPid); i++) {
      await new Promise((r) => setTimeout(r, 50));
      exit = readExitFile(p.bundle);
    }
    const code = exit?.code ?? told ?? 137;
    const oom = this.deps.cgroups.oomKilled(rec.id);
    rec.state = {
      ...rec.state,
      Status: 'exited',
      Paused: false,
      Pid: 0,
      SupervisorPid: 0,
      ExitCode: code,
      OOMKilled: oom,
      Error: exit || told !== undefined ? '' : 'the container supervisor died',
      FinishedAt: exit?.finished ?? new Date().toISOString(),
    };
    try {
      this.deps.cgroups.remove(rec.id);
    } catch (err) {
      this.deps.logger.warn((err as Error).message);
    }
    await this.deps.networking
      .revokeExternalConnectivity(rec.sandboxId)
      .catch((err: Error) => this.deps.logger.warn(`release network of ${rec.id.slice(0, 12)}: ${err.message}`));
    fs.rmSync(p.bundle, { recursive: true, force: true });
    await this.deps.store.save(rec).catch(() => undefined);
    this.deps.logger.info(`container ${rec.id.slice(0, 12)} exited with ${code}${oom ? ' (OOM killed)' : ''}`);
    if (oom) this.announce(rec, 'oom');
    const ran = Math.max(0, Math.round((Date.parse(rec.state.FinishedAt) - Date.parse(rec.state.StartedAt)) / 1000));
    this.announce(rec, 'die', { exitCode: String(code), execDuration: String(Number.isFinite(ran) ? ran : 0) });
    this.events.emit(`exit:${rec.id}`, code, rec.state.Error);
    if (rec.hostConfig.AutoRemove) void this.removeQuietly(rec);
  }

  // ---- stop / kill --------------------------------------------------------------------------

  /** Returns false when it was not running (HTTP 304). */
  async stop(ref: string, timeoutSeconds?: number): Promise<boolean> {
    const rec = this.get(ref);
    if (!this.isRunning(rec)) return false;
    const t = timeoutSeconds ?? rec.config.StopTimeout ?? 10;
    const exited = this.waitEvent(rec, 'next-exit');
    await this.signal(rec, parseSignal(rec.config.StopSignal, 15)).catch(() => undefined);
    const timedOut = await Promise.race([exited.then(() => false), sleep(Math.max(0, t) * 1000).then(() => true)]);
    if (timedOut && this.isRunning(rec)) {
      await this.signal(rec, 9).catch(() => undefined);
      await Promise.race([exited, sleep(10_000)]);
    }
    this.announce(rec, 'stop');
    return true;
  }

  async kill(ref: string, signal?: string): Promise<void> {
    const rec = this.get(ref);
    const sig = parseSignal(signal, 9);
    if (!this.isRunning(rec)) {
      throw new TsnetError('TSNET_CONTAINER_NOT_RUNNING', `container ${rec.id} is not running`);
    }
    if (sig !== 9) return this.signal(rec, sig);
    // Docker answers a SIGKILL only once the container is gone, so an immediate rm succeeds.
    const exited = this.waitEvent(rec, 'next-exit');
    await this.signal(rec, sig);
    await Promise.race([exited, sleep(10_000)]);
  }

  private async signal(rec: ContainerRecord, sig: number): Promise<void> {
    const p = this.paths(rec);
    // A frozen process cannot act on a signal: thaw first (stop, kill, rm -f of a paused container).
    if (rec.state.Paused) await this.setPaused(rec, false, false);
    try {
      const answer = await supervisorCommand(p.bundle, `signal ${sig}`);
      if (answer.startsWith('error')) throw new Error(answer);
      this.announce(rec, 'kill', { signal: String(sig) });
    } catch (err) {
      // The supervisor is gone but the process may not be: fall back to the pid.
      if (rec.state.Pid && processAlive(rec.state.Pid)) {
        process.kill(rec.state.Pid, sig);
        this.announce(rec, 'kill', { signal: String(sig) });
      } else
        throw new TsnetError(
          'TSNET_CONTAINER_NOT_RUNNING',
          `cannot signal container ${rec.id.slice(0, 12)}: ${(err as Error).message}`,
        );
    }
  }

  async restart(ref: string, timeoutSeconds?: number): Promise<void> {
    await this.stop(ref, timeoutSeconds);
    const rec = this.get(ref);
    rec.restartCount += 1;
    await this.start(rec.id);
    this.announce(rec, 'restart');
  }

  /** Docker's rename: the name must be free; events and DNS follow the new name. */
  async rename(ref: string, newName: string): Promise<void> {
    const rec = this.get(ref);
    const name = newName.replace(/^\//, '');
    if (!NAME_PATTERN.test(name))
      throw new TsnetError(
        'TSNET_INVALID_ARGUMENT',
        `invalid container name "${newName}": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`,
      );
    await this.locks.run(rec.id, async () => {
      if (name === rec.name) return;
      if (this.nameTaken(name)) {
        const other = [...this.records.values()].find((r) => r.name === name)!;
        throw new TsnetError(
          'TSNET_CONTAINER_NAME_IN_USE',
          `the container name "/${name}" is already in use by container "${other.id}": remove or rename that container to reuse the name`,
        );
      }
      const oldName = rec.name;
      rec.name = name;
      try {
        await this.deps.store.save(rec);
      } catch (err) {
        rec.name = oldName;
        throw err;
      }
      await this.deps.networking.rename(rec.sandboxId, name);
      this.announce(rec, 'rename', { oldName: `/${oldName}` });
    });
  }

  // ---- pause / unpause ----------------------------------------------------------------------

  async pause(ref: string): Promise<void> {
    const rec = this.get(ref);
    if (!this.isRunning(rec)) throw new TsnetError('TSNET_CONTAINER_NOT_RUNNING', `container ${rec.id} is not running`);
    if (rec.state.Paused) throw new TsnetError('TSNET_CONTAINER_PAUSED', `container ${rec.id} is already paused`);
    await this.locks.run(rec.id, () => this.setPaused(rec, true, true));
  }

  async unpause(ref: string): Promise<void> {
    const rec = this.get(ref);
    if (!this.isRunning(rec) || !rec.state.Paused)
      throw new TsnetError('TSNET_CONTAINER_NOT_PAUSED', `container ${rec.id} is not paused`);
    await this.locks.run(rec.id, () => this.setPaused(rec, false, true));
  }

  /** Every pid of a running container (its cgroup2 dir), or its PID 1 when there is none. */
  pids(rec: ContainerRecord): number[] {
    const pids = cgroupPids(this.deps.cgroups.accountingDir(rec.id));
    return pids.length ? pids : rec.state.Pid ? [rec.state.Pid] : [];
  }

  private async setPaused(rec: ContainerRecord, paused: boolean, announce: boolean): Promise<void> {
    await setFrozen(this.deps.cgroups.accountingDir(rec.id), paused, `container ${rec.id.slice(0, 12)}`);
    rec.state = { ...rec.state, Paused: paused };
    await this.deps.store.save(rec).catch(() => undefined);
    if (announce) this.announce(rec, paused ? 'pause' : 'unpause');
  }

  // ---- remove -------------------------------------------------------------------------------

  async remove(ref: string, opts: { force?: boolean } = {}): Promise<void> {
    const rec = this.get(ref);
    if (this.isRunning(rec)) {
      if (!opts.force) {
        throw new TsnetError(
          'TSNET_CONTAINER_RUNNING',
          `cannot remove container ${rec.name}: it is running (stop it first, or use rm -f)`,
        );
      }
      const exited = this.waitEvent(rec, 'next-exit');
      await this.signal(rec, 9).catch(() => undefined);
      await Promise.race([exited, sleep(10_000)]);
    }
    await this.locks.run(rec.id, () => this.removeLocked(rec));
  }

  private async removeQuietly(rec: ContainerRecord): Promise<void> {
    try {
      await this.locks.run(rec.id, () => this.removeLocked(rec));
    } catch (err) {
      this.deps.logger.warn(`auto-remove ${rec.id.slice(0, 12)}: ${(err as Error).message}`);
    }
  }

  private async removeLocked(rec: ContainerRecord): Promise<void> {
    if (!this.records.has(rec.id)) return;
    if (this.isRunning(rec)) {
      // Killed but the exit is not recorded yet (the monitor waits for the lock we hold).
      await this.recordExitNow(rec);
    }
    rec.state.Status = 'removing';
    // intent before effect: a daemon that dies during the removal finishes it at its next start
    await this.deps.store.save(rec);
    this.deps.failpoint?.('container-rm.after-mark');
    const p = this.paths(rec);
    const errors: string[] = [];
    await this.deps.networking.leave(rec.sandboxId).catch((err: Error) => errors.push(err.message));
    await this.deps.networking.deleteSandbox(rec.sandboxId).catch((err: Error) => errors.push(err.message));
    this.deps.failpoint?.('container-rm.after-network');
    try {
      this.deps.cgroups.remove(rec.id);
    } catch (err) {
      errors.push((err as Error).message);
    }
    fs.rmSync(p.bundle, { recursive: true, force: true });
    fs.rmSync(p.dir, { recursive: true, force: true });
    await this.deps.store.remove(rec.id);
    this.records.delete(rec.id);
    this.closePendingAttach(rec.id);
    if (errors.length) this.deps.logger.warn(`remove ${rec.id.slice(0, 12)}: ${errors.join('; ')}`);
    this.events.emit(`removed:${rec.id}`);
    this.deps.logger.info(`removed container ${rec.id.slice(0, 12)}`);
    this.announce(rec, 'destroy');
  }

  private async recordExitNow(rec: ContainerRecord): Promise<void> {
    for (
      let i = 0;
      i < 100 && processAlive(rec.state.SupervisorPid) && isSupervisorOf(rec.state.SupervisorPid, this.paths(rec).bundle);
      i++
    ) {
      await sleep(20);
    }
    await this.recordExit(rec);
  }

  // ---- wait ---------------------------------------------------------------------------------

  async wait(
    ref: string,
    condition: WaitCondition = 'not-running',
  ): Promise<{ StatusCode: number; Error?: { Message: string } }> {
    const rec = this.get(ref);
    if (condition === 'not-running' && !this.isRunning(rec)) return { StatusCode: rec.state.ExitCode };
    const result = await this.waitEvent(rec, condition);
    return result.error ? { StatusCode: result.code, Error: { Message: result.error } } : { StatusCode: result.code };
  }

  private waitEvent(rec: ContainerRecord, condition: WaitCondition): Promise<{ code: number; error?: string }> {
    return new Promise((resolve) => {
      if (condition === 'removed') {
        let code = rec.state.ExitCode;
        let error: string | undefined;
        const onExit = (c: number, e?: string) => {
          code = c;
          error = e || undefined;
        };
        this.events.on(`exit:${rec.id}`, onExit);
        this.events.once(`removed:${rec.id}`, () => {
          this.events.off(`exit:${rec.id}`, onExit);
          resolve(error ? { code, error } : { code });
        });
        return;
      }
      this.events.once(`exit:${rec.id}`, (code: number, error?: string) => resolve(error ? { code, error } : { code }));
    });
  }

  // ---- attach / resize ----------------------------------------------------------------------

  async attach(ref: string, conn: Duplex, streams: AttachStreams): Promise<void> {
    const rec = this.get(ref);
    this.announce(rec, 'attach');
    if (this.isRunning(rec)) {
      await this.pipeToSupervisor(rec, conn, streams);
      return;
    }
    const list = this.pendingAttach.get(rec.id) ?? [];
    list.push({ conn, streams });
    this.pendingAttach.set(rec.id, list);
    conn.on('close', () => {
      const l = this.pendingAttach.get(rec.id);
      if (l)
        this.pendingAttach.set(
          rec.id,
          l.filter((x) => x.conn !== conn),
        );
    });
  }

  private async connectPendingAttach(rec: ContainerRecord): Promise<void> {
    const list = this.pendingAttach.get(rec.id) ?? [];
    this.pendingAttach.delete(rec.id);
    for (const { conn, streams } of list) {
      if (conn.destroyed) continue;
      await this.pipeToSupervisor(rec, conn, streams);
    }
  }

  private closePendingAttach(id: string): void {
    for (const { conn } of this.pendingAttach.get(id) ?? []) conn.end();
    this.pendingAttach.delete(id);
  }

  private async pipeToSupervisor(rec: ContainerRecord, conn: Duplex, streams: AttachStreams): Promise<void> {
    const flags = `${streams.stdin ? 'i' : ''}${streams.stdout ? 'o' : ''}${streams.stderr ? 'e' : ''}`;
    const sup = await connectSupervisor(this.paths(rec).bundle, `attach ${flags}`);
    sup.pipe(conn);
    if (streams.stdin)
      copyStdin(conn, sup, detachKeysFor(rec.config.Tty, streams.detachKeys), () => {
        sup.destroy();
        conn.end();
        this.announce(rec, 'detach');
      });
    else conn.resume();
    conn.on('error', () => sup.destroy());
    sup.on('error', () => conn.destroy());
    conn.on('close', () => sup.destroy());
  }

  async resize(ref: string, rows: number, cols: number): Promise<void> {
    const rec = this.get(ref);
    if (!this.isRunning(rec))
      throw new TsnetError('TSNET_CONTAINER_NOT_RUNNING', `container ${rec.id.slice(0, 12)} is not running`);
    if (!(rows > 0 && cols > 0)) throw new TsnetError('TSNET_INVALID_ARGUMENT', 'resize needs h and w greater than 0');
    await supervisorCommand(this.paths(rec).bundle, `resize ${rows} ${cols}`);
  }

  // ---- restore ------------------------------------------------------------------------------

  /**
   * Live restore: load every record; containers whose supervisor still runs are adopted, the
   * others are marked exited with what their exit file says.
   */
  async restore(): Promise<void> {
    const loaded = await this.deps.store.loadAll();
    await this.migrate(loaded);
    for (const rec of loaded) {
      this.records.set(rec.id, rec);
      if (rec.state.Status === 'removing') {
        await this.removeQuietly(rec);
        continue;
      }
      if (rec.state.Status !== 'running') continue;
      const p = this.paths(rec);
      if (isSupervisorOf(rec.state.SupervisorPid, p.bundle) && fs.existsSync(`${p.bundle}/attach.sock`)) {
        this.deps.logger.info(`adopted running container ${rec.id.slice(0, 12)} (pid ${rec.state.Pid})`);
        this.monitor(rec);
      } else {
        await this.recordExit(rec);
      }
    }
  }

  /**
   * Records written before the network layer kept its own (they carry `network`, no sandboxId):
   * the network layer makes sandbox and endpoint records from that state, and the container record
   * keeps only the sandbox id. Container-mode joiners last: they point at their target's sandbox.
   */
  private async migrate(loaded: ContainerRecord[]): Promise<void> {
    type Legacy = ContainerRecord & { network?: ContainerNetworkState };
    const old = (loaded as Legacy[]).filter((r) => !r.sandboxId && r.network);
    old.sort((a, b) => Number(a.network!.mode === 'container') - Number(b.network!.mode === 'container'));
    for (const rec of old) {
      rec.sandboxId = await this.deps.networking.migrate(sandboxRequest(rec), rec.network!, rec.state.Status === 'running');
      delete rec.network;
      await this.deps.store.save(rec);
      this.deps.logger.info(
        `migrated the network state of container ${rec.id.slice(0, 12)} to sandbox ${rec.sandboxId.slice(0, 12)}`,
      );
    }
  }

  /**
   * Start-up, right after restore: the network layer drops sandboxes of no container (a create
   * the daemon did not live to commit) and learns which ones run.
   */
  async reconcileNetwork(): Promise<void> {
    await this.deps.networking.reconcile(this.list().map((r) => ({ sandboxId: r.sandboxId, running: this.isRunning(r) })));
  }

  /** Start-up, once the drivers are restored: running containers get their port reservations and resolvers back. */
  async adoptRunningNetworks(): Promise<void> {
    for (const r of this.list()) if (this.isRunning(r)) await this.deps.networking.adoptRunning(r.sandboxId);
  }

  /** Persist a record changed elsewhere in the runtime (container update). */
  async save(rec: ContainerRecord): Promise<void> {
    await this.deps.store.save(rec);
  }

  /** The container's live network state (from the network layer's records). */
  network(rec: ContainerRecord): ContainerNetworkState {
    return this.deps.networking.view(rec.sandboxId);
  }

  /** `network connect` under the container's lock; /etc/hosts follows. */
  async connect(id: string, networkRef: string, cfg: EndpointSettingsRequest | null): Promise<void> {
    await this.withLock(id, async () => {
      const rec = this.get(id);
      const entries = await this.deps.networking.connect(rec.sandboxId, networkRef, cfg);
      await this.refreshHosts(rec, entries);
    });
  }

  /** `network disconnect [-f]` under the container's lock; /etc/hosts follows. */
  async disconnect(id: string, networkRef: string, force: boolean): Promise<void> {
    await this.withLock(id, async () => {
      const rec = this.get(id);
      const entries = await this.deps.networking.disconnect(rec.sandboxId, networkRef, force);
      await this.refreshHosts(rec, entries);
    });
  }

  /**
   * Run fn under the container's lock (no start/stop/rm meanwhile); a container removed while
   * fn waited for the lock is not found.
   */
  withLock<T>(id: string, fn: () => Promise<T>): Promise<T> {
    return this.locks.run(id, async () => {
      if (!this.records.has(id)) throw new TsnetError('TSNET_CONTAINER_NOT_FOUND', `No such container: ${id.slice(0, 12)}`);
      return fn();
    });
  }

  /** Rewrite the /etc/hosts of a running or stopped container (network connect/disconnect). */
  async refreshHosts(rec: ContainerRecord, entries: Parameters<typeof hostsFile>[0]): Promise<void> {
    let extra: HostEntry[] = [];
    try {
      extra = this.extraHosts(rec);
    } catch (err) {
      // host-gateway with no gateway network left (disconnected): keep the others
      this.deps.logger.warn(`/etc/hosts of ${rec.name}: ${(err as Error).message}`);
      extra = extraHostEntries(
        (rec.hostConfig.ExtraHosts ?? []).filter((h) => !h.endsWith('host-gateway')),
        undefined,
      );
    }
    rewriteInPlace(this.paths(rec).hosts, hostsFile([...extra, ...entries]));
  }

  /** --add-host entries; host-gateway is the gateway of the container's gateway network. */
  private extraHosts(rec: ContainerRecord): HostEntry[] {
    const list = rec.hostConfig.ExtraHosts ?? [];
    if (list.length === 0) return [];
    const net = this.network(rec);
    const gateway = net.gatewayNetwork ? net.endpoints[net.gatewayNetwork]?.gateway : undefined;
    try {
      return extraHostEntries(list, gateway);
    } catch (err) {
      throw new TsnetError('TSNET_INVALID_ARGUMENT', (err as Error).message);
    }
  }

  get bundleIds(): Set<string> {
    return new Set([...this.records.keys()].map((id) => id.slice(0, 16)));
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function readHostname(): string {
  try {
    return fs.readFileSync('/proc/sys/kernel/hostname', 'utf8').trim();
  } catch {
    return 'localhost';
  }
}

/** What the network layer is asked for a container (its create request). */
function sandboxRequest(rec: ContainerRecord): SandboxRequest {
  const hc = rec.hostConfig;
  return {
    containerId: rec.id,
    containerName: rec.name,
    hostname: rec.config.Hostname,
    ...(hc.NetworkMode ? { networkMode: hc.NetworkMode } : {}),
    endpointsConfig: rec.networkingConfig.EndpointsConfig ?? {},
    ...(hc.PortBindings ? { portBindings: hc.PortBindings } : {}),
    ...(hc.PublishAllPorts ? { publishAll: true } : {}),
    ...(rec.config.ExposedPorts ? { exposedPorts: rec.config.ExposedPorts } : {}),
    ...(hc.Dns?.length ? { dns: hc.Dns } : {}),
    ...(hc.DnsSearch?.length ? { dnsSearch: hc.DnsSearch } : {}),
    ...(hc.DnsOptions?.length ? { dnsOptions: hc.DnsOptions } : {}),
  };
}
