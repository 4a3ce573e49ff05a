import test from 'ava';
import { parsePs } from '../../../src/runtime/container/top.js';

const PS = `UID          PID    PPID  C STIME TTY          TIME CMD
root           1       0  0 05:24 ?        00:00:03 /sbin/init splash
root         100       1  0 05:24 ?        00:00:00 sleep 1000
root         101     100  0 05:24 ?        00:00:00 sh -c echo a  b
`;

test('parsePs keeps the container pids and joins the words of the last column', (t) => {
  const r = parsePs(PS, [100, 101]);
  t.deepEqual(r.Titles, ['UID', 'PID', 'PPID', 'C', 'STIME', 'TTY', 'TIME', 'CMD']);
  t.deepEqual(r.Processes, [
    ['root', '100', '1', '0', '05:24', '?', '00:00:00', 'sleep 1000'],
    ['root', '101', '100', '0', '05:24', '?', '00:00:00', 'sh -c echo a b'],
  ]);
});

test('parsePs finds PID in any column and refuses output without one', (t) => {
  t.deepEqual(parsePs('COMMAND PID\nsleep 7\nsh 8\n', [8]).Processes, [['sh', '8']]);
  t.throws(() => parsePs('COMMAND\nsleep\n', [8]), { message: /no PID column/ });
});
