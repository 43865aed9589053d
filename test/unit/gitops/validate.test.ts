/** `berth gitops add` input at the boundary (controller/gitops/validate.ts): every problem named, credentials never in a URL. */
import { describe, expect, it } from "vitest";
import { checkSource, type SourceInput } from "../../../controller/gitops/validate.js";

const input = (o: Partial<SourceInput> = {}): SourceInput => ({ name: "prod", repo: "https://git.example.org/ops/fleet.git", branch: "main", path: "fleet/", env: "", intervalMs: 0, authKind: "none", username: "", authSecret: "", webhookSecret: "", ...o });
const errors = (o: Partial<SourceInput>): string => {
  const c = checkSource(input(o));
  return c.ok ? "" : c.errors.join("\n");
};

describe("checkSource", () => {
  it("takes a plain source, with defaults written down", () => {
    expect(checkSource(input())).toMatchObject({ ok: true, path: "fleet", intervalMs: 60_000, auth: { kind: "none" } });
  });
  it("refuses credentials in the URL, pointing at secrets", () => {
    expect(errors({ repo: "https://bob:hunter2@git.example.org/x.git" })).toMatch(/repo: the URL carries credentials.*--token-secret/);
  });
  it("refuses paths out of the repository, odd branches and transports", () => {
    expect(errors({ path: "../etc" })).toMatch(/^path:/);
    expect(errors({ branch: "-x" })).toMatch(/^branch:/);
    expect(errors({ repo: "file:///srv/x.git" })).toMatch(/^repo: file:/);
    expect(errors({ repo: "git@-oProxyCommand=x:y" })).toMatch(/^repo:/);
  });
  it("matches the credential to the transport", () => {
    expect(errors({ authKind: "ssh", authSecret: "key" })).toMatch(/deploy key is for ssh/);
    expect(errors({ repo: "git@git.example.org:ops/fleet.git", authKind: "token", authSecret: "tok" })).toMatch(/token is for HTTPS/);
    expect(errors({ repo: "http://git.example.org/x.git", authKind: "token", authSecret: "tok" })).toMatch(/never plain http/);
    expect(checkSource(input({ repo: "git@git.example.org:ops/fleet.git", authKind: "ssh", authSecret: "key" })).ok).toBe(true);
  });
  it("bounds the interval", () => {
    expect(errors({ intervalMs: 1000 })).toMatch(/^interval:/);
  });
});
