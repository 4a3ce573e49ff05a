/**
 * The seccomp compiler, checked by running its classic BPF program in a small interpreter over
 * struct seccomp_data, the way the kernel does (Docker's default profile semantics).
 */
import test from 'ava';
import { checkSecurity, securitySettings } from '../../../src/runtime/container/security-opts.js';
import { DEFAULT_PROFILE, parseProfile, seccompFilter } from '../../../src/runtime/seccomp/index.js';
import { syscallTable } from '../../../src/runtime/seccomp/profile.js';
import { DEFAULT_CAPS } from '../../../src/runtime/container/security-opts.js';

const AUDIT_X86_64 = 0xc000003e;
const AUDIT_I386 = 0x40000003;
const ALLOW = 0x7fff0000;
const KILL_PROCESS = 0x80000000;
const errno = (e: number) => (0x00050000 | e) >>> 0;
const EPERM = errno(1);
const ENOSYS = errno(38);

/** Run a classic BPF seccomp program (the subset the compiler emits). */
function runFilter(prog: Buffer, nr: number, arch: number, args: bigint[] = []): number {
  const data = Buffer.alloc(64);
  data.writeUInt32LE(nr >>> 0, 0);
  data.writeUInt32LE(arch >>> 0, 4);
  args.forEach((a, i) => {
    data.writeBigUInt64LE(a, 16 + 8 * i);
  });
  let A = 0;
  for (let pc = 0, steps = 0; pc < prog.length / 8 && steps < 10_000; steps++) {
    const code = prog.readUInt16LE(pc * 8);
    const jt = prog.readUInt8(pc * 8 + 2);
    const jf = prog.readUInt8(pc * 8 + 3);
    const k = prog.readUInt32LE(pc * 8 + 4);
    pc++;
    switch (code) {
      case 0x20:
        A = data.readUInt32LE(k);
        break;
      case 0x54:
        A = (A & k) >>> 0;
        break;
      case 0x05:
        pc += k;
        break;
      case 0x15:
        pc += A === k ? jt : jf;
        break;
      case 0x25:
        pc += A > k ? jt : jf;
        break;
      case 0x35:
        pc += A >= k ? jt : jf;
        break;
      case 0x06:
        return k;
      default:
        throw new Error(`unknown opcode ${code}`);
    }
  }
  throw new Error('fell off the program');
}

const nr = (name: string, arch: 'SCMP_ARCH_X86_64' | 'SCMP_ARCH_X86' | 'SCMP_ARCH_X32' = 'SCMP_ARCH_X86_64') =>
  syscallTable(arch).get(name)!;
const dflt = seccompFilter(undefined, DEFAULT_CAPS, [6, 18]);
const admin = seccompFilter(undefined, [...DEFAULT_CAPS, 'CAP_SYS_ADMIN'], [6, 18]);
const x64 = (prog: Buffer, name: string, args: bigint[] = []) => runFilter(prog, nr(name), AUDIT_X86_64, args);

test('default profile: the allow-list, EPERM for the rest, ENOSYS beyond the newest named syscall', (t) => {
  for (const s of ['read', 'write', 'openat', 'execve', 'mkdir', 'mknodat', 'exit_group', 'rt_sigreturn', 'futex_waitv'])
    t.is(x64(dflt, s), ALLOW, s);
  for (const s of ['mount', 'unshare', 'setns', 'kexec_load', 'init_module', 'bpf', 'open_by_handle_at', 'reboot'])
    t.is(x64(dflt, s), EPERM, s);
  // minKernel 4.8: ptrace is allowed from there on (seccomp bypass via ptrace was fixed in 4.8)
  t.is(x64(dflt, 'ptrace'), ALLOW);
  t.is(x64(seccompFilter(undefined, DEFAULT_CAPS, [4, 4]), 'ptrace'), EPERM);
  t.is(runFilter(dflt, 1000, AUDIT_X86_64), ENOSYS);
  t.is(runFilter(dflt, nr('set_mempolicy_home_node') + 1, AUDIT_X86_64), ENOSYS);
});

test('default profile: clone without namespace flags only; clone3 answers ENOSYS; CAP_SYS_ADMIN unlocks both and mount/unshare/setns', (t) => {
  const CLONE_NEWUSER = 0x10000000n;
  const CLONE_NEWNS = 0x00020000n;
  const threadFlags = 0x3d0f00n; // what pthread_create passes
  t.is(x64(dflt, 'clone', [threadFlags]), ALLOW);
  t.is(x64(dflt, 'clone', [0x11n]), ALLOW); // fork: SIGCHLD
  t.is(x64(dflt, 'clone', [CLONE_NEWUSER | 0x11n]), EPERM);
  t.is(x64(dflt, 'clone', [CLONE_NEWNS]), EPERM);
  t.is(x64(dflt, 'clone3'), ENOSYS);
  for (const s of ['clone3', 'mount', 'unshare', 'setns', 'umount2', 'sethostname'])
    t.is(x64(admin, s, [CLONE_NEWUSER]), ALLOW, s);
  t.is(x64(admin, 'clone', [CLONE_NEWUSER]), ALLOW);
  t.is(x64(seccompFilter(undefined, [...DEFAULT_CAPS, 'CAP_SYS_PTRACE'], [6, 18]), 'ptrace'), ALLOW);
  t.is(x64(seccompFilter(undefined, [], [6, 18]), 'chroot'), EPERM); // chroot needs CAP_SYS_CHROOT
  t.is(x64(dflt, 'chroot'), ALLOW);
});

test('default profile: argument filters compare all 64 bits (socket AF_VSOCK, personality)', (t) => {
  t.is(x64(dflt, 'socket', [2n]), ALLOW);
  t.is(x64(dflt, 'socket', [40n]), EPERM);
  t.is(x64(dflt, 'socket', [(1n << 32n) | 40n]), ALLOW); // not 40: the high word differs
  for (const p of [0n, 8n, 0x20000n, 0x20008n, 0xffffffffn]) t.is(x64(dflt, 'personality', [p]), ALLOW, String(p));
  t.is(x64(dflt, 'personality', [0x0040000n]), EPERM); // ADDR_NO_RANDOMIZE
  t.is(x64(dflt, 'personality', [0x1ffffffffn]), EPERM);
});

test('architectures: i386 and x32 have their own tables; other architectures are killed', (t) => {
  t.is(runFilter(dflt, nr('socketcall', 'SCMP_ARCH_X86'), AUDIT_I386), ALLOW);
  t.is(runFilter(dflt, nr('mount', 'SCMP_ARCH_X86'), AUDIT_I386), EPERM);
  t.is(runFilter(dflt, nr('clone', 'SCMP_ARCH_X86'), AUDIT_I386, [0x10000000n]), EPERM);
  t.is(runFilter(dflt, nr('read', 'SCMP_ARCH_X32'), AUDIT_X86_64), ALLOW);
  t.is(runFilter(dflt, nr('unshare', 'SCMP_ARCH_X32'), AUDIT_X86_64), EPERM);
  t.is(runFilter(dflt, 0, 0xc00000b7), KILL_PROCESS); // aarch64
  const only64 = seccompFilter(parseProfile('{"defaultAction":"SCMP_ACT_ALLOW"}'), [], [6, 18]);
  t.is(runFilter(only64, nr('read', 'SCMP_ARCH_X32'), AUDIT_X86_64), KILL_PROCESS);
  t.is(runFilter(only64, 3, AUDIT_I386), KILL_PROCESS);
});

test('custom profiles: Docker JSON format, all comparison operators, duplicate-argument rules are ORed', (t) => {
  const p = parseProfile(
    JSON.stringify({
      defaultAction: 'SCMP_ACT_ALLOW',
      architectures: ['SCMP_ARCH_X86_64'],
      syscalls: [
        { names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 13 },
        { names: ['kill'], action: 'SCMP_ACT_KILL_PROCESS', args: [{ index: 1, value: 9, op: 'SCMP_CMP_EQ' }] },
        { names: ['read'], action: 'SCMP_ACT_ERRNO', args: [{ index: 2, value: 4096, op: 'SCMP_CMP_GT' }] },
        { names: ['write'], action: 'SCMP_ACT_ERRNO', args: [{ index: 2, value: 2, op: 'SCMP_CMP_LT' }] },
        {
          names: ['pread64'],
          action: 'SCMP_ACT_ERRNO',
          args: [{ index: 3, value: 0xff, valueTwo: 0x10, op: 'SCMP_CMP_MASKED_EQ' }],
        },
        {
          names: ['dup'],
          action: 'SCMP_ACT_ERRNO',
          args: [
            { index: 0, value: 5, op: 'SCMP_CMP_EQ' },
            { index: 0, value: 7, op: 'SCMP_CMP_EQ' },
          ],
        },
        { names: ['getpid'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: 2 ** 33, op: 'SCMP_CMP_GE' }] },
        { names: ['no_such_syscall'], action: 'SCMP_ACT_ERRNO' },
      ],
    }),
  );
  const f = seccompFilter(p, [], [6, 18]);
  t.is(x64(f, 'mkdir'), errno(13));
  t.is(x64(f, 'kill', [1n, 9n]), KILL_PROCESS);
  t.is(x64(f, 'kill', [1n, 15n]), ALLOW);
  t.is(x64(f, 'read', [0n, 0n, 4097n]), EPERM);
  t.is(x64(f, 'read', [0n, 0n, 4096n]), ALLOW);
  t.is(x64(f, 'read', [0n, 0n, 1n << 32n]), EPERM);
  t.is(x64(f, 'write', [0n, 0n, 1n]), EPERM);
  t.is(x64(f, 'write', [0n, 0n, 2n]), ALLOW);
  t.is(x64(f, 'write', [0n, 0n, 1n << 32n]), ALLOW);
  t.is(x64(f, 'pread64', [0n, 0n, 0n, 0x1310n]), EPERM);
  t.is(x64(f, 'pread64', [0n, 0n, 0n, 0x1311n]), ALLOW);
  t.is(x64(f, 'dup', [5n]), EPERM);
  t.is(x64(f, 'dup', [7n]), EPERM);
  t.is(x64(f, 'dup', [6n]), ALLOW);
  t.is(x64(f, 'getpid', [2n ** 33n]), EPERM);
  t.is(x64(f, 'getpid', [2n ** 32n]), ALLOW);
  t.is(runFilter(f, 1000, AUDIT_X86_64), ALLOW); // no ENOSYS stub when the default allows
});

test('profile errors are one line naming the field', (t) => {
  const bad = [
    ['not json', /not JSON/],
    ['[]', /must be a JSON object/],
    ['{"defaultAction":"SCMP_ACT_NOPE"}', /defaultAction: unknown action "SCMP_ACT_NOPE"/],
    ['{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":[],"action":"SCMP_ACT_ERRNO"}]}', /syscalls\[0\] names no syscall/],
    [
      '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["x"],"action":"SCMP_ACT_NOTIFY"}]}',
      /SCMP_ACT_NOTIFY is not supported/,
    ],
    [
      '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["x"],"action":"SCMP_ACT_ERRNO","args":[{"index":6,"value":1,"op":"SCMP_CMP_EQ"}]}]}',
      /args\[0\].index must be 0 to 5/,
    ],
    [
      '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["x"],"action":"SCMP_ACT_ERRNO","args":[{"index":0,"value":-1,"op":"SCMP_CMP_EQ"}]}]}',
      /value must be an integer/,
    ],
  ] as const;
  for (const [text, re] of bad) {
    const err = t.throws(() => parseProfile(text));
    t.regex(err!.message, re);
    t.false(err!.message.includes('\n'));
  }
  t.notThrows(() => parseProfile(JSON.stringify(DEFAULT_PROFILE)));
  t.throws(() => seccompFilter(undefined, DEFAULT_CAPS, [6, 18], 'arm64'), {
    message: /only built for x86_64.*seccomp=unconfined/,
  });
});

test('security options: seccomp and no-new-privileges forms as Docker; privileged turns seccomp off; bad ones refused', (t) => {
  t.is(securitySettings({}).seccomp, 'default');
  t.is(securitySettings({ SecurityOpt: ['seccomp=unconfined'] }).seccomp, undefined);
  t.is(securitySettings({ SecurityOpt: ['seccomp:unconfined'] }).seccomp, undefined);
  t.is(securitySettings({ Privileged: true }).seccomp, undefined);
  t.like(securitySettings({ SecurityOpt: ['seccomp={"defaultAction":"SCMP_ACT_ALLOW"}'] }).seccomp, {
    defaultAction: 'SCMP_ACT_ALLOW',
  });
  for (const ok of ['no-new-privileges', 'no-new-privileges=true', 'no-new-privileges:false', 'label=disable'])
    t.notThrows(() => securitySettings({ SecurityOpt: [ok] }), ok);
  for (const bad of ['seccomp=/etc/profile.json', 'no-new-privileges=maybe', 'apparmor=docker-default', 'x'])
    t.throws(() => securitySettings({ SecurityOpt: [bad] }), { message: /invalid --security-opt/ }, bad);
  t.throws(() => checkSecurity({ CapAdd: ['NOPE'] }), { message: 'unknown capability: "NOPE"' });
  t.notThrows(() => checkSecurity({ DeviceCgroupRules: ['c 1:3 rwm', 'b *:* m', 'c 136:* rw', 'a *:* rwm'] }));
  for (const r of ['c 1:3', 'x 1:3 r', 'c 1:3 rr', 'c -1:3 r', 'c 1:3 rwm\n'])
    t.throws(() => checkSecurity({ DeviceCgroupRules: [r] }), { message: /invalid device cgroup rule/ }, r);
  t.throws(() => checkSecurity({ Devices: [{ PathOnHost: 'dev/null' }] }), { message: /must be absolute/ });
  t.throws(() => checkSecurity({ Devices: [{ PathOnHost: '/dev/null', CgroupPermissions: 'rwx' }] }), {
    message: /combination of r, w and m/,
  });
});
