/**
 * Runs a list of docker CLI commands against a real dockerd (Debian's docker.io 20.10, started
 * by bench/peers.ts startDocker in its own netns) and against a tsnetd world (test/helpers/world.ts),
 * the same Debian docker CLI for both, one step at a time on both side by side; normalises ids,
 * times, digests and MAC addresses, and prints where the answers differ. A JSON answer (inspect)
 * is compared field by field: what only one side has, and leaves whose values differ.
 *
 *   node --import tsx scripts/diff-dockerd.ts [--all] [--only WORD] [--out FILE]
 *
 * --all prints the steps that agree too; --only runs the steps of the groups whose name contains
 * WORD (and the setup steps they need are the caller's business: groups run in order, each
 * cleans up after itself). A step `api METHOD PATH` calls the API with curl and shows the HTTP
 * status with the body. Everything started is torn down at the end, also after a failure or ^C.
 * A dev tool: its output is read by people, never asserted on.
 */
import fs from 'node:fs';
import path from 'node:path';
import { startDocker, type Peer } from '../bench/peers.js';
import { cleanEnv, createWorld, run, type RunResult, type World } from '../test/helpers/world.js';

const DOCKER_CLI = ['/usr/bin/docker', '/usr/local/bin/docker'].find((p) => fs.existsSync(p)) ?? 'docker';

/** One step: docker CLI args, or `['api', METHOD, PATH, body?]`; `sleep N` waits N ms on both. */
type Step = string[];
interface Group {
  name: string;
  steps: Step[];
}

/** Leaf keys whose values are per-daemon by nature: compared by type only. */
const VOLATILE = new Set([
  'Id',
  'ID',
  'Created',
  'CreatedAt',
  'StartedAt',
  'FinishedAt',
  'Pid',
  'Hostname',
  'HostnamePath',
  'HostsPath',
  'ResolvConfPath',
  'LogPath',
  'SandboxKey',
  'SandboxID',
  'EndpointID',
  'NetworkID',
  'MacAddress',
  'Image',
  'Mountpoint',
  'Source',
  'Data',
  'LowerDir',
  'MergedDir',
  'UpperDir',
  'WorkDir',
  'Name',
  'Timestamp',
  'time',
  'timeNano',
  'Size',
  'SizeRw',
  'SizeRootFs',
]);

/** `docker run --rm --network none ARGS…`. */
const none = (...args: string[]): Step => ['run', '--rm', '--network', 'none', ...args];

/** `docker events` over the events group's window (marks T0 and T1). */
const window = (...args: string[]): Step => ['events', '--since', '$T0', '--until', '$T1', ...args];

const GROUPS: Group[] = [
  {
    name: 'network',
    steps: [
      [
        'network',
        'create',
        '--subnet',
        '10.77.0.0/24',
        '--ip-range',
        '10.77.0.128/25',
        '--gateway',
        '10.77.0.1',
        '--aux-address',
        'h1=10.77.0.5',
        '--label',
        'lab=one',
        '-o',
        'com.docker.network.driver.mtu=1400',
        'dn1',
      ],
      ['network', 'inspect', 'dn1'],
      ['network', 'create', 'dn1'],
      ['network', 'create', '--subnet', '10.77.0.0/25', 'dnover'],
      ['network', 'create', '--internal', 'dn2'],
      ['network', 'create', '--ipv6', '--subnet', 'fd00:77::/64', '--subnet', '10.78.0.0/24', 'dn6'],
      ['network', 'inspect', 'dn6'],
      ['network', 'inspect', '--format', '{{.Internal}} {{.EnableIPv6}} {{.Driver}} {{.Scope}} {{.Attachable}}', 'dn2'],
      ['network', 'ls', '--filter', 'label=lab=one', '--format', '{{.Name}} {{.Driver}} {{.Scope}} {{.IPv6}} {{.Internal}}'],
      ['network', 'ls', '--filter', 'name=dn', '--format', '{{.Name}}'],
      ['network', 'ls', '--filter', 'type=custom', '--format', '{{.Name}}'],
      ['network', 'ls', '--filter', 'driver=bridge', '-q'],
      [
        'run',
        '-d',
        '--name',
        'nc1',
        '--network',
        'dn1',
        '--ip',
        '10.77.0.200',
        '--network-alias',
        'al1',
        'busybox',
        'sleep',
        '1000',
      ],
      ['run', '-d', '--name', 'nc1', '--network', 'dn1', 'busybox', 'sleep', '1000'],
      ['run', '-d', '--name', 'nc2', '--network', 'dn1', '--ip', '10.77.0.200', 'busybox', 'sleep', '1000'],
      ['run', '-d', '--name', 'nc3', '--network', 'dn1', '--ip', '10.99.0.9', 'busybox', 'sleep', '1000'],
      ['inspect', '--format', '{{json .NetworkSettings.Networks}}', 'nc1'],
      ['network', 'connect', '--alias', 'x2', '--ip', '10.77.0.201', 'dn1', 'nc1'],
      ['network', 'connect', '--alias', 'x2', 'dn2', 'nc1'],
      ['network', 'connect', 'dn2', 'nc1'],
      ['exec', 'nc1', 'ip', '-o', '-4', 'addr', 'show'],
      ['network', 'inspect', '--format', '{{range .Containers}}{{.Name}} {{.IPv4Address}}{{end}}', 'dn1'],
      ['network', 'disconnect', 'dn2', 'nc1'],
      ['network', 'disconnect', 'dn2', 'nc1'],
      ['network', 'disconnect', 'nosuchnet', 'nc1'],
      ['network', 'connect', 'dn1', 'nosuchc'],
      ['network', 'rm', 'dn1'],
      ['network', 'rm', 'nosuchnet'],
      ['network', 'inspect', 'nosuchnet'],
      ['rm', '-f', 'nc1', 'nc2', 'nc3'],
      ['network', 'rm', 'dn1', 'dn2', 'dn6', 'dnover'],
      ['network', 'create', '--subnet', '10.79.0.0/24', '--gateway', '10.80.0.1', 'dnbad'],
      ['network', 'create', '--ip-range', '10.79.0.0/25', 'dnbad'],
      ['network', 'create', '-d', 'nosuchdriver', 'dnbad'],
      ['network', 'ls', '--filter', 'name=dn', '-q'],
    ],
  },
  {
    name: 'ports',
    steps: [
      ['network', 'create', '--subnet', '10.81.0.0/24', 'pn'],
      [
        'run',
        '-d',
        '--name',
        'p1',
        '--network',
        'pn',
        '-p',
        '8080:80',
        '-p',
        '127.0.0.1::81',
        '-p',
        '9000-9001:90-91/udp',
        '-p',
        '7000:70/tcp',
        '-p',
        '82',
        'busybox',
        'sleep',
        '1000',
      ],
      ['port', 'p1'],
      ['port', 'p1', '80'],
      ['port', 'p1', '90/udp'],
      ['port', 'p1', '99'],
      ['inspect', '--format', '{{json .HostConfig.PortBindings}}', 'p1'],
      ['inspect', '--format', '{{json .NetworkSettings.Ports}}', 'p1'],
      ['inspect', '--format', '{{json .Config.ExposedPorts}}', 'p1'],
      ['ps', '--filter', 'name=p1', '--format', '{{.Ports}}'],
      ['run', '-d', '--name', 'p2', '--network', 'pn', '-p', '8080:80', 'busybox', 'sleep', '1000'],
      ['inspect', '--format', '{{.State.Status}} {{.State.ExitCode}} {{.State.Error}}', 'p2'],
      ['commit', '--change', 'EXPOSE 80 443/udp', 'p1', 'exposer:1'],
      ['run', '-d', '--name', 'p3', '--network', 'pn', '-P', 'exposer:1', 'sleep', '1000'],
      ['inspect', '--format', '{{json .Config.ExposedPorts}} {{json .HostConfig.PublishAllPorts}}', 'p3'],
      ['port', 'p3'],
      ['ps', '--filter', 'expose=443/udp', '--format', '{{.Names}}'],
      ['ps', '--filter', 'publish=8080', '--format', '{{.Names}}'],
      ['ps', '--filter', 'publish=80', '--format', '{{.Names}}'],
      ['ps', '--filter', 'publish=82', '--format', '{{.Names}}'],
      ['ps', '--filter', 'publish=32768-32800', '--format', '{{.Names}}'],
      ['ps', '--filter', 'expose=70', '--format', '{{.Names}}'],
      ['ps', '--filter', 'publish=9000-9001/udp', '--format', '{{.Names}}'],
      ['run', '-d', '--name', 'p4', '--network', 'pn', '-p', '70000:80', 'busybox', 'true'],
      ['run', '-d', '--name', 'p4', '--network', 'pn', '-p', '9100-9102:80-81', 'busybox', 'true'],
      ['run', '-d', '--name', 'p5', '--network', 'none', '-p', '9200:80', 'busybox', 'sleep', '1000'],
      ['port', 'p5'],
      ['rm', '-f', 'p1', 'p2', 'p3', 'p4', 'p5'],
      ['rmi', 'exposer:1'],
      ['network', 'rm', 'pn'],
    ],
  },
  {
    name: 'ps',
    steps: [
      ['run', '-d', '--name', 'ps1', '--label', 'k=v', '--network', 'none', 'busybox', 'sleep', '1000'],
      ['run', '--name', 'ps2', '--network', 'none', 'busybox', 'sh', '-c', 'exit 3'],
      ['create', '--name', 'ps3', '--network', 'none', 'busybox', 'true'],
      ['ps', '--format', '{{.Names}} {{.Image}} {{.Command}} {{.Status}} {{.Ports}} {{.Labels}} {{.Networks}} {{.Mounts}}'],
      ['ps', '-a', '--format', '{{.Names}} {{.Status}}'],
      ['ps', '-a', '--filter', 'status=exited', '--format', '{{.Names}}'],
      ['ps', '-a', '--filter', 'status=created', '--format', '{{.Names}}'],
      ['ps', '-a', '--filter', 'exited=3', '--format', '{{.Names}}'],
      ['ps', '-a', '--filter', 'label=k=v', '--format', '{{.Names}}'],
      ['ps', '-a', '--filter', 'label=k', '--format', '{{.Names}}'],
      ['ps', '-a', '--filter', 'ancestor=busybox', '--format', '{{.Names}}'],
      ['ps', '-a', '--filter', 'name=ps', '--filter', 'status=running', '--format', '{{.Names}}'],
      ['ps', '-a', '--filter', 'network=none', '--format', '{{.Names}}'],
      ['ps', '-a', '--filter', 'before=ps3', '--format', '{{.Names}}'],
      ['ps', '-a', '--filter', 'since=ps1', '--format', '{{.Names}}'],
      ['ps', '-a', '--filter', 'is-task=false', '--format', '{{.Names}}'],
      ['ps', '-a', '--filter', 'health=none', '--format', '{{.Names}}'],
      ['ps', '-a', '--filter', 'bogus=1'],
      ['ps', '-a', '--filter', 'status=bogus'],
      ['run', '-d', '--name', 'ps4', '--network', 'none', '-p', '5555:80', '--expose', '8080', 'busybox', 'sleep', '1000'],
      ['commit', 'ps1', 'child:1'],
      ['run', '-d', '--name', 'ps5', '--network', 'none', 'child:1', 'sleep', '1000'],
      ['ps', '-a', '--filter', 'publish=80', '--format', '{{.Names}}'],
      ['ps', '-a', '--filter', 'publish=5555', '--format', '{{.Names}}'],
      ['ps', '-a', '--filter', 'publish=5555/udp', '--format', '{{.Names}}'],
      ['ps', '-a', '--filter', 'expose=80', '--format', '{{.Names}}'],
      ['ps', '-a', '--filter', 'expose=8000-8080/tcp', '--format', '{{.Names}}'],
      ['ps', '-a', '--filter', 'publish=1.2.3.4:80', '--format', '{{.Names}}'],
      ['ps', '-a', '--filter', 'expose=x', '--format', '{{.Names}}'],
      ['ps', '-a', '--filter', 'ancestor=busybox', '--format', '{{.Names}}'],
      ['ps', '-a', '--filter', 'ancestor=child:1', '--format', '{{.Names}}'],
      ['ps', '-a', '--filter', 'ancestor=nosuchimage', '--format', '{{.Names}}'],
      ['ps', '-a', '--filter', 'name=^/ps1$', '--format', '{{.Names}}'],
      ['ps', '-a', '--filter', 'name=^ps', '--format', '{{.Names}}'],
      ['ps', '-a', '--filter', 'name=s[23]', '--format', '{{.Names}}'],
      ['ps', '-a', '--filter', 'before=nosuchc', '--format', '{{.Names}}'],
      ['ps', '-a', '--filter', 'exited=x', '--format', '{{.Names}}'],
      ['ps', '-a', '--filter', 'exited=0', '--format', '{{.Names}}'],
      ['ps', '-a', '--filter', 'is-task=maybe', '--format', '{{.Names}}'],
      ['ps', '-a', '--filter', 'is-task=true', '--format', '{{.Names}}'],
      ['ps', '-a', '--filter', 'health=bogus', '--format', '{{.Names}}'],
      ['ps', '--filter', 'status=exited', '--format', '{{.Names}}'],
      ['ps', '-n', '2', '--format', '{{.Names}}'],
      ['ps', '-a', '--filter', 'since=ps1', '--filter', 'before=ps5', '--format', '{{.Names}}'],
      ['ps', '-s', '--format', '{{.Names}} {{.Size}}'],
      ['ps', '-a', '-n', '1', '--format', '{{.Names}}'],
      ['ps', '-a', '-l', '--format', '{{.Names}}'],
      ['ps', '-a', '--no-trunc', '--format', '{{.Command}}'],
      ['ps', '--format', '{{json .}}'],
      ['rm', 'ps1'],
      ['rm', '-f', 'ps1', 'ps2', 'ps3', 'ps4', 'ps5'],
      ['rmi', 'child:1'],
    ],
  },
  {
    name: 'exec',
    steps: [
      ['run', '-d', '--name', 'e1', '--network', 'none', 'busybox', 'sleep', '1000'],
      ['exec', 'e1', 'sh', '-c', 'exit 3'],
      ['exec', '-u', '1000:1000', 'e1', 'id'],
      ['exec', '-u', 'nobody', 'e1', 'id'],
      ['exec', '-u', 'nosuchuser', 'e1', 'id'],
      ['exec', '-w', '/tmp', 'e1', 'pwd'],
      ['exec', '-w', '/nosuchdir', 'e1', 'pwd'],
      ['exec', '-e', 'FOO=bar', 'e1', 'sh', '-c', 'echo $FOO $HOME $PATH'],
      ['exec', 'e1', 'nosuchcmd'],
      ['exec', 'e1', '/etc/passwd'],
      ['exec', 'e1', 'sh', '-c', 'kill -9 $$'],
      ['exec', '-t', 'e1', 'sh', '-c', 'tty; echo $TERM'],
      ['exec', 'e1', 'sh', '-c', 'tty; echo $TERM'],
      ['exec', '--privileged', 'e1', 'sh', '-c', 'grep Cap /proc/self/status'],
      ['exec', 'e1', 'sh', '-c', 'grep Cap /proc/self/status'],
      ['exec', '-d', 'e1', 'sleep', '5'],
      ['exec', 'nosuchc', 'true'],
      ['exec', 'e1'],
      ['stop', '-t', '0', 'e1'],
      ['exec', 'e1', 'true'],
      ['rm', '-f', 'e1'],
    ],
  },
  {
    name: 'lifecycle',
    steps: [
      ['run', '-d', '--name', 's1', '--network', 'none', 'busybox', 'sleep', '1000'],
      ['stop', '-t', '1', 's1'],
      [
        'inspect',
        '--format',
        '{{.State.Status}} {{.State.ExitCode}} {{.State.Running}} {{.State.OOMKilled}} {{.State.Dead}}',
        's1',
      ],
      ['stop', 's1'],
      ['kill', 's1'],
      ['start', 's1'],
      ['kill', '-s', 'USR1', 's1'],
      ['inspect', '--format', '{{.State.Status}} {{.State.ExitCode}}', 's1'],
      ['kill', 's1'],
      ['inspect', '--format', '{{.State.Status}} {{.State.ExitCode}}', 's1'],
      ['kill', '-s', 'NOSIG', 's1'],
      ['restart', '-t', '1', 's1'],
      ['inspect', '--format', '{{.State.Status}} {{.RestartCount}}', 's1'],
      [
        'run',
        '-d',
        '--name',
        's2',
        '--network',
        'none',
        'busybox',
        'sh',
        '-c',
        'trap "exit 7" TERM; while true; do sleep 0.1; done',
      ],
      ['stop', 's2'],
      ['inspect', '--format', '{{.State.Status}} {{.State.ExitCode}}', 's2'],
      ['rename', 's1', 's2'],
      ['rename', 's1', 's3'],
      ['rename', 's3', 's3'],
      ['rename', 'nosuchc', 's4'],
      ['inspect', '--format', '{{.Name}}', 's3'],
      ['update', '--memory', '64m', '--memory-swap', '128m', '--cpus', '0.5', '--cpu-shares', '512', '--pids-limit', '100', 's3'],
      [
        'inspect',
        '--format',
        '{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}} {{.HostConfig.NanoCpus}} {{.HostConfig.CpuShares}} {{.HostConfig.PidsLimit}}',
        's3',
      ],
      ['update', '--restart', 'on-failure:3', 's3'],
      ['inspect', '--format', '{{json .HostConfig.RestartPolicy}}', 's3'],
      ['update', '--memory', '1k', 's3'],
      ['update', '--kernel-memory', '10m', 's3'],
      ['update', 'nosuchc'],
      ['pause', 's3'],
      ['ps', '--filter', 'name=s3', '--format', '{{.Status}}'],
      ['inspect', '--format', '{{.State.Status}} {{.State.Paused}}', 's3'],
      ['pause', 's3'],
      ['exec', 's3', 'true'],
      ['stop', '-t', '1', 's3'],
      ['unpause', 's3'],
      ['unpause', 's3'],
      ['run', '-d', '--name', 's5', '--network', 'none', 'busybox', 'sh', '-c', 'sleep 0.3; exit 5'],
      ['wait', 's5'],
      ['wait', 's5'],
      ['wait', 'nosuchc'],
      ['rm', 's3'],
      ['rm', 'nosuchc'],
      ['rm', '-f', 's2', 's3', 's5'],
    ],
  },
  {
    name: 'events',
    steps: [
      ['mark', 'T0'],
      ['sleep', '1100'],
      ['run', '--name', 'ev1', '--network', 'none', '--label', 'ek=ev', 'busybox', 'true'],
      ['rm', 'ev1'],
      ['network', 'create', 'evnet'],
      ['network', 'rm', 'evnet'],
      ['volume', 'create', 'evvol'],
      ['volume', 'rm', 'evvol'],
      ['sleep', '1100'],
      ['mark', 'T1'],
      window('--format', '{{.Type}} {{.Action}} {{.Actor.Attributes.name}}'),
      window('--filter', 'type=container', '--format', '{{.Status}} {{.From}}'),
      window('--filter', 'event=die', '--format', '{{json .Actor.Attributes}}'),
      window('--filter', 'label=ek=ev', '--format', '{{.Action}}'),
      window('--filter', 'type=network', '--format', '{{.Action}} {{json .Actor.Attributes}}'),
      window('--filter', 'type=volume', '--format', '{{.Action}} {{json .Actor.Attributes}}'),
      window('--filter', 'container=ev1', '--filter', 'event=start', '--format', '{{.Action}}'),
      window('--filter', 'bogus=x'),
      ['events', '--since', '$T1', '--until', '$T0'],
    ],
  },
  {
    name: 'volume',
    steps: [
      ['volume', 'create', '--label', 'vk=vv', 'vol1'],
      ['volume', 'create', 'vol1'],
      ['volume', 'inspect', 'vol1'],
      ['volume', 'create', '-d', 'local', '-o', 'type=tmpfs', '-o', 'device=tmpfs', '-o', 'o=size=1m', 'vol2'],
      ['volume', 'inspect', '--format', '{{json .Options}} {{.Driver}} {{.Scope}}', 'vol2'],
      ['volume', 'ls', '--format', '{{.Name}} {{.Driver}} {{.Scope}} {{.Labels}}'],
      ['volume', 'ls', '--filter', 'label=vk', '-q'],
      ['volume', 'ls', '--filter', 'dangling=true', '-q'],
      ['run', '-d', '--name', 'v1c', '--network', 'none', '-v', 'vol1:/data', '-v', 'vol2:/t', 'busybox', 'sleep', '1000'],
      ['exec', 'v1c', 'sh', '-c', 'df -k /t | tail -1 | tr -s " " | cut -d" " -f2'],
      ['volume', 'ls', '--filter', 'dangling=false', '-q'],
      ['inspect', '--format', '{{json .Mounts}}', 'v1c'],
      ['volume', 'rm', 'vol1'],
      ['volume', 'rm', 'nosuchvol'],
      ['volume', 'inspect', 'nosuchvol'],
      none('-v', '/data', 'busybox', 'true'),
      none('-v', 'bad name:/x', 'busybox', 'true'),
      ['volume', 'create', 'bad/name'],
      ['rm', '-f', 'v1c'],
      ['volume', 'prune', '-f'],
      ['volume', 'ls', '-q'],
    ],
  },
  {
    name: 'images',
    steps: [
      ['run', '--name', 'im1', '--network', 'none', 'busybox', 'sh', '-c', 'echo x > /x'],
      ['tag', 'busybox', 'bb:1'],
      ['tag', 'busybox', 'other/bb:2'],
      ['commit', '--change', 'LABEL il=1', 'im1', 'imgl:1'],
      ['commit', '--change', 'LABEL il=2', 'im1', 'imgd:1'],
      ['commit', '--change', 'LABEL il=3', 'im1', 'imgd:1'],
      ['images', '--format', '{{.Repository}}:{{.Tag}}'],
      ['images', 'bb'],
      ['images', '--format', '{{.Repository}}:{{.Tag}}', 'busy*'],
      ['images', '--format', '{{.Repository}}:{{.Tag}}', '--filter', 'reference=*/bb'],
      ['images', '--format', '{{.Repository}}:{{.Tag}}', '--filter', 'reference=bb:1'],
      ['images', '--format', '{{.Repository}}:{{.Tag}}', '--filter', 'reference=bb', '--filter', 'reference=imgl'],
      ['images', '--format', '{{.Repository}}:{{.Tag}}', 'nosuchrepo'],
      ['images', '--format', '{{.Repository}}:{{.Tag}}', '--filter', 'dangling=true'],
      ['images', '--format', '{{.Repository}}:{{.Tag}}', '--filter', 'dangling=false'],
      ['images', '--format', '{{.Repository}}:{{.Tag}}', '--filter', 'dangling=x'],
      ['images', '--format', '{{.Repository}}:{{.Tag}}', '--filter', 'label=il=1'],
      ['images', '--format', '{{.Repository}}:{{.Tag}}', '--filter', 'label=il'],
      ['images', '--format', '{{.Repository}}:{{.Tag}}', '--filter', 'before=imgd:1'],
      ['images', '--format', '{{.Repository}}:{{.Tag}}', '--filter', 'since=imgl:1'],
      ['images', '--format', '{{.Repository}}:{{.Tag}}', '--filter', 'since=nosuchimage'],
      ['images', '--format', '{{.Repository}}:{{.Tag}}', '--filter', 'bogus=1'],
      ['images', '-a', '--format', '{{.Repository}}:{{.Tag}}'],
      ['images', '--digests', '--format', '{{.Repository}}:{{.Tag}} {{.Digest}}'],
      ['image', 'prune', '-f'],
      ['images', '--format', '{{.Repository}}:{{.Tag}}'],
      ['network', 'create', 'dangl1'],
      ['network', 'ls', '--filter', 'dangling=true', '--format', '{{.Name}}'],
      ['network', 'ls', '--filter', 'dangling=false', '--format', '{{.Name}}'],
      ['network', 'ls', '--filter', 'dangling=x', '--format', '{{.Name}}'],
      ['network', 'ls', '--filter', 'name=^dang', '--format', '{{.Name}}'],
      ['network', 'rm', 'dangl1'],
      ['rm', '-f', 'im1'],
      ['rmi', 'bb:1', 'other/bb:2', 'imgl:1', 'imgd:1'],
    ],
  },
  {
    name: 'run',
    steps: [
      none('-e', 'A=1', '--env', 'B', 'busybox', 'sh', '-c', 'echo $A; printenv B || echo unset; env | sort | grep -v HOSTNAME'),
      none('-u', '1234:5678', '-w', '/tmp/new', 'busybox', 'sh', '-c', 'id; pwd; ls -ld /tmp/new'),
      none('-u', 'nobody', 'busybox', 'id'),
      none('-u', 'nosuchuser', 'busybox', 'id'),
      none('--entrypoint', 'echo', 'busybox', 'a', 'b'),
      none(
        '-h',
        'myhost',
        '--domainname',
        'example.org',
        'busybox',
        'sh',
        '-c',
        'hostname; cat /etc/hostname; hostname -d 2>&1; grep myhost /etc/hosts',
      ),
      none('--add-host', 'h1:10.1.2.3', 'busybox', 'grep', 'h1', '/etc/hosts'),
      none('--read-only', 'busybox', 'sh', '-c', 'touch /x; echo $?; touch /tmp/y && echo tmp-ok'),
      none(
        '--tmpfs',
        '/t:size=1m',
        'busybox',
        'sh',
        '-c',
        'df -k /t | tail -1 | tr -s " " | cut -d" " -f2; grep " /t " /proc/mounts',
      ),
      none('--cap-drop', 'ALL', 'busybox', 'grep', 'CapEff', '/proc/self/status'),
      none('--cap-add', 'NET_ADMIN', 'busybox', 'grep', 'CapEff', '/proc/self/status'),
      none('busybox', 'grep', 'Cap', '/proc/self/status'),
      none('busybox', 'sh', '-c', 'grep -c . /proc/self/mounts >/dev/null; cat /proc/self/mounts | cut -d" " -f2-3 | sort'),
      none('busybox', 'sh', '-c', 'ls /dev | sort | tr "\\n" " "'),
      none('busybox', 'sh', '-c', 'ulimit -a'),
      none('busybox', 'sh', '-c', 'cat /proc/1/cmdline | tr "\\0" " "; echo; ps -o pid,user,args'),
      none('--init', 'busybox', 'sh', '-c', 'cat /proc/1/cmdline | tr "\\0" " "'),
      none('--pid', 'host', 'busybox', 'sh', '-c', 'test $(ls -d /proc/[0-9]* | wc -l) -gt 5 && echo many'),
      none('--ipc', 'host', 'busybox', 'true'),
      none('--uts', 'host', 'busybox', 'true'),
      none('--privileged', 'busybox', 'sh', '-c', 'grep CapEff /proc/self/status; ls /dev | wc -l | sed "s/[0-9]*/N/"'),
      none('--security-opt', 'no-new-privileges', 'busybox', 'grep', 'NoNewPrivs', '/proc/self/status'),
      none('busybox', 'grep', 'NoNewPrivs', '/proc/self/status'),
      none('--memory', '32m', 'busybox', 'cat', '/sys/fs/cgroup/memory/memory.limit_in_bytes'),
      none('--stop-signal', 'SIGUSR1', '--stop-timeout', '3', 'busybox', 'true'),
      none('-t', 'busybox', 'sh', '-c', 'tty; stty size'),
      ['run', '--rm', '-i', '--network', 'none', 'busybox', 'cat'],
      ['run', '--network', 'none', '--name', 'lg1', 'busybox', 'sh', '-c', 'echo out1; echo err1 >&2; echo out2'],
      ['logs', 'lg1'],
      ['logs', '--tail', '1', 'lg1'],
      ['logs', '--tail', '0', 'lg1'],
      ['logs', '-t', 'lg1'],
      ['logs', '--since', '1h', 'lg1'],
      ['logs', '--until', '2000-01-01', 'lg1'],
      ['logs', '--details', 'lg1'],
      [
        'run',
        '--network',
        'none',
        '--name',
        'lg2',
        '--label',
        'app=web x',
        '-e',
        'TIER=front',
        '--log-opt',
        'labels=app',
        '--log-opt',
        'env=TIER',
        'busybox',
        'echo',
        'tagged',
      ],
      ['logs', '--details', 'lg2'],
      ['commit', 'lg2', 'lgimg:1'],
      ['inspect', '--format', '{{len .RootFS.Layers}}', 'lgimg:1'],
      ['rmi', 'lgimg:1'],
      ['rm', 'lg2'],
      [
        'run',
        '--network',
        'none',
        '--name',
        'lg2',
        'busybox',
        'sh',
        '-c',
        'echo out1; sleep 0.2; echo err1 >&2; sleep 0.2; echo out2; sleep 0.2; echo err2 >&2',
      ],
      ['logs', '--tail', '1', 'lg2'],
      ['logs', '--tail', '2', 'lg2'],
      ['logs', '--tail', '3', 'lg2'],
      ['rm', 'lg2'],
      ['start', '-a', 'lg1'],
      ['wait', 'lg1'],
      ['top', 'lg1'],
      ['diff', 'lg1'],
      ['cp', 'lg1:/etc/hostname', '-'],
      ['container', 'prune', '-f', '--filter', 'label=nosuch'],
      ['container', 'prune', '-f'],
      ['ps', '-a', '-q'],
      ['run', '-d', '--name', 'st1', '--network', 'none', 'busybox', 'sleep', '1000'],
      ['stats', '--no-stream', '--format', '{{.Name}} {{.PIDs}}', 'st1'],
      ['top', 'st1', '-o', 'pid,args'],
      ['exec', '-i', 'st1', 'cat'],
      ['attach', '--no-stdin', 'nosuchc'],
      ['port', 'st1'],
      ['port', 'st1', '80'],
      ['rm', '-f', 'st1'],
    ],
  },
  {
    name: 'system',
    steps: [
      ['run', '-d', '--name', 'sd1', '--network', 'none', 'busybox', 'sleep', '1000'],
      ['system', 'df', '--format', '{{.Type}} {{.TotalCount}} {{.Active}}'],
      ['system', 'df', '-v', '--format', '{{json .}}'],
      ['info', '--format', '{{json .}}'],
      ['info'],
      ['version', '--format', '{{json .Server}}'],
      ['rm', '-f', 'sd1'],
    ],
  },
  {
    name: 'inspect',
    steps: [
      ['network', 'create', '--subnet', '10.82.0.0/24', 'in1'],
      [
        'run',
        '-d',
        '--name',
        'i1',
        '--network',
        'in1',
        '-p',
        '127.0.0.1:8181:80',
        '-e',
        'A=1',
        '-v',
        '/data',
        '--restart',
        'on-failure:2',
        '--memory',
        '64m',
        '--label',
        'l=1',
        '-w',
        '/tmp',
        '-u',
        '1000',
        'busybox',
        'sleep',
        '1000',
      ],
      ['inspect', 'i1'],
      ['create', '--name', 'i2', '--network', 'none', 'busybox'],
      ['inspect', 'i2'],
      ['run', '--name', 'i3', '--network', 'host', 'busybox', 'true'],
      ['inspect', 'i3'],
      ['api', 'POST', '/containers/create?name=i4', '{"Image":"busybox","Cmd":["true"]}'],
      ['inspect', 'i4'],
      ['image', 'inspect', 'busybox'],
      ['inspect', 'nosuchthing'],
      ['inspect', '--type', 'container', 'busybox'],
      ['rm', '-f', 'i1', 'i2', 'i3', 'i4'],
      ['network', 'rm', 'in1'],
    ],
  },
  {
    name: 'errors',
    steps: [
      none('nosuchimage:1', 'true'),
      ['create', '--name', 'bad name', 'busybox'],
      ['create', '--restart', 'sometimes', 'busybox'],
      ['create', '--network', 'nosuchnet', 'busybox'],
      ['start', 'nosuchc'],
      ['stop', 'nosuchc'],
      ['logs', 'nosuchc'],
      ['run', '-d', '--name', 'er1', '--network', 'none', 'busybox', 'sleep', '1000'],
      ['rm', 'er1'],
      ['rmi', 'busybox'],
      ['create', '--name', 'er1', 'busybox'],
      ['run', '--network', 'none', '--rm', '-d', '--restart', 'always', 'busybox', 'true'],
      ['rm', '-f', 'er1'],
      ['api', 'GET', '/containers/nosuchc/json'],
      ['api', 'POST', '/containers/nosuchc/start'],
      ['api', 'DELETE', '/networks/nosuchnet'],
      ['api', 'GET', '/nosuchroute'],
      ['api', 'PUT', '/containers/json'],
      ['api', 'POST', '/containers/create', '{"Image":"nosuchimage"}'],
      ['api', 'POST', '/containers/create?name=x', '{bad json'],
      ['api', 'GET', '/volumes/nosuchvol'],
      ['api', 'GET', '/images/nosuchimage/json'],
    ],
  },
];

interface Side {
  name: string;
  socket: string;
  docker(args: string[]): Promise<RunResult>;
}

function side(name: string, socket: string, env: Record<string, string>): Side {
  return { name, socket, docker: (args) => run(DOCKER_CLI, ['-H', `unix://${socket}`, ...args], { env, timeoutMs: 60_000 }) };
}

/** ids, digests, times, durations and MACs become placeholders. */
export function normalise(s: string, extra: Array<[RegExp, string]> = []): string {
  let out = s;
  for (const [re, to] of extra) out = out.replace(re, to);
  return out
    .replace(/sha256:[0-9a-f]{64}/g, '<digest>')
    .replace(/\b[0-9a-f]{64}\b/g, '<id>')
    .replace(/\b[0-9a-f]{12}\b/g, '<id12>')
    .replace(/\b[0-9a-z]{25}\b/g, '<swarmid>')
    .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)/g, '<time>')
    .replace(/\b(Up|Exited \(\d+\)|Created) (Less than a second|About a minute|About an hour|\d+ \w+)( ago)?/g, '$1 <dur>')
    .replace(/(Less than a second|About a minute|\d+ \w+) ago/g, '<ago>')
    .replace(/\b02:42(:[0-9a-f]{2}){4}\b/g, '<mac>')
    .replace(/\b[0-9a-f]{2}(:[0-9a-f]{2}){5}\b/g, '<mac>');
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function kind(v: Json | undefined): string {
  if (v === undefined) return 'absent';
  if (v === null) return 'null';
  return Array.isArray(v) ? 'array' : typeof v;
}

/** Field-by-field differences of two JSON values; VOLATILE leaves are compared by type. */
export function jsonDiff(a: Json | undefined, b: Json | undefined, at = '', key = ''): string[] {
  const ka = kind(a);
  const kb = kind(b);
  if (ka === 'absent' || kb === 'absent')
    return [`${at}: ${ka === 'absent' ? 'only tsnetd' : 'only dockerd'} = ${short(ka === 'absent' ? b : a)}`];
  if (ka !== kb) return [`${at}: dockerd ${short(a)} | tsnetd ${short(b)}`];
  if (ka === 'array') {
    const xa = a as Json[];
    const xb = b as Json[];
    const out: string[] = [];
    for (let i = 0; i < Math.max(xa.length, xb.length); i++) out.push(...jsonDiff(xa[i], xb[i], `${at}[${i}]`, key));
    return out;
  }
  if (ka === 'object') {
    const oa = a as Record<string, Json>;
    const ob = b as Record<string, Json>;
    const keys = [...new Set([...Object.keys(oa), ...Object.keys(ob)])];
    return keys.flatMap((k) => jsonDiff(oa[k], ob[k], `${at}.${normalise(k)}`, k));
  }
  if (VOLATILE.has(key)) return [];
  const na = typeof a === 'string' ? normalise(a) : a;
  const nb = typeof b === 'string' ? normalise(b) : b;
  return na === nb ? [] : [`${at}: dockerd ${short(a)} | tsnetd ${short(b)}`];
}

function short(v: Json | undefined): string {
  const s = JSON.stringify(v) ?? 'undefined';
  return s.length > 160 ? `${s.slice(0, 157)}...` : s;
}

/** JSON keys are normalised too (ids as keys in .Containers): parse after normalising keys. */
function parseJson(s: string): Json | undefined {
  const t = s.trim();
  if (!t.startsWith('{') && !t.startsWith('[')) return undefined;
  try {
    return JSON.parse(t.replace(/"([0-9a-f]{64})":/g, '"<id>":')) as Json;
  } catch {
    return undefined;
  }
}

async function api(socket: string, method: string, urlPath: string, body?: string): Promise<RunResult> {
  const args = ['-s', '-o', '-', '-w', '\nHTTP %{http_code}', '--unix-socket', socket, '-X', method];
  if (body !== undefined) args.push('-H', 'Content-Type: application/json', '--data-binary', body);
  return run('curl', [...args, `http://localhost/v1.41${urlPath}`], { timeoutMs: 30_000 });
}

interface Options {
  all: boolean;
  only?: string;
  out?: string;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { all: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--all') o.all = true;
    else if (a === '--only') o.only = argv[++i];
    else if (a === '--out') o.out = argv[++i];
    else throw new Error(`unknown argument ${a}; usage: diff-dockerd.ts [--all] [--only WORD] [--out FILE]`);
  }
  return o;
}

async function main(): Promise<number> {
  const opts = parseArgs(process.argv.slice(2));
  const lines: string[] = [];
  const say = (m: string): void => {
    lines.push(m);
    process.stdout.write(`${m}\n`);
  };
  let peer: Peer | undefined;
  let world: World | undefined;
  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    await Promise.allSettled([peer?.teardown(), world?.teardown()]);
  };
  process.once('SIGINT', () => void stop().then(() => process.exit(130)));
  let differing = 0;
  try {
    [peer, world] = await Promise.all([startDocker((m) => process.stderr.write(`${m}\n`)), createWorld({ execRootTmpfs: true })]);
    const dockerSock = path.join(path.dirname(peer.netns), 'docker.sock');
    const env = cleanEnv({ DOCKER_CONFIG: path.join(world.dir, 'docker-cli') });
    const sides = [side('dockerd', dockerSock, env), side('tsnetd', world.socket, env)] as const;
    const extra: Array<[RegExp, string]> = [
      [new RegExp(path.dirname(peer.netns).replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'g'), '<dir>'],
      [new RegExp(world.dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'g'), '<dir>'],
    ];
    const marks = new Map<string, string>();
    for (const g of GROUPS) {
      if (opts.only && !g.name.includes(opts.only)) continue;
      say(`\n#### ${g.name}`);
      for (const raw of g.steps) {
        const step = raw.map((a) => a.replace(/\$(T\d)/g, (_, m: string) => marks.get(m) ?? m));
        if (step[0] === 'mark') {
          marks.set(step[1]!, String(Math.floor(Date.now() / 1000)));
          continue;
        }
        if (step[0] === 'sleep') {
          await new Promise((r) => setTimeout(r, Number(step[1])));
          continue;
        }
        const [d, t] = await Promise.all(
          sides.map((s) => (step[0] === 'api' ? api(s.socket, step[1]!, step[2]!, step[3]) : s.docker(step))),
        );
        const label =
          step[0] === 'api' ? step.join(' ') : `docker ${step.map((a) => (/[\s{"]/.test(a) ? `'${a}'` : a)).join(' ')}`;
        const out = (r: RunResult): string => normalise(`${r.stdout}${r.stderr ? `[stderr] ${r.stderr}` : ''}`, extra).trim();
        const [jd, jt] = [parseJson(normalise(d!.stdout, extra)), parseJson(normalise(t!.stdout, extra))];
        const diffs =
          jd !== undefined && jt !== undefined
            ? jsonDiff(jd, jt)
            : out(d!) === out(t!)
              ? []
              : [`dockerd:\n${indent(out(d!))}`, `tsnetd:\n${indent(out(t!))}`];
        if (d!.exitCode !== t!.exitCode) diffs.unshift(`exit code: dockerd ${d!.exitCode} | tsnetd ${t!.exitCode}`);
        if (diffs.length === 0) {
          if (opts.all) say(`= ${label}  (exit ${d!.exitCode})\n${indent(out(d!))}`);
          continue;
        }
        differing++;
        say(`! ${label}`);
        for (const x of diffs) say(indent(x));
      }
    }
    say(`\n${differing} step(s) differ`);
  } finally {
    await stop();
    if (opts.out) fs.writeFileSync(opts.out, `${lines.join('\n')}\n`);
  }
  return 0;
}

function indent(s: string): string {
  return s
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
