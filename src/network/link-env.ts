/**
 * Docker's legacy link environment variables (`--link db:db` on the default bridge): for the
 * alias DB, `DB_PORT`, per exposed port `DB_PORT_5432_TCP{,_ADDR,_PORT,_PROTO}`, for runs of
 * consecutive ports `…_START/_END/_PORT_START/_PORT_END`, `DB_NAME=/parent/db` and the target's
 * environment as `DB_ENV_*` (without HOME and PATH). Same output as moby's links package. Pure.
 */

export interface LinkEnvInput {
  /** The link's full name, `/parent/alias`. */
  name: string;
  /** The target's address on the default bridge (plain IP). */
  childIp: string;
  /** The target's Config.Env. */
  childEnv: string[];
  /** The target's exposed ports, keys like `80/tcp` (ranges already expanded). */
  exposedPorts: string[];
}

interface Port {
  num: number;
  proto: string;
}

function parsePorts(keys: string[]): Port[] {
  const out: Port[] = [];
  const seen = new Set<string>();
  for (const k of keys) {
    const [range = '', proto = 'tcp'] = k.split('/');
    const [a, b = a] = range.split('-');
    const start = Number(a);
    const end = Number(b);
    if (!Number.isInteger(start) || !Number.isInteger(end)) continue;
    for (let p = start; p <= end && p <= 65535; p++) {
      const port = { num: p, proto: proto.toLowerCase() };
      if (seen.has(`${p}/${port.proto}`)) continue;
      seen.add(`${p}/${port.proto}`);
      out.push(port);
    }
  }
  return out;
}

/** TCP first, then by number, then by protocol (moby's withTCPPriority). */
function byTcpFirst(a: Port, b: Port): number {
  if (a.proto === b.proto) return a.num - b.num;
  if (a.proto === 'tcp') return -1;
  if (b.proto === 'tcp') return 1;
  return a.proto < b.proto ? -1 : 1;
}

export function linkEnv(i: LinkEnvInput): string[] {
  const alias = (i.name.slice(i.name.lastIndexOf('/') + 1) || i.name).toUpperCase().replaceAll('-', '_');
  const ports = parsePorts(i.exposedPorts).sort(byTcpFirst);
  const env: string[] = [];
  const url = (p: Port) => `${p.proto}://${i.childIp}:${p.num}`;
  const prefixOf = (p: Port) => `${alias}_PORT_${p.num}_${p.proto.toUpperCase()}`;
  let start = ports[0];
  let end = ports[0];
  ports.forEach((p, idx) => {
    if (idx === 0) env.push(`${alias}_PORT=${url(p)}`);
    const prefix = prefixOf(p);
    env.push(`${prefix}=${url(p)}`, `${prefix}_ADDR=${i.childIp}`, `${prefix}_PORT=${p.num}`, `${prefix}_PROTO=${p.proto}`);
    if (start === undefined || end === undefined) return;
    if (p.num === end.num + 1 && p.proto === end.proto) {
      end = p;
      if (idx < ports.length - 1) return;
    }
    if (end.num !== start.num || end.proto !== start.proto) {
      const rp = prefixOf(start);
      env.push(
        `${rp}_START=${url(start)}`,
        `${rp}_PORT_START=${start.num}`,
        `${rp}_END=${url(end)}`,
        `${rp}_PORT_END=${end.num}`,
      );
    }
    start = p;
    end = p;
  });
  env.push(`${alias}_NAME=${i.name}`);
  for (const v of i.childEnv) {
    const eq = v.indexOf('=');
    if (eq < 0) continue;
    const key = v.slice(0, eq);
    if (key === 'HOME' || key === 'PATH') continue;
    env.push(`${alias}_ENV_${key}=${v.slice(eq + 1)}`);
  }
  return env;
}
