/**
 * When this process did not run: a heartbeat that reached its socket while the event
 * loop was blocked is read only after the block, and a timer due during it fires first
 * (Node runs timers before I/O). So a detector pass, or a liveness report, right after a
 * stall of 6 s sees every host 6 s older than it is — measured in a reconnect storm
 * (bench:agents --controllers 3, 1,000 agents, README): members blocked by TLS handshakes
 * lost their leases, and a fleet that had kept running looked silent. A host's silence
 * counts only the time this process was running since it was last heard (as the store's
 * does: store/store-health.ts), up to a cap: a host really lost is still judged, at
 * most one cap later.
 *
 * Worked example, TTL 5 s, cap 5 s: h last heard at t=10 s; the process blocked from
 * 11 s to 17 s (a stall of 6 s, recorded when it ran again at 17 s). At t=17.01 s h is
 * 7.01 s silent, 1.01 s of it while running: not down. If h is really gone it is down
 * once its running silence passes 5 s, at t=21 s; with more stalls, at t=20 s at the
 * latest (silence 10 s = TTL + the cap).
 *
 * Pure: the shell records each stall (how late a ticker ran) with its end on the
 * monotonic clock.
 */

/** A stall: the process did not run for `ms` before `endMono`. */
interface Stall {
  endMono: number;
  ms: number;
}

/** How late a ticker due every `everyMs` must be to count as a stall (a heartbeat's half: shorter lags are load, not a block). */
export const MIN_STALL_MS = 500;

/**
 * How long a ticker round that came `sinceLastMs` after the previous one, due every
 * `everyMs`, shows this process stalled: all its lateness when that reaches `minMs`,
 * else 0 (timer jitter, a busy loop still reading its sockets).
 */
export function tickStallMs(sinceLastMs: number, everyMs: number, minMs = MIN_STALL_MS): number {
  const late = sinceLastMs - everyMs;
  return late >= minMs ? late : 0;
}

export class StallLedger {
  private readonly stalls: Stall[] = [];

  /** @param keepMs how long a stall is remembered (two TTLs: a silence longer than that is judged anyway). */
  constructor(private readonly keepMs: number) {}

  /** The process did not run for `ms` up to `endMono`. */
  record(endMono: number, ms: number): void {
    if (!(ms > 0) || !Number.isFinite(ms)) return;
    this.stalls.push({ endMono, ms });
    while (this.stalls.length > 0 && this.stalls[0]!.endMono < endMono - this.keepMs) this.stalls.shift();
  }

  /**
   * How long the process stalled after `sinceMono` (a stall that began before it counts
   * only from it), at most `capMs`.
   */
  since(sinceMono: number, capMs: number): number {
    let sum = 0;
    for (let i = this.stalls.length - 1; i >= 0; i--) {
      const s = this.stalls[i]!;
      if (s.endMono <= sinceMono) break;
      sum += Math.min(s.ms, s.endMono - sinceMono);
      if (sum >= capMs) return capMs;
    }
    return sum;
  }
}

/**
 * An agent's watchdog ("no word from the controller for a TTL": agent/session/session.ts),
 * counting only the time its own process ran. A watchdog tick that comes after the agent
 * stood still (a host starved of CPU, a VM paused; in the bench, a simulator process of 500
 * agents stalled for seconds) runs before the acks waiting in its socket are read: it
 * would drop a stream the controller kept. Measured with 1,000 simulated agents (README):
 * 587 to 1,886 streams dropped that way in a storm, each a second reconnect. The lateness of
 * each tick from MIN_STALL_MS on is taken off the quiet, up to `capMs` (a TTL): a controller
 * really gone is still left within two TTLs. Pure: times come in as arguments.
 *
 * Worked example, tick every 500 ms, TTL 5 s: heard at t=10 s; ticks at 10.5 … 12 s; the
 * process stalls until 17 s (a tick 4.5 s late): quiet 7 s − 4.5 s stalled = 2.5 s, kept; if
 * nothing comes, dropped once 5 s have passed while running, at t=19.5 s.
 */
export class QuietClock {
  private lastHeardMono: number;
  private lastTickMono: number;
  private stalledMs = 0;

  constructor(
    nowMono: number,
    private readonly tickMs: number,
    private readonly capMs: number,
  ) {
    this.lastHeardMono = this.lastTickMono = nowMono;
  }

  /** Word from the controller. */
  heard(nowMono: number): void {
    this.lastHeardMono = nowMono;
    this.stalledMs = 0;
  }

  /** A watchdog tick: how long the controller has been quiet while this process ran. */
  tick(nowMono: number): number {
    this.stalledMs = Math.min(this.capMs, this.stalledMs + tickStallMs(nowMono - this.lastTickMono, this.tickMs));
    this.lastTickMono = nowMono;
    return Math.max(0, nowMono - this.lastHeardMono - this.stalledMs);
  }
}
