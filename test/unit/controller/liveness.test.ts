/**
 * Liveness across a controller group (failure/liveness.ts): the member holding a
 * stream reports heartbeat ages; the leader places them on its own monotonic
 * clock as they arrive and judges on the newest source. Clocks are injected.
 */
import { describe, expect, it } from "vitest";
import { buildReport, LivenessReportSchema, RECENT_STREAM_MS, usageOf, liveHeard, livenessInput, localHeard, localLiveness, mergeLiveness, reportEveryMs, type HostHeard } from "../../../controller/failure/liveness.js";
import { judgeLiveness } from "../../../controller/failure/detector.js";
import type { HostLive } from "../../../controller/hosts/registry.js";

function live(lastHeartbeatMono: number | undefined, o: { connected?: boolean; fencing?: string[] } = {}): HostLive {
  return { lastHeartbeatMs: undefined, lastHeartbeatMono, usage: null, artifacts: [], fencing: new Set(o.fencing ?? []), send: o.connected === false ? undefined : () => undefined };
}

describe("liveness reports", () => {
  it("a member reports the hosts whose streams it holds, with their heartbeat ages on its own clock", () => {
    const registry = { live: new Map([["h1", live(9_000)], ["h2", live(7_500, { fencing: ["web-0"] })], ["h3", live(9_900, { connected: false })], ["h4", live(undefined)]]) };
    expect(buildReport("b", registry, 10_000)).toEqual({
      member: "b",
      hosts: [
        { id: "h1", ageMs: 1000, fenced: false },
        { id: "h2", ageMs: 2500, fenced: true },
      ],
    });
  });

  it("a host's usage travels with its age, compact (bytes in MiB); a host left behind carries none", () => {
    const MiB = 1024 * 1024;
    const usage = { load1: 0.4249, load5: 0.3, load15: 0.2, cpu_percent: 12.345, memory_used_bytes: 1000.4 * MiB, memory_total_bytes: 8000 * MiB, disk_used_bytes: Number.NaN, disk_total_bytes: -1 };
    const registry = { live: new Map([["h1", { ...live(9_000), usage }], ["h3", { ...live(9_900, { connected: false }), usage }]]) };
    const r = buildReport("b", registry, 10_000, 6_000);
    expect(r.hosts).toEqual([
      { id: "h1", ageMs: 1000, fenced: false, usage: [0.42, 0.3, 0.2, 12.35, 1000, 8000, 0, 0] },
      { id: "h3", ageMs: 100, fenced: false, left: true },
    ]);
    // Bytes to the MiB.
    expect(usageOf(r.hosts[0]!.usage!)).toEqual({ load1: 0.42, load5: 0.3, load15: 0.2, cpu_percent: 12.35, memory_used_bytes: 1000 * MiB, memory_total_bytes: 8000 * MiB, disk_used_bytes: 0, disk_total_bytes: 0 });
    // What a report may hold is checked as it is read.
    expect(LivenessReportSchema.safeParse({ member: "b", hosts: [{ id: "h1", ageMs: 1, fenced: false, usage: [1, 2, 3] }] }).success).toBe(false);
    expect(LivenessReportSchema.safeParse({ member: "b", hosts: [{ id: "h1", ageMs: 1, fenced: false, usage: [1, 2, 3, 4, 5, 6, 7, -8] }] }).success).toBe(false);
  });

  it("a report written right after the member stalled leaves the stall out of its hosts' ages", () => {
    // h1 heard at 9 s; the member blocked from 9.5 s to 15.5 s, its report timer fires before the socket is read.
    const registry = { live: new Map([["h1", live(9_000)], ["h2", live(3_000)]]) };
    const stalledSince = (t: number): number => (t < 15_500 ? Math.min(6000, 15_500 - Math.max(t, 9_500)) : 0);
    expect(buildReport("b", registry, 15_600, 0, stalledSince).hosts).toEqual([
      { id: "h1", ageMs: 600, fenced: false },
      { id: "h2", ageMs: 6600, fenced: false },
    ]);
  });

  it("names when a host's stream began only for streams begun within RECENT_STREAM_MS (a reconnect to the same member is another stream); a steady fleet's report carries nothing more", () => {
    const wall = 1_000_000;
    const registry = { live: new Map([["h1", { ...live(9_000), connectedAtMs: wall - 5_000 }], ["h2", { ...live(9_000), connectedAtMs: wall - RECENT_STREAM_MS - 1 }]]) };
    expect(buildReport("b", registry, 10_000, 0, undefined, wall).hosts).toEqual([
      { id: "h1", ageMs: 1000, fenced: false, connectedAtMs: wall - 5_000 },
      { id: "h2", ageMs: 1000, fenced: false },
    ]);
    // Without a wall clock (older callers), none.
    expect(buildReport("b", registry, 10_000).hosts.every((h) => h.connectedAtMs === undefined)).toBe(true);
  });

  it("a host whose stream ended is still reported, marked left, until its heartbeat is keepLeftMs old", () => {
    const registry = { live: new Map([["h1", live(9_000)], ["h3", live(9_900, { connected: false })], ["h5", live(3_000, { connected: false })]]) };
    expect(buildReport("b", registry, 10_000, 6_000).hosts).toEqual([
      { id: "h1", ageMs: 1000, fenced: false },
      { id: "h3", ageMs: 100, fenced: false, left: true },
    ]);
  });

  it("a host whose agent left a member (restarted, or moving to another) is judged one TTL after its last heartbeat, not at once", () => {
    // TTL 3 s. h1's stream on b ended at 10 s (its last heartbeat at 9.8 s); b reports at 10.5 s, received at once.
    const ttlMs = 3000;
    const cfg = { ttlMs, graceUntilMs: 0, startedAtMs: 0 };
    const hosts = [{ id: "h1", health: "ready" as const }];
    const registry = { live: new Map([["h1", live(9_800, { connected: false })]]) };
    const heard = mergeLiveness(new Map(), [{ report: buildReport("b", registry, 10_500, 2 * ttlMs), receivedMono: 10_500 }]);
    // Without b saying so, the leader would know no heartbeat of h1 at all: down at once.
    expect(judgeLiveness(livenessInput(hosts, heard), 10_600, cfg)).toEqual([]);
    expect(judgeLiveness(livenessInput(hosts, heard), 12_800, cfg)).toEqual([]);
    expect(judgeLiveness(livenessInput(hosts, heard), 12_801, cfg)).toEqual([{ id: "h1", to: "down", silentForMs: 3001 }]);
    // Its agent reconnected to c, which reports it: the newer word wins.
    const moved = mergeLiveness(new Map(), [
      { report: buildReport("b", registry, 11_500, 2 * ttlMs), receivedMono: 11_500 },
      { report: { member: "c", hosts: [{ id: "h1", ageMs: 200, fenced: false }] }, receivedMono: 11_700 },
    ]);
    expect(moved.get("h1")?.lastHeartbeatMono).toBe(11_500);
  });

  it("the leader places ages on its own clock when the report arrives, and the newest source wins", () => {
    const local = new Map<string, HostHeard>([["h1", { lastHeartbeatMono: 50_000, fenced: false }]]);
    // Member b's clock is nowhere near the leader's: only ages travel.
    const merged = mergeLiveness(local, [
      { report: { member: "b", hosts: [{ id: "h1", ageMs: 500, fenced: true }, { id: "h2", ageMs: 1200, fenced: false }] }, receivedMono: 51_000 },
      { report: { member: "c", hosts: [{ id: "h2", ageMs: 4000, fenced: true }] }, receivedMono: 51_000 },
    ]);
    // h1 moved to b's stream (newer than the leader's own last heartbeat): b's word counts, fencing included.
    expect(merged.get("h1")).toEqual({ lastHeartbeatMono: 50_500, fenced: true });
    // h2: c's report is the older one (a stream h2 left).
    expect(merged.get("h2")).toEqual({ lastHeartbeatMono: 49_800, fenced: false });
  });

  it("a host reported by a member that then stops reporting goes down one TTL after its last heartbeat, not later", () => {
    const ttlMs = 5000;
    const cfg = { ttlMs, graceUntilMs: 0, startedAtMs: 0 };
    const heard = mergeLiveness(new Map(), [{ report: { member: "b", hosts: [{ id: "h1", ageMs: 1000, fenced: false }] }, receivedMono: 20_000 }]);
    const hosts = [{ id: "h1", health: "ready" as const }];
    // Last heartbeat at 19 000 on the leader's clock.
    expect(judgeLiveness(livenessInput(hosts, heard), 24_000, cfg)).toEqual([]);
    expect(judgeLiveness(livenessInput(hosts, heard), 24_001, cfg)).toEqual([{ id: "h1", to: "down", silentForMs: 5001 }]);
  });

  describe("a member gone silent (cut off alone): its hosts get the time their agents need to move", () => {
    // TTL 3 s, reports every 1 s: silent after 1.5 s without one, its hosts counted as heard 4 s later.
    const ttlMs = 3000;
    const grace = (nowMono: number) => ({ nowMono, silentAfterMs: 1500, extraMs: 4000, ttlMs });
    const cfg = { ttlMs, graceUntilMs: 0, startedAtMs: 0 };
    const hosts = [{ id: "h1", health: "ready" as const }];
    const fromB = [{ report: { member: "b", hosts: [{ id: "h1", ageMs: 400, fenced: false }] }, receivedMono: 10_000 }];
    const judge = (now: number, reports = fromB) => judgeLiveness(livenessInput(hosts, mergeLiveness(new Map(), reports, grace(now))), now, cfg);

    it("without the grace h1 would be down at 12.6 s, before its agent (watchdog at ~12.6 s) could be heard elsewhere", () => {
      expect(judgeLiveness(livenessInput(hosts, mergeLiveness(new Map(), fromB)), 12_601, cfg)).toEqual([{ id: "h1", to: "down", silentForMs: 3001 }]);
    });

    it("with it: not down at 12.6 s nor 16.6 s, down after 16.6 s if heard nowhere else", () => {
      expect(judge(11_400)).toEqual([]);
      expect(judge(12_601)).toEqual([]);
      expect(judge(16_600)).toEqual([]);
      expect(judge(16_601)).toEqual([{ id: "h1", to: "down", silentForMs: 3001 }]);
    });

    it("never a heartbeat in the future: while the grace runs, the host looks just heard", () => {
      expect(mergeLiveness(new Map(), fromB, grace(12_000)).get("h1")).toEqual({ lastHeartbeatMono: 12_000, fenced: false });
      expect(mergeLiveness(new Map(), fromB, grace(11_000)).get("h1")).toEqual({ lastHeartbeatMono: 9_600, fenced: false });
    });

    it("a host already overdue when the silence began gets nothing", () => {
      const old = [{ report: { member: "b", hosts: [{ id: "h1", ageMs: 2000, fenced: false }] }, receivedMono: 10_000 }];
      // Heard at 8 s: overdue at 11 s, before b was silent (11.5 s).
      expect(mergeLiveness(new Map(), old, grace(12_000)).get("h1")?.lastHeartbeatMono).toBe(8_000);
    });

    it("the newest source is chosen by when the host was really heard: a stream it moved to wins, fencing included", () => {
      const moved = [...fromB, { report: { member: "c", hosts: [{ id: "h1", ageMs: 100, fenced: true }] }, receivedMono: 13_000 }];
      expect(mergeLiveness(new Map(), moved, grace(13_500)).get("h1")).toEqual({ lastHeartbeatMono: 12_900, fenced: true });
      const local = new Map<string, HostHeard>([["h1", { lastHeartbeatMono: 13_200, fenced: false }]]);
      expect(mergeLiveness(local, fromB, grace(13_500)).get("h1")).toEqual({ lastHeartbeatMono: 13_200, fenced: false });
    });

    it("a host that had left the member before it fell silent gets nothing: its agent is reconnecting elsewhere already", () => {
      const left = [{ report: { member: "b", hosts: [{ id: "h1", ageMs: 400, fenced: false, left: true as const }] }, receivedMono: 10_000 }];
      expect(mergeLiveness(new Map(), left, grace(12_000)).get("h1")?.lastHeartbeatMono).toBe(9_600);
    });

    it("a member that reports again is taken at its word", () => {
      const again = [{ report: { member: "b", hosts: [{ id: "h1", ageMs: 2500, fenced: false }] }, receivedMono: 14_000 }];
      expect(mergeLiveness(new Map(), again, grace(14_100)).get("h1")?.lastHeartbeatMono).toBe(11_500);
    });
  });

  it("a live host never looks older than TTL/3 plus a heartbeat: reports come three times a TTL", () => {
    expect(reportEveryMs(5000)).toBe(1666);
    // 1,000 hosts, 3 members, TTL 5 s: 3 writes every 1.67 s, whatever the heartbeat rate.
    const writesPerSecond = 3 / (reportEveryMs(5000) / 1000);
    expect(writesPerSecond).toBeLessThan(2);
  });

  it("a lone controller's detector reads its own streams as they are now, as localHeard would copy them", () => {
    const registry = { live: new Map([["h1", live(9_000)], ["h2", live(7_500, { fencing: ["web-0"] })], ["h4", live(undefined)]]) };
    const view = liveHeard(registry);
    for (const id of ["h1", "h2", "h4", "nope"]) expect(view.get(id)).toEqual(localHeard(registry).get(id));
    // A view, not a copy: a heartbeat after it was made is seen.
    registry.live.get("h1")!.lastHeartbeatMono = 9_800;
    registry.live.set("h5", live(9_900));
    expect(view.get("h1")).toEqual({ lastHeartbeatMono: 9_800, fenced: false });
    const hosts = [{ id: "h1", health: "ready" as const }, { id: "h5", health: "joining" as const }];
    expect(judgeLiveness(livenessInput(hosts, view), 10_000, { ttlMs: 5000, graceUntilMs: 0, startedAtMs: 0 })).toEqual([{ id: "h5", to: "ready", silentForMs: 100 }]);
  });

  it("a lone controller's detector input, read straight from the registry, is livenessInput over localHeard", () => {
    const views = new Map([["h1", live(9_000)], ["h2", live(7_500, { fencing: ["web-0"] })], ["h4", live(undefined)], ["gone", live(8_000)]]);
    const recs = [
      { id: "h1", health: "ready" as const },
      { id: "h2", health: "down" as const },
      { id: "h3", health: "joining" as const },
      { id: "h4", health: "ready" as const },
    ];
    const registry = { live: views, all: () => recs };
    expect(localLiveness(registry as never)).toEqual(livenessInput(recs, localHeard(registry)));
    expect(localLiveness(registry as never)).toEqual([
      { id: "h1", health: "ready", lastHeartbeatMs: 9_000, fenced: false },
      { id: "h2", health: "down", lastHeartbeatMs: 7_500, fenced: true },
      { id: "h3", health: "joining", lastHeartbeatMs: undefined, fenced: false },
      { id: "h4", health: "ready", lastHeartbeatMs: undefined, fenced: false },
    ]);
  });
});
