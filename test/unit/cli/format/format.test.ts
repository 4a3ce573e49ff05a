import test from 'ava';
import { containerStatus, humanDuration, timeAgo } from '../../../../src/cli/format/duration.js';
import { formatList } from '../../../../src/cli/format/list.js';
import { displayablePorts } from '../../../../src/cli/format/ports.js';
import { bytesSize, humanSize } from '../../../../src/cli/format/size.js';
import { ellipsis, renderTable } from '../../../../src/cli/format/table.js';
import { compileTemplate, goValue } from '../../../../src/cli/format/template.js';

test('humanDuration like go-units', (t) => {
  const s = 1000;
  t.is(humanDuration(500), 'Less than a second');
  t.is(humanDuration(1 * s), '1 second');
  t.is(humanDuration(2 * s), '2 seconds');
  t.is(humanDuration(59 * s), '59 seconds');
  t.is(humanDuration(60 * s), 'About a minute');
  t.is(humanDuration(119 * s), 'About a minute');
  t.is(humanDuration(120 * s), '2 minutes');
  t.is(humanDuration(59 * 60 * s), '59 minutes');
  t.is(humanDuration(60 * 60 * s), 'About an hour');
  t.is(humanDuration(3 * 3600 * s), '3 hours');
  t.is(humanDuration(47 * 3600 * s), '47 hours');
  t.is(humanDuration(3 * 86400 * s), '3 days');
  t.is(humanDuration(15 * 86400 * s), '2 weeks');
  t.is(humanDuration(90 * 86400 * s), '3 months');
  t.is(humanDuration(800 * 86400 * s), '2 years');
  t.is(timeAgo(0, 5000), '5 seconds ago');
});

test('containerStatus like docker State.String()', (t) => {
  const now = Date.parse('2024-05-01T10:00:00Z');
  t.is(containerStatus({ Status: 'running', Running: true, StartedAt: '2024-05-01T09:59:58Z' }, now), 'Up 2 seconds');
  t.is(
    containerStatus({ Status: 'paused', Running: true, Paused: true, StartedAt: '2024-05-01T09:00:00Z' }, now),
    'Up About an hour (Paused)',
  );
  t.is(
    containerStatus(
      { Status: 'exited', ExitCode: 0, StartedAt: '2024-05-01T09:00:00Z', FinishedAt: '2024-05-01T09:59:55Z' },
      now,
    ),
    'Exited (0) 5 seconds ago',
  );
  t.is(containerStatus({ Status: 'created', StartedAt: '0001-01-01T00:00:00Z' }, now), 'Created');
});

test('sizes', (t) => {
  t.is(humanSize(999), '999B');
  t.is(humanSize(1000), '1kB');
  t.is(humanSize(128_000), '128kB');
  t.is(humanSize(7_812_345), '7.81MB');
  t.is(humanSize(1_230_000_000), '1.23GB');
  t.is(bytesSize(16 * 1024 ** 3), '16GiB');
  t.is(bytesSize(16.7 * 1024 ** 3), '16.7GiB');
  t.is(bytesSize(512), '512B');
});

test('ports column like docker DisplayablePorts', (t) => {
  t.is(displayablePorts([]), '');
  t.is(
    displayablePorts([
      { IP: '0.0.0.0', PrivatePort: 80, PublicPort: 8080, Type: 'tcp' },
      { IP: '::', PrivatePort: 80, PublicPort: 8080, Type: 'tcp' },
    ]),
    '0.0.0.0:8080->80/tcp, [::]:8080->80/tcp',
  );
  t.is(
    displayablePorts([
      { PrivatePort: 81, Type: 'tcp' },
      { PrivatePort: 80, Type: 'tcp' },
      { PrivatePort: 82, Type: 'tcp' },
      { PrivatePort: 53, Type: 'udp' },
    ]),
    '53/udp, 80-82/tcp',
  );
  t.is(
    displayablePorts([
      { IP: '0.0.0.0', PrivatePort: 7000, PublicPort: 7000, Type: 'tcp' },
      { IP: '0.0.0.0', PrivatePort: 7001, PublicPort: 7001, Type: 'tcp' },
    ]),
    '0.0.0.0:7000-7001->7000-7001/tcp',
  );
});

test('table layout: min width 10, padding 3, last column unpadded', (t) => {
  t.is(renderTable(['A', 'LONG HEADER', 'Z'], [['x', 'y', 'zzz']]), 'A         LONG HEADER   Z\nx         y             zzz\n');
  t.is(ellipsis('abcdef', 4), 'abc…');
  t.is(ellipsis('abc', 4), 'abc');
});

test('templates: fields, json, range, if, index, join; Go %v printing', (t) => {
  const data = {
    Name: 'web',
    State: { Running: true, Pid: 42 },
    Nets: { b: { IP: '10.0.0.3' }, a: { IP: '10.0.0.2' } },
    Tags: ['x', 'y'],
  };
  t.is(compileTemplate('{{.Name}} {{.State.Pid}} {{.State.Running}}').execute(data), 'web 42 true');
  t.is(compileTemplate('{{json .State}}').execute(data), '{"Running":true,"Pid":42}');
  t.is(compileTemplate('{{range .Nets}}{{.IP}} {{end}}').execute(data), '10.0.0.2 10.0.0.3 ');
  t.is(compileTemplate('{{index .Nets "b" }}').execute(data), 'map[IP:10.0.0.3]');
  t.is(compileTemplate('{{join .Tags ","}}|{{len .Tags}}').execute(data), 'x,y|2');
  t.is(compileTemplate('{{if .State.Running}}up{{else}}down{{end}}').execute(data), 'up');
  t.is(compileTemplate('{{range .Missing}}x{{else}}none{{end}}').execute(data), 'none');
  t.is(compileTemplate('{{.Nope}}').execute(data), '<no value>');
  t.is(compileTemplate('a\\tb').execute({}), 'a\tb');
  t.is(goValue([1, 'a', null]), '[1 a <nil>]');
  t.throws(() => compileTemplate('{{.Name'), { message: /unclosed action/ });
  t.throws(() => compileTemplate('{{range .X}}'), { message: /unterminated range/ });
});

test('formatList: table, json, template, table template', (t) => {
  const spec = {
    headers: ['ID', 'NAME'],
    row: (i: { id: string; name: string }) => [i.id, i.name],
    json: (i: { id: string; name: string }) => ({ ID: i.id, Name: i.name }),
    headerNames: { ID: 'NETWORK ID', Name: 'NAME' },
  };
  const items = [{ id: '1', name: 'a' }];
  t.is(formatList(items, undefined, spec), 'ID        NAME\n1         a\n');
  t.is(formatList(items, 'json', spec), '{"ID":"1","Name":"a"}\n');
  t.is(formatList(items, '{{.Name}}', spec), 'a\n');
  t.is(formatList(items, 'table {{.ID}}\\t{{.Name}}', spec), 'NETWORK ID   NAME\n1            a\n');
  t.throws(() => formatList(items, '{{.Name', spec), { message: /invalid --format/ });
});
