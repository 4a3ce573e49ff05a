import test from 'ava';
import { errnoName, errnoOf, isErrno, netlinkError } from '../../../src/kernel/netlink/errors.js';
import { TsnetError } from '../../../src/errors/index.js';

test('parses the package\'s "Request rejected" errors', (t) => {
  t.is(errnoOf(new Error('Request rejected: EEXIST')), 'EEXIST');
  t.is(errnoOf(new Error('Request rejected: -95')), 'EOPNOTSUPP');
  t.is(errnoOf(new Error('Request rejected: 19')), 'ENODEV');
  t.is(errnoOf(new Error('Timeout has been reached')), 'ETIMEDOUT');
  t.is(errnoOf(Object.assign(new Error('x'), { code: 'ENOBUFS' })), 'ENOBUFS');
  t.is(errnoOf(Object.assign(new Error('x'), { code: 'ERR_SOMETHING_NODE' })), undefined);
  t.is(errnoOf(new Error('something else')), undefined);
  t.is(errnoOf('EEXIST'), undefined);
  t.is(errnoOf(undefined), undefined);
  t.is(errnoName(-17), 'EEXIST');
  t.is(errnoName(100000), 'E100000');
});

test('netlinkError wraps with op and errno', (t) => {
  const e = netlinkError('add veth tsabc (peer eth0)', new Error('Request rejected: EEXIST'));
  t.true(e instanceof TsnetError);
  t.is(e.code, 'TSNET_NETLINK');
  t.is(e.message, 'add veth tsabc (peer eth0): EEXIST');
  t.deepEqual(e.details, { op: 'add veth tsabc (peer eth0)', errno: 'EEXIST' });
  t.true(isErrno(e, 'EEXIST'));
  t.true(isErrno(e, 'ENODEV', 'EEXIST'));
  t.false(isErrno(e, 'ENODEV'));
  t.is((e as Error & { cause?: unknown }).cause instanceof Error, true);

  const other = netlinkError('list links', new TypeError('Expected number'));
  t.is(other.message, 'list links: Expected number');
  t.deepEqual(other.details, { op: 'list links' });

  const already = new TsnetError('TSNET_INVALID_ARGUMENT', 'bad');
  t.is(netlinkError('x', already), already);
});

test('errno aliases are reported by their kernel name and match either way', (t) => {
  t.is(errnoOf(new Error('Request rejected: ENOTSUP')), 'EOPNOTSUPP');
  t.true(isErrno(new Error('Request rejected: ENOTSUP'), 'ENOTSUP'));
  t.true(isErrno(new Error('Request rejected: -95'), 'EOPNOTSUPP'));
  t.is(errnoName(11), 'EAGAIN');
});
