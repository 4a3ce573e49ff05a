/**
 * cgroups for containers, v1 (one dir per controller) and v2 (one unified dir). The daemon makes
 * the dirs and writes the limits; tsnet-init puts the container's PID 1 into them.
 *
 * Device access: wherever a cgroup2 hierarchy is mounted (pure v2, or the `unified` mount of a
 * hybrid v1 host) every container gets a cgroup2 dir that carries the device program and that
 * tsnet-init creates the container's PID 1 in (clone3 CLONE_INTO_CGROUP: no cgroup.procs
 * write, which on this kernel waits for an RCU grace period). With `programs` (the daemon), the
 * program of each allow-list is loaded once and attached here, when the dir is made (decision
 * 51: the kernel's verifier and JIT ran in every tsnet-init); without, tsnet-init attaches it.
 * Without cgroup2 (or with `devices: 'v1'`), a v1 devices cgroup with Docker's rules is joined
 * instead.
 */
import fs from 'node:fs';
import path from 'node:path';
import { TsnetError } from '../errors/index.js';
import { hasLimits, initCpuset, type Limits, type Setting, type V1Controller, v1Settings, v2Settings } from './cgroup-limits.js';
import { type DeviceRule, ruleText } from './devices/rules.js';
import { deviceProgram } from './devices/bpf-program.js';
import type { DevicePrograms } from '../kernel/bpf.js';

export type { Limits } from './cgroup-limits.js';

/** Where tsnet-init puts a container's processes. */
export interface Placement {
  /** dirs whose cgroup.procs get the pid (v1 hierarchies with a limit, the v1 devices cgroup) */
  join: string[];
  /** the cgroup2 dir the process is created in; it carries the device program */
  into?: string;
  /** how device access is restricted: a program tsnet-init attaches to `into` ('bpf'), a
   * program attached to `into` already ('attached': by create, with `programs`), the v1 devices
   * controller (already set up), or not at all (privileged) */
  devices: 'bpf' | 'attached' | 'v1' | 'none';
}

export interface Cgroups {
  readonly version: 1 | 2;
  /** Create the container's cgroup dirs with limits and device rules ('all' = privileged). */
  create(name: string, limits: Limits, devices: readonly DeviceRule[] | 'all'): Placement;
  remove(name: string): void;
  oomKilled(name: string): boolean;
  /** The existing cgroup of a container (for exec to join). */
  placement(name: string): Placement;
  /**
   * The cgroup2 dir the container's processes are born in (its `into`), when it exists: its
   * cpu.stat and cgroup.procs account every container, limits or not (`docker stats`).
   */
  accountingDir(name: string): string | undefined;
  /** The existing dir of one controller's cgroup of a container (v2: its one dir). */
  controllerDir(ctrl: 'memory' | 'cpu' | 'pids', name: string): string | undefined;
  /** Names of cgroups under the parent (for the start-up sweep). */
  list(): string[];
  /**
   * Change the limits of a running container (`update`): the given limits are written; a v1
   * controller the container had not joined is made and `pids` are moved into it. Returns
   * warnings for limits this kernel cannot apply.
   */
  update(name: string, limits: Limits, pids: () => number[]): string[];
}

const V1_CONTROLLERS = ['memory', 'cpu', 'cpuset', 'pids', 'blkio', 'devices'] as const;

export function createCgroups(opts: {
  mount?: string;
  parent: string;
  devices?: 'auto' | 'v1';
  /** load and attach device programs here (else tsnet-init attaches them: `devices: 'bpf'`) */
  programs?: DevicePrograms;
}): Cgroups {
  const mount = opts.mount ?? '/sys/fs/cgroup';
  const unified = fs.existsSync(path.join(mount, 'cgroup.controllers'));
  const v1Dir = (ctrl: string, name: string) => path.join(mount, ctrl, opts.parent, name);
  const v2Dir = (name: string) => path.join(mount, opts.parent, name);
  /** The hybrid layout's cgroup2 mount (no controllers, but device programs and clone3 work). */
  const hybridRoot = path.join(mount, 'unified');
  const hybrid = !unified && opts.devices !== 'v1' && writable(path.join(hybridRoot, 'cgroup.procs'));
  const hybridDir = (name: string) => path.join(hybridRoot, opts.parent, name);
  const existing = (dir: string) => (fs.existsSync(dir) ? dir : undefined);

  const write = (dir: string, file: string, value: string) => {
    try {
      fs.writeFileSync(path.join(dir, file), value);
    } catch (err) {
      throw new TsnetError('TSNET_KERNEL', `set ${file}=${value} in ${dir}: ${(err as NodeJS.ErrnoException).code}`, {
        cause: err,
      });
    }
  };
  const rmdir = (dir: string) => {
    try {
      fs.rmdirSync(dir);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') throw new TsnetError('TSNET_KERNEL', `remove cgroup ${dir}: ${code}`, { cause: err });
    }
  };

  /**
   * The device rules on a new cgroup2 dir: attached here with `programs` (one loaded program per
   * allow-list, kept open for the daemon's life; 32 at most), else left to tsnet-init.
   */
  const loaded = new Map<string, number>();
  /** what an existing cgroup2 dir's placement says of its program (exec joins it; none is attached then) */
  const attachedBy = opts.programs ? 'attached' : 'bpf';
  const deviceAccess = (dir: string, devices: readonly DeviceRule[] | 'all'): Placement['devices'] => {
    if (devices === 'all') return 'none';
    const { programs } = opts;
    if (!programs) return 'bpf';
    const key = JSON.stringify(devices);
    let fd = loaded.get(key);
    if (fd === undefined) {
      fd = programs.load(deviceProgram(devices));
      if (loaded.size >= 32) {
        const [oldKey, oldFd] = loaded.entries().next().value!;
        loaded.delete(oldKey);
        programs.close(oldFd); // (the dirs it is attached to keep it)
      }
      loaded.set(key, fd);
    }
    programs.attach(dir, fd);
    return 'attached';
  };

  if (unified) {
    return {
      version: 2,
      create(name, limits, devices) {
        const parent = path.join(mount, opts.parent);
        fs.mkdirSync(parent, { recursive: true });
        if (hasLimits(limits)) enableV2(parent);
        const dir = v2Dir(name);
        fs.mkdirSync(dir, { recursive: true });
        try {
          applyAll(dir, v2Settings(limits));
          return { join: [], into: dir, devices: deviceAccess(dir, devices) };
        } catch (err) {
          rmdir(dir);
          throw err;
        }
      },
      remove: (name) => rmdir(v2Dir(name)),
      accountingDir: (name) => existing(v2Dir(name)),
      controllerDir: (_ctrl, name) => existing(v2Dir(name)),
      oomKilled(name) {
        try {
          const text = fs.readFileSync(path.join(v2Dir(name), 'memory.events'), 'utf8');
          const m = /^oom_kill (\d+)$/m.exec(text);
          return m !== null && m[1] !== '0';
        } catch {
          return false;
        }
      },
      placement: (name) => {
        const dir = v2Dir(name);
        return fs.existsSync(dir) ? { join: [], into: dir, devices: attachedBy } : { join: [], devices: 'none' };
      },
      list: () => listDir(path.join(mount, opts.parent)),
      update(name, limits) {
        enableV2(path.join(mount, opts.parent));
        return applyAll(v2Dir(name), v2Settings(limits));
      },
    };
  }

  /** Write settings in order; a missing optional file is a warning (its text), not an error. */
  function applyAll(dir: string, settings: Setting[]): string[] {
    const warnings: string[] = [];
    for (const s of settings) {
      if (s.optional !== undefined && !fs.existsSync(path.join(dir, s.file))) {
        if (s.optional) warnings.push(s.optional);
        continue;
      }
      write(dir, s.file, s.value);
    }
    return warnings;
  }

  function enableV2(parent: string): void {
    try {
      write(parent, 'cgroup.subtree_control', '+memory +cpu +pids +cpuset +io');
    } catch {
      /* controllers may already be enabled or unavailable */
    }
  }

  /** Make a v1 controller's dir for the container (cpuset: with cpus and mems to start from). */
  function makeV1(ctrl: V1Controller | 'devices', name: string): string {
    const dir = v1Dir(ctrl, name);
    if (ctrl === 'cpuset') initCpuset(path.join(mount, 'cpuset'), dir);
    else fs.mkdirSync(dir, { recursive: true });
    return dir;
  }

  const currentIn = (dir: string) => (file: string) => {
    try {
      return fs.readFileSync(path.join(dir, file), 'utf8').trim();
    } catch {
      return undefined;
    }
  };

  return {
    version: 1,
    create(name, limits, devices) {
      // Only the controllers that carry a limit: joining a v1 hierarchy costs an RCU grace
      // period per write to cgroup.procs (~2-9 ms here), so a limit-less container joins none.
      const wanted: Array<[ctrl: (typeof V1_CONTROLLERS)[number], apply: (dir: string) => void]> = [];
      for (const [ctrl, settings] of v1Settings(limits, () => undefined))
        wanted.push([ctrl, (dir) => void applyAll(dir, settings)]);
      if (!hybrid && devices !== 'all') {
        wanted.push([
          'devices',
          (dir) => {
            write(dir, 'devices.deny', 'a');
            for (const r of devices) write(dir, 'devices.allow', ruleText(r));
          },
        ]);
      }
      const dirs: string[] = [];
      try {
        for (const [ctrl, apply] of wanted) {
          const dir = makeV1(ctrl, name);
          dirs.push(dir);
          apply(dir);
        }
        if (hybrid) {
          const dir = hybridDir(name);
          fs.mkdirSync(dir, { recursive: true });
          dirs.push(dir);
          return { join: dirs.slice(0, -1), into: dir, devices: deviceAccess(dir, devices) };
        }
      } catch (err) {
        for (const d of dirs) rmdir(d);
        throw err;
      }
      return { join: dirs, devices: devices === 'all' ? 'none' : 'v1' };
    },
    remove(name) {
      // only the dirs that exist: a container without limits has one or two of the seven, and a
      // failed rmdir costs a thrown error each (~20-30 µs), a stat ~3 µs
      for (const ctrl of V1_CONTROLLERS) {
        const dir = v1Dir(ctrl, name);
        if (fs.existsSync(dir)) rmdir(dir);
      }
      if (hybrid && fs.existsSync(hybridDir(name))) rmdir(hybridDir(name));
    },
    accountingDir: (name) => (hybrid ? existing(hybridDir(name)) : undefined),
    controllerDir: (ctrl, name) => existing(v1Dir(ctrl, name)),
    oomKilled(name) {
      // a container without a memory limit has no memory cgroup (no thrown ENOENT for it)
      if (!fs.existsSync(v1Dir('memory', name))) return false;
      try {
        const text = fs.readFileSync(path.join(v1Dir('memory', name), 'memory.oom_control'), 'utf8');
        const m = /^oom_kill (\d+)$/m.exec(text);
        return m !== null && m[1] !== '0';
      } catch {
        return false;
      }
    },
    placement(name) {
      const join = V1_CONTROLLERS.map((c) => v1Dir(c, name)).filter((d) => fs.existsSync(d));
      const into = hybrid && fs.existsSync(hybridDir(name)) ? hybridDir(name) : undefined;
      const devices = into ? attachedBy : join.some((d) => d.includes(`${path.sep}devices${path.sep}`)) ? 'v1' : 'none';
      return { join, ...(into ? { into } : {}), devices };
    },
    update(name, limits, pids) {
      const warnings: string[] = [];
      for (const [ctrl, settings] of v1Settings(limits, currentIn(v1Dir('memory', name)))) {
        const dir = v1Dir(ctrl, name);
        const fresh = !fs.existsSync(dir);
        if (fresh && settings.every((s) => s.optional !== undefined && !fs.existsSync(path.join(mount, ctrl, s.file)))) {
          warnings.push(...settings.map((s) => s.optional!).filter(Boolean));
          continue;
        }
        if (fresh) makeV1(ctrl, name);
        warnings.push(...applyAll(dir, settings));
        if (fresh) moveInto(dir, pids);
      }
      return warnings;
    },
    list: () => [
      ...new Set([
        ...V1_CONTROLLERS.flatMap((c) => listDir(path.join(mount, c, opts.parent))),
        ...(hybrid ? listDir(path.join(hybridRoot, opts.parent)) : []),
      ]),
    ],
  };
}

/**
 * Move a running container's processes into a v1 cgroup it had not joined: repeat until every
 * pid it has is there (a process forked during the move may have stayed behind).
 */
function moveInto(dir: string, pids: () => number[]): void {
  for (let round = 0; round < 20; round++) {
    const inside = new Set(fs.readFileSync(path.join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number));
    const missing = pids().filter((p) => !inside.has(p));
    if (missing.length === 0) return;
    for (const pid of missing) {
      try {
        fs.writeFileSync(path.join(dir, 'cgroup.procs'), String(pid));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ESRCH')
          throw new TsnetError('TSNET_KERNEL', `move pid ${pid} into ${dir}: ${(err as NodeJS.ErrnoException).code}`, {
            cause: err,
          });
      }
    }
  }
  throw new TsnetError('TSNET_KERNEL', `the processes of ${path.basename(dir)} kept forking while moved into ${dir}`);
}

function writable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

function listDir(dir: string): string[] {
  try {
    return fs
      .readdirSync(dir, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name);
  } catch {
    return [];
  }
}
