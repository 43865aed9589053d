/**
 * Token lifecycle on a real LevelDB store: list never shows a secret, revoke is
 * refused from the next call on and aborts the principals already handed out —
 * also those of another TokenService on the same store (another member of a
 * group), through the store's watch — and last use is written once a minute.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { Store } from "../../../controller/store/store.js";
import { AuthError, CONSOLE_SESSION_TTL_MS, ENDED_SESSION_KEEP_MS, LAST_USED_RESOLUTION_MS, MAX_SESSIONS_PER_TOKEN, TOKEN_PREFIX, TokenNotFoundError, TokenService } from "../../../controller/auth/token-service.js";
import { until } from "../until.js";
import { tempStores } from "../fixtures/store.js";

/** Polls an async condition until it holds; a deadline bounds the wait. */
async function eventually(cond: () => Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise<void>((r) => setTimeout(r, 10));
  }
}

describe("TokenService", () => {
  const stores = tempStores();
  let store: Store | undefined;
  const services: TokenService[] = [];
  afterEach(() => {
    for (const s of services.splice(0)) s.stop();
    store = undefined;
  });

  async function open(now: () => number): Promise<TokenService> {
    const s = new TokenService(store!, now, "f".repeat(64));
    await s.start();
    services.push(s);
    return s;
  }

  it("lists tokens without secrets; a revoked token is refused and its principals abort, on every service of the store", async () => {
    store = (await stores.open()).store;
    let t = 1_700_000_000_000;
    const a = await open(() => t);
    const b = await open(() => t); // another member on the same store
    const admin = await a.create({ role: "admin", description: "bootstrap" });
    t += 1;
    const viewer = await a.create({ role: "viewer", description: "grafana", ttlMs: 3_600_000 });

    const list = await a.list();
    expect(list.tokens.map((x) => [x.id, x.role, x.description])).toEqual([
      [admin.record.id, "admin", "bootstrap"],
      [viewer.record.id, "viewer", "grafana"],
    ]);
    expect(JSON.stringify(list)).not.toContain(viewer.record.secretHash);
    expect(JSON.stringify(list)).not.toContain(viewer.token.split(".")[2]);

    const onA = await a.authenticate(viewer.token);
    const onB = await b.authenticate(viewer.token);
    expect(onA.revoked.aborted).toBe(false);
    t += 1000;
    const info = await a.revoke(viewer.record.id, admin.record.id);
    expect(info).toMatchObject({ id: viewer.record.id, revokedAtMs: t, revokedBy: admin.record.id });
    expect(onA.revoked.aborted).toBe(true);
    await until(() => onB.revoked.aborted, "the other member's principal to abort through the watch", 5000);
    await expect(a.authenticate(viewer.token)).rejects.toThrow(new AuthError(`token ${viewer.record.id} was revoked`));
    await expect(b.authenticate(viewer.token)).rejects.toThrow(AuthError);
    // The admin token is untouched.
    expect((await b.authenticate(admin.token)).revoked.aborted).toBe(false);
    // Revoking again changes nothing; an unknown id is named.
    expect((await a.revoke(viewer.record.id, admin.record.id)).revokedAtMs).toBe(info.revokedAtMs);
    await expect(a.revoke("0123456789", admin.record.id)).rejects.toThrow(TokenNotFoundError);
  });

  it("stamps last use at most once a minute, and a damaged record is listed as unusable and can still be revoked", async () => {
    store = (await stores.open()).store;
    let t = 1_700_000_000_000;
    const a = await open(() => t);
    const op = await a.create({ role: "operator" });
    const rev0 = await store.revision();
    for (let i = 0; i < 20; i++) await a.authenticate(op.token);
    const used = async (): Promise<number | undefined> => (await a.list()).tokens.find((x) => x.id === op.record.id)?.lastUsedAtMs;
    await eventually(async () => (await used()) === t, "the first use to be stamped");
    // One write for 20 calls within the minute.
    expect((await store.revision()) - rev0).toBe(1);
    t += LAST_USED_RESOLUTION_MS;
    await a.authenticate(op.token);
    await eventually(async () => (await used()) === t, "the use a minute later to be stamped");

    await store.put(`tokens/${"a".repeat(10)}`, "{not json");
    const list = await a.list();
    expect(list.unusable).toEqual([{ key: `tokens/${"a".repeat(10)}`, reason: expect.stringContaining("not JSON") }]);
    expect((await a.revoke("a".repeat(10), op.record.id)).revokedAtMs).toBe(t);
    expect((await a.list()).unusable).toEqual([]);
  });
  it("a console session is a token of its own, of the same role, bounded by the signing-in token, and ends with it or at sign-out", async () => {
    store = (await stores.open()).store;
    let t = 1_700_000_000_000;
    const a = await open(() => t);
    const b = await open(() => t); // another member of the group
    const op = await a.create({ role: "operator", description: "ops", ttlMs: 2 * CONSOLE_SESSION_TTL_MS });
    const s1 = await a.openSession(op.token, "console:10.0.0.9");
    expect(s1.token).not.toBe(op.token);
    expect(s1.record).toMatchObject({ role: "operator", parent: op.record.id, createdBy: op.record.id, expiresAtMs: t + CONSOLE_SESSION_TTL_MS });
    expect(s1.record.description).toBe("web console session (console:10.0.0.9)");
    // A token that expires sooner bounds the session.
    const short = await a.create({ role: "viewer", ttlMs: 60_000 });
    expect((await a.openSession(short.token, "console:x")).record.expiresAtMs).toBe(t + 60_000);
    // A copy of a session's cookie cannot open another session, which its sign-out would not end.
    await expect(a.openSession(s1.token, "console:y")).rejects.toThrow(/a console session's token cannot sign in/);

    const p = await b.authenticate(s1.token);
    expect(p.role).toBe("operator");
    expect(b.sessionParent(s1.token)).toBe(op.record.id);
    expect(b.sessionParent(op.token)).toBeUndefined();
    expect(b.sessionParent("not a token")).toBeUndefined();
    // Signing out: the session is revoked, its streams end; the operator's own token stands.
    expect(await a.closeSession(s1.token)).toBe(true);
    await until(() => p.revoked.aborted, "the session's principal to abort on the other member");
    await expect(b.authenticate(s1.token)).rejects.toThrow(/was revoked/);
    expect((await b.authenticate(op.token)).role).toBe("operator");
    // A cookie that holds an operator's own token (from before sessions) is never revoked by signing out.
    expect(await a.closeSession(op.token)).toBe(false);
    expect(await a.closeSession("not a token")).toBe(false);
    expect((await a.authenticate(op.token)).tokenId).toBe(op.record.id);

    // Revoking the token signed in with ends its sessions: refused, and their principals abort on every member.
    const s2 = await a.openSession(op.token, "console:z");
    const p2 = await b.authenticate(s2.token);
    await a.revoke(op.record.id, "admin");
    await until(() => p2.revoked.aborted, "the session's principal to abort with its parent");
    await expect(a.authenticate(s2.token)).rejects.toThrow(/which this console session was signed in with, was revoked/);
    await expect(a.openSession(op.token, "console:z")).rejects.toThrow(AuthError);

    // An expired parent ends them as well.
    const v = await a.create({ role: "viewer", ttlMs: 1_000 });
    const s3 = await a.openSession(v.token, "console:v");
    t += 1_000;
    await expect(a.authenticate(s3.token)).rejects.toThrow(/expired/);
  });

  it("a sign-in deletes console sessions that ended over a day ago; other tokens stay", async () => {
    store = (await stores.open()).store;
    let t = 1_700_000_000_000;
    const a = await open(() => t);
    const admin = await a.create({ role: "admin" });
    const old = await a.openSession(admin.token, "console:1");
    const signedOut = await a.openSession(admin.token, "console:2");
    await a.closeSession(signedOut.token);
    const revokedOp = await a.create({ role: "operator" });
    await a.revoke(revokedOp.record.id, "admin");
    t += CONSOLE_SESSION_TTL_MS + ENDED_SESSION_KEEP_MS + 1;
    await a.openSession(admin.token, "console:3");
    const ids = (await store.scan(TOKEN_PREFIX)).map((kv) => kv.key.slice(TOKEN_PREFIX.length));
    expect(ids).not.toContain(old.record.id);
    expect(ids).not.toContain(signedOut.record.id);
    expect(ids).toContain(admin.record.id);
    expect(ids).toContain(revokedOp.record.id); // kept: only sessions are pruned
    expect(ids).toHaveLength(3);
  });
  it("a token keeps at most MAX_SESSIONS_PER_TOKEN sessions: a sign-in beyond deletes the oldest, ended ones first", async () => {
    store = (await stores.open()).store;
    let t = 1_700_000_000_000;
    const a = await open(() => t);
    const admin = await a.create({ role: "admin" });
    const opened: { token: string; id: string }[] = [];
    for (let k = 0; k < MAX_SESSIONS_PER_TOKEN + 5; k++) {
      t += 1;
      const s = await a.openSession(admin.token, `console:${k}`);
      opened.push({ token: s.token, id: s.record.id });
      if (k === 10) await a.closeSession(s.token); // one ended: deleted before any live one
    }
    const sessions = (await store.scan(TOKEN_PREFIX)).map((kv) => kv.key.slice(TOKEN_PREFIX.length)).filter((id) => id !== admin.record.id);
    expect(sessions).toHaveLength(MAX_SESSIONS_PER_TOKEN);
    expect(sessions).not.toContain(opened[10]!.id);
    for (const o of opened.slice(0, 4)) await expect(a.authenticate(o.token)).rejects.toThrow(/unknown token/);
    for (const o of opened.slice(4).filter((_, k) => k !== 6)) expect((await a.authenticate(o.token)).role).toBe("admin");
  });
});
