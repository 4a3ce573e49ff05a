/**
 * Volumes and mounts (issue 12): /volumes (create with the local driver's options, inspect, ls
 * with filters, rm, prune), named volumes made on demand with copy-up of the image's content,
 * anonymous volumes (-v /path, image VOLUME) removed by rm -v, HostConfig.Mounts of type bind,
 * volume and tmpfs, Mounts in inspect; names checked, no path escapes.
 */
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { api } from '../helpers/api.js';
import { importBusyboxWith } from '../helpers/image-config.js';
import { createWorld, type World } from '../helpers/world.js';

let w: World;
test.before(async () => {
  w = await createWorld();
  await importBusyboxWith(w, `vol-image-${w.id}:1`, { Volumes: { '/data': {} } }, { 'data/from-image': 'seed\n' });
});
test.after.always(async () => {
  await w?.teardown();
});

interface Vol {
  Name: string;
  Driver: string;
  Mountpoint: string;
  Labels: Record<string, string>;
  Options: Record<string, string> | null;
  Scope: string;
  CreatedAt: string;
}
interface MountJson {
  Type: string;
  Name?: string;
  Source: string;
  Destination: string;
  RW: boolean;
  Driver?: string;
}

async function create(body: Record<string, unknown>, name?: string): Promise<{ status: number; id: string; text: string }> {
  const r = await api(w.socket, {
    method: 'POST',
    path: `/containers/create${name ? `?name=${name}` : ''}`,
    body: { Image: 'busybox', Cmd: ['sleep', '1000'], ...body },
  });
  return { status: r.status, id: (r.json as { Id?: string })?.Id ?? '', text: r.text };
}

async function runOut(body: Record<string, unknown>): Promise<string> {
  const c = await create({ ...body, HostConfig: { NetworkMode: 'none', ...(body.HostConfig as object) } });
  if (c.status !== 201) throw new Error(c.text);
  const r = await w.cli(['start', '-a', c.id]);
  await w.cli(['rm', c.id]);
  if (r.exitCode !== 0) throw new Error(`start -a: ${r.stderr}`);
  return r.stdout;
}

const mountsOf = async (id: string) =>
  ((await api(w.socket, { path: `/containers/${id}/json` })).json as { Mounts: MountJson[] }).Mounts;
const volumes = async (filters?: object) =>
  (
    (await api(w.socket, { path: `/volumes${filters ? `?filters=${encodeURIComponent(JSON.stringify(filters))}` : ''}` }))
      .json as { Volumes: Vol[] }
  ).Volumes;

test.serial('volume create/inspect/ls/rm in Docker shapes; names checked; in-use refused', async (t) => {
  const name = `v1-${w.id}`;
  const r = await api(w.socket, { method: 'POST', path: '/volumes/create', body: { Name: name, Labels: { team: 'a' } } });
  t.is(r.status, 201, r.text);
  const v = r.json as Vol;
  t.is(v.Name, name);
  t.is(v.Driver, 'local');
  t.is(v.Scope, 'local');
  t.deepEqual(v.Labels, { team: 'a' });
  t.is(v.Mountpoint, path.join(w.root, 'volumes', name, '_data'));
  t.true(fs.statSync(v.Mountpoint).isDirectory());
  t.regex(v.CreatedAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  // create again: the same volume (Docker's idempotent create)
  t.is(
    ((await api(w.socket, { method: 'POST', path: '/volumes/create', body: { Name: name } })).json as Vol).CreatedAt,
    v.CreatedAt,
  );
  t.deepEqual(((await api(w.socket, { path: `/volumes/${name}` })).json as Vol).Name, name);
  t.true((await volumes({ label: ['team=a'] })).some((x) => x.Name === name));
  t.false((await volumes({ label: ['team=b'] })).some((x) => x.Name === name));
  t.true((await volumes({ name: [name] })).some((x) => x.Name === name));
  t.true((await volumes({ dangling: ['true'] })).some((x) => x.Name === name));

  for (const bad of ['../etc', 'a', '.hidden', 'x/y', 'a b']) {
    const b = await api(w.socket, { method: 'POST', path: '/volumes/create', body: { Name: bad } });
    t.is(b.status, 400, `${bad}: ${b.text}`);
  }
  t.is((await api(w.socket, { path: '/volumes/..%2F..%2Fetc' })).status, 400);
  const nfs = await api(w.socket, {
    method: 'POST',
    path: '/volumes/create',
    body: { Name: `nfs-${w.id}`, DriverOpts: { type: 'nfs', o: 'addr=1.2.3.4', device: ':/x' } },
  });
  t.is(nfs.status, 400);
  t.regex(nfs.text, /not supported by tsnet/);
  t.false(fs.existsSync(path.join(w.root, 'volumes', `nfs-${w.id}`)));

  const c = await create({ HostConfig: { NetworkMode: 'none', Binds: [`${name}:/v`] } });
  t.is(c.status, 201, c.text);
  t.false((await volumes({ dangling: ['true'] })).some((x) => x.Name === name));
  const inUse = await api(w.socket, { method: 'DELETE', path: `/volumes/${name}` });
  t.is(inUse.status, 409);
  t.regex(inUse.text, /volume is in use/);
  t.is((await api(w.socket, { method: 'DELETE', path: `/volumes/${name}?force=1` })).status, 409);
  await w.ok(['rm', c.id]);
  t.is((await api(w.socket, { method: 'DELETE', path: `/volumes/${name}` })).status, 204);
  t.false(fs.existsSync(path.join(w.root, 'volumes', name)));
  t.is((await api(w.socket, { method: 'DELETE', path: `/volumes/${name}` })).status, 404);
  t.is((await api(w.socket, { method: 'DELETE', path: `/volumes/${name}?force=1` })).status, 204);
});

test.serial('-v name:/path: made on demand, image content copied into it, data survives the container', async (t) => {
  const name = `data-${w.id}`;
  const image = `vol-image-${w.id}:1`;
  const out = await runOut({
    Image: image,
    Cmd: ['sh', '-c', 'cat /data/from-image; echo kept > /data/mine'],
    HostConfig: { Binds: [`${name}:/data`] },
  });
  t.is(out, 'seed\n');
  const v = (await api(w.socket, { path: `/volumes/${name}` })).json as Vol;
  t.is(fs.readFileSync(path.join(v.Mountpoint, 'mine'), 'utf8'), 'kept\n');
  // a second container sees the data, and no copy-up happens into a volume that has content
  const again = await runOut({ Image: image, Cmd: ['sh', '-c', 'ls /data | sort'], HostConfig: { Binds: [`${name}:/data:ro`] } });
  t.is(again, 'from-image\nmine\n');
  // nocopy: an empty new volume stays empty
  const nocopy = await runOut({ Image: image, Cmd: ['ls', '/data'], HostConfig: { Binds: [`nc-${w.id}:/data:nocopy`] } });
  t.is(nocopy, '');
  // read-only
  const ro = await create({
    Cmd: ['sh', '-c', 'touch /data/x'],
    HostConfig: { NetworkMode: 'none', Binds: [`${name}:/data:ro`] },
  });
  const r = await w.cli(['start', '-a', ro.id]);
  t.regex(r.stderr, /Read-only file system/);
  await w.ok(['rm', ro.id]);
  for (const n of [name, `nc-${w.id}`]) t.is((await api(w.socket, { method: 'DELETE', path: `/volumes/${n}` })).status, 204);
});

test.serial(
  'anonymous volumes: -v /path and image VOLUME; Mounts in inspect; rm -v removes them, rm alone keeps them',
  async (t) => {
    const c = await create({ Image: `vol-image-${w.id}:1`, Volumes: { '/scratch': {} }, HostConfig: { NetworkMode: 'none' } });
    t.is(c.status, 201, c.text);
    const m = await mountsOf(c.id);
    const scratch = m.find((x) => x.Destination === '/scratch')!;
    const data = m.find((x) => x.Destination === '/data')!;
    t.is(scratch.Type, 'volume');
    t.regex(scratch.Name!, /^[0-9a-f]{64}$/);
    t.is(scratch.Source, path.join(w.root, 'volumes', scratch.Name!, '_data'));
    t.is(scratch.Driver, 'local');
    t.true(scratch.RW);
    t.truthy(data);
    await w.ok(['start', c.id]);
    t.is(await w.ok(['exec', c.id, 'cat', '/data/from-image']), 'seed');
    const anon = ((await api(w.socket, { path: `/volumes/${data.Name}` })).json as Vol).Labels;
    t.true('com.docker.volume.anonymous' in anon);
    t.is((await api(w.socket, { method: 'DELETE', path: `/containers/${c.id}?force=1&v=1` })).status, 204);
    t.is((await api(w.socket, { path: `/volumes/${scratch.Name}` })).status, 404);
    t.is((await api(w.socket, { path: `/volumes/${data.Name}` })).status, 404);

    // without v the anonymous volume stays; prune removes it (anonymous only by default)
    const k = await create({ Volumes: { '/keep': {} }, HostConfig: { NetworkMode: 'none' } });
    const keep = (await mountsOf(k.id))[0]!.Name!;
    const named = `named-${w.id}`;
    await api(w.socket, { method: 'POST', path: '/volumes/create', body: { Name: named } });
    await w.ok(['rm', k.id]);
    t.is((await api(w.socket, { path: `/volumes/${keep}` })).status, 200);
    const pr = await api(w.socket, { method: 'POST', path: '/volumes/prune' });
    t.is(pr.status, 200);
    const body = pr.json as { VolumesDeleted: string[]; SpaceReclaimed: number };
    t.true(body.VolumesDeleted.includes(keep));
    t.false(body.VolumesDeleted.includes(named));
    t.is(typeof body.SpaceReclaimed, 'number');
    const all = (
      await api(w.socket, { method: 'POST', path: `/volumes/prune?filters=${encodeURIComponent('{"all":["true"]}')}` })
    ).json as { VolumesDeleted: string[] };
    t.true(all.VolumesDeleted.includes(named));
    // API 1.41 (the docker 20.10 CLI): every unused volume, named ones too, as dockerd
    const old = `old-${w.id}`;
    await api(w.socket, { method: 'POST', path: '/volumes/create', body: { Name: old } });
    const v141 = (await api(w.socket, { method: 'POST', path: '/v1.41/volumes/prune' })).json as { VolumesDeleted: string[] };
    t.true(v141.VolumesDeleted.includes(old), JSON.stringify(v141));
  },
);

test.serial(
  'HostConfig.Mounts: bind (must exist), volume with driver options (tmpfs), tmpfs with size and mode; Tmpfs map',
  async (t) => {
    const host = fs.mkdtempSync(path.join(w.dir, 'bind-'));
    fs.writeFileSync(path.join(host, 'f'), 'host file\n');
    const missing = await create({
      HostConfig: { NetworkMode: 'none', Mounts: [{ Type: 'bind', Source: path.join(host, 'nope'), Target: '/b' }] },
    });
    t.is(missing.status, 400);
    t.regex(missing.text, /bind source path does not exist/);
    const tv = `tmpvol-${w.id}`;
    const out = await runOut({
      Cmd: ['sh', '-c', 'cat /b/f; grep -E " /(t|tv|m) " /proc/mounts | cut -d" " -f2,3,4 | sort; stat -c %a /t'],
      HostConfig: {
        Mounts: [
          { Type: 'bind', Source: host, Target: '/b', ReadOnly: true },
          { Type: 'tmpfs', Target: '/t', TmpfsOptions: { SizeBytes: 1048576, Mode: 0o700 } },
          {
            Type: 'volume',
            Source: tv,
            Target: '/tv',
            VolumeOptions: { DriverConfig: { Name: 'local', Options: { type: 'tmpfs', device: 'tmpfs', o: 'size=2m' } } },
          },
        ],
        Tmpfs: { '/m': 'size=64k' },
      },
    });
    const lines = out.trim().split('\n');
    t.is(lines[0], 'host file');
    t.regex(out, /\/m tmpfs rw,nosuid,nodev,noexec,.*size=64k/);
    t.regex(out, /\/t tmpfs rw,nosuid,nodev,noexec,.*size=1024k,mode=700/);
    t.regex(out, /\/tv tmpfs rw,.*size=2048k/);
    t.is(lines.at(-1), '700');
    // the tmpfs volume was mounted on the host only while a container used it
    const mp = path.join(w.root, 'volumes', tv, '_data');
    t.false(fs.readFileSync('/proc/self/mountinfo', 'utf8').includes(` ${mp} `));
    t.is((await api(w.socket, { method: 'DELETE', path: `/volumes/${tv}` })).status, 204);
    for (const [mounts, re] of [
      [[{ Type: 'volume', Source: '../x', Target: '/x' }], /invalid volume name/],
      [[{ Type: 'tmpfs', Source: 'x', Target: '/x' }], /has no source/],
      [[{ Type: 'bind', Source: host, Target: 'rel' }], /must be an absolute path/],
      [
        [
          { Type: 'tmpfs', Target: '/d' },
          { Type: 'tmpfs', Target: '/d/' },
        ],
        /Duplicate mount point: \/d/,
      ],
    ] as const) {
      const r = await create({ HostConfig: { NetworkMode: 'none', Mounts: mounts } });
      t.is(r.status, 400, r.text);
      t.regex(r.text, re);
    }
    const bad = await create({ HostConfig: { NetworkMode: 'none', Binds: ['../../etc:/x'] } });
    t.is(bad.status, 400);
  },
);

test.serial('--volumes-from mounts the other container’s binds and volumes (:ro/:rw); it was accepted and ignored', async (t) => {
  const host = fs.mkdtempSync(path.join(w.dir, 'vf-'));
  fs.writeFileSync(path.join(host, 'b.txt'), 'bind\n');
  const named = `vfnamed-${w.id}`;
  const src = await create(
    { Volumes: { '/anon': {} }, HostConfig: { NetworkMode: 'none', Binds: [`${named}:/named`, `${host}:/bind`] } },
    `vfsrc-${w.id}`,
  );
  t.is(src.status, 201, src.text);
  t.teardown(async () => {
    await w.cli(['rm', '-f', '-v', src.id]);
    await w.cli(['volume', 'rm', named]);
  });
  t.is(await runOut({ Cmd: ['sh', '-c', 'echo n > /named/f; echo a > /anon/f'], HostConfig: { VolumesFrom: [src.id] } }), '');
  t.is(
    await runOut({ Cmd: ['sh', '-c', 'cat /named/f /anon/f /bind/b.txt'], HostConfig: { VolumesFrom: [`vfsrc-${w.id}:ro`] } }),
    'n\na\nbind\n',
  );
  t.regex(
    await runOut({ Cmd: ['sh', '-c', 'echo x > /named/g 2>&1 || echo refused'], HostConfig: { VolumesFrom: [`${src.id}:ro`] } }),
    /refused|Read-only/,
  );
  // its own bind wins at the same path; the anonymous volume it shares is not removed with it
  const own = fs.mkdtempSync(path.join(w.dir, 'vf-own-'));
  fs.writeFileSync(path.join(own, 'f'), 'own\n');
  t.is(await runOut({ Cmd: ['cat', '/named/f'], HostConfig: { VolumesFrom: [src.id], Binds: [`${own}:/named`] } }), 'own\n');
  const anon = (await mountsOf(src.id)).find((m) => m.Destination === '/anon')!.Name!;
  const user = await create({ HostConfig: { NetworkMode: 'none', VolumesFrom: [src.id] } });
  t.is((await api(w.socket, { method: 'DELETE', path: `/containers/${user.id}?v=1` })).status, 204);
  t.is((await api(w.socket, { path: `/volumes/${anon}` })).status, 200, 'still there: it is the source container’s');
  // errors: one line, nothing made
  const missing = await create({ HostConfig: { NetworkMode: 'none', VolumesFrom: ['nosuchc'] } });
  t.is(missing.status, 404, missing.text);
  const badMode = await create({ HostConfig: { NetworkMode: 'none', VolumesFrom: [`${src.id}:rx`] } });
  t.is(badMode.status, 400, badMode.text);
});
