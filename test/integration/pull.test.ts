/**
 * Pull from a real registry (Debian's docker-registry) inside the world's netns, filled with
 * skopeo from OCI layouts built here: by tag and digest, OCI and Docker media types, a
 * manifest list choosing amd64, a corrupted blob refused without leftovers, Basic and Bearer
 * auth with tsnet login, layers shared with imports, the stock docker CLI's progress, and
 * --insecure-registry for a registry off loopback.
 */
import test from 'ava';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {
  makeLayout,
  makeTokenCert,
  requireTools,
  sha256,
  skopeoCopy,
  startRegistry,
  startTokenServer,
  tarWithFile,
  type BuiltImage,
} from '../helpers/registry.js';
import { BUSYBOX_TAR, cleanEnv, createWorld, run, type World } from '../helpers/world.js';

const REG = '127.0.0.1:5000';
const BASIC = '127.0.0.1:5001';
const BEARER = '127.0.0.1:5002';
const TOKEN_PORT = 5003;
// bcrypt of "s3cret-pw" (the registry's htpasswd needs bcrypt)
const HTPASSWD = 'alice:$2b$04$V2hhicMlOyTDxsewiGqA/Or9R24I0EEucWfpZhOFlXYOE2cH6V65C\n';
const DOCKER = ['/usr/local/bin/docker', '/usr/bin/docker'].find((p) => fs.existsSync(p)) ?? 'docker';

let w: World;
let layout: string;
let storage: string;
let bb: BuiltImage;
let multi: { top: string; images: BuiltImage[] };
let unique: BuiltImage;
let tokenLog: string;
const busybox = fs.readFileSync(BUSYBOX_TAR);
// Incompressible, so the layer blob is big enough for progress bars.
const UNIQUE = crypto.randomBytes(150_000).toString('base64');

test.before(async () => {
  requireTools();
  w = await createWorld({ busybox: false });
  layout = path.join(w.dir, 'layout');
  storage = path.join(w.dir, 'registry');
  fs.mkdirSync(storage);
  bb = makeLayout(layout, 'bb', [{ architecture: 'amd64', layers: [busybox] }], false).images[0]!;
  multi = makeLayout(
    layout,
    'multi',
    [
      { architecture: 'arm64', variant: 'v8', layers: [tarWithFile(w.dir, 'arm', 'arm64 image')] },
      { architecture: 'amd64', layers: [busybox, tarWithFile(w.dir, 'amd', 'amd64 image')] },
    ],
    true,
  );
  unique = makeLayout(layout, 'unique', [{ architecture: 'amd64', layers: [busybox, tarWithFile(w.dir, 'u', UNIQUE)] }], false)
    .images[0]!;
  await startRegistry(w, { port: 5000, storage });
  await skopeoCopy(w, `oci:${layout}:bb`, `docker://${REG}/busybox:oci`);
  await skopeoCopy(w, `oci:${layout}:bb`, `docker://${REG}/busybox:docker`, ['--format', 'v2s2']);
  await skopeoCopy(w, `oci:${layout}:multi`, `docker://${REG}/multi:oci`, ['--all']);
  await skopeoCopy(w, `oci:${layout}:multi`, `docker://${REG}/multi:docker`, ['--all', '--format', 'v2s2']);
  await skopeoCopy(w, `oci:${layout}:unique`, `docker://${REG}/unique:1`);
  // The same content behind Basic and Bearer auth.
  const htpasswd = path.join(w.dir, 'htpasswd');
  fs.writeFileSync(htpasswd, HTPASSWD);
  await startRegistry(w, { port: 5001, storage, htpasswd });
  const { key, cert } = makeTokenCert(w.dir);
  tokenLog = path.join(w.dir, 'token.log');
  await startTokenServer(w, { port: TOKEN_PORT, key, cert, userPass: 'bob:t0ken-pw', log: tokenLog });
  await startRegistry(w, {
    port: 5002,
    storage,
    token: { realm: `http://127.0.0.1:${TOKEN_PORT}/token`, service: 'tsnet-test', issuer: 'tsnet-test-issuer', rootCert: cert },
  });
});
test.after.always(async () => {
  await w?.teardown();
});

const layersDir = () => path.join(w.root, 'image', 'layers');
const layerDirs = () => fs.readdirSync(layersDir()).filter((n) => /^[0-9a-f]{64}$/.test(n));
const inspect = async (ref: string) =>
  (
    JSON.parse(await w.ok(['image', 'inspect', ref])) as Array<{
      Id: string;
      RepoTags: string[];
      RepoDigests: string[];
      Architecture: string;
      RootFS: { Layers: string[] };
    }>
  )[0]!;
const home = () => path.join(w.dir, 'home');
const cliEnv = () => ({ env: { HOME: home() } });

test.serial('pull by tag (OCI media types): progress, the image runs, its layer is shared with an import', async (t) => {
  const r = await w.cli(['pull', `${REG}/busybox:oci`]);
  t.is(r.exitCode, 0, r.stderr);
  const short = bb.layerBlobs[0]!.slice(7, 19);
  t.regex(r.stdout, /^oci: Pulling from busybox$/m);
  for (const s of ['Pulling fs layer', 'Downloading', 'Verifying Checksum', 'Download complete', 'Extracting', 'Pull complete']) {
    t.true(r.stdout.includes(`${short}: ${s}\n`), `${s} missing from:\n${r.stdout}`);
  }
  t.regex(r.stdout, new RegExp(`^Digest: ${bb.manifest}$`, 'm'));
  t.regex(r.stdout, new RegExp(`^Status: Downloaded newer image for ${REG}/busybox:oci$`, 'm'));
  t.regex(r.stdout, new RegExp(`^${REG}/busybox:oci$`, 'm'));
  const img = await inspect(`${REG}/busybox:oci`);
  t.is(img.Id, bb.config);
  t.deepEqual(img.RootFS.Layers, bb.diffIds);
  t.deepEqual(img.RepoDigests, [`${REG}/busybox@${bb.manifest}`]);

  const ran = await w.cli(['run', '--rm', '--network', 'none', `${REG}/busybox:oci`, 'sh', '-c', 'echo pulled-ok']);
  t.is(ran.stdout, 'pulled-ok\n', ran.stderr);

  // The imported rootfs tarball is the same layer: stored once.
  await w.ok(['image', 'import', BUSYBOX_TAR, 'imported:1']);
  t.deepEqual(layerDirs(), [bb.diffIds[0]!.slice(7)]);
  // Pulled again: up to date, nothing downloaded.
  const again = await w.ok(['pull', `${REG}/busybox:oci`]);
  t.regex(again, new RegExp(`${short}: Already exists`));
  t.notRegex(again, /Downloading/);
  t.regex(again, /Status: Image is up to date for/);
});

test.serial('pull of Docker media types (schema 2) gives the same image', async (t) => {
  await w.ok(['pull', `${REG}/busybox:docker`]);
  const img = await inspect(`${REG}/busybox:docker`);
  t.is(img.Id, bb.config);
  t.is(img.RepoDigests.length, 2, 'one repo digest per manifest (OCI and Docker)');
});

for (const kind of ['oci', 'docker']) {
  test.serial(`a ${kind === 'oci' ? 'OCI index' : 'Docker manifest list'} with two platforms: amd64 is pulled`, async (t) => {
    const out = await w.ok(['pull', `${REG}/multi:${kind}`]);
    const img = await inspect(`${REG}/multi:${kind}`);
    const amd64 = multi.images[1]!;
    t.is(img.Architecture, 'amd64');
    t.deepEqual(img.RootFS.Layers, amd64.diffIds);
    if (kind === 'oci') {
      t.is(img.Id, amd64.config);
      t.regex(out, new RegExp(`Digest: ${multi.top}`), 'the digest shown is the index digest');
    }
    t.false(layerDirs().includes(multi.images[0]!.diffIds[0]!.slice(7)), 'the arm64 layer was not downloaded');
    const ran = await w.cli(['run', '--rm', '--network', 'none', `${REG}/multi:${kind}`, 'cat', '/amd']);
    t.is(ran.stdout, 'amd64 image', ran.stderr);
  });
}

test.serial('--platform chooses another entry of a manifest list; a platform it lacks is one line', async (t) => {
  const arm = multi.images[0]!;
  await w.ok(['pull', '--platform', 'linux/arm64', `${REG}/multi:oci`]);
  const img = await inspect(`${REG}/multi:oci`);
  t.is(img.Architecture, 'arm64');
  t.is(img.Id, arm.config);
  const none = await w.cli(['pull', '--platform', 'linux/s390x', `${REG}/multi:oci`]);
  t.is(none.exitCode, 125);
  t.is(
    none.stderr,
    'tsnet: no matching manifest for linux/s390x in the manifest list entries (it has: linux/arm64/v8, linux/amd64)\n',
  );
  await w.ok(['pull', `${REG}/multi:oci`]);
  t.is((await inspect(`${REG}/multi:oci`)).Architecture, 'amd64');
  await w.ok(['rmi', arm.config]);
});

test.serial('pull by digest: no tag, RepoDigests kept, runs by digest; an unknown digest is refused', async (t) => {
  const ref = `${REG}/unique@${unique.manifest}`;
  const out = await w.ok(['pull', ref]);
  t.regex(out, new RegExp(`Status: Downloaded newer image for ${ref.replace(/[.]/g, '\\.')}`));
  const img = await inspect(ref);
  t.deepEqual(img.RepoTags, []);
  t.deepEqual(img.RepoDigests, [ref]);
  const ran = await w.cli(['run', '--rm', '--network', 'none', ref, 'cat', '/u']);
  t.true(ran.stdout === UNIQUE, ran.stderr);
  const missing = await w.cli(['pull', `${REG}/unique@sha256:${'0'.repeat(64)}`]);
  t.is(missing.exitCode, 125);
  t.regex(missing.stderr, /^tsnet: manifest for 127\.0\.0\.1:5000\/unique@sha256:0+ not found: manifest unknown/);
  await w.ok(['rmi', img.Id]);
});

test.serial('a corrupted layer blob is refused and leaves nothing behind', async (t) => {
  const before = layerDirs();
  const blob = unique.layerBlobs[1]!.slice(7);
  const file = path.join(storage, 'docker/registry/v2/blobs/sha256', blob.slice(0, 2), blob, 'data');
  const good = fs.readFileSync(file);
  const bad = Buffer.from(good);
  bad[bad.length - 20] = bad[bad.length - 20]! ^ 0xff;
  fs.writeFileSync(file, bad);
  try {
    const r = await w.cli(['pull', `${REG}/unique:1`]);
    t.is(r.exitCode, 125);
    t.regex(
      r.stderr,
      new RegExp(
        `tsnet: layer 2/2 \\(${blob.slice(0, 12)}\\) of ${REG}/unique:1 failed verification: .* expected \\d+ bytes with digest sha256:${blob}`,
      ),
    );
    t.deepEqual(layerDirs(), before, 'no layer was added');
    t.deepEqual(fs.readdirSync(path.join(w.root, 'image', 'tmp')), [], 'no download or extraction left in tmp');
    t.is((await w.cli(['image', 'inspect', `${REG}/unique:1`])).exitCode, 1);
  } finally {
    fs.writeFileSync(file, good);
  }
  const ok = await w.cli(['pull', `${REG}/unique:1`]);
  t.is(ok.exitCode, 0, ok.stderr);
  t.is(sha256(good), unique.layerBlobs[1]!);
});

test.serial('Basic auth: anonymous pull is denied; tsnet login stores credentials; pull works', async (t) => {
  const denied = await w.cli(['pull', `${BASIC}/busybox:oci`], cliEnv());
  t.is(denied.exitCode, 125);
  t.regex(denied.stderr, /pull access denied for 127\.0\.0\.1:5001\/busybox: .*log in with tsnet login 127\.0\.0\.1:5001/);
  const wrong = await w.cli(['login', BASIC, '-u', 'alice', '--password-stdin'], { ...cliEnv(), input: 'nope\n' });
  t.is(wrong.exitCode, 125);
  t.regex(wrong.stderr, /login to 127\.0\.0\.1:5001 failed/);
  t.false(fs.existsSync(path.join(home(), '.tsnet', 'config.json')));
  const login = await w.cli(['login', BASIC, '-u', 'alice', '--password-stdin'], { ...cliEnv(), input: 's3cret-pw\n' });
  t.is(login.stdout, 'Login Succeeded\n', login.stderr);
  const config = path.join(home(), '.tsnet', 'config.json');
  t.is(fs.statSync(config).mode & 0o777, 0o600);
  t.deepEqual(JSON.parse(fs.readFileSync(config, 'utf8')), {
    auths: { [BASIC]: { auth: Buffer.from('alice:s3cret-pw').toString('base64') } },
  });
  const pulled = await w.cli(['pull', `${BASIC}/busybox:oci`], cliEnv());
  t.is(pulled.exitCode, 0, pulled.stderr);
  t.is((await inspect(`${BASIC}/busybox:oci`)).Id, bb.config);
  t.is((await w.cli(['logout', BASIC], cliEnv())).stdout, `Removing login credentials for ${BASIC}\n`);
});

test.serial('Bearer auth: tokens from the realm with scope repository:NAME:pull and the login credentials', async (t) => {
  const denied = await w.cli(['pull', `${BEARER}/multi:oci`], cliEnv());
  t.is(denied.exitCode, 125);
  t.regex(denied.stderr, /token server of 127\.0\.0\.1:5002 refused an anonymous token/);
  const login = await w.cli(['login', BEARER, '-u', 'bob', '--password-stdin'], { ...cliEnv(), input: 't0ken-pw' });
  t.is(login.exitCode, 0, login.stderr);
  const pulled = await w.cli(['pull', `${BEARER}/multi:oci`], cliEnv());
  t.is(pulled.exitCode, 0, pulled.stderr);
  t.is((await inspect(`${BEARER}/multi:oci`)).Architecture, 'amd64');
  const queries = fs.readFileSync(tokenLog, 'utf8');
  t.regex(queries, /scope=repository%3Amulti%3Apull/);
  t.regex(queries, /service=tsnet-test/);
  t.regex(queries, /account=bob/);
});

test.serial('the stock docker CLI pulls through tsnetd with progress bars (and its own X-Registry-Auth)', async (t) => {
  const env = cleanEnv({ DOCKER_CONFIG: path.join(w.dir, 'docker-config') });
  const docker = `${DOCKER} -H unix://${w.socket}`;
  // A terminal, so docker draws progress bars.
  await w.ok(['rmi', `${REG}/unique:1`]);
  const r = await run('script', ['-qec', `stty cols 200; ${docker} pull ${REG}/unique:1`, '/dev/null'], { env });
  t.is(r.exitCode, 0, r.stdout);
  t.regex(r.stdout, /Downloading\s+\[=+>?\s*\]\s+[\d.]+kB\/[\d.]+kB/);
  t.regex(r.stdout, /Pull complete/);
  t.regex(r.stdout, new RegExp(`Digest: ${unique.manifest}`));
  const login = await run(DOCKER, ['-H', `unix://${w.socket}`, 'login', BASIC, '-u', 'alice', '--password-stdin'], {
    env,
    input: 's3cret-pw',
  });
  t.is(login.exitCode, 0, login.stderr);
  const pulled = await run(DOCKER, ['-H', `unix://${w.socket}`, 'pull', `${BASIC}/unique:1`], { env });
  t.is(pulled.exitCode, 0, pulled.stderr);
  t.regex(pulled.stdout, /Status: Downloaded newer image for 127\.0\.0\.1:5001\/unique:1/);
});

test.serial('tsnet run pulls a missing image (--pull missing), --pull never does not', async (t) => {
  await w.cli(['rmi', `${REG}/unique:1`]); // present or not, it is missing now
  const never = await w.cli(['run', '--rm', '--pull', 'never', '--network', 'none', `${REG}/unique:1`, 'true']);
  t.is(never.exitCode, 125);
  t.regex(never.stderr, /No such image: 127\.0\.0\.1:5000\/unique:1/);
  const r = await w.cli(['run', '--rm', '--network', 'none', `${REG}/unique:1`, 'cat', '/u']);
  t.is(r.exitCode, 0, r.stderr);
  t.true(r.stdout === UNIQUE);
  t.regex(r.stderr, /^Unable to find image '127\.0\.0\.1:5000\/unique:1' locally\n1: Pulling from unique\n/);
  t.regex(r.stderr, /Status: Downloaded newer image for 127\.0\.0\.1:5000\/unique:1/);
});

test.serial('a registry off loopback needs --insecure-registry for plain http', async (t) => {
  // The host end of a veth in the world's netns: a local address that is not loopback.
  const addr = (await w.addClient()).hostIp;
  await startRegistry(w, { port: 5000, storage, address: addr });
  const refused = await w.cli(['pull', `${addr}:5000/busybox:oci`]);
  t.is(refused.exitCode, 125);
  t.regex(
    refused.stderr,
    new RegExp(`cannot reach registry ${addr}:5000 over https: .*start tsnetd with --insecure-registry ${addr}:5000`),
  );
  await w.killDaemon('SIGTERM');
  await w.startDaemon(['--insecure-registry', `${addr}:5000`]);
  const ok = await w.cli(['pull', `${addr}:5000/busybox:oci`]);
  t.is(ok.exitCode, 0, ok.stderr);
  await w.killDaemon('SIGTERM');
  await w.startDaemon(['--insecure-registry', `${addr.replace(/\.\d+$/, '.0')}/24`]);
  const cidr = await w.cli(['pull', `${addr}:5000/unique:1`]);
  t.is(cidr.exitCode, 0, cidr.stderr);
});
