import test from 'ava';
import { parseJsonSpec, parsePluginUrl, parseSpecFile } from '../../../src/plugins/spec-files.js';
import { isTsnetError } from '../../../src/errors/index.js';

test('.spec with unix:// gives the socket path', (t) => {
  const a = parseSpecFile('x', '  unix:///run/x/x.sock\n', '/etc/tsnet/plugins/x.spec');
  t.is(a.protocol, 'unix');
  t.is(a.socketPath, '/run/x/x.sock');
  t.is(a.url, 'unix:///run/x/x.sock');
  t.is(a.name, 'x');
  t.is(a.source, '/etc/tsnet/plugins/x.spec');
});

test('.spec with tcp:// gives host and port', (t) => {
  const a = parseSpecFile('x', 'tcp://127.0.0.1:8080', 'f');
  t.like(a, { protocol: 'tcp', host: '127.0.0.1', port: 8080, url: 'tcp://127.0.0.1:8080' });
  const b = parseSpecFile('x', 'tcp://[::1]:9000', 'f');
  t.like(b, { protocol: 'tcp', host: '::1', port: 9000 });
  const c = parseSpecFile('x', 'https://plugins.example:443', 'f');
  t.like(c, { protocol: 'https', host: 'plugins.example', port: 443 });
});

test('.spec without a scheme, with an unknown scheme, a relative unix path or no port is refused with the file named', (t) => {
  for (const bad of ['/run/x.sock', 'http://127.0.0.1:80', 'unix://relative/x.sock', 'tcp://127.0.0.1', '']) {
    const err = t.throws(() => parseSpecFile('x', bad, '/etc/tsnet/plugins/x.spec'));
    t.true(isTsnetError(err, 'TSNET_INVALID_ARGUMENT'), bad);
    t.regex(err!.message, /\/etc\/tsnet\/plugins\/x\.spec/);
  }
});

test('.json: Addr, TLSConfig; the Name field is ignored (the file name is the name)', (t) => {
  const a = parseJsonSpec(
    'fromfile',
    JSON.stringify({
      Name: 'other',
      Addr: 'https://10.0.0.1:4443',
      TLSConfig: { CAFile: '/ca.pem', CertFile: '/c.pem', KeyFile: '/k.pem' },
    }),
    'f',
  );
  t.is(a.name, 'fromfile');
  t.deepEqual(a.tls, { caFile: '/ca.pem', certFile: '/c.pem', keyFile: '/k.pem', insecureSkipVerify: false });
  const b = parseJsonSpec('x', JSON.stringify({ Addr: 'tcp://127.0.0.1:1', TLSConfig: {} }), 'f');
  t.true(b.tls?.insecureSkipVerify, 'no CA file means no verification, as in Docker');
  const c = parseJsonSpec('x', JSON.stringify({ addr: 'unix:///x.sock' }), 'f');
  t.is(c.socketPath, '/x.sock', 'keys are matched case-insensitively');
  t.is(c.tls, undefined);
});

test('.json malformed or without Addr is refused', (t) => {
  for (const bad of ['{', '[]', '{}', '{"Addr": 3}', '{"Addr":"tcp://h:1","TLSConfig":"x"}']) {
    t.true(
      isTsnetError(
        t.throws(() => parseJsonSpec('x', bad, 'f.json')),
        'TSNET_INVALID_ARGUMENT',
      ),
      bad,
    );
  }
});

test('parsePluginUrl keeps the name given', (t) => {
  t.is(parsePluginUrl('n', 'unix:///a/b.sock', '--url').name, 'n');
});
