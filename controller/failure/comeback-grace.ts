/**
 * A term's grace while the fleet is still coming back (issue 11: "after a leader
 * change nothing is judged in haste … no host is marked down that kept running").
 *
 * A term gives every host its grace (one TTL, or --grace) from when it starts
 * (detector.ts graceUntilMs). That is enough after a leader change, when the other
 * members keep serving. It is not after every member restarts at once: the new
 * leader may lead seconds before the other members listen, then every agent of the
 * fleet reconnects at once to members that are still loading and saturated by TLS
 * handshakes, so the fleet comes back over tens of seconds. Measured before this
 * (bench:agents --controllers 3, 100–1,000 agents): most hosts were declared down at
 * the end of the leader's TTL of grace, and back seconds later.
 *
 * So the grace also lasts while hosts keep *coming back*: a host that was silent
 * (heard from longer ago than `silentMs`, or not at all) and is heard again; a host
 * still joining does not count. Each host
 * counts once a term, so one agent that flaps cannot hold judgement off. The grace
 * ends `quietMs` (a TTL) after the last host came back, and never later than
 * `maxGraceMs` after the term started: a host that is really gone is judged once the
 * rest of the fleet has stopped returning. Once it has ended it stays ended: a host
 * that comes back later in the term (a partition healed) holds nothing off.
 *
 * Worked example, TTL 5 s, silentMs 3.7 s (two heartbeats and a report period):
 * a term starts at t=100 s; its base grace ends at 105 s. Hosts come back at 103 s,
 * 106 s and 109 s (each one silent before): the grace ends at 114 s — no host goes
 * down before it. If nothing comes back after 109 s, a host still silent is down at
 * 114 s (its TTL long over), instead of at 105 s.
 *
 * Pure: fed the detector's input and the monotonic time of each pass; no clock here.
 */
import type { LivenessInput } from "./detector.js";

export interface ComebackConfig {
  /** When the term started (monotonic). */
  termStartMono: number;
  /** The term's base grace: no host is judged before termStartMono + graceMs. */
  graceMs: number;
  /** A host heard from longer ago than this at a pass was silent; heard again later, it came back. */
  silentMs: number;
  /** How long after the last host came back the grace lasts (a TTL). */
  quietMs: number;
  /** The grace never lasts longer than this from the term's start. */
  maxGraceMs: number;
}

/** The grace's bounds from a term's TTL: a TTL of quiet, at most 30 TTLs (2.5 min at TTL 5 s), never shorter than the base. */
export function comebackConfig(o: { termStartMono: number; graceMs: number; ttlMs: number; silentMs: number }): ComebackConfig {
  return { termStartMono: o.termStartMono, graceMs: o.graceMs, silentMs: o.silentMs, quietMs: o.ttlMs, maxGraceMs: Math.max(o.graceMs, 30 * o.ttlMs) };
}

/**
 * What one term has seen of its hosts' returns. Mutable, but with no clock or I/O:
 * `note()` is given each pass's hosts and time, `graceUntil()` the answer.
 */
export class ComebackGrace {
  /** Per host: silent at the previous pass (or never heard). */
  private readonly silentAtLastPass = new Map<string, boolean>();
  /** Hosts that came back in this term (each counts once). */
  private readonly back = new Set<string>();
  private lastBackMono: number | undefined;
  private primed = false;
  /** The grace has run out once: returns after that hold nothing open again. */
  private over = false;

  constructor(readonly cfg: ComebackConfig) {}

  /**
   * One detector pass: which hosts are heard now that were silent at the previous
   * pass. The first pass only records where every host stands: a host heard then was
   * not coming back, it never left (as far as this term knows).
   */
  note(hosts: readonly LivenessInput[], nowMono: number): void {
    if (this.over) return;
    // Once judging has begun it stays begun: a host coming back later (a partition healed) delays no one.
    if (this.primed && nowMono >= this.graceUntil()) {
      this.over = true;
      this.silentAtLastPass.clear();
      return;
    }
    for (const h of hosts) {
      // A host still joining never was ready: its first heartbeat is no return (a fleet joining would hold the grace open).
      if (h.health === "joining") continue;
      const silent = h.lastHeartbeatMs === undefined || nowMono - h.lastHeartbeatMs > this.cfg.silentMs;
      const was = this.silentAtLastPass.get(h.id) ?? true;
      if (this.primed && was && !silent && !this.back.has(h.id)) {
        this.back.add(h.id);
        this.lastBackMono = nowMono;
      }
      this.silentAtLastPass.set(h.id, silent);
    }
    this.primed = true;
  }

  /** When the last host came back in this term, if one has (monotonic). */
  get lastComebackMono(): number | undefined {
    return this.lastBackMono;
  }

  /** Until when no host is judged down (monotonic): the base grace, held open while hosts come back, capped. */
  graceUntil(): number {
    const c = this.cfg;
    const base = c.termStartMono + c.graceMs;
    const held = this.lastBackMono === undefined ? base : Math.max(base, this.lastBackMono + c.quietMs);
    return Math.min(held, c.termStartMono + Math.max(c.graceMs, c.maxGraceMs));
  }
}
