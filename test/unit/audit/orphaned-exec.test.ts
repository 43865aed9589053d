/**
 * A controller that stopped during exec sessions (their agents ended them with the
 * stream) writes their end when it starts again: every session has both entries.
 */
import { describe, expect, it } from "vitest";
import { AuditLog, summarize } from "../../../controller/audit/audit-log.js";
import { auditOrphanedExecs } from "../../../controller/member/api/exec-handler.js";
import { tempStores } from "../fixtures/store.js";

describe("exec sessions cut by a controller stop", () => {
  const stores = tempStores();

  it("get an ExecEnd on the next start, once; ended and refused sessions are left alone", async () => {
    const { store } = await stores.open();
    let t = 1_000;
    const audit = new AuditLog(store, () => t);
    await audit.init();
    const exec = (session: number, code = 0): Promise<void> =>
      audit.append({ tokenId: "adm", role: "admin", method: "Exec", request: summarize({ session, host: "h1", command: ["sh"], tty: true }), code, error: code ? "refused" : "", peer: "p" });
    await exec(1);
    await audit.append({ tokenId: "adm", role: "admin", method: "ExecEnd", request: summarize({ session: 1, exit_code: 0 }), code: 0, error: "", peer: "p" });
    await exec(2); // running when the controller stopped
    await exec(3, 7); // refused: never ran
    t = 5_000;
    expect(await auditOrphanedExecs(audit, t)).toBe(1);
    const ends = (await audit.list({ sinceMs: 0, limit: 100 })).filter((e) => e.method === "ExecEnd");
    expect(ends).toHaveLength(2);
    const cut = ends.find((e) => (JSON.parse(e.request) as { session: number }).session === 2)!;
    expect(cut).toMatchObject({ tokenId: "adm", role: "admin", code: 14 });
    expect(JSON.parse(cut.request)).toMatchObject({ session: 2, host: "h1", started_ms: 1_000, ended_ms: 5_000, duration_ms: 4_000, exit_code: null });
    expect(cut.error).toMatch(/controller stopped during the session/);
    // A second start finds nothing more to close.
    expect(await auditOrphanedExecs(audit, 9_000)).toBe(0);
  });

  it("in a group, a member that starts again closes only the sessions it ran: another member's are running, and its ids may repeat", async () => {
    const { store } = await stores.open();
    const audit = new AuditLog(store, () => 1_000);
    await audit.init();
    const exec = (member: string, session: number): Promise<void> =>
      audit.append({ tokenId: "adm", role: "admin", method: "Exec", request: summarize({ session, member, host: "h1", command: ["sh"], tty: true }), code: 0, error: "", peer: "p" });
    await exec("c1", 7);
    await exec("c2", 7); // the same id on another member, running there
    await exec("c2", 8);
    expect(await auditOrphanedExecs(audit, 5_000, "c1")).toBe(1);
    const ends = (await audit.list({ sinceMs: 0, limit: 100 })).filter((e) => e.method === "ExecEnd").map((e) => JSON.parse(e.request) as { member: string; session: number });
    expect(ends).toEqual([expect.objectContaining({ member: "c1", session: 7 })]);
    expect(await auditOrphanedExecs(audit, 6_000, "c2")).toBe(2);
    expect(await auditOrphanedExecs(audit, 7_000, "c1")).toBe(0);
  });
});
