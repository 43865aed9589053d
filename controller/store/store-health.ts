/**
 * A member's view of its store's health (issue 11): can it reach etcd with its
 * quorum, and if not, since when. Pure: fed the outcomes of calls (a probe's
 * linearizable read, which etcd answers only with a quorum), each with the
 * monotonic time the call *started*, and judged on an injected clock.
 *
 * One failed call is no outage (a killed etcd member, a leader election: the next
 * attempt goes elsewhere). The store is judged unreachable once nothing succeeded
 * for unavailableAfterMs and a call failed since; the outage is dated from the
 * start of the first call that failed, the best we know of when it began. The
 * first call that succeeds after that ends it — a call that started before the
 * failures proves nothing about after them, and is ignored.
 *
 * Only time the member was running counts: a member whose own process stalled (its
 * timers fired seconds late — a saturated machine, every agent of the fleet
 * reconnecting at once) could not have heard an answer in that time, and its calls'
 * deadlines ran out while the answers waited in its sockets. Measured before this
 * (bench:agents --controllers 3, 1,000 agents, every member restarted at once):
 * members judged etcd lost though it served, sent 610 agents away and lost the lead.
 * The shell reports such stalls (stalled()); they are taken off the silence judged.
 */

export type StoreHealthState =
  /** Reachable since sinceMs (wall): the creation or the end of the last outage. */
  | { ok: true; sinceMs: number }
  /** Unreachable since sinceMs (wall), with the last error. */
  | { ok: false; sinceMs: number; error: string };

export type StoreHealthChange =
  | { type: "lost"; sinceMs: number; error: string }
  | { type: "restored"; lostSinceMs: number; atMs: number; error: string };

export interface StoreHealthOptions {
  /** Judged unreachable once nothing succeeded for this long, with a failure since. */
  unavailableAfterMs: number;
  /** Wall clock: the times shown. */
  now: () => number;
  /** Monotonic clock: every interval. */
  mono: () => number;
}

/**
 * How often a member probes its store, the probe's own deadline and when an outage is
 * judged, from the group's TTL: an outage must be noticed, and the member's agents
 * moved to a member that has the store, within the TTL after which a host not heard
 * from is down; and a loaded machine's slow answer, or an etcd election, must not be
 * taken for an outage. Worked example, TTL 3 s: a probe every 500 ms, each with 1.5 s
 * to answer, judged after 1.5 s without success — a cut at t=0 is noticed by t≈2 s.
 */
export function probeTimings(ttlMs: number): { everyMs: number; timeoutMs: number; unavailableAfterMs: number } {
  const everyMs = clamp(Math.floor(ttlMs / 6), 200, 1_000);
  const unavailableAfterMs = clamp(Math.floor(ttlMs / 2), 1_000, 3_000);
  return { everyMs, timeoutMs: unavailableAfterMs, unavailableAfterMs };
}

function clamp(x: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, x));
}

export class StoreHealth {
  /** Start of the newest call that succeeded (mono). */
  private lastOkMono: number;
  /** Start of the first call that failed after lastOkMono (mono), if any. */
  private firstFailMono: number | undefined;
  private lastError = "";
  private down: { sinceMs: number; sinceMono: number } | undefined;
  private upSinceMs: number;
  /** How long this process stalled since lastOkMono: not counted as the store's silence. */
  private stalledMs = 0;

  constructor(private readonly o: StoreHealthOptions) {
    if (!(Number.isSafeInteger(o.unavailableAfterMs) && o.unavailableAfterMs > 0)) throw new RangeError(`unavailableAfterMs must be a positive integer, got ${o.unavailableAfterMs}`);
    this.lastOkMono = o.mono();
    this.upSinceMs = o.now();
  }

  /** A call that started at startedMono succeeded. Returns "restored" when that ends an outage. */
  succeeded(startedMono: number): StoreHealthChange | undefined {
    if (this.down && startedMono < this.down.sinceMono) return undefined;
    if (startedMono < this.lastOkMono) return undefined;
    this.lastOkMono = startedMono;
    this.stalledMs = 0;
    // A failure that started before this success is over.
    if (this.firstFailMono !== undefined && this.firstFailMono <= startedMono) this.firstFailMono = undefined;
    if (!this.down) return undefined;
    const lost = this.down;
    this.down = undefined;
    this.firstFailMono = undefined;
    this.upSinceMs = this.wallAt(startedMono);
    return { type: "restored", lostSinceMs: lost.sinceMs, atMs: this.upSinceMs, error: this.lastError };
  }

  /** A call that started at startedMono failed with error. Returns "lost" when that makes an outage. */
  failed(error: string, startedMono: number): StoreHealthChange | undefined {
    this.lastError = error;
    if (startedMono >= this.lastOkMono && (this.firstFailMono === undefined || startedMono < this.firstFailMono)) this.firstFailMono = startedMono;
    return this.tick();
  }

  /**
   * This process could not run for `ms` (its timer fired that late): that time does not
   * count as the store's silence. Returns nothing: a stall proves nothing either way.
   */
  stalled(ms: number): void {
    if (Number.isFinite(ms) && ms > 0 && !this.down) this.stalledMs += ms;
  }

  /** Judges now; returns "lost" when the store has just become unreachable. */
  tick(): StoreHealthChange | undefined {
    if (this.down || this.firstFailMono === undefined) return undefined;
    if (this.o.mono() - this.lastOkMono - this.stalledMs < this.o.unavailableAfterMs) return undefined;
    this.down = { sinceMono: this.firstFailMono, sinceMs: this.wallAt(this.firstFailMono) };
    return { type: "lost", sinceMs: this.down.sinceMs, error: this.lastError };
  }

  state(): StoreHealthState {
    return this.down ? { ok: false, sinceMs: this.down.sinceMs, error: this.lastError } : { ok: true, sinceMs: this.upSinceMs };
  }

  /** A monotonic instant as a wall time, measured back from now. */
  private wallAt(mono: number): number {
    return this.o.now() - (this.o.mono() - mono);
  }
}
