/**
 * A window of bytes in flight, for exec's flow control: the sender takes bytes
 * as it sends and the receiver's acknowledgements give them back. The sender
 * pauses its source while the window is full and resumes once half of it is
 * free again (hysteresis, so a pty is not paused and resumed per chunk).
 *
 * Worked example, size 128 KiB: chunks of 64 KiB are sent; after the second the
 * window holds 128 KiB → full: pause. An ack of 64 KiB leaves 64 KiB in flight,
 * which is half → resume.
 */
export class ByteWindow {
  private inFlight = 0;
  private paused = false;

  constructor(readonly size: number) {}

  /** Bytes sent and not yet acknowledged. */
  get pending(): number {
    return this.inFlight;
  }

  get isPaused(): boolean {
    return this.paused;
  }

  /** n bytes sent; true when the source must pause now (it was running and the window is full). */
  take(n: number): boolean {
    this.inFlight += n;
    if (!this.paused && this.inFlight >= this.size) {
      this.paused = true;
      return true;
    }
    return false;
  }

  /**
   * n bytes acknowledged; true when the source may resume now. An ack for more
   * than is in flight (a confused or hostile peer) counts as everything.
   */
  ack(n: number): boolean {
    this.inFlight = Math.max(0, this.inFlight - Math.max(0, n));
    if (this.paused && this.inFlight <= this.size / 2) {
      this.paused = false;
      return true;
    }
    return false;
  }
}

/**
 * The receiving side of a window: counts what was consumed and says when an
 * ack is worth a message — once a quarter of the window is consumed, so a
 * stream of small chunks does not become a stream of small acks.
 */
export class AckBatcher {
  private owed = 0;

  constructor(readonly windowSize: number) {}

  /** n bytes consumed; returns how many to acknowledge now (0: not yet). */
  consumed(n: number): number {
    this.owed += n;
    if (this.owed < this.windowSize / 4) return 0;
    return this.flush();
  }

  /** Whatever is owed, e.g. when nothing more is queued. */
  flush(): number {
    const n = this.owed;
    this.owed = 0;
    return n;
  }
}
