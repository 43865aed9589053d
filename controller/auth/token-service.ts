/**
 * The I/O shell around tokens.ts: stores token records under `tokens/<id>`,
 * authenticates operator calls, spends join-token uses atomically, lists and
 * revokes tokens.
 *
 * Revocation reaches what is already running: every principal carries an
 * AbortSignal that aborts when its token is revoked, and the streams and exec
 * sessions opened with it end on it. The signal is driven by a watch on the
 * store's `tokens/` prefix, not by the revoking call, so a revoke made through
 * any controller sharing the store ends the calls every one of them serves.
 */
import { z } from "zod";
import type { KeyValue, Op, Store, Watcher } from "../store/store.js";
import { decodeRecord, encodeRecord } from "../store/record.js";
import {
  checkToken,
  mintToken,
  parseToken,
  TokenFormatError,
  ROLES,
  type MintOptions,
  type Role,
  type TokenRecord,
} from "./tokens.js";

/** A stored token record, validated on read (a record is outside input: see store/record.ts). */
export const TokenRecordSchema = z
  .object({
    id: z.string().regex(/^[0-9a-f]{10}$/),
    role: z.enum(ROLES),
    secretHash: z.string().regex(/^[0-9a-f]{64}$/),
    createdAtMs: z.number().int().nonnegative(),
    expiresAtMs: z.number().int().nonnegative(),
    usesLeft: z.number().int().nonnegative().nullable(),
    description: z.string().max(1000),
    createdBy: z.string().max(64),
    revokedAtMs: z.number().int().positive().optional(),
    revokedBy: z.string().max(64).optional(),
    lastUsedAtMs: z.number().int().nonnegative().optional(),
    parent: z.string().regex(/^[0-9a-f]{10}$/).optional(),
  })
  .strict();

export const TOKEN_PREFIX = "tokens/";
const tokenKey = (id: string): string => `${TOKEN_PREFIX}${id}`;

/** How long a web console session lasts at most (less when the token it was opened with expires sooner). */
export const CONSOLE_SESSION_TTL_MS = 12 * 3_600_000;
/** Ended console sessions stay listed (`berth token list --all`) this long, then the next sign-in deletes them. */
export const ENDED_SESSION_KEEP_MS = 24 * 3_600_000;
/** Console sessions one token keeps, live or ended: a sign-in beyond deletes the oldest (ended first), ending it. */
export const MAX_SESSIONS_PER_TOKEN = 20;

/** Last-use stamps are written at most this often per token: one write a minute, not one a call. */
export const LAST_USED_RESOLUTION_MS = 60_000;

export class AuthError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AuthError";
  }
}

/** `berth token revoke` of an id that does not exist. */
export class TokenNotFoundError extends Error {
  constructor(readonly id: string) {
    super(`no token ${id}`);
    this.name = "TokenNotFoundError";
  }
}

export interface Principal {
  tokenId: string;
  role: Role;
  /** Aborts when the token is revoked: long calls made with it end on it. */
  revoked: AbortSignal;
  /** How long the token has left, by this service's clock when it was checked; undefined: it never expires. Long calls end when it runs out. */
  expiresInMs?: number;
}

/** A token as `berth token list` shows it: never its secret or its hash. */
export type TokenInfo = Omit<TokenRecord, "secretHash">;

export class TokenService {
  /** Per token that authenticated a call: the controller its principals' signals hang on. */
  private readonly revocations = new Map<string, AbortController>();
  /** tokenId → the last-use stamp written (or being written), to the minute. */
  private readonly lastUsedWritten = new Map<string, number>();
  private watcher: Watcher | undefined;
  /**
   * Every token record as last read or watched, so a member that cannot reach its
   * store still knows its operators: `berth controllers` must answer then, to say so.
   * A revoke cannot be written while the store is gone, so none is missed.
   */
  private readonly known = new Map<string, TokenRecord>();
  /** Set by the controller in a group: whether the store is judged unreachable now (member/store-monitor.ts). */
  storeUnavailable: () => boolean = () => false;

  constructor(
    private readonly store: Store,
    private readonly now: () => number,
    /** What join tokens pin: the CA the controller serves with, which a CA rotation changes (hence a function). */
    private readonly caFingerprintNow: string | (() => string),
  ) {}

  private get caFingerprint(): string {
    return typeof this.caFingerprintNow === "string" ? this.caFingerprintNow : this.caFingerprintNow();
  }

  /** Follows the store's token records, so a revoke made anywhere ends the calls made with the token here. */
  async start(): Promise<void> {
    const from = (await this.store.revision()) + 1;
    this.watcher = await this.store.watch(
      TOKEN_PREFIX,
      (ev) => {
        const id = ev.type === "put" ? ev.kv.key.slice(TOKEN_PREFIX.length) : ev.key.slice(TOKEN_PREFIX.length);
        if (ev.type === "delete") {
          this.known.delete(id);
          return this.abort(id, "deleted");
        }
        const d = decodeRecord(TokenRecordSchema, ev.kv.value);
        if (d.ok) this.known.set(id, d.rec);
        else this.known.delete(id);
        if (d.ok && d.rec.revokedAtMs !== undefined) this.abort(id, "revoked");
      },
      { fromRevision: from },
    );
    for (const kv of await this.store.scan(TOKEN_PREFIX)) {
      const rec = this.decode(kv.value);
      // A watched change since is newer than this scan's.
      if (rec && !this.known.has(rec.id)) this.known.set(rec.id, rec);
    }
  }

  stop(): void {
    this.watcher?.close();
    this.watcher = undefined;
  }

  async create(opts: MintOptions): Promise<{ record: TokenRecord; token: string }> {
    const minted = mintToken(opts, this.now(), this.caFingerprint);
    const res = await this.store.txn([{ key: tokenKey(minted.record.id), modRevision: 0 }], [this.putOp(minted.record)]);
    if (!res.succeeded) throw new Error("token id collision; try again");
    return minted;
  }

  /** Whether any admin token exists: the first start creates one. */
  async hasAny(): Promise<boolean> {
    return (await this.store.scan(TOKEN_PREFIX, { limit: 1 })).length > 0;
  }

  /** Every token, oldest first; records that fail validation are named in `unusable`, not thrown. */
  async list(): Promise<{ tokens: TokenInfo[]; unusable: { key: string; reason: string }[] }> {
    const tokens: TokenInfo[] = [];
    const unusable: { key: string; reason: string }[] = [];
    for (const kv of await this.store.scan(TOKEN_PREFIX)) {
      const d = decodeRecord(TokenRecordSchema, kv.value);
      if (!d.ok) {
        unusable.push({ key: kv.key, reason: d.reason });
        continue;
      }
      const { secretHash: _hash, ...info } = d.rec;
      tokens.push(info);
    }
    tokens.sort((a, b) => a.createdAtMs - b.createdAtMs || a.id.localeCompare(b.id));
    return { tokens, unusable };
  }

  /**
   * Revokes a token: refused from the next call on, and every stream or exec
   * session made with it ends (through the watch, on every controller). Revoking
   * a revoked token changes nothing and returns it as it is (`changed: false`).
   */
  async revoke(id: string, by: string): Promise<TokenInfo & { changed: boolean }> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const kv = await this.store.get(tokenKey(id));
      if (!kv) throw new TokenNotFoundError(id);
      const d = decodeRecord(TokenRecordSchema, kv.value);
      // A record we cannot read is still a token someone may hold: revoking it must work.
      const rec: TokenRecord | undefined = d.ok ? d.rec : undefined;
      if (rec?.revokedAtMs !== undefined) {
        const { secretHash: _h, ...info } = rec;
        return { ...info, changed: false };
      }
      const next: TokenRecord = rec
        ? { ...rec, revokedAtMs: this.now(), revokedBy: by }
        : // Unreadable: replace it with a record no secret matches, so it can never authenticate again.
          { id, role: "viewer", secretHash: "0".repeat(64), createdAtMs: 0, expiresAtMs: 0, usesLeft: null, description: "unreadable record, revoked", createdBy: "", revokedAtMs: this.now(), revokedBy: by };
      const res = await this.store.txn([{ key: kv.key, modRevision: kv.modRevision }], [this.putOp(next)]);
      if (res.succeeded) {
        this.abort(id, "revoked");
        const { secretHash: _h, ...info } = next;
        return { ...info, changed: true };
      }
    }
    throw new Error(`token ${id} kept changing while it was revoked; try again`);
  }

  /** For the operator API: a valid, unexpired, unrevoked operator-kind token. */
  async authenticate(token: string): Promise<Principal> {
    let parsed;
    try {
      parsed = parseToken(token);
    } catch (e) {
      throw new AuthError(e instanceof TokenFormatError ? e.message : "malformed token");
    }
    if (parsed.kind !== "operator") throw new AuthError("a join token cannot call the operator API");
    if (this.storeUnavailable()) {
      // Each read would wait out the store's deadline: the records known will do.
      const rec = this.known.get(parsed.id);
      const c = checkToken(rec, parsed.secret, this.now());
      if (!c.ok || !rec) throw new AuthError(c.ok ? "unknown token" : c.reason);
      await this.checkParent(rec);
      return { tokenId: rec.id, role: rec.role, revoked: this.signalFor(rec.id), ...this.expiresIn(rec) };
    }
    const kv = await this.store.get(tokenKey(parsed.id));
    const record = kv ? this.decode(kv.value) : undefined;
    if (record) this.known.set(record.id, record);
    const check = checkToken(record, parsed.secret, this.now());
    if (!check.ok || !record || !kv) throw new AuthError(check.ok ? "unknown token" : check.reason);
    await this.checkParent(record);
    this.noteUse(record, kv.modRevision);
    return { tokenId: record.id, role: record.role, revoked: this.signalFor(record.id), ...this.expiresIn(record) };
  }

  /** A console session works only while the token it was signed in with does. */
  private async checkParent(rec: TokenRecord): Promise<void> {
    if (rec.parent === undefined) return;
    let parent = this.known.get(rec.parent);
    if (!this.storeUnavailable()) {
      const kv = await this.store.get(tokenKey(rec.parent));
      parent = kv ? this.decode(kv.value) : undefined;
    }
    if (!parent) throw new AuthError(`token ${rec.parent}, which this console session was signed in with, no longer exists: sign in again`);
    if (parent.revokedAtMs !== undefined) throw new AuthError(`token ${parent.id}, which this console session was signed in with, was revoked`);
    if (parent.expiresAtMs > 0 && this.now() >= parent.expiresAtMs) throw new AuthError(`token ${parent.id}, which this console session was signed in with, expired: sign in again`);
  }

  /**
   * A web console session for a sign-in with `token`: a token of its own, of the same role,
   * which lasts CONSOLE_SESSION_TTL_MS at most (never past the signing-in token's expiry),
   * works only while the signing-in token does, and is revoked by signing out — so the
   * cookie never holds the operator's own token, and a cookie left behind ends.
   */
  async openSession(token: string, peer: string, ttlMs = CONSOLE_SESSION_TTL_MS): Promise<{ record: TokenRecord; token: string }> {
    const who = await this.authenticate(token);
    // A copy of a session's cookie must not outlive the session's sign-out by opening another.
    if (this.known.get(who.tokenId)?.parent !== undefined) throw new AuthError("a console session's token cannot sign in: sign in with your own token");
    const ttl = Math.min(ttlMs, who.expiresInMs ?? ttlMs);
    if (ttl <= 0) throw new AuthError("token expired");
    // Best effort: a sign-in does not fail for records it could not tidy.
    await this.pruneSessions(who.tokenId).catch(() => undefined);
    return this.create({ role: who.role, ttlMs: ttl, description: `web console session (${peer.slice(0, 200)})`, createdBy: who.tokenId, parent: who.tokenId });
  }

  /** The id of the token a console session was signed in with; undefined for any other token. */
  sessionParent(token: string): string | undefined {
    try {
      return this.known.get(parseToken(token).id)?.parent;
    } catch {
      return undefined;
    }
  }

  /** Signing out: revokes the token if it is a console session (a cookie holding an operator's own token is only cleared). */
  async closeSession(token: string): Promise<boolean> {
    let parsed;
    try {
      parsed = parseToken(token);
    } catch {
      return false;
    }
    const kv = await this.store.get(tokenKey(parsed.id));
    const rec = kv ? this.decode(kv.value) : undefined;
    if (!rec || rec.parent === undefined || !checkToken(rec, parsed.secret, this.now()).ok) return false;
    return (await this.revoke(rec.id, rec.id)).changed;
  }

  /**
   * Deletes console sessions that ended (expired or revoked) over ENDED_SESSION_KEEP_MS ago,
   * and of `parent`'s, the oldest beyond MAX_SESSIONS_PER_TOKEN - 1 (ended ones first): the
   * next one is about to be opened. Sign-ins do not pile up records, however many a script makes.
   */
  private async pruneSessions(parent: string): Promise<void> {
    const nowMs = this.now();
    const before = nowMs - ENDED_SESSION_KEEP_MS;
    const endedAt = (r: TokenRecord): number => r.revokedAtMs ?? (r.expiresAtMs > 0 && r.expiresAtMs <= nowMs ? r.expiresAtMs : Number.POSITIVE_INFINITY);
    const doomed: KeyValue[] = [];
    const mine: { kv: KeyValue; rec: TokenRecord }[] = [];
    for (const kv of await this.store.scan(TOKEN_PREFIX)) {
      const rec = this.decode(kv.value);
      if (!rec || rec.parent === undefined) continue;
      if (endedAt(rec) < before) doomed.push(kv);
      else if (rec.parent === parent) mine.push({ kv, rec });
    }
    // Ended first, then the oldest.
    mine.sort((a, b) => Number(endedAt(a.rec) === Number.POSITIVE_INFINITY) - Number(endedAt(b.rec) === Number.POSITIVE_INFINITY) || a.rec.createdAtMs - b.rec.createdAtMs);
    doomed.push(...mine.slice(0, Math.max(0, mine.length - (MAX_SESSIONS_PER_TOKEN - 1))).map((m) => m.kv));
    for (const kv of doomed) await this.store.txn([{ key: kv.key, modRevision: kv.modRevision }], [{ type: "delete", key: kv.key }]);
  }

  private expiresIn(rec: TokenRecord): { expiresInMs?: number } {
    return rec.expiresAtMs > 0 ? { expiresInMs: Math.max(0, rec.expiresAtMs - this.now()) } : {};
  }

  /**
   * For Join: checks a join token and returns the txn pieces that spend one use,
   * so the caller commits the spend together with the new host, or neither.
   */
  async prepareJoin(token: string): Promise<{ tokenId: string; compare: { key: string; modRevision: number }; op: Op }> {
    let parsed;
    try {
      parsed = parseToken(token);
    } catch (e) {
      throw new AuthError(e instanceof TokenFormatError ? e.message : "malformed token");
    }
    if (parsed.kind !== "join") throw new AuthError("not a join token: create one with `berth token create --role agent`");
    if (parsed.caFingerprint !== this.caFingerprint) {
      throw new AuthError("the token was made by another controller, or before its CA was rotated (its CA fingerprint differs): make a new one");
    }
    const kv = await this.store.get(tokenKey(parsed.id));
    const record = kv ? this.decode(kv.value) : undefined;
    const check = checkToken(record, parsed.secret, this.now());
    if (!check.ok || !record || !kv) throw new AuthError(check.ok ? "unknown token" : check.reason);
    if (record.role !== "agent") throw new AuthError("not a join token");
    const spent: TokenRecord = { ...record, usesLeft: record.usesLeft === null ? null : record.usesLeft - 1, lastUsedAtMs: this.now() };
    return { tokenId: record.id, compare: { key: kv.key, modRevision: kv.modRevision }, op: this.putOp(spent) };
  }

  /** An unreadable record authenticates nobody (it is listed as unusable by `token list`). */
  private decode(value: string): TokenRecord | undefined {
    const d = decodeRecord(TokenRecordSchema, value);
    return d.ok ? d.rec : undefined;
  }

  private signalFor(id: string): AbortSignal {
    let c = this.revocations.get(id);
    if (!c) {
      c = new AbortController();
      this.revocations.set(id, c);
    }
    return c.signal;
  }

  private abort(id: string, why: string): void {
    // The console sessions signed in with it end with it (one level: a session never has sessions of its own).
    for (const r of this.known.values()) if (r.parent === id && r.id !== id) this.abortOne(r.id, `${why} with token ${id}, which it was signed in with`);
    this.abortOne(id, why);
  }

  private abortOne(id: string, why: string): void {
    const c = this.revocations.get(id);
    if (!c) return;
    this.revocations.delete(id);
    c.abort(new AuthError(`token ${id} was ${why}`));
  }

  /**
   * Stamps the token's last use, to the minute: a compare-and-set on the record as
   * read, so it never undoes a revoke that raced it; a lost race is simply skipped.
   */
  private noteUse(rec: TokenRecord, modRevision: number): void {
    const t = this.now();
    const minute = t - (t % LAST_USED_RESOLUTION_MS);
    if ((rec.lastUsedAtMs ?? 0) >= minute || (this.lastUsedWritten.get(rec.id) ?? 0) >= minute) return;
    this.lastUsedWritten.set(rec.id, minute);
    void this.store.txn([{ key: tokenKey(rec.id), modRevision }], [this.putOp({ ...rec, lastUsedAtMs: t })]).catch(() => undefined);
  }

  private putOp(r: TokenRecord): Op {
    return { type: "put", key: tokenKey(r.id), value: encodeRecord(r) };
  }
}
