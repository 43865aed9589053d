/** planApply's pruneOnly: a GitOps source prunes only the services it created, never every service not in its files. */
import { describe, expect, it } from "vitest";
import { planApply } from "../../../controller/services/apply.js";
import type { ServiceRecord } from "../../../controller/services/records.js";
import { normalizeSpec } from "../../../shared/spec/schema.js";

const svc = (name: string): ServiceRecord => ({ name, spec: normalizeSpec({ name, run: { command: "x" } }), revision: 1, createdAtMs: 0, updatedAtMs: 0 });
const file = (name: string): { file: string; content: string; artifact_sha256: string } => ({ file: `${name}.yaml`, content: `name: ${name}\nrun:\n  command: x\n`, artifact_sha256: "" });

describe("planApply pruneOnly", () => {
  const plan = (pruneOnly?: ReadonlySet<string>) =>
    planApply({ files: [file("web")], prune: true, pruneOnly, services: [svc("web"), svc("mine"), svc("theirs")], instances: [], hosts: [], hasArtifact: () => false, requireArtifacts: false, nowMs: 0, actor: "t", role: "operator" });

  it("deletes only the named services that are not in the files", () => {
    expect(plan(new Set(["mine", "web"])).deletes).toEqual(["mine"]);
  });

  it("without it, prune deletes every service not in the files, as `berth apply --prune` does", () => {
    expect(plan().deletes).toEqual(["mine", "theirs"]);
  });
});
