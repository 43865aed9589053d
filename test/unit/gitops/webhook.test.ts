/** The webhook's HMAC check (controller/gitops/webhook.ts): GitHub's and Gitea's headers, constant-time, nothing else accepted. */
import { describe, expect, it } from "vitest";
import { createHmac } from "node:crypto";
import { verifySignature } from "../../../controller/gitops/webhook.js";

const key = Buffer.from("hook-key");
const body = Buffer.from('{"ref":"refs/heads/main"}');
const hex = createHmac("sha256", key).update(body).digest("hex");

describe("verifySignature", () => {
  it("takes GitHub's X-Hub-Signature-256: sha256=<hex>", () => {
    expect(verifySignature({ "x-hub-signature-256": `sha256=${hex}` }, body, key)).toEqual({ ok: true });
  });
  it("takes Gitea's X-Gitea-Signature: <hex>", () => {
    expect(verifySignature({ "x-gitea-signature": hex }, body, key)).toEqual({ ok: true });
  });
  it("refuses a signature of another body or key", () => {
    expect(verifySignature({ "x-hub-signature-256": `sha256=${hex}` }, Buffer.from("{}"), key).ok).toBe(false);
    expect(verifySignature({ "x-gitea-signature": hex }, body, Buffer.from("other")).ok).toBe(false);
  });
  it("refuses a missing, malformed or sha1 signature, saying which", () => {
    expect(verifySignature({}, body, key)).toEqual({ ok: false, reason: "no X-Hub-Signature-256 or X-Gitea-Signature header" });
    expect(verifySignature({ "x-hub-signature-256": hex }, body, key).ok).toBe(false);
    expect(verifySignature({ "x-hub-signature-256": "sha256=zz" }, body, key).ok).toBe(false);
    expect(verifySignature({ "x-hub-signature": `sha1=${hex.slice(0, 40)}` }, body, key).ok).toBe(false);
  });
});
