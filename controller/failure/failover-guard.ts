/**
 * The mass-failure guard's shell: its verdict computed from the live view (so no
 * reconcile pass can act between hosts going down and the guard noticing), and
 * its sticky state (paused, and when an operator resumed, after which earlier
 * losses no longer count) kept in the store by GuardStore.
 *
 * Every member answers `verdict()` (status, metrics); only the leader calls
 * `sync()` (after each failure-detector pass); any member may `resume()` for an
 * operator.
 */
import type { Store } from "../store/store.js";
import type { Logger } from "../../shared/log/logger.js";
import type { HostRecord } from "../hosts/host.js";
import { judgeGuard, type GuardConfig, type GuardVerdict } from "./guard.js";
import type { GuardState, GuardStore } from "./guard-state.js";

export interface FailoverGuardDeps {
  store: GuardStore;
  /** Every known host record. */
  hosts: () => readonly HostRecord[];
  /**
   * Every host's last heartbeat (monotonic time), as far as this member knows; a host
   * missing or undefined: none. Asked once per verdict: in a group it is a merge of
   * every member's reports.
   */
  heard: () => Pick<ReadonlyMap<string, { lastHeartbeatMono: number | undefined }>, "get">;
  now: () => number;
  mono: () => number;
  heartbeatIntervalMs: number;
  /**
   * How much older than it is a heartbeat may look here: a heartbeat another
   * member received reaches the leader only with that member's next liveness
   * report. 0 for streams this member holds. @default 0
   */
  reportLagMs?: number;
  cfg: GuardConfig;
  log: Logger;
}

export class FailoverGuard {
  /** When the failure detector judges hosts again (monotonic): the leader's term grace. */
  private judgingFromMono = Number.NEGATIVE_INFINITY;

  constructor(private readonly d: FailoverGuardDeps) {}

  /**
   * The leader's detector, at each pass: no host is judged before `mono` (the term's grace,
   * failure/comeback-grace.ts). Hosts merely silent are not counted as going down until then —
   * less the silence that counts — so a fleet reconnecting after a leader change or an etcd
   * outage (its hosts silent for seconds while their members found the store again) is not
   * "3 of 3 ready hosts went down", while a fleet still silent as the grace ends pauses
   * failover before the detector declares the first host down, as it always did.
   */
  judgingFrom(mono: number): void {
    this.judgingFromMono = mono;
  }

  get state(): GuardState {
    return this.d.store.current;
  }

  verdict(): GuardVerdict {
    const { d } = this;
    const t = d.now();
    const nowMono = d.mono();
    // Hosts killed together cross their TTL up to a heartbeat apart: count the
    // ones already silent for two heartbeats as going down now.
    const silentMs = 2 * d.heartbeatIntervalMs + (d.reportLagMs ?? 0);
    const countSilent = nowMono >= this.judgingFromMono - silentMs;
    const heard = d.heard();
    const g = d.store.current;
    // One loop, one clock read: the leader asks after every detector pass and every
    // reconcile pass, over every host (README, "Heartbeats at scale").
    let hosts = 0;
    const downSinceMs: number[] = [];
    for (const h of d.hosts()) {
      if (h.cordoned || h.health === "joining") continue;
      hosts++;
      let since: number | undefined;
      if (h.health === "down") since = h.healthSinceMs;
      else if (countSilent) {
        const last = heard.get(h.id)?.lastHeartbeatMono;
        if (last !== undefined && nowMono - last > silentMs) since = t;
      }
      if (since !== undefined && since > g.resumedAtMs) downSinceMs.push(since);
    }
    return judgeGuard({ downSinceMs, hosts, paused: g.paused, nowMs: t }, d.cfg);
  }

  private async save(next: GuardState, ev: { type: string; message: string; actor?: string }, via?: Store): Promise<void> {
    await this.d.store.save(next, ev, via);
    this.d.log.warn({ paused: next.paused, reason: next.reason }, ev.message);
  }

  /** The leader, after a detector pass: stores a pause or a resume the verdict calls for. */
  async sync(via?: Store): Promise<void> {
    const v = this.verdict();
    const g = this.d.store.current;
    const now = this.d.now();
    if (v.paused && !g.paused) await this.save({ ...g, paused: true, reason: v.reason, sinceMs: now }, { type: "failover.paused", message: `failover paused: ${v.reason}` }, via);
    else if (!v.paused && g.paused) await this.save({ ...g, paused: false, reason: "", sinceMs: now }, { type: "failover.resumed", message: "failover resumed: hosts are back" }, via);
  }

  /** An operator resumes failover: losses before now no longer count. */
  async resume(actor: string): Promise<void> {
    const now = this.d.now();
    await this.save({ paused: false, reason: "", sinceMs: now, resumedAtMs: now }, { type: "failover.resumed", message: "failover resumed by an operator", actor });
  }
}
