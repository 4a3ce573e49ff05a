/**
 * Docker's JSON progress messages for a pull (what `docker pull` renders as progress
 * bars): `{"status","id","progressDetail":{"current","total"},"progress"}` per layer,
 * plain `{"status"}` lines for the image. Pure.
 */

export interface ProgressMessage {
  status: string;
  id?: string;
  progressDetail?: { current?: number; total?: number };
  progress?: string;
}

export type ProgressSink = (m: ProgressMessage) => void;

/** Docker's short id of a layer: the first 12 hex digits of its blob digest. */
export function shortDigest(digest: string): string {
  return digest.replace(/^sha256:/, '').slice(0, 12);
}

/** Decimal sizes with 3–4 significant digits, as Docker's units.HumanSize. */
export function humanSize(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let v = n;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${Number(v.toPrecision(4))}${units[i]}`;
}

const BAR = 50;

/** `[=====>        ]  1.2MB/3.4MB` */
export function progressBar(current: number, total: number): string {
  if (total <= 0) return humanSize(current);
  const filled = Math.min(BAR, Math.floor((current / total) * BAR));
  const bar = filled >= BAR ? '='.repeat(BAR) : `${'='.repeat(filled)}>${' '.repeat(BAR - filled - 1)}`;
  return `[${bar}]  ${humanSize(current)}/${humanSize(total)}`;
}

export function layerStatus(id: string, status: string): ProgressMessage {
  return { status, progressDetail: {}, id };
}

export function layerProgress(id: string, status: string, current: number, total: number): ProgressMessage {
  return { status, progressDetail: { current, total }, progress: progressBar(current, total), id };
}

/**
 * Rate-limits progress updates of one layer: at most one per `everyMs`, but always the
 * last one (current === total).
 */
export function throttled(send: (current: number, total: number) => void, everyMs = 100): (c: number, t: number) => void {
  let last = 0;
  return (current, total) => {
    const now = Date.now();
    if (current < total && now - last < everyMs) return;
    last = now;
    send(current, total);
  };
}
