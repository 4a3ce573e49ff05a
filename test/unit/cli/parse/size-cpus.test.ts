import test from 'ava';
import { parseNanoCpus } from '../../../../src/cli/parse/cpus.js';
import { ramInBytes } from '../../../../src/cli/parse/size.js';

test('ramInBytes: docker units (binary), case-insensitive, fractions, optional b/ib', (t) => {
  t.is(ramInBytes('100'), 100);
  t.is(ramInBytes('100b'), 100);
  t.is(ramInBytes('512k'), 512 * 1024);
  t.is(ramInBytes('512K'), 512 * 1024);
  t.is(ramInBytes('64m'), 64 * 1024 ** 2);
  t.is(ramInBytes('64MB'), 64 * 1024 ** 2);
  t.is(ramInBytes('64MiB'), 64 * 1024 ** 2);
  t.is(ramInBytes('1g'), 1024 ** 3);
  t.is(ramInBytes('1.5g'), 1.5 * 1024 ** 3);
  t.is(ramInBytes('2 GB'), 2 * 1024 ** 3);
  t.is(ramInBytes('1t'), 1024 ** 4);
  t.is(ramInBytes('0'), 0);
  t.is(ramInBytes('64 '), 64); // as go-units: a trailing space is the separator of an empty unit
});

test('ramInBytes: rejects bad sizes', (t) => {
  for (const bad of ['64x', '', 'm', '-1', '1.2.3', '64mm', '64mbb', ' 64', '1e3', '64kib2', 'abc']) {
    t.throws(() => ramInBytes(bad), { message: 'invalid size' }, bad);
  }
});

test('parseNanoCpus: decimals and fractions, exact', (t) => {
  t.is(parseNanoCpus('1'), 1e9);
  t.is(parseNanoCpus('0.5'), 5e8);
  t.is(parseNanoCpus('.25'), 2.5e8);
  t.is(parseNanoCpus('1.5'), 1.5e9);
  t.is(parseNanoCpus('0.000000001'), 1);
  t.is(parseNanoCpus('1.0000000010'), 1_000_000_001);
  t.is(parseNanoCpus('3/2'), 1.5e9);
  t.is(parseNanoCpus('0'), 0);
});

test('parseNanoCpus: errors like docker', (t) => {
  t.throws(() => parseNanoCpus('0.0000000001'), { message: 'value is too precise' });
  t.throws(() => parseNanoCpus('1/3'), { message: 'value is too precise' });
  t.throws(() => parseNanoCpus('abc'), { message: 'failed to parse abc as a rational number' });
  t.throws(() => parseNanoCpus('-1'), { message: /rational number/ });
  t.throws(() => parseNanoCpus('.'), { message: /rational number/ });
  t.throws(() => parseNanoCpus('1/0'), { message: /rational number/ });
});
