/**
 * The failure detector's decision, pure: which hosts change health now.
 * The shell feeds it the heartbeat times it holds in memory and a clock, all on
 * the monotonic clock (shared/clock.ts): a TTL is an interval, and an NTP step
 * of the wall clock must not declare a live host down (or keep a dead one up).
 *
 * - A ready host whose last heartbeat is older than the TTL goes down.
 * - No host goes down before `graceUntilMs` (the term's start + one TTL): a restarted
 *   controller, or a new leader, gives every known host one TTL to reconnect before
 *   it declares anything (DESIGN.md) — also one last heard before the term began.
 * - A down (or joining) host whose heartbeat is fresh comes (back) to ready.
 * - A joining host that never sends a heartbeat stays joining; it never was ready.
 * - Time this process was stalled after a host's last heartbeat does not count as the
 *   host's silence (shared/stalls.ts): its heartbeats may sit unread in its socket.
 */
export type Health = "joining" | "ready" | "down";

export interface LivenessInput {
  id: string;
  health: Health;
  /** Monotonic clock of the last heartbeat (or hello) received; undefined: none since start. */
  lastHeartbeatMs: number | undefined;
  /** Still runs a copy this controller has superseded: not ready until it has stopped it. */
  fenced?: boolean;
}

export interface Transition {
  id: string;
  to: "ready" | "down";
  /** How long since the last heartbeat, or since the grace period began. */
  silentForMs: number;
  /** Down with no heartbeat known at all on this member (none since its term began): silentForMs counts from the term's start. */
  neverHeard?: boolean;
}

export interface DetectorConfig {
  ttlMs: number;
  graceUntilMs: number;
  /** When the controller started (monotonic): silence is measured from here for hosts never heard from. */
  startedAtMs: number;
  /**
   * How long this process stalled after a given time, capped (shared/stalls.ts StallLedger.since):
   * taken off a host's silence. Absent: no stall is known.
   */
  stalledSince?: (mono: number) => number;
}

export function judgeLiveness(hosts: readonly LivenessInput[], nowMs: number, cfg: DetectorConfig): Transition[] {
  const out: Transition[] = [];
  for (const h of hosts) {
    const last = h.lastHeartbeatMs;
    if (last === undefined) {
      if (h.health === "ready" && nowMs >= cfg.graceUntilMs) out.push({ id: h.id, to: "down", silentForMs: nowMs - cfg.startedAtMs, neverHeard: true });
      continue;
    }
    const silent = nowMs - last;
    // Within the grace nothing goes down, even a host last heard before the term began:
    // after a leader change its agent may be reconnecting to another member.
    if (h.health === "ready" && silent - (cfg.stalledSince?.(last) ?? 0) > cfg.ttlMs && nowMs >= cfg.graceUntilMs) out.push({ id: h.id, to: "down", silentForMs: silent });
    else if (h.health !== "ready" && silent <= cfg.ttlMs && !h.fenced) out.push({ id: h.id, to: "ready", silentForMs: silent });
  }
  return out;
}

/**
 * When judgeLiveness will next declare a ready host down if nothing more is heard from
 * it — just past its last heartbeat + TTL, not before the grace ends — on the same
 * clock; null when no host is ready. The shell wakes then, so a host is declared down
 * the moment its TTL runs out, not on the ticker's next beat (issue 12).
 */
export function nextDownAt(hosts: readonly LivenessInput[], cfg: DetectorConfig): number | null {
  let next = Number.POSITIVE_INFINITY;
  for (const h of hosts) {
    if (h.health !== "ready") continue;
    // judgeLiveness asks for silence longer than the TTL: 1 ms past it.
    // Stalls still to come are not known: a wake-up that finds one does its sum again.
    const at = h.lastHeartbeatMs === undefined ? cfg.graceUntilMs : Math.max(cfg.graceUntilMs, h.lastHeartbeatMs + cfg.ttlMs + (cfg.stalledSince?.(h.lastHeartbeatMs) ?? 0) + 1);
    next = Math.min(next, at);
  }
  return Number.isFinite(next) ? next : null;
}
