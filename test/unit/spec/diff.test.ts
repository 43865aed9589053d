import { describe, expect, it } from "vitest";
import { diffSpecs } from "../../../shared/spec/diff.js";
import { normalizeSpec } from "../../../shared/spec/schema.js";
import { parseSpecFile } from "../../../shared/spec/parse.js";
import type { ServiceSpec } from "../../../shared/spec/types.js";
import { DESIGN_EXAMPLE } from "./fixtures.js";

const web = (): ServiceSpec => parseSpecFile(DESIGN_EXAMPLE, "web.yaml").spec!;

describe("diffSpecs", () => {
  it("finds nothing between equal specs", () => {
    expect(diffSpecs(web(), web())).toEqual([]);
  });

  it("names each changed leaf by its path", () => {
    const next = web();
    next.instances = 5;
    next.run.env.LOG_LEVEL = "debug";
    next.run.env.NEW = "1";
    next.health!.check = { kind: "http", port: 9090, path: "/healthz", status: 200 };
    next.update.drainTimeMs = 0;
    expect(diffSpecs(web(), next)).toEqual([
      { path: "run.env.LOG_LEVEL", from: "info", to: "debug" },
      { path: "run.env.NEW", from: undefined, to: "1" },
      { path: "instances", from: 3, to: 5 },
      { path: "health.check.port", from: 8080, to: 9090 },
      { path: "update.drainTimeMs", from: 5000, to: 0 },
    ]);
  });

  it("compares arrays whole", () => {
    const next = web();
    next.install.apt = ["curl", "nginx-light"];
    next.constraints.dc = ["dc1", "dc2", "dc3"];
    next.install.steps[0]!.timeoutMs = 1;
    expect(diffSpecs(web(), next)).toEqual([
      { path: "install.apt", from: ["nginx-light"], to: ["curl", "nginx-light"] },
      { path: "install.steps", from: [{ run: "./setup.sh", timeoutMs: 120_000 }], to: [{ run: "./setup.sh", timeoutMs: 1 }] },
      { path: "constraints.dc", from: ["dc1", "dc2"], to: ["dc1", "dc2", "dc3"] },
    ]);
  });

  it("lists a removed key, a changed check kind, and a block that appears", () => {
    const old = normalizeSpec({ name: "a", run: { command: "x", env: { A: "1" } }, health: { tcp: { port: 80 } } });
    const next = normalizeSpec({ name: "a", run: { command: "x" }, health: { exec: { command: ["true"] } }, artifact: "./a" });
    expect(diffSpecs(old, next)).toEqual([
      { path: "artifact.kind", from: undefined, to: "stored" },
      { path: "artifact.sha256", from: undefined, to: "" },
      { path: "artifact.source", from: undefined, to: "./a" },
      { path: "run.env.A", from: "1", to: undefined },
      { path: "health.check.kind", from: "tcp", to: "exec" },
      { path: "health.check.command", from: undefined, to: ["true"] },
      { path: "health.check.port", from: 80, to: undefined },
    ]);
  });

  it("quotes keys that do not read plainly after a dot", () => {
    const old = normalizeSpec({ name: "a", run: { command: "x" }, constraints: { "topology/zone": "z1" } });
    const next = normalizeSpec({ name: "a", run: { command: "x" }, constraints: { "topology/zone": "z2" } });
    expect(diffSpecs(old, next)).toEqual([{ path: 'constraints["topology/zone"]', from: ["z1"], to: ["z2"] }]);
  });

  it("lists every field of a new or deleted service", () => {
    const spec = web();
    const created = diffSpecs(undefined, spec);
    expect(created[0]).toEqual({ path: "name", from: undefined, to: "web" });
    expect(created).toContainEqual({ path: "install.apt", from: undefined, to: ["nginx-light"] });
    expect(created.every((c) => c.from === undefined)).toBe(true);
    const deleted = diffSpecs(spec, undefined);
    expect(deleted.map((c) => c.path)).toEqual(created.map((c) => c.path));
    expect(diffSpecs(undefined, undefined)).toEqual([]);
  });

  it("does not touch its inputs", () => {
    const a = web();
    const b = { ...web(), instances: 9 };
    const before = JSON.stringify([a, b]);
    diffSpecs(a, b);
    expect(JSON.stringify([a, b])).toBe(before);
  });
});
