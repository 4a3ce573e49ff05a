/**
 * tsnet-init's security keys, driven directly (docs/tsnet-init.md): `seccomp=` (a filter the
 * daemon compiled), `cgroup_into=` (the child is born in a cgroup2 dir: no cgroup.procs write)
 * with `devices_bpf=` (the device program attached to it), and the v1 devices cgroup that
 * createCgroups sets up where no cgroup2 is used. Output is read from the CRI log.
 */
import test, { type ExecutionContext } from 'ava';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createCgroups } from '../../src/runtime/cgroups.js';
import { DEFAULT_CAPS } from '../../src/runtime/container/security-opts.js';
import { loadDevicePrograms } from '../../src/kernel/bpf.js';
import { deviceProgram } from '../../src/runtime/devices/bpf-program.js';
import { DEFAULT_DEVICE_RULES } from '../../src/runtime/devices/rules.js';
import { seccompFilter } from '../../src/runtime/seccomp/index.js';
import { BUSYBOX_TAR, eventually, REPO } from '../helpers/world.js';

const INIT = path.join(REPO, 'src/runtime/native/tsnet-init');
let base = '';
let rootfs = '';

test.before(() => {
  if (!fs.existsSync(INIT)) throw new Error(`${INIT} is missing: run npm run build`);
  base = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-nsec-'));
  rootfs = path.join(base, 'rootfs');
  fs.mkdirSync(rootfs);
  execFileSync('tar', ['-xf', BUSYBOX_TAR, '-C', rootfs]);
});
test.after.always(() => {
  if (base) fs.rmSync(base, { recursive: true, force: true });
});

interface Ran {
  out: string;
  code: number;
  /** /proc/<pid>/cgroup of the child at `ready`, before it was released */
  cgroupAtReady: string;
}

/** Spawn tsnet-init run, say go at ready, wait for the exit file, return the log's text. */
async function runInit(t: ExecutionContext, records: string[]): Promise<Ran> {
  const bundle = fs.mkdtempSync(path.join(base, 'b-'));
  const log = path.join(bundle, 'log');
  const spec = [`rootfs=${rootfs}`, 'env=PATH=/bin:/usr/bin', `log=${log}`, ...records];
  fs.writeFileSync(path.join(bundle, 'spec'), spec.map((r) => `${r}\0`).join(''));
  const proc = spawn(INIT, ['run', bundle], { stdio: ['pipe', 'pipe', 'inherit'] });
  t.teardown(() => {
    try {
      const pid = Number(fs.readFileSync(path.join(bundle, 'supervisor.pid'), 'utf8'));
      if (pid > 0 && !fs.existsSync(path.join(bundle, 'exit'))) process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  });
  let text = '';
  const ready = new Promise<string>((resolve, reject) => {
    proc.stdout!.setEncoding('utf8').on('data', (d: string) => {
      text += d;
      if (/^(ready \d+|error .*)$/m.test(text)) resolve(text);
    });
    proc.on('exit', () => reject(new Error(`tsnet-init exited: ${text}`)));
  });
  const line = await ready;
  const m = /^ready (\d+)$/m.exec(line);
  if (!m) throw new Error(line.trim());
  const cgroupAtReady = fs.readFileSync(`/proc/${m[1]}/cgroup`, 'utf8');
  proc.stdin!.write('go\n');
  await eventually(() => fs.existsSync(path.join(bundle, 'exit')), 20_000);
  const code = Number(/^code=(\d+)$/m.exec(fs.readFileSync(path.join(bundle, 'exit'), 'utf8'))![1]);
  const out = fs.existsSync(log)
    ? fs
        .readFileSync(log, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => l.split(' ').slice(3).join(' '))
        .join('\n')
    : '';
  return { out, code, cgroupAtReady };
}

const sh = (script: string) => ['arg=/bin/sh', 'arg=-c', `arg=${script}`];
const PROBE = 'mknod /r c 10 183; head -c1 /r; echo rng=$?; echo x > /dev/null && echo null-ok';

function cgroupsFor(t: ExecutionContext, devices: 'auto' | 'v1', mount?: string, attach = false) {
  const parent = `tsnet-test-${randomBytes(4).toString('hex')}`;
  const cg = createCgroups({
    parent,
    devices,
    ...(mount ? { mount } : {}),
    ...(attach ? { programs: loadDevicePrograms() } : {}),
  });
  t.teardown(async () => {
    // the supervisors are gone (teardowns run last-in first-out); a dir may stay busy a moment
    await eventually(() => {
      try {
        for (const name of cg.list()) cg.remove(name);
        return true;
      } catch {
        return false;
      }
    });
    for (const c of fs.readdirSync('/sys/fs/cgroup')) {
      try {
        fs.rmdirSync(path.join('/sys/fs/cgroup', c, parent));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
  });
  return { cg, parent };
}

test('v1 devices cgroup: deny all, then the default allow-list; the probe is refused', async (t) => {
  const { cg } = cgroupsFor(t, 'v1');
  const p = cg.create('c1', {}, DEFAULT_DEVICE_RULES);
  t.is(p.devices, 'v1');
  t.is(p.into, undefined);
  const dir = p.join.find((d) => d.includes('/devices/'))!;
  t.truthy(dir);
  t.true(fs.readFileSync(path.join(dir, 'devices.list'), 'utf8').includes('c 136:* rwm'));
  t.false(fs.readFileSync(path.join(dir, 'devices.list'), 'utf8').includes('a *:* rwm'));
  const r = await runInit(t, [...p.join.map((d) => `cgroup=${d}`), ...sh(`${PROBE} 2>&1`)]);
  t.regex(r.out, /rng=1/);
  t.regex(r.out, /Operation not permitted/);
  t.regex(r.out, /null-ok/);
});

test('cgroup2 device program: the child is born in its cgroup (clone3) and the probe is refused', async (t) => {
  const { cg, parent } = cgroupsFor(t, 'auto');
  const p = cg.create('c2', {}, DEFAULT_DEVICE_RULES);
  t.is(p.devices, 'bpf');
  t.truthy(p.into);
  const prog = path.join(base, `dev-${randomBytes(3).toString('hex')}.bpf`);
  fs.writeFileSync(prog, deviceProgram(DEFAULT_DEVICE_RULES));
  const r = await runInit(t, [`cgroup_into=${p.into}`, `devices_bpf=${prog}`, ...sh(`${PROBE} 2>&1`)]);
  t.regex(r.cgroupAtReady, new RegExp(`^0::/${parent}/c2$`, 'm'));
  t.regex(r.out, /rng=1/);
  t.regex(r.out, /Operation not permitted/);
  t.regex(r.out, /null-ok/);
  // without the program the same cgroup allows it (hwrng may be busy, but not EPERM)
  const p3 = cg.create('c3', {}, DEFAULT_DEVICE_RULES);
  const open = await runInit(t, [
    `cgroup_into=${p3.into}`,
    ...sh('mknod /r c 10 183; head -c1 /r >/dev/null 2>/tmp/e; echo rng=$?; cat /tmp/e'),
  ]);
  t.notRegex(open.out, /Operation not permitted/);
});

/** This process's fds that are loaded BPF programs. */
function progFds(): number {
  return fs.readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return fs.readlinkSync(`/proc/self/fd/${fd}`) === 'anon_inode:bpf-prog';
    } catch {
      return false;
    }
  }).length;
}

test('device program attached by createCgroups (the daemon): no devices_bpf key, the probe is refused; one load per allow-list', async (t) => {
  const { cg, parent } = cgroupsFor(t, 'auto', undefined, true);
  const before = progFds();
  const p = cg.create('a1', {}, DEFAULT_DEVICE_RULES);
  t.is(p.devices, 'attached');
  t.truthy(p.into);
  t.is(progFds(), before + 1);
  const r = await runInit(t, [`cgroup_into=${p.into}`, ...sh(`${PROBE} 2>&1`)]);
  t.regex(r.cgroupAtReady, new RegExp(`^0::/${parent}/a1$`, 'm'));
  t.regex(r.out, /rng=1/);
  t.regex(r.out, /Operation not permitted/);
  t.regex(r.out, /null-ok/);
  // the same allow-list: the loaded program is attached again, not loaded again
  const p2 = cg.create('a2', {}, DEFAULT_DEVICE_RULES);
  t.is(progFds(), before + 1);
  const r2 = await runInit(t, [`cgroup_into=${p2.into}`, ...sh(`${PROBE} 2>&1`)]);
  t.regex(r2.out, /rng=1/);
  t.deepEqual(cg.placement('a2'), p2);
  t.is(cg.create('priv', {}, 'all').devices, 'none');
  // at most 32 allow-lists are kept loaded: the oldest program's fd is closed (its dirs keep it)
  for (let i = 0; i < 33; i++) cg.create(`m${i}`, {}, [...DEFAULT_DEVICE_RULES, { type: 'c', major: 10, minor: i, access: 'r' }]);
  t.is(progFds(), before + 32);
  const r3 = await runInit(t, [`cgroup_into=${p.into}`, ...sh(`${PROBE} 2>&1`)]);
  t.regex(r3.out, /rng=1/);
});

test("loadDevicePrograms: a program the verifier refuses is one error with the verifier's reason", (t) => {
  const bad = Buffer.from(deviceProgram(DEFAULT_DEVICE_RULES));
  bad.writeUInt8(0xff, 0);
  const err = t.throws(() => loadDevicePrograms().load(bad));
  t.regex(err!.message, /^load device program: EINVAL: unknown opcode ff$/);
});

test('seccomp key: the filter is installed just before execve; a broken filter file fails setup with 125', async (t) => {
  const f = path.join(base, 'sc.bpf');
  fs.writeFileSync(f, seccompFilter(undefined, DEFAULT_CAPS));
  const r = await runInit(t, [
    `seccomp=${f}`,
    ...sh('grep ^Seccomp: /proc/self/status; unshare -U true 2>&1; echo unshare=$?; mkdir /d && echo mkdir-ok'),
  ]);
  t.regex(r.out, /Seccomp:\s+2/);
  t.regex(r.out, /unshare=1/);
  t.regex(r.out, /mkdir-ok/);
  const broken = path.join(base, 'broken.bpf');
  fs.writeFileSync(broken, Buffer.alloc(12));
  const bundle = fs.mkdtempSync(path.join(base, 'b-'));
  fs.writeFileSync(
    path.join(bundle, 'spec'),
    [`rootfs=${rootfs}`, `seccomp=${broken}`, 'arg=true'].map((x) => `${x}\0`).join(''),
  );
  const res = spawnSync(INIT, ['run', bundle], { input: '', encoding: 'utf8' });
  t.is(res.status, 125);
  t.regex(res.stdout, /^error 125 read seccomp filter .*broken\.bpf: Invalid argument$/m);
});

test('pure cgroup v2 layout (createCgroups on a cgroup2 mount): one dir, the device program, no write', async (t) => {
  // this host is v1 hybrid; its controller-less cgroup2 mount stands in for a v2 host's root
  const mount = '/sys/fs/cgroup/unified';
  t.true(fs.existsSync(path.join(mount, 'cgroup.controllers')), 'needs the cgroup2 mount at /sys/fs/cgroup/unified');
  const { cg, parent } = cgroupsFor(t, 'auto', mount);
  t.is(cg.version, 2);
  const p = cg.create('c4', {}, DEFAULT_DEVICE_RULES);
  t.deepEqual(p, { join: [], into: path.join(mount, parent, 'c4'), devices: 'bpf' });
  t.deepEqual(cg.placement('c4'), p);
  const prog = path.join(base, `dev-${randomBytes(3).toString('hex')}.bpf`);
  fs.writeFileSync(prog, deviceProgram(DEFAULT_DEVICE_RULES));
  const r = await runInit(t, [`cgroup_into=${p.into}`, `devices_bpf=${prog}`, ...sh(`${PROBE} 2>&1`)]);
  t.regex(r.cgroupAtReady, new RegExp(`^0::/${parent}/c4$`, 'm'));
  t.regex(r.out, /rng=1/);
  t.regex(r.out, /Operation not permitted/);
  t.true(cg.list().includes('c4'));
  t.deepEqual(cg.create('priv', {}, 'all').devices, 'none');
});
