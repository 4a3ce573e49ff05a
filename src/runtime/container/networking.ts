/**
 * What the container runtime needs from the network controller. The runtime never touches
 * links, addresses or rules itself; it asks for a sandbox before a start and hands it back.
 */
import type { HostEntry } from '../etc-files.js';
import type { ContainerRecord } from './types.js';

export interface SandboxSetup {
  /** netns file to join; undefined = the daemon's own (host) network namespace. */
  netnsPath?: string;
  /** Host network mode shares the host's UTS namespace too, as Docker does. */
  shareHostUts: boolean;
  hosts: HostEntry[];
  /** The whole /etc/hosts text instead of the generated one (host mode copies the host's). */
  hostsText?: string;
  resolvConf: string;
}

export interface ContainerNetworking {
  /** Validate the network request and fill `rec.network`; no kernel change. Throws on bad input. */
  plan(rec: ContainerRecord): Promise<void>;
  /** Make the sandbox and endpoints (addresses reserved now, kept across restarts). */
  create(rec: ContainerRecord): Promise<void>;
  /** Before each start: make sure the sandbox is wired; returns what tsnet-init needs. */
  prepare(rec: ContainerRecord): Promise<SandboxSetup>;
  /** After the container's processes are gone (stop, exit, crash). */
  released(rec: ContainerRecord): Promise<void>;
  /** On rm: remove sandbox and endpoints. Idempotent. */
  remove(rec: ContainerRecord): Promise<void>;
  /** Per-interface counters in the container's network namespace ({} for host mode). */
  interfaceStats?(rec: ContainerRecord): Promise<Record<string, InterfaceCounters>>;
}

export interface InterfaceCounters {
  rxBytes: number;
  rxPackets: number;
  rxErrors: number;
  rxDropped: number;
  txBytes: number;
  txPackets: number;
  txErrors: number;
  txDropped: number;
}
