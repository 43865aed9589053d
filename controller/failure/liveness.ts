/**
 * What the failure detector judges, gathered from where heartbeats arrive.
 *
 * Heartbeats reach whichever member holds the host's stream, and never touch
 * the store (hosts/registry.ts). In a controller group the leader learns of the
 * others' through *liveness reports*: each member writes one small key,
 * `liveness/<member>`, every reportMs (TTL/3), listing the hosts whose streams
 * it holds with each one's heartbeat age at that moment. Store writes then grow
 * with the number of members, not hosts or the heartbeat rate: 1,000 hosts at
 * 1 Hz over 3 members are 3 writes every TTL/3, not 1,000 a second.
 *
 * The leader turns an age into a time on its own monotonic clock when the report
 * reaches it (received − age): no wall clocks are compared across machines, and a
 * report's transit only makes a heartbeat look older, never fresher. A host whose
 * member stops reporting (crashed, cut off) ages from its last report on, and goes
 * down once it is older than the TTL plus the grace of a silent member (SilentMemberGrace):
 * its agent is fine, but learns of the silence only by its own watchdog (one TTL), then
 * reconnects to another member, whose next report brings it back.
 *
 * A host whose stream a member no longer holds (its agent restarted, or moved to
 * another member) stays in that member's reports for a while, marked `left`, with its
 * age growing: the leader then knows when it was last heard of, and judges it one TTL
 * after that, as a single controller does. Dropped at once, it would have no heartbeat
 * at all on the leader until its new member reported it, and be declared down at
 * once ("no heartbeat for <time since the term began>") while its agent reconnects.
 */
import { z } from "zod";
import type { HostRegistry } from "../hosts/registry.js";
import type { LivenessInput } from "./detector.js";
import type { Usage__Output } from "../../shared/gen/berth/v1/Usage.js";

export const LIVENESS_PREFIX = "liveness/";
export const livenessKey = (member: string): string => `${LIVENESS_PREFIX}${member}`;

/** How often a member reports: three times a TTL, so a live host never looks older than TTL/3 + a heartbeat. */
export const reportEveryMs = (ttlMs: number): number => Math.max(100, Math.floor(ttlMs / 3));

const MAX_HOSTS_PER_REPORT = 100_000;

/** How long a report names when a host's stream began (see connectedAtMs). */
export const RECENT_STREAM_MS = 30_000;

/**
 * A host's usage in a report, for `berth hosts` and the console on the members that do
 * not hold its stream: the Usage message's fields in its order, as a tuple — a report
 * names every host a member holds, so a key per field would triple its size — with
 * loads and CPU to two decimals and bytes in whole MiB (what the tables show).
 */
const amount = z.number().min(0).max(Number.MAX_SAFE_INTEGER);
const UsageTupleSchema = z.tuple([amount, amount, amount, amount, amount, amount, amount, amount]);
export type UsageTuple = z.infer<typeof UsageTupleSchema>;

const MIB = 1024 * 1024;
const round2 = (n: number): number => Math.round(n * 100) / 100;
const clean = (n: number): number => (Number.isFinite(n) && n > 0 ? Math.min(n, Number.MAX_SAFE_INTEGER) : 0);
const mib = (n: number): number => Math.round(clean(n) / MIB);
export function usageTuple(u: Usage__Output): UsageTuple {
  return [round2(clean(u.load1)), round2(clean(u.load5)), round2(clean(u.load15)), round2(clean(u.cpu_percent)), mib(u.memory_used_bytes), mib(u.memory_total_bytes), mib(u.disk_used_bytes), mib(u.disk_total_bytes)];
}
export function usageOf(t: UsageTuple): Usage__Output {
  const [load1, load5, load15, cpu_percent, memUsed, memTotal, diskUsed, diskTotal] = t;
  return { load1, load5, load15, cpu_percent, memory_used_bytes: memUsed * MIB, memory_total_bytes: memTotal * MIB, disk_used_bytes: diskUsed * MIB, disk_total_bytes: diskTotal * MIB };
}
export const LivenessReportSchema = z.object({
  member: z.string().min(1).max(128),
  hosts: z
    .array(
      z.object({
        id: z.string().min(1).max(64),
        ageMs: z.number().min(0).max(Number.MAX_SAFE_INTEGER),
        fenced: z.boolean(),
        /** Its stream is no longer held here (absent: held). */
        left: z.literal(true).optional(),
        /** Its latest usage (absent: none yet), compact: see UsageTuple. */
        usage: UsageTupleSchema.optional(),
        /**
         * When its stream here began (wall ms), for streams begun within RECENT_STREAM_MS: a host
         * that reconnected to the same member shows as another stream (logs -f follows it again
         * there). Only recent ones, so a steady fleet's reports carry nothing more.
         */
        connectedAtMs: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
      }),
    )
    .max(MAX_HOSTS_PER_REPORT),
});
export type LivenessReport = z.infer<typeof LivenessReportSchema>;

/** A report as it reached the leader: when (its monotonic clock). */
export interface ReceivedReport {
  report: LivenessReport;
  receivedMono: number;
}

/** What one member's streams say of a host. */
export interface HostHeard {
  lastHeartbeatMono: number | undefined;
  fenced: boolean;
}

/**
 * A member's report of the streams it holds, at monotonic time `nowMono`, and of those
 * it held until less than keepLeftMs ago (`left`: see the top of this file). An age
 * leaves out the time this member stalled since the heartbeat (`stalledSince`,
 * shared/stalls.ts): a report written right after a stall, before the heartbeats waiting in its
 * sockets are read, must not make its hosts look silent for the stall.
 */
export function buildReport(member: string, registry: Pick<HostRegistry, "live">, nowMono: number, keepLeftMs = 0, stalledSince?: (mono: number) => number, nowWall?: number): LivenessReport {
  const hosts: LivenessReport["hosts"] = [];
  for (const [id, l] of registry.live) {
    if (l.lastHeartbeatMono === undefined) continue;
    const ageMs = Math.max(0, nowMono - l.lastHeartbeatMono - (stalledSince?.(l.lastHeartbeatMono) ?? 0));
    if (l.send) hosts.push({ id, ageMs, fenced: l.fencing.size > 0, ...(l.usage ? { usage: usageTuple(l.usage) } : {}), ...(l.connectedAtMs !== undefined && nowWall !== undefined && nowWall - l.connectedAtMs <= RECENT_STREAM_MS ? { connectedAtMs: Math.round(l.connectedAtMs) } : {}) });
    else if (ageMs <= keepLeftMs) hosts.push({ id, ageMs, fenced: l.fencing.size > 0, left: true });
  }
  return { member, hosts };
}

/**
 * Issue 11, a member cut off alone while the leader keeps etcd: its hosts' heartbeats
 * stop reaching the leader at once, but its agents notice only after their watchdog
 * (one TTL without a word), then reconnect elsewhere (backoff capped at TTL/2) and are
 * reported a report period later — nearly two TTLs. Judged after one, they would be
 * declared down and their instances replaced while they run. So while a member is
 * *silent* (no report for silentAfterMs), each host it was the newest source of, and
 * that was not overdue when the silence began, counts as heard extraMs later.
 *
 * Worked example, TTL 3 s, reports every 1 s, silentAfterMs 1.5 s, extraMs 4 s: a
 * report received at t=10 s says h1's age is 0.4 s (heard at 9.6 s). From t=11.5 s,
 * b silent, h1 counts as heard at 13.6 s: down at 16.6 s instead of 12.6 s, unless a
 * report from the member it moved to comes first (then that one is the newest source).
 * Once b reports again its word is taken as it is.
 */
export interface SilentMemberGrace {
  nowMono: number;
  /** A member whose newest report is older than this is silent (a report period and a half). */
  silentAfterMs: number;
  /** How much later its hosts count as heard (a TTL and a report period). */
  extraMs: number;
  /** The TTL: a host already older than it when the silence began gets nothing. */
  ttlMs: number;
}

/**
 * Every host's newest heartbeat across the leader's own streams and the other
 * members' reports. Pure. The newest source wins, fencing included: it is the
 * stream the host holds now (an older one is a stream it has left). With `silent`,
 * hosts of a member that stopped reporting get its grace (SilentMemberGrace).
 */
export function mergeLiveness(local: ReadonlyMap<string, HostHeard>, reports: readonly ReceivedReport[], silent?: SilentMemberGrace): Map<string, HostHeard> {
  // The newest source is chosen by when the host was really heard; the grace only moves that time on.
  const newest = new Map<string, { at: number; heard: HostHeard }>();
  for (const [id, x] of local) if (x.lastHeartbeatMono !== undefined) newest.set(id, { at: x.lastHeartbeatMono, heard: x });
  for (const r of reports) {
    const silentSince = r.receivedMono + (silent?.silentAfterMs ?? 0);
    const isSilent = silent !== undefined && silent.nowMono > silentSince;
    for (const h of r.report.hosts) {
      const at = r.receivedMono - h.ageMs;
      const cur = newest.get(h.id)?.at;
      if (cur !== undefined && at <= cur) continue;
      // Never later than now: a heartbeat age is never negative. A host that had left the
      // member before it fell silent is reconnecting elsewhere already: no grace.
      const counted = isSilent && !h.left && at + silent.ttlMs >= silentSince ? Math.min(silent.nowMono, at + silent.extraMs) : at;
      newest.set(h.id, { at, heard: { lastHeartbeatMono: counted, fenced: h.fenced } });
    }
  }
  const out = new Map(local);
  for (const [id, n] of newest) out.set(id, n.heard);
  return out;
}

/** What the detector and the guard look up: a host's newest heartbeat and fencing. */
export type Heard = Pick<ReadonlyMap<string, HostHeard>, "get">;

/**
 * What this member's own streams say, read from the registry as it is asked: a lone
 * controller hears every host itself, and its detector (every tick) and guard (every
 * pass) look hosts up one by one. localHeard's copy of every host, made three times a
 * detector pass, was its largest cost with 1,000 agents (README, "Joins and memory").
 */
export function liveHeard(registry: Pick<HostRegistry, "live">): Heard {
  return {
    get(id) {
      const l = registry.live.get(id);
      return l && { lastHeartbeatMono: l.lastHeartbeatMono, fenced: l.fencing.size > 0 };
    },
  };
}

/** What this member's own streams say, per host. */
export function localHeard(registry: Pick<HostRegistry, "live">): Map<string, HostHeard> {
  const out = new Map<string, HostHeard>();
  for (const [id, l] of registry.live) out.set(id, { lastHeartbeatMono: l.lastHeartbeatMono, fenced: l.fencing.size > 0 });
  return out;
}

/** The detector's input: every known host with its newest heartbeat and fencing. */
export function livenessInput(hosts: readonly { id: string; health: LivenessInput["health"] }[], heard: Heard): LivenessInput[] {
  return hosts.map((h) => {
    const x = heard.get(h.id);
    return { id: h.id, health: h.health, lastHeartbeatMs: x?.lastHeartbeatMono, fenced: x?.fenced ?? false };
  });
}

/**
 * Every known host with the heartbeat and fencing this member's own streams report:
 * what livenessInput(registry.all(), localHeard(registry)) gives, read straight from
 * the registry. A lone controller's detector reads it every pass; the copy of every
 * host's live view and the object per host that a Heard lookup makes were most of a
 * pass with 3,000 agents (README, "Heartbeats at scale").
 */
export function localLiveness(registry: Pick<HostRegistry, "all" | "live">): LivenessInput[] {
  const out: LivenessInput[] = [];
  for (const h of registry.all()) {
    const l = registry.live.get(h.id);
    out.push({ id: h.id, health: h.health, lastHeartbeatMs: l?.lastHeartbeatMono, fenced: l !== undefined && l.fencing.size > 0 });
  }
  return out;
}
