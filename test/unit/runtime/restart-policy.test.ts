import test from 'ava';
import { checkRestartPolicy, nextDelay, shouldRestart, startAtDaemonStart } from '../../../src/runtime/restart/policy.js';
import { RestartScheduler } from '../../../src/runtime/restart/scheduler.js';

const exit = (exitCode: number, manuallyStopped = false, restartCount = 0) => ({ exitCode, manuallyStopped, restartCount });

test('shouldRestart: Docker restart manager rules', (t) => {
  t.false(shouldRestart(undefined, exit(1)));
  t.false(shouldRestart({ Name: 'no' }, exit(1)));
  t.true(shouldRestart({ Name: 'always' }, exit(0)));
  t.true(shouldRestart({ Name: 'unless-stopped' }, exit(0)));
  t.false(shouldRestart({ Name: 'always' }, exit(137, true)), 'never after an API stop');
  t.false(shouldRestart({ Name: 'on-failure' }, exit(0)));
  t.true(shouldRestart({ Name: 'on-failure' }, exit(1, false, 1000)), 'no maximum: unlimited');
  t.true(shouldRestart({ Name: 'on-failure', MaximumRetryCount: 2 }, exit(1, false, 1)));
  t.false(shouldRestart({ Name: 'on-failure', MaximumRetryCount: 2 }, exit(1, false, 2)));
});

test('startAtDaemonStart: always even after a manual stop; unless-stopped not', (t) => {
  t.true(startAtDaemonStart({ Name: 'always' }, exit(137, true)));
  t.false(startAtDaemonStart({ Name: 'unless-stopped' }, exit(137, true)));
  t.true(startAtDaemonStart({ Name: 'unless-stopped' }, exit(0)));
  t.false(startAtDaemonStart({ Name: 'no' }, exit(1)));
});

test('back-off: 100 ms, doubling, capped at a minute, reset after 10 s up', (t) => {
  let d = 0;
  const seen: number[] = [];
  for (let i = 0; i < 12; i++) {
    d = nextDelay(d, 50);
    seen.push(d);
  }
  t.deepEqual(seen.slice(0, 5), [100, 200, 400, 800, 1600]);
  t.is(seen.at(-1), 60_000);
  t.is(nextDelay(60_000, 10_000), 100);
});

test('checkRestartPolicy: what Docker refuses', (t) => {
  t.notThrows(() => checkRestartPolicy({ Name: 'on-failure', MaximumRetryCount: 3 }, false));
  t.notThrows(() => checkRestartPolicy({ Name: '' }, true));
  t.throws(() => checkRestartPolicy({ Name: 'always', MaximumRetryCount: 1 }, false), {
    message: /only be used with 'on-failure'/,
  });
  t.throws(() => checkRestartPolicy({ Name: 'on-failure', MaximumRetryCount: -1 }, false), { message: /positive integer/ });
  t.throws(() => checkRestartPolicy({ Name: 'always' }, true), { message: /AutoRemove/ });
  t.throws(() => checkRestartPolicy({ Name: 'sometimes' }, false), { message: /invalid restart policy "sometimes"/ });
});

test('scheduler: on-failure:N counts restarts since the last API start; cancel stops the timer', async (t) => {
  const restarted: string[] = [];
  const s = new RestartScheduler({ restart: async (id) => void restarted.push(id) });
  const target = { id: 'a', policy: { Name: 'on-failure', MaximumRetryCount: 1 }, exitCode: 1, manuallyStopped: false, ranMs: 0 };
  t.true(s.afterExit(target));
  t.true(s.pending('a'));
  s.cancel('a');
  t.false(s.pending('a'));
  s.counted('a');
  t.false(s.afterExit(target), 'one retry used');
  s.reset('a');
  t.true(s.afterExit(target), 'an API start begins again');
  s.cancel('a');
  t.deepEqual(restarted, []);
});
