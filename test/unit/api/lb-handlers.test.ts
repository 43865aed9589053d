import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { endpointsVersion, LB_REPORT_STALE_MS, LbAppliedBook, validateLbReport } from "../../../controller/member/api/lb-handlers.js";
import type { LbApplied__Output } from "../../../shared/gen/berth/v1/LbApplied.js";
import { startTestController, unaryP, type TestController } from "./controller.js";
import { lbKey, LbShare, needsWrite, RENEW_AFTER_MS, staleLbKeys } from "../../../controller/member/lb-share.js";
import type { Store } from "../../../controller/store/store.js";
import { createLogger } from "../../../shared/log/logger.js";
import { encodeRecord } from "../../../controller/store/record.js";

const rep = (o: Partial<LbApplied__Output> = {}): LbApplied__Output => ({ service: "web", lb: "lb1", kind: "haproxy", version: "ab12", applied_at_ms: 10, servers: 2, error: "", reported_at_ms: 0, ...o });

describe("LbAppliedBook", () => {
  it("keeps each lb's last report, tells listeners only when what it shows changed", () => {
    let now = 1000;
    const book = new LbAppliedBook(() => now);
    let heard = 0;
    const off = book.onChange("web", () => heard++);
    book.report(rep());
    book.report(rep()); // the periodic re-report: same state
    expect(heard).toBe(1);
    book.report(rep({ version: "cd34", applied_at_ms: 20 }));
    expect(heard).toBe(2);
    expect(book.of("web")).toEqual([rep({ version: "cd34", applied_at_ms: 20, reported_at_ms: 1000 })]);
    off();
    book.report(rep({ version: "ef56" }));
    expect(heard).toBe(2);
    now += LB_REPORT_STALE_MS + 1;
    expect(book.of("web")).toEqual([]);
  });

  it("takes another member's record with its own stamp, never over a newer one; a drop is news", () => {
    const book = new LbAppliedBook(() => 5_000);
    let heard = 0;
    book.onChange("web", () => heard++);
    book.take(rep({ reported_at_ms: 4_000 }));
    expect(book.of("web")).toEqual([rep({ reported_at_ms: 4_000 })]);
    // An older record (a watch event behind this member's own report) does not win.
    book.take(rep({ version: "0000", reported_at_ms: 3_000 }));
    expect(book.of("web")[0]!.version).toBe("ab12");
    expect(heard).toBe(1);
    book.drop("web", "lb1");
    book.drop("web", "lb1");
    expect(book.of("web")).toEqual([]);
    expect(heard).toBe(2);
  });

  it("staleLbKeys: records not renewed since the cut, stamped absurdly ahead, or unreadable — each with the revision judged", () => {
    const kvs = [
      { key: lbKey("web", "old"), value: encodeRecord(rep({ lb: "old", reported_at_ms: 100 })), modRevision: 7 },
      { key: lbKey("web", "new"), value: encodeRecord(rep({ lb: "new", reported_at_ms: 900 })), modRevision: 8 },
      { key: lbKey("web", "ahead"), value: encodeRecord(rep({ lb: "ahead", reported_at_ms: 1_000 + LB_REPORT_STALE_MS + 1 })), modRevision: 9 },
      { key: lbKey("web", "junk"), value: "{not json", modRevision: 10 },
    ];
    expect(staleLbKeys(kvs, 500, 1_000)).toEqual([
      { key: lbKey("web", "old"), modRevision: 7 },
      { key: lbKey("web", "ahead"), modRevision: 9 },
      { key: lbKey("web", "junk"), modRevision: 10 },
    ]);
  });

  it("needsWrite: what it shows changed, or the record written is old enough to renew; a re-report of the same is not a write", () => {
    expect(needsWrite(undefined, rep())).toBe(true);
    expect(needsWrite(rep({ reported_at_ms: 0 }), rep({ reported_at_ms: 60_000 }))).toBe(false);
    expect(needsWrite(rep({ reported_at_ms: 0 }), rep({ reported_at_ms: 60_000, servers: 3 }))).toBe(true);
    expect(needsWrite(rep({ reported_at_ms: 0 }), rep({ reported_at_ms: RENEW_AFTER_MS }))).toBe(true);
  });

  it("a drop (the record swept) leaves a record taken since the cut", () => {
    const book = new LbAppliedBook(() => 5_000);
    book.take(rep({ reported_at_ms: 4_000 }));
    book.drop("web", "lb1", 3_000);
    expect(book.of("web")).toHaveLength(1);
    book.drop("web", "lb1", 4_500);
    expect(book.of("web")).toHaveLength(0);
  });

  it("names every bad field of a report", () => {
    expect(validateLbReport(rep({ lb: "a b", kind: "envoy", version: "XYZ" }))).toEqual([
      expect.stringContaining("lb:"),
      expect.stringContaining("kind:"),
      expect.stringContaining("version:"),
    ]);
    expect(validateLbReport(rep())).toEqual([]);
  });

  it("endpointsVersion: the same list gives the same version, another list another", () => {
    const a = [{ instance: "web-0", host: "h1", address: "10.0.0.2", port: 8080, epoch: 1, revision: 1 }];
    expect(endpointsVersion(a)).toBe(endpointsVersion([{ ...a[0]! }]));
    expect(endpointsVersion(a)).not.toBe(endpointsVersion([]));
  });
});

describe("LbShare.publish", () => {
  it("writes the newest report per lb, one write at a time and no sooner than the gap: a flood of reports is a few writes", async () => {
    vi.useFakeTimers();
    try {
      const puts: { key: string; value: string }[] = [];
      let release!: () => void;
      let gate = new Promise<void>((r) => (release = r));
      const store = { put: async (key: string, value: string) => (puts.push({ key, value }), await gate, 1) } as unknown as Store;
      let now = 1_000;
      const share = new LbShare({ store, book: new LbAppliedBook(() => now), now: () => now, log: createLogger("test", "silent"), minGapMs: 20 });
      for (let i = 0; i < 1_000; i++) share.publish(rep({ servers: i, reported_at_ms: now }));
      // The first went out; the rest wait as one (the newest).
      expect(puts).toHaveLength(1);
      release();
      gate = Promise.resolve();
      await vi.advanceTimersByTimeAsync(19);
      expect(puts).toHaveLength(1);
      await vi.advanceTimersByTimeAsync(1);
      expect(puts).toHaveLength(2);
      expect((JSON.parse(puts[1]!.value) as { servers: number }).servers).toBe(999);
      await vi.advanceTimersByTimeAsync(100);
      expect(puts).toHaveLength(2);
      // The same state again, a minute later: not written; past RENEW_AFTER_MS: written.
      now += 60_000;
      share.publish(rep({ servers: 999, reported_at_ms: now }));
      await vi.advanceTimersByTimeAsync(100);
      expect(puts).toHaveLength(2);
      now += RENEW_AFTER_MS;
      share.publish(rep({ servers: 999, reported_at_ms: now }));
      await vi.advanceTimersByTimeAsync(100);
      expect(puts).toHaveLength(3);
      await share.close();
    } finally {
      vi.useRealTimers();
    }
  });
});

describe("ReportLbApplied", () => {
  let ctl: TestController;
  beforeAll(async () => {
    ctl = await startTestController();
  });
  afterAll(async () => {
    await ctl?.close();
  });

  it("refuses a report naming a bad field, and one for a service that does not exist", async () => {
    const c = ctl.client(ctl.tokens.lb);
    await expect(unaryP(c, "ReportLbApplied", rep({ lb: "" }))).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: expect.stringContaining("lb:") });
    await expect(unaryP(c, "ReportLbApplied", rep({ service: "nosuch" }))).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
  });
});
