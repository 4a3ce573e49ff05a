/**
 * What `swarm init` makes and `swarm leave` removes: one JSON document, <root>/swarm/state.json
 * (written atomically), beside the swarm IPAM's store (<root>/swarm/ipam). The document is the
 * node's membership: it is there after a daemon restart and gone after a leave.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { readJson, writeJsonAtomic } from '../store/atomic-file.js';

/** Docker's swarm spec, as the API carries it (kept as given, with Docker's defaults filled in). */
export type SwarmSpec = Record<string, unknown> & { Name: string; Labels: Record<string, string> };

export interface SwarmState {
  format: 1;
  clusterId: string;
  nodeId: string;
  createdAt: string;
  updatedAt: string;
  /** Docker's Version.Index: bumped by every update (POST /swarm/update?version=N must match). */
  version: number;
  spec: SwarmSpec;
  /** The IP other nodes would reach this one on (the VXLAN tunnel endpoint too). */
  advertiseAddr: string;
  /** The manager port of the advertise address (from ListenAddr/AdvertiseAddr; nothing listens on it). */
  advertisePort: number;
  listenAddr: string;
  dataPathAddr: string;
  dataPathPort: number;
  defaultAddrPool: string[];
  subnetSize: number;
  joinTokens: { Worker: string; Manager: string };
}

export const STATE_DIR = 'swarm';

export function stateDir(root: string): string {
  return path.join(root, STATE_DIR);
}

export function stateFile(root: string): string {
  return path.join(stateDir(root), 'state.json');
}

export async function loadState(root: string): Promise<SwarmState | undefined> {
  const s = await readJson<SwarmState>(stateFile(root));
  return s?.format === 1 && typeof s.nodeId === 'string' ? s : undefined;
}

export async function saveState(root: string, s: SwarmState): Promise<void> {
  await writeJsonAtomic(stateFile(root), s);
}

/** Leave: the membership and the swarm IPAM's records go. */
export function removeState(root: string): void {
  fs.rmSync(stateDir(root), { recursive: true, force: true });
}

/** swarmkit's identifiers: 25 lowercase base-36 characters from 128 random bits. */
export function newId(): string {
  return BigInt(`0x${crypto.randomBytes(16).toString('hex')}`)
    .toString(36)
    .padStart(25, '0');
}

/**
 * A join token in Docker's form, SWMTKN-1-<50 chars>-<25 chars>. tsnet accepts no joins
 * (single node): the token is shown because Docker's clients expect one, and opens nothing.
 */
export function newJoinToken(): string {
  const digest = BigInt(`0x${crypto.randomBytes(32).toString('hex')}`)
    .toString(36)
    .padStart(50, '0')
    .slice(0, 50);
  return `SWMTKN-1-${digest}-${newId()}`;
}
