/**
 * The three kinds of plugin description files, as Docker reads them (moby pkg/plugins/discovery.go):
 *   <name>.sock  a unix socket: the address is the socket itself;
 *   <name>.spec  text whose trimmed content is a URL (unix:///x.sock, tcp://host:port, https://…);
 *   <name>.json  {"Addr": URL, "TLSConfig": {CAFile, CertFile, KeyFile, InsecureSkipVerify}}.
 * The plugin's name is always the file name; the documented "Name" field of .json is ignored
 * (Docker's code ignores it too). Pure functions: text in, PluginAddress out.
 */
import path from 'node:path';
import { TsnetError } from '../errors/index.js';
import type { PluginAddress, PluginTlsConfig } from './types.js';

function invalid(file: string, why: string): TsnetError {
  return new TsnetError('TSNET_INVALID_ARGUMENT', `plugin spec file ${file}: ${why}`, { details: { file } });
}

/** Parse a plugin URL (unix://, tcp://, https://). `file` names the source in errors. */
export function parsePluginUrl(name: string, raw: string, file: string): PluginAddress {
  const text = raw.trim();
  const m = /^([a-z][a-z0-9+.-]*):\/\/(.*)$/i.exec(text);
  if (!m)
    throw invalid(file, `${JSON.stringify(text)} is not a URL (Unknown protocol): use unix:///path/to.sock or tcp://host:port`);
  const scheme = m[1]!.toLowerCase();
  const rest = m[2]!;
  if (scheme === 'unix') {
    if (!rest.startsWith('/')) throw invalid(file, `unix socket path must be absolute: ${JSON.stringify(text)}`);
    return { name, url: `unix://${rest}`, protocol: 'unix', socketPath: path.normalize(rest), source: file };
  }
  if (scheme === 'tcp' || scheme === 'https') {
    let u: URL;
    try {
      u = new URL(`http://${rest}`);
    } catch {
      throw invalid(file, `bad address ${JSON.stringify(text)}`);
    }
    const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
    const port = Number(u.port);
    if (!host || !u.port || !Number.isInteger(port) || port < 1 || port > 65535) {
      throw invalid(file, `${JSON.stringify(text)} needs a host and a port (${scheme}://host:port)`);
    }
    return { name, url: `${scheme}://${u.host}`, protocol: scheme, host, port, source: file };
  }
  throw invalid(file, `unsupported protocol ${scheme}:// in ${JSON.stringify(text)} (use unix://, tcp:// or https://)`);
}

/** `<name>.spec`: the content is a URL. */
export function parseSpecFile(name: string, content: string, file: string): PluginAddress {
  return parsePluginUrl(name, content, file);
}

/** Value of `key` in `obj`, matched case-insensitively (Go's encoding/json decodes that way). */
function ci(obj: Record<string, unknown>, key: string): unknown {
  if (key in obj) return obj[key];
  const lower = key.toLowerCase();
  for (const k of Object.keys(obj)) if (k.toLowerCase() === lower) return obj[k];
  return undefined;
}

/** `<name>.json`: {"Addr": URL, "TLSConfig": {...}}. "Name" is ignored. */
export function parseJsonSpec(name: string, content: string, file: string): PluginAddress {
  let doc: unknown;
  try {
    doc = JSON.parse(content);
  } catch (err) {
    throw invalid(file, `malformed JSON: ${(err as Error).message}`);
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw invalid(file, 'expected a JSON object');
  const obj = doc as Record<string, unknown>;
  const addr = ci(obj, 'Addr');
  if (typeof addr !== 'string' || addr.trim() === '') throw invalid(file, 'missing "Addr"');
  const out = parsePluginUrl(name, addr, file);
  const tlsRaw = ci(obj, 'TLSConfig');
  if (tlsRaw !== undefined && tlsRaw !== null) {
    if (typeof tlsRaw !== 'object' || Array.isArray(tlsRaw)) throw invalid(file, '"TLSConfig" must be an object');
    const t = tlsRaw as Record<string, unknown>;
    const str = (k: string): string | undefined => {
      const v = ci(t, k);
      if (v === undefined || v === null || v === '') return undefined;
      if (typeof v !== 'string') throw invalid(file, `"TLSConfig.${k}" must be a string`);
      return v;
    };
    const tls: PluginTlsConfig = { insecureSkipVerify: ci(t, 'InsecureSkipVerify') === true };
    const ca = str('CAFile');
    const cert = str('CertFile');
    const key = str('KeyFile');
    if (ca) tls.caFile = ca;
    if (cert) tls.certFile = cert;
    if (key) tls.keyFile = key;
    // Docker: a TLSConfig without a CA file means "do not verify the server".
    if (!ca) tls.insecureSkipVerify = true;
    out.tls = tls;
  }
  return out;
}

/** A socket file found in a socket directory. */
export function socketAddress(name: string, socketPath: string): PluginAddress {
  return { name, url: `unix://${socketPath}`, protocol: 'unix', socketPath, source: socketPath };
}
