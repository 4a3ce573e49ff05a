import test from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fullReference, pullQuery } from '../../../src/cli/commands/pull.js';
import {
  DOCKER_HUB_KEY,
  loadCredentials,
  registryAuthHeader,
  registryOf,
  removeCredentials,
  saveCredentials,
} from '../../../src/cli/credentials.js';
import { PullDisplay } from '../../../src/cli/pull-display.js';

const D = `sha256:${'a'.repeat(64)}`;

test('pull sends the query docker sends and prints the full reference', (t) => {
  t.deepEqual(pullQuery('busybox'), { fromImage: 'busybox', tag: 'latest' });
  t.deepEqual(pullQuery('localhost:5000/x:2'), { fromImage: 'localhost:5000/x', tag: '2' });
  t.deepEqual(pullQuery('localhost:5000/x'), { fromImage: 'localhost:5000/x', tag: 'latest' });
  t.deepEqual(pullQuery(`x:1@${D}`), { fromImage: 'x', tag: D });
  t.is(fullReference('busybox', 'latest'), 'docker.io/library/busybox:latest');
  t.is(fullReference('team/app', D), `docker.io/team/app@${D}`);
  t.is(fullReference('localhost:5000/x', '2'), 'localhost:5000/x:2');
});

test('credentials are stored as docker stores them, per registry', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-cred-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const env = { TSNET_CONFIG: dir };
  t.is(registryOf('busybox'), 'docker.io');
  t.is(registryOf('team/app'), 'docker.io');
  t.is(registryOf('localhost/app'), 'localhost');
  t.is(registryOf('r.example:5000/app'), 'r.example:5000');
  t.is(loadCredentials(env, 'docker.io'), undefined);
  saveCredentials(env, 'docker.io', 'me', 'pw');
  saveCredentials(env, 'r.example:5000', 'u', 'p:q');
  const doc = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as { auths: Record<string, unknown> };
  t.deepEqual(Object.keys(doc.auths).sort(), [DOCKER_HUB_KEY, 'r.example:5000'].sort());
  t.deepEqual(loadCredentials(env, 'index.docker.io'), { serveraddress: DOCKER_HUB_KEY, username: 'me', password: 'pw' });
  const creds = loadCredentials(env, 'r.example:5000');
  t.deepEqual(JSON.parse(Buffer.from(registryAuthHeader(creds), 'base64url').toString('utf8')), {
    serveraddress: 'r.example:5000',
    username: 'u',
    password: 'p:q',
  });
  t.true(removeCredentials(env, 'r.example:5000'));
  t.false(removeCredentials(env, 'r.example:5000'));
  t.is(loadCredentials(env, 'r.example:5000'), undefined);
});

test('pull progress without a terminal: one line per status change, no byte counts', (t) => {
  let out = '';
  const d = new PullDisplay({ write: (s: string) => (out += s) } as unknown as NodeJS.WritableStream, false);
  d.show({ status: 'Pulling from busybox', id: 'latest' });
  d.show({ status: 'Pulling fs layer', id: 'abc' });
  d.show({ status: 'Downloading', id: 'abc', progress: '[=>  ] 1B/2B' });
  d.show({ status: 'Downloading', id: 'abc', progress: '[==>] 2B/2B' });
  d.show({ status: 'Pull complete', id: 'abc' });
  d.show({ status: 'Digest: sha256:x' });
  t.is(out, 'latest: Pulling from busybox\nabc: Pulling fs layer\nabc: Downloading\nabc: Pull complete\nDigest: sha256:x\n');
});
