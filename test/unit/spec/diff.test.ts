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
      { path: "health.http.port", from: 8080, to: 9090 },
      { path: "update.drainTime", from: "5s", to: "0s" },
    ]);
  });

  it("compares arrays whole", () => {
    const next = web();
    next.install.apt = ["curl", "nginx-light"];
    next.constraints.dc = ["dc1", "dc2", "dc3"];
    next.install.steps[0]!.timeoutMs = 1;
    expect(diffSpecs(web(), next)).toEqual([
      { path: "install.apt", from: ["nginx-light"], to: ["curl", "nginx-light"] },
      { path: "install.steps", from: [{ run: "./setup.sh", timeout: "2m" }], to: [{ run: "./setup.sh", timeout: "1ms" }] },
      { path: "constraints.dc", from: ["dc1", "dc2"], to: ["dc1", "dc2", "dc3"] },
    ]);
  });

  it("lists a removed key, a changed check kind, and a block that appears", () => {
    const old = normalizeSpec({ name: "a", run: { command: "x", env: { A: "1" } }, health: { tcp: { port: 80 } } });
    const next = normalizeSpec({ name: "a", run: { command: "x" }, health: { exec: { command: ["true"] } }, artifact: "./a" });
    expect(diffSpecs(old, next)).toEqual([
      { path: "artifact.source", from: undefined, to: "./a" },
      { path: "artifact.sha256", from: undefined, to: "" },
      { path: "run.env.A", from: "1", to: undefined },
      { path: "health.exec.command", from: undefined, to: ["true"] },
      { path: "health.tcp.port", from: 80, to: undefined },
    ]);
  });

  it("speaks the spec's own field names and units, not the stored form's", () => {
    const next = web();
    next.update.minHealthyTimeMs = 2000;
    next.run.stopTimeoutMs = 90_500;
    next.failover.stopAfterDisconnectMs = 60_000;
    expect(diffSpecs(web(), next)).toEqual([
      { path: "run.stopTimeout", from: "20s", to: "1m30s500ms" },
      { path: "update.minHealthyTime", from: "5s", to: "2s" },
      { path: "failover.stopAfterDisconnect", from: "0s", to: "1m" },
    ]);
  });

  it("shows a stored artifact by its path and digest, so new contents at the same path are a change", () => {
    const a = normalizeSpec({ name: "a", run: { command: "x" }, artifact: "./dist" });
    const b = normalizeSpec({ name: "a", run: { command: "x" }, artifact: "./dist" });
    if (a.artifact?.kind === "stored" && b.artifact?.kind === "stored") {
      a.artifact.sha256 = "a".repeat(64);
      b.artifact.sha256 = "b".repeat(64);
    }
    expect(diffSpecs(a, b)).toEqual([{ path: "artifact.sha256", from: "a".repeat(64), to: "b".repeat(64) }]);
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
