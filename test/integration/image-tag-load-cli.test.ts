/**
 * `tsnet tag` / `image tag` and `tsnet load` / `image load`, as docker's: a tag without `:TAG` is
 * `latest`, a missing source or a bad name is one line and exit 125; load reads a `docker save`
 * archive from -i FILE or stdin and prints "Loaded image: NAME"; a refused archive makes nothing.
 */
import fs from 'node:fs';
import path from 'node:path';
import { api } from '../helpers/api.js';
import { dockerSaveArchive } from '../helpers/image-config.js';
import { worldTest } from '../helpers/world-test.js';

const test = worldTest();

const tags = async (w: { ok(a: string[]): Promise<string> }): Promise<string[]> =>
  (await w.ok(['images', '--format', '{{.Repository}}:{{.Tag}}'])).split('\n').filter(Boolean).sort();

test.serial('tag names an image under a new reference; the image runs under it', async (t) => {
  const { w } = t.context;
  t.is(await w.ok(['tag', 'busybox', 'mybox:1']), '');
  t.is(await w.ok(['image', 'tag', 'busybox:latest', 'localhost:5000/team/box']), '');
  const all = await tags(w);
  t.true(all.includes('mybox:1'), all.join(' '));
  t.true(all.includes('localhost:5000/team/box:latest'), all.join(' '));
  const [a, b] = await Promise.all(['busybox', 'mybox:1'].map((r) => w.ok(['image', 'inspect', '--format', '{{.Id}}', r])));
  t.is(a, b, 'the same image');
  t.is((await w.cli(['run', '--rm', '--network', 'none', 'mybox:1', 'true'])).exitCode, 0);
  t.is(await w.ok(['rmi', 'mybox:1', 'localhost:5000/team/box']).then((s) => s.split('\n').length), 2, 'two untags');
  t.true((await tags(w)).includes('busybox:latest'), 'the source keeps its tag');

  const missing = await w.cli(['tag', 'nosuch:1', 'x:1']);
  t.is(missing.exitCode, 125);
  t.regex(missing.stderr.trim(), /^[^\n]*nosuch[^\n]*$/);
  const bad = await w.cli(['tag', 'busybox', 'Bad Name']);
  t.is(bad.exitCode, 125);
  t.regex(bad.stderr.trim(), /^[^\n]*(invalid|Bad Name)[^\n]*$/);
  t.is((await w.cli(['tag', 'busybox'])).exitCode, 125, 'one argument is a usage error');
  t.deepEqual(
    (await tags(w)).filter((x) => !x.startsWith('busybox')),
    [],
    'the refused tags made nothing',
  );
});

test.serial('load reads a docker save archive from -i FILE or stdin; a refused one makes nothing', async (t) => {
  const { w } = t.context;
  const archive = dockerSaveArchive(w.dir, 'loaded:1', { Labels: { via: 'load' } });
  t.teardown(() => fs.rmSync(path.dirname(archive), { recursive: true, force: true }));
  t.is(await w.ok(['load', '-i', archive]), 'Loaded image: loaded:1');
  t.is(await w.ok(['image', 'inspect', '--format', '{{.Config.Labels.via}}', 'loaded:1']), 'load');
  await w.ok(['rmi', 'loaded:1']);
  t.is(await w.ok(['image', 'load'], { input: fs.readFileSync(archive) }), 'Loaded image: loaded:1');
  t.true((await tags(w)).includes('loaded:1'));
  await w.ok(['rmi', 'loaded:1']);

  const before = await tags(w);
  const junk = path.join(w.dir, 'junk.tar');
  fs.writeFileSync(junk, 'not a tar at all');
  const refused = await w.cli(['load', '-i', junk]);
  t.not(refused.exitCode, 0);
  t.regex(refused.stderr.trim(), /^[^\n]*not a valid tar archive[^\n]*$/);
  const absent = await w.cli(['load', '-i', path.join(w.dir, 'absent.tar')]);
  t.not(absent.exitCode, 0);
  t.regex(absent.stderr.trim(), /^[^\n]*cannot open[^\n]*no such file[^\n]*$/);
  t.deepEqual(await tags(w), before, 'nothing was made');
});

test.serial(
  'GET /images/json applies dockerd filters: reference globs, dangling, label, before/since; bad ones 400/404',
  async (t) => {
    const { w } = t.context;
    await w.ok(['run', '--name', 'ilist', '--network', 'none', 'busybox', 'true']);
    t.teardown(async () => {
      await w.cli(['rm', '-f', 'ilist']);
      await w.cli(['rmi', 'ibb:1', 'iother/ibb:2', 'ilab:1', 'idang:1']);
      await w.cli(['image', 'prune', '-f']);
    });
    await w.ok(['tag', 'busybox', 'ibb:1']);
    await w.ok(['tag', 'busybox', 'iother/ibb:2']);
    await w.ok(['commit', '--change', 'LABEL il=1', 'ilist', 'ilab:1']);
    await w.ok(['commit', '--change', 'LABEL il=2', 'ilist', 'idang:1']);
    await w.ok(['commit', '--change', 'LABEL il=3', 'ilist', 'idang:1']); // the first idang:1 is now dangling
    const list = async (f: Record<string, string[]>): Promise<string[] | string> => {
      const r = await api(w.socket, { path: `/images/json?filters=${encodeURIComponent(JSON.stringify(f))}` });
      if (r.status !== 200) return `${r.status} ${(r.json as { message: string }).message}`;
      return (r.json as Array<{ RepoTags: string[]; Labels: Record<string, string> }>)
        .map((i) => (i.RepoTags.length ? i.RepoTags.join(',') : `<none>(${i.Labels.il})`))
        .filter((x) => /ibb|ilab|idang|<none>|busybox/.test(x))
        .sort();
    };
    t.deepEqual(await list({ reference: ['ibb'] }), ['ibb:1'], 'only the matching tag of busybox’s image');
    t.deepEqual(await list({ reference: ['*/ibb'] }), ['iother/ibb:2']);
    t.deepEqual(await list({ reference: ['ibb:1', 'ilab'] }), ['ibb:1', 'ilab:1']);
    t.deepEqual(await list({ reference: ['busy*'] }), ['busybox:latest']);
    t.deepEqual(await list({ reference: ['nosuchrepo'] }), []);
    t.deepEqual(await list({ dangling: ['true'] }), ['<none>(2)']);
    t.false((await list({ dangling: ['false'] })).includes('<none>(2)'));
    t.deepEqual(await list({ label: ['il=1'] }), ['ilab:1']);
    t.deepEqual(await list({ label: ['il'] }), ['<none>(2)', 'idang:1', 'ilab:1']);
    t.deepEqual(await list({ since: ['ilab:1'] }), ['<none>(2)', 'idang:1']);
    t.false((await list({ before: ['ilab:1'] })).includes('ilab:1'), 'before excludes the image itself');
    t.regex(String(await list({ dangling: ['x'] })), /^400 /);
    t.regex(String(await list({ bogus: ['1'] })), /^400 /);
    t.regex(String(await list({ reference: ['[z-a]'] })), /^400 .*syntax error in pattern/);
    t.regex(String(await list({ since: ['nosuchimage'] })), /^404 No such image/);
  },
);
