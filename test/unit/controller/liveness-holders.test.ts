/**
 * Which member holds each host's stream (leader/liveness-reports.ts holders), for
 * `berth hosts` and `berth controllers`: from the members' liveness reports, the
 * newest naming a host winning, a killed member's last report forgotten once stale.
 */
import { describe, expect, it } from "vitest";
import { LivenessReports, type Held } from "../../../controller/leader/liveness-reports.js";
import { encodeRecord } from "../../../controller/store/record.js";
import type { Store, WatchEvent } from "../../../controller/store/store.js";
import { createLogger } from "../../../shared/log/logger.js";

/** A store holding nothing yet, whose watch the test drives. */
function watchable(): { store: Store; emit: (ev: WatchEvent) => void } {
  let cb: ((ev: WatchEvent) => void) | undefined;
  const store = {
    revision: () => Promise.resolve(1),
    scan: () => Promise.resolve([]),
    watch: (_p: string, onEvent: (ev: WatchEvent) => void) => {
      cb = onEvent;
      return Promise.resolve({ close: () => undefined });
    },
  } as unknown as Store;
  return { store, emit: (ev) => cb?.(ev) };
}

const members = (h: { byHost: Map<string, Held> }): Map<string, string> => new Map([...h.byHost].map(([id, x]) => [id, x.member]));

const put = (member: string, hosts: string[], revision: number, left: string[] = []): WatchEvent => ({
  type: "put",
  revision,
  kv: {
    key: `liveness/${member}`,
    value: encodeRecord({ member, hosts: [...hosts.map((id) => ({ id, ageMs: 100, fenced: false })), ...left.map((id) => ({ id, ageMs: 900, fenced: false, left: true }))] }),
    createRevision: 1,
    modRevision: revision,
  },
});

describe("LivenessReports.holders", () => {
  it("names the member holding each stream and counts each member's agents; a stale report counts for nothing", async () => {
    let now = 1_000;
    const { store, emit } = watchable();
    const r = new LivenessReports({ store, self: "c1", mono: () => now, log: createLogger("test", "silent") });
    await r.follow();
    emit(put("c2", ["h1", "h2"], 2));
    emit(put("c3", ["h3"], 3));
    expect(members(r.holders(5_000))).toEqual(new Map([["h1", "c2"], ["h2", "c2"], ["h3", "c3"]]));
    expect(r.holders(5_000).counts).toEqual(new Map([["c2", 2], ["c3", 1]]));

    // h2 moved to c3; c2's report naming it is older.
    now = 2_000;
    emit(put("c3", ["h3", "h2"], 4));
    expect(r.holders(5_000).byHost.get("h2")?.member).toBe("c3");
    // Counted once, for c3: c2's last report still names it, but is older.
    expect(r.holders(5_000).counts).toEqual(new Map([["c2", 1], ["c3", 2]]));

    // c2 was killed: its report ages out, c3 keeps reporting.
    now = 7_500;
    emit(put("c3", ["h3", "h2"], 5));
    const h = r.holders(5_000);
    expect(h.byHost.get("h1")).toBeUndefined();
    expect(h.counts.get("c2")).toBeUndefined();
    expect(h.counts.get("c3")).toBe(2);
    r.close();
  });

  it("a host a member reports as left is not held there, nor counted", async () => {
    const { store, emit } = watchable();
    const r = new LivenessReports({ store, self: "c1", mono: () => 1_000, log: createLogger("test", "silent") });
    await r.follow();
    emit(put("c2", ["h1"], 2, ["h2"]));
    expect(members(r.holders(5_000))).toEqual(new Map([["h1", "c2"]]));
    expect(r.holders(5_000).counts).toEqual(new Map([["c2", 1]]));
    r.close();
  });

  it("says when the holding member last heard each host, on this member's clock, and its usage", async () => {
    let now = 50_000;
    const { store, emit } = watchable();
    const r = new LivenessReports({ store, self: "c1", mono: () => now, log: createLogger("test", "silent") });
    await r.follow();
    const usage = [0.42, 0.3, 0.2, 12.5, 1_000, 8_000, 3_000, 10_000] as const;
    const MiB = 1024 * 1024;
    emit({ type: "put", revision: 2, kv: { key: "liveness/c2", value: encodeRecord({ member: "c2", hosts: [{ id: "h1", ageMs: 700, fenced: false, usage }, { id: "h2", ageMs: 100, fenced: false }] }), createRevision: 1, modRevision: 2 } });
    expect(r.holders(5_000).byHost.get("h1")).toEqual({ member: "c2", heardMono: 49_300, usage: { load1: 0.42, load5: 0.3, load15: 0.2, cpu_percent: 12.5, memory_used_bytes: 1_000 * MiB, memory_total_bytes: 8_000 * MiB, disk_used_bytes: 3_000 * MiB, disk_total_bytes: 10_000 * MiB } });
    expect(r.holders(5_000).byHost.get("h2")).toEqual({ member: "c2", heardMono: 49_900 });
    // A newer report is taken at once, though the answer was kept.
    now = 50_100;
    emit({ type: "put", revision: 3, kv: { key: "liveness/c2", value: encodeRecord({ member: "c2", hosts: [{ id: "h1", ageMs: 50, fenced: false }] }), createRevision: 1, modRevision: 3 } });
    expect(r.holders(5_000).byHost.get("h1")?.heardMono).toBe(50_050);
    expect(r.holders(5_000).byHost.get("h2")).toBeUndefined();
    r.close();
  });
});
