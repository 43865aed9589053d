/**
 * Issue 14, environments, on a real topology: one fleet folder, a staging and a prod
 * overlay. The very build that ran in staging reaches prod by digest, with prod's
 * instance count; a controller that serves prod refuses what was rendered for staging.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { cp, mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Cluster, type StatusJson } from "./harness/cluster.js";
import { SVC, svcSpec } from "./harness/specs.js";
import { tearDownWith } from "./harness/teardown.js";

interface SpecJson {
  instances: number;
  artifact: { sha256: string };
}
const specOf = (s: StatusJson & { spec?: unknown }): SpecJson => s.spec as SpecJson;
const healthy = (s: StatusJson): number => s.instances.filter((i) => i.state === "healthy").length;

describe("environments: one build from staging to prod", () => {
  let c: Cluster;
  let fleet = "";

  beforeAll(async () => {
    c = await Cluster.start({ hosts: 3, ttl: "3s", heartbeat: "500ms" });
    fleet = join(c.dir, "fleet");
    await mkdir(join(fleet, "services"), { recursive: true });
    await mkdir(join(fleet, "envs"));
    await writeFile(join(fleet, "services", "web.yaml"), svcSpec("web", { instances: 1, health: { unhealthyThreshold: 2 } }));
    await writeFile(join(fleet, "envs", "staging.yaml"), "# staging: the service's defaults\nservices: {}\n");
    await writeFile(join(fleet, "envs", "prod.yaml"), "services:\n  web:\n    instances: 2\n");
  });
  tearDownWith(() => c);

  it("an overlay changes instances in prod only; the artifact digest is the same; plan says where the build runs", async () => {
    const staging = await c.cli(["render", "-f", fleet, "--env", "staging"]);
    const prod = await c.cli(["render", "-f", fleet, "--env", "prod"]);
    expect(staging.code, staging.stderr).toBe(0);
    expect(staging.stdout).toMatch(/^instances: 1$/m);
    expect(prod.stdout).toMatch(/^instances: 2$/m);
    // Everything else is the same text.
    expect(prod.stdout.replace("instances: 2", "instances: 1").replace("environment prod", "environment staging")).toBe(staging.stdout);

    const a = await c.apply(fleet, ["--env", "staging", "--wait", "--timeout", "90s"]);
    expect(a.code, a.stderr).toBe(0);
    const inStaging = await c.status("web");
    expect(healthy(inStaging)).toBe(1);
    const digest = specOf(inStaging).artifact.sha256;
    expect(digest).toMatch(/^[0-9a-f]{64}$/);
    const services = await c.cli(["services"]);
    expect(services.stdout).toMatch(/^web\s+1\/1\s+1\s+sha256:\S+\s+staging$/m);

    const plan = await c.cli(["plan", "-f", fleet, "--env", "prod"]);
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.stdout).toContain("~ web (update)");
    expect(plan.stdout).toContain("instances: 1 → 2");
    expect(plan.stdout).toContain('environment: "staging" → "prod"');
    expect(plan.stdout).toMatch(new RegExp(`artifact unchanged \\(sha256:${digest.slice(0, 12)}…, running in staging since \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ\\)`));
    // Scaling is no restart: no rollout, the running copy stays.
    expect(plan.stdout).not.toMatch(/rolls out/);

    const p = await c.apply(fleet, ["--env", "prod", "--wait", "--timeout", "90s"]);
    expect(p.code, p.stderr).toBe(0);
    const inProd = await c.status("web");
    expect(healthy(inProd)).toBe(2);
    expect(specOf(inProd).artifact.sha256).toBe(digest);
    expect(inProd.revision).toBe(inStaging.revision);
    // The first copy never restarted: same epoch, same revision.
    const first = inStaging.instances[0]!;
    expect(inProd.instances.find((i) => i.instance === first.instance)).toMatchObject({ host: first.host, epoch: first.epoch, revision: first.revision });
  });

  it("a controller serving prod refuses specs rendered for staging, changing nothing; hosts and services show its environment", async () => {
    await c.killControllerProcess();
    await c.startController({ args: ["--environment", "prod"] });
    const before = await c.status("web");

    for (const verb of ["plan", "apply"]) {
      const r = await c.cli([verb, "-f", fleet, "--env", "staging"]);
      expect(r.code, verb).not.toBe(0);
      expect(r.stderr).toContain('this controller serves environment "prod"; these specs were rendered for "staging": nothing was changed');
    }
    // A new build rendered for staging: refused before its upload, which would only waste the controller's disk.
    const build = join(c.dir, "build-2");
    await cp(SVC, build, { recursive: true });
    await writeFile(join(build, "BUILD"), "2\n");
    const other = join(c.dir, "fleet-2");
    await cp(fleet, other, { recursive: true });
    await writeFile(join(other, "services", "web.yaml"), svcSpec("web", { instances: 1, health: { unhealthyThreshold: 2 } }).replace(`artifact: ${SVC}`, `artifact: ${build}`));
    const refused = await c.cli(["apply", "-f", other, "--env", "staging"]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('this controller serves environment "prod"; these specs were rendered for "staging": nothing was changed');
    expect(refused.stderr).not.toContain("uploaded");
    const after = await c.status("web");
    expect(specOf(after).instances).toBe(2);
    expect(after.revision).toBe(before.revision);

    const ok = await c.cli(["plan", "-f", fleet, "--env", "prod"]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain("no changes");
    expect((await c.cli(["hosts"])).stdout).toMatch(/^environment: prod$/m);
    expect((await c.cli(["services"])).stdout).toMatch(/^environment: prod /m);
  });
});
