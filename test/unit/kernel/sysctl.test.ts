import test from 'ava';
import { ifaceSysctlKey, readSysctl, sysctlPath, writeSysctl } from '../../../src/kernel/sysctl.js';
import { isTsnetError, type TsnetError } from '../../../src/errors/index.js';

test('dotted and path-form keys', (t) => {
  t.is(sysctlPath('net.ipv4.ip_forward'), '/proc/sys/net/ipv4/ip_forward');
  t.is(sysctlPath('net/ipv4/conf/eth0.100/forwarding'), '/proc/sys/net/ipv4/conf/eth0.100/forwarding');
  t.is(ifaceSysctlKey('ipv6', 'br-1.2', 'disable_ipv6'), 'net/ipv6/conf/br-1.2/disable_ipv6');
  t.is(ifaceSysctlKey('ipv4', 'eth0', 'gc_stale_time', 'neigh'), 'net/ipv4/neigh/eth0/gc_stale_time');
});

test('keys that could leave /proc/sys are refused', (t) => {
  for (const bad of [
    '',
    'net/../../etc/passwd',
    '/net/ipv4/ip_forward',
    'net..ipv4',
    'net/ipv4/',
    'net ipv4',
    'net/ipv4/conf/./x',
  ]) {
    const err = t.throws(() => sysctlPath(bad));
    t.true(isTsnetError(err, 'TSNET_SYSCTL'), bad);
  }
});

test('read an existing sysctl; a missing one is TSNET_SYSCTL with ENOENT', (t) => {
  t.is(readSysctl('kernel.ostype'), 'Linux');
  const err = t.throws(() => readSysctl('net.ipv4.no_such_sysctl_tsnet'));
  t.true(isTsnetError(err, 'TSNET_SYSCTL'));
  t.is((err as TsnetError).details?.errno, 'ENOENT');
  t.regex((err as TsnetError).message, /^read sysctl net\.ipv4\.no_such_sysctl_tsnet: ENOENT$/);
  const werr = t.throws(() => writeSysctl('net.ipv4.no_such_sysctl_tsnet', 1));
  t.true(isTsnetError(werr, 'TSNET_SYSCTL'));
  t.is((werr as TsnetError).details?.errno, 'ENOENT');
});
