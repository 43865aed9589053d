/**
 * A change whose constraints no host meets: the copies stay where they run (nothing is
 * stopped for a spec that fits nowhere), and plan/apply say so among the instances not
 * where the spec wants them, instead of only `berth status` knowing.
 */
import { describe, expect, it } from "vitest";
import { planApply } from "../../../controller/services/apply.js";
import type { HostView } from "../../../controller/reconcile/planner.js";
import type { InstanceRecord, ServiceRecord } from "../../../controller/services/records.js";
import { normalizeSpec } from "../../../shared/spec/schema.js";

const host = (id: string): HostView => ({
  rec: { id, labels: { dc: "dc1" }, advertiseAddr: "10.0.0.1", facts: null, health: "ready", healthSinceMs: 0, cordoned: false, joinedAtMs: 0, certSerial: "" },
  capacity: { cpu: 4, memoryMb: 8192, diskMb: 100_000 },
  artifacts: [],
});
const web: ServiceRecord = { name: "web", spec: normalizeSpec({ name: "web", run: { command: "x" }, instances: 2 }), revision: 1, createdAtMs: 0, updatedAtMs: 0 };
const inst = (slot: number, hostId: string): InstanceRecord => ({ service: "web", slot, hostId, epoch: 1, revision: 1, pinnedHost: "", moveTo: null });

describe("a change no host can take", () => {
  it("lists the copies that stay where the spec no longer fits them, and why", () => {
    const p = planApply({
      files: [{ file: "web.yaml", content: "name: web\ninstances: 2\nrun:\n  command: x\nconstraints: { dc: nowhere }\n", artifact_sha256: "" }],
      prune: false,
      services: [web],
      instances: [inst(0, "a"), inst(1, "b")],
      hosts: [host("a"), host("b")],
      hasArtifact: () => false,
      requireArtifacts: false,
      nowMs: 1_000,
      actor: "t",
      role: "operator",
    });
    expect(p.errors).toEqual([]);
    const ch = p.changes.find((c) => c.service === "web")!;
    expect(ch.stop).toBe(0);
    // One line per reason, and each copy's names its host.
    expect([...(ch.unplaced ?? [])].sort()).toEqual([
      expect.stringMatching(/^web-0: stays on a, which no longer fits it, until another host can take it: no spare host: .*dc=nowhere/),
      expect.stringMatching(/^web-1: stays on b, which no longer fits it, until another host can take it: no spare host: .*dc=nowhere/),
    ]);
  });
});
