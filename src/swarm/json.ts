/** Docker's JSON of a swarm, its node and the `Swarm` section of GET /info, from the state. Pure. */
import type { SwarmState } from './state.js';

export interface NodeFacts {
  hostname: string;
  /** uname -m (x86_64, aarch64) */
  architecture: string;
  nanoCpus: number;
  memoryBytes: number;
  engineVersion: string;
  networkDrivers: string[];
}

/** Docker's defaults of a new swarm's spec. */
export function defaultSpec(): SwarmState['spec'] {
  return {
    Name: 'default',
    Labels: {},
    Orchestration: { TaskHistoryRetentionLimit: 5 },
    Raft: { SnapshotInterval: 10000, KeepOldSnapshots: 0, LogEntriesForSlowFollowers: 500, ElectionTick: 10, HeartbeatTick: 1 },
    Dispatcher: { HeartbeatPeriod: 5000000000 },
    CAConfig: { NodeCertExpiry: 7776000000000000 },
    TaskDefaults: {},
    EncryptionConfig: { AutoLockManagers: false },
  };
}

/** `IP:PORT` of the manager (IPv6 in brackets). */
export function managerAddr(s: SwarmState): string {
  return s.advertiseAddr.includes(':') ? `[${s.advertiseAddr}]:${s.advertisePort}` : `${s.advertiseAddr}:${s.advertisePort}`;
}

/** Docker's object header: id, version, times. */
function meta(id: string, s: SwarmState) {
  return { ID: id, Version: { Index: s.version }, CreatedAt: s.createdAt, UpdatedAt: s.updatedAt };
}

// tsnet runs no CA: there is no other node to authenticate
const NO_TLS = { TrustRoot: '', CertIssuerSubject: '', CertIssuerPublicKey: '' };

/** GET /swarm and the Cluster of GET /info (the latter without JoinTokens). */
export function clusterJson(s: SwarmState, withTokens: boolean) {
  return {
    ...meta(s.clusterId, s),
    Spec: s.spec,
    TLSInfo: NO_TLS,
    RootRotationInProgress: false,
    DataPathPort: s.dataPathPort,
    DefaultAddrPool: s.defaultAddrPool,
    SubnetSize: s.subnetSize,
    ...(withTokens ? { JoinTokens: s.joinTokens } : {}),
  };
}

/** GET /nodes/{id}: the one node, a manager and the leader. */
export function nodeJson(s: SwarmState, f: NodeFacts) {
  return {
    ...meta(s.nodeId, s),
    Spec: { Labels: {}, Role: 'manager', Availability: 'active' },
    Description: {
      Hostname: f.hostname,
      Platform: { Architecture: f.architecture, OS: 'linux' },
      Resources: { NanoCPUs: f.nanoCpus, MemoryBytes: f.memoryBytes },
      Engine: { EngineVersion: f.engineVersion, Plugins: f.networkDrivers.map((Name) => ({ Type: 'Network', Name })) },
      TLSInfo: NO_TLS,
    },
    Status: { State: 'ready', Addr: s.advertiseAddr },
    ManagerStatus: { Leader: true, Reachability: 'reachable', Addr: managerAddr(s) },
  };
}

/** The `Swarm` section of GET /info. */
export function infoJson(s: SwarmState | undefined) {
  if (!s) {
    return { NodeID: '', NodeAddr: '', LocalNodeState: 'inactive', ControlAvailable: false, Error: '', RemoteManagers: null };
  }
  return {
    NodeID: s.nodeId,
    NodeAddr: s.advertiseAddr,
    LocalNodeState: 'active',
    ControlAvailable: true,
    Error: '',
    RemoteManagers: [{ NodeID: s.nodeId, Addr: managerAddr(s) }],
    Nodes: 1,
    Managers: 1,
    Cluster: clusterJson(s, false),
  };
}
