/**
 * A container's files (issue 12): GET /changes (`tsnet diff`), GET|HEAD|PUT /archive with the
 * stat header (`tsnet cp` and the stock `docker cp`, running and stopped containers), and the
 * archive routes against a hostile container and hostile archives: symlinks (absolute, relative,
 * through /proc) and `..` never reach the host's files.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { encodeHeader, END_OF_ARCHIVE, type HeaderFields, padding } from '../../src/runtime/image/tar-header.js';
import { api } from '../helpers/api.js';
import { cleanEnv, eventually, run, type World } from '../helpers/world.js';
import { runDetached, worldTest } from '../helpers/world-test.js';

const test = worldTest();

const DOCKER = ['/usr/local/bin/docker', '/usr/bin/docker'].find((p) => fs.existsSync(p)) ?? 'docker';
const docker = (w: World, args: string[], input?: Buffer) =>
  run(DOCKER, ['-H', `unix://${w.socket}`, ...args], {
    env: cleanEnv({ DOCKER_CONFIG: path.join(w.dir, 'docker-config') }),
    ...(input ? { input } : {}),
  });

/** A tar archive of the given entries (file bodies as strings). */
function tarOf(entries: Array<Partial<HeaderFields> & { path: string; body?: string }>): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const body = Buffer.from(e.body ?? '');
    const type = e.type ?? 'File';
    parts.push(encodeHeader({ mode: 0o644, uid: 0, gid: 0, ...e, type, size: type === 'File' ? body.length : 0 }));
    if (type === 'File') parts.push(body, padding(body.length));
  }
  parts.push(END_OF_ARCHIVE);
  return Buffer.concat(parts);
}

const put = (w: World, id: string, p: string, body: Buffer, extra = '') =>
  api(w.socket, {
    method: 'PUT',
    path: `/containers/${id}/archive?path=${encodeURIComponent(p)}${extra}`,
    raw: body,
    headers: { 'Content-Type': 'application/x-tar' },
  });

/** A GET's body as bytes (api() decodes it as text). */
function getRaw(w: World, p: string): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    http
      .get({ socketPath: w.socket, path: p }, (res) => {
        const c: Buffer[] = [];
        res.on('data', (d: Buffer) => c.push(d));
        res.on('end', () => resolve(Buffer.concat(c)));
      })
      .on('error', reject);
  });
}

/**
 * Whether the container's command made `p` (a HEAD of the archive route answers 200) within 20 s:
 * a wait by the clock (a count of quick polls could run out on a loaded machine before the
 * command had run).
 */
function madeIn(w: World, id: string, p: string): Promise<boolean> {
  return eventually(
    async () =>
      (await api(w.socket, { method: 'HEAD', path: `/containers/${id}/archive?path=${encodeURIComponent(p)}` })).status === 200,
    20_000,
  );
}

function statOf(headers: Record<string, string | string[] | undefined>): Record<string, unknown> {
  const h = headers['x-docker-container-path-stat'];
  return JSON.parse(Buffer.from(String(h), 'base64').toString('utf8')) as Record<string, unknown>;
}

test.serial('tsnet diff lists added, changed and deleted paths as Docker does', async (t) => {
  const { w } = t.context;
  const id = await runDetached(t, w, [
    'busybox',
    'sh',
    '-c',
    'mkdir /newdir && echo y > /newdir/f && echo z >> /etc/passwd && rm /etc/group && sleep 1000',
  ]);
  let out = '';
  // until the container's last change (the removal of /etc/group) is seen
  for (let i = 0; i < 100 && !out.includes('D /etc/group'); i++) out = await w.ok(['diff', id]);
  t.is(out, ['C /etc', 'D /etc/group', 'C /etc/passwd', 'A /newdir', 'A /newdir/f'].join('\n'));
  const r = await api(w.socket, { path: `/containers/${id}/changes` });
  t.deepEqual((r.json as Array<{ Path: string; Kind: number }>)[1], { Path: '/etc/group', Kind: 2 });
  t.is((await api(w.socket, { path: '/containers/nope/changes' })).status, 404);
});

test.serial(
  'archive: HEAD and GET give the stat header and a tar in Docker form; PUT extracts; running and stopped',
  async (t) => {
    const { w } = t.context;
    const id = await runDetached(t, w, [
      'busybox',
      'sh',
      '-c',
      'mkdir -p /data/sub && echo hello > /data/sub/a && ln -s /data/sub /data/link && sleep 1000',
    ]);
    t.true(await madeIn(w, id, '/data/link'), 'the container made /data/link');

    for (const state of ['running', 'stopped']) {
      if (state === 'stopped') await w.ok(['stop', '-t', '0', id]);
      const head = await api(w.socket, { method: 'HEAD', path: `/containers/${id}/archive?path=/data/link` });
      t.is(head.status, 200, `${state}: ${head.text}`);
      const st = statOf(head.headers);
      t.like(st, { name: 'link', linkTarget: '/data/sub' });
      t.is(Math.floor(Number(st.mode) / 2 ** 27) % 2, 1, 'Go ModeSymlink');

      const get = await api(w.socket, { path: `/containers/${id}/archive?path=/data/sub/` });
      t.is(get.status, 200);
      t.is(get.headers['content-type'], 'application/x-tar');
      const tarFile = path.join(w.dir, `${state}.tar`);
      fs.writeFileSync(tarFile, await getRaw(w, `/containers/${id}/archive?path=/data/sub/`));
      t.is(spawnSync('tar', ['-tf', tarFile]).stdout.toString(), 'sub/\nsub/a\n');

      // PUT a file, then read it back with tsnet cp (to stdout as a tar, and to a local path)
      const putRes = await put(w, id, '/data', tarOf([{ path: `from-${state}.txt`, body: `put while ${state}\n`, mode: 0o640 }]));
      t.is(putRes.status, 200, putRes.text);
      const local = path.join(w.dir, `out-${state}.txt`);
      await w.ok(['cp', `${id}:/data/from-${state}.txt`, local]);
      t.is(fs.readFileSync(local, 'utf8'), `put while ${state}\n`);
      t.is(fs.statSync(local).mode & 0o777, 0o640);
      const dir = path.join(w.dir, `dir-${state}`);
      await w.ok(['cp', `${id}:/data/sub`, dir]);
      t.is(fs.readFileSync(path.join(dir, 'a'), 'utf8'), 'hello\n');
      // local → container, as a new name and into a directory
      const src = path.join(w.dir, `src-${state}`);
      fs.mkdirSync(path.join(src, 'deep'), { recursive: true });
      fs.writeFileSync(path.join(src, 'deep', 'x'), 'xx');
      await w.ok(['cp', src, `${id}:/data/copied-${state}`]);
      await w.ok(['cp', path.join(src, 'deep', 'x'), `${id}:/data/`]);
      const back = await w.cli(['cp', `${id}:/data/copied-${state}/deep/x`, '-']);
      t.regex(back.stdout, /xx/);
      t.is(spawnSync('tar', ['-tf', '-'], { input: back.stdout }).stdout.toString(), 'x\n');
    }
    // no mount of a stopped container's rootfs is left on the host
    t.false(fs.readFileSync('/proc/self/mountinfo', 'utf8').includes(id), 'no mount left');
    await w.ok(['start', id]);
    t.is(await w.ok(['exec', id, 'cat', '/data/from-stopped.txt', '/data/x']), 'put while stopped\nxx');
  },
);

test.serial('tsnet cp of a few MB into a container arrives whole (the chunked upload, from a file and from stdin)', async (t) => {
  const { w } = t.context;
  const id = await runDetached(t, w, ['busybox', 'sleep', '1000']);
  const big = Buffer.from(Array.from({ length: 6 << 20 }, (_, i) => (i * 31 + (i >> 12)) & 0xff));
  const file = path.join(w.dir, 'big.bin');
  fs.writeFileSync(file, big);
  const md5 = spawnSync('md5sum', [file]).stdout.toString().split(' ')[0];
  await w.ok(['cp', file, `${id}:/tmp/big.bin`]);
  t.is((await w.ok(['exec', id, 'md5sum', '/tmp/big.bin'])).split(' ')[0], md5, 'from a file');
  const tarred = spawnSync('tar', ['-cf', '-', '-C', w.dir, 'big.bin'], { maxBuffer: 64 << 20 }).stdout;
  await w.ok(['cp', '-', `${id}:/root`], { input: tarred });
  t.is((await w.ok(['exec', id, 'md5sum', '/root/big.bin'])).split(' ')[0], md5, 'a tar from stdin');
});

test.serial("hostile container: symlinks to the host's paths, .. and /proc links stay inside the container's root", async (t) => {
  const { w } = t.context;
  // the host has a secret and a directory the container names in its links
  const hostDir = path.join(w.dir, 'hostside');
  fs.mkdirSync(hostDir);
  fs.writeFileSync(path.join(hostDir, 'secret'), 'HOST SECRET\n');
  const script = [
    `mkdir -p ${hostDir} /box`,
    `echo container-copy > ${hostDir}/secret`,
    `ln -sfn ${hostDir} /abs`, // absolute: the host's path, meant inside the container
    'ln -sfn ../../../../../../../../../../.. /box/up', // climbs far above /
    `ln -sfn /proc/1/root${hostDir} /viaproc`, // a magic link in the container's /proc
    'ln -sfn /box/loop2 /box/loop1 && ln -sfn /box/loop1 /box/loop2',
    'touch /box/ready',
    'sleep 1000',
  ].join(' && ');
  const id = await runDetached(t, w, ['busybox', 'sh', '-c', script]);
  // (a HEAD of a link that loops is refused, as Docker's: wait for the mark made after the links)
  t.true(await madeIn(w, id, '/box/ready'), "the container's script made its links");

  for (const state of ['running', 'stopped']) {
    if (state === 'stopped') await w.ok(['stop', '-t', '0', id]);
    // reads through the links find the container's copy, never the host's file
    for (const p of ['/abs/secret', `/box/up${hostDir}/secret`]) {
      const r = await getRaw(w, `/containers/${id}/archive?path=${encodeURIComponent(p)}`);
      t.true(r.includes('container-copy'), `${state} ${p}`);
      t.false(r.includes('HOST SECRET'), `${state} ${p}`);
    }
    const proc = await api(w.socket, { method: 'HEAD', path: `/containers/${id}/archive?path=/viaproc/secret` });
    t.not(proc.status, 200, `${state}: a /proc magic link is not followed`);
    const loop = await api(w.socket, { method: 'HEAD', path: `/containers/${id}/archive?path=/box/loop1/x` });
    t.true(loop.status >= 400 && loop.status < 500, `${state} loop: ${loop.status} ${loop.text}`);
    // the stat of a link names its target inside the container
    t.like(statOf((await api(w.socket, { method: 'HEAD', path: `/containers/${id}/archive?path=/box/up` })).headers), {
      linkTarget: '/',
    });

    // writes through the links land in the container
    const viaLink = await put(w, id, '/abs', tarOf([{ path: `pwned-${state}`, body: 'x' }]));
    t.is(viaLink.status, 200, viaLink.text);
    const viaEntry = await put(w, id, '/box/up', tarOf([{ path: `${hostDir.slice(1)}/pwned2-${state}`, body: 'x' }]));
    t.is(viaEntry.status, 200, viaEntry.text);
    const parentLink = await put(w, id, '/', tarOf([{ path: `abs/pwned3-${state}`, body: 'x' }]));
    t.is(parentLink.status, 200, parentLink.text);
    t.deepEqual(fs.readdirSync(hostDir), ['secret'], `${state}: nothing written on the host`);
    t.is(fs.readFileSync(path.join(hostDir, 'secret'), 'utf8'), 'HOST SECRET\n');
  }
  await w.ok(['start', id]);
  t.is(
    await w.ok(['exec', id, 'ls', hostDir]),
    ['pwned-running', 'pwned-stopped', 'pwned2-running', 'pwned2-stopped', 'pwned3-running', 'pwned3-stopped', 'secret'].join(
      '\n',
    ),
  );
});

test.serial('hostile archives: entries, hard links and symlinks leading out of the extraction point are refused', async (t) => {
  const { w } = t.context;
  const outside = path.join(w.dir, 'outside');
  fs.mkdirSync(outside);
  const id = await runDetached(t, w, ['busybox', 'sh', '-c', 'mkdir -p /x/y && sleep 1000']);
  t.true(await madeIn(w, id, '/x/y'), 'the container made /x/y');
  const cases: Array<[string, Buffer, RegExp]> = [
    ['dot-dot entry', tarOf([{ path: '../../escaped', body: 'x' }]), /leads out of the extraction point/],
    ['dot-dot deep', tarOf([{ path: `a/../../..${outside}/escaped`, body: 'x' }]), /leads out of the extraction point/],
    ['symlink up', tarOf([{ path: 'evil', type: 'SymbolicLink', linkpath: '../../../..' }]), /outside the extraction point/],
    ['hard link up', tarOf([{ path: 'hl', type: 'Link', linkpath: '../../etc/passwd' }]), /outside the extraction point/],
  ];
  for (const [what, body, msg] of cases) {
    const r = await put(w, id, '/x/y', body);
    t.is(r.status, 400, `${what}: ${r.text}`);
    t.regex((r.json as { message: string }).message, msg, what);
  }
  // an absolute symlink and a hard link inside the point are fine (Docker keeps them)
  const ok = await put(
    w,
    id,
    '/x/y',
    tarOf([
      { path: 'f', body: 'data' },
      { path: 'abs', type: 'SymbolicLink', linkpath: '/etc' },
      { path: 'hard', type: 'Link', linkpath: 'f' },
    ]),
  );
  t.is(ok.status, 200, ok.text);
  t.is(await w.ok(['exec', id, 'sh', '-c', 'cat /x/y/hard; readlink /x/y/abs; stat -c %h /x/y/f']), 'data/etc\n2');
  t.deepEqual(fs.readdirSync(outside), []);
  // noOverwriteDirNonDir, a file as the extraction point, a missing one, the read-only rootfs
  const dirOverFile = await put(w, id, '/x', tarOf([{ path: 'y', body: 'file over dir' }]), '&noOverwriteDirNonDir=1');
  t.is(dirOverFile.status, 400);
  t.regex(dirOverFile.text, /cannot overwrite directory/);
  t.is((await put(w, id, '/x/y/f', tarOf([{ path: 'z', body: '' }]))).status, 400);
  t.regex((await put(w, id, '/x/y/f', tarOf([{ path: 'z', body: '' }]))).text, /extraction point is not a directory/);
  const missing = await put(w, id, '/nope', tarOf([{ path: 'z', body: '' }]));
  t.is(missing.status, 404);
  t.regex(missing.text, /Could not find the file \/nope in container/);
  const ro = await runDetached(t, w, ['--read-only', 'busybox', 'sleep', '1000']);
  const roPut = await put(w, ro, '/tmp', tarOf([{ path: 'z', body: '' }]));
  t.is(roPut.status, 403, roPut.text);
  t.regex(roPut.text, /container rootfs is marked read-only/);
});

test.serial('the stock docker CLI: docker cp both ways, and docker diff', async (t) => {
  const { w } = t.context;
  const id = await runDetached(t, w, ['--name', 'cpme', 'busybox', 'sh', '-c', 'echo inside > /tmp/in.txt && sleep 1000']);
  t.true(await madeIn(w, id, '/tmp/in.txt'), 'the container made /tmp/in.txt');
  const dest = path.join(w.dir, 'docker-out.txt');
  const out = await docker(w, ['cp', 'cpme:/tmp/in.txt', dest]);
  t.is(out.exitCode, 0, out.stderr);
  t.is(fs.readFileSync(dest, 'utf8'), 'inside\n');
  const srcDir = path.join(w.dir, 'docker-src');
  fs.mkdirSync(path.join(srcDir, 'sub'), { recursive: true });
  fs.writeFileSync(path.join(srcDir, 'sub', 'f.txt'), 'from docker\n');
  const inn = await docker(w, ['cp', srcDir, 'cpme:/tmp/dst']);
  t.is(inn.exitCode, 0, inn.stderr);
  t.is(await w.ok(['exec', 'cpme', 'cat', '/tmp/dst/sub/f.txt']), 'from docker');
  const tar = await docker(w, ['cp', 'cpme:/tmp/in.txt', '-']);
  t.is(tar.exitCode, 0, tar.stderr);
  t.regex(tar.stdout, /inside/);
  const notThere = await docker(w, ['cp', 'cpme:/tmp/nope', dest]);
  t.not(notThere.exitCode, 0);
  t.regex(notThere.stderr, /Could not find the file \/tmp\/nope in container cpme/);
  const diff = await docker(w, ['diff', 'cpme']);
  t.is(diff.exitCode, 0, diff.stderr);
  t.regex(diff.stdout, /^C \/tmp$/m);
  t.regex(diff.stdout, /^A \/tmp\/dst\/sub\/f\.txt$/m);
});

test.serial("a stopped container's binds are part of its files (mounted for the copy, as its start would)", async (t) => {
  const { w } = t.context;
  const hostVol = path.join(w.dir, 'vol');
  fs.mkdirSync(hostVol);
  fs.writeFileSync(path.join(hostVol, 'on-host.txt'), 'from the host\n');
  const id = await w.ok(['create', '--network', 'none', '-v', `${hostVol}:/deep/vol`, 'busybox', 'cat', '/deep/vol/put.txt']);
  t.teardown(() => w.cli(['rm', '-f', id]));
  // never started: the mount point does not exist yet in its rootfs
  const got = await getRaw(w, `/containers/${id}/archive?path=/deep/vol/on-host.txt`);
  t.true(got.includes('from the host'));
  const r = await put(w, id, '/deep/vol', tarOf([{ path: 'put.txt', body: 'put into the bind\n' }]));
  t.is(r.status, 200, r.text);
  t.is(fs.readFileSync(path.join(hostVol, 'put.txt'), 'utf8'), 'put into the bind\n');
  t.is(await w.ok(['start', '-a', id]), 'put into the bind');
  t.false(fs.readFileSync('/proc/self/mountinfo', 'utf8').includes(hostVol), 'no mount left on the host');
});

test.serial(
  "a stopped container's /etc/hostname, hosts and resolv.conf are its own (docker cp gave the empty mount points)",
  async (t) => {
    const { w } = t.context;
    const id = 'cpetc';
    await w.ok([
      'run',
      '--name',
      id,
      '--network',
      'none',
      '--hostname',
      'cphost',
      '--add-host',
      'cpx:10.9.8.7',
      'busybox',
      'true',
    ]);
    t.teardown(() => w.cli(['rm', '-f', id]));
    t.regex((await getRaw(w, `/containers/${id}/archive?path=/etc/hostname`)).toString('latin1'), /cphost\n/);
    t.regex((await getRaw(w, `/containers/${id}/archive?path=/etc/hosts`)).toString('latin1'), /10\.9\.8\.7\tcpx/);
    t.regex((await getRaw(w, `/containers/${id}/archive?path=/etc/resolv.conf`)).toString('latin1'), /nameserver|search|options/);
    // never started: no file is made in its rootfs for the copy (diff stays empty)
    const created = await w.ok(['create', '--network', 'none', 'busybox', 'true']);
    t.teardown(() => w.cli(['rm', '-f', created]));
    await getRaw(w, `/containers/${created}/archive?path=/etc/hostname`);
    t.is(await w.ok(['diff', created]), '');
  },
);
