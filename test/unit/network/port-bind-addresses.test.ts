import test from 'ava';
import { bindAddresses, type PortRequest } from '../../../src/network/ports.js';

const req = (hostIp: string): PortRequest => ({
  proto: 'tcp',
  hostIp,
  hostPortStart: 8080,
  hostPortEnd: 8080,
  containerPort: 80,
});

test('no host IP: 0.0.0.0 and :: for IPv4-only and dual-stack targets alike (Docker, userland proxy on)', (t) => {
  t.deepEqual(bindAddresses(req(''), { ipv4: '10.0.0.2' }, true), ['', '::']);
  t.deepEqual(bindAddresses(req(''), { ipv4: '10.0.0.2', ipv6: 'fd00::2' }, true), ['', '::']);
  t.deepEqual(bindAddresses(req(''), { ipv4: '10.0.0.2', defaultHostIp: '0.0.0.0' }, true), ['', '::']);
});

test('no :: on a host that cannot listen on IPv6, nor beside another default binding address', (t) => {
  t.deepEqual(bindAddresses(req(''), { ipv4: '10.0.0.2', ipv6: 'fd00::2' }, false), ['']);
  t.deepEqual(bindAddresses(req(''), { ipv4: '10.0.0.2', defaultHostIp: '127.0.0.1' }, true), ['127.0.0.1']);
  t.deepEqual(bindAddresses(req(''), { ipv4: '10.0.0.2', defaultHostIp: '::1' }, true), ['::1']);
});

test('an explicit host IP is bound alone, whatever the family', (t) => {
  t.deepEqual(bindAddresses(req('127.0.0.1'), { ipv4: '10.0.0.2' }, true), ['127.0.0.1']);
  t.deepEqual(bindAddresses(req('0.0.0.0'), { ipv4: '10.0.0.2' }, true), ['0.0.0.0']);
  t.deepEqual(bindAddresses(req('::'), { ipv4: '10.0.0.2' }, true), ['::']);
  t.deepEqual(bindAddresses(req('::1'), { ipv4: '10.0.0.2', defaultHostIp: '127.0.0.1' }, true), ['::1']);
});
