import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { endpointsVersion, LB_REPORT_STALE_MS, LbAppliedBook, validateLbReport } from "../../../controller/member/api/lb-handlers.js";
import type { LbApplied__Output } from "../../../shared/gen/berth/v1/LbApplied.js";
import { startTestController, unaryP, type TestController } from "./controller.js";
import { lbKey, staleLbKeys } from "../../../controller/member/lb-share.js";
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

  it("staleLbKeys: records not renewed since the cut, and records that cannot be read", () => {
    const kvs = [
      { key: lbKey("web", "old"), value: encodeRecord(rep({ lb: "old", reported_at_ms: 100 })) },
      { key: lbKey("web", "new"), value: encodeRecord(rep({ lb: "new", reported_at_ms: 900 })) },
      { key: lbKey("web", "junk"), value: "{not json" },
    ];
    expect(staleLbKeys(kvs, 500)).toEqual([lbKey("web", "old"), lbKey("web", "junk")]);
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
