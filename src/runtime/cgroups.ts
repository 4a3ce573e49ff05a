/**
 * cgroups for containers, v1 (one dir per controller) and v2 (one unified dir). The daemon makes
 * the dirs and writes the limits; tsnet-init puts the container's PID 1 into them.
 *
 * Device access: wherever a cgroup2 hierarchy is mounted (pure v2, or the `unified` mount of a
 * hybrid v1 host) every container gets a cgroup2 dir that tsnet-init attaches the device
 * program to and creates the container's PID 1 in (clone3 CLONE_INTO_CGROUP: no cgroup.procs
 * write, which on this kernel waits for an RCU grace period). Without cgroup2 (or with
 * `devices: 'v1'`), a v1 devices cgroup with Docker's rules is joined instead.
 */
import fs from 'node:fs';
import path from 'node:path';
import { TsnetError } from '../errors/index.js';
import { type DeviceRule, ruleText } from './devices/rules.js';

export interface Limits {
  memory?: number; // bytes
  memorySwap?: number; // bytes, -1 = unlimited
  nanoCpus?: number;
  pidsLimit?: number;
}

/** Where tsnet-init puts a container's processes. */
export interface Placement {
  /** dirs whose cgroup.procs get the pid (v1 hierarchies with a limit, the v1 devices cgroup) */
  join: string[];
  /** the cgroup2 dir the process is created in; it carries the device program */
  into?: string;
  /** how device access is restricted: a program tsnet-init attaches to `into`, the v1 devices
   * controller (already set up), or not at all (privileged) */
  devices: 'bpf' | 'v1' | 'none';
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
}

const V1_CONTROLLERS = ['memory', 'cpu', 'pids', 'devices'] as const;

export function createCgroups(opts: { mount?: string; parent: string; devices?: 'auto' | 'v1' }): Cgroups {
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

  if (unified) {
    return {
      version: 2,
      create(name, limits, devices) {
        const parent = path.join(mount, opts.parent);
        const hasLimits = !!(limits.memory || limits.nanoCpus || (limits.pidsLimit && limits.pidsLimit > 0));
        fs.mkdirSync(parent, { recursive: true });
        if (hasLimits) {
          try {
            write(parent, 'cgroup.subtree_control', '+memory +cpu +pids');
          } catch {
            /* controllers may already be enabled or unavailable */
          }
        }
        const dir = v2Dir(name);
        fs.mkdirSync(dir, { recursive: true });
        try {
          if (limits.memory) {
            write(dir, 'memory.max', String(limits.memory));
            if (limits.memorySwap !== undefined && fs.existsSync(path.join(dir, 'memory.swap.max'))) {
              write(
                dir,
                'memory.swap.max',
                limits.memorySwap < 0 ? 'max' : String(Math.max(0, limits.memorySwap - limits.memory)),
              );
            }
          }
          if (limits.nanoCpus) write(dir, 'cpu.max', `${Math.round((limits.nanoCpus / 1e9) * 100000)} 100000`);
          if (limits.pidsLimit && limits.pidsLimit > 0) write(dir, 'pids.max', String(limits.pidsLimit));
        } catch (err) {
          rmdir(dir);
          throw err;
        }
        return { join: [], into: dir, devices: devices === 'all' ? 'none' : 'bpf' };
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
        return fs.existsSync(dir) ? { join: [], into: dir, devices: 'bpf' } : { join: [], devices: 'none' };
      },
      list: () => listDir(path.join(mount, opts.parent)),
    };
  }

  return {
    version: 1,
    create(name, limits, devices) {
      // Only the controllers that carry a limit: joining a v1 hierarchy costs an RCU grace
      // period per write to cgroup.procs (~2-9 ms here), so a limit-less container joins none.
      const wanted: Array<[ctrl: (typeof V1_CONTROLLERS)[number], apply: (dir: string) => void]> = [];
      if (limits.memory) {
        wanted.push([
          'memory',
          (dir) => {
            write(dir, 'memory.limit_in_bytes', String(limits.memory));
            if (fs.existsSync(path.join(dir, 'memory.memsw.limit_in_bytes'))) {
              const swap = limits.memorySwap ?? limits.memory! * 2;
              write(dir, 'memory.memsw.limit_in_bytes', swap < 0 ? '-1' : String(swap));
            }
          },
        ]);
      }
      if (limits.nanoCpus) {
        wanted.push([
          'cpu',
          (dir) => {
            write(dir, 'cpu.cfs_period_us', '100000');
            write(dir, 'cpu.cfs_quota_us', String(Math.round((limits.nanoCpus! / 1e9) * 100000)));
          },
        ]);
      }
      if (limits.pidsLimit && limits.pidsLimit > 0)
        wanted.push(['pids', (dir) => write(dir, 'pids.max', String(limits.pidsLimit))]);
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
          const dir = v1Dir(ctrl, name);
          fs.mkdirSync(dir, { recursive: true });
          dirs.push(dir);
          apply(dir);
        }
        if (hybrid) {
          const dir = hybridDir(name);
          fs.mkdirSync(dir, { recursive: true });
          dirs.push(dir);
          return { join: dirs.slice(0, -1), into: dir, devices: devices === 'all' ? 'none' : 'bpf' };
        }
      } catch (err) {
        for (const d of dirs) rmdir(d);
        throw err;
      }
      return { join: dirs, devices: devices === 'all' ? 'none' : 'v1' };
    },
    remove(name) {
      for (const ctrl of V1_CONTROLLERS) rmdir(v1Dir(ctrl, name));
      if (hybrid) rmdir(hybridDir(name));
    },
    accountingDir: (name) => (hybrid ? existing(hybridDir(name)) : undefined),
    controllerDir: (ctrl, name) => existing(v1Dir(ctrl, name)),
    oomKilled(name) {
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
      const devices = into ? 'bpf' : join.some((d) => d.includes(`${path.sep}devices${path.sep}`)) ? 'v1' : 'none';
      return { join, ...(into ? { into } : {}), devices };
    },
    list: () => [
      ...new Set([
        ...V1_CONTROLLERS.flatMap((c) => listDir(path.join(mount, c, opts.parent))),
        ...(hybrid ? listDir(path.join(hybridRoot, opts.parent)) : []),
      ]),
    ],
  };
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
