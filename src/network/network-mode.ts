/** Parse HostConfig.NetworkMode: default, bridge, none, host, container:<ref>, or a network name. */
export type NetworkMode = { kind: 'none' } | { kind: 'host' } | { kind: 'container'; ref: string } | { kind: 'networks' }; // default / bridge / named networks (EndpointsConfig)

export function parseNetworkMode(mode: string | undefined): NetworkMode {
  const m = mode ?? 'default';
  if (m === 'none') return { kind: 'none' };
  if (m === 'host') return { kind: 'host' };
  if (m.startsWith('container:')) return { kind: 'container', ref: m.slice('container:'.length) };
  return { kind: 'networks' };
}
