/**
 * Which of a container's endpoints gives it the default route and external connectivity
 * (published ports). Docker's documented rule: the highest gw-priority, then networks that
 * provide a gateway (not internal), then the network name in lexical order. Pure.
 */
export interface GatewayCandidate {
  endpointId: string;
  networkName: string;
  priority: number;
  hasGateway: boolean;
  internal: boolean;
}

export function pickGatewayEndpoint(cands: GatewayCandidate[]): GatewayCandidate | undefined {
  const usable = cands.filter((c) => c.hasGateway && !c.internal);
  const pool = usable.length ? usable : [];
  return [...pool].sort(
    (a, b) => b.priority - a.priority || (a.networkName < b.networkName ? -1 : a.networkName > b.networkName ? 1 : 0),
  )[0];
}
