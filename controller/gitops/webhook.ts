/**
 * The webhook's signature: HMAC-SHA256 of the raw body with the source's webhook
 * key, as GitHub (`X-Hub-Signature-256: sha256=<hex>`) and Gitea
 * (`X-Gitea-Signature: <hex>`) send it. Compared in constant time; an unsigned
 * or sha1-signed request is refused.
 */
import { createHmac, timingSafeEqual } from "node:crypto";

export type Verdict = { ok: true } | { ok: false; reason: string };

const HEX64 = /^[0-9a-f]{64}$/;

export function verifySignature(headers: Readonly<Record<string, string | string[] | undefined>>, body: Buffer, key: Buffer): Verdict {
  const one = (h: string): string | undefined => {
    const v = headers[h];
    return Array.isArray(v) ? v[0] : v;
  };
  const github = one("x-hub-signature-256");
  const gitea = one("x-gitea-signature");
  let given: string;
  if (github !== undefined) {
    if (!github.startsWith("sha256=")) return { ok: false, reason: "X-Hub-Signature-256: expected sha256=<hex>" };
    given = github.slice("sha256=".length);
  } else if (gitea !== undefined) given = gitea;
  else return { ok: false, reason: "no X-Hub-Signature-256 or X-Gitea-Signature header" };
  given = given.trim().toLowerCase();
  if (!HEX64.test(given)) return { ok: false, reason: "signature: expected 64 hex digits" };
  const want = createHmac("sha256", key).update(body).digest();
  return timingSafeEqual(Buffer.from(given, "hex"), want) ? { ok: true } : { ok: false, reason: "signature does not match" };
}
