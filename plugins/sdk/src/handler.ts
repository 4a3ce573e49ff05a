/**
 * The HTTP side of a plugin, as Docker's daemon (and tsnetd) talk to it:
 *   POST /Plugin.Activate            → {"Implements": [...]}
 *   POST /NetworkDriver.<Method>     → your NetworkDriverHandlers
 *   POST /IpamDriver.<Method>        → your IpamDriverHandlers
 * Bodies are parsed as JSON whatever the Content-Type (the daemon sends none); an empty body is
 * {}. Requests are validated and normalised before your handler runs (400 + {"Err"} when bad).
 * A thrown error becomes {"Err": message} (and "Error" too for IPAM) with HTTP 500, or the
 * status of a PluginError. Unknown methods, and optional methods you did not implement that
 * Docker treats as optional, get 404.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { IpamDriverHandlers, NetworkDriverHandlers } from './types.js';

/** Throw this to choose the HTTP status of an error reply (default 500). */
export class PluginError extends Error {
  readonly status: number;
  constructor(message: string, opts: { status?: number; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'PluginError';
    this.status = opts.status ?? 500;
  }
}

/** A request that failed validation (HTTP 400). */
export class BadRequestError extends PluginError {
  constructor(message: string) {
    super(message, { status: 400 });
    this.name = 'BadRequestError';
  }
}

export const CONTENT_TYPE = 'application/vnd.docker.plugins.v1.1+json';
const MAX_BODY = 4 * 1024 * 1024;

export interface HandlerOptions {
  network?: NetworkDriverHandlers;
  ipam?: IpamDriverHandlers;
  /** One line per request and per error (default: silent). */
  log?: (line: string) => void;
}

type FieldKind = 'id' | 'str' | 'bool' | 'num' | 'obj' | 'strmap' | 'ipamdata' | 'iface';
type Fields = Record<string, FieldKind>;
type Body = Record<string, unknown>;
type Route = { fields: Fields; run: (req: Body) => unknown; check?: (req: Body) => void; ipam: boolean };

function ci(obj: Body, key: string): unknown {
  if (Object.hasOwn(obj, key)) return obj[key];
  const lower = key.toLowerCase();
  for (const k of Object.keys(obj)) if (k.toLowerCase() === lower) return obj[k];
  return undefined;
}

function isObj(v: unknown): v is Body {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function normStrMap(v: unknown, name: string): Record<string, string> {
  if (v === undefined || v === null) return {};
  if (!isObj(v)) throw new BadRequestError(`${name} must be an object`);
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v)) {
    if (x === null || x === undefined) continue;
    out[k] = typeof x === 'string' ? x : JSON.stringify(x);
  }
  return out;
}

function normField(v: unknown, kind: FieldKind, name: string): unknown {
  switch (kind) {
    case 'id':
      if (typeof v !== 'string' || v === '') throw new BadRequestError(`missing ${name}`);
      return v;
    case 'str':
      if (v === undefined || v === null) return '';
      if (typeof v !== 'string') throw new BadRequestError(`${name} must be a string`);
      return v;
    case 'bool':
      if (v === undefined || v === null) return false;
      if (typeof v !== 'boolean') throw new BadRequestError(`${name} must be a boolean`);
      return v;
    case 'num':
      if (v === undefined || v === null) return 0;
      if (typeof v !== 'number') throw new BadRequestError(`${name} must be a number`);
      return v;
    case 'obj':
      if (v === undefined || v === null) return {};
      if (!isObj(v)) throw new BadRequestError(`${name} must be an object`);
      return v;
    case 'strmap':
      return normStrMap(v, name);
    case 'ipamdata': {
      if (v === undefined || v === null) return [];
      if (!Array.isArray(v)) throw new BadRequestError(`${name} must be a list`);
      return v.map((d, i) => {
        if (!isObj(d)) throw new BadRequestError(`${name}[${i}] must be an object`);
        const out: Body = {
          AddressSpace: normField(ci(d, 'AddressSpace'), 'str', `${name}[${i}].AddressSpace`),
          Pool: normField(ci(d, 'Pool'), 'str', `${name}[${i}].Pool`),
        };
        const gw = ci(d, 'Gateway');
        if (gw !== undefined && gw !== null && gw !== '') out.Gateway = normField(gw, 'str', `${name}[${i}].Gateway`);
        const aux = ci(d, 'AuxAddresses');
        if (aux !== undefined && aux !== null) out.AuxAddresses = normStrMap(aux, `${name}[${i}].AuxAddresses`);
        return out;
      });
    }
    case 'iface': {
      const o = v === undefined || v === null ? {} : v;
      if (!isObj(o)) throw new BadRequestError(`${name} must be an object`);
      return {
        Address: normField(ci(o, 'Address'), 'str', `${name}.Address`),
        AddressIPv6: normField(ci(o, 'AddressIPv6'), 'str', `${name}.AddressIPv6`),
        MacAddress: normField(ci(o, 'MacAddress'), 'str', `${name}.MacAddress`),
      };
    }
  }
}

function normalise(body: Body, fields: Fields): Body {
  const out: Body = {};
  for (const [name, kind] of Object.entries(fields)) out[name] = normField(ci(body, name), kind, name);
  return out;
}

const EP: Fields = { NetworkID: 'id', EndpointID: 'id' };

function networkRoutes(h: NetworkDriverHandlers): Record<string, Route> {
  const r = (fields: Fields, run: ((req: never) => unknown) | undefined): Route | undefined =>
    run ? { fields, run: run as (req: Body) => unknown, ipam: false } : undefined;
  const routes: Record<string, Route | undefined> = {
    GetCapabilities: {
      fields: {},
      ipam: false,
      run: async () => {
        if (h.getCapabilities) return h.getCapabilities();
        return { Scope: 'local', ConnectivityScope: 'local', ...(h.gwAllocCheck ? { GwAllocChecker: true } : {}) };
      },
    },
    CreateNetwork: r({ NetworkID: 'id', Options: 'obj', IPv4Data: 'ipamdata', IPv6Data: 'ipamdata' }, h.createNetwork.bind(h)),
    DeleteNetwork: r({ NetworkID: 'id' }, h.deleteNetwork.bind(h)),
    CreateEndpoint: r({ ...EP, Interface: 'iface', Options: 'obj' }, h.createEndpoint.bind(h)),
    EndpointOperInfo: {
      fields: EP,
      ipam: false,
      run: async (req) => (h.endpointOperInfo ? h.endpointOperInfo(req as never) : { Value: {} }),
    },
    DeleteEndpoint: r(EP, h.deleteEndpoint.bind(h)),
    Join: r({ ...EP, SandboxKey: 'id', Options: 'obj' }, h.join.bind(h)),
    Leave: r(EP, h.leave.bind(h)),
    ProgramExternalConnectivity: r({ ...EP, Options: 'obj' }, h.programExternalConnectivity?.bind(h)),
    RevokeExternalConnectivity: r(EP, h.revokeExternalConnectivity?.bind(h)),
    DiscoverNew: {
      fields: { DiscoveryType: 'num', DiscoveryData: 'obj' },
      ipam: false,
      run: async (req) => h.discoverNew?.(req as never),
    },
    DiscoverDelete: {
      fields: { DiscoveryType: 'num', DiscoveryData: 'obj' },
      ipam: false,
      run: async (req) => h.discoverDelete?.(req as never),
    },
    AllocateNetwork: r(
      { NetworkID: 'id', Options: 'strmap', IPv4Data: 'ipamdata', IPv6Data: 'ipamdata' },
      h.allocateNetwork?.bind(h),
    ),
    FreeNetwork: r({ NetworkID: 'id' }, h.freeNetwork?.bind(h)),
    GwAllocCheck: r({ Options: 'obj' }, h.gwAllocCheck?.bind(h)),
  };
  const out: Record<string, Route> = {};
  for (const [k, v] of Object.entries(routes)) if (v) out[`NetworkDriver.${k}`] = v;
  return out;
}

function ipamRoutes(h: IpamDriverHandlers): Record<string, Route> {
  const r = (fields: Fields, run: (req: never) => unknown, check?: (req: Body) => void): Route => ({
    fields,
    run: run as (req: Body) => unknown,
    ipam: true,
    ...(check ? { check } : {}),
  });
  return {
    'IpamDriver.GetCapabilities': r({}, async () =>
      h.getCapabilities ? h.getCapabilities() : { RequiresMACAddress: false, RequiresRequestReplay: false },
    ),
    'IpamDriver.GetDefaultAddressSpaces': r({}, async () =>
      h.getDefaultAddressSpaces
        ? h.getDefaultAddressSpaces()
        : { LocalDefaultAddressSpace: 'local', GlobalDefaultAddressSpace: 'global' },
    ),
    'IpamDriver.RequestPool': r(
      { AddressSpace: 'str', Pool: 'str', SubPool: 'str', Options: 'strmap', V6: 'bool' },
      h.requestPool.bind(h),
      (req) => {
        if (req.Pool === '' && req.SubPool !== '') throw new BadRequestError('SubPool given without Pool');
      },
    ),
    'IpamDriver.ReleasePool': r({ PoolID: 'id' }, h.releasePool.bind(h)),
    'IpamDriver.RequestAddress': r({ PoolID: 'id', Address: 'str', Options: 'strmap' }, h.requestAddress.bind(h)),
    'IpamDriver.ReleaseAddress': r({ PoolID: 'id', Address: 'id' }, h.releaseAddress.bind(h)),
  };
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (d: Buffer) => {
      size += d.length;
      if (size > MAX_BODY) {
        reject(new PluginError(`request body larger than ${MAX_BODY} bytes`, { status: 413 }));
        req.destroy();
        return;
      }
      chunks.push(d);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, { 'Content-Type': CONTENT_TYPE, 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

/** A request listener for node:http (servePlugin uses it; you may mount it in your own server). */
export function createPluginHandler(opts: HandlerOptions): RequestListener {
  if (!opts.network && !opts.ipam) throw new Error('a plugin needs network and/or ipam handlers');
  const implementsList = [...(opts.network ? ['NetworkDriver'] : []), ...(opts.ipam ? ['IpamDriver'] : [])];
  const routes: Record<string, Route> = {
    ...(opts.network ? networkRoutes(opts.network) : {}),
    ...(opts.ipam ? ipamRoutes(opts.ipam) : {}),
  };
  const log = opts.log ?? (() => undefined);

  return (req, res) => {
    const method = (req.url ?? '/').replace(/^\/+/, '').split('?')[0] ?? '';
    const route = routes[method];
    const errorBody = (msg: string, ipam: boolean): Body => (ipam ? { Err: msg, Error: msg } : { Err: msg });
    void (async () => {
      try {
        if (req.method !== 'POST') {
          send(
            res,
            405,
            errorBody(`${req.method ?? ''} ${req.url ?? ''}: plugins answer POST only`, method.startsWith('IpamDriver.')),
          );
          return;
        }
        const raw = await readBody(req);
        if (method === 'Plugin.Activate') {
          log('Plugin.Activate');
          send(res, 200, { Implements: implementsList });
          return;
        }
        if (!route) {
          log(`${method}: not implemented (404)`);
          // What Go's http.NotFound writes, like a plugin built on Docker's helpers: a bare 404 with no
          // {"Err"} means "this call is not implemented"; a 404 with an Err would read as a misused 404.
          const text = '404 page not found\n';
          res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
          res.end(text);
          return;
        }
        let body: unknown = {};
        const text = raw.toString('utf8');
        if (text.trim() !== '') {
          try {
            body = JSON.parse(text);
          } catch (err) {
            throw new BadRequestError(`malformed JSON request: ${(err as Error).message}`);
          }
        }
        if (!isObj(body)) throw new BadRequestError('request body must be a JSON object');
        const normal = normalise(body, route.fields);
        route.check?.(normal);
        const result = await route.run(normal);
        log(`${method}: ok`);
        send(res, 200, result === undefined || result === null ? {} : result);
      } catch (err) {
        const status = err instanceof PluginError ? err.status : 500;
        const msg = err instanceof Error ? err.message : String(err);
        log(`${method}: error ${status}: ${msg}`);
        if (!res.headersSent) send(res, status, errorBody(msg, route?.ipam ?? method.startsWith('IpamDriver.')));
        else res.destroy();
      }
    })();
  };
}
