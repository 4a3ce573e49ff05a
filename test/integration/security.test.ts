/**
 * A hostile container stays contained (issue 10): the devices cgroup (Docker's allow-list,
 * --device, --privileged), seccomp (Docker's default profile, unconfined, a custom profile),
 * --cap-add/--cap-drop ALL, and the API refusing a relative bind source. Every probe is run as
 * the attacker would, with busybox inside a real container.
 */
import test from 'ava';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { DEFAULT_PROFILE } from '../../src/runtime/seccomp/index.js';
import { BUSYBOX_TAR, createWorld, run, type World } from '../helpers/world.js';

let w: World;
test.before(async () => {
  w = await createWorld();
});
test.after.always(async () => {
  await w?.teardown();
});

const sh = (script: string, flags: string[] = []) =>
  w.cli(['run', '--rm', '--network', 'none', ...flags, 'busybox', 'sh', '-c', script]);
const EPERM = /Operation not permitted/;

/** A seccomp profile file in `dir` that allows everything but `names` (they fail with `errno`). */
function profileRefusing(dir: string, names: string[], errno: number): string {
  const file = path.join(dir, `no-${names[0]}.json`);
  const syscalls = [{ names, action: 'SCMP_ACT_ERRNO', errnoRet: errno }];
  fs.writeFileSync(file, JSON.stringify({ defaultAction: 'SCMP_ACT_ALLOW', syscalls }));
  return file;
}

test('devices: a node made with mknod cannot be opened (hwrng 10:183, tty1 4:1, loop0 7:0); mknod itself works', async (t) => {
  const r = await sh(
    'mknod /r c 10 183 && echo made; head -c8 /r >/dev/null; echo rng=$?; ' +
      'mknod /t c 4 1; dd if=/t of=/dev/null count=0 2>&1; echo tty=$?; mknod /l b 7 0; dd if=/l of=/dev/null count=1 2>&1; echo loop=$?',
  );
  t.is(r.exitCode, 0, r.stderr);
  t.regex(r.stdout, /^made$/m);
  t.regex(r.stdout, /rng=1/);
  t.regex(r.stdout, /tty=1/);
  t.regex(r.stdout, /loop=1/);
  t.regex(r.stdout + r.stderr, EPERM);
  t.notRegex(r.stdout + r.stderr, /No such device/);
});

test("devices: Docker's default nodes still work (null, zero, full, random, urandom, tty, ptmx)", async (t) => {
  const r = await sh(
    'head -c4 /dev/zero | wc -c; head -c4 /dev/urandom | wc -c; head -c4 /dev/random | wc -c; echo x > /dev/null && echo null-ok; ' +
      'echo x > /dev/full; echo full=$?; mknod /n c 1 3 && echo y > /n && echo mknull-ok',
  );
  t.is(r.exitCode, 0, r.stderr);
  t.is(r.stdout, '4\n4\n4\nnull-ok\nfull=1\nmknull-ok\n');
  t.regex(r.stderr, /No space left on device/);
  const tty = await w.cli(['run', '--rm', '--network', 'none', '-t', 'busybox', 'sh', '-c', 'tty && echo ok']);
  t.is(tty.exitCode, 0, tty.stderr);
  t.regex(tty.stdout, /\/dev\/(pts\/0|console)/);
});

test('devices: a device node shipped in an image layer (mem 1:1) cannot be opened', async (t) => {
  const dir = fs.mkdtempSync(path.join(w.dir, 'devimg-'));
  const tar = path.join(dir, 'img.tar');
  const py = [
    'import tarfile,sys,io',
    'src=tarfile.open(sys.argv[1]); out=tarfile.open(sys.argv[2],"w")',
    '[out.addfile(m, src.extractfile(m) if m.isfile() else None) for m in src.getmembers()]',
    'i=tarfile.TarInfo("./mem"); i.type=tarfile.CHRTYPE; i.devmajor=1; i.devminor=1; i.mode=0o666; out.addfile(i)',
    'out.close()',
  ].join('\n');
  const made = await run('python3', ['-c', py, BUSYBOX_TAR, tar]);
  t.is(made.exitCode, 0, `python3 is needed to build the test image: ${made.stderr}`);
  t.is((await w.cli(['image', 'import', tar, '--tag', `devimg-${w.id}`])).exitCode, 0);
  const r = await w.cli([
    'run',
    '--rm',
    '--network',
    'none',
    `devimg-${w.id}`,
    'sh',
    '-c',
    'ls -l /mem; head -c1 /mem; echo mem=$?',
  ]);
  t.is(r.exitCode, 0, r.stderr);
  t.regex(r.stdout, /^c.* 1,\s+1 .*\/mem$/m);
  t.regex(r.stdout, /mem=1/);
  t.regex(r.stderr, EPERM);
});

test('--device HOST:CTR[:perms] grants that node only, with its permissions; --privileged allows all', async (t) => {
  // loop0 (b 7:0) is not in the default list: read-only access is what `:r` gives
  const r = await sh(
    'echo hi > /dev/mynull && echo w-ok; dd if=/dev/l of=/dev/null count=0 && echo r-ok; dd if=/dev/zero of=/dev/l count=0; echo lw=$?',
    ['--device', '/dev/null:/dev/mynull', '--device', '/dev/loop0:/dev/l:r'],
  );
  t.is(r.exitCode, 0, r.stderr);
  t.is(r.stdout, 'w-ok\nr-ok\nlw=1\n');
  t.regex(r.stderr, EPERM);
  const rw = await sh('dd if=/dev/zero of=/dev/l count=0 && echo lw-ok', ['--device', '/dev/loop0:/dev/l']);
  t.is(rw.stdout, 'lw-ok\n', rw.stderr);
  const missing = await sh('true', ['--device', '/dev/nonexistent-tsnet']);
  t.is(missing.exitCode, 125);
  t.regex(missing.stderr, /nonexistent-tsnet/);
  t.is(missing.stderr.trim().split('\n').length, 1);
  const notDev = await sh('true', ['--device', '/etc/hostname']);
  t.is(notDev.exitCode, 125);
  t.regex(notDev.stderr, /not a character or block device/);

  const rule = await sh(
    'mknod /l b 7 0 && dd if=/l of=/dev/null count=0 && echo r-ok; dd if=/dev/zero of=/l count=0; echo lw=$?',
    ['--device-cgroup-rule', 'b 7:* r'],
  );
  t.is(rule.stdout, 'r-ok\nlw=1\n', rule.stderr);
  const badRule = await sh('true', ['--device-cgroup-rule', 'c 1:3 rwx']);
  t.is(badRule.exitCode, 125);
  t.regex(badRule.stderr, /invalid device cgroup rule "c 1:3 rwx"/);

  const priv = await sh('mknod /l b 7 0 && dd if=/l of=/dev/null count=0 && echo loop-ok', ['--privileged']);
  t.is(priv.exitCode, 0, priv.stderr);
  t.regex(priv.stdout, /loop-ok/);
});

test('devices: an exec process is held by the same rules', async (t) => {
  const name = `devexec-${w.id}`;
  await w.ok(['run', '-d', '--name', name, '--network', 'none', 'busybox', 'sleep', '1000']);
  t.teardown(() => w.cli(['rm', '-f', name]).then(() => undefined));
  const r = await w.cli(['exec', name, 'sh', '-c', 'mknod /r c 10 183; head -c1 /r; echo rng=$?']);
  t.is(r.exitCode, 0, r.stderr);
  t.regex(r.stdout, /rng=1/);
  t.regex(r.stderr, EPERM);
});

// busybox has no /mnt; the container's root may create it
const UNSHARE_MOUNT = "mkdir -p /mnt && unshare -U -r -m sh -c 'mount -t tmpfs t /mnt && echo mounted'";

test('seccomp: unshare+mount is refused by default; allowed with --privileged, --cap-add SYS_ADMIN, or seccomp=unconfined', async (t) => {
  const def = await sh(UNSHARE_MOUNT);
  t.not(def.exitCode, 0);
  t.regex(def.stderr, EPERM);
  t.notRegex(def.stdout, /mounted/);
  for (const flags of [['--privileged'], ['--cap-add', 'SYS_ADMIN'], ['--security-opt', 'seccomp=unconfined']]) {
    const r = await sh(UNSHARE_MOUNT, flags);
    t.is(r.exitCode, 0, `${flags.join(' ')}: ${r.stderr}`);
    t.is(r.stdout, 'mounted\n', flags.join(' '));
  }
  // the filter shows in /proc: mode 2 by default, 0 when unconfined or privileged
  const mode = await sh('grep ^Seccomp: /proc/self/status');
  t.regex(mode.stdout, /Seccomp:\s+2/);
  const off = await sh('grep ^Seccomp: /proc/self/status', ['--privileged']);
  t.regex(off.stdout, /Seccomp:\s+0/);
});

test('seccomp: a custom profile that blocks mkdir; a bad profile or option is refused with one line', async (t) => {
  const dir = fs.mkdtempSync(path.join(w.dir, 'sc-'));
  const profile = profileRefusing(dir, ['mkdir', 'mkdirat'], 13);
  const r = await sh('ls / >/dev/null && echo ls-ok; mkdir /x; echo mkdir=$?', ['--security-opt', `seccomp=${profile}`]);
  t.is(r.exitCode, 0, r.stderr);
  t.is(r.stdout, 'ls-ok\nmkdir=1\n');
  t.regex(r.stderr, /Permission denied/);
  const plain = await sh('mkdir /x && echo mkdir-ok');
  t.is(plain.stdout, 'mkdir-ok\n');
  // Docker's whole default profile (~10 KB of JSON) without mkdir/mkdirat: they fall to EPERM
  const docker = structuredClone(DEFAULT_PROFILE);
  docker.syscalls![0]!.names = docker.syscalls![0]!.names!.filter((n) => n !== 'mkdir' && n !== 'mkdirat');
  fs.writeFileSync(path.join(dir, 'docker-no-mkdir.json'), JSON.stringify(docker, null, 2));
  const big = await sh('ls / >/dev/null && echo ls-ok; mkdir /x; echo mkdir=$?', [
    '--security-opt',
    `seccomp=${path.join(dir, 'docker-no-mkdir.json')}`,
  ]);
  t.is(big.stdout, 'ls-ok\nmkdir=1\n', big.stderr);
  t.regex(big.stderr, EPERM);

  fs.writeFileSync(path.join(dir, 'bad.json'), JSON.stringify({ defaultAction: 'SCMP_ACT_NOPE' }));
  for (const opt of [`seccomp=${path.join(dir, 'bad.json')}`, 'seccomp=/nonexistent/p.json', 'apparmor=foo', 'bogus']) {
    const bad = await sh('true', ['--security-opt', opt]);
    t.is(bad.exitCode, 125, opt);
    t.is(bad.stderr.trim().split('\n').length, 1, bad.stderr);
  }
  const nnp = await sh('grep ^NoNewPrivs /proc/self/status', ['--security-opt', 'no-new-privileges']);
  t.is(nnp.exitCode, 0, nnp.stderr);
  t.regex(nnp.stdout, /NoNewPrivs:\s+1/);
});

test("seccomp: Docker's default filter is loaded before ready, a custom one right before the execve (a profile may refuse what tsnet-init calls in between)", async (t) => {
  // decision 47: the child calls sendmsg, read, stat and execve after `ready`; Docker's default
  // profile allows them, so its filter is loaded early (off the start's path); a user's need not
  const specOf = (id: string): string[] =>
    fs.readFileSync(path.join(w.execRoot, 'c', id.slice(0, 16), 'spec'), 'utf8').split('\0');
  const id = (await w.ok(['run', '-d', '--network', 'none', 'busybox', 'sleep', '60'])).trim();
  t.teardown(() => w.cli(['rm', '-f', id]));
  t.true(specOf(id).includes('seccomp_early=1'));
  const profile = profileRefusing(fs.mkdtempSync(path.join(w.dir, 'sc-')), ['sendmsg'], 1);
  const r = await sh('echo ran', ['--security-opt', `seccomp=${profile}`]);
  t.is(r.exitCode, 0, r.stderr);
  t.is(r.stdout, 'ran\n');
});

test('--cap-add ALL grants every capability, --cap-drop ALL none; unknown capabilities are refused', async (t) => {
  // "all" is every capability this machine's root has (a sandbox may lack some, e.g. SYS_RESOURCE)
  const hostBnd = BigInt(`0x${/^CapBnd:\s+([0-9a-f]+)$/m.exec(fs.readFileSync('/proc/self/status', 'utf8'))![1]}`);
  const hex = (v: bigint) => v.toString(16).padStart(16, '0');
  const all = await sh('grep -E "^Cap(Eff|Bnd)" /proc/self/status', ['--cap-add', 'ALL']);
  t.is(all.exitCode, 0, all.stderr);
  t.true(hostBnd > 0xa80425fbn);
  t.is(all.stdout, `CapEff:\t${hex(hostBnd)}\nCapBnd:\t${hex(hostBnd)}\n`);
  const allButOne = await sh('grep ^CapEff /proc/self/status', ['--cap-add', 'ALL', '--cap-drop', 'NET_ADMIN']);
  t.is(allButOne.stdout, `CapEff:\t${hex(hostBnd & ~(1n << 12n))}\n`);
  const none = await sh('grep -E "^Cap(Eff|Bnd)" /proc/self/status', ['--cap-drop', 'ALL']);
  t.regex(none.stdout, /CapEff:\s+0000000000000000/);
  t.regex(none.stdout, /CapBnd:\s+0000000000000000/);
  const onlyOne = await sh('grep ^CapEff /proc/self/status', ['--cap-drop', 'ALL', '--cap-add', 'CHOWN']);
  t.regex(onlyOne.stdout, /CapEff:\s+0000000000000001/);
  const bad = await sh('true', ['--cap-add', 'NOT_A_CAP']);
  t.is(bad.exitCode, 125);
  t.regex(bad.stderr, /unknown capability: "NOT_A_CAP"/);
});

function api(method: string, urlPath: string, body: unknown): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const data = JSON.stringify(body);
    const req = http.request(
      { socketPath: w.socket, path: urlPath, method, headers: { 'content-type': 'application/json' } },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

test.serial('a relative bind source is refused by the API with one line and nothing is made', async (t) => {
  const before = fs.existsSync(path.join(w.root, 'containers')) ? fs.readdirSync(path.join(w.root, 'containers')).length : 0;
  for (const bind of ['./x:/x', '../x:/x', '.:/x']) {
    const r = await api('POST', '/v1.41/containers/create', { Image: 'busybox', Cmd: ['true'], HostConfig: { Binds: [bind] } });
    t.is(r.status, 400, r.text);
    const msg = (JSON.parse(r.text) as { message: string }).message;
    t.regex(msg, /is relative/);
    t.false(msg.includes('\n'));
  }
  const after = fs.existsSync(path.join(w.root, 'containers')) ? fs.readdirSync(path.join(w.root, 'containers')).length : 0;
  t.is(after, before);
});

test('API: a pretty-printed profile in SecurityOpt is accepted; a bad one is a 400 with one line', async (t) => {
  const pretty = JSON.stringify(
    { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO' }] },
    null,
    2,
  );
  const ok = await api('POST', '/v1.41/containers/create', {
    Image: 'busybox',
    Cmd: ['true'],
    HostConfig: { NetworkMode: 'none', SecurityOpt: [`seccomp=${pretty}`] },
  });
  t.is(ok.status, 201, ok.text);
  const id = (JSON.parse(ok.text) as { Id: string }).Id;
  t.teardown(() => api('DELETE', `/v1.41/containers/${id}?force=1`, {}).then(() => undefined));
  const bad = await api('POST', '/v1.41/containers/create', {
    Image: 'busybox',
    Cmd: ['true'],
    HostConfig: { NetworkMode: 'none', SecurityOpt: ['seccomp={"defaultAction":"SCMP_ACT_ALLOW","syscalls":{}}'] },
  });
  t.is(bad.status, 400, bad.text);
  const msg = (JSON.parse(bad.text) as { message: string }).message;
  t.is(msg, 'invalid seccomp profile: syscalls must be a list');
});
