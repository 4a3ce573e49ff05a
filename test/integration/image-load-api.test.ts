/**
 * POST /images/load as dockerd answers it: a JSON stream, also when the archive is refused (200
 * with an `errorDetail` message, which the Docker SDK raises as ImageLoadError and the docker CLI
 * prints); nothing is left of a refused archive.
 */
import fs from 'node:fs';
import path from 'node:path';
import { api } from '../helpers/api.js';
import { cleanEnv, run, type World } from '../helpers/world.js';
import { worldTest } from '../helpers/world-test.js';

const test = worldTest();

const DOCKER = ['/usr/local/bin/docker', '/usr/bin/docker'].find((p) => fs.existsSync(p)) ?? 'docker';
const docker = (w: World, args: string[]) =>
  run(DOCKER, ['-H', `unix://${w.socket}`, ...args], { env: cleanEnv({ DOCKER_CONFIG: path.join(w.dir, 'docker-config') }) });

test.serial('a refused archive is an errorDetail in a 200 stream; a good one says what it loaded', async (t) => {
  const { w } = t.context;
  const before = await w.ok(['image', 'ls', '-q', '--no-trunc']);
  const bad = await api(w.socket, {
    method: 'POST',
    path: '/images/load',
    raw: Buffer.from('abc'),
    headers: { 'Content-Type': 'application/x-tar' },
  });
  t.is(bad.status, 200);
  const msg = JSON.parse(bad.text.trim()) as { errorDetail: { message: string }; error: string };
  t.regex(msg.errorDetail.message, /not a valid tar archive/);
  t.is(msg.error, msg.errorDetail.message);
  t.is(await w.ok(['image', 'ls', '-q', '--no-trunc']), before, 'nothing was made');
  const file = path.join(w.dir, 'not-a-tar');
  fs.writeFileSync(file, 'abc');
  const viaDocker = await docker(w, ['load', '-i', file]);
  t.not(viaDocker.exitCode, 0);
  t.regex(viaDocker.stderr, /not a valid tar archive/);
  const good = await api(w.socket, {
    method: 'POST',
    path: '/images/load',
    raw: fs.readFileSync(path.resolve('build/busybox-rootfs.tar')),
    headers: { 'Content-Type': 'application/x-tar' },
  });
  t.is(good.status, 200);
  t.regex(good.text, /^{"stream":"Loaded image( ID)?: [^"]+\\n"}$/m);
});
