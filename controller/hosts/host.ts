/** What the controller stores about a host (key `hosts/<id>`). */
import type { HostFacts__Output } from "../../shared/gen/berth/v1/HostFacts.js";
import type { Labels } from "../../shared/labels.js";
import type { Health } from "../failure/detector.js";

export const HOST_PREFIX = "hosts/";
export const hostKey = (id: string): string => `${HOST_PREFIX}${id}`;

export interface HostRecord {
  id: string;
  labels: Labels;
  /** The address services on this host are reached at (health checks, endpoints). */
  advertiseAddr: string;
  facts: HostFacts__Output | null;
  health: Health;
  healthSinceMs: number;
  /** Kept apart from health: a cordoned host that goes down and comes back is still cordoned. */
  cordoned: boolean;
  /** `berth drain`: its instance moves to a spare (health-gated); then it stays cordoned. */
  draining?: boolean;
  joinedAtMs: number;
  /** Serial of the certificate issued at join; the stream must present it. */
  certSerial: string;
}

export type HostStatus = "joining" | "ready" | "down" | "cordoned" | "draining";

/** The one word `berth hosts` shows: down wins over cordoned, cordoned over ready. */
export function hostStatus(h: Pick<HostRecord, "health" | "cordoned" | "draining">): HostStatus {
  if (h.health === "down") return "down";
  if (h.health === "joining") return "joining";
  if (h.draining) return "draining";
  return h.cordoned ? "cordoned" : "ready";
}
