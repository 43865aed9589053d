/**
 * Why the reconcile loop left an instance where it is — waiting for a host (unplaced),
 * waiting out a reschedule's backoff, or held on its host (failover disabled or paused,
 * a lost copy not yet fenced, asked to leave with no host to take it: stuck) — and why a
 * service's unit fails. `berth status`, `rollout status` and `apply --wait` read it.
 *
 * Only the leader's loop runs passes; a member that does not lead reads what the leader
 * shared (member/wait-share.ts). The kind is given apart from the wording, so the CLI ends
 * a wait on a fact (`waiting: "unplaced"`), never on the reason's first words.
 */
import type { InstanceRecord } from "../services/records.js";
import type { UnitError } from "./unit-errors.js";

export const WAIT_KINDS = ["unplaced", "backoff", "held"] as const;
export type WaitKind = (typeof WAIT_KINDS)[number];

export interface InstanceWait {
  readonly kind: WaitKind;
  /** As status says it, e.g. "no spare host: 2 are occupied, 1 is cordoned". */
  readonly reason: string;
  /** Asked to leave its host (drain, cordon, no longer fits) and no host can take it (kind "held"). */
  readonly stuck: boolean;
}

/** What views read: the loop of the member that leads, or what that leader shared. */
export interface Waits {
  /** `rec`: the instance's record as stored (a backoff is derived from its failures); `nowMs`: the view's clock. */
  wait(rec: Pick<InstanceRecord, "service" | "slot" | "hostId" | "failures">, nowMs: number): InstanceWait | undefined;
  /** Why the service's unit fails to reconcile, if it does (reconcile/unit-errors.ts). */
  error(service: string): UnitError | undefined;
}

/** "web-3" → "web": instance ids are `${service}-${slot}` (services/records.ts instanceId). */
export function serviceOfInstance(id: string): string | undefined {
  const m = /^(.+)-\d+$/.exec(id);
  return m?.[1];
}
