/**
 * Docker's seccomp JSON profile format: validation, and resolution for one container (its
 * capabilities, the host kernel) into per-architecture rules that bpf.ts compiles. Pure.
 *
 * Semantics follow moby's profiles/seccomp (setupSeccomp) and runc's libseccomp use:
 * includes/excludes `caps` are checked against the container's capability set (includes: all
 * listed, excludes: any listed), `arches` against Go's name of the host arch (`amd64`),
 * `minKernel` against the running kernel; several conditions on one syscall are ANDed unless
 * two of them name the same argument, then each becomes its own rule (ORed), as runc does;
 * syscall names an architecture does not have are skipped.
 */
import { TsnetError } from '../../errors/index.js';
import { I386, X32, X86_64 } from './syscalls-x86.js';

export type SeccompAction =
  | 'SCMP_ACT_KILL'
  | 'SCMP_ACT_KILL_THREAD'
  | 'SCMP_ACT_KILL_PROCESS'
  | 'SCMP_ACT_TRAP'
  | 'SCMP_ACT_ERRNO'
  | 'SCMP_ACT_TRACE'
  | 'SCMP_ACT_LOG'
  | 'SCMP_ACT_ALLOW';
export type SeccompOp =
  | 'SCMP_CMP_NE'
  | 'SCMP_CMP_LT'
  | 'SCMP_CMP_LE'
  | 'SCMP_CMP_EQ'
  | 'SCMP_CMP_GE'
  | 'SCMP_CMP_GT'
  | 'SCMP_CMP_MASKED_EQ';

export interface SeccompArg {
  index: number;
  value: number;
  valueTwo?: number;
  op: SeccompOp;
}
export interface SeccompFilter {
  caps?: string[] | null;
  arches?: string[] | null;
  minKernel?: string | null;
}
export interface SeccompSyscall {
  names?: string[] | null;
  name?: string;
  action: SeccompAction;
  errnoRet?: number | null;
  args?: SeccompArg[] | null;
  includes?: SeccompFilter | null;
  excludes?: SeccompFilter | null;
  comment?: string;
}
export interface SeccompProfile {
  defaultAction: SeccompAction;
  defaultErrnoRet?: number | null;
  architectures?: string[] | null;
  archMap?: Array<{ architecture: string; subArchitectures?: string[] | null }> | null;
  syscalls?: SeccompSyscall[] | null;
}

const ACTIONS: Record<SeccompAction, number> = {
  SCMP_ACT_KILL: 0x00000000,
  SCMP_ACT_KILL_THREAD: 0x00000000,
  SCMP_ACT_KILL_PROCESS: 0x80000000,
  SCMP_ACT_TRAP: 0x00030000,
  SCMP_ACT_ERRNO: 0x00050000,
  SCMP_ACT_TRACE: 0x7ff00000,
  SCMP_ACT_LOG: 0x7ffc0000,
  SCMP_ACT_ALLOW: 0x7fff0000,
};
const OPS = new Set<SeccompOp>([
  'SCMP_CMP_NE',
  'SCMP_CMP_LT',
  'SCMP_CMP_LE',
  'SCMP_CMP_EQ',
  'SCMP_CMP_GE',
  'SCMP_CMP_GT',
  'SCMP_CMP_MASKED_EQ',
]);
export const RET_ALLOW = ACTIONS.SCMP_ACT_ALLOW;
export const RET_KILL_PROCESS = ACTIONS.SCMP_ACT_KILL_PROCESS;
export const retErrno = (errno: number) => (ACTIONS.SCMP_ACT_ERRNO | (errno & 0xffff)) >>> 0;

/** The architectures tsnet builds filters for (AUDIT_ARCH_* values). */
export const ARCHES = {
  SCMP_ARCH_X86_64: { audit: 0xc000003e, bits: 64, table: X86_64 },
  SCMP_ARCH_X86: { audit: 0x40000003, bits: 32, table: I386 },
  SCMP_ARCH_X32: { audit: 0xc000003e, bits: 32, table: X32 },
} as const;
export type ArchName = keyof typeof ARCHES;

const tables = new Map<ArchName, Map<string, number>>();
export function syscallTable(arch: ArchName): Map<string, number> {
  let t = tables.get(arch);
  if (!t) {
    t = new Map(
      ARCHES[arch].table.split(' ').map((e) => {
        const i = e.lastIndexOf(':');
        return [e.slice(0, i), Number(e.slice(i + 1))] as const;
      }),
    );
    tables.set(arch, t);
  }
  return t;
}

function bad(msg: string): never {
  throw new TsnetError('TSNET_BAD_SECCOMP_PROFILE', `invalid seccomp profile: ${msg}`);
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const strList = (v: unknown, where: string): string[] => {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.some((s) => typeof s !== 'string')) bad(`${where} must be a list of strings`);
  return v as string[];
};
const u64 = (v: unknown, where: string): number => {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 2 ** 64 - 1)
    bad(`${where} must be an integer from 0 to 2^64-1`);
  return v;
};

function checkAction(v: unknown, where: string): SeccompAction {
  if (typeof v !== 'string' || !(v in ACTIONS)) {
    if (v === 'SCMP_ACT_NOTIFY') bad(`${where}: SCMP_ACT_NOTIFY is not supported`);
    bad(`${where}: unknown action ${JSON.stringify(v)} (use SCMP_ACT_ALLOW, SCMP_ACT_ERRNO, SCMP_ACT_KILL, …)`);
  }
  return v as SeccompAction;
}

function checkFilter(v: unknown, where: string): SeccompFilter | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isObj(v)) bad(`${where} must be an object`);
  const mk = v.minKernel;
  if (mk !== undefined && mk !== null && mk !== '' && (typeof mk !== 'string' || !/^\d+\.\d+$/.test(mk)))
    bad(`${where}.minKernel must look like "4.8"`);
  return {
    caps: strList(v.caps, `${where}.caps`),
    arches: strList(v.arches, `${where}.arches`),
    minKernel: (mk as string | undefined) || undefined,
  };
}

/** Parse and check a profile's JSON text; one-line TsnetError on anything wrong. */
export function parseProfile(text: string): SeccompProfile {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    bad(`not JSON: ${(err as Error).message}`);
  }
  return checkProfile(raw);
}

export function checkProfile(raw: unknown): SeccompProfile {
  if (!isObj(raw)) bad('the profile must be a JSON object');
  const defaultAction = checkAction(raw.defaultAction, 'defaultAction');
  const errno = (v: unknown, where: string) => {
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 4095) bad(`${where} must be an errno number`);
    return v;
  };
  const archMap = raw.archMap;
  if (archMap !== undefined && archMap !== null) {
    if (!Array.isArray(archMap)) bad('archMap must be a list');
    archMap.forEach((m, i) => {
      if (!isObj(m) || typeof m.architecture !== 'string') bad(`archMap[${i}].architecture must be a string`);
      strList(m.subArchitectures, `archMap[${i}].subArchitectures`);
    });
  }
  const syscalls = raw.syscalls ?? [];
  if (!Array.isArray(syscalls)) bad('syscalls must be a list');
  return {
    defaultAction,
    defaultErrnoRet: errno(raw.defaultErrnoRet, 'defaultErrnoRet'),
    architectures: strList(raw.architectures, 'architectures'),
    archMap: (archMap as SeccompProfile['archMap']) ?? null,
    syscalls: syscalls.map((s, i): SeccompSyscall => {
      const at = `syscalls[${i}]`;
      if (!isObj(s)) bad(`${at} must be an object`);
      const names = strList(s.names, `${at}.names`);
      if (typeof s.name === 'string') names.push(s.name);
      else if (s.name !== undefined) bad(`${at}.name must be a string`);
      if (names.length === 0) bad(`${at} names no syscall`);
      const args = s.args ?? [];
      if (!Array.isArray(args)) bad(`${at}.args must be a list`);
      return {
        names,
        action: checkAction(s.action, `${at}.action`),
        errnoRet: errno(s.errnoRet, `${at}.errnoRet`),
        args: args.map((a, j): SeccompArg => {
          const w = `${at}.args[${j}]`;
          if (!isObj(a)) bad(`${w} must be an object`);
          if (typeof a.index !== 'number' || !Number.isInteger(a.index) || a.index < 0 || a.index > 5)
            bad(`${w}.index must be 0 to 5`);
          if (typeof a.op !== 'string' || !OPS.has(a.op as SeccompOp)) bad(`${w}.op: unknown operator ${String(a.op)}`);
          return {
            index: a.index,
            value: u64(a.value ?? 0, `${w}.value`),
            valueTwo: u64(a.valueTwo ?? 0, `${w}.valueTwo`),
            op: a.op as SeccompOp,
          };
        }),
        includes: checkFilter(s.includes, `${at}.includes`),
        excludes: checkFilter(s.excludes, `${at}.excludes`),
      };
    }),
  };
}

export interface Cond {
  index: number;
  op: SeccompOp;
  value: bigint;
  valueTwo: bigint;
}
export interface Rule {
  ret: number;
  conds: Cond[];
}
export interface ArchRules {
  arch: ArchName;
  /** syscall number → rules, in profile order. */
  rules: Map<number, Rule[]>;
  /** the highest syscall number the profile names for this arch (newer ones answer ENOSYS). */
  maxNamed: number;
}
export interface ResolvedProfile {
  defaultRet: number;
  arches: ArchRules[];
}

export interface ResolveContext {
  /** The container's capability set, names with CAP_ prefix. */
  caps: ReadonlySet<string>;
  /** Running kernel as [major, minor]. */
  kernel: [number, number];
  /** Go's name of the host arch (moby compares includes/excludes arches to runtime.GOARCH). */
  goarch?: string;
}

function kernelAtLeast(k: [number, number], min: string): boolean {
  const [a = 0, b = 0] = min.split('.').map(Number);
  return k[0] > a || (k[0] === a && k[1] >= b);
}

function applies(s: SeccompSyscall, ctx: ResolveContext): boolean {
  const arch = ctx.goarch ?? 'amd64';
  const ex = s.excludes;
  if (ex) {
    if (ex.arches?.includes(arch)) return false;
    if (ex.caps?.some((c) => ctx.caps.has(c))) return false;
    if (ex.minKernel && kernelAtLeast(ctx.kernel, ex.minKernel)) return false;
  }
  const inc = s.includes;
  if (inc) {
    if (inc.arches?.length && !inc.arches.includes(arch)) return false;
    if (inc.caps?.some((c) => !ctx.caps.has(c))) return false;
    if (inc.minKernel && !kernelAtLeast(ctx.kernel, inc.minKernel)) return false;
  }
  return true;
}

function actionRet(action: SeccompAction, errnoRet: number | null | undefined): number {
  if (action === 'SCMP_ACT_ERRNO') return retErrno(errnoRet ?? 1);
  if (action === 'SCMP_ACT_TRACE') return (ACTIONS.SCMP_ACT_TRACE | ((errnoRet ?? 1) & 0xffff)) >>> 0;
  return ACTIONS[action] >>> 0;
}

/** The filter's architectures: the host's (x86_64) plus the profile's sub-architectures. */
function filterArches(p: SeccompProfile): ArchName[] {
  const out = new Set<ArchName>(['SCMP_ARCH_X86_64']);
  const mapped = p.archMap?.find((m) => m.architecture === 'SCMP_ARCH_X86_64');
  const listed = mapped ? (mapped.subArchitectures ?? []) : (p.architectures ?? []);
  for (const a of listed) if (a in ARCHES) out.add(a as ArchName);
  return [...out];
}

export function resolveProfile(p: SeccompProfile, ctx: ResolveContext): ResolvedProfile {
  const defaultRet = actionRet(p.defaultAction, p.defaultErrnoRet);
  const arches = filterArches(p).map((arch): ArchRules => {
    const table = syscallTable(arch);
    const rules = new Map<number, Rule[]>();
    let maxNamed = -1;
    for (const s of p.syscalls ?? []) {
      const nrs = (s.names ?? []).map((n) => table.get(n)).filter((n): n is number => n !== undefined);
      for (const nr of nrs) maxNamed = Math.max(maxNamed, nr);
      if (!applies(s, ctx)) continue;
      const ret = actionRet(s.action, s.errnoRet);
      const conds: Cond[] = (s.args ?? []).map((a) => ({
        index: a.index,
        op: a.op,
        value: BigInt(a.value),
        valueTwo: BigInt(a.valueTwo ?? 0),
      }));
      const sameIndex = new Set(conds.map((c) => c.index)).size < conds.length;
      const ruleList: Rule[] = sameIndex ? conds.map((c) => ({ ret, conds: [c] })) : [{ ret, conds }];
      for (const nr of nrs) {
        const list = rules.get(nr) ?? [];
        list.push(...ruleList);
        rules.set(nr, list);
      }
    }
    return { arch, rules, maxNamed };
  });
  return { defaultRet, arches };
}
