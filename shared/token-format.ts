/**
 * Token wire forms, shared by the controller (which checks them) and the agent
 * and CLI (which parse them):
 *   operator tokens   bt1.<id>.<secret>
 *   join tokens       bj1.<caFingerprint>.<id>.<secret>
 * The join form carries the sha256 of the controller's CA certificate so an agent
 * can pin the CA on first contact (kubeadm's discovery-token-ca-cert-hash).
 */
export interface ParsedToken {
  kind: "join" | "operator";
  id: string;
  secret: string;
  caFingerprint?: string;
}

export class TokenFormatError extends Error {
  constructor(why: string) {
    super(`malformed token: ${why}`);
    this.name = "TokenFormatError";
  }
}

const ID = /^[0-9a-f]{10}$/;
const SECRET = /^[A-Za-z0-9_-]{32}$/;
const FP = /^[0-9a-f]{64}$/;

export function parseToken(token: string): ParsedToken {
  const t = token.trim();
  if (t.length > 256) throw new TokenFormatError("too long");
  const parts = t.split(".");
  if (parts[0] === "bt1" && parts.length === 3) {
    const [, id, secret] = parts as [string, string, string];
    if (!ID.test(id) || !SECRET.test(secret)) throw new TokenFormatError("bad id or secret");
    return { kind: "operator", id, secret };
  }
  if (parts[0] === "bj1" && parts.length === 4) {
    const [, fp, id, secret] = parts as [string, string, string, string];
    if (!FP.test(fp) || !ID.test(id) || !SECRET.test(secret)) throw new TokenFormatError("bad fingerprint, id or secret");
    return { kind: "join", id, secret, caFingerprint: fp };
  }
  throw new TokenFormatError("expected bt1.<id>.<secret> or bj1.<ca-sha256>.<id>.<secret>");
}

