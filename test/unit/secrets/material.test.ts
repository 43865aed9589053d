import { afterEach, describe, expect, it } from "vitest";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { onTmpfs, SecretMaterial, SecretMaterialError, secretValuesFor } from "../../../agent/secrets/material.js";
import { redactChanges, redactSpec } from "../../../controller/secrets/redact.js";
import { normalizeSpec } from "../../../shared/spec/schema.js";
import { planApply } from "../../../controller/services/apply.js";

const spec = {
  secrets: { DB_PASSWORD: { secret: "db", version: 2 } },
  secretFiles: {} as Record<string, { secret: string; version: number }>,
};

describe("secret values on the agent", () => {
  let dir = "";
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("refuses an assignment missing a value the spec names, or a NUL in an env value, naming the secret only", () => {
    expect(() => secretValuesFor(spec, [])).toThrow(new SecretMaterialError("secrets.DB_PASSWORD: the controller sent no value for secret db (is it stored? berth secret list)"));
    expect(() => secretValuesFor(spec, [{ name: "db", version: 2, value: Buffer.from("a\0b") }])).toThrow(/NUL byte/);
    expect(secretValuesFor(spec, [{ name: "db", version: 2, value: Buffer.from("pw") }]).get("db")?.toString()).toBe("pw");
  });

  it("writes the environment 0600 under its root and removes it with the instance", async () => {
    dir = await mkdtemp(join(tmpdir(), "berth-material-"));
    const m = new SecretMaterial(dir);
    const file = await m.write("web-0", spec, new Map([["db", Buffer.from("pw")]]), undefined);
    expect(file).toBe(join(dir, "web-0", "env.json"));
    expect(JSON.parse(await readFile(file, "utf8"))).toEqual({ DB_PASSWORD: "pw" });
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    await m.remove("web-0", spec);
    expect(existsSync(join(dir, "web-0"))).toBe(false);
  });

  it("tells a tmpfs by the longest mount point above a folder", () => {
    const mounts = "/dev/sda1 / ext4 rw 0 0\ntmpfs /run tmpfs rw 0 0\n/dev/sdb1 /run/big ext4 rw 0 0\n";
    expect(onTmpfs("/run", mounts)).toBe(true);
    expect(onTmpfs("/run/berth/x", mounts)).toBe(true);
    expect(onTmpfs("/run/big/x", mounts)).toBe(false);
    expect(onTmpfs("/runner", mounts)).toBe(false);
  });
});

describe("what a viewer reads", () => {
  it("env names without values; plan changes of run.env by name only", () => {
    const s = normalizeSpec({ name: "w", run: { command: "x", env: { TOKEN: "abc" } } });
    expect(redactSpec(s).run.env).toEqual({ TOKEN: "(hidden)" });
    const changes = redactChanges([{ service: "w", action: "update", fields: [{ path: "run.env.TOKEN", from_json: '"abc"', to_json: '"def"' }, { path: "instances", from_json: "1", to_json: "2" }] }]);
    expect(changes[0]?.fields).toEqual([{ path: "run.env.TOKEN", from_json: '"(hidden)"', to_json: '"(hidden)"' }, { path: "instances", from_json: "1", to_json: "2" }]);
  });

  it("a viewer's plan does not tell a right guess of a run.env value from a wrong one; a variable added shows by name", () => {
    const stored = { name: "w", spec: normalizeSpec({ name: "w", run: { command: "x", env: { TOKEN: "abc" } } }), revision: 1, createdAtMs: 0, updatedAtMs: 0 };
    const plan = (token: string, role: string, extra = "") =>
      planApply({ files: [{ file: "w.yaml", content: `name: w\nrun:\n  command: x\n  env: { TOKEN: ${token}${extra} }\n`, artifact_sha256: "" }], prune: false, services: [stored], instances: [], hosts: [], hasArtifact: () => false, requireArtifacts: false, nowMs: 0, actor: "t", role }).changes;
    expect(plan("abc", "viewer")).toEqual(plan("wrong-guess", "viewer"));
    expect(plan("wrong-guess", "viewer")[0]).toMatchObject({ action: "unchanged", fields: [] });
    expect(plan("abc", "viewer", ", NEW: 1")[0]!.fields!.map((f) => f.path)).toEqual(["run.env.NEW"]);
    // Who applies sees the change.
    expect(plan("wrong-guess", "operator")[0]).toMatchObject({ action: "update", fields: [{ path: "run.env.TOKEN" }] });
  });
});
