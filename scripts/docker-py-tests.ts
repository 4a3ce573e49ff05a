/**
 * Runs the Docker SDK for Python's own integration tests against a throwaway tsnetd — the yardstick
 * for the API (issues 11 and 12). The SDK is not part of tsnet: pass the path of a checkout of the
 * public docker/docker-py repository; its `docker` package is used through PYTHONPATH. Needs Debian's
 * python3-pytest and python3-requests.
 *
 *   node --import tsx scripts/docker-py-tests.ts DOCKER_PY_DIR [pytest args, e.g. tests/integration/api_network_test.py]
 *
 * The daemon runs in its own network namespace with its own --root/--exec-root (test/helpers/world.ts).
 * The SDK's tests use alpine:3.10; this machine has no registry, so a stand-in is imported under that
 * name: the busybox root filesystem plus what the tests read from alpine's base layout (the
 * `postgres` user and group, uid/gid 70, and the /var/opt directory). Everything is removed
 * afterwards. Exit code: pytest's.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createWorld } from '../test/helpers/world.js';

/** build/busybox-rootfs.tar with alpine's postgres account and /var/opt; the caller removes the dir. */
function alpineStandIn(): { dir: string; tar: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'docker-py-image-'));
  const root = path.join(dir, 'rootfs');
  fs.mkdirSync(root);
  const tar = (args: string[]): void => {
    const r = spawnSync('tar', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    if (r.status !== 0) throw new Error(`tar ${args.join(' ')}: ${r.stderr.toString().trim()}`);
  };
  tar(['-xf', path.resolve('build/busybox-rootfs.tar'), '-C', root]);
  fs.appendFileSync(path.join(root, 'etc/passwd'), 'postgres:x:70:70::/var/lib/postgresql:/bin/sh\n');
  fs.appendFileSync(path.join(root, 'etc/group'), 'postgres:x:70:\n');
  fs.mkdirSync(path.join(root, 'var/opt'), { recursive: true, mode: 0o755 });
  const out = path.join(dir, 'alpine-stand-in.tar');
  tar(['-cf', out, '-C', root, '.']);
  return { dir, tar: out };
}

async function main(): Promise<number> {
  const [dir, ...args] = process.argv.slice(2);
  if (!dir) {
    console.error('usage: docker-py-tests.ts DOCKER_PY_DIR [pytest args]');
    return 2;
  }
  if (spawnSync('/usr/bin/python3', ['-c', 'import pytest, requests']).status !== 0) {
    console.error(
      'docker-py-tests: needs python3-pytest and python3-requests (apt-get install python3-pytest python3-requests python3-paramiko)',
    );
    return 2;
  }
  const world = await createWorld();
  const image = alpineStandIn();
  try {
    for (const tag of ['alpine:3.10', 'alpine:latest']) {
      await world.ok(['image', 'import', image.tar, '--tag', tag]);
    }
    const child = spawn(
      'nsenter',
      [`--net=${world.hostNetns}`, '/usr/bin/python3', '-m', 'pytest', '-q', '-p', 'no:cacheprovider', ...args],
      {
        cwd: path.resolve(dir),
        stdio: 'inherit',
        env: { ...process.env, PYTHONPATH: path.resolve(dir), DOCKER_HOST: `unix://${world.socket}` },
      },
    );
    return await new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? 1)));
  } finally {
    await world.teardown();
    fs.rmSync(image.dir, { recursive: true, force: true });
  }
}

process.exitCode = await main();
