/** buildRecord's entrypoint and command, as dockerd merges them with the image's. */
import test from 'ava';
import { buildRecord, type ImageInfo } from '../../../src/runtime/container/create-request.js';
import { hostsFile } from '../../../src/runtime/etc-files.js';

const image: ImageInfo = { id: `sha256:${'a'.repeat(64)}`, config: { Entrypoint: ['/entry'], Cmd: ['default'] } };
const argv = (body: Record<string, unknown>): string[] => {
  const r = buildRecord(body as Parameters<typeof buildRecord>[0], 'x', image);
  return [r.path, ...r.args];
};

test("entrypoint and cmd: the image's, a new cmd, a new entrypoint, and --entrypoint '' (sent as [\"\"])", (t) => {
  t.deepEqual(argv({}), ['/entry', 'default']);
  t.deepEqual(argv({ Cmd: ['other'] }), ['/entry', 'other']);
  t.deepEqual(argv({ Entrypoint: ['echo'], Cmd: ['hi'] }), ['echo', 'hi']);
  t.deepEqual(argv({ Entrypoint: ['echo'] }), ['echo'], "a new entrypoint drops the image's cmd");
  t.deepEqual(argv({ Entrypoint: [''], Cmd: ['echo', 'empty', 'entrypoint'] }), ['echo', 'empty', 'entrypoint']);
  t.throws(() => argv({ Entrypoint: [''] }), { message: /no command specified/ }, 'reset, and no command: as dockerd');
});

test('/etc/hosts has the lines Docker writes', (t) => {
  t.is(
    hostsFile([]),
    '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n',
  );
});
