import test from 'ava';
import { flushConntrackPorts, listedPorts } from '../../../src/kernel/conntrack.js';

const LISTING = [
  'udp      17 29 src=192.0.2.2 dst=192.0.2.1 sport=40000 dport=5353 [UNREPLIED] src=10.0.0.2 dst=192.0.2.2 sport=53 dport=40000 mark=0 use=1',
  'udp      17 12 src=192.0.2.2 dst=192.0.2.1 sport=40001 dport=8125 src=192.0.2.1 dst=192.0.2.2 sport=8125 dport=40001 mark=0 use=1',
  '',
].join('\n');

test('listedPorts: the original direction dport of each entry', (t) => {
  t.deepEqual([...listedPorts(LISTING)], [5353, 8125]);
  t.deepEqual([...listedPorts('')], []);
});

test('flushConntrackPorts: one port is one delete; many are one listing and a delete per port that has entries', async (t) => {
  const calls: string[] = [];
  const run = async (cmd: string, args: readonly string[]) => {
    calls.push([cmd, ...args].join(' '));
    return { exitCode: 0, signal: undefined, stdout: args[0] === '-L' ? LISTING : '', stderr: '', timedOut: false };
  };
  await flushConntrackPorts('udp', [5353], run);
  t.deepEqual(calls, ['conntrack -D -p udp --orig-port-dst 5353']);
  calls.length = 0;
  await flushConntrackPorts('udp', [7000, 8125, 7001, 5353, 8125], run);
  t.deepEqual(calls, [
    'conntrack -L -p udp',
    'conntrack -D -p udp --orig-port-dst 8125',
    'conntrack -D -p udp --orig-port-dst 5353',
  ]);
});
