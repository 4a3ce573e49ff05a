/** The tsnet-init spec records for starting a container or an exec in it. Pure. */
import type { SpecRecord } from '../bundle.js';
import { parseBind } from './create-request.js';
import type { ContainerRecord } from './types.js';

export interface RunSpecInput {
  rec: ContainerRecord;
  rootfs: string;
  lowerDirs: string[];
  upperDir: string;
  workDir: string;
  netnsPath?: string;
  shareHostUts: boolean;
  etcFiles: { hosts: string; hostname: string; resolvConf: string };
  cgroupDirs: string[];
  logPath: string;
}

export const DEFAULT_CAPS = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
];

/** Docker's --cap-add/--cap-drop over the default set (`ALL` and names without CAP_ accepted). */
export function capabilities(add: string[] = [], drop: string[] = []): string[] {
  const norm = (c: string) => (c.toUpperCase().startsWith('CAP_') ? c.toUpperCase() : `CAP_${c.toUpperCase()}`);
  const set = new Set(DEFAULT_CAPS);
  if (drop.some((c) => c.toUpperCase() === 'ALL')) set.clear();
  for (const c of drop) set.delete(norm(c));
  for (const c of add) if (c.toUpperCase() !== 'ALL') set.add(norm(c));
  return [...set];
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
  if (tty) out.push(['tty', '1']);
  if (stdin) out.push(['stdin', '1']);
  if (rec.hostConfig.Privileged) out.push(['privileged', '1']);
  else {
    const caps = capabilities(rec.hostConfig.CapAdd ?? [], rec.hostConfig.CapDrop ?? []);
    if (caps.length === 0) out.push(['cap', 'none']);
    for (const c of caps) out.push(['cap', c]);
  }
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
  out.push(['bind', `${i.etcFiles.hosts}\t/etc/hosts\trw`]);
  out.push(['bind', `${i.etcFiles.hostname}\t/etc/hostname\trw`]);
  out.push(['bind', `${i.etcFiles.resolvConf}\t/etc/resolv.conf\trw`]);
  for (const b of rec.hostConfig.Binds ?? []) {
    const p = parseBind(b);
    out.push(['bind', `${p.source}\t${p.target}\t${p.readOnly ? 'ro' : 'rw'},rbind`]);
  }
  for (const d of i.cgroupDirs) out.push(['cgroup', d]);
  out.push(['log', i.logPath]);
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
  cgroupDirs: string[];
}

export function execSpec(i: ExecSpecInput): SpecRecord[] {
  const rec = i.privileged ? { ...i.rec, hostConfig: { ...i.rec.hostConfig, Privileged: true } } : i.rec;
  const out: SpecRecord[] = [['target_pid', String(i.targetPid)]];
  out.push(...commonRecords(rec, i.argv, i.env, i.user, i.cwd, i.tty, i.stdin));
  for (const d of i.cgroupDirs) out.push(['cgroup', d]);
  return out;
}
