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
 * member stops reporting (crashed, cut off) ages from its last report on and goes
 * down after the TTL, as one whose stream breaks does.
 */
import { z } from "zod";
import type { HostRegistry } from "../hosts/registry.js";
import type { LivenessInput } from "./detector.js";

export const LIVENESS_PREFIX = "liveness/";
export const livenessKey = (member: string): string => `${LIVENESS_PREFIX}${member}`;

/** How often a member reports: three times a TTL, so a live host never looks older than TTL/3 + a heartbeat. */
export const reportEveryMs = (ttlMs: number): number => Math.max(100, Math.floor(ttlMs / 3));

const MAX_HOSTS_PER_REPORT = 100_000;
export const LivenessReportSchema = z.object({
  member: z.string().min(1).max(128),
  hosts: z
    .array(z.object({ id: z.string().min(1).max(64), ageMs: z.number().min(0).max(Number.MAX_SAFE_INTEGER), fenced: z.boolean() }))
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

/** A member's report of the streams it holds, at monotonic time `nowMono`. */
export function buildReport(member: string, registry: Pick<HostRegistry, "live">, nowMono: number): LivenessReport {
  const hosts: LivenessReport["hosts"] = [];
  for (const [id, l] of registry.live) {
    if (!l.send || l.lastHeartbeatMono === undefined) continue;
    hosts.push({ id, ageMs: Math.max(0, nowMono - l.lastHeartbeatMono), fenced: l.fencing.size > 0 });
  }
  return { member, hosts };
}

/**
 * Every host's newest heartbeat across the leader's own streams and the other
 * members' reports. Pure. The newest source wins, fencing included: it is the
 * stream the host holds now (an older one is a stream it has left).
 */
export function mergeLiveness(local: ReadonlyMap<string, HostHeard>, reports: readonly ReceivedReport[]): Map<string, HostHeard> {
  const out = new Map(local);
  for (const r of reports) {
    for (const h of r.report.hosts) {
      const at = r.receivedMono - h.ageMs;
      const cur = out.get(h.id)?.lastHeartbeatMono;
      if (cur === undefined || at > cur) out.set(h.id, { lastHeartbeatMono: at, fenced: h.fenced });
    }
  }
  return out;
}

/** What this member's own streams say, per host. */
export function localHeard(registry: Pick<HostRegistry, "live">): Map<string, HostHeard> {
  const out = new Map<string, HostHeard>();
  for (const [id, l] of registry.live) out.set(id, { lastHeartbeatMono: l.lastHeartbeatMono, fenced: l.fencing.size > 0 });
  return out;
}

/** The detector's input: every known host with its newest heartbeat and fencing. */
export function livenessInput(hosts: readonly { id: string; health: LivenessInput["health"] }[], heard: ReadonlyMap<string, HostHeard>): LivenessInput[] {
  return hosts.map((h) => {
    const x = heard.get(h.id);
    return { id: h.id, health: h.health, lastHeartbeatMs: x?.lastHeartbeatMono, fenced: x?.fenced ?? false };
  });
}

/** Every known host with the heartbeat and fencing this member's own streams report. */
export function localLiveness(registry: Pick<HostRegistry, "all" | "live">): LivenessInput[] {
  return livenessInput(registry.all(), localHeard(registry));
}
