/**
 * The shell around store/store-health.ts: a member of a group on etcd probes its
 * store (a linearizable read, which needs etcd's quorum) several times a TTL and
 * says when it loses it and when it has it back. What the member does about it
 * (moves its agents, writes the events) is the caller's onChange.
 */
import type { Logger } from "../../shared/log/logger.js";
import type { ControllerMessage } from "../../shared/gen/berth/v1/ControllerMessage.js";
import { setIntervalClamped } from "../../shared/timer.js";
import { probeTimings, StoreHealth, type StoreHealthChange, type StoreHealthState } from "../store/store-health.js";

export interface StoreMonitorDeps {
  /** One call that succeeds only if the store can serve (EtcdStore.probe). */
  probe: (timeoutMs: number) => Promise<void>;
  /** The group's TTL, which the probe's cadence follows (probeTimings). */
  ttlMs: number;
  now: () => number;
  mono: () => number;
  log: Logger;
  onChange: (c: StoreHealthChange) => void;
}

export class StoreMonitor {
  private readonly health: StoreHealth;
  private readonly timing: ReturnType<typeof probeTimings>;
  private timer: NodeJS.Timeout | undefined;
  private probing: Promise<void> | undefined;
  private closed = false;
  /** When the last round ran (mono): a round late by more than this process's usual jitter was a stall. */
  private lastRoundMono: number | undefined;

  constructor(private readonly d: StoreMonitorDeps) {
    this.timing = probeTimings(d.ttlMs);
    this.health = new StoreHealth({ unavailableAfterMs: this.timing.unavailableAfterMs, now: d.now, mono: d.mono });
  }

  start(): void {
    if (this.timer || this.closed) return;
    this.timer = setIntervalClamped(() => this.round(), this.timing.everyMs);
    this.round();
  }

  state(): StoreHealthState {
    return this.health.state();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    this.timer = undefined;
    await this.probing;
  }

  private round(): void {
    // Time this process could not run (the round fired late) is not the store's silence (store-health.ts).
    const now = this.d.mono();
    if (this.lastRoundMono !== undefined) this.health.stalled(stallMs(now - this.lastRoundMono, this.timing.everyMs));
    this.lastRoundMono = now;
    // A probe still waiting (etcd cut off) is not doubled; the clock is judged all the same.
    this.report(this.health.tick());
    if (this.probing || this.closed) return;
    const started = this.d.mono();
    this.probing = this.d
      .probe(this.timing.timeoutMs)
      .then(
        () => this.report(this.health.succeeded(started)),
        (err: unknown) => this.report(this.health.failed(err instanceof Error ? err.message : String(err), started)),
      )
      .finally(() => (this.probing = undefined));
  }

  private report(c: StoreHealthChange | undefined): void {
    if (!c || this.closed) return;
    try {
      this.d.onChange(c);
    } catch (err) {
      this.d.log.error({ err }, "handling a change of the store's health failed");
    }
  }
}

/**
 * How long a round that came `sinceLastMs` after the previous one, due every `everyMs`,
 * shows this process stalled: what is late beyond a tenth of the period (timer jitter,
 * short tasks) — 0 for a round on time. Pure.
 */
export function stallMs(sinceLastMs: number, everyMs: number): number {
  const late = sinceLastMs - everyMs;
  return late > everyMs / 10 ? late : 0;
}

/** Where a member sends its agents when it loses the store: every stream it holds gets MoveOn, then is closed. */
export function moveAgentsAway(live: Iterable<[string, { send?: (m: ControllerMessage) => void; disconnect?: (why: string) => void }]>, reason: string): string[] {
  const moved: string[] = [];
  for (const [id, l] of live) {
    if (!l.send) continue;
    l.send({ move_on: { reason, preferred: "", store_unavailable: true } });
    l.disconnect?.(reason);
    moved.push(id);
  }
  return moved;
}

/**
 * The events of one outage of a member's store, written once it is back — nothing
 * can be written to a store that cannot be reached, and the first says so. Pure.
 */
export function outageEvents(member: string, c: Extract<StoreHealthChange, { type: "restored" }>, wasLeading: boolean): { type: string; message: string }[] {
  const at = (ms: number): string => new Date(ms).toISOString();
  const lastedS = (Math.max(0, c.atMs - c.lostSinceMs) / 1000).toFixed(1);
  return [
    {
      type: "store.unreachable",
      message:
        `controller ${member} could not reach the store from ${at(c.lostSinceMs)} (${c.error}): ` +
        (wasLeading ? "it was leading, and stopped deciding within its lease; " : "") +
        "it decided nothing and sent its agents to other members, whose services kept running. " +
        "Written when the store answered again, as nothing can be written to it while it is unreachable.",
    },
    { type: "store.reachable", message: `controller ${member} reaches the store again since ${at(c.atMs)}, after ${lastedS} s without it` },
  ];
}

/**
 * A term's grace (leader/leader.ts) when it starts soon after this member's store came
 * back: agents sent away during the outage find a member again only after their backoff
 * (capped at TTL/2, and MoveOn counts as a failed try), the member's own probe noticing
 * the store's return, and a liveness report — so they get two TTLs from the return,
 * not one from the term's start, before a host not heard from is down. Pure.
 *
 * Worked example, TTL 3 s: the store back at t=100 s, a term starting at t=102 s gets
 * max(3, 100 + 6 − 102) = 4 s of grace.
 */
export function graceAfterOutageMs(baseMs: number, ttlMs: number, lastRestoredMono: number | undefined, nowMono: number): number {
  if (lastRestoredMono === undefined) return baseMs;
  return Math.max(baseMs, lastRestoredMono + 2 * ttlMs - nowMono);
}
