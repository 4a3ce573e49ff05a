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
import { Rollback, timed, timingLine } from '../../errors/rollback.js';
import type { Logger } from '../../lib/logger.js';
import type { RecordStore } from '../../store/record-store.js';
import type { FileThread } from '../../store/file-thread.js';
import { rewriteInPlace } from '../../store/atomic-file.js';
import { readExitFile, readRunningState, writeRunningState, writeSpec } from '../bundle.js';
import type { Cgroups } from '../cgroups.js';
import { setFrozen } from '../freezer.js';
import { cgroupPids } from './top.js';
import { deviceProgram } from '../devices/bpf-program.js';
import { DEFAULT_DEVICE_RULES, hostDevice } from '../devices/rules.js';
import { seccompFilter } from '../seccomp/index.js';
import { extraHostEntries, hostsFile, type HostEntry } from '../etc-files.js';
import { NAME_PATTERN, randomName } from '../ids.js';
import {
  connectSupervisor,
  isSupervisorOf,
  killBundleSupervisor,
  killSupervisor,
  type LaunchOptions,
  type PendingInit,
  processAlive,
  spawnInit,
  supervisorCommand,
  waitForExit,
  waitGone,
} from '../supervisor.js';
import { fingerprint, type Prelaunched, Prelaunches, prelaunchable } from './prelaunch.js';
import type { Failpoint } from '../../lib/failpoints.js';
import { KeyedMutex } from '../../lib/keyed-mutex.js';
import type {
  ContainerNetworkState,
  ContainerNetworking,
  EndpointSettingsRequest,
  SandboxPlan,
  SandboxRequest,
} from '../../network/container-api.js';
import { containerDirOps, runFileOps } from './container-dirs.js';
import type { ContainerDirPool } from './dir-pool.js';
import { containerPaths, TRASH_DIR, type ContainerPaths } from './paths.js';
import { Trash } from '../trash.js';
import { FilterFiles } from '../filter-files.js';
import { parseSignal } from './signals.js';
import { buildRecord, type CreateBody, type ImageInfo } from './create-request.js';
import { envOf, processEnv } from './env.js';
import type { ContainerMounts } from '../volumes/container-mounts.js';
import { capabilities, deviceCgroupRules, deviceMappings, securitySettings } from './security-opts.js';
import { copyStdin, detachKeysFor } from './detach-keys.js';
import { limitsOf } from './resources.js';
import { checkResources, hostResources } from './update.js';
import type { Host } from './resources.js';
import { runSpec, type SecurityFiles } from './spec-builder.js';
import type { ContainerRecord } from './types.js';
import { RestartScheduler } from '../restart/scheduler.js';
import { startAtDaemonStart, shouldRestart } from '../restart/policy.js';
import { withVolumesFrom } from '../volumes/volumes-from.js';

export interface ImageSource {
  resolve(ref: string): Promise<ImageInfo & { layers: string[] }>;
  layerDirs(image: ImageInfo & { layers: string[] }): string[];
}

export interface ContainerManagerDeps {
  root: string;
  execRoot: string;
  initPath: string;
  /** How tsnet-init is started (default: Node's spawn). */
  spawn?: LaunchOptions['spawn'];
  store: RecordStore<ContainerRecord>;
  images: ImageSource;
  cgroups: Cgroups;
  networking: ContainerNetworking;
  /** Container events (create, start, die, kill, stop, destroy, …): the daemon's event bus. */
  events?: EventSink;
  /** Test-only crash points (TSNET_FAILPOINTS). */
  failpoint?: Failpoint;
  /**
   * Where a create's dirs and its record's temp file are written (`durable`: after each other,
   * fsync included) while the network is made, and the thread the network layer writes its
   * records behind on (`behind`: its queue is waited for before the commit). Absent:
   * synchronously, as the record's fsync overlapped.
   */
  files?: { durable: FileThread; behind: FileThread };
  /** Volumes and mounts (absent: binds and tmpfs only, no volumes). */
  mounts?: ContainerMounts;
  /** Container dirs made ahead (absent: each create makes its own). */
  dirPool?: ContainerDirPool;
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

/** Told when a container starts and when its exit has been recorded (health monitors, volumes). */
export interface LifecycleListener {
  started?(rec: ContainerRecord): void;
  exited?(rec: ContainerRecord): void;
  removed?(rec: ContainerRecord): void;
}

const NEVER = '0001-01-01T00:00:00Z';

export class ContainerManager {
  private readonly records = new Map<string, ContainerRecord>();
  private readonly locks = new KeyedMutex();
  private readonly events = new EventEmitter();
  /** Attach streams waiting for the next start (docker run attaches before it starts). */
  private readonly pendingAttach = new Map<string, Array<{ conn: Duplex; streams: AttachStreams }>>();
  /** Compiled seccomp filters by profile + capability set (compiling costs a few ms). */
  private readonly seccompCache = new Map<string, Buffer>();
  /** Device programs by their allow-list. */
  private readonly deviceCache = new Map<string, Buffer>();
  /** The filter files tsnet-init reads, shared by the containers (`<exec-root>/filters`). */
  private readonly filters: FilterFiles;
  /** Restarts by policy (timers with Docker's back-off). */
  private readonly restarts: RestartScheduler;
  private readonly listeners: LifecycleListener[] = [];
  /** Containers whose exit was found at restore (they died while the daemon was down). */
  private readonly diedWhileDown = new Set<string>();
  /** Removed container dirs (`<root>/trash`) and exited containers' bundles (`<exec-root>/trash`). */
  private readonly trash: { root: Trash; exec: Trash };
  /** tsnet-inits spawned at create for a start that follows (`run --rm`: decision 42). */
  private readonly prelaunches: Prelaunches;
  /**
   * This host's CPUs and memory nodes, read at the first create (/proc/cpuinfo, /proc/stat and
   * sysfs: ~15 syscalls a create spent on them), as Docker's daemon reads its CPU count once.
   */
  private host: Host | undefined;

  constructor(private readonly deps: ContainerManagerDeps) {
    this.events.setMaxListeners(0);
    const warn = (m: string) => deps.logger.warn(m);
    this.prelaunches = new Prelaunches((id, fn) => this.locks.run(id, fn), warn);
    this.filters = new FilterFiles(path.join(deps.execRoot, 'filters'));
    this.trash = {
      root: new Trash(path.join(deps.root, TRASH_DIR), warn, deps.failpoint),
      exec: new Trash(path.join(deps.execRoot, TRASH_DIR), warn, deps.failpoint),
    };
    this.restarts = new RestartScheduler({ restart: (id) => this.policyRestart(id) });
  }

  /** Register a listener (health monitors); called once while the daemon is built. */
  watch(l: LifecycleListener): void {
    this.listeners.push(l);
  }

  private tell(what: keyof LifecycleListener, rec: ContainerRecord): void {
    for (const l of this.listeners) {
      try {
        l[what]?.(rec);
      } catch (err) {
        this.deps.logger.warn(`${what} listener of ${rec.id.slice(0, 12)}: ${(err as Error).message}`);
      }
    }
  }

  // ---- lookup -------------------------------------------------------------------------------

  list(): ContainerRecord[] {
    // newest first; ISO timestamps compare as plain strings (localeCompare costs ~5× more, and
    // list() runs on every DNS query and network inspect)
    return [...this.records.values()].sort((a, b) => (a.created < b.created ? 1 : a.created > b.created ? -1 : 0));
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
    this.host ??= hostResources();
    checkResources(body.HostConfig ?? {}, this.host);
    const rec = buildRecord(body, name, image);
    rec.mounts = withVolumesFrom(rec.mounts ?? [], rec.hostConfig.VolumesFrom as string[] | undefined, (ref) => this.get(ref));
    const plan = await this.deps.networking.plan(sandboxRequest(rec), this.containerLookup);
    // Docker ignores published ports without a network of their own (host, none)
    const hc = rec.hostConfig;
    if (plan.ignoresPorts && (Object.values(hc.PortBindings ?? {}).some((b) => b?.length) || hc.PublishAllPorts))
      hc.PortBindings = {};
    rec.sandboxId = plan.sandboxId;

    // visible by name from records.set on: start/rm/connect of it wait for this lock, so they
    // never meet a half-made container (or one whose create is being rolled back)
    await this.locks.run(rec.id, () => this.createLocked(rec, plan, name));
    this.deps.logger.info(`created container ${rec.id.slice(0, 12)} (${rec.name})`);
    this.announce(rec, 'create');
    return rec;
  }

  /** The create's part under the container's lock: its dirs, record and network, then the commit. */
  private async createLocked(rec: ContainerRecord, plan: SandboxPlan, name: string): Promise<void> {
    const p = this.paths(rec);
    const rb = new Rollback();
    try {
      // made on the file thread while the network is made, awaited before the prelaunch and the
      // commit (decision 44): the create's thread waits on no directory creation (dirs made
      // ahead: one rename, decision 62)
      const dirs = placeContainerDirs(p, this.deps.files?.durable, this.deps.dirPool?.take());
      dirs.catch(() => undefined); // handled where it is awaited
      const removeDirs = () => fs.rmSync(p.dir, { recursive: true, force: true });
      rb.push('remove container dirs', () => dirs.then(removeDirs, removeDirs));
      // a parallel create may have taken the name while this one was being planned
      if (this.nameTaken(name)) {
        throw new TsnetError(
          'TSNET_CONTAINER_NAME_IN_USE',
          `the container name "/${name}" is already in use: remove or rename that container to reuse the name`,
        );
      }
      if (this.deps.mounts && rec.mounts?.length) {
        const made = await this.deps.mounts.realize(rec.mounts);
        rec.mounts = made.mounts;
        rb.push('remove volumes made for the container', made.undo);
      } else if (this.deps.mounts) rec.mounts = [];
      this.records.set(rec.id, rec);
      rb.push('forget record', () => this.records.delete(rec.id));
      // The record's temp file is written and fsynced while the network is made (on the file
      // thread, after the dirs: decision 44); renamed into place (the commit) after it, without
      // a directory fsync, as dockerd writes a container's config (decision 36): a crash before
      // the rename leaves a temp file, which loading removes.
      const prepared = this.deps.store.prepare(rec, this.deps.files ? { thread: this.deps.files.durable } : {});
      prepared.catch(() => undefined); // handled where it is awaited (a failure meanwhile is no crash)
      rb.push('drop the prepared record', () => prepared.then((w) => w.abort()).catch(() => undefined));
      let pre: Promise<Prelaunched | undefined> | undefined;
      await this.makeNetwork(plan, rb, () => {
        if (!prelaunchable(rec)) return;
        // tsnet-init sets the container up on another CPU while the endpoints are made (in its dirs)
        pre = dirs.then(
          () => this.prelaunch(rec),
          () => undefined,
        );
        rb.push('give up the prelaunch', async () => (await pre)?.discard());
      });
      this.deps.failpoint?.('container-create.after-network');
      await timed('container dirs (wait)', () => dirs);
      // the network's records and address records, written behind on their file thread (its
      // queue is in order): in place before the commit, so that a kill -9 after the answer finds
      // them (decision 48: waited for without a message of its own)
      await timed('records behind (wait)', () => this.deps.files?.behind.drained());
      // tsnet-init may still be spawning (on a pool thread): the start (or whatever else takes
      // the prelaunch) waits for it, not the create's answer
      await rb.step(
        'save record',
        async () => (await prepared).commit({ syncDir: false }),
        () => this.deps.store.remove(rec.id),
      );
      rb.commit();
      if (pre) this.prelaunches.add(rec.id, pre);
    } catch (err) {
      // what the create gave the file thread lands before the undo removes it
      await Promise.all([this.deps.files?.durable.drained(), this.deps.files?.behind.drained()]);
      await rb.unwind();
      throw err;
    } finally {
      this.deps.dirPool?.refillSoon();
    }
  }

  /** The sandbox and its endpoints of a plan, with their undo on `rb` (`madeSandbox`: between the two). */
  private async makeNetwork(plan: SandboxPlan, rb: Rollback, madeSandbox?: () => void): Promise<void> {
    await rb.step(
      'create network sandbox',
      () => this.deps.networking.createSandbox(plan),
      () => this.deps.networking.deleteSandbox(plan.sandboxId),
    );
    madeSandbox?.();
    await rb.step(
      'join networks',
      () => this.deps.networking.join(plan.sandboxId, plan.endpoints),
      () => this.deps.networking.leave(plan.sandboxId),
    );
  }

  /**
   * A container whose network records a power loss took right after its create (they are written
   * without fsync there, decision 36; the container record is the durable copy): its sandbox and
   * endpoints are made again from its request, under a new sandbox id, as Docker makes a
   * container's sandbox at each start.
   */
  private async remakeNetwork(rec: ContainerRecord): Promise<void> {
    const plan = await this.deps.networking.plan(sandboxRequest(rec), this.containerLookup);
    const rb = new Rollback();
    const before = rec.sandboxId;
    try {
      await this.makeNetwork(plan, rb);
      rec.sandboxId = plan.sandboxId;
      await this.deps.store.save(rec);
      rb.commit();
    } catch (err) {
      rec.sandboxId = before;
      await rb.unwind();
      throw err;
    }
    this.deps.logger.warn(
      `container ${rec.id.slice(0, 12)} had no network records (lost to a power loss right after its create?): made again from its request`,
    );
  }

  private nameTaken(name: string): boolean {
    for (const r of this.records.values()) if (r.name === name) return true;
    return false;
  }

  // ---- start --------------------------------------------------------------------------------

  /** Returns false when the container was already running (HTTP 304). */
  async start(ref: string): Promise<boolean> {
    const rec = this.get(ref);
    // withLock: a container an rm removed while this waited for the lock is not started (its
    // record would be written again, for a container whose dir is gone)
    return this.withLock(
      rec.id,
      async () => {
        if (this.isRunning(rec)) return false;
        // a start through the API: the policy begins again (retry count, back-off), and
        // RestartCount counts from 0 again, as dockerd's (restart goes through here too)
        this.restarts.reset(rec.id);
        rec.restartCount = 0;
        try {
          await this.startLocked(rec);
        } catch (err) {
          const e =
            err instanceof TsnetError ? err : new TsnetError('TSNET_START_FAILED', (err as Error).message, { cause: err });
          rec.state = {
            ...rec.state,
            Status: rec.state.Status === 'created' ? 'created' : 'exited',
            ExitCode: Number(e.details?.exitCode ?? 128),
            Error: e.message,
            Pid: 0,
            SupervisorPid: 0,
            Restarting: false,
          };
          if (e.code === 'TSNET_COMMAND_NOT_FOUND') rec.state.ExitCode = 127;
          if (e.code === 'TSNET_COMMAND_NOT_EXECUTABLE') rec.state.ExitCode = 126;
          this.saveState(rec);
          this.closePendingAttach(rec.id);
          // No `exit` for the waiters: the container never ran, and dockerd leaves a next-exit
          // wait pending after a failed start (the docker CLI, which waits before it starts,
          // would otherwise print "Error waiting for container" under the start's own error).
          // A --rm container's `removed` waiters are answered by its removal.
          // --rm: gone before the error reaches the client (we hold the container's lock here)
          if (rec.hostConfig.AutoRemove)
            await this.removeLocked(rec, true).catch((err: Error) =>
              this.deps.logger.warn(`auto-remove ${rec.id.slice(0, 12)}: ${err.message}`),
            );
          throw e;
        }
        return true;
      },
      true,
    );
  }

  private async startLocked(rec: ContainerRecord): Promise<void> {
    const p = this.paths(rec);
    let pre = await this.prelaunches.take(rec);
    if (!this.deps.networking.hasSandbox(rec.sandboxId)) {
      await pre?.discard();
      pre = undefined;
      await this.remakeNetwork(rec);
    }
    const rb = new Rollback();
    try {
      const sandbox = await rb.step(
        'prepare network',
        () => this.deps.networking.programExternalConnectivity(rec.sandboxId, this.containerLookup),
        () => this.deps.networking.revokeExternalConnectivity(rec.sandboxId),
      );
      this.deps.failpoint?.('start.after-ports');
      const t0 = performance.now();
      const extra = this.extraHosts(rec);
      // in place: a prelaunched tsnet-init has bind-mounted these files already
      rewriteInPlace(
        p.hosts,
        sandbox.hostsText !== undefined
          ? sandbox.hostsText + extra.map((e) => `${e.ip}\t${e.names.join(' ')}\n`).join('')
          : hostsFile([...extra, ...sandbox.hosts]),
      );
      rewriteInPlace(p.hostname, `${sandbox.shareHostUts ? readHostname() : rec.config.Hostname}\n`);
      rewriteInPlace(p.resolvConf, sandbox.resolvConf);
      timingLine('start: etc files', t0);
      let init: PendingInit;
      if (pre && !pre.failed() && pre.netnsPath === sandbox.netnsPath && !sandbox.shareHostUts && !sandbox.linkEnv?.length) {
        init = pre.init;
        const used = pre;
        rb.push('give up the prelaunch', () => used.discard());
      } else {
        await pre?.discard();
        init = await this.spawnFor(rec, sandbox, rb);
      }
      const startedAt = new Date().toISOString();
      const running = (pid: number): ContainerRecord['state'] => ({
        Status: 'running',
        Pid: pid,
        SupervisorPid: init.supervisorPid,
        ExitCode: 0,
        OOMKilled: false,
        Error: '',
        StartedAt: startedAt,
        FinishedAt: rec.state.FinishedAt,
      });
      // The running state is saved once `go` is written, while the process execs (not after
      // `started`: the answer does not wait for the write). The network side is the network
      // layer's records (saved there): the state is volatile. A crash from here on finds a
      // running record: its exit (an exec error's code too) is recorded at restore. A start that
      // fails after `go` saves its failure over it (start's catch). A `--rm` container's goes
      // into its bundle, not its record (writeRunningState, decision 47).
      const launched = await timed('start: launch', () =>
        init.start(
          () => this.connectPendingAttach(rec),
          (pid) =>
            rec.hostConfig.AutoRemove
              ? this.saveRunningInBundle(rec, running(pid))
              : this.saveState({ ...rec, state: running(pid) }),
        ),
      );
      this.deps.failpoint?.('start.after-launch');
      rb.commit();
      rec.state = running(launched.pid);
      this.deps.logger.info(`started container ${rec.id.slice(0, 12)} pid ${launched.pid}`);
      this.announce(rec, 'start');
      this.monitor(rec);
      this.tell('started', rec);
    } catch (err) {
      const failures = await rb.unwind();
      for (const f of failures) this.deps.logger.warn(`rollback of start ${rec.id.slice(0, 12)}: ${f.message}`);
      throw err;
    }
  }

  /**
   * Cgroups, bundle and spec, then tsnet-init spawned (it sets the container up until `ready`);
   * each with its undo on `rb`. `net`: the netns to join, UTS sharing and link variables.
   */
  private async spawnFor(
    rec: ContainerRecord,
    net: { netnsPath?: string; shareHostUts: boolean; linkEnv?: string[] },
    rb: Rollback,
  ): Promise<PendingInit> {
    const p = this.paths(rec);
    const image = await this.deps.images.resolve(rec.imageId);
    const lowerDirs = this.deps.images.layerDirs(image);
    const mounts = this.deps.mounts
      ? await this.deps.mounts.prepare(rec, lowerDirs)
      : (rec.mounts ?? []).flatMap((m) =>
          m.Type === 'bind' ? [{ kind: 'bind' as const, source: m.Source, target: m.Destination, readOnly: !m.RW }] : [],
        );
    const hc = rec.hostConfig;
    const mappings = deviceMappings(hc);
    const deviceRules = hc.Privileged ? 'all' : [...DEFAULT_DEVICE_RULES, ...deviceCgroupRules(hc), ...mappings.map(hostDevice)];
    const seccomp = this.seccompFor(rec);
    const placement = await rb.step(
      'create cgroups',
      () => this.deps.cgroups.create(rec.id, limitsOf(hc, 'start'), deviceRules),
      () => this.deps.cgroups.remove(rec.id),
    );
    const t0 = performance.now();
    // (a bundle left here is rare: a stat is cheaper than rmSync's thrown ENOENT)
    if (fs.existsSync(p.bundle)) fs.rmSync(p.bundle, { recursive: true, force: true });
    fs.mkdirSync(p.bundle, { recursive: true, mode: 0o700 });
    const files: SecurityFiles = {};
    if (seccomp) files.seccomp = this.filters.file(seccomp);
    // the default profile allows the few syscalls between `ready` and the execve (a user's may not)
    if (seccomp && securitySettings(hc).seccomp === 'default') files.seccompEarly = true;
    if (placement.devices === 'bpf' && deviceRules !== 'all') files.devicesBpf = this.filters.file(this.devicesFor(deviceRules));
    writeSpec(
      p.bundle,
      runSpec({
        rec: { ...rec, config: { ...rec.config, Env: processEnv(envOf(rec, net.linkEnv)) } },
        rootfs: p.rootfs,
        lowerDirs,
        upperDir: p.upper,
        workDir: p.work,
        ...(net.netnsPath ? { netnsPath: net.netnsPath } : {}),
        shareHostUts: net.shareHostUts,
        etcFiles: { hosts: p.hosts, hostname: p.hostname, resolvConf: p.resolvConf },
        placement,
        files,
        devices: mappings.map((m) => ({ host: m.PathOnHost, container: m.PathInContainer })),
        logPath: p.log,
        mounts,
      }),
    );
    rb.push('remove bundle', () => fs.rmSync(p.bundle, { recursive: true, force: true }));
    timingLine('start: bundle', t0);
    const init = await spawnInit({
      initPath: this.deps.initPath,
      ...(this.deps.spawn ? { spawn: this.deps.spawn } : {}),
      mode: 'run',
      bundleDir: p.bundle,
    });
    rb.push('stop tsnet-init', () => init.abort());
    return init;
  }

  /**
   * At create, for a container whose start will follow (prelaunchable): tsnet-init spawned into
   * the sandbox's netns, set up while the create goes on; undefined when that is not possible (the
   * start then launches as usual). Its /etc files exist empty until the start writes them.
   */
  private async prelaunch(rec: ContainerRecord): Promise<Prelaunched | undefined> {
    const netnsPath = this.deps.networking.view(rec.sandboxId).sandboxKey;
    if (!netnsPath) return undefined;
    const rb = new Rollback();
    try {
      const init = await this.spawnFor(rec, { netnsPath, shareHostUts: false }, rb);
      let failed = false;
      init.ready.catch(() => {
        failed = true;
      });
      let discarded: Promise<void> | undefined;
      return {
        init,
        netnsPath,
        fingerprint: fingerprint(rec),
        failed: () => failed,
        discard: () => {
          discarded ??= rb.unwind().then((errs) => {
            for (const e of errs) this.deps.logger.warn(`prelaunch of ${rec.id.slice(0, 12)}: ${e.message}`);
          });
          return discarded;
        },
      };
    } catch (err) {
      this.deps.logger.debug(`prelaunch of ${rec.id.slice(0, 12)}: ${(err as Error).message}`);
      await rb.unwind();
      return undefined;
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

  /** The compiled device program of an allow-list (cached: most containers have the default one). */
  private devicesFor(rules: Parameters<typeof deviceProgram>[0]): Buffer {
    const key = JSON.stringify(rules);
    let prog = this.deviceCache.get(key);
    if (!prog) {
      prog = deviceProgram(rules);
      if (this.deviceCache.size >= 32) this.deviceCache.delete(this.deviceCache.keys().next().value!);
      this.deviceCache.set(key, prog);
    }
    return prog;
  }

  /** The seccomp filter file of a running container (exec processes get the same filter). */
  seccompFile(rec: ContainerRecord): string | undefined {
    const filter = this.seccompFor(rec);
    return filter ? this.filters.file(filter) : undefined;
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

  /**
   * `live`: the exit was just seen (the monitor): decide a restart by policy, and remove an
   * AutoRemove container. Not at restore (which removes AutoRemove containers itself), not for rm.
   */
  private async recordExit(rec: ContainerRecord, told?: number, live = true): Promise<void> {
    if (rec.state.Status !== 'running') return;
    const p = this.paths(rec);
    let exit = readExitFile(p.bundle);
    for (let i = 0; !exit && told === undefined && i < 20 && processAlive(rec.state.SupervisorPid); i++) {
      await new Promise((r) => setTimeout(r, 50));
      exit = readExitFile(p.bundle);
    }
    const t0 = performance.now();
    // TSNET_TIMING: from the supervisor's exit time (with its sub-ms digits, which Date.parse drops) to here
    if (exit) {
      const sub = Number(`0.${/\.\d{3}(\d*)/.exec(exit.finished)?.[1] ?? '0'}`);
      timingLine('exit: seen by the daemon', Date.parse(exit.finished) + sub - performance.timeOrigin);
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
    // An AutoRemove container's exit is not written: its removal follows and unlinks the record,
    // and a daemon that dies before that removes it at its next start (restore). Its cgroups go
    // with the rest of it once the removal has answered.
    const removal = rec.hostConfig.AutoRemove === true;
    if (!(live && removal))
      try {
        this.deps.cgroups.remove(rec.id);
      } catch (err) {
        this.deps.logger.warn((err as Error).message);
      }
    await this.deps.networking
      .revokeExternalConnectivity(rec.sandboxId)
      .catch((err: Error) => this.deps.logger.warn(`release network of ${rec.id.slice(0, 12)}: ${err.message}`));
    if (!removal) this.saveState(rec);
    // the exit file has been read (and the state saved): the bundle goes by one rename — for a
    // --rm container with the rest of it, after the removal's answer
    if (!(live && removal)) this.trash.exec.discard(p.bundle, rec.id.slice(0, 16));
    await this.deps.mounts?.release(rec);
    this.deps.logger.info(`container ${rec.id.slice(0, 12)} exited with ${code}${oom ? ' (OOM killed)' : ''}`);
    if (oom) this.announce(rec, 'oom');
    const ran = Math.max(0, Math.round((Date.parse(rec.state.FinishedAt) - Date.parse(rec.state.StartedAt)) / 1000));
    this.announce(rec, 'die', { exitCode: String(code), execDuration: String(Number.isFinite(ran) ? ran : 0) });
    this.tell('exited', rec);
    if (live && !removal && this.scheduleRestart(rec)) {
      rec.state.Restarting = true;
      await this.deps.store.save(rec).catch(() => undefined);
    }
    this.events.emit(`exit:${rec.id}`, code, rec.state.Error);
    timingLine('exit: recorded', t0);
    // in the same hold of the lock: nothing comes between the exit and the removal
    if (live && removal) await this.removeQuietly(rec, true);
  }

  // ---- restart policy -----------------------------------------------------------------------

  private scheduleRestart(rec: ContainerRecord): boolean {
    const ran = Date.parse(rec.state.FinishedAt) - Date.parse(rec.state.StartedAt);
    return this.restarts.afterExit({
      id: rec.id,
      policy: rec.hostConfig.RestartPolicy as { Name?: string; MaximumRetryCount?: number } | undefined,
      exitCode: rec.state.ExitCode,
      manuallyStopped: rec.state.ManuallyStopped === true,
      ranMs: Number.isFinite(ran) ? ran : 0,
    });
  }

  /** A restart by policy (the scheduler's timer): Docker emits die … start, no restart event. */
  private async policyRestart(id: string): Promise<void> {
    const rec = this.records.get(id);
    if (!rec) return;
    await this.locks.run(id, async () => {
      if (!this.records.has(id) || !rec.state.Restarting || this.isRunning(rec)) return;
      rec.restartCount += 1;
      this.restarts.counted(id);
      try {
        await this.startLocked(rec);
      } catch (err) {
        this.deps.logger.warn(`restart of ${id.slice(0, 12)} by policy failed: ${(err as Error).message}`);
        rec.state = { ...rec.state, Restarting: false, Error: (err as Error).message };
        await this.deps.store.save(rec).catch(() => undefined);
        this.events.emit(`exit:${rec.id}`, rec.state.ExitCode, rec.state.Error);
      }
    });
  }

  /** A pending restart is cancelled by an API stop/kill/rm: the container stays exited. */
  private async cancelRestart(rec: ContainerRecord): Promise<void> {
    this.restarts.cancel(rec.id);
    if (!rec.state.Restarting) return;
    rec.state = { ...rec.state, Restarting: false, ManuallyStopped: true };
    await this.deps.store.save(rec).catch(() => undefined);
  }

  /**
   * After the daemon has restored networks (main.ts): containers that died while it was down are
   * restarted by policy; `always` and `unless-stopped` ones (and `on-failure` after a failure)
   * that had run before are started, as dockerd does at its start.
   */
  async autostart(): Promise<void> {
    for (const rec of this.list()) {
      if (rec.state.Status !== 'exited' || rec.state.StartedAt === NEVER || rec.hostConfig.AutoRemove) continue;
      const policy = rec.hostConfig.RestartPolicy as { Name?: string; MaximumRetryCount?: number } | undefined;
      const facts = {
        exitCode: rec.state.ExitCode,
        manuallyStopped: rec.state.ManuallyStopped === true,
        restartCount: 0,
      };
      try {
        if (this.diedWhileDown.has(rec.id) && shouldRestart(policy, facts)) {
          rec.state.Restarting = true;
          await this.policyRestart(rec.id);
        } else if (startAtDaemonStart(policy, facts)) {
          this.deps.logger.info(`starting ${rec.id.slice(0, 12)} (${rec.name}): restart policy ${policy?.Name}`);
          await this.start(rec.id);
        }
      } catch (err) {
        this.deps.logger.warn(`start of ${rec.id.slice(0, 12)} at daemon start: ${(err as Error).message}`);
      }
    }
    this.diedWhileDown.clear();
  }

  // ---- stop / kill --------------------------------------------------------------------------

  /** Returns false when it was not running (HTTP 304). */
  /** `signal`: the API's stop signal (1.42+), else the container's StopSignal, else SIGTERM. */
  async stop(ref: string, timeoutSeconds?: number, signal?: string): Promise<boolean> {
    const rec = this.get(ref);
    const sig = parseSignal(signal || rec.config.StopSignal, 15);
    if (rec.state.Restarting) {
      await this.cancelRestart(rec);
      this.announce(rec, 'stop');
      return true;
    }
    if (!this.isRunning(rec)) return false;
    rec.state.ManuallyStopped = true;
    const t = timeoutSeconds ?? rec.config.StopTimeout ?? 10;
    const exited = this.waitEvent(rec, 'next-exit');
    await this.signal(rec, sig).catch(() => undefined);
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
    if (rec.state.Restarting && !this.isRunning(rec)) {
      await this.cancelRestart(rec);
      return;
    }
    if (!this.isRunning(rec)) {
      throw new TsnetError('TSNET_CONTAINER_NOT_RUNNING', `container ${rec.id} is not running`);
    }
    // Docker: a kill through the API with SIGKILL or the stop signal (any signal when none is
    // set) is a manual stop — no restart by policy afterwards.
    const stopSignal = rec.config.StopSignal ? parseSignal(rec.config.StopSignal, 15) : undefined;
    if (sig === 9 || stopSignal === undefined || sig === stopSignal) rec.state.ManuallyStopped = true;
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

  async restart(ref: string, timeoutSeconds?: number, signal?: string): Promise<void> {
    await this.stop(ref, timeoutSeconds, signal);
    const rec = this.get(ref);
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
    await this.withLock(rec.id, async () => {
      if (name === rec.name)
        throw new TsnetError('TSNET_INVALID_ARGUMENT', `container ${rec.name} is already named ${name}: give another name`);
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
    await this.withLock(rec.id, () => this.setPaused(rec, true, true));
  }

  async unpause(ref: string): Promise<void> {
    const rec = this.get(ref);
    if (!this.isRunning(rec) || !rec.state.Paused)
      throw new TsnetError('TSNET_CONTAINER_NOT_PAUSED', `container ${rec.id} is not paused`);
    await this.withLock(rec.id, () => this.setPaused(rec, false, true));
  }

  /**
   * Save a state change (running, exited, paused, removing) without fsync: a reboot makes that
   * state stale anyway, and a daemon crash keeps it (page cache). See writeJsonAtomicVolatile.
   */
  private saveState(rec: ContainerRecord): void {
    try {
      this.deps.store.saveVolatile(rec);
    } catch (err) {
      this.deps.logger.warn(`save state of ${rec.id.slice(0, 12)}: ${(err as Error).message}`);
    }
  }

  /** A `--rm` container's running state, into its bundle instead of its record (bundle.ts writeRunningState). */
  private saveRunningInBundle(rec: ContainerRecord, state: ContainerRecord['state']): void {
    try {
      writeRunningState(this.paths(rec).bundle, state);
    } catch (err) {
      this.deps.logger.warn(`save state of ${rec.id.slice(0, 12)}: ${(err as Error).message}`);
    }
  }

  /** Every pid of a running container (its cgroup2 dir), or its PID 1 when there is none. */
  pids(rec: ContainerRecord): number[] {
    const pids = cgroupPids(this.deps.cgroups.accountingDir(rec.id));
    return pids.length ? pids : rec.state.Pid ? [rec.state.Pid] : [];
  }

  /**
   * Run `fn` under the container's lock, its processes frozen meanwhile when `pause` and it runs
   * (`commit`: its files hold still while they are read; the pause and unpause are announced as
   * Docker's are). A container paused before stays paused.
   */
  async whileFrozen<T>(ref: string, pause: boolean, fn: (rec: ContainerRecord) => Promise<T>): Promise<T> {
    const rec = this.get(ref);
    return this.withLock(rec.id, async () => {
      const freeze = pause && this.isRunning(rec) && !rec.state.Paused;
      if (freeze) await this.setPaused(rec, true, true);
      try {
        return await fn(rec);
      } finally {
        if (freeze) await this.setPaused(rec, false, true);
      }
    });
  }

  private async setPaused(rec: ContainerRecord, paused: boolean, announce: boolean): Promise<void> {
    await setFrozen(this.deps.cgroups.accountingDir(rec.id), paused, `container ${rec.id.slice(0, 12)}`);
    rec.state = { ...rec.state, Paused: paused };
    this.saveState(rec);
    if (announce) this.announce(rec, paused ? 'pause' : 'unpause');
  }

  // ---- remove -------------------------------------------------------------------------------

  /** `volumes`: also the container's anonymous volumes (`rm -v`). */
  async remove(ref: string, opts: { force?: boolean; volumes?: boolean } = {}): Promise<void> {
    const rec = this.get(ref);
    if (rec.state.Restarting && !this.isRunning(rec)) {
      if (!opts.force)
        throw new TsnetError(
          'TSNET_CONTAINER_RUNNING',
          `cannot remove container "/${rec.name}": container is restarting: stop the container before removing or force remove (rm -f)`,
        );
      await this.cancelRestart(rec);
    }
    if (this.isRunning(rec)) {
      rec.state.ManuallyStopped = true;
      if (!opts.force) {
        throw new TsnetError(
          'TSNET_CONTAINER_RUNNING',
          `cannot remove container "/${rec.name}": container is running: stop the container before removing or force remove (rm -f)`,
        );
      }
      const exited = this.waitEvent(rec, 'next-exit');
      await this.signal(rec, 9).catch(() => undefined);
      await Promise.race([exited, sleep(10_000)]);
    }
    await this.locks.run(rec.id, () => this.removeLocked(rec, opts.volumes === true));
  }

  /**
   * A removal nobody waits for the error of (restore; the exit of an AutoRemove container, which
   * holds the lock already and is `deferred`, see removeLocked).
   */
  private async removeQuietly(rec: ContainerRecord, atExit = false): Promise<void> {
    // --rm removes the anonymous volumes too, as Docker does
    const remove = () => this.removeLocked(rec, rec.hostConfig.AutoRemove === true, atExit);
    try {
      await (atExit ? remove() : this.locks.run(rec.id, remove));
    } catch (err) {
      this.deps.logger.warn(`auto-remove ${rec.id.slice(0, 12)}: ${(err as Error).message}`);
    }
  }

  /**
   * `deferred` (a `run --rm` container at its exit, decision 45): the container is gone for the
   * API — its name free, its anonymous volumes removed, its `removed` waiters answered, `destroy`
   * announced — before anything else of it goes: its cgroups, its bundle and dir (into the
   * trashes), its network teardown and the unlink of its record follow in the background, begun
   * once the answer is written (setImmediate: before the daemon reads another request). The
   * network layer tracks the teardown from then on (`network rm`, prune and a refused address
   * request wait for it; `network inspect` no longer shows the endpoints). Until the end the
   * record on disk is the removal's intent: a crash meanwhile ends in the same removal at the
   * next start.
   */
  private async removeLocked(rec: ContainerRecord, volumes = false, deferred = false): Promise<void> {
    if (!this.records.has(rec.id)) return;
    await this.prelaunches.drop(rec.id);
    if (this.isRunning(rec)) {
      // Killed but the exit is not recorded yet (the monitor waits for the lock we hold) — or
      // started after rm decided it was not running (a start held the lock first): kill it now.
      // Recording the exit of a live supervisor would move its bundle away and leave it running
      // where no sweep finds it.
      await this.signal(rec, 9).catch(() => undefined);
      await this.recordExitNow(rec);
    }
    this.restarts.cancel(rec.id, true);
    rec.state.Status = 'removing';
    // Intent before effect: a daemon that dies during the removal finishes it at its next start.
    // An AutoRemove container needs no mark: the start removes every one that is not running.
    const t0 = performance.now();
    if (!rec.hostConfig.AutoRemove) this.deps.store.saveVolatile(rec);
    this.deps.failpoint?.('container-rm.after-mark');
    const p = this.paths(rec);
    const errors: string[] = [];
    // The sandbox goes with its endpoints (their interfaces die with its netns). Its teardown is
    // known to the network layer from here on — deferred, before the answer: a `network rm` the
    // client sends next waits for it — and begins in `finish`.
    let begin: () => void = () => undefined;
    const when = new Promise<void>((r) => (begin = r));
    const network = timed('rm: network', () => this.deps.networking.deleteSandbox(rec.sandboxId, when)).catch((err: Error) => {
      errors.push(err.message);
    });
    const files = () => {
      try {
        this.deps.cgroups.remove(rec.id);
      } catch (err) {
        errors.push((err as Error).message);
      }
      // (an exit recorded by this daemon moved the bundle already, unless the removal follows it)
      if (fs.existsSync(p.bundle)) this.trash.exec.discard(p.bundle, rec.id.slice(0, 16));
      this.trash.root.discard(p.dir, rec.id);
    };
    // the record, the removal's intent, goes last (once the network teardown is done)
    // (deferred: the unlink off the daemon's thread, see RecordStore.removeBehind)
    const forget = () =>
      timed('rm: store', () => (deferred ? this.deps.store.removeBehind(rec.id) : this.deps.store.remove(rec.id)));
    const finish = async () => {
      // (deferred: after the answer)
      this.deps.failpoint?.('container-rm.before-teardown');
      begin();
      await network;
      this.deps.failpoint?.('container-rm.after-network');
      files();
      await forget().catch((err: Error) => errors.push(err.message));
      if (errors.length) this.deps.logger.warn(`remove ${rec.id.slice(0, 12)}: ${errors.join('; ')}`);
      this.deps.logger.info(`removed container ${rec.id.slice(0, 12)}`);
    };
    if (!deferred) await finish();
    this.records.delete(rec.id);
    if (volumes) await this.deps.mounts?.removeAnonymous(rec);
    this.closePendingAttach(rec.id);
    timingLine('rm: removed', t0);
    this.events.emit(`removed:${rec.id}`);
    this.announce(rec, 'destroy');
    this.tell('removed', rec);
    if (deferred) setImmediate(() => void finish());
  }

  private async recordExitNow(rec: ContainerRecord): Promise<void> {
    for (
      let i = 0;
      i < 100 && processAlive(rec.state.SupervisorPid) && isSupervisorOf(rec.state.SupervisorPid, this.paths(rec).bundle);
      i++
    ) {
      await sleep(20);
    }
    // Still there after 2 s: its bundle is about to go, and with it the sweep's way to find it.
    const p = this.paths(rec);
    const killed = killSupervisor(rec.state.SupervisorPid, p.bundle, rec.state.Pid);
    await waitGone(killed, 2000);
    await this.recordExit(rec, undefined, false);
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
      // a --rm container's running state is in its bundle (its record says created)
      if (rec.hostConfig.AutoRemove && rec.state.Status === 'created') {
        const running = readRunningState<ContainerRecord['state']>(this.paths(rec).bundle);
        if (running) rec.state = running;
      }
      if (rec.state.Restarting) {
        // was waiting for a restart when the daemon stopped: decided again in autostart()
        rec.state.Restarting = false;
        this.diedWhileDown.add(rec.id);
      }
      if (rec.state.Status === 'running') {
        const p = this.paths(rec);
        if (isSupervisorOf(rec.state.SupervisorPid, p.bundle) && fs.existsSync(`${p.bundle}/attach.sock`)) {
          // debug: one line per container at every restart is noise (main.ts logs the count)
          this.deps.logger.debug(`adopted running container ${rec.id.slice(0, 12)} (pid ${rec.state.Pid})`);
          this.monitor(rec);
          this.tell('started', rec);
          continue;
        }
        // died while the daemon was down: autostart() applies the restart policy once the
        // network is restored
        await this.recordExit(rec, undefined, false);
        this.diedWhileDown.add(rec.id);
      }
      // As dockerd: an AutoRemove container that is not running is removed at start — also one
      // whose exit or removal a crash interrupted (neither writes a mark for it).
      if (rec.hostConfig.AutoRemove) {
        await this.killInterruptedStart(rec);
        await this.removeQuietly(rec);
      }
    }
  }

  /**
   * Restore, a container whose record is not running: a tsnet-init still in its bundle was left by
   * a start (or a create's prelaunch) the daemon did not live to record. The start-up sweep kills
   * such a one, but the removal of an AutoRemove container moves the bundle away before: it is
   * killed (checked by /proc: pid reuse) and waited for here.
   */
  private async killInterruptedStart(rec: ContainerRecord): Promise<void> {
    await waitGone(killBundleSupervisor(this.paths(rec).bundle));
  }

  /** Start-up sweep: delete what a crash left in the trash dirs; returns what was removed. */
  emptyTrash(): string[] {
    return [
      ...this.trash.root.empty().map((n) => `removed container dir ${n}`),
      ...this.trash.exec.empty().map((n) => `bundle of an exited container ${n}`),
    ];
  }

  /**
   * Records written before the network layer kept its own (they carry `network`, no sandboxId):
   * the network layer makes sandbox and endpoint records from that state, and the container record
   * keeps only the sandbox id. A container-mode joiner comes after its target (also a joiner of
   * a joiner): it points at the target's new sandbox.
   */
  private async migrate(loaded: ContainerRecord[]): Promise<void> {
    type Legacy = ContainerRecord & { network?: ContainerNetworkState };
    const left = new Map((loaded as Legacy[]).filter((r) => !r.sandboxId && r.network).map((r) => [r.id, r]));
    const order: Legacy[] = [];
    while (left.size) {
      // those whose target is not waiting to be migrated (or a cycle, which no create can make)
      let ready = [...left.values()].filter((r) => r.network!.mode !== 'container' || !left.has(r.network!.sharedWith ?? ''));
      if (!ready.length) ready = [...left.values()];
      for (const r of ready) {
        order.push(r);
        left.delete(r.id);
      }
    }
    for (const rec of order) {
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

  /**
   * Start-up, once the drivers are restored: running containers get their port reservations and
   * resolvers back. The API answers reads meanwhile (main.ts): every few containers the loop lets
   * the event loop run (the work is synchronous kernel calls that never yield by themselves).
   */
  async adoptRunningNetworks(): Promise<void> {
    let n = 0;
    for (const r of this.list()) {
      if (!this.isRunning(r)) continue;
      await this.deps.networking.adoptRunning(r.sandboxId);
      if (++n % 16 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
  }

  /** Persist a record changed elsewhere in the runtime (container update). */
  async save(rec: ContainerRecord): Promise<void> {
    await this.deps.store.save(rec);
  }

  /** The container's live network state (from the network layer's records). */
  network(rec: ContainerRecord): ContainerNetworkState {
    return this.deps.networking.view(rec.sandboxId);
  }

  /** Changes whenever network(rec) may have changed. */
  networkRevision(rec: ContainerRecord): number {
    return this.deps.networking.viewRevision(rec.sandboxId);
  }

  /** Containers as the network layer asks about them (container mode, legacy links). */
  private readonly containerLookup = (ref: string) => {
    const r = this.find(ref);
    return r ? { id: r.id, name: r.name, sandboxId: r.sandboxId, env: r.config.Env ?? [] } : undefined;
  };

  /** `rm --link PARENT/ALIAS` under the parent's lock; its /etc/hosts follows. */
  async removeLink(id: string, alias: string): Promise<void> {
    await this.withLock(id, async () => {
      const rec = this.get(id);
      const entries = await this.deps.networking.removeLink(rec.sandboxId, alias);
      if (entries) await this.refreshHosts(rec, entries);
    });
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
   * fn waited for the lock is not found. A tsnet-init spawned at create is given up first (what
   * fn changes may not be what it was set up with), unless `forStart`.
   */
  withLock<T>(id: string, fn: () => Promise<T>, forStart = false): Promise<T> {
    return this.locks.run(id, async () => {
      if (!this.records.has(id)) throw new TsnetError('TSNET_CONTAINER_NOT_FOUND', `No such container: ${id.slice(0, 12)}`);
      if (!forStart) await this.prelaunches.drop(id);
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
    ...(hc.Links?.length ? { links: hc.Links } : {}),
  };
}

/**
 * A new container's dirs: a dir made ahead renamed into place (one metadata operation, decision
 * 62), or made here (no pool, none ready, or the rename failed); on the file thread when there is one.
 */
function placeContainerDirs(p: ContainerPaths, files: FileThread | undefined, ahead?: string): Promise<void> {
  const make = () => runFileOps(containerDirOps(p), files);
  if (!ahead) return make();
  // (in the same message to the thread as the record's write that follows: one wake-up)
  return runFileOps([{ op: 'rename', from: ahead, to: p.dir }], files).catch(() => {
    fs.rmSync(ahead, { recursive: true, force: true });
    return make();
  });
}
