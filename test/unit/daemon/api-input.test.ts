/**
 * The API's input checks without a daemon: schema messages (one line naming the field), the
 * JSON depth scan, filters, version comparison, the create-body mapping between API versions,
 * --group resolution, import limit parsing and id checks.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { parseJsonBody } from '../../../src/daemon/http/body.js';
import { Router } from '../../../src/daemon/http/router.js';
import { check, compileSchema, foldKeys } from '../../../src/daemon/http/schema.js';
import { socketGroup } from '../../../src/daemon/http/socket.js';
import { versionLess } from '../../../src/daemon/http/version.js';
import { normalizeCreateBody } from '../../../src/daemon/routes/create-body.js';
import { filters } from '../../../src/daemon/routes/params.js';
import { ContainerCreateBody, ExecCreateBody, NetworkCreateBody, VolumeCreateBody } from '../../../src/daemon/schemas/index.js';
import { ImportBudget, parseByteSize } from '../../../src/runtime/image/limits.js';
import { checkId, RecordStore } from '../../../src/store/record-store.js';

const create = compileSchema({ body: ContainerCreateBody }).body;
const network = compileSchema({ body: NetworkCreateBody }).body;
const message = (fn: () => void): string => {
  try {
    fn();
  } catch (err) {
    return (err as Error).message;
  }
  return '';
};

test('a schema violation is one line naming the field, the rule and the value', (t) => {
  t.is(
    message(() => check(create, { HostConfig: { Dns: ['1.1.1.1\nnameserver 6.6.6.6'] } }, 'body')),
    'invalid HostConfig.Dns[0]: must be an IP address (got "1.1.1.1\\nnameserver 6.6.6.6")',
  );
  t.regex(
    message(() => check(create, { Hostname: 'a\nb' }, 'body')),
    /^invalid Hostname: must be a host name/,
  );
  t.regex(
    message(() => check(create, { Env: [1] }, 'body')),
    /^invalid Env\[0\]: .*\(got 1\)$/,
  );
  t.regex(
    message(() => check(create, { Labels: { 'a\nb': 'c' } }, 'body')),
    /^invalid Labels\["a\\nb"\]: keys must be/,
  );
  t.regex(
    message(() => check(network, {}, 'body')),
    /^invalid Name: this field is required$/,
  );
  t.regex(
    message(() => check(network, { Name: 'x'.repeat(300) }, 'body')),
    /^invalid Name: must be a network name.*\.\.\.\)$/,
  );
  t.is(
    message(() => check(network, { Name: 'test 01' }, 'body')),
    '',
  );
  // a volume name: the rule, not the empty name the body may also carry ("expected ''")
  const volume = compileSchema({ body: VolumeCreateBody }).body;
  t.regex(
    message(() => check(volume, { Name: 'bad/name' }, 'body')),
    /^invalid Name: must be a volume name: \[a-zA-Z0-9\]\[a-zA-Z0-9_.-\]\+.* \(got "bad\/name"\)$/,
  );
  t.is(
    message(() => check(volume, { Name: '' }, 'body')),
    '',
  );
  t.is(
    message(() => check(volume, { Name: 'ok_1.2-3' }, 'body')),
    '',
  );
  t.is(
    message(() => check(create, { Cmd: 'true', Entrypoint: null, HostConfig: { Binds: null, PidsLimit: null } }, 'body')),
    '',
  );
});

test('the depth scan refuses deep JSON before parsing and ignores brackets inside strings', (t) => {
  t.throws(() => parseJsonBody(Buffer.from(`${'['.repeat(65)}${']'.repeat(65)}`)), { message: /nested too deep/ });
  t.deepEqual(parseJsonBody(Buffer.from(JSON.stringify({ a: '[[[[['.repeat(100), b: '\\"{{{' }))), {
    a: '[[[[['.repeat(100),
    b: '\\"{{{',
  });
  t.throws(() => parseJsonBody(Buffer.from('{"a":')), { message: 'the request body is not valid JSON' });
});

test('filters: null is none, old and new forms, unknown keys refused', (t) => {
  const q = (v: string) => new URLSearchParams({ filters: v });
  t.deepEqual(filters(q('null')), {});
  t.deepEqual(filters(q('{"name":["a"]}')), { name: ['a'] });
  t.deepEqual(filters(q('{"name":{"a":true}}')), { name: ['a'] });
  t.throws(() => filters(q('{"bogus":["a"]}'), ['name']), { message: "invalid filter 'bogus'" });
  t.throws(() => filters(q('[1]')), { message: 'invalid filter' });
});

test('versions compare numerically; the router checks the prefix only on a matched route', (t) => {
  t.true(versionLess('1.9', '1.10'));
  t.false(versionLess('1.44', '1.44'));
  const r = new Router();
  r.add({ method: 'GET', pattern: '/x/{id}', schema: {}, handler: async () => ({ status: 200 }) });
  t.is(r.match('GET', '/v1.50/nothing'), undefined);
  t.throws(() => r.match('GET', '/v1.50/x/a'), { message: /too new/ });
  t.is(r.match('POST', '/x/a'), 'method');
  const m = r.match('GET', '/v1.41/x/a%20b');
  t.true(typeof m === 'object' && m.params.id === 'a b' && m.apiVersion === '1.41');
  t.throws(() => r.match('GET', '/x/%zz'), { message: /invalid escape/ });
});

test('create bodies by API version: below 1.44 one network and a container-wide MAC on it', (t) => {
  const two = { NetworkingConfig: { EndpointsConfig: { a: {}, b: {} } } };
  t.throws(() => normalizeCreateBody(structuredClone(two), '1.43'), { message: /multiple network endpoints: a, b/ });
  t.is(Object.keys(normalizeCreateBody(structuredClone(two), '1.44').NetworkingConfig?.EndpointsConfig ?? {}).length, 2);
  const old = normalizeCreateBody({ MacAddress: '02:00:00:00:00:01', HostConfig: { NetworkMode: 'n' } }, '1.41');
  t.is(old.NetworkingConfig?.EndpointsConfig?.n?.MacAddress, '02:00:00:00:00:01');
  const ignored = normalizeCreateBody(
    { NetworkingConfig: { EndpointsConfig: { n: { MacAddress: '02:00:00:00:00:02' } } } },
    '1.41',
  );
  t.is(ignored.NetworkingConfig?.EndpointsConfig?.n?.MacAddress, undefined);
  const strCmd = normalizeCreateBody(
    { Cmd: 'true' as unknown as string[], Labels: null as unknown as Record<string, string> },
    '1.44',
  );
  t.deepEqual(strCmd.Cmd, ['true']);
  t.false('Labels' in strCmd);
});

test('--group: names from the group file, numbers as they are, the default falls back to root', (t) => {
  const f = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'grp-')), 'group');
  fs.writeFileSync(f, 'root:x:0:\ndocker:x:999:alice\n');
  t.deepEqual(socketGroup('docker', true, f), { gid: 999 });
  t.deepEqual(socketGroup('1234', false, f), { gid: 1234 });
  t.is(socketGroup('missing', true, f).gid, 0);
  t.throws(() => socketGroup('missing', false, f), { message: /group missing not found/ });
  fs.rmSync(path.dirname(f), { recursive: true });
});

test('import limits: sizes parse, the budget stops at each limit', (t) => {
  t.is(parseByteSize('16m', 'x'), 16 * 1024 * 1024);
  t.is(parseByteSize('2g', 'x'), 2 * 1024 ** 3);
  t.throws(() => parseByteSize('lots', '--image-max-size'));
  const b = new ImportBudget({ maxBytes: 10, maxEntries: 2, maxPathLength: 5 });
  b.addBytes(10, 'a');
  t.throws(() => b.addBytes(1, 'a'), { message: /too large/ });
  b.addEntry('x', 'a');
  t.throws(() => b.addEntry('toolong', 'a'), { message: /path longer than 5 bytes/ });
  t.throws(() => b.addEntry('y', 'a'), { message: /too many entries/ });
});

test('ids: checked before a path is built; planted records are skipped with a warning', async (t) => {
  t.throws(() => checkId('../../x'), { message: /invalid record id "..\/..\/x"/ });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rec-'));
  const good = 'a'.repeat(64);
  fs.writeFileSync(path.join(dir, `${good}.json`), JSON.stringify({ id: good }));
  fs.writeFileSync(path.join(dir, 'evil.json'), JSON.stringify({ id: '../../x' }));
  fs.writeFileSync(path.join(dir, `${'b'.repeat(64)}.json`), JSON.stringify({ id: 'c'.repeat(64) }));
  const warnings: string[] = [];
  const store = new RecordStore<{ id: string }>(dir, (m) => warnings.push(m));
  t.deepEqual(await store.loadAll(), [{ id: good }]);
  t.is(warnings.length, 2);
  await t.throwsAsync(() => store.remove('../x'));
  t.is(fs.statSync(dir).mode & 0o777, 0o700);
  fs.rmSync(dir, { recursive: true });
});

test('body keys in another case are the fields they name, as Go decodes them; exact keys win; map keys stay', (t) => {
  const exec = foldKeys(ExecCreateBody, { cmd: ['cat'], detachKeys: 'ctrl-p', Tty: true, tty: false }) as Record<string, unknown>;
  t.deepEqual(exec, { Cmd: ['cat'], DetachKeys: 'ctrl-p', Tty: true, tty: false });
  const body = {
    image: 'busybox',
    hostconfig: { logconfig: { type: 'json-file', config: { 'Max-Size': '1m' } }, binds: ['/a:/b'] },
    Labels: { image: 'x' },
    networkingconfig: { endpointsconfig: { Net1: { aliases: ['db'] } } },
  };
  t.deepEqual(foldKeys(ContainerCreateBody, body), {
    Image: 'busybox',
    HostConfig: { LogConfig: { Type: 'json-file', Config: { 'Max-Size': '1m' } }, Binds: ['/a:/b'] },
    Labels: { image: 'x' },
    NetworkingConfig: { EndpointsConfig: { Net1: { Aliases: ['db'] } } },
  });
  // the renamed fields are checked like any other
  t.regex(
    message(() => check(create, foldKeys(ContainerCreateBody, { image: 'x', hostconfig: { dns: ['a b'] } }), 'body')),
    /^invalid HostConfig\.Dns\[0\]/,
  );
});
