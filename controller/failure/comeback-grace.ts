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
 * still joining does not count. Each host counts up to MAX_RETURNS times a term: a
 * storm comes in waves — members blocked by the returning fleet's TLS handshakes stop
 * answering, agents whose watchdog then drops their stream (a TTL without a word)
 * reconnect a second time (1,651 returns of 1,000 agents in one run), and counted once,
 * those second returns held nothing open — while one agent that flaps holds judgement
 * off by MAX_RETURNS TTLs at most. The grace
 * ends `quietMs` (a TTL) after the last host came back, and never later than
 * `maxGraceMs` after the term started: a host that is really gone is judged once the
 * rest of the fleet has stopped returning. A host coming back later in those 30 TTLs
 * (a partition healed) holds judgement off by a TTL at most.
 *
 * And while half the ready hosts (the mass-failure guard's share: guard.ts) have not
 * been heard in the term at all, the grace holds whatever the returns did: measured with
 * 1,000 agents, the members and the agents' own processes stalled for seconds at a time
 * on a loaded machine (TLS handshakes), returns paused for more than a TTL, the grace
 * ended with 899 hosts not yet back, and the leader marked them down one by one (716 in
 * one run). Most of the fleet not back yet is the group not serving yet, not a fleet
 * lost; and were they lost, the guard would pause their replacement all the same. A
 * host really lost with the restart is then judged a TTL after the last return once
 * fewer than half are still to come back, or at the cap (30 TTLs) at the latest. Hosts
 * heard in the term that fall silent later are judged as ever (a TTL after the grace).
 *
 * And the grace runs from when the members serve, not only from when this one leads:
 * a member that starts serving during the term (registered anew: another start) gives
 * every host the base grace again from when it was seen — its agents may be waiting
 * for it, and the leader may have led seconds before it listened.
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
import { DEFAULT_GUARD_SHARE } from "./guard.js";

/** How many times one host's return counts in a term (see above). */
export const MAX_RETURNS = 3;

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
  /** At least this share of the ready hosts not yet heard in the term holds the grace (to the cap). @default DEFAULT_GUARD_SHARE */
  massShare?: number;
  /** Fewer ready hosts than this: no mass silence (losing 1 of 2 is a real loss, as for the guard). @default 3 */
  massMinHosts?: number;
}

/** The grace's bounds from a term's TTL: a TTL of quiet, at most 30 TTLs (2.5 min at TTL 5 s), never shorter than the base. */
export function comebackConfig(o: { termStartMono: number; graceMs: number; ttlMs: number; silentMs: number; massShare?: number }): ComebackConfig {
  return { termStartMono: o.termStartMono, graceMs: o.graceMs, silentMs: o.silentMs, quietMs: o.ttlMs, maxGraceMs: Math.max(o.graceMs, 30 * o.ttlMs), massShare: o.massShare ?? DEFAULT_GUARD_SHARE };
}

/**
 * What one term has seen of its hosts' returns. Mutable, but with no clock or I/O:
 * `note()` is given each pass's hosts and time, `graceUntil()` the answer.
 */
export class ComebackGrace {
  /** Per host: silent at the previous pass (or never heard). */
  private readonly silentAtLastPass = new Map<string, boolean>();
  /** Hosts that came back in this term, and how often (each counts up to MAX_RETURNS times). */
  private readonly back = new Map<string, number>();
  private lastBackMono: number | undefined;
  private primed = false;
  /** Hosts heard (not silent) at some pass of the term. */
  private readonly heard = new Set<string>();
  /** At the last pass: ready hosts, and of them those not heard in the term yet. */
  private ready = 0;
  private pendingReady = 0;
  /** Members as first seen registered in this term: id → startedAtMs (a new incarnation is a new start). */
  private readonly members = new Map<string, number>();
  private membersPrimed = false;
  private lastMemberMono: number | undefined;

  constructor(readonly cfg: ComebackConfig) {}

  /**
   * One detector pass: which hosts are heard now that were silent at the previous
   * pass. The first pass only records where every host stands: a host heard then was
   * not coming back, it never left (as far as this term knows).
   */
  note(hosts: readonly LivenessInput[], nowMono: number): void {
    this.ready = this.pendingReady = 0;
    for (const h of hosts) {
      // A host still joining never was ready: its first heartbeat is no return (a fleet joining would hold the grace open).
      if (h.health === "joining") continue;
      const silent = h.lastHeartbeatMs === undefined || nowMono - h.lastHeartbeatMs > this.cfg.silentMs;
      if (!silent) this.heard.add(h.id);
      // Hosts down already (before the term, or judged in it) are no sign of the group's state.
      if (h.health === "ready") {
        this.ready++;
        if (!this.heard.has(h.id)) this.pendingReady++;
      }
      const was = this.silentAtLastPass.get(h.id) ?? true;
      const returns = this.back.get(h.id) ?? 0;
      if (this.primed && was && !silent && returns < MAX_RETURNS) {
        this.back.set(h.id, returns + 1);
        this.lastBackMono = nowMono;
      }
      this.silentAtLastPass.set(h.id, silent);
    }
    this.primed = true;
  }

  /**
   * The group's registered members (member/group.ts), read at `nowMono`. The first read
   * only records who serves already; a member seen later, or with another start time
   * (restarted), started serving during the term.
   */
  noteMembers(members: readonly { id: string; startedAtMs: number }[], nowMono: number): void {
    for (const m of members) {
      const known = this.members.get(m.id);
      if (this.membersPrimed && known !== m.startedAtMs) this.lastMemberMono = nowMono;
      this.members.set(m.id, m.startedAtMs);
    }
    this.membersPrimed = true;
  }

  /** When the last host came back in this term, if one has (monotonic). */
  get lastComebackMono(): number | undefined {
    return this.lastBackMono;
  }

  /** What the grace has seen, relative to `nowMono`, for the leader's log (a storm's post-mortem). */
  describe(nowMono: number): { termAgeMs: number; cameBack: number; notBackYet: number; ready: number; lastBackAgoMs: number | null; lastMemberAgoMs: number | null; graceLeftMs: number } {
    return {
      termAgeMs: nowMono - this.cfg.termStartMono,
      cameBack: this.back.size,
      notBackYet: this.pendingReady,
      ready: this.ready,
      lastBackAgoMs: this.lastBackMono === undefined ? null : nowMono - this.lastBackMono,
      lastMemberAgoMs: this.lastMemberMono === undefined ? null : nowMono - this.lastMemberMono,
      graceLeftMs: this.graceUntil() - nowMono,
    };
  }

  /** Whether, at the last pass, so many ready hosts were still to be heard in the term that the grace holds (see the top of this file). */
  get mostNotBack(): boolean {
    const c = this.cfg;
    return this.ready >= (c.massMinHosts ?? 3) && this.pendingReady >= (c.massShare ?? DEFAULT_GUARD_SHARE) * this.ready;
  }

  /** Until when no host is judged down (monotonic): the base grace, held open while hosts come back or half are not back yet, capped. */
  graceUntil(): number {
    const c = this.cfg;
    const cap = c.termStartMono + Math.max(c.graceMs, c.maxGraceMs);
    if (this.mostNotBack) return cap;
    const base = Math.max(c.termStartMono, this.lastMemberMono ?? c.termStartMono) + c.graceMs;
    const held = this.lastBackMono === undefined ? base : Math.max(base, this.lastBackMono + c.quietMs);
    return Math.min(held, cap);
  }
}

/**
 * The base grace of a term that starts at `nowMono`, given the start's grace (`--grace`,
 * which `berth dev` sets to a minute: its agents start only once the controllers answer)
 * counted from when this process began listening: what is left of it, and never less
 * than a TTL. The start's grace is for the start: a member that begins leading minutes
 * later (the leader was lost) gives its hosts a TTL, as any new leader does — with a
 * minute, a host lost at a failover went unjudged for a minute. Pure.
 *
 * Worked example, TTL 5 s, --grace 60 s, listening at t=10 s: a term at t=12 s has 58 s;
 * one at t=300 s has 5 s.
 */
export function startGraceLeftMs(startGraceMs: number, ttlMs: number, listeningMono: number, nowMono: number): number {
  return Math.max(ttlMs, listeningMono + startGraceMs - nowMono);
}
