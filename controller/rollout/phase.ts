/**
 * The phase of one copy of a slot, as rollouts and the endpoints API see it. Both
 * must agree on when a copy is in service, so the shell derives every SlotView
 * phase here (and the rollout tests' simulator does too).
 */
import { observedCopy, type InstanceRecord, type InstanceState, type ObservedInstance } from "../services/records.js";
import type { HostRecord } from "../hosts/host.js";
import { assertNever } from "../scheduler/assert-never.js";
import type { SlotPhase } from "./next-step.js";

export interface CopyFacts {
  /** What the copy's agent reports (ObservedInstance.state); "lost" while its host is down. */
  state: InstanceState | "lost";
  /** When it turned healthy (ObservedInstance.sinceMs of its "healthy" report); null when not healthy. */
  healthySinceMs: number | null;
  /** When the controller took it out of the endpoints (a drain or a retire); null when it has not. */
  drainingSinceMs: number | null;
}

/**
 * "in-service" (in the endpoints) = healthy for at least minHealthyTime and not
 * draining; "warming" = healthy for less. A copy that left the endpoints stays
 * "draining" until it stops, whatever its health.
 */
export function copyPhase(c: CopyFacts, minHealthyTimeMs: number, nowMs: number): SlotPhase {
  if (c.state === "lost") return "lost";
  // A drained copy that stopped or failed already has no connections left to finish.
  if (c.drainingSinceMs !== null && c.state !== "stopped" && c.state !== "failed") return "draining";
  switch (c.state) {
    case "pending":
      return "pending";
    case "fetching":
    case "installing":
    case "starting":
      return "starting";
    case "healthy":
      return c.healthySinceMs !== null && nowMs - c.healthySinceMs >= minHealthyTimeMs ? "in-service" : "warming";
    case "unhealthy":
      return "unhealthy";
    case "stopping":
    case "stopped":
      return "stopped";
    case "failed":
      return "failed";
    default:
      return assertNever(c.state);
  }
}

/** A copy's facts for copyPhase: what its host reports for exactly this instance and epoch. */
export function copyFacts(hostId: string, inst: InstanceRecord, epoch: number, hosts: ReadonlyMap<string, Pick<HostRecord, "health">>, observed: ReadonlyMap<string, ObservedInstance>): Omit<CopyFacts, "drainingSinceMs"> {
  if (!hostId) return { state: "pending", healthySinceMs: null };
  const h = hosts.get(hostId);
  // A host that is not ready is out of the endpoints, whatever it last reported.
  if (!h || h.health !== "ready") return { state: "lost", healthySinceMs: null };
  const o = observedCopy(observed, hostId, inst, epoch);
  if (!o) return { state: "pending", healthySinceMs: null };
  return { state: o.state, healthySinceMs: o.state === "healthy" ? o.sinceMs : null };
}
