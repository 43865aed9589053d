/**
 * Whether an etcd watch stream is still alive, judged by asking (issue 11). A watch
 * stream on an etcd member that is cut off (its link down) stalls without an error:
 * no event and no close reach us until gRPC's keep-alive gives up on the connection
 * (10 s + 3 s here; etcd refuses pings more often than every 5 s). A leader whose
 * watch of the liveness reports sits on that member hears from no member for that
 * long and judges their hosts down while their agents run. So a stream quiet for
 * everyMs is sent a progress request (etcd 3.4's WatchProgressRequest, answered at
 * once by any member, with or without a raft leader); one that then says nothing for
 * stallMs is stalled, and the shell opens a new stream on the next endpoint, resuming
 * from the last revision delivered. Pure: times come in on the monotonic clock.
 *
 * Worked example, everyMs 1 s, stallMs 1.5 s: the last answer at t=10 s; at 11 s a
 * progress request goes out; nothing by 12.5 s: stalled — a cut 2.5 s after the last
 * word at worst, rather than 13 s.
 */
export type StallVerdict = "wait" | "probe" | "stalled";

export class WatchStallJudge {
  private lastHeard: number;
  private probeSentAt: number | undefined;

  constructor(
    now: number,
    readonly everyMs: number,
    readonly stallMs: number,
  ) {
    this.lastHeard = now;
  }

  /** Anything arrived on the stream (events, a progress answer, a creation). */
  heard(now: number): void {
    this.lastHeard = Math.max(this.lastHeard, now);
    this.probeSentAt = undefined;
  }

  /** What the shell does at `now`: nothing, send a progress request (then call probed), or drop the stream. */
  verdict(now: number): StallVerdict {
    if (this.probeSentAt !== undefined) return now - this.probeSentAt > this.stallMs ? "stalled" : "wait";
    return now - this.lastHeard >= this.everyMs ? "probe" : "wait";
  }

  probed(now: number): void {
    this.probeSentAt = now;
  }
}
