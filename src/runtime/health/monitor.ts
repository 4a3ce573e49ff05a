/**
 * Health monitors: one probe loop per running container with an active healthcheck. Probes are
 * execs in the container (probe.ts); results go to `State.Health` with Docker's rules, and a
 * change of status is a `health_status: …` event. Started and stopped by the container
 * manager's lifecycle hooks.
 */
import type { Logger } from '../../lib/logger.js';
import type { ContainerRecord } from '../container/types.js';
import { probeSettings, type ProbeSettings } from './config.js';
import { applyProbe, initialHealth } from './state.js';

export interface ProbeResult {
  exitCode: number;
  output: string;
}

export interface HealthDeps {
  /** Run one probe in the container; never throws (a failure is exit code -1 with its message). */
  probe: (rec: ContainerRecord, argv: string[], timeoutMs: number) => Promise<ProbeResult>;
  save: (rec: ContainerRecord) => Promise<void>;
  announce: (rec: ContainerRecord, action: string) => void;
  logger: Logger;
}

interface Loop {
  startedAt: string;
  timer?: NodeJS.Timeout;
  stopped: boolean;
}

export class HealthMonitors {
  private readonly loops = new Map<string, Loop>();

  constructor(private readonly deps: HealthDeps) {}

  started(rec: ContainerRecord): void {
    this.stop(rec.id);
    const settings = probeSettings(rec.config.Healthcheck);
    if (!settings) {
      delete rec.state.Health;
      return;
    }
    // an adopted container (daemon restart) keeps the health it had; a new start begins again
    if (!rec.state.Health || !this.isAdoption(rec)) rec.state.Health = initialHealth();
    const loop: Loop = { startedAt: rec.state.StartedAt, stopped: false };
    this.loops.set(rec.id, loop);
    this.schedule(rec, loop, settings);
  }

  exited(rec: ContainerRecord): void {
    this.stop(rec.id);
  }

  removed(rec: ContainerRecord): void {
    this.stop(rec.id);
  }

  /** Whether a container has a probe loop (tests, info). */
  active(id: string): boolean {
    return this.loops.has(id);
  }

  private isAdoption(rec: ContainerRecord): boolean {
    // a fresh start has a new StartedAt newer than every logged probe
    const last = rec.state.Health?.Log.at(-1);
    return last !== undefined && Date.parse(last.Start) >= Date.parse(rec.state.StartedAt);
  }

  private stop(id: string): void {
    const loop = this.loops.get(id);
    if (!loop) return;
    loop.stopped = true;
    if (loop.timer) clearTimeout(loop.timer);
    this.loops.delete(id);
  }

  /** Docker's interval: StartInterval while starting inside the start period, else Interval. */
  private interval(rec: ContainerRecord, s: ProbeSettings): number {
    const since = Date.now() - Date.parse(rec.state.StartedAt);
    if (since >= s.startPeriodMs) return s.intervalMs;
    return rec.state.Health?.Status === 'starting' ? s.startIntervalMs : s.intervalMs;
  }

  private schedule(rec: ContainerRecord, loop: Loop, s: ProbeSettings): void {
    loop.timer = setTimeout(() => void this.runOnce(rec, loop, s), this.interval(rec, s));
    loop.timer.unref?.();
  }

  private current(rec: ContainerRecord, loop: Loop): boolean {
    return !loop.stopped && rec.state.Status === 'running' && rec.state.StartedAt === loop.startedAt;
  }

  private async runOnce(rec: ContainerRecord, loop: Loop, s: ProbeSettings): Promise<void> {
    if (!this.current(rec, loop)) return;
    if (rec.state.Paused) return this.schedule(rec, loop, s);
    const start = new Date().toISOString();
    const r = await this.deps.probe(rec, s.argv, s.timeoutMs);
    if (!this.current(rec, loop)) return;
    const prev = rec.state.Health ?? initialHealth();
    const next = applyProbe(
      prev,
      { Start: start, End: new Date().toISOString(), ExitCode: r.exitCode, Output: r.output },
      s,
      rec.state.StartedAt,
    );
    rec.state.Health = next;
    await this.deps
      .save(rec)
      .catch((err: Error) => this.deps.logger.warn(`save health of ${rec.id.slice(0, 12)}: ${err.message}`));
    if (next.Status !== prev.Status) {
      this.deps.logger.info(`container ${rec.id.slice(0, 12)} is ${next.Status}`);
      this.deps.announce(rec, `health_status: ${next.Status}`);
    }
    if (this.current(rec, loop)) this.schedule(rec, loop, s);
  }
}
