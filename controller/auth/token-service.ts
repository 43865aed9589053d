/**
 * The I/O shell around tokens.ts: stores token records under `tokens/<id>`,
 * authenticates operator calls and spends join-token uses atomically.
 */
import type { Op, Store } from "../store/store.js";
import {
  checkToken,
  mintToken,
  parseToken,
  TokenFormatError,
  type MintOptions,
  type Role,
  type TokenRecord,
} from "./tokens.js";

export const TOKEN_PREFIX = "tokens/";
const tokenKey = (id: string): string => `${TOKEN_PREFIX}${id}`;

export class AuthError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AuthError";
  }
}

export interface Principal {
  tokenId: string;
  role: Role;
}

export class TokenService {
  constructor(
    private readonly store: Store,
    private readonly now: () => number,
    private readonly caFingerprint: string,
  ) {}

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

  /** For the operator API: a valid, unexpired operator-kind token. */
  async authenticate(token: string): Promise<Principal> {
    let parsed;
    try {
      parsed = parseToken(token);
    } catch (e) {
      throw new AuthError(e instanceof TokenFormatError ? e.message : "malformed token");
    }
    if (parsed.kind !== "operator") throw new AuthError("a join token cannot call the operator API");
    const kv = await this.store.get(tokenKey(parsed.id));
    const record = kv ? (JSON.parse(kv.value) as TokenRecord) : undefined;
    const check = checkToken(record, parsed.secret, this.now());
    if (!check.ok || !record) throw new AuthError(check.ok ? "unknown token" : check.reason);
    return { tokenId: record.id, role: record.role };
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
      throw new AuthError("the token was made by another controller (its CA fingerprint differs)");
    }
    const kv = await this.store.get(tokenKey(parsed.id));
    const record = kv ? (JSON.parse(kv.value) as TokenRecord) : undefined;
    const check = checkToken(record, parsed.secret, this.now());
    if (!check.ok || !record || !kv) throw new AuthError(check.ok ? "unknown token" : check.reason);
    if (record.role !== "agent") throw new AuthError("not a join token");
    const spent: TokenRecord = { ...record, usesLeft: record.usesLeft === null ? null : record.usesLeft - 1 };
    return { tokenId: record.id, compare: { key: kv.key, modRevision: kv.modRevision }, op: this.putOp(spent) };
  }

  private putOp(r: TokenRecord): Op {
    return { type: "put", key: tokenKey(r.id), value: JSON.stringify(r) };
  }
}
