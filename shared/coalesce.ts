/**
 * Runs an async pass one at a time, level-triggered: a kick while a pass runs
 * causes exactly one more pass after it, however many kicks came (Kubernetes'
 * workqueue for a single key). The reconcile loop, the failure detector and the
 * agent's converger all work this way: each pass re-derives from current state,
 * so coalesced kicks lose nothing.
 */
export class Coalescer {
  private running = false;
  private again = false;
  private idle: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly pass: () => Promise<void>,
    private readonly onError: (err: unknown) => void,
  ) {}

  kick(): void {
    if (this.closed) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    this.idle = (async () => {
      try {
        do {
          this.again = false;
          try {
            await this.pass();
          } catch (err) {
            this.onError(err);
          }
        } while (this.again && !this.closed);
      } finally {
        this.running = false;
      }
    })();
  }

  /** Asks for one more pass after the current one (from inside a pass). */
  requeue(): void {
    this.again = true;
  }

  /** Resolves when no pass is running. */
  async settled(): Promise<void> {
    while (this.running) await this.idle;
  }

  /** No new passes; resolves when the current one is done. */
  async close(): Promise<void> {
    this.closed = true;
    await this.settled();
  }
}
