/**
 * The web console's session, pure: the cookie that carries the berth token, the
 * CSRF check every mutating call passes, and one-time sign-in codes.
 *
 * The cookie holds a berth token (HttpOnly, so page scripts never see it; Secure;
 * SameSite=Strict; `__Host-` so no subdomain can set or widen it): the console
 * session's own, minted at sign-in (auth/token-service.ts openSession) and revoked at
 * sign-out. It is a token record in the store like any other: a session survives a
 * controller restart and works on every member of a group, and revoking it, or the
 * token signed in with, ends it.
 *
 * CSRF: SameSite=Strict already keeps the cookie off cross-site requests; on top,
 * every mutating call must carry `X-Berth-CSRF`, an HMAC of the token that only a
 * page of this origin can read (from GET /api/session), come from this origin when
 * the browser says where it comes from, and be JSON — a cross-site form cannot
 * send JSON or a custom header without a CORS preflight, which the console never answers.
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

export const SESSION_COOKIE = "__Host-berth-session";
export const CSRF_HEADER = "x-berth-csrf";

export function sessionCookie(token: string): string {
  // No Max-Age: a browser session cookie; the token's own expiry and revocation bound it.
  return `${SESSION_COOKIE}=${encodeURIComponent(token)}; Path=/; HttpOnly; Secure; SameSite=Strict`;
}

export function clearedCookie(): string {
  return `${SESSION_COOKIE}=; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=0`;
}

export function tokenFromCookie(header: string | undefined): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0 || part.slice(0, eq).trim() !== SESSION_COOKIE) continue;
    const raw = part.slice(eq + 1).trim();
    try {
      const v = decodeURIComponent(raw);
      return v === "" ? undefined : v;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** Keyed by the token: stateless, so it holds across restarts, and useless without the token. */
export function csrfTokenFor(token: string): string {
  return createHmac("sha256", token).update("berth web console csrf v1").digest("base64url");
}

export interface MutationRequest {
  method: string;
  /** The Host header: what the browser connected to. */
  host?: string;
  origin?: string;
  csrf?: string;
  contentType?: string;
}

/** Why a mutating call must be refused, or undefined when it may go on. */
export function checkMutation(r: MutationRequest, token: string): string | undefined {
  if (r.origin !== undefined && r.origin !== `https://${r.host ?? ""}`) return `origin ${r.origin.slice(0, 100)} is not this console's`;
  if (!/^application\/json\b/i.test(r.contentType ?? "")) return "a mutating call must send application/json";
  const want = Buffer.from(csrfTokenFor(token));
  const got = Buffer.from(r.csrf ?? "");
  if (got.length !== want.length || !timingSafeEqual(got, want)) return `missing or wrong CSRF token (the ${CSRF_HEADER} header): reload the page`;
  return undefined;
}

/** Sign-in codes live this long by default: long enough to click a link `berth dev` printed. */
export const SIGN_IN_CODE_TTL_MS = 30 * 60_000;
const MAX_CODES = 100;

/**
 * One-time codes, each standing for a token, redeemed once for the session cookie.
 * A link with a code, unlike one with the token, is worthless once used or after
 * its time, so the shell scrollback or browser history that keeps it leaks nothing.
 */
export class SignInCodes {
  private readonly codes = new Map<string, { token: string; expiresAtMs: number }>();
  private readonly ttlMs: number;
  private readonly max: number;

  constructor(
    private readonly now: () => number,
    o: { ttlMs?: number; max?: number } = {},
  ) {
    this.ttlMs = o.ttlMs ?? SIGN_IN_CODE_TTL_MS;
    this.max = o.max ?? MAX_CODES;
  }

  issue(token: string): string {
    const code = randomBytes(32).toString("base64url");
    this.codes.set(code, { token, expiresAtMs: this.now() + this.ttlMs });
    // Maps iterate in insertion order: the first key is the oldest code.
    while (this.codes.size > this.max) this.codes.delete(this.codes.keys().next().value!);
    return code;
  }

  redeem(code: string): string | undefined {
    const c = this.codes.get(code);
    this.codes.delete(code);
    return c && c.expiresAtMs >= this.now() ? c.token : undefined;
  }
}
