/**
 * Token lifecycle on a real LevelDB store: list never shows a secret, revoke is
 * refused from the next call on and aborts the principals already handed out —
 * also those of another TokenService on the same store (another member of a
 * group), through the store's watch — and last use is written once a minute.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { Store } from "../../../controller/store/store.js";
import { AuthError, LAST_USED_RESOLUTION_MS, TokenNotFoundError, TokenService } from "../../../controller/auth/token-service.js";
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
});
