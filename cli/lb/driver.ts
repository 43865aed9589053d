/**
 * What HAProxy's and nginx's shells share: the newest list to apply, and one step
 * at a time — a new list while a step runs makes one more step after it, a failed
 * step is retried with backoff, and nothing is done before the first list arrives
 * (a load balancer is never emptied because the watch is not there yet).
 */
import type { Logger } from "../../shared/log/logger.js";
import { backoffDelayMs, DEFAULT_BACKOFF } from "../../shared/backoff.js";
import type { LbErrorKind, LbMetrics } from "./metrics.js";
import type { Server } from "./servers.js";

export interface DesiredList {
  /** Endpoints.version: what is reported as applied. */
  version: string;
  servers: Server[];
  drainTimeMs: number;
}

export interface AppliedReport {
  /** "" before the first apply. */
  version: string;
  appliedAtMs: number;
  servers: number;
  /** The last failure since that apply; "" once a step succeeds. */
  error: string;
}

export interface DriverDeps {
  log: Logger;
  metrics: LbMetrics;
  now: () => number;
  /** Called on every change of what is applied or of the error. */
  report: (r: AppliedReport) => void;
}

/** A step's failure, saying what failed (the metrics label). */
export class LbStepError extends Error {
  constructor(
    readonly what: LbErrorKind,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "LbStepError";
  }
}

/** @default retries back off from 200 ms to 10 s (shared/backoff.ts). */
export abstract class Driver {
  protected desired: DesiredList | undefined;
  protected applied: AppliedReport = { version: "", appliedAtMs: 0, servers: 0, error: "" };
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private again = false;
  private failures = 0;
  private closed = false;
  private idle: (() => void)[] = [];

  constructor(protected readonly d: DriverDeps) {}

  /**
   * The newest list from the watch. The same list again (its version names its
   * servers) is nothing new: a step under way or a retry's backoff stands. Each
   * failed step is reported, the controller hears news (the error) and sends the
   * list back to its followers, this one too — which used to cut the backoff short
   * and retry a failing reload hundreds of times a second.
   */
  set(list: DesiredList): void {
    const same = this.desired !== undefined && this.desired.version === list.version && this.desired.drainTimeMs === list.drainTimeMs;
    this.desired = list;
    if (!same) this.onDesired();
  }

  /** Called when a new list arrives: kick() now, or schedule (the nginx debounce). */
  protected onDesired(): void {
    this.kick();
  }

  /** One pass; returns when to look again (ms from now), or null for "when a list comes". Throws LbStepError. */
  protected abstract step(): Promise<number | null>;

  protected kick(): void {
    if (this.closed) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    void this.loop();
  }

  protected scheduleIn(ms: number): void {
    if (this.closed) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.kick(), Math.max(0, ms));
  }

  private async loop(): Promise<void> {
    let next: number | null = null;
    do {
      this.again = false;
      try {
        next = await this.step();
        this.failures = 0;
        if (this.applied.error) this.setApplied({ ...this.applied, error: "" });
      } catch (err) {
        const what = err instanceof LbStepError ? err.what : "command";
        const message = err instanceof Error ? err.message : String(err);
        this.d.metrics.error(what);
        this.d.log.error({ what, err: message }, "applying the endpoints failed; the load balancer keeps its last good state");
        this.setApplied({ ...this.applied, error: message });
        next = backoffDelayMs(DEFAULT_BACKOFF, this.failures++);
      }
    } while (this.again && !this.closed);
    this.running = false;
    if (next !== null) this.scheduleIn(next);
    for (const fn of this.idle.splice(0)) fn();
  }

  protected setApplied(r: AppliedReport): void {
    this.applied = r;
    this.d.report(r);
  }

  /** What was applied last, for the periodic re-report. */
  get current(): AppliedReport {
    return this.applied;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    if (this.running) await new Promise<void>((r) => this.idle.push(r));
  }
}
