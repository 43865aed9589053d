/**
 * Runs an async pass one at a time, level-triggered: a kick while a pass runs
 * causes exactly one more pass after it, however many kicks came (Kubernetes'
 * workqueue for a single key). The reconcile loop, the failure detector and the
 * agent's converger all work this way: each pass re-derives from current state,
 * so coalesced kicks lose nothing.
 */

/**
 * How a Coalescer whose pass is fleet-wide (O(hosts)) keeps it from taking the
 * main thread when per-host events kick it — every hello and heartbeat of a fleet
 * joining or reconnecting. After a pass of t ms, a kicked pass waits until
 * t·(1/maxShare − 1) has gone by, capped at maxDelayMs: passes then take at most
 * maxShare of the time however often hosts kick, so what a join costs does not
 * grow with the fleet. A requeue (work the pass itself made due now) is not paced.
 *
 * Worked example: maxShare 0.25, a pass over 5,000 hosts takes 20 ms; kicks then
 * wait 60 ms after it, and passes run at most ~12 times a second, 25 % of the time.
 */
export interface Pacing {
  /** The largest share of wall time passes may take while kicks keep coming, in (0, 1]. */
  maxShare: number;
  /** The longest a kick waits after a pass, however long the pass took. */
  maxDelayMs: number;
  /** Milliseconds, monotonic. @default performance.now */
  now?: () => number;
}

export class Coalescer {
  private running = false;
  private again = false;
  /** The pass asked for the next one (requeue): it runs without pacing. */
  private urgent = false;
  private idle: Promise<void> = Promise.resolve();
  private closed = false;
  /** Pacing: no kicked pass starts before this (the pacing clock). */
  private nextAt = Number.NEGATIVE_INFINITY;
  private waiting: { timer: NodeJS.Timeout; wake: () => void } | undefined;

  constructor(
    private readonly pass: () => Promise<void>,
    private readonly onError: (err: unknown) => void,
    private readonly pacing?: Pacing,
  ) {
    if (pacing && !(pacing.maxShare > 0 && pacing.maxShare <= 1 && pacing.maxDelayMs >= 0)) throw new RangeError("pacing: maxShare in (0, 1] and maxDelayMs ≥ 0");
  }

  kick(): void {
    if (this.closed) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    this.idle = (async () => {
      try {
        let first = true;
        while (!this.closed && (first || this.again)) {
          const waitMs = this.urgent ? 0 : this.waitMs();
          // Awaited only when there is a wait: an unpaced pass starts in the kick's own tick.
          if (waitMs >= 1) await this.sleep(waitMs);
          if (this.closed) break;
          first = false;
          this.again = false;
          this.urgent = false;
          const now = this.pacing?.now ?? (() => performance.now());
          const started = now();
          try {
            await this.pass();
          } catch (err) {
            this.onError(err);
          }
          if (this.pacing) {
            const ended = now();
            this.nextAt = ended + Math.min(this.pacing.maxDelayMs, (ended - started) * (1 / this.pacing.maxShare - 1));
          }
        }
      } finally {
        this.running = false;
      }
    })();
  }

  /** How long pacing holds the next pass back (0 without pacing). */
  private waitMs(): number {
    if (!this.pacing) return 0;
    return Math.max(0, this.nextAt - (this.pacing.now ?? (() => performance.now()))());
  }

  /** close() ends the wait. */
  private async sleep(waitMs: number): Promise<void> {
    await new Promise<void>((wake) => {
      this.waiting = { timer: setTimeout(wake, waitMs), wake };
    });
    this.waiting = undefined;
  }

  /** A kick that is not paced: someone waits for the pass (an operator's apply, loop.settle()). */
  kickNow(): void {
    if (this.closed) return;
    this.urgent = true;
    this.endWait();
    this.kick();
  }

  private endWait(): void {
    if (!this.waiting) return;
    clearTimeout(this.waiting.timer);
    this.waiting.wake();
  }

  /** Asks for one more pass after the current one (from inside a pass), not paced. */
  requeue(): void {
    this.again = true;
    this.urgent = true;
  }

  /** Resolves when no pass is running or waiting to run. */
  async settled(): Promise<void> {
    while (this.running) await this.idle;
  }

  /** No new passes; resolves when the current one is done. */
  async close(): Promise<void> {
    this.closed = true;
    this.endWait();
    await this.settled();
  }
}
