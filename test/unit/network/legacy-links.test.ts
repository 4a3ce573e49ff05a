/**
 * Legacy links live in the linking container's sandbox record (issue 9.1 with issue 11.4): they
 * are resolved at plan from the sandbox records (a joiner leads to its owner), turned into
 * /etc/hosts entries and link variables at start, and `rm --link` edits that record. Pure.
 */
import test from 'ava';
import type { ContainerRef, SandboxRequest } from '../../../src/network/container-api.js';
import {
  inspectLinks,
  legacyLinkSetup,
  planLegacyLinks,
  removeLegacyLink,
  type LinkContext,
} from '../../../src/network/links.js';
import type { EndpointRecord, SandboxRecord } from '../../../src/network/sandbox-record.js';

function sandbox(name: string, mode: SandboxRecord['mode'], sharedWith?: string): SandboxRecord {
  return {
    id: `sb-${name}`,
    containerId: `c-${name}`,
    containerName: name,
    mode,
    ...(sharedWith ? { sharedWith } : {}),
    options: { hostname: `${name}-host`, exposedPorts: { '5432/tcp': {} } },
    ports: [],
  };
}

function world() {
  const sbs = [
    sandbox('db', 'networks'),
    sandbox('side', 'container', 'sb-db'),
    sandbox('hosty', 'host'),
    sandbox('app', 'networks'),
  ];
  const refs: ContainerRef[] = sbs.map((s) => ({
    id: s.containerId,
    name: s.containerName,
    sandboxId: s.id,
    env: ['PGUSER=me', 'PATH=/bin'],
  }));
  const bridge = (s: SandboxRecord, ip: string): EndpointRecord => ({
    id: `ep-${s.id}`,
    endpointId: `ep-${s.id}`,
    networkId: 'n-bridge',
    networkName: 'bridge',
    aliases: [],
    ipv4: `${ip}/16`,
    sandboxId: s.id,
    containerId: s.containerId,
    containerName: s.containerName,
    state: 'active',
    seq: 0,
  });
  const eps = [bridge(sbs[0]!, '172.17.0.2'), bridge(sbs[3]!, '172.17.0.3')];
  const active = new Set(['sb-db']);
  const ctx: LinkContext = {
    containers: (ref) => refs.find((r) => r.id === ref || r.name === ref),
    sandbox: (id) => sbs.find((s) => s.id === id),
    isActive: (id) => active.has(id),
    bridgeEndpoint: (id) => eps.find((e) => e.sandboxId === id),
  };
  return { sbs, ctx, active };
}

const req = (links: string[], networkMode?: string): SandboxRequest => ({
  containerId: 'c-app',
  containerName: 'app',
  hostname: 'app-host',
  ...(networkMode ? { networkMode } : {}),
  endpointsConfig: {},
  links,
});

test('plan: a link to a joiner leads to the container that owns the network; host targets and modes are refused', (t) => {
  const { ctx } = world();
  t.deepEqual(planLegacyLinks(req(['side:db']), ctx), [{ id: 'c-db', alias: 'db' }]);
  t.throws(() => planLegacyLinks(req(['hosty:h']), ctx), { message: /uses host networking/ });
  t.throws(() => planLegacyLinks(req(['db'], 'host'), ctx), { message: /host type networking can not be used with links/ });
  t.throws(() => planLegacyLinks(req(['nope:x']), ctx), { message: /No such container: nope/ });
  t.is(planLegacyLinks(req(['db'], 'usernet'), ctx), undefined, 'user networks take endpoint links only');
});

test('start: hosts entries and link variables from the target sandbox; a stopped target fails the start in one line', (t) => {
  const { sbs, ctx, active } = world();
  const app = sbs[3]!;
  app.links = [{ id: 'c-db', alias: 'pg' }];
  const { hosts, env } = legacyLinkSetup(app, ctx);
  t.deepEqual(hosts, [{ ip: '172.17.0.2', names: ['pg', 'db-host', 'db'] }]);
  t.true(env.includes('PG_PORT=tcp://172.17.0.2:5432'));
  t.true(env.includes('PG_NAME=/app/pg'));
  t.true(env.includes('PG_ENV_PGUSER=me'));
  t.false(env.some((e) => e.startsWith('PG_ENV_PATH')));
  active.delete('sb-db');
  t.throws(() => legacyLinkSetup(app, ctx), { message: /Cannot link to a non running container: \/db AS \/app\/pg/ });
});

test('rm --link edits the sandbox record; inspect shows /target:/parent/alias for targets that exist', (t) => {
  const { sbs, ctx } = world();
  const app = sbs[3]!;
  app.links = [
    { id: 'c-db', alias: 'pg' },
    { id: 'c-gone', alias: 'old' },
  ];
  app.linkHosts = [{ ip: '172.17.0.2', names: ['pg', 'db-host', 'db'] }];
  app.linkEnv = ['PG_NAME=/app/pg', 'OLD_NAME=/app/old'];
  t.deepEqual(inspectLinks('app', app.links, ctx.containers), ['/db:/app/pg']);
  t.true(removeLegacyLink(app, 'pg'));
  t.deepEqual(app.links, [{ id: 'c-gone', alias: 'old' }]);
  t.deepEqual(app.linkHosts, []);
  t.deepEqual(app.linkEnv, ['OLD_NAME=/app/old']);
  t.false(removeLegacyLink(app, 'pg'));
});
