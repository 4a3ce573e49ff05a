/** The stock docker CLI (the newest one installed) against a test world's tsnetd. */
import fs from 'node:fs';
import path from 'node:path';
import { cleanEnv, run, type RunResult, type World } from './world.js';

export const STOCK_DOCKER = ['/usr/local/bin/docker', '/usr/bin/docker'].find((p) => fs.existsSync(p)) ?? 'docker';

/** `docker -H unix://<world socket> ARGS` with a config dir of the world's own. */
export function stockDocker(w: World): (args: string[]) => Promise<RunResult> {
  return (args) =>
    run(STOCK_DOCKER, ['-H', `unix://${w.socket}`, ...args], {
      env: cleanEnv({ DOCKER_CONFIG: path.join(w.dir, 'docker-config') }),
    });
}
