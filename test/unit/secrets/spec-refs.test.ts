import { describe, expect, it } from "vitest";
import { parseSpecFile } from "../../../shared/spec/parse.js";
import { diffSpecs } from "../../../shared/spec/diff.js";
import { normalizeSpec, validateSpec } from "../../../shared/spec/schema.js";
import { parseWireSpec } from "../../../shared/spec/wire.js";
import { planApply } from "../../../controller/services/apply.js";
import { withSecretVersion } from "../../../controller/secrets/secret-store.js";
import { summarize } from "../../../controller/audit/audit-log.js";

const YAML = `name: web
run:
  command: ./web
  env: { LOG_LEVEL: info }
secrets:
  DB_PASSWORD: db-password
secretFiles:
  /run/secrets/web/tls.key: tls-key
`;

const plan = (content: string, versions: Record<string, number>) =>
  planApply({ files: [{ file: "web.yaml", content, artifact_sha256: "" }], prune: false, services: [], instances: [], hosts: [], hasArtifact: () => false, requireArtifacts: false, nowMs: 0, actor: "t", role: "admin", secretVersion: (n) => versions[n], secretNames: () => Object.keys(versions) });

describe("secrets in a spec", () => {
  it("are names at version 0 until the controller takes them", () => {
    const { spec, errors } = parseSpecFile(YAML, "web.yaml");
    expect(errors).toEqual([]);
    expect(spec?.secrets).toEqual({ DB_PASSWORD: { secret: "db-password", version: 0 } });
    expect(spec?.secretFiles).toEqual({ "/run/secrets/web/tls.key": { secret: "tls-key", version: 0 } });
  });

  it("refuses bad names, paths outside /run/secrets, a variable also in run.env, and BERTH_ names", () => {
    const issues = (o: Record<string, unknown>) => validateSpec({ name: "w", run: { command: "x", env: { A: "1" } }, ...o }).issues.map((i) => `${i.path.join(".")}: ${i.message}`);
    expect(issues({ secrets: { DB: "Bad Name" } }).join("\n")).toMatch(/secrets\.DB: must be a secret name/);
    expect(issues({ secretFiles: { "/etc/passwd": "x" } }).join("\n")).toMatch(/must be a file path under \/run\/secrets\//);
    expect(issues({ secretFiles: { "/run/secrets/../etc/shadow": "x" } }).join("\n")).toMatch(/no \. or \.\. parts/);
    expect(issues({ secrets: { A: "x" } }).join("\n")).toMatch(/secrets\.A: A is also set in run\.env: keep one/);
    expect(issues({ secrets: { BERTH_X: "x" } }).join("\n")).toMatch(/reserved/);
  });

  it("takes the stored version at apply, and names an unknown secret with file:line", () => {
    const ok = plan(YAML, { "db-password": 4, "tls-key": 1 });
    expect(ok.errors).toEqual([]);
    expect(ok.puts[0]?.spec.secrets.DB_PASSWORD).toEqual({ secret: "db-password", version: 4 });
    const bad = plan(YAML, { "tls-key": 1 });
    expect(bad.errors).toEqual(['web.yaml:6:16: secrets.DB_PASSWORD: no secret "db-password" on the controller: `berth secret set db-password` first']);
    expect(bad.puts).toEqual([]);
    // A misspelt name points at the stored one it most likely meant.
    const typo = plan(YAML, { "db-pasword": 3, "tls-key": 1 });
    expect(typo.errors).toEqual(['web.yaml:6:16: secrets.DB_PASSWORD: no secret "db-password" on the controller: did you mean "db-pasword"? (else `berth secret set db-password` first)']);
  });

  it("shows a new value as a change of version, never a value", () => {
    const v1 = plan(YAML, { "db-password": 1, "tls-key": 1 }).puts[0]!.spec;
    const v2 = withSecretVersion(v1, "db-password", 2);
    expect(diffSpecs(v1, v2)).toEqual([{ path: "secrets.DB_PASSWORD", from: "db-password (version 1)", to: "db-password (version 2)" }]);
  });

  it("travel to the agent as names and versions, and old wire specs without them still parse", () => {
    const spec = plan(YAML, { "db-password": 2, "tls-key": 1 }).puts[0]!.spec;
    expect(parseWireSpec(JSON.stringify(spec)).secrets).toEqual(spec.secrets);
    const { secrets: _a, secretFiles: _b, ...old } = normalizeSpec({ name: "w", run: { command: "x" } });
    expect(parseWireSpec(JSON.stringify(old)).secretFiles).toEqual({});
  });

  it("a SetSecret request reaches the audit log with the value left out", () => {
    const value = Buffer.from("hunter2-in-the-audit-log?");
    const s = summarize({ name: "db", value });
    expect(s).not.toContain("hunter2");
    expect(s).toBe('{"name":"db","value":"<bytes>"}');
  });
});
