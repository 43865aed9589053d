import { describe, expect, it } from "vitest";
import { planApply } from "../../../controller/services/apply.js";
import { checkEnvironment } from "../../../controller/services/environment.js";
import type { ServiceRecord } from "../../../controller/services/records.js";

const SHA = "a".repeat(64);
const spec = (instances: number): string => `name: web\nartifact: ./build\nrun: { command: ./web }\ninstances: ${instances}\n`;

/** One apply of web with `instances` and `sha`, for `environment`, over `services`, at `nowMs`. */
const plan = (o: { instances: number; sha?: string; environment: string; services?: ServiceRecord[]; nowMs: number }) =>
  planApply({
    files: [{ file: "web.yaml", content: spec(o.instances), artifact_sha256: o.sha ?? SHA }],
    prune: false,
    role: "operator",
    services: o.services ?? [],
    instances: [],
    hosts: [],
    hasArtifact: () => true,
    requireArtifacts: true,
    nowMs: o.nowMs,
    actor: "t",
    environment: o.environment,
  });

describe("environments on the controller", () => {
  it("a controller serving prod refuses specs rendered for staging, takes prod's and plain specs", () => {
    expect(checkEnvironment("prod", "staging").refused).toMatch(/^this controller serves environment "prod"; these specs were rendered for "staging": nothing was changed/);
    expect(checkEnvironment("prod", "prod")).toEqual({ environment: "prod" });
    expect(checkEnvironment("prod", "")).toEqual({ environment: "prod" });
    expect(checkEnvironment("", "staging")).toEqual({ environment: "staging" });
    expect(checkEnvironment("", "")).toEqual({ environment: "" });
    expect(checkEnvironment("", "Bad Env").invalid).toMatch(/must be lowercase letters/);
  });

  it("stores the environment with the service, and knows the build ran in staging since its first apply there", () => {
    const staging = plan({ instances: 1, environment: "staging", nowMs: 1000 });
    expect(staging.errors).toEqual([]);
    expect(staging.puts[0]).toMatchObject({ environment: "staging", artifactSinceMs: 1000 });

    // Staging again, scaled: the same build keeps its time there.
    const again = plan({ instances: 2, environment: "staging", services: staging.puts, nowMs: 5000 });
    expect(again.puts[0]).toMatchObject({ environment: "staging", artifactSinceMs: 1000 });

    // Prod, the same build with 3 instances: no rollout, and the plan says where the build runs.
    const prod = plan({ instances: 3, environment: "prod", services: again.puts, nowMs: 9000 });
    expect(prod.rollouts).toEqual([]);
    expect(prod.changes[0]).toMatchObject({
      action: "update",
      artifact_sha256: SHA,
      artifact_environment: "staging",
      artifact_since_ms: 1000,
    });
    expect((prod.changes[0]!.fields ?? []).map((f) => [f.path, f.from_json, f.to_json])).toEqual([
      ["instances", "2", "3"],
      ["environment", '"staging"', '"prod"'],
    ]);
    expect(prod.puts[0]).toMatchObject({ environment: "prod", artifactSinceMs: 9000, revision: 1 });

    // A new build is no promotion: nothing to say about where it ran.
    const next = plan({ instances: 3, sha: "b".repeat(64), environment: "prod", services: prod.puts, nowMs: 12_000 });
    expect(next.changes[0]!.artifact_sha256 ?? "").toBe("");
    expect(next.puts[0]).toMatchObject({ environment: "prod", artifactSinceMs: 12_000, revision: 2 });
  });
});
