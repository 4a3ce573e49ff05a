import test from 'ava';
import { buildEnv, envFlag, parseEnvFile } from '../../../../src/cli/parse/env.js';
import { parseVolume } from '../../../../src/cli/parse/volume.js';

const lookup = (k: string): string | undefined => ({ HOME: '/root', EMPTY: '' })[k];

test('-e: KEY=VALUE as is, KEY from the client env, bare KEY when unset', (t) => {
  t.is(envFlag('A=1', lookup), 'A=1');
  t.is(envFlag('A=', lookup), 'A=');
  t.is(envFlag('A=b=c', lookup), 'A=b=c');
  t.is(envFlag('HOME', lookup), 'HOME=/root');
  t.is(envFlag('EMPTY', lookup), 'EMPTY=');
  t.is(envFlag('MISSING', lookup), 'MISSING');
  t.throws(() => envFlag('=x', lookup), { message: 'invalid environment variable: =x' });
});

test('env file: comments, blanks, leading space, CRLF, BOM, bare keys', (t) => {
  const content = '\uFEFF# comment\nA=1\r\n\n   B=  spaced value \nHOME\nMISSING\n  # indented comment\nC="quoted"\n';
  t.deepEqual(parseEnvFile(content, lookup), ['A=1', 'B=  spaced value ', 'HOME=/root', 'C="quoted"']);
});

test('env file: errors name the line', (t) => {
  t.throws(() => parseEnvFile('A=1\nBAD KEY=2\n', lookup), { message: "line 2: variable 'BAD KEY' contains whitespaces" });
  t.throws(() => parseEnvFile('B = x\n', lookup), { message: "line 1: variable 'B' contains whitespaces" });
  t.throws(() => parseEnvFile('=novar\n', lookup), { message: "line 1: no variable name on line '=novar'" });
});

test('buildEnv: files first, then -e; unreadable file is a clear error', (t) => {
  const files: Record<string, string> = { 'a.env': 'X=1\nY=2\n' };
  const read = (f: string): string => {
    const c = files[f];
    if (c === undefined) throw Object.assign(new Error('nope'), { code: 'ENOENT' });
    return c;
  };
  t.deepEqual(buildEnv(['Y=3', 'HOME'], ['a.env'], lookup, read), ['X=1', 'Y=2', 'Y=3', 'HOME=/root']);
  t.throws(() => buildEnv([], ['b.env'], lookup, read), { message: 'cannot read env file "b.env": no such file or directory' });
});

test('volumes: host:ctr[:ro|rw], relative host paths made absolute, names passed through', (t) => {
  t.is(parseVolume('/srv:/data', '/cwd'), '/srv:/data');
  t.is(parseVolume('/srv:/data:ro', '/cwd'), '/srv:/data:ro');
  t.is(parseVolume('/srv:/data:rw', '/cwd'), '/srv:/data:rw');
  t.is(parseVolume('./site:/usr/share/html', '/home/me'), '/home/me/site:/usr/share/html');
  t.is(parseVolume('..:/up', '/home/me'), '/home:/up');
  t.is(parseVolume('myvol:/data', '/cwd'), 'myvol:/data');
  t.is(parseVolume('myvol:/data:ro,nocopy', '/cwd'), 'myvol:/data:ro,nocopy');
  // anonymous volume: Config.Volumes
  t.is(parseVolume('/data', '/'), '/data');
});

test('volumes: clear errors', (t) => {
  t.throws(() => parseVolume('data', '/'), { message: 'container path "data" is not absolute' });
  t.throws(() => parseVolume('/a:data', '/'), { message: 'container path "data" is not absolute' });
  t.throws(() => parseVolume('/a:/b:q', '/'), { message: 'invalid mode "q": use ro or rw (and z, Z, nocopy, a propagation)' });
  t.throws(() => parseVolume('/a:/b:ro:x', '/'), { message: /too many colons/ });
  t.throws(() => parseVolume(':/b', '/'), { message: 'empty host path' });
  t.throws(() => parseVolume('/a:', '/'), { message: 'empty container path' });
});
