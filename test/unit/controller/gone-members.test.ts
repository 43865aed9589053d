/**
 * Members gone missing from a controller group (controller/member/gone-members.ts):
 * lost only after missing from every read for the wait, once; back when registered
 * again; a record that says gone while the member is registered is cleared.
 */
import { describe, expect, it } from "vitest";
import { FORGET_LEFT_AFTER_MS, FORGET_LOST_AFTER_MS, GoneMembers, toForget, watchGoneMembers, type GoneGroup } from "../../../controller/member/gone-members.js";
import { createLogger } from "../../../shared/log/logger.js";

const seen = (...ids: (string | [string, boolean])[]): { id: string; gone: boolean }[] => ids.map((x) => (typeof x === "string" ? { id: x, gone: false } : { id: x[0], gone: x[1] }));

describe("GoneMembers", () => {
  it("calls a member lost once it has been missing for the wait, dated from the first read that missed it", () => {
    const g = new GoneMembers(6_000);
    expect(g.note(["c1", "c2", "c3"], seen("c1", "c2", "c3"), 0, 100_000)).toEqual({ lost: [], back: [], clear: [] });
    expect(g.note(["c1", "c2"], seen("c1", "c2", "c3"), 1_000, 101_000).lost).toEqual([]);
    expect(g.note(["c1", "c2"], seen("c1", "c2", "c3"), 6_999, 106_999).lost).toEqual([]);
    expect(g.note(["c1", "c2"], seen("c1", "c2", "c3"), 7_000, 107_000).lost).toEqual([{ id: "c3", sinceMs: 101_000 }]);
    // Not recorded (the write failed): found again on the next read.
    expect(g.note(["c1", "c2"], seen("c1", "c2", "c3"), 7_500, 107_500).lost).toEqual([{ id: "c3", sinceMs: 101_000 }]);
    g.announced("c3");
    // Once: the record now says gone, and this term has said so.
    expect(g.note(["c1", "c2"], seen("c1", "c2", ["c3", true]), 8_000, 108_000).lost).toEqual([]);
    // Back: news, once.
    expect(g.note(["c1", "c2", "c3"], seen("c1", "c2", ["c3", true]), 9_000, 109_000)).toEqual({ lost: [], back: ["c3"], clear: ["c3"] });
    expect(g.note(["c1", "c2", "c3"], seen("c1", "c2", "c3"), 10_000, 110_000).back).toEqual([]);
  });

  it("a whole group restarting within the wait is not lost; a member missing then present starts its wait over", () => {
    const g = new GoneMembers(6_000);
    expect(g.note(["c1"], seen("c1", "c2", "c3"), 0, 0).lost).toEqual([]);
    expect(g.note(["c1", "c2", "c3"], seen("c1", "c2", "c3"), 3_000, 3_000).lost).toEqual([]);
    expect(g.note(["c1", "c2"], seen("c1", "c2", "c3"), 4_000, 4_000).lost).toEqual([]);
    expect(g.note(["c1", "c2"], seen("c1", "c2", "c3"), 9_000, 9_000).lost).toEqual([]);
    expect(g.note(["c1", "c2"], seen("c1", "c2", "c3"), 10_000, 10_000).lost).toEqual([{ id: "c3", sinceMs: 4_000 }]);
  });

  it("a member recorded gone before this term (it left cleanly, or an earlier leader said so) is not announced again", () => {
    const g = new GoneMembers(1_000);
    expect(g.note(["c1"], seen("c1", ["c2", true]), 0, 0).lost).toEqual([]);
    expect(g.note(["c1"], seen("c1", ["c2", true]), 5_000, 5_000).lost).toEqual([]);
  });
});

/** A member's registration record. */
const rec = (id: string) => ({ id, address: `${id}:7420`, startedAtMs: 0 });

/** watchGoneMembers over `group` (its other methods stand-ins that succeed), on the given clocks; the events it appends, by type and message. */
function watch(group: Pick<GoneGroup, "seen" | "lastMembers"> & Partial<GoneGroup>, clock: { mono: () => number; wall: () => number }) {
  const events: { type: string; message: string }[] = [];
  const onMembers = watchGoneMembers({
    group: { markGone: async () => true, markPresent: async () => true, reap: async () => true, ...group },
    afterMs: 5,
    mono: clock.mono,
    now: clock.wall,
    log: createLogger("test", "silent"),
    append: async (e) => void events.push(e),
  });
  return { onMembers, events };
}

describe("watchGoneMembers", () => {
  it("reads the seen records only while something may change: not again for the same members, all settled", async () => {
    let seenReads = 0;
    const marked: string[] = [];
    let t = 0;
    const { onMembers, events } = watch(
      {
        seen: async () => (seenReads++, [rec("c1"), rec("c2"), rec("c3")].map((r) => ({ ...r, modRevision: "1", ...(marked.includes(r.id) ? { goneSinceMs: 1 } : {}) }))),
        markGone: async (r) => (marked.push(r.id), true),
        lastMembers: () => [rec("c1"), rec("c2")],
      },
      { mono: () => t, wall: () => t },
    );
    const all = [rec("c1"), rec("c2"), rec("c3")];
    await onMembers(all);
    await onMembers(all);
    expect(seenReads).toBe(1);
    // c3 missing: looked at on every read until it is recorded lost, then settled again.
    const two = [rec("c1"), rec("c2")];
    await onMembers(two);
    t = 10;
    await onMembers(two);
    expect(events.map((e) => e.type)).toEqual(["controller.lost"]);
    const reads = seenReads;
    await onMembers(two);
    expect(seenReads).toBe(reads + 1);
    await onMembers(two);
    expect(seenReads).toBe(reads + 1);
  });
});

describe("a member back", () => {
  it("is announced by the leader's write that records it present, whichever term recorded it gone — and not when the member's own write did", async () => {
    // c2 was recorded lost by an earlier term; it registers again without rewriting its record (a lapsed lease renewed).
    const gone = { ...rec("c2"), modRevision: "7", goneSinceMs: 1_000, left: false };
    const present: string[] = [];
    const { onMembers, events } = watch(
      { seen: async () => [{ ...rec("c1"), modRevision: "1" }, gone], markPresent: async (r) => (present.push(r.id), true), lastMembers: () => [rec("c1"), rec("c2")] },
      { mono: () => 0, wall: () => 0 },
    );
    await onMembers([rec("c1"), rec("c2")]);
    expect(present).toEqual(["c2"]);
    expect(events).toEqual([{ type: "controller.back", message: "controller c2 at c2:7420 is registered again (lost at 1970-01-01T00:00:01.000Z)" }]);

    // The member's own registration rewrote the record first: the leader's write changes nothing, and says nothing.
    const late = watch({ seen: async () => [{ ...rec("c1"), modRevision: "1" }, gone], markPresent: async () => false, lastMembers: () => [rec("c1"), rec("c2")] }, { mono: () => 0, wall: () => 0 });
    await late.onMembers([rec("c1"), rec("c2")]);
    expect(late.events).toEqual([]);
  });
});

describe("forgetting members gone for long", () => {
  it("forgets one that left after 24 h and one lost after 72 h, never a registered one", () => {
    const H = 3_600_000;
    const now = 100 * H;
    const seen = [
      { id: "left-long", address: "a", startedAtMs: 0, goneSinceMs: now - 25 * H, left: true },
      { id: "left-now", address: "b", startedAtMs: 0, goneSinceMs: now - 23 * H, left: true },
      { id: "lost-long", address: "c", startedAtMs: 0, goneSinceMs: now - 73 * H, left: false },
      { id: "lost-now", address: "d", startedAtMs: 0, goneSinceMs: now - 25 * H, left: false },
      { id: "back", address: "e", startedAtMs: 0, goneSinceMs: now - 80 * H, left: false },
      { id: "up", address: "f", startedAtMs: 0 },
    ];
    expect(FORGET_LEFT_AFTER_MS).toBe(24 * H);
    expect(FORGET_LOST_AFTER_MS).toBe(72 * H);
    expect(toForget(seen, ["back", "up"], now).map((m) => m.id)).toEqual(["left-long", "lost-long"]);
  });

  it("the leader looks again hourly while nothing else changes, deletes the record and says so", async () => {
    let seenReads = 0;
    const reaped: string[] = [];
    let mono = 0;
    let wall = 1_000_000;
    const leftAt = wall;
    const { onMembers, events } = watch(
      {
        seen: async () => (seenReads++, [{ ...rec("c1"), modRevision: "1" }, ...(reaped.includes("c9") ? [] : [{ ...rec("c9"), modRevision: "2", goneSinceMs: leftAt, left: true }])]),
        reap: async (r) => (reaped.push(r.id), true),
        lastMembers: () => [rec("c1")],
      },
      { mono: () => mono, wall: () => wall },
    );
    await onMembers([rec("c1")]);
    await onMembers([rec("c1")]);
    expect(seenReads).toBe(1);
    expect(reaped).toEqual([]);
    // A day later (the members unchanged all along): the hourly look forgets c9.
    mono += FORGET_LEFT_AFTER_MS;
    wall += FORGET_LEFT_AFTER_MS;
    await onMembers([rec("c1")]);
    expect(seenReads).toBe(2);
    expect(reaped).toEqual(["c9"]);
    expect(events.map((e) => `${e.type}: ${e.message}`)).toEqual([expect.stringMatching(/^controller\.forgotten: controller c9 at c9:7420, left since \S+, is forgotten \(a member gone is listed for 24 h after it leaves\); when it runs again, it registers anew$/)]);
    await onMembers([rec("c1")]);
    expect(seenReads).toBe(2);
  });
});
