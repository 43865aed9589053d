/**
 * Bearer tokens, pure: minting, parsing, checking. The store keeps only a hash of
 * each secret, so a copy of the data dir does not hand out working tokens.
 *
 * The wire forms are in shared/token-format.ts (the agent parses join tokens too).
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
export { parseToken, TokenFormatError, type ParsedToken } from "../../shared/token-format.js";

export const ROLES = ["agent", "viewer", "operator", "admin", "lb"] as const;
export type Role = (typeof ROLES)[number];
/** The ranked roles: each allows what the ones below it do. */
export type OperatorRole = Exclude<Role, "agent" | "lb">;
/**
 * What a call needs. "lb" is beside the ranks, not in them: a load balancer host's
 * token (`berth lb`) may follow endpoints and report what it applied, nothing else —
 * not even list hosts, so a token stolen from an edge machine reveals little.
 */
export type Need = OperatorRole | "lb";

export function isRole(s: string): s is Role {
  return (ROLES as readonly string[]).includes(s);
}

const RANK: Record<OperatorRole, number> = { viewer: 1, operator: 2, admin: 3 };

/**
 * Does a token of role `have` allow a call that needs `need`? Agent tokens never reach
 * the operator API; lb tokens only calls that need "lb", which operators may make too.
 */
export function roleAllows(have: Role, need: Need): boolean {
  if (have === "agent") return false;
  if (have === "lb") return need === "lb";
  return RANK[have] >= RANK[need === "lb" ? "operator" : need];
}

export interface TokenRecord {
  id: string;
  role: Role;
  /** hex sha256 of the secret */
  secretHash: string;
  createdAtMs: number;
  /** 0: never expires */
  expiresAtMs: number;
  /** Remaining uses; null: unlimited. Only join tokens count uses. */
  usesLeft: number | null;
  description: string;
  /** Token id of the creator, "" for the bootstrap admin token. */
  createdBy: string;
  /** When it was revoked (`berth token revoke`); absent: not revoked. Kept, so `token list` shows it. */
  revokedAtMs?: number;
  /** Token id of whoever revoked it. */
  revokedBy?: string;
  /** The last call made with it, to the minute (TokenService writes it at most once a minute). */
  lastUsedAtMs?: number;
  /**
   * A web console session: the id of the token it was signed in with. It works only while
   * that token does (revoked or expired, the session ends too), and signing out revokes it.
   */
  parent?: string;
}


/** Defaults written where they are set: join tokens are short-lived, operator tokens last until revoked. */
export const DEFAULT_JOIN_TTL_MS = 3_600_000;

export interface MintOptions {
  role: Role;
  ttlMs?: number;
  uses?: number;
  description?: string;
  createdBy?: string;
  /** A console session of this token id (TokenRecord.parent). */
  parent?: string;
}

export function hashSecret(secret: string): string {
  return createHash("sha256").update(secret).digest("hex");
}

export function mintToken(opts: MintOptions, nowMs: number, caFingerprint: string): { record: TokenRecord; token: string } {
  const id = randomBytes(5).toString("hex");
  const secret = randomBytes(24).toString("base64url");
  const ttlMs = opts.ttlMs ?? (opts.role === "agent" ? DEFAULT_JOIN_TTL_MS : 0);
  const record: TokenRecord = {
    id,
    role: opts.role,
    secretHash: hashSecret(secret),
    createdAtMs: nowMs,
    expiresAtMs: ttlMs > 0 ? nowMs + ttlMs : 0,
    usesLeft: opts.role === "agent" && opts.uses && opts.uses > 0 ? opts.uses : null,
    description: opts.description ?? "",
    createdBy: opts.createdBy ?? "",
    ...(opts.parent !== undefined ? { parent: opts.parent } : {}),
  };
  const token = opts.role === "agent" ? `bj1.${caFingerprint}.${id}.${secret}` : `bt1.${id}.${secret}`;
  return { record, token };
}

export type TokenCheck = { ok: true } | { ok: false; reason: string };

/** Pure: is this secret valid for this record now? Uses are checked, not spent. */
export function checkToken(record: TokenRecord | undefined, secret: string, nowMs: number): TokenCheck {
  if (!record) return { ok: false, reason: "unknown token" };
  const a = Buffer.from(hashSecret(secret), "hex");
  const b = Buffer.from(record.secretHash, "hex");
  if (a.length !== b.length || !timingSafeEqual(a, b)) return { ok: false, reason: "unknown token" };
  if (record.revokedAtMs !== undefined) return { ok: false, reason: `token ${record.id} was revoked` };
  if (record.expiresAtMs > 0 && nowMs >= record.expiresAtMs) return { ok: false, reason: "token expired" };
  if (record.usesLeft !== null && record.usesLeft <= 0) return { ok: false, reason: "token used up" };
  return { ok: true };
}
