/**
 * An attached client that reads slower than the container writes gets every byte, as with
 * Docker: the supervisor holds the container's output back (the container blocks in write())
 * instead of dropping the client once its buffer is full; after the exit the rest is delivered
 * while the client keeps taking it. `run` (served and through node, and the stock docker CLI),
 * `exec`, stderr; and a client that goes away releases the container.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { cleanEnv, eventually, run, start, type World } from '../helpers/world.js';
import { worldTest } from '../helpers/world-test.js';

const test = worldTest();

const BYTES = 9_000_000;
const DOCKER = '/usr/bin/docker';

/** `cmd | (sleep S; wc -c)` in bash: what arrived through a consumer that stalls first. */
async function countThroughStall(w: World, cmd: string, seconds: number, env: Record<string, string> = {}): Promise<string> {
  const r = await run('bash', ['-c', `${cmd} | (sleep ${seconds}; wc -c)`], {
    env: cleanEnv({ TSNET_HOST: `unix://${w.socket}`, DOCKER_CONFIG: path.join(w.dir, 'docker-config'), ...env }),
    timeoutMs: 90_000,
  });
  return `${r.stdout.trim()}${r.stderr.trim() ? ` (${r.stderr.trim().split('\n')[0]})` : ''}`;
}

const tsnet = path.resolve('bin/tsnet');

test.serial('run: a consumer that stalls for 2 s still gets all 9 MB (served, node, docker CLI, stderr)', async (t) => {
  const { w } = t.context;
  const out = `busybox head -c ${BYTES} /dev/zero`;
  t.is(await countThroughStall(w, `${tsnet} run --rm --network none ${out}`, 2), String(BYTES), 'served by the daemon');
  t.is(
    await countThroughStall(w, `${tsnet} run --rm --network none ${out}`, 2, { TSNET_CLI_DIRECT: '0' }),
    String(BYTES),
    'through node',
  );
  t.is(await countThroughStall(w, `${DOCKER} -H unix://${w.socket} run --network none ${out}`, 2), String(BYTES), 'docker run');
  t.is(
    await countThroughStall(
      w,
      `${tsnet} run --rm --network none busybox sh -c 'head -c 5000000 /dev/zero >&2' 2>&1 >/dev/null`,
      2,
    ),
    '5000000',
    'stderr',
  );
  await w.ok(['container', 'prune', '-f']);
});

test.serial('run: the output left at the exit waits for a consumer that pauses longer than the drain (3 s)', async (t) => {
  const { w } = t.context;
  // 8 MB are taken at once, the container's last MB fits the buffers on the way and it exits;
  // the consumer comes back after 3 s (the supervisor's 2-s drain) and still gets that MB
  const r = await run(
    'bash',
    ['-c', `${tsnet} run --rm --network none busybox head -c ${BYTES} /dev/zero | (head -c 8000000 >/dev/null; sleep 3; wc -c)`],
    {
      env: cleanEnv({ TSNET_HOST: `unix://${w.socket}` }),
      timeoutMs: 90_000,
    },
  );
  t.is(r.stdout.trim(), String(BYTES - 8_000_000), r.stderr);
});

test.serial('run --rm on a bridge: the veth goes with the container while a stalled consumer still reads', async (t) => {
  const { w } = t.context;
  await w.ok(['network', 'create', 'stall']);
  t.teardown(() => w.cli(['network', 'rm', 'stall']));
  // more than the buffers between the supervisor and the consumer hold (two unix sockets, the
  // daemon's and the launcher's streams, a pipe: ~0.9 MB was seen to fit), less than that plus
  // what the supervisor keeps for a client (1 MiB): the container exits and is removed, its
  // supervisor stays until the consumer, held on a fifo until the checks are done, takes the rest
  const gate = path.join(w.dir, 'stall-gate');
  spawnSync('mkfifo', [gate]);
  const consumer = start(
    'bash',
    ['-c', `${tsnet} run --rm --name stalled --network stall busybox head -c 1200000 /dev/zero | (read -r _ < ${gate}; wc -c)`],
    {
      env: cleanEnv({ TSNET_HOST: `unix://${w.socket}` }),
      timeoutMs: 120_000,
    },
  );
  // (non-blocking: with the reader gone it fails instead of waiting for one)
  const release = () => {
    try {
      const fd = fs.openSync(gate, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
      fs.writeSync(fd, 'go\n');
      fs.closeSync(fd);
    } catch {
      /* no reader */
    }
  };
  t.teardown(() => {
    release();
    consumer.kill();
  });
  // this world's supervisors (their bundle is under its exec root)
  const supervisors = async () => (await run('pgrep', ['-c', '-f', `tsnet-init .*${w.execRoot}/c/`])).stdout.trim();
  t.true(await eventually(async () => (await supervisors()) === '1', 20_000, 20), 'the container started');
  const removed = await eventually(async () => (await w.cli(['ps', '-aq'])).stdout.trim() === '', 30_000, 100);
  t.true(removed, 'the container exited and was removed');
  t.is(await supervisors(), '1', 'its supervisor is still there for the consumer');
  // the veth dies with the netns, which the kernel takes down shortly after its last holder
  const veths = async () => (await w.inHost(['ip', '-o', 'link', 'show', 'type', 'veth'])).stdout.trim();
  t.is(await eventually(async () => (await veths()) === '', 10_000), true, `no veth while the consumer waits: ${await veths()}`);
  t.is(await supervisors(), '1', 'checked while the supervisor still held the output');
  release();
  t.is((await consumer.done).stdout.trim(), '1200000');
});

test.serial('exec: a stalled consumer gets the whole output; the log keeps it too', async (t) => {
  const { w } = t.context;
  const id = await w.ok(['run', '-d', '--network', 'none', 'busybox', 'sleep', '1000']);
  t.teardown(() => w.cli(['rm', '-f', id]));
  t.is(await countThroughStall(w, `${tsnet} exec ${id} head -c ${BYTES} /dev/zero`, 2), String(BYTES));
  const logged = await w.ok([
    'run',
    '-d',
    '--network',
    'none',
    'busybox',
    'sh',
    '-c',
    `head -c 3000000 /dev/zero | tr '\\0' x; echo`,
  ]);
  t.teardown(() => w.cli(['rm', '-f', logged]));
  await w.ok(['wait', logged]);
  t.is((await w.ok(['logs', logged])).length, 3_000_000);
});

test.serial('an attached client that goes away releases a held container', async (t) => {
  const { w } = t.context;
  const id = await w.ok(['create', '--network', 'none', 'busybox', 'sh', '-c', `head -c ${BYTES} /dev/zero; echo done >&2`]);
  t.teardown(() => w.cli(['rm', '-f', id]));
  // attach (stdout only), read 100 kB, then stop reading for a while and close the socket
  const sock = net.connect(w.socket);
  await new Promise<void>((resolve, reject) => {
    sock.once('connect', resolve);
    sock.once('error', reject);
  });
  sock.write(
    `POST /containers/${id}/attach?stream=1&stdout=1 HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n`,
  );
  let got = 0;
  const enough = new Promise<void>((resolve) => {
    sock.on('data', (d: Buffer) => {
      got += d.length;
      if (got > 100_000) {
        sock.pause();
        resolve();
      }
    });
  });
  await w.ok(['start', id]);
  await enough;
  await new Promise((r) => setTimeout(r, 1000));
  t.is((await w.ok(['inspect', '--format', '{{.State.Running}}', id])).trim(), 'true', 'held while the client does not read');
  sock.destroy();
  const waited = await run(tsnet, ['wait', id], {
    env: cleanEnv({ TSNET_HOST: `unix://${w.socket}` }),
    timeoutMs: 20_000,
  });
  t.is(waited.stdout.trim(), '0', 'ran to its end once the client was gone');
  const logs = await w.cli(['logs', id]);
  t.is(logs.stdout.length, BYTES, 'the whole output is in the log');
  t.regex(logs.stderr, /^done$/m);
});
