import test from 'ava';
import { buildPorts, parseExpose, parsePortSpec } from '../../../../src/cli/parse/ports.js';

const b = (HostIp: string, HostPort: string) => ({ HostIp, HostPort });

test('container port only: random host port on all addresses', (t) => {
  t.deepEqual(parsePortSpec('80'), [{ port: '80/tcp', binding: b('', '') }]);
  t.deepEqual(parsePortSpec('53/udp'), [{ port: '53/udp', binding: b('', '') }]);
  t.deepEqual(parsePortSpec('132/SCTP'), [{ port: '132/sctp', binding: b('', '') }]);
  t.deepEqual(parsePortSpec('80/'), [{ port: '80/tcp', binding: b('', '') }]);
});

test('host:container, ip:host:container, ip::container', (t) => {
  t.deepEqual(parsePortSpec('8080:80'), [{ port: '80/tcp', binding: b('', '8080') }]);
  t.deepEqual(parsePortSpec('127.0.0.1:8080:80/udp'), [{ port: '80/udp', binding: b('127.0.0.1', '8080') }]);
  t.deepEqual(parsePortSpec('127.0.0.1::80'), [{ port: '80/tcp', binding: b('127.0.0.1', '') }]);
  t.deepEqual(parsePortSpec('0:80'), [{ port: '80/tcp', binding: b('', '0') }]);
});

test('IPv6: bracketed and bare', (t) => {
  t.deepEqual(parsePortSpec('[::1]:8080:80'), [{ port: '80/tcp', binding: b('::1', '8080') }]);
  t.deepEqual(parsePortSpec('[::]::80/udp'), [{ port: '80/udp', binding: b('::', '') }]);
  t.deepEqual(parsePortSpec('::1:8080:80'), [{ port: '80/tcp', binding: b('::1', '8080') }]);
  t.deepEqual(parsePortSpec('[2001:db8::5]:443:8443'), [{ port: '8443/tcp', binding: b('2001:db8::5', '443') }]);
});

test('ranges: same length map one to one; one container port takes a host range', (t) => {
  t.deepEqual(parsePortSpec('8000-8001:80-81/udp'), [
    { port: '80/udp', binding: b('', '8000') },
    { port: '81/udp', binding: b('', '8001') },
  ]);
  t.deepEqual(parsePortSpec('80-82'), [
    { port: '80/tcp', binding: b('', '') },
    { port: '81/tcp', binding: b('', '') },
    { port: '82/tcp', binding: b('', '') },
  ]);
  t.deepEqual(parsePortSpec('8000-8010:80'), [{ port: '80/tcp', binding: b('', '8000-8010') }]);
  t.deepEqual(parsePortSpec('10.0.0.1:7000-7001:7000-7001'), [
    { port: '7000/tcp', binding: b('10.0.0.1', '7000') },
    { port: '7001/tcp', binding: b('10.0.0.1', '7001') },
  ]);
});

test('clear errors', (t) => {
  t.throws(() => parsePortSpec('8080:http'), { message: 'invalid container port "http"' });
  t.throws(() => parsePortSpec('web:80'), { message: 'invalid host port "web"' });
  t.throws(() => parsePortSpec('8080:'), { message: 'no container port specified' });
  t.throws(() => parsePortSpec('80/icmp'), { message: 'invalid protocol "icmp": use tcp, udp or sctp' });
  t.throws(() => parsePortSpec('1.2.3:80:80'), { message: 'invalid IP address "1.2.3"' });
  t.throws(() => parsePortSpec('[::1:80:80'), { message: /invalid IP address/ });
  t.throws(() => parsePortSpec('70000'), { message: /ports are 1-65535/ });
  t.throws(() => parsePortSpec('0'), { message: /ports are 1-65535/ });
  t.throws(() => parsePortSpec('90-80'), { message: /ends before it starts/ });
  t.throws(() => parsePortSpec('8000-8002:80-81'), { message: /different lengths/ });
  t.throws(() => parsePortSpec(''), { message: 'empty port specification' });
});

test('--expose and the two API maps', (t) => {
  t.deepEqual(parseExpose('90-91/udp'), ['90/udp', '91/udp']);
  t.throws(() => parseExpose('8080:80'), { message: /cannot have a host part/ });
  const fail = (spec: string, flag: string, reason: string) => new Error(`${flag} ${spec}: ${reason}`);
  t.deepEqual(buildPorts(['8080:80', '127.0.0.1:8081:80'], ['443', '80'], fail), {
    ExposedPorts: { '80/tcp': {}, '443/tcp': {} },
    PortBindings: { '80/tcp': [b('', '8080'), b('127.0.0.1', '8081')] },
  });
  t.throws(() => buildPorts(['x'], [], fail), { message: '-p, --publish x: invalid container port "x"' });
  t.throws(() => buildPorts([], ['1:2'], fail), { message: /^--expose 1:2: / });
});
