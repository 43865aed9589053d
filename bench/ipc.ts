/**
 * Messages between the bench and its simulator worker processes (--sim-procs > 1).
 * Workers exist so that simulating 1,000 TLS clients need not fit on one core:
 * on a 2-core machine the simulator must not become the bottleneck it measures.
 */
import type { SetupReport, SimConfig, SimResult, SimStatus } from "./sim.js";

export type ToWorker =
  | { type: "setup"; cfg: SimConfig }
  | { type: "start" }
  | { type: "end"; graceMs: number }
  | { type: "status" }
  | { type: "reset-reconnects" }
  | { type: "close" };

export type FromWorker =
  | { type: "progress"; done: number; failed: number }
  | { type: "setup-done"; report: SetupReport }
  | { type: "result"; result: SimResult }
  | { type: "status"; status: SimStatus }
  | { type: "error"; message: string };

const TO_WORKER = new Set(["setup", "start", "end", "status", "reset-reconnects", "close"]);
const FROM_WORKER = new Set(["progress", "setup-done", "result", "status", "error"]);

// Both ends are this same build, so the type tag is all that needs checking.
function tagged(v: unknown, tags: Set<string>): boolean {
  const t = (v as { type?: unknown } | null)?.type;
  return typeof t === "string" && tags.has(t);
}

export function isToWorker(v: unknown): v is ToWorker {
  return tagged(v, TO_WORKER);
}

export function isFromWorker(v: unknown): v is FromWorker {
  return tagged(v, FROM_WORKER);
}
