/**
 * `commit` (POST /commit, `tsnet commit`, the stock `docker commit`) and `import --change`: a new
 * image of the container's image plus its upper dir — added and changed files, deleted ones
 * (overlayfs whiteouts → `.wh.` entries → whiteouts again), a directory removed and made anew
 * (opaque) — with Docker's config merge and `--change` instructions; Parent, Comment, Author;
 * removal with Docker's parent/child rules; bad input refused before anything is made; a file
 * capability kept through commit, export and cp.
 */
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the --change values are Dockerfile text with ${X} in it
import fs from 'node:fs';
import path from 'node:path';
import { loadXattr } from '../../src/kernel/xattr.js';
import { END_OF_ARCHIVE, encodeHeader, padding } from '../../src/runtime/image/tar-header.js';
import { TarDigest, tarEntries } from '../../src/runtime/image/tar-read.js';
import { api } from '../helpers/api.js';
import { cleanEnv, eventually, run, type World } from '../helpers/world.js';
import { requireNeeds } from '../helpers/preconditions.js';
import { eventActions, runDetached, worldTest } from '../helpers/world-test.js';

const test = worldTest();
test.before(() => requireNeeds({ commands: [['setcap', 'libcap2-bin']] }));

const DOCKER = ['/usr/local/bin/docker', '/usr/bin/docker'].find((p) => fs.existsSync(p)) ?? 'docker';
const docker = (w: World, args: string[]) =>
  run(DOCKER, ['-H', `unix://${w.socket}`, ...args], { env: cleanEnv({ DOCKER_CONFIG: path.join(w.dir, 'docker-config') }) });

interface Inspected {
  Id: string;
  Parent: string;
  Comment: string;
  Author: string;
  Config: {
    Cmd: string[] | null;
    Entrypoint: string[] | null;
    Env: string[];
    ExposedPorts?: Record<string, object>;
    Labels: Record<string, string> | null;
    WorkingDir: string;
    User: string;
  };
  RootFS: { Layers: string[] };
}
const inspectImage = async (w: World, ref: string): Promise<Inspected> =>
  (JSON.parse(await w.ok(['image', 'inspect', ref])) as Inspected[])[0]!;

/** Waits (5 s at most) until the container has written its file `p`. */
async function written(w: World, container: string, p: string): Promise<void> {
  const there = async () =>
    (await api(w.socket, { method: 'HEAD', path: `/containers/${container}/archive?path=${encodeURIComponent(p)}` })).status ===
    200;
  if (!(await eventually(there, 5000, 25))) throw new Error(`container ${container} did not write ${p}`);
}

/** Runs until its files are in place (it writes /ready last). */
async function prepared(t: { teardown(fn: () => Promise<unknown>): void }, w: World, name: string): Promise<string> {
  const id = await runDetached(t, w, [
    '--name',
    name,
    '-e',
    'FROM_RUN=1',
    '-l',
    'made=by-run',
    'busybox',
    'sh',
    '-c',
    [
      'echo hello > /test',
      'echo more >> /etc/passwd',
      'rm /etc/group',
      'rm -rf /sbin && mkdir /sbin && echo only > /sbin/only',
      'mkdir -p /data/sub && echo d > /data/sub/f',
      'touch /ready',
      'sleep 1000',
    ].join(' && '),
  ]);
  await written(w, id, '/ready');
  return id;
}

test.serial('tsnet commit: files, deletions and an opaque directory come back in a container of the new image', async (t) => {
  const { w } = t.context;
  // busybox's /sbin has many files: the committed /sbin (removed and made anew) must hide them
  t.true(Number(await w.ok(['run', '--rm', '--network', 'none', 'busybox', 'sh', '-c', 'ls /sbin | wc -l'])) > 10);
  const id = await prepared(t, w, 'c1');
  const since = Math.floor(Date.now() / 1000);
  const imageId = await w.ok(['commit', '-m', 'first commit', '-a', 'Tester <t@example.org>', 'c1', 'committed:v1']);
  t.regex(imageId, /^sha256:[0-9a-f]{64}$/);
  const check = await w.ok([
    'run',
    '--rm',
    '--network',
    'none',
    'committed:v1',
    'sh',
    '-c',
    'cat /test; tail -1 /etc/passwd; ls /etc/group 2>&1 || true; ls /sbin; cat /data/sub/f; echo $FROM_RUN',
  ]);
  t.deepEqual(check.split('\n'), ['hello', 'more', 'ls: /etc/group: No such file or directory', 'only', 'd', '1']);
  const img = await inspectImage(w, 'committed:v1');
  const busybox = await inspectImage(w, 'busybox');
  t.is(img.Id, imageId);
  t.is(img.Parent, busybox.Id);
  t.is(img.Comment, 'first commit');
  t.is(img.Author, 'Tester <t@example.org>');
  t.deepEqual(img.RootFS.Layers.slice(0, -1), busybox.RootFS.Layers);
  t.is(img.RootFS.Layers.length, busybox.RootFS.Layers.length + 1);
  // the container's config is the image's: its command, env and labels
  t.deepEqual(img.Config.Cmd?.slice(0, 2), ['sh', '-c']);
  t.true(img.Config.Env.includes('FROM_RUN=1'));
  t.is(img.Config.Labels?.made, 'by-run');
  // the container kept running (frozen and thawed), and Docker's events were sent
  t.is(JSON.parse(await w.ok(['inspect', id]))[0].State.Status, 'running');
  t.deepEqual(
    (await eventActions(w, id, since)).filter((a) => ['pause', 'unpause', 'commit'].includes(a)),
    ['pause', 'unpause', 'commit'],
  );
  // the mount points tsnet-init makes are not part of the image
  t.notRegex(
    await w.ok(['run', '--rm', '--network', 'none', 'committed:v1', 'cat', '/etc/hostname']),
    new RegExp(id.slice(0, 12)),
  );
});

test.serial('commit --change and a body config as dockerd merges them; a bad change is refused and makes nothing', async (t) => {
  const { w } = t.context;
  await prepared(t, w, 'c2');
  const images = (await w.ok(['image', 'ls', '-q'])).split('\n').length;
  const bad = await w.cli(['commit', '-c', 'RUN echo no', 'c2', 'bad:1']);
  t.not(bad.exitCode, 0);
  t.regex(bad.stderr, /RUN cannot be applied here: use one of CMD, ENTRYPOINT/);
  t.is(bad.stderr.trim().split('\n').length, 1);
  t.is((await w.ok(['image', 'ls', '-q'])).split('\n').length, images);
  await w.ok([
    'commit',
    '-c',
    'EXPOSE 8000',
    '-c',
    'CMD ["cat", "/test"]',
    '-c',
    'ENV GREETING="hi there" FROM_RUN=2',
    '-c',
    'LABEL made=by-change',
    '-c',
    'WORKDIR /data',
    '-c',
    'USER nobody',
    'c2',
    'changed:v1',
  ]);
  const img = await inspectImage(w, 'changed:v1');
  t.deepEqual(img.Config.Cmd, ['cat', '/test']);
  t.truthy(img.Config.ExposedPorts?.['8000/tcp']);
  t.true(img.Config.Env.includes('GREETING=hi there'));
  t.true(img.Config.Env.includes('FROM_RUN=2'));
  t.false(img.Config.Env.includes('FROM_RUN=1'));
  t.is(img.Config.Labels?.made, 'by-change');
  t.is(img.Config.WorkingDir, '/data');
  t.is(img.Config.User, 'nobody');
  t.is(await w.ok(['run', '--rm', '--network', 'none', '--user', 'root', 'changed:v1']), 'hello');
  // the raw API: a body config is the base, changes on top, the container fills the rest
  const r = await api(w.socket, {
    method: 'POST',
    path: '/commit?container=c2&repo=raw&tag=1&pause=0&changes=ENV%20X%3D1',
    body: { Entrypoint: ['/bin/echo'], Cmd: ['from', 'body'], Labels: { extra: 'yes' } },
  });
  t.is(r.status, 201, r.text);
  const raw = await inspectImage(w, 'raw:1');
  t.is((r.json as { Id: string }).Id, raw.Id);
  t.deepEqual(raw.Config.Entrypoint, ['/bin/echo']);
  t.deepEqual(raw.Config.Cmd, ['from', 'body']);
  t.deepEqual(raw.Config.Labels, { made: 'by-run', extra: 'yes' });
  t.true(raw.Config.Env.includes('X=1'));
  t.is(await w.ok(['run', '--rm', '--network', 'none', 'raw:1']), 'from body');
  t.is((await api(w.socket, { method: 'POST', path: '/commit?container=nope' })).status, 404);
  // a container that changed nothing: no layer, as dockerd (image.NewChildImage skips the empty tar)
  const fresh = await w.ok(['create', '--network', 'none', 'busybox', 'echo', 'unchanged']);
  t.teardown(() => w.cli(['rm', '-f', fresh]));
  const empty = await w.ok(['commit', fresh, 'empty:1']);
  t.is((await inspectImage(w, empty)).RootFS.Layers.length, (await inspectImage(w, 'busybox')).RootFS.Layers.length);
  t.is(await w.ok(['run', '--rm', '--network', 'none', 'empty:1']), 'unchanged');
  t.is((await api(w.socket, { method: 'POST', path: '/commit?container=c2&tag=x' })).status, 400);
});

test.serial(
  'rmi: a parent keeps its image while children exist; deleting the last child prunes an untagged parent',
  async (t) => {
    const { w } = t.context;
    await prepared(t, w, 'c3');
    const parentId = await w.ok(['commit', 'c3', 'p3:1']);
    // a container of p3 that is committed again: p3 is then the child's parent
    await runDetached(t, w, ['--name', 'c3b', 'p3:1', 'sh', '-c', 'echo two > /two && sleep 1000']);
    await written(w, 'c3b', '/two');
    const childId = await w.ok(['commit', '-m', 'second', 'c3b', 'child3:1']);
    await w.ok(['rm', '-f', 'c3b']);
    // history: the newest step is the child's, the one before its parent's, then busybox's import
    const steps = (await api(w.socket, { path: '/images/child3:1/history' })).json as Array<{
      Id: string;
      CreatedBy: string;
      Tags: string[] | null;
      Size: number;
      Comment: string;
    }>;
    t.deepEqual(
      steps.map((s) => [s.Id, s.Tags]),
      [
        [childId, ['child3:1']],
        [parentId, ['p3:1']],
        [(await inspectImage(w, 'busybox')).Id, ['busybox:latest']],
      ],
    );
    t.is(steps[0]!.CreatedBy, 'sh -c echo two > /two && sleep 1000');
    t.is(steps[0]!.Comment, 'second');
    t.true(steps[0]!.Size > 0 && steps[0]!.Size < steps[2]!.Size);
    const table = await w.ok(['history', 'child3:1']);
    t.regex(table.split('\n')[0]!, /^IMAGE\s+CREATED\s+CREATED BY\s+SIZE\s+COMMENT$/);
    t.regex(
      table.split('\n')[1]!,
      new RegExp(`^${childId.slice(7, 19)}\\s+.*sh -c echo two > /two && sleep 1000\\s+\\d+B\\s+second$`),
    );
    t.is((await w.ok(['image', 'history', '-q', 'child3:1'])).split('\n').length, 3);
    const viaDocker = await docker(w, ['history', '--no-trunc', 'child3:1']);
    t.is(viaDocker.exitCode, 0, viaDocker.stderr);
    t.regex(viaDocker.stdout, new RegExp(childId));
    t.is((await inspectImage(w, 'child3:1')).Parent, parentId);
    const byId = await w.cli(['rmi', parentId]);
    t.not(byId.exitCode, 0);
    t.regex(byId.stderr, /cannot be forced\): images were committed from it/);
    t.regex((await w.cli(['rmi', '-f', parentId])).stderr, /images were committed from it/);
    // by tag: untagged, kept
    t.regex(await w.ok(['rmi', 'p3:1']), /Untagged: p3:1/);
    t.is((await inspectImage(w, parentId)).Id, parentId);
    t.is(await w.ok(['run', '--rm', '--network', 'none', 'child3:1', 'cat', '/two', '/test']), 'two\nhello');
    const del = await w.ok(['rmi', 'child3:1']);
    t.regex(del, new RegExp(`Deleted: ${childId}`));
    t.regex(del, new RegExp(`Deleted: ${parentId}`));
    t.is((await w.cli(['image', 'inspect', parentId])).exitCode, 1);
  },
);

test.serial('the stock docker CLI: docker commit with --change, and docker import --change', async (t) => {
  const { w } = t.context;
  await prepared(t, w, 'c4');
  // $VARs in the changes come from the container's Env (FROM_RUN=1), then from the commit's own ENV
  const changes = ['CMD ["cat","/test"]', 'ENV DIR=/srv/$FROM_RUN', 'WORKDIR ${DIR:-/none}', "LABEL from=$FROM_RUN kept='$DIR'"];
  const out = await docker(w, ['commit', ...changes.flatMap((c) => ['--change', c]), '-m', 'via docker', 'c4', 'dockerc:1']);
  t.is(out.exitCode, 0, out.stderr);
  t.regex(out.stdout.trim(), /^sha256:[0-9a-f]{64}$/);
  const img = await inspectImage(w, 'dockerc:1');
  t.is(img.Comment, 'via docker');
  t.true(img.Config.Env.includes('DIR=/srv/1'), img.Config.Env.join(' '));
  t.is(img.Config.WorkingDir, '/srv/1');
  t.like(img.Config.Labels, { from: '1', kept: '$DIR' });
  t.deepEqual(img.Config.Cmd, ['cat', '/test']);
  t.is(await w.ok(['run', '--rm', '--network', 'none', 'dockerc:1']), 'hello');
  // import: a rootfs tarball with changes and a message
  const tar = path.resolve('build/busybox-rootfs.tar');
  const imp = await docker(w, [
    'import',
    '--change',
    'CMD ["echo","imported"]',
    '--change',
    'ENV X=1',
    '--change',
    'ENV Y=${X:-unset}:${PATH:-none}',
    '-m',
    'from a tarball',
    tar,
    'imported:1',
  ]);
  t.is(imp.exitCode, 0, imp.stderr);
  const ii = await inspectImage(w, 'imported:1');
  t.deepEqual(ii.Config.Cmd, ['echo', 'imported']);
  t.true(ii.Config.Env.includes('X=1'));
  // an import's changes see no environment but their own ENVs (dockerd applies them to an empty config)
  t.true(ii.Config.Env.includes('Y=1:none'), ii.Config.Env.join(' '));
  t.is(ii.Comment, 'from a tarball');
  t.is(await w.ok(['run', '--rm', '--network', 'none', 'imported:1']), 'imported');
  const badImport = await w.cli(['image', 'import', '-c', 'FROM busybox', tar, 'imported:2']);
  t.not(badImport.exitCode, 0);
  t.regex(badImport.stderr, /FROM cannot be applied here/);
});

test.serial("export: a running container's files flattened, without its binds; import gives an image of them", async (t) => {
  const { w } = t.context;
  const bind = path.join(w.dir, 'export-bind');
  fs.mkdirSync(bind, { recursive: true });
  fs.writeFileSync(path.join(bind, 'host-file'), 'host');
  const id = await prepared(t, w, 'c5');
  await w.ok(['rm', '-f', id]);
  const id2 = await runDetached(t, w, [
    '--name',
    'c5b',
    '-v',
    `${bind}:/mnt/bound`,
    'busybox',
    'sh',
    '-c',
    'echo five > /five && rm /etc/group && sleep 1000',
  ]);
  await written(w, id2, '/five');
  const file = path.join(w.dir, 'c5b.tar');
  await w.ok(['export', '-o', file, 'c5b']);
  const names = (await run('tar', ['-tf', file])).stdout.split('\n');
  t.true(names.includes('five'));
  t.true(names.includes('bin/busybox'));
  t.false(names.includes('etc/group'), 'a whiteout hides the file');
  t.false(
    names.some((n) => n.includes('host-file')),
    'binds are not exported',
  );
  t.false(
    names.some((n) => n.startsWith('proc/') && n !== 'proc/'),
    'nothing mounted is exported',
  );
  // the container still runs, and its files still change as before
  t.is(await w.ok(['exec', 'c5b', 'cat', '/five']), 'five');
  t.is(await w.ok(['image', 'import', file, 'exported:1']).then((x) => x.slice(0, 7)), 'sha256:');
  t.is(await w.ok(['run', '--rm', '--network', 'none', 'exported:1', 'cat', '/five']), 'five');
  t.is((await api(w.socket, { path: '/containers/nope/export' })).status, 404);
  const viaDocker = await docker(w, ['export', 'c5b']);
  t.is(viaDocker.exitCode, 0, viaDocker.stderr);
  t.regex(viaDocker.stdout, /five/);
});

/** The pid of a running container's process (its files are under /proc/PID/root). */
const pidOf = async (w: World, id: string): Promise<number> =>
  Number((JSON.parse(await w.ok(['inspect', id])) as Array<{ State: { Pid: number } }>)[0]!.State.Pid);

test.serial(
  'a file capability survives commit → run of the new image; export and docker cp (out and in) keep it too',
  async (t) => {
    const { w } = t.context;
    const id = await runDetached(t, w, [
      '--name',
      'cap',
      'busybox',
      'sh',
      '-c',
      'cp /bin/busybox /pinger && touch /ready && sleep 1000',
    ]);
    await written(w, id, '/ready');
    const root = `/proc/${await pidOf(w, id)}/root`;
    const set = await run('setcap', ['cap_net_raw+ep', `${root}/pinger`]);
    t.is(set.exitCode, 0, set.stderr);
    await w.ok(['commit', 'cap', 'capped:1']);
    const id2 = await runDetached(t, w, ['capped:1', 'sleep', '1000']);
    const got = await run('getcap', [`/proc/${await pidOf(w, id2)}/root/pinger`]);
    t.regex(got.stdout, /pinger cap_net_raw=ep/);
    // export: a SCHILY.xattr record on the file (revision 2: 20 bytes), on no other entry
    const file = path.join(w.dir, 'cap.tar');
    await w.ok(['export', '-o', file, 'cap']);
    const withXattrs: string[] = [];
    for await (const e of tarEntries(fs.createReadStream(file), new TarDigest(), 'export')) {
      for (const [k, v] of e.xattrs) withXattrs.push(`${e.path} ${k} ${v.length}`);
    }
    t.deepEqual(withXattrs, ['pinger security.capability 20']);
    // docker cp out of the container (GET archive): the stock client sets it on the copy
    const out = path.join(w.dir, 'cp-out');
    fs.mkdirSync(out);
    const cp = await docker(w, ['cp', 'cap:/pinger', out]);
    t.is(cp.exitCode, 0, cp.stderr);
    t.regex((await run('getcap', [path.join(out, 'pinger')])).stdout, /cap_net_raw=ep/);
    // and back in (PUT archive): set on the file in the container, after its owner (a chown clears it)
    const back = await docker(w, ['cp', path.join(out, 'pinger'), 'cap:/back']);
    t.is(back.exitCode, 0, back.stderr);
    t.regex((await run('getcap', [`${root}/back`])).stdout, /back cap_net_raw=ep/);
    // tsnet cp, both ways, as docker cp
    const out2 = path.join(w.dir, 'cp-out-tsnet');
    fs.mkdirSync(out2);
    await w.ok(['cp', 'cap:/pinger', out2]);
    t.regex((await run('getcap', [path.join(out2, 'pinger')])).stdout, /cap_net_raw=ep/, 'tsnet cp out');
    await w.ok(['cp', path.join(out2, 'pinger'), 'cap:/back2']);
    t.regex((await run('getcap', [`${root}/back2`])).stdout, /back2 cap_net_raw=ep/, 'tsnet cp in');
    // only what an image layer may carry is set: user.* yes, trusted.* never
    const xattrs = new Map([
      ['user.kept', 'yes'],
      ['trusted.dropped', 'no'],
    ]);
    const tar = Buffer.concat([
      encodeHeader({ path: 'tagged', type: 'File', mode: 0o644, uid: 0, gid: 0, size: 1, xattrs }),
      Buffer.from('x'),
      padding(1),
      END_OF_ARCHIVE,
    ]);
    const put = await api(w.socket, {
      method: 'PUT',
      path: '/containers/cap/archive?path=/',
      raw: tar,
      headers: { 'Content-Type': 'application/x-tar' },
    });
    t.is(put.status, 200, put.text);
    const fd = fs.openSync(`${root}/tagged`, 'r');
    try {
      const x = loadXattr();
      t.is(x.get(fd, 'user.kept')?.toString(), 'yes');
      t.is(x.get(fd, 'trusted.dropped'), undefined);
    } finally {
      fs.closeSync(fd);
    }
    // a capability the kernel refuses (not a vfs_cap_data) is the archive's fault: one line, 400
    const bad = await api(w.socket, {
      method: 'PUT',
      path: '/containers/cap/archive?path=/',
      raw: Buffer.concat([
        encodeHeader({
          path: 'badcap',
          type: 'File',
          mode: 0o644,
          uid: 0,
          gid: 0,
          size: 0,
          xattrs: new Map([['security.capability', 'xx']]),
        }),
        END_OF_ARCHIVE,
      ]),
      headers: { 'Content-Type': 'application/x-tar' },
    });
    t.is(bad.status, 400, bad.text);
    t.is((bad.json as { message: string }).message, 'invalid archive: cannot set security.capability on "badcap": EINVAL');
  },
);

test.serial(
  'a commit with no changes adds no layer, as dockerd: the same RootFS, an empty_layer history entry, no layer kept',
  async (t) => {
    const { w } = t.context;
    const layerDirs = () => fs.readdirSync(path.join(w.root, 'image', 'layers')).filter((n) => /^[0-9a-f]{64}$/.test(n)).length;
    const before = layerDirs();
    const id = await runDetached(t, w, ['--name', 'still', 'busybox', 'sleep', '1000']);
    for (const [cli, tag] of [
      [(a: string[]) => w.cli(a), 'still:1'],
      [(a: string[]) => docker(w, a), 'still:2'],
    ] as const) {
      const r = await cli(['commit', id, tag]);
      t.is(r.exitCode, 0, r.stderr);
      const img = await inspectImage(w, tag);
      t.deepEqual(img.RootFS.Layers, (await inspectImage(w, 'busybox')).RootFS.Layers, `${tag}: no layer added`);
      const hist = await docker(w, ['history', '--format', '{{.Size}}', '--no-trunc', tag]);
      t.is(hist.stdout.split('\n')[0], '0B', hist.stdout);
      t.is(layerDirs(), before, 'the empty layer the read made is not kept');
      const rmi = await docker(w, ['rmi', tag]);
      t.is(rmi.stdout.match(/^Deleted: /gm)?.length, 1, `only the image goes: ${rmi.stdout}`);
    }
    // with a change there is a layer, as before
    t.is((await w.cli(['exec', id, 'touch', '/changed'])).exitCode, 0);
    await w.ok(['commit', id, 'still:3']);
    t.is((await inspectImage(w, 'still:3')).RootFS.Layers.length, (await inspectImage(w, 'busybox')).RootFS.Layers.length + 1);
    await w.ok(['rmi', 'still:3']);
  },
);
