// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the changes are Dockerfile text with ${X} in it, not templates
import test from 'ava';
import { isTsnetError } from '../../../src/errors/index.js';
import { applyChanges } from '../../../src/runtime/image/dockerfile-changes.js';
import { commitConfig } from '../../../src/runtime/container/commit.js';
import type { ContainerConfig } from '../../../src/runtime/container/types.js';

test('CMD and ENTRYPOINT: JSON form as given, shell form through /bin/sh -c; an ENTRYPOINT drops the old cmd', (t) => {
  t.deepEqual(applyChanges({}, ['CMD ["echo", "a b"]']).Cmd, ['echo', 'a b']);
  t.deepEqual(applyChanges({}, ['cmd echo $HOME']).Cmd, ['/bin/sh', '-c', 'echo $HOME']);
  t.deepEqual(applyChanges({}, ['CMD [not json']).Cmd, ['/bin/sh', '-c', '[not json']);
  const e = applyChanges({ Cmd: ['old'] }, ['ENTRYPOINT ["/bin/echo"]']);
  t.deepEqual(e.Entrypoint, ['/bin/echo']);
  t.is(e.Cmd, undefined);
  // a CMD before the ENTRYPOINT in the same list stays, as in a Dockerfile
  t.deepEqual(applyChanges({}, ['CMD ["x"]', 'ENTRYPOINT ["/bin/echo"]']).Cmd, ['x']);
});

test('ENV, LABEL: key=value pairs with quotes and escapes, the legacy ENV form; later keys replace earlier ones', (t) => {
  const c = applyChanges({ Env: ['PATH=/bin', 'A=old'] }, ['ENV A=1 B="two words" C=a\\ b', 'ENV D value with spaces']);
  t.deepEqual(c.Env, ['PATH=/bin', 'A=1', 'B=two words', 'C=a b', 'D=value with spaces']);
  t.deepEqual(applyChanges({ Labels: { x: '1' } }, ["LABEL x=2 'y'='z z'"]).Labels, { x: '2', y: 'z z' });
});

test('$VAR expansion as dockerd: ENV, LABEL, EXPOSE, USER, VOLUME, WORKDIR, STOPSIGNAL; not CMD, ENTRYPOINT, HEALTHCHECK', (t) => {
  const c = applyChanges({ Env: ['PATH=/bin', 'HOME=/root', 'SIG=SIGUSR1'], WorkingDir: '/w' }, [
    // the pairs of one ENV see the environment before it: APP gets an empty USER_NAME, D the old HOME
    'ENV APP=/srv/$USER_NAME PORTS="80 53/udp" USER_NAME=alice HOME=/home D=$HOME',
    // a later ENV sees the earlier one's
    'ENV LOG=${APP:-none}/log PATH=$PATH:/opt/bin',
    'LABEL "${USER_NAME}.home"=$HOME quoted=\'$HOME\' escaped=\\$HOME def=${NOPE:-dflt} alt=${HOME:+set}',
    'EXPOSE $PORTS 8080',
    'USER ${USER_NAME}:staff',
    'VOLUME ["$HOME/data"]',
    // not a JSON list: words (Docker's quirk), each expanded
    'VOLUME ["$HOME"] ${APP}',
    'WORKDIR ${HOME#/}/sub',
    'STOPSIGNAL $SIG',
    'CMD echo $HOME',
    'ENTRYPOINT ["$HOME"]',
    'HEALTHCHECK CMD test -d $HOME',
  ]);
  t.deepEqual(c.Env, [
    'PATH=/bin:/opt/bin',
    'HOME=/home',
    'SIG=SIGUSR1',
    'APP=/srv/',
    'PORTS=80 53/udp',
    'USER_NAME=alice',
    'D=/root',
    'LOG=/srv//log',
  ]);
  t.deepEqual(c.Labels, { 'alice.home': '/home', quoted: '$HOME', escaped: '$HOME', def: 'dflt', alt: 'set' });
  t.deepEqual(c.ExposedPorts, { '80/tcp': {}, '53/udp': {}, '8080/tcp': {} });
  t.is(c.User, 'alice:staff');
  t.deepEqual(c.Volumes, { '/home/data': {}, '[/home]': {}, '/srv/': {} });
  t.is(c.WorkingDir, '/w/home/sub');
  t.is(c.StopSignal, 'SIGUSR1');
  t.deepEqual(c.Cmd, ['/bin/sh', '-c', 'echo $HOME']);
  t.deepEqual(c.Entrypoint, ['$HOME']);
  t.deepEqual(c.Healthcheck, { Test: ['CMD-SHELL', 'test -d $HOME'] });
  // the legacy ENV form expands its value too; a given environment replaces the config's for the lookups
  t.deepEqual(applyChanges({}, ['ENV X "$A b"'], ['A=a']).Env, ['X=a b']);
  t.deepEqual(applyChanges({ Env: ['A=config'] }, ['LABEL l=$A'], ['A=given']).Labels, { l: 'given' });
});

test("commitConfig: $VARs come from the container's Env without a request config, from the request's with one", (t) => {
  t.deepEqual(commitConfig({}, ['LABEL a=$A'], container(), {}).Labels, { a: '1' });
  t.deepEqual(commitConfig({ Env: ['A=body'] }, ['LABEL a=$A'], container(), {}).Labels, { a: 'body' });
  t.deepEqual(commitConfig({ Cmd: ['x'] }, ['LABEL b=[$A]'], container(), {}).Labels, { a: '1', b: '[]' });
  // an ENV of the commit is seen by the later changes and lands in the image before the container's
  const c = commitConfig({}, ['ENV B=$A-2', 'LABEL b=$B'], container(), {});
  t.deepEqual(c.Env, ['B=1-2', 'PATH=/bin', 'A=1']);
  t.is(c.Labels?.b, '1-2');
});

test('EXPOSE, VOLUME, USER, WORKDIR, STOPSIGNAL, HEALTHCHECK', (t) => {
  const c = applyChanges({ WorkingDir: '/app' }, [
    'EXPOSE 80 53/udp',
    'VOLUME ["/data", "/logs"]',
    'VOLUME /cache',
    'USER 1000:1000',
    'WORKDIR sub',
    'STOPSIGNAL SIGINT',
    'HEALTHCHECK --interval=1m30s --retries=3 CMD curl -f http://localhost/',
  ]);
  t.deepEqual(c.ExposedPorts, { '80/tcp': {}, '53/udp': {} });
  t.deepEqual(c.Volumes, { '/data': {}, '/logs': {}, '/cache': {} });
  t.is(c.User, '1000:1000');
  t.is(c.WorkingDir, '/app/sub');
  t.is(c.StopSignal, 'SIGINT');
  t.deepEqual(c.Healthcheck, { Interval: 90e9, Retries: 3, Test: ['CMD-SHELL', 'curl -f http://localhost/'] });
  t.deepEqual(applyChanges({}, ['HEALTHCHECK NONE']).Healthcheck, { Test: ['NONE'] });
  t.deepEqual(applyChanges({}, ['HEALTHCHECK CMD ["true"]']).Healthcheck, { Test: ['CMD', 'true'] });
});

test('refusals: one line naming the change; the input config is not touched', (t) => {
  const input = { Env: ['A=1'] };
  for (const [change, why] of [
    ['RUN echo', /RUN cannot be applied here/],
    ['FROM busybox', /FROM cannot be applied here/],
    ['ONBUILD RUN x', /ONBUILD is not supported/],
    ['EXPOSE 70000', /not a port/],
    ['EXPOSE 80-90', /port ranges/],
    ['ENV', /needs key=value pairs/],
    ['LABEL novalue', /key=value/],
    ['ENV A="open', /matching double-quote/],
    ['LABEL a=${B', /missing '}'/],
    ['ENV $NOPE=1', /key of "\$NOPE" is empty/],
    ['WORKDIR $NOPE', /WORKDIR needs a path/],
    ['VOLUME $NOPE', /VOLUME paths cannot be empty/],
    ['STOPSIGNAL $B;', /"2;" is not a signal/],
    ['VOLUME [1]', /JSON list of strings/],
    ['HEALTHCHECK --interval=soon CMD x', /not a duration/],
    ['HEALTHCHECK --every=1s CMD x', /unknown HEALTHCHECK flag/],
    ['HEALTHCHECK curl', /NONE or CMD/],
    ['STOPSIGNAL ;rm', /not a signal/],
    ['WORKDIR', /WORKDIR needs a path/],
  ] as const) {
    const err = t.throws(() => applyChanges(input, ['ENV B=2', change]), undefined, change);
    t.true(isTsnetError(err) && err.code === 'TSNET_INVALID_ARGUMENT', change);
    t.regex(err!.message, why, change);
    t.notRegex(err!.message, /\n/);
  }
  t.deepEqual(input, { Env: ['A=1'] });
});

const container = (over: Partial<ContainerConfig> = {}): ContainerConfig => ({
  Hostname: 'h',
  Domainname: '',
  User: 'app',
  AttachStdin: false,
  AttachStdout: false,
  AttachStderr: false,
  ExposedPorts: { '80/tcp': {} },
  Tty: false,
  OpenStdin: false,
  StdinOnce: false,
  Env: ['PATH=/bin', 'A=1'],
  Cmd: ['run', 'me'],
  Entrypoint: ['/entry'],
  Image: 'busybox',
  WorkingDir: '/w',
  Labels: { a: '1' },
  ...over,
});

test("commitConfig: the request's config first, the container's fills what it leaves unset (dockerd's merge)", (t) => {
  t.deepEqual(commitConfig({}, [], container(), { Volumes: { '/img': {} } }), {
    User: 'app',
    ExposedPorts: { '80/tcp': {} },
    Env: ['PATH=/bin', 'A=1'],
    Labels: { a: '1' },
    Cmd: ['run', 'me'],
    Entrypoint: ['/entry'],
    WorkingDir: '/w',
    Volumes: { '/img': {} },
  });
  const c = commitConfig({ Env: ['A=2'], Labels: { b: '2' } }, ['EXPOSE 8000', 'CMD ["bash"]'], container(), {});
  t.deepEqual(c.Env, ['A=2', 'PATH=/bin']);
  t.deepEqual(c.Labels, { a: '1', b: '2' });
  t.deepEqual(c.ExposedPorts, { '80/tcp': {}, '8000/tcp': {} });
  // a Cmd given: the container's command (entrypoint included) is not taken
  t.deepEqual(c.Cmd, ['bash']);
  t.is(c.Entrypoint, undefined);
  t.is(commitConfig({}, ['USER root', 'WORKDIR /x'], container(), {}).User, 'root');
});
