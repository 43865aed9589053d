/**
 * A flood of calls with invalid tokens: refusals of callers nobody identified
 * are summed into one entry per source address per window, in a log of their
 * own, so every earlier entry of an identified caller stays, and memory stays
 * bounded.
 */
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AuditEntry__Output } from "../../../shared/gen/berth/v1/AuditEntry.js";
import { startTestController, unaryP, type TestController } from "./controller.js";
import { until } from "../until.js";

const FLOOD = 20_000;

describe("a flood of invalid-token calls", () => {
  let ctl: TestController;
  let t = Date.parse("2026-12-01T10:00:00Z");
  beforeAll(async () => {
    ctl = await startTestController({ now: () => t });
  });
  afterAll(async () => {
    await ctl?.close();
  }, 30_000);

  it("keeps every earlier authenticated entry and adds a bounded number of aggregated ones", async () => {
    const op = ctl.client(ctl.tokens.operator);
    const admin = ctl.client(ctl.tokens.admin);
    // Audited calls of identified callers: refused (no such host), but attributed.
    for (let i = 0; i < 5; i++) await unaryP(op, "Cordon", { id: `nohost${i}` }).catch(() => undefined);
    const list = async (): Promise<AuditEntry__Output[]> => (await unaryP<object, { entries: AuditEntry__Output[] }>(admin, "ListAudit", { limit: 100_000 })).entries;
    // An entry is appended as its call is answered, not before: the last may land just after the client has its answer.
    let identified: AuditEntry__Output[] = [];
    const polling = setInterval(() => void list().then((l) => (identified = l.filter((e) => e.token_id !== ""))), 50);
    try {
      await until(() => identified.length >= 5, "the 5 attributed entries", 10_000, 20);
    } finally {
      clearInterval(polling);
    }

    global.gc?.();
    const rssBefore = process.memoryUsage().rss;
    const bad = ctl.client("bt1.0123456789.notarealsecretnotarealsecret00");
    let refused = 0;
    const worker = async (n: number): Promise<void> => {
      for (let i = 0; i < n; i++) {
        const err = await unaryP(bad, "Cordon", { id: "x" }).then(
          () => undefined,
          (e: grpc.ServiceError) => e,
        );
        if (err?.code === grpc.status.UNAUTHENTICATED) refused++;
      }
    };
    const started = Date.now();
    await Promise.all(Array.from({ length: 50 }, () => worker(FLOOD / 50)));
    const floodMs = Date.now() - started;
    expect(refused).toBe(FLOOD);
    global.gc?.();
    const rssAfter = process.memoryUsage().rss;
    console.log(`audit flood: ${FLOOD} refused calls in ${floodMs} ms; rss ${(rssBefore / 2 ** 20).toFixed(0)} MiB → ${(rssAfter / 2 ** 20).toFixed(0)} MiB`);
    // Generous: the client's own buffers and the JIT share this process.
    expect(rssAfter - rssBefore).toBeLessThan(256 * 2 ** 20);

    // The window ends; the flusher writes one entry for the one source.
    t += 61_000;
    let after: AuditEntry__Output[] = [];
    const poll = setInterval(() => void list().then((l) => (after = l)), 200);
    try {
      await until(() => after.some((e) => e.token_id === "" && e.count > 0), "the aggregated entry", 15_000, 100);
    } finally {
      clearInterval(poll);
    }
    for (const e of identified) expect(after.find((a) => a.seq === e.seq && a.token_id === e.token_id && a.method === e.method)).toBeDefined();
    const unidentified = after.filter((e) => e.token_id === "");
    expect(unidentified.length).toBeLessThanOrEqual(2);
    expect(unidentified.reduce((n, e) => n + e.count, 0)).toBe(FLOOD);
    expect(unidentified[0]).toMatchObject({ peer: "127.0.0.1", code: grpc.status.UNAUTHENTICATED });
    expect(unidentified[0]!.error).toMatch(/^20000 refused calls from 127\.0\.0\.1 \(malformed token: .*\) between 2026-12-01T10:00:00\.000Z and /);
  }, 240_000);
});
