/**
 * The prunes (issue 12): POST /containers/prune, /images/prune (dangling, dangling=false),
 * /networks/prune with Docker's filters (until, label, label!) and reply shapes, and the CLI's
 * container|image|network|system prune.
 */
import anyTest, { type TestFn } from 'ava';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { api } from '../helpers/api.js';
import { createWorld, type World } from '../helpers/world.js';

const test = anyTest as TestFn<{ w: World }>;

test.before(async (t) => {
  t.context.w = await createWorld();
});
test.after.always(async (t) => {
  await t.context.w?.teardown();
});

const q = (f: Record<string, string[]>) => `filters=${encodeURIComponent(JSON.stringify(f))}`;

test.serial('container prune: stopped containers only, filters until/label/label!, Docker shape and space', async (t) => {
  const { w } = t.context;
  const running = await w.ok(['run', '-d', '--network', 'none', '--label', 'tier=web', 'busybox', 'sleep', '1000']);
  t.teardown(() => w.cli(['rm', '-f', running]));
  const web = await w.ok([
    'create',
    '--network',
    'none',
    '--label',
    'tier=web',
    'busybox',
    'sh',
    '-c',
    'head -c 100000 /dev/zero > /big',
  ]);
  await w.ok(['start', '-a', web]);
  const db = await w.ok(['create', '--network', 'none', '--label', 'tier=db', 'busybox', 'true']);
  const plain = await w.ok(['create', '--network', 'none', 'busybox', 'true']);
  t.teardown(() => w.cli(['rm', '-f', web, db, plain]));

  const none = await api(w.socket, { method: 'POST', path: `/containers/prune?${q({ until: ['1h'] })}` });
  t.is(none.status, 200, none.text);
  t.deepEqual(none.json, { ContainersDeleted: [], SpaceReclaimed: 0 }, 'all are newer than 1h ago');
  const bad = await api(w.socket, { method: 'POST', path: `/containers/prune?${q({ name: ['x'] })}` });
  t.is(bad.status, 400);
  t.regex(bad.text, /invalid filter 'name'/);
  const badUntil = await api(w.socket, { method: 'POST', path: `/containers/prune?${q({ until: ['soon'] })}` });
  t.is(badUntil.status, 400);

  const webOnly = await api(w.socket, { method: 'POST', path: `/containers/prune?${q({ label: ['tier=web'] })}` });
  const r = webOnly.json as { ContainersDeleted: string[]; SpaceReclaimed: number };
  t.deepEqual(
    r.ContainersDeleted.map((x) => x.slice(0, 12)),
    [web.slice(0, 12)],
  );
  t.true(r.SpaceReclaimed >= 100000, String(r.SpaceReclaimed));

  const out = await w.ok(['container', 'prune', '-f', '--filter', 'label!=tier']);
  t.regex(out, new RegExp(`Deleted Containers:\\n${plain}`));
  t.regex(out, /Total reclaimed space: /);
  const left = (await w.ok(['ps', '-aq', '--no-trunc'])).split('\n').sort();
  t.deepEqual(left, [running, db].sort(), 'the running one and the labelled db stay');
  const ask = await w.cli(['container', 'prune']);
  t.is(ask.exitCode, 125, 'no terminal, no -f');
  t.regex(ask.stderr, /use -f/);
});

test.serial('network prune with label filters; image prune of dangling images and with -a; system prune', async (t) => {
  const { w } = t.context;
  await w.ok(['network', 'create', '--label', 'keep=1', 'nkeep']);
  await w.ok(['network', 'create', 'ngo']);
  await w.ok(['network', 'create', 'nused']);
  const user = await w.ok(['run', '-d', '--network', 'nused', 'busybox', 'sleep', '1000']);
  t.teardown(() => w.cli(['rm', '-f', user]));
  const none = await api(w.socket, { method: 'POST', path: `/networks/prune?${q({ until: ['1h'] })}` });
  t.deepEqual(none.json, { NetworksDeleted: [] });
  t.is(await w.ok(['network', 'prune', '-f', '--filter', 'label!=keep']), 'Deleted Networks:\nngo');
  const nets = await w.ok(['network', 'ls', '--format', '{{.Name}}']);
  t.regex(nets, /nkeep/);
  t.regex(nets, /nused/);

  // a dangling image: imported without a name; a named one no container uses (tiny rootfs tars)
  const tarWith = (name: string) => {
    const dir = path.join(w.dir, `img-${name}`);
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, name), name.repeat(1000));
    spawnSync('tar', ['-cf', `${dir}.tar`, '-C', dir, '.']);
    return `${dir}.tar`;
  };
  const dangling = await w.ok(['image', 'import', tarWith('dangling')]);
  await w.ok(['image', 'import', tarWith('spare'), 'spare:1']);
  const images = () => w.ok(['images', '--format', '{{.Repository}}:{{.Tag}}']);
  const p1 = await api(w.socket, { method: 'POST', path: '/images/prune' });
  t.is(p1.status, 200);
  const j1 = p1.json as { ImagesDeleted: Array<{ Deleted?: string; Untagged?: string }>; SpaceReclaimed: number };
  t.true(
    j1.ImagesDeleted.some((d) => d.Deleted === dangling),
    p1.text,
  );
  t.true(j1.SpaceReclaimed >= 8000, p1.text);
  t.regex(await images(), /spare:1/, 'a tagged image is not dangling');
  t.regex(await images(), /busybox:latest/);
  const p2 = await w.ok(['image', 'prune', '-a', '-f', '--filter', 'label=none']);
  t.regex(p2, /Total reclaimed space: 0B/, 'the label filter matched nothing');
  const p3 = await w.ok(['image', 'prune', '-a', '-f']);
  t.regex(p3, /untagged: spare:1/);
  t.regex(await images(), /busybox:latest/, 'busybox is used by a container: kept');
  t.notRegex(await images(), /spare/);

  await w.ok(['rm', '-f', user]);
  const stopped = await w.ok(['create', '--network', 'none', 'busybox', 'true']);
  const sys = await w.ok(['system', 'prune', '-f', '--filter', 'label!=keep']);
  t.regex(sys, new RegExp(`Deleted Containers:\\n${stopped}`));
  t.regex(sys, /Deleted Networks:\nnused/);
  t.regex(sys, /Total reclaimed space:/);
  t.regex(await w.ok(['network', 'ls', '--format', '{{.Name}}']), /nkeep/);
  t.regex(await images(), /busybox:latest/, 'system prune without -a keeps tagged images');
});
