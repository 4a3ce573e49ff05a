/**
 * The entries of `GET /containers/json`, serialized once per container and kept until something
 * they show changes: with 1000 containers, building and stringifying every summary at each
 * listing was most of the daemon side of `ps -a`.
 *
 * An entry is reused while its stamp holds: the network layer's revision of the container's
 * sandbox (a new number at every change of its sandbox or endpoint records and when its ports go
 * live or are revoked) and the summary fields of the container record that change after create —
 * the name, State, the Status text (it moves with the clock) — and the image name (a tag can move).
 * The other fields (id, image id, command, created, labels, mounts, exposed ports, network mode)
 * are fixed at create. Entries are keyed by the record object, so a removed container's entry
 * goes with its record and a replaced record is built afresh.
 */
import type { ContainerNetworkState } from '../../network/container-api.js';
import { containerSummary, dockerStatus, statusText } from './docker-json.js';
import type { ContainerRecord } from './types.js';

export interface SummarySource {
  network(rec: ContainerRecord): ContainerNetworkState;
  networkRevision(rec: ContainerRecord): number;
  imageName(rec: ContainerRecord): string;
}

interface Entry {
  revision: number;
  stamp: string;
  json: Buffer;
}

const OPEN = Buffer.from('[');
const COMMA = Buffer.from(',');
const CLOSE = Buffer.from(']');

export class ContainerSummaries {
  private readonly entries = new WeakMap<ContainerRecord, Entry>();

  constructor(private readonly d: SummarySource) {}

  /**
   * The JSON array of the summaries of `list`, in its order, as bytes: kept as UTF-8 per entry,
   * the reply is one copy (joining strings, then sizing and encoding 800 kB for the socket cost
   * ~4× more).
   */
  json(list: readonly ContainerRecord[], now = Date.now()): Buffer {
    const parts: Buffer[] = [OPEN];
    for (let i = 0; i < list.length; i++) {
      if (i > 0) parts.push(COMMA);
      parts.push(this.one(list[i]!, now));
    }
    parts.push(CLOSE);
    return Buffer.concat(parts);
  }

  private one(rec: ContainerRecord, now: number): Buffer {
    const revision = this.d.networkRevision(rec);
    const imageName = this.d.imageName(rec);
    const stamp = `${rec.name}\0${dockerStatus(rec)}\0${statusText(rec, now)}\0${imageName}`;
    const have = this.entries.get(rec);
    if (have && have.revision === revision && have.stamp === stamp) return have.json;
    const json = Buffer.from(JSON.stringify(containerSummary(rec, imageName, this.d.network(rec), now)));
    this.entries.set(rec, { revision, stamp, json });
    return json;
  }
}
