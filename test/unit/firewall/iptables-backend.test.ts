/**
 * The iptables backend against fake iptables-restore / iptables-save scripts (no root): how
 * many commands each operation runs, what they get on stdin, the fallback paths and errors.
 */
import test, { type ExecutionContext } from 'ava';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  createIptablesFirewall,
  type CommandInfo,
  type FirewallNetwork,
  type FirewallPorts,
} from '../../../src/kernel/firewall/index.js';
import { isTsnetError } from '../../../src/errors/index.js';

interface Fake {
  dir: string;
  commands: CommandInfo[];
  fw: ReturnType<typeof createIptablesFirewall>;
  /** Make the next restore of this family fail with stderr `message`. */
  failNextRestore(family: 4 | 6, message: string): void;
  kinds(): string[];
}

const RESTORE = `#!/bin/sh
fam="$1"; shift
cat > /dev/null
if [ -f "$FAKE_DIR/fail$fam" ]; then
  cat "$FAKE_DIR/fail$fam" >&2
  rm -f "$FAKE_DIR/fail$fam"
  exit 1
fi
if [ -f "$FAKE_DIR/sleep" ]; then exec sleep 5; fi
echo "# Warning: iptables-legacy tables present, use iptables-legacy-save to see them" >&2
exit 0
`;
const SAVE = `#!/bin/sh
cat "$FAKE_DIR/save$1.txt" 2>/dev/null
exit 0
`;

function fake(t: ExecutionContext, extra: { timeoutMs?: number } = {}): Fake {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-fw-fake-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  for (const [name, body] of [
    ['restore', RESTORE],
    ['save', SAVE],
  ] as const) {
    fs.writeFileSync(path.join(dir, name), body, { mode: 0o755 });
  }
  // Each "binary" is a wrapper running `sh <script> <family>`; the command prefix is exercised too.
  const commands: CommandInfo[] = [];
  const fw = createIptablesFirewall({
    commandPrefix: ['sh', '-c', 'exec "$0" "$@"'],
    iptablesRestore: path.join(dir, 'restore4'),
    ip6tablesRestore: path.join(dir, 'restore6'),
    iptablesSave: path.join(dir, 'save4'),
    ip6tablesSave: path.join(dir, 'save6'),
    execaEnv: { FAKE_DIR: dir },
    onCommand: (c) => commands.push(c),
    ...extra,
  });
  for (const fam of [4, 6]) {
    fs.writeFileSync(path.join(dir, `restore${fam}`), `#!/bin/sh\nexec sh "${path.join(dir, 'restore')}" ${fam} "$@"\n`, {
      mode: 0o755,
    });
    fs.writeFileSync(path.join(dir, `save${fam}`), `#!/bin/sh\nexec sh "${path.join(dir, 'save')}" ${fam} "$@"\n`, {
      mode: 0o755,
    });
  }
  return {
    dir,
    commands,
    fw,
    failNextRestore: (family, message) => fs.writeFileSync(path.join(dir, `fail${family}`), message),
    kinds: () => commands.map((c) => `${path.basename(c.argv[3] ?? '')}${c.ok ? '' : '!'}`),
  };
}

/** What the fake iptables-save of one family prints. */
function writeSave(f: Fake, family: 4 | 6, text: string): void {
  fs.writeFileSync(path.join(f.dir, `save${family}.txt`), text);
}

const NET: FirewallNetwork = {
  id: 'a1b2c3d4e5f60718',
  bridge: 'br-a1b2c3d4e5f6',
  subnets: ['10.7.0.0/24', 'fd00:7::/64'],
  internal: false,
  icc: true,
  masquerade: true,
};
const PORTS = (n: number): FirewallPorts => ({
  networkId: NET.id,
  endpointId: '0f0e0d0c0b0a0908',
  bridge: NET.bridge,
  containerIp: '10.7.0.2',
  mappings: Array.from({ length: n }, (_, i) => ({ proto: 'tcp' as const, hostPort: 10000 + i, containerPort: 80 })),
});

test('addPorts with 1000 mappings is exactly one iptables-restore, no save', async (t) => {
  const f = fake(t);
  await f.fw.init(); // reads the slots (none yet) from the save it makes anyway
  f.commands.length = 0;
  await f.fw.addPorts(PORTS(1000));
  t.deepEqual(f.kinds(), ['restore4']);
  const input = f.commands[0]?.input ?? '';
  t.is(input.split('\n').filter((l) => l.includes('-j DNAT')).length, 1000);
  t.true(input.startsWith('*nat\n-N TSNET-S-0\n-A TSNET-DNAT -j TSNET-S-0\n'));
  t.deepEqual(f.commands[0]?.argv.slice(4), ['--noflush', '--wait=10']);
});

test('setupNetwork on a dual-stack network is one restore per family', async (t) => {
  const f = fake(t);
  await f.fw.setupNetwork(NET);
  t.deepEqual(f.kinds().sort(), ['restore4', 'restore6']);
  const v6 = f.commands.find((c) => c.argv[3]?.endsWith('restore6'))?.input ?? '';
  t.true(v6.includes('-A TSNET-EGRESS -i br-a1b2c3d4e5f6'));
  t.false(v6.includes('127.0.0.0/8'));
});

/** A save in which the endpoint holds slot 3 and slot 0 is free (plus `extra` chain lines). */
function slotSave(...extra: string[]): string {
  return [
    '*nat',
    ':PREROUTING ACCEPT [0:0]',
    ':TSNET-DNAT - [0:0]',
    ':TSNET-S-0 - [0:0]',
    ':TSNET-S-3 - [0:0]',
    ...extra,
    '-A TSNET-DNAT -j TSNET-S-0',
    '-A TSNET-DNAT -j TSNET-S-3',
    '-A TSNET-S-3 -p tcp -m tcp --dport 10000 -m comment --comment "tsnet:a1b2c3d4e5f6:0f0e0d0c0b0a" -j DNAT --to-destination 10.7.0.2:80',
    'COMMIT',
  ].join('\n');
}

test('removePorts flushes the slot (one line); again, or never published, runs nothing; a failed flush falls back to a save', async (t) => {
  const f = fake(t);
  writeSave(f, 4, slotSave());
  await f.fw.init();
  f.commands.length = 0;
  await f.fw.removePorts(PORTS(3));
  t.deepEqual(f.kinds(), ['restore4']);
  t.is(f.commands[0]?.input, '*nat\n-F TSNET-S-3\nCOMMIT\n');
  f.commands.length = 0;
  await f.fw.removePorts(PORTS(3));
  await f.fw.removePorts({ ...PORTS(1), endpointId: 'ffffffffffffffff' });
  t.deepEqual(f.kinds(), [], 'idempotent without a command');

  // The slot was taken away behind tsnet's back: the flush fails, one save, delete what exists.
  await f.fw.addPorts(PORTS(1));
  t.is(f.commands.at(-1)?.input?.split('\n')[1], '-F TSNET-S-0', 'the lowest free slot');
  f.commands.length = 0;
  f.failNextRestore(
    4,
    'iptables-restore v1.8.9 (nf_tables): \nline 2: CHAIN_FLUSH failed (No such file or directory): chain TSNET-S-0\n',
  );
  writeSave(
    f,
    4,
    '*nat\n:PREROUTING ACCEPT [0:0]\n:TSNET-S-3 - [0:0]\n-A TSNET-S-3 -p tcp -m tcp --dport 10000 -m comment --comment "tsnet:a1b2c3d4e5f6:0f0e0d0c0b0a" -j DNAT --to-destination 10.7.0.2:80\nCOMMIT\n',
  );
  await f.fw.removePorts(PORTS(3));
  t.deepEqual(f.kinds(), ['restore4!', 'save4', 'restore4']);
  t.is(f.commands[2]?.input, '*nat\n-F TSNET-S-3\nCOMMIT\n');
});

test('addPorts on an endpoint that already has ports refills its slot; a stale index takes the slow path', async (t) => {
  const f = fake(t);
  writeSave(f, 4, slotSave());
  await f.fw.init();
  f.commands.length = 0;
  await f.fw.addPorts(PORTS(2));
  t.deepEqual(f.kinds(), ['restore4']);
  const refill = f.commands[0]?.input ?? '';
  t.true(refill.startsWith('*nat\n-F TSNET-S-3\n-A TSNET-S-3 -p tcp -m tcp --dport 10000 '));
  t.is(refill.split('\n').filter((l) => l.includes('-j DNAT')).length, 2);

  // Another endpoint takes slot 0; a third needs a new slot, which exists already (made behind
  // tsnet's back): -N fails, one save, the base and the slots are repaired, the fill runs again.
  await f.fw.addPorts({ ...PORTS(1), endpointId: 'aaaaaaaaaaaa0000' });
  f.commands.length = 0;
  f.failNextRestore(4, 'iptables-restore: line 2 failed: Chain already exists.\n');
  writeSave(f, 4, slotSave(':TSNET-S-1 - [0:0]'));
  await f.fw.addPorts({ ...PORTS(1), endpointId: 'bbbbbbbbbbbb0000' });
  t.deepEqual(f.kinds(), ['restore4!', 'save4', 'restore4', 'restore4']);
  t.true(f.commands[0]?.input?.startsWith('*nat\n-N TSNET-S-1\n'));
  const repair = f.commands[2]?.input ?? '';
  t.true(repair.includes(':TSNET-RAW-PREROUTING - [0:0]'), 'missing base chains are created');
  t.true(repair.includes('-A TSNET-DNAT -j TSNET-S-1'), 'the slot without a jump gets one');
  t.true(f.commands[3]?.input?.startsWith('*nat\n-F TSNET-S-0\n'), 'then the fill, into the slot free in the kernel');
});

test('a failure that persists is a TSNET_FIREWALL error naming the operation and the kernel message', async (t) => {
  const f = fake(t);
  const msg =
    '# Warning: iptables-legacy tables present, use iptables-legacy-save to see them\niptables-restore v1.8.9 (nf_tables): \nline 3: RULE_APPEND failed (Invalid argument): rule in chain TSNET-EP-0f0e0d0c0b0a\n';
  f.failNextRestore(4, msg);
  // The retry of the slow path fails too (the fake save re-arms the failure).
  fs.writeFileSync(path.join(f.dir, 'failmsg'), msg);
  fs.writeFileSync(path.join(f.dir, 'save'), '#!/bin/sh\ncp "$FAKE_DIR/failmsg" "$FAKE_DIR/fail4"\nexit 0\n', { mode: 0o755 });
  const err = await t.throwsAsync(f.fw.addPorts(PORTS(1)));
  t.true(isTsnetError(err, 'TSNET_FIREWALL'));
  t.is(
    err?.message,
    'publish ports of endpoint 0f0e0d0c0b0a (IPv4): line 3: RULE_APPEND failed (Invalid argument): rule in chain TSNET-EP-0f0e0d0c0b0a',
  );
  // the slots read (save), the fill fails, save, the repair fails too; then the best-effort cleanup's save
  t.deepEqual(f.kinds().slice(0, 4), ['save4', 'restore4!', 'save4', 'restore4!']);
});

test('the per-call timeout ends a hung restore', async (t) => {
  const f = fake(t, { timeoutMs: 300 });
  fs.writeFileSync(path.join(f.dir, 'sleep'), '');
  const err = await t.throwsAsync(f.fw.addPorts(PORTS(1)));
  t.true(isTsnetError(err, 'TSNET_FIREWALL'));
  t.regex(err?.message ?? '', /timed out after 300 ms/);
});

test('bad input is rejected before any command runs', async (t) => {
  const f = fake(t);
  await t.throwsAsync(f.fw.setupNetwork({ ...NET, subnets: ['10.7.0.0/99'] }), { message: /bad subnet/ });
  await t.throwsAsync(f.fw.addPorts({ ...PORTS(1), containerIp: 'nope' }), { message: /bad container IP/ });
  await t.throwsAsync(f.fw.reconcile({ networks: [NET], ports: [{ ...PORTS(1), bridge: 'bad name' }] }), {
    message: /bad bridge/,
  });
  t.deepEqual(f.commands, []);
});

test('ipv6: false skips IPv6 entirely', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-fw-fake-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const bin = path.join(dir, 'ok');
  fs.writeFileSync(bin, '#!/bin/sh\ncat >/dev/null\nexit 0\n', { mode: 0o755 });
  const commands: CommandInfo[] = [];
  const fw = createIptablesFirewall({
    ipv6: false,
    iptablesRestore: bin,
    ip6tablesRestore: bin,
    iptablesSave: bin,
    ip6tablesSave: bin,
    onCommand: (c) => commands.push(c),
  });
  await fw.setupNetwork(NET);
  await fw.addPorts({ ...PORTS(1), containerIp: 'fd00:7::2' });
  await fw.init();
  t.is(commands.length, 3, 'one restore for the v4 network, nothing for v6 ports, one save + one restore for init (v4 only)');
});
