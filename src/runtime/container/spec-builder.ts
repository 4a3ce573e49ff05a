/** The tsnet-init spec records for starting a container or an exec in it. Pure. */
import type { SpecRecord } from '../bundle.js';
import type { Placement } from '../cgroups.js';
import type { SpecMount } from '../volumes/container-mounts.js';
import { capabilities } from './security-opts.js';
import { keepsLog, logRotation, type LogConfig } from './log-config.js';
import { DEFAULT_SHM_SIZE } from './create-request.js';
import { checkIpcMode } from './ipc-mode.js';
import { checkSysctls } from './sysctls.js';
import type { ContainerRecord } from './types.js';
import { checkUlimits, rlimitRecord } from './ulimits.js';

export { capabilities, DEFAULT_CAPS } from './security-opts.js';

/** Files the daemon prepared in the bundle for tsnet-init. */
export interface SecurityFiles {
  /** classic BPF seccomp filter (absent: unconfined) */
  seccomp?: string;
  /**
   * The filter allows what tsnet-init's child calls after `ready` (Docker's default profile does):
   * installed before `ready`, not between `go` and the execve (docs/tsnet-init.md `seccomp_early`).
   */
  seccompEarly?: boolean;
  /** cgroup device program (run only; when placement.devices is 'bpf') */
  devicesBpf?: string;
}

export interface RunSpecInput {
  rec: ContainerRecord;
  rootfs: string;
  lowerDirs: string[];
  upperDir: string;
  workDir: string;
  netnsPath?: string;
  shareHostUts: boolean;
  etcFiles: { hosts: string; hostname: string; resolvConf: string };
  placement: Placement;
  files: SecurityFiles;
  /** --device mappings: host node → container path */
  devices: Array<{ host: string; container: string }>;
  logPath: string;
  /** Binds, volumes and tmpfs mounts, parents first. */
  mounts: SpecMount[];
}

function commonRecords(
  rec: ContainerRecord,
  argv: string[],
  env: string[],
  user: string,
  cwd: string,
  tty: boolean,
  stdin: boolean,
): SpecRecord[] {
  const out: SpecRecord[] = argv.map((a) => ['arg', a] as SpecRecord);
  for (const e of env) out.push(['env', e]);
  if (cwd) out.push(['cwd', cwd]);
  if (user) out.push(['user', user]);
  for (const g of rec.hostConfig.GroupAdd ?? []) out.push(['group_add', g]);
  if (tty) out.push(['tty', '1']);
  if (stdin) out.push(['stdin', '1']);
  if (rec.hostConfig.Privileged) out.push(['privileged', '1']);
  // (rebuilt from what create accepted: a name given twice keeps its last value)
  if (rec.hostConfig.Ulimits?.length) for (const u of checkUlimits(rec.hostConfig.Ulimits)) out.push(['rlimit', rlimitRecord(u)]);
  // (the API's schema keeps it in -1000..1000); exec processes get it too, as the container's
  const oom = rec.hostConfig.OomScoreAdj;
  if (Number.isInteger(oom) && (oom as number) >= -1000 && (oom as number) <= 1000 && oom !== 0)
    out.push(['oom_score_adj', String(oom)]);
  else {
    const caps = capabilities(rec.hostConfig.CapAdd ?? [], rec.hostConfig.CapDrop ?? []);
    if (caps.length === 0) out.push(['cap', 'none']);
    for (const c of caps) out.push(['cap', c]);
  }
  return out;
}

function placementRecords(p: Placement, files: SecurityFiles, run: boolean): SpecRecord[] {
  const out: SpecRecord[] = p.join.map((d) => ['cgroup', d] as SpecRecord);
  if (p.into) out.push(['cgroup_into', p.into]);
  if (run && p.devices === 'bpf' && files.devicesBpf) out.push(['devices_bpf', files.devicesBpf]);
  if (files.seccomp) out.push(['seccomp', files.seccomp]);
  if (files.seccomp && files.seccompEarly) out.push(['seccomp_early', '1']);
  return out;
}

export function runSpec(i: RunSpecInput): SpecRecord[] {
  const { rec } = i;
  const out: SpecRecord[] = [['rootfs', i.rootfs]];
  for (const l of i.lowerDirs) out.push(['lower', l]);
  out.push(['upper', i.upperDir], ['work', i.workDir]);
  if (rec.hostConfig.ReadonlyRootfs) out.push(['readonly_rootfs', '1']);
  if (i.netnsPath) out.push(['netns', i.netnsPath]);
  if (i.shareHostUts) out.push(['share_uts', '1']);
  else out.push(['hostname', rec.config.Hostname]);
  // a --rm container is never started again on its upper dir: its mount tree may be unmounted
  // after its exit is told (decision 45); another container's start could find it still mounted
  if (rec.hostConfig.AutoRemove) out.push(['hold_mntns', '1']);
  out.push(
    ...commonRecords(
      rec,
      [rec.path, ...rec.args],
      rec.config.Env,
      rec.config.User,
      rec.config.WorkingDir,
      rec.config.Tty,
      rec.config.OpenStdin,
    ),
  );
  const ipc = checkIpcMode(rec.hostConfig.IpcMode);
  if (ipc) out.push(['ipc', ipc]);
  const shm = rec.hostConfig.ShmSize;
  if (shm && shm !== DEFAULT_SHM_SIZE) out.push(['shm_size', String(shm)]);
  for (const [key, value] of checkSysctls(rec.hostConfig)) out.push(['sysctl', `${key}\t${value}`]);
  out.push(['bind', `${i.etcFiles.hosts}\t/etc/hosts\trw`]);
  out.push(['bind', `${i.etcFiles.hostname}\t/etc/hostname\trw`]);
  out.push(['bind', `${i.etcFiles.resolvConf}\t/etc/resolv.conf\trw`]);
  for (const m of i.mounts) {
    if (m.kind === 'tmpfs') out.push(['tmpfs', `${m.target}\t${m.options}`]);
    else
      out.push([
        'bind',
        `${m.source}\t${m.target}\t${m.readOnly ? 'ro' : 'rw'},rbind${m.subpath !== undefined ? `\t${m.subpath}` : ''}`,
      ]);
  }
  for (const d of i.devices) out.push(['bind', `${d.host}\t${d.container}\trw`]);
  out.push(...placementRecords(i.placement, i.files, true));
  const logConfig = rec.hostConfig.LogConfig as LogConfig | undefined;
  if (!keepsLog(logConfig)) return out;
  out.push(['log', i.logPath]);
  const rotation = logRotation(logConfig);
  if (rotation.maxSize !== undefined) out.push(['log_max_size', String(rotation.maxSize)]);
  if (rotation.maxFiles !== undefined) out.push(['log_max_files', String(rotation.maxFiles)]);
  return out;
}

export interface ExecSpecInput {
  rec: ContainerRecord;
  targetPid: number;
  argv: string[];
  env: string[];
  user: string;
  cwd: string;
  tty: boolean;
  stdin: boolean;
  privileged: boolean;
  placement: Placement;
  files: SecurityFiles;
}

export function execSpec(i: ExecSpecInput): SpecRecord[] {
  const rec = i.privileged ? { ...i.rec, hostConfig: { ...i.rec.hostConfig, Privileged: true } } : i.rec;
  const out: SpecRecord[] = [['target_pid', String(i.targetPid)]];
  out.push(...commonRecords(rec, i.argv, i.env, i.user, i.cwd, i.tty, i.stdin));
  out.push(...placementRecords(i.placement, i.files, false));
  return out;
}
