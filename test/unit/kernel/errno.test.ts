import test from 'ava';
import { TsnetError } from '../../../src/errors/index.js';
import { canonicalErrno, errnoName, errnoNumber, errnoOf, isErrno } from '../../../src/kernel/errno.js';

test('errno numbers and names, both ways, with the kernel name for aliases', (t) => {
  t.is(errnoName(17), 'EEXIST');
  t.is(errnoName(-98), 'EADDRINUSE');
  t.is(errnoName(95), 'EOPNOTSUPP');
  t.is(errnoName(11), 'EAGAIN');
  t.is(errnoName(100000), 'E100000');
  t.is(errnoNumber('ENOENT'), 2);
  t.is(errnoNumber('ENOTSUP'), 95);
  t.is(errnoNumber('ENOSUCH'), undefined);
  t.is(canonicalErrno('EWOULDBLOCK'), 'EAGAIN');
});

test('errnoOf reads a TsnetError, a Node ErrnoException and the netlink package text', (t) => {
  t.is(errnoOf(new TsnetError('TSNET_SYSCALL', 'x', { details: { errno: 'ENOTSUP' } })), 'EOPNOTSUPP');
  t.is(errnoOf(new TsnetError('TSNET_SYSCALL', 'x')), undefined);
  t.is(errnoOf(Object.assign(new Error('open'), { code: 'ENOENT' })), 'ENOENT');
  t.is(errnoOf(Object.assign(new Error('x'), { code: 'ERR_INVALID_ARG_TYPE' })), undefined);
  t.is(errnoOf(new Error('Request rejected: -17')), 'EEXIST');
  t.is(errnoOf('ENOENT'), undefined);
  t.true(isErrno(new TsnetError('TSNET_SYSCTL', 'x', { details: { errno: 'EINVAL' } }), 'ENOENT', 'EINVAL'));
  t.false(isErrno(new Error('plain'), 'EINVAL'));
});
