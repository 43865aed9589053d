import { describe, expect, it } from "vitest";
import { planApply } from "../../../controller/services/apply.js";
import type { ServiceRecord } from "../../../controller/services/records.js";

const ROOT = `name: web
run:
  command: ./web
  user: root
`;
const PLAIN = `name: web
run:
  command: ./web
`;

const plan = (content: string, role: string, services: ServiceRecord[] = []) =>
  planApply({ files: [{ file: "web.yaml", content, artifact_sha256: "" }], prune: false, services, instances: [], hosts: [], hasArtifact: () => false, requireArtifacts: false, nowMs: 0, actor: "t", role });

describe("apply authorization of run.user", () => {
  it("refuses run.user root from an operator, naming the line, admin and allowRoot", () => {
    const p = plan(ROOT, "operator");
    expect(p.puts).toEqual([]);
    expect(p.errors.join("\n")).toMatch(/^web\.yaml:4:\d+: run\.user: web: run\.user root needs an admin token \(this one is operator\).*allowRoot: true/);
  });

  it("takes run.user root from an admin, and any unprivileged spec from an operator", () => {
    expect(plan(ROOT, "admin").errors).toEqual([]);
    expect(plan(PLAIN, "operator").errors).toEqual([]);
  });

  it("refuses an operator's later revision of a root service, and lets it take root away", () => {
    const stored = plan(ROOT, "admin").puts;
    expect(stored).toHaveLength(1);
    expect(plan(ROOT.replace("./web", "./web2"), "operator", stored).errors.join("\n")).toMatch(/admin token/);
    // The same spec again changes nothing, so there is nothing to authorize.
    expect(plan(ROOT, "operator", stored).errors).toEqual([]);
    expect(plan(PLAIN, "operator", stored).errors).toEqual([]);
  });
});
