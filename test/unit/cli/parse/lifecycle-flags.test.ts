import test from 'ava';
import { parseGoDuration } from '../../../../src/cli/parse/duration.js';
import { parseMount, parseTmpfs } from '../../../../src/cli/parse/mount.js';
import { parseRestart } from '../../../../src/cli/parse/restart.js';

test('--restart', (t) => {
  t.deepEqual(parseRestart('always'), { Name: 'always', MaximumRetryCount: 0 });
  t.deepEqual(parseRestart('on-failure:5'), { Name: 'on-failure', MaximumRetryCount: 5 });
  t.throws(() => parseRestart('always:3'), { message: /only be used with on-failure/ });
  t.throws(() => parseRestart('often'), { message: /use no, always/ });
  t.throws(() => parseRestart('on-failure:x'), { message: /non-negative integer/ });
});

test('Go durations → ns', (t) => {
  t.is(parseGoDuration('30s'), 30e9);
  t.is(parseGoDuration('1m30s'), 90e9);
  t.is(parseGoDuration('500ms'), 500e6);
  t.is(parseGoDuration('1.5h'), 5400e9);
  t.is(parseGoDuration('0'), 0);
  for (const bad of ['30', 's', '1x', '1s2']) t.throws(() => parseGoDuration(bad), { message: /invalid duration/ });
});

test('--mount: docker CSV', (t) => {
  t.deepEqual(parseMount('type=bind,source=/a,target=/b,readonly'), { Type: 'bind', Source: '/a', Target: '/b', ReadOnly: true });
  t.deepEqual(parseMount('src=v,dst=/d,volume-nocopy,volume-opt=type=tmpfs,volume-opt=device=tmpfs,volume-label=a=b'), {
    Type: 'volume',
    Source: 'v',
    Target: '/d',
    VolumeOptions: { NoCopy: true, Labels: { a: 'b' }, DriverConfig: { Options: { type: 'tmpfs', device: 'tmpfs' } } },
  });
  t.deepEqual(parseMount('type=tmpfs,destination=/t,tmpfs-size=1m,tmpfs-mode=1777'), {
    Type: 'tmpfs',
    Target: '/t',
    TmpfsOptions: { SizeBytes: 1048576, Mode: 0o1777 },
  });
  t.throws(() => parseMount('type=bind,source=/a'), { message: /target is required/ });
  t.throws(() => parseMount('type=tmpfs,target=/t,volume-nocopy'), { message: /volume options cannot be used with type=tmpfs/ });
  t.throws(() => parseMount('type=npipe,target=/t'), { message: /unsupported mount type/ });
  t.throws(() => parseMount('target=/t,colour=red'), { message: /unexpected key "colour"/ });
  t.deepEqual(parseTmpfs('/run:size=64k'), ['/run', 'size=64k']);
  t.throws(() => parseTmpfs('run'), { message: /not absolute/ });
});
