import { pino } from "pino";
import { describe, expect, it } from "vitest";
import type { ControllerMessage } from "../../../shared/gen/berth/v1/ControllerMessage.js";
import { graceAfterOutageMs, moveAgentsAway, outageEvents, stallMs, StoreMonitor } from "../../../controller/member/store-monitor.js";
import type { StoreHealthChange } from "../../../controller/store/store-health.js";
import { until } from "../until.js";

describe("moveAgentsAway", () => {
  it("sends every stream it holds MoveOn for the store's loss, then closes it; hosts without a stream are left", () => {
    const sent: [string, ControllerMessage][] = [];
    const closed: [string, string][] = [];
    const live = new Map<string, { send?: (m: ControllerMessage) => void; disconnect?: (why: string) => void }>([
      ["h1", { send: (m) => sent.push(["h1", m]), disconnect: (w) => closed.push(["h1", w]) }],
      ["h2", {}],
    ]);
    expect(moveAgentsAway(live, "c1 cannot reach the store")).toEqual(["h1"]);
    expect(sent).toEqual([["h1", { move_on: { reason: "c1 cannot reach the store", preferred: "", store_unavailable: true } }]]);
    expect(closed).toEqual([["h1", "c1 cannot reach the store"]]);
  });
});

describe("outageEvents", () => {
  const c = { type: "restored" as const, lostSinceMs: Date.UTC(2026, 0, 1, 7, 0, 0), atMs: Date.UTC(2026, 0, 1, 7, 0, 38, 200), error: "no leader" };
  it("dates the outage, says it was written late, and how long it lasted", () => {
    const [lost, back] = outageEvents("c2", c, false);
    expect(lost?.type).toBe("store.unreachable");
    expect(lost?.message).toContain("controller c2 could not reach the store from 2026-01-01T07:00:00.000Z (no leader)");
    expect(lost?.message).toContain("Written when the store answered again");
    expect(lost?.message).not.toContain("leading");
    expect(back).toEqual({ type: "store.reachable", message: "controller c2 reaches the store again since 2026-01-01T07:00:38.200Z, after 38.2 s without it" });
  });
  it("says when the member was leading", () => {
    expect(outageEvents("c1", c, true)[0]?.message).toContain("it was leading, and stopped deciding within its lease");
  });
});

describe("StoreMonitor", () => {
  it("probes, says the store is lost after the probes fail, and back after one succeeds", async () => {
    let up = true;
    const changes: StoreHealthChange["type"][] = [];
    const m = new StoreMonitor({
      probe: () => (up ? Promise.resolve() : Promise.reject(new Error("etcd has no leader"))),
      ttlMs: 1_200,
      now: Date.now,
      mono: () => performance.now(),
      log: pino({ level: "silent" }),
      onChange: (c) => changes.push(c.type),
    });
    m.start();
    try {
      expect(m.state().ok).toBe(true);
      up = false;
      await until(() => changes.length === 1, "the loss");
      expect(m.state()).toMatchObject({ ok: false, error: "etcd has no leader" });
      up = true;
      await until(() => changes.length === 2, "the return");
      expect(changes).toEqual(["lost", "restored"]);
      expect(m.state().ok).toBe(true);
    } finally {
      await m.close();
    }
  });
});

describe("stallMs", () => {
  it("counts a round's lateness beyond a tenth of its period as a stall of this process", () => {
    expect(stallMs(833, 833)).toBe(0);
    expect(stallMs(900, 833)).toBe(0);
    expect(stallMs(2_833, 833)).toBe(2_000);
    expect(stallMs(400, 833)).toBe(0);
  });
});

describe("graceAfterOutageMs", () => {
  it("two TTLs from the store's return when the term starts soon after it; the usual grace otherwise", () => {
    expect(graceAfterOutageMs(3_000, 3_000, undefined, 50_000)).toBe(3_000);
    expect(graceAfterOutageMs(3_000, 3_000, 100_000, 102_000)).toBe(4_000);
    expect(graceAfterOutageMs(3_000, 3_000, 100_000, 100_500)).toBe(5_500);
    expect(graceAfterOutageMs(3_000, 3_000, 100_000, 110_000)).toBe(3_000);
  });
});
