/**
 * Restarts by policy: after an exit the container manager asks `afterExit`; a restart is a
 * timer with Docker's back-off. A stop, kill, start or rm through the API cancels it.
 * One instance per container manager; timers live in memory (a daemon restart re-decides
 * from the records, see ContainerManager.autostart).
 */
import { nextDelay, shouldRestart, type RestartPolicy } from './policy.js';

export interface RestartTarget {
  id: string;
  policy: RestartPolicy | undefined | null;
  exitCode: number;
  manuallyStopped: boolean;
  /** How long the container ran before this exit. */
  ranMs: number;
}

export interface RestartSchedulerDeps {
  /** Start the container again (takes the container's lock itself). */
  restart: (id: string) => Promise<void>;
}

export class RestartScheduler {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  /** Current back-off per container (0: none yet). */
  private readonly delays = new Map<string, number>();
  /** Restarts by policy since the last start through the API (Docker's restart manager count, in memory). */
  private readonly counts = new Map<string, number>();

  constructor(private readonly deps: RestartSchedulerDeps) {}

  /** Decide after an exit; true when a restart is scheduled (the container is "restarting"). */
  afterExit(t: RestartTarget): boolean {
    this.cancel(t.id);
    if (!shouldRestart(t.policy, { ...t, restartCount: this.counts.get(t.id) ?? 0 })) {
      this.delays.delete(t.id);
      return false;
    }
    const delay = nextDelay(this.delays.get(t.id) ?? 0, t.ranMs);
    this.delays.set(t.id, delay);
    this.timers.set(
      t.id,
      setTimeout(() => {
        this.timers.delete(t.id);
        void this.deps.restart(t.id);
      }, delay),
    );
    return true;
  }

  /** A restart by policy happened. */
  counted(id: string): void {
    this.counts.set(id, (this.counts.get(id) ?? 0) + 1);
  }

  /** A start through the API: the policy's retry count and back-off begin again. */
  reset(id: string): void {
    this.cancel(id, true);
    this.counts.delete(id);
  }

  /** Restart now (a container that died while the daemon was down). */
  now(id: string): void {
    this.cancel(id);
    void this.deps.restart(id);
  }

  pending(id: string): boolean {
    return this.timers.has(id);
  }

  /** Cancel a scheduled restart (stop, kill, rm); the back-off and count are kept unless `forget`. */
  cancel(id: string, forget = false): void {
    const t = this.timers.get(id);
    if (t) clearTimeout(t);
    this.timers.delete(id);
    if (forget) {
      this.delays.delete(id);
      this.counts.delete(id);
    }
  }

  /** The last delay used for a container (0: none). */
  delayOf(id: string): number {
    return this.delays.get(id) ?? 0;
  }
}
