/**
 * Runs the Docker SDK for Python's own integration tests against a throwaway tsnetd — the yardstick
 * for the API (issues 11 and 12). The SDK is not part of tsnet: pass the path of a checkout of the
 * public docker/docker-py repository; its `docker` package is used through PYTHONPATH. Needs Debian's
 * python3-pytest and python3-requests.
 *
 *   node --import tsx scripts/docker-py-tests.ts DOCKER_PY_DIR [pytest args, e.g. tests/integration/api_network_test.py]
 *
 * The daemon runs in its own network namespace with its own --root/--exec-root (test/helpers/world.ts),
 * and the busybox image is also tagged as the SDK's test image (alpine:3.10). Everything is removed
 * afterwards. Exit code: pytest's.
 */
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { createWorld } from '../test/helpers/world.js';

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
  try {
    // The SDK's tests use alpine; busybox has every tool they call.
    for (const tag of ['alpine:3.10', 'alpine:latest']) {
      await world.ok(['image', 'import', path.resolve('build/busybox-rootfs.tar'), '--tag', tag]);
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
  }
}

process.exitCode = await main();
