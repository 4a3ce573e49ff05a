/**
 * A schema-checked create body made into what the runtime expects, as Go's decoder and
 * Docker's create handler would: `null` struct fields are absent, a string Cmd/Entrypoint is
 * a one-item list, and the shapes that changed with API 1.44 are mapped (the container-wide
 * MacAddress, one vs several networks at create).
 */
import { TsnetError } from '../../errors/index.js';
import type { CreateBody } from '../../runtime/container/create-request.js';
import type { ExecConfig } from '../../runtime/container/exec-manager.js';
import type { EndpointSettingsRequest } from '../../runtime/container/types.js';
import { versionLess } from '../http/version.js';

/** Shallow: drops the keys whose value is null (Go leaves such struct fields at their zero value). */
function withoutNulls<T extends object>(o: T): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (v !== null) out[k] = v;
  return out as T;
}

function strList(v: unknown): string[] | undefined {
  if (typeof v === 'string') return [v];
  return Array.isArray(v) ? (v as string[]) : undefined;
}

export function normalizeCreateBody(raw: CreateBody, apiVersion: string): CreateBody {
  const body = withoutNulls(raw);
  const cmd = strList(body.Cmd);
  const entrypoint = strList(body.Entrypoint);
  if (cmd) body.Cmd = cmd;
  if (entrypoint) body.Entrypoint = entrypoint;
  if (body.HostConfig) {
    body.HostConfig = withoutNulls(body.HostConfig);
    const mounts = (body.HostConfig.Mounts ?? []) as Array<{ VolumeOptions?: { Subpath?: string } | null }>;
    if (versionLess(apiVersion, '1.45') && mounts.some((m) => m?.VolumeOptions?.Subpath))
      throw new TsnetError('TSNET_INVALID_ARGUMENT', 'VolumeOptions.Subpath needs API v1.45 or newer');
    if (body.HostConfig.RestartPolicy) body.HostConfig.RestartPolicy = withoutNulls(body.HostConfig.RestartPolicy as object);
  }
  // NetworkDisabled: dockerd gives such a container no network at all, whatever it names (it
  // was accepted and ignored: the container got the default bridge)
  if ((body as { NetworkDisabled?: boolean }).NetworkDisabled === true) {
    body.HostConfig = { ...(body.HostConfig ?? {}), NetworkMode: 'none' };
    delete body.NetworkingConfig;
    delete body.MacAddress;
  }
  const eps: Record<string, EndpointSettingsRequest | null> = {};
  for (const [name, ep] of Object.entries(body.NetworkingConfig?.EndpointsConfig ?? {})) {
    const e = ep ? withoutNulls(ep) : {};
    if (e.IPAMConfig) e.IPAMConfig = withoutNulls(e.IPAMConfig);
    eps[name] = e;
  }
  if (body.NetworkingConfig) body.NetworkingConfig = { EndpointsConfig: eps };
  const names = Object.keys(eps);
  const mode = body.HostConfig?.NetworkMode ?? '';
  const ownNetns = ['host', 'none'].includes(mode) || mode.startsWith('container:');
  // The endpoint the container-wide MAC belongs to: the network of NetworkMode.
  const key = mode === '' || mode === 'default' ? 'bridge' : mode;
  if (versionLess(apiVersion, '1.44')) {
    if (names.length > 1) {
      throw new TsnetError(
        'TSNET_INVALID_ARGUMENT',
        `Container cannot be created with multiple network endpoints: ${names.join(', ')} (API ${apiVersion}; use API 1.44 or newer, or network connect)`,
      );
    }
    // Before 1.44 the MAC address was container-wide; an endpoint's own was ignored.
    for (const e of Object.values(eps)) if (e) delete e.MacAddress;
    if (body.MacAddress) {
      if (ownNetns) throw new TsnetError('TSNET_INVALID_ARGUMENT', 'conflicting options: mac-address and the network mode');
      const k = names[0] ?? key;
      eps[k] = { ...(eps[k] ?? {}), MacAddress: body.MacAddress };
      body.NetworkingConfig = { EndpointsConfig: eps };
    }
  } else if (body.MacAddress && !ownNetns) {
    // 1.44+: the container-wide field is deprecated; Docker still honours it for the network
    // of NetworkMode when that endpoint names no other MAC.
    const own = eps[key]?.MacAddress;
    if (own && own !== body.MacAddress)
      throw new TsnetError(
        'TSNET_INVALID_ARGUMENT',
        'the container-wide MacAddress differs from the one of its endpoint: give it only in NetworkingConfig.EndpointsConfig',
      );
    eps[key] = { ...(eps[key] ?? {}), MacAddress: body.MacAddress };
    body.NetworkingConfig = { EndpointsConfig: eps };
  }
  return body;
}

export function normalizeExecBody(raw: ExecConfig): ExecConfig {
  const body = withoutNulls(raw);
  const cmd = strList(body.Cmd);
  if (cmd) body.Cmd = cmd;
  return body;
}
