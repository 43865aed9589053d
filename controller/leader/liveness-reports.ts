/**
 * The leader's reading of the other members' liveness reports
 * (failure/liveness.ts): each report is stamped with this member's monotonic
 * clock as it arrives. A report that fails validation is ignored with a warning:
 * its hosts age as if unreported, and go down after the TTL unless heard elsewhere.
 */
import type { Logger } from "../../shared/log/logger.js";
import type { Store, Watcher } from "../store/store.js";
import { decodeRecord } from "../store/record.js";
import { LIVENESS_PREFIX, LivenessReportSchema, usageOf, type ReceivedReport } from "../failure/liveness.js";
import type { Usage__Output } from "../../shared/gen/berth/v1/Usage.js";

/** A host's stream as another member reports it. */
export interface Held {
  member: string;
  /** When that member last heard the host, on this member's monotonic clock. */
  heardMono: number;
  usage?: Usage__Output;
  /** When its stream on that member began (wall ms, that member's clock); absent from older members. */
  connectedAtMs?: number;
}

/** How long holders() answers from what it worked out last, while no report arrives. */
const HOLDERS_KEEP_MS = 250;

export class LivenessReports {
  private readonly byMember = new Map<string, ReceivedReport>();
  private cached: { atMono: number; freshMs: number; value: ReturnType<LivenessReports["holders"]> } | undefined;
  private watcher: Watcher | undefined;

  constructor(private readonly d: { store: Store; self: string; mono: () => number; log: Logger }) {}

  async follow(): Promise<void> {
    const at = await this.d.store.revision();
    // What is stored may be a TTL old: it is stamped as received now, which makes it
    // look fresher than it is by at most one report period — the grace of a new term covers that.
    for (const kv of await this.d.store.scan(LIVENESS_PREFIX)) this.take(kv.key, kv.value);
    this.watcher = await this.d.store.watch(LIVENESS_PREFIX, (ev) => {
      this.cached = undefined;
      if (ev.type === "put") this.take(ev.kv.key, ev.kv.value);
      else this.byMember.delete(ev.key);
    }, { fromRevision: at + 1 });
  }

  private take(key: string, value: string): void {
    const d = decodeRecord(LivenessReportSchema, value);
    if (!d.ok || `${LIVENESS_PREFIX}${d.rec.member}` !== key) {
      this.d.log.warn({ key, reason: d.ok ? "filed under another member" : d.reason }, "liveness report ignored");
      return;
    }
    if (d.rec.member === this.d.self) return;
    this.byMember.set(key, { report: d.rec, receivedMono: this.d.mono() });
  }

  /** The newest report of every other member. */
  received(): ReceivedReport[] {
    return [...this.byMember.values()];
  }

  /** What each report held says of one host (for the log of a verdict: leader/failure-pass.ts `sources`). */
  about(hostId: string): { member: string; receivedAgoMs: number; hosts: number; host: { ageMs: number; left: boolean } | null }[] {
    const now = this.d.mono();
    return this.received().map((r) => {
      const h = r.report.hosts.find((x) => x.id === hostId);
      return { member: r.report.member, receivedAgoMs: Math.round(now - r.receivedMono), hosts: r.report.hosts.length, host: h ? { ageMs: h.ageMs, left: h.left ?? false } : null };
    });
  }

  /**
   * Reports received within `freshMs` (a member killed leaves its last one stored):
   * which member holds each host's stream, when it last heard the host (on this
   * member's monotonic clock) and its latest usage, and how many streams each member
   * holds (each host for one member only) — for `berth hosts`, the console and `berth controllers`. The newest report
   * naming a host wins (a host that moved may be in both until the old member's next
   * report). A listing asks once per host: the answer is kept until a report arrives,
   * or HOLDERS_KEEP_MS.
   */
  holders(freshMs: number): { byHost: Map<string, Held>; counts: Map<string, number> } {
    const now = this.d.mono();
    const c = this.cached;
    if (c && c.freshMs === freshMs && now - c.atMono >= 0 && now - c.atMono < HOLDERS_KEEP_MS) return c.value;
    const byHost = new Map<string, Held & { at: number }>();
    const counts = new Map<string, number>();
    for (const r of this.byMember.values()) {
      if (now - r.receivedMono > freshMs) continue;
      // A host that left the member is listed only for its heartbeat's age (failure/liveness.ts).
      const held = r.report.hosts.filter((h) => !h.left);
      counts.set(r.report.member, 0);
      for (const h of held) {
        const prev = byHost.get(h.id);
        if (!prev || prev.at < r.receivedMono) byHost.set(h.id, { member: r.report.member, heardMono: r.receivedMono - h.ageMs, ...(h.usage ? { usage: usageOf(h.usage) } : {}), ...(h.connectedAtMs !== undefined ? { connectedAtMs: h.connectedAtMs } : {}), at: r.receivedMono });
      }
    }
    // Each host counted once, for the member whose report names it last: a host that moved
    // is in the old member's last report too until that member reports again, or ages out
    // (a killed member's AGENTS counted its hosts a second time for a report period).
    for (const h of byHost.values()) counts.set(h.member, (counts.get(h.member) ?? 0) + 1);
    const value = { byHost: new Map([...byHost].map(([id, { at: _at, ...held }]) => [id, held])), counts };
    this.cached = { atMono: now, freshMs, value };
    return value;
  }

  close(): void {
    this.watcher?.close();
    this.watcher = undefined;
  }
}
