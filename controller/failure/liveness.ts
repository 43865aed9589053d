/**
 * What the failure detector judges, gathered from where heartbeats arrive: the
 * streams this member holds (hosts/registry.ts keeps their heartbeat times in
 * memory).
 */
import type { HostRegistry } from "../hosts/registry.js";
import type { LivenessInput } from "./detector.js";

/** Every known host with the heartbeat and fencing this member's own streams report. */
export function localLiveness(registry: Pick<HostRegistry, "all" | "live">): LivenessInput[] {
  return registry.all().map((h) => {
    const live = registry.live.get(h.id);
    return { id: h.id, health: h.health, lastHeartbeatMs: live?.lastHeartbeatMono, fenced: (live?.fencing.size ?? 0) > 0 };
  });
}
