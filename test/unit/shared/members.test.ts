import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { MemberListError, MemberRotation, REFUSED_WITHIN_MS, formatMemberList, parseMemberList, reconnectDelayMs, refusedAtOnce, shuffledOrder } from "../../../shared/members.js";
import { DEFAULT_BACKOFF } from "../../../shared/backoff.js";
import { prng } from "../../../shared/prng.js";

describe("controller member lists", () => {
  it("parses one address or many, normalized, in the order given", () => {
    expect(parseMemberList("10.0.0.5:7420")).toEqual(["10.0.0.5:7420"]);
    expect(parseMemberList(" a:7420, b:7421 ,c")).toEqual(["a:7420", "b:7421", "c:7420"]);
    expect(parseMemberList(["a:1", "b:2,c:3"])).toEqual(["a:1", "b:2", "c:3"]);
    expect(parseMemberList("[::1]:7420,[fd00::2]")).toEqual(["[::1]:7420", "[fd00::2]:7420"]);
    expect(formatMemberList(parseMemberList("a:1,b:2"))).toBe("a:1,b:2");
  });

  it("refuses a repeated member, naming both entries, also when written two ways", () => {
    expect(() => parseMemberList("a:7420,b:7420,a:7420")).toThrow(/member 3 "a:7420" repeats member 1/);
    expect(() => parseMemberList("a,a:7420")).toThrow(/member 2 "a:7420" repeats member 1 \(a:7420\)/);
  });

  it("refuses empty and malformed entries, naming each, every problem at once", () => {
    expect(() => parseMemberList("")).toThrow(/no address given/);
    expect(() => parseMemberList(" , ")).toThrow(MemberListError);
    expect(() => parseMemberList("a:1,,b:2")).toThrow(/member 2 is empty/);
    const e = (() => {
      try {
        parseMemberList("a:1,b:99999,c d:1,a:1");
      } catch (err) {
        return err as Error;
      }
      throw new Error("accepted");
    })();
    expect(e).toBeInstanceOf(MemberListError);
    expect(e.message).toMatch(/member 2: invalid address "b:99999": port "99999" is not a number 0–65535/);
    expect(e.message).toMatch(/member 3: invalid address "c d:1"/);
    expect(e.message).toMatch(/member 4 "a:1" repeats member 1/);
  });

  it("names what is wrong with an address as people mistype it", () => {
    expect(() => parseMemberList("127.0.0.1:")).toThrow(/invalid address "127\.0\.0\.1:": no port after the colon/);
    expect(() => parseMemberList("127.0.0.1:0")).toThrow(/port 0 cannot be dialled/);
    expect(() => parseMemberList("http://127.0.0.1:7420")).toThrow(/no scheme: give HOST:PORT alone, without http:\/\//);
    expect(() => parseMemberList("127.0.0.1:7420/")).toThrow(/port "7420\/" is not a number 0–65535/);
    expect(() => parseMemberList("127.0.0.1:0x1f")).toThrow(/port "0x1f" is not a number/);
    expect(() => parseMemberList(`${"a".repeat(100_000)}:1 x`)).toThrow(/invalid address "a{63}…"/);
  });
});

describe("which member an agent dials", () => {
  const members = ["a:1", "b:1", "c:1"];
  /** A random source that returns these values in turn. */
  const seq = (...xs: number[]) => {
    let i = 0;
    return () => xs[i++ % xs.length]!;
  };

  it("starts at a member drawn at random: a fleet spreads over the members", () => {
    const counts = new Map<string, number>();
    const random = prng(7);
    for (let i = 0; i < 3000; i++) {
      const r = new MemberRotation(members, random);
      counts.set(r.current, (counts.get(r.current) ?? 0) + 1);
    }
    for (const m of members) expect(counts.get(m)).toBeGreaterThan(850);
  });

  it("on loss tries each of the others in its own order before the lost one again", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 7 }), fc.integer(), (n, seed) => {
        const ms = Array.from({ length: n }, (_, i) => `m${i}:1`);
        const r = new MemberRotation(ms, prng(seed));
        const first = r.current;
        const seen = [first];
        for (let i = 1; i < n; i++) seen.push(r.lost());
        expect(new Set(seen).size).toBe(n);
        expect(r.lost()).toBe(first); // round again, same order
      }),
    );
  });

  it("the agents of a dead member spread over the others (each agent has its own order)", () => {
    const random = prng(11);
    const next = new Map<string, number>();
    for (let i = 0; i < 3000; i++) {
      const r = new MemberRotation(members, random);
      while (r.current !== "a:1") r.lost();
      const to = r.lost();
      next.set(to, (next.get(to) ?? 0) + 1);
    }
    expect(next.get("a:1")).toBeUndefined();
    expect(next.get("b:1")).toBeGreaterThan(1200);
    expect(next.get("c:1")).toBeGreaterThan(1200);
  });

  it("a MoveOn goes to the preferred member when it is one of ours, else to the next; never the same first", () => {
    const r = new MemberRotation(members, seq(0)); // order: b, c, a (Fisher–Yates with 0s)
    expect(shuffledOrder(3, seq(0))).toEqual([1, 2, 0]);
    expect(r.current).toBe("b:1");
    expect(r.movedOn("a:1")).toBe("a:1");
    expect(r.movedOn("a:1")).toBe("b:1"); // preferred is this member: the next instead
    expect(r.movedOn("x:9")).toBe("c:1"); // not one of ours: the next
    expect(r.movedOn("not an address")).toBe("a:1");
    expect(r.movedOn("")).toBe("b:1");
    expect(r.movedOn("c:1")).toBe("c:1");
    // The order goes on from where the preferred member sits in it.
    expect(r.lost()).toBe("a:1");
    expect(new MemberRotation(["only:1"]).movedOn("")).toBe("only:1"); // a single controller: itself, after the backoff
  });

  it("remembers the last member that served", () => {
    const r = new MemberRotation(members, seq(0));
    expect(r.lastGood).toBeUndefined();
    r.welcomed();
    r.lost();
    r.lost();
    expect(r.lastGood).toBe("b:1");
  });
});

describe("the agent's wait before the next member", () => {
  const top = () => 0; // no jitter taken off: the upper bound
  const d = (failures: number, members: number, o: { ttlMs?: number; fatal?: boolean } = {}) =>
    reconnectDelayMs(DEFAULT_BACKOFF, { ttlMs: o.ttlMs ?? 5000, failures, members, fatal: o.fatal ?? false }, top);

  it("grows per round over the members, not per member", () => {
    expect([0, 1, 2, 3, 4, 5, 6].map((f) => d(f, 3))).toEqual([200, 200, 200, 400, 400, 400, 800]);
    // One member: every failure is a round, as a single controller always had.
    expect([0, 1, 2, 3].map((f) => d(f, 1))).toEqual([200, 400, 800, 1600]);
  });

  it("when nothing listens, waits the round's delay once a round: the other members of a round are dialled a first step apart", () => {
    const r = (failures: number, members = 3) => reconnectDelayMs(DEFAULT_BACKOFF, { ttlMs: 5000, failures, members, fatal: false, refused: true }, top);
    expect([0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((f) => r(f))).toEqual([200, 200, 200, 400, 200, 200, 800, 200, 200, 1600]);
    expect([0, 1, 2, 3].map((f) => r(f, 1))).toEqual([200, 400, 800, 1600]);
    // Every member down for long (all restarting): whichever member serves first, the dials before it
    // in the next round cost 200 ms each, not a capped wait each.
    const waits = [300, 301, 302].map((f) => r(f));
    expect(waits).toEqual([2500, 200, 200]);
    // Before: up to 3 × 2.5 s.
    expect([300, 301, 302].map((f) => d(f, 3))).toEqual([2500, 2500, 2500]);
  });

  it("tells a refused dial by its speed: a saturated or cut-off member (slow, or MoveOn) is no reason to hurry", () => {
    expect(refusedAtOnce({ welcomed: false, sentAway: false, tookMs: 4 })).toBe(true);
    expect(refusedAtOnce({ welcomed: false, sentAway: false, tookMs: REFUSED_WITHIN_MS })).toBe(false);
    expect(refusedAtOnce({ welcomed: false, sentAway: true, tookMs: 4 })).toBe(false);
    expect(refusedAtOnce({ welcomed: true, sentAway: false, tookMs: 4 })).toBe(false);
  });

  it("is capped at half the TTL, so an agent is back within a restarted controller's grace", () => {
    expect(d(300, 3)).toBe(2500);
    expect(d(300, 3, { ttlMs: 3000 })).toBe(1500);
    expect(d(0, 3, { fatal: true })).toBe(2500);
  });

  it("jitters downwards by up to half", () => {
    expect(reconnectDelayMs(DEFAULT_BACKOFF, { ttlMs: 5000, failures: 3, members: 3, fatal: false }, () => 1)).toBe(200);
    fc.assert(
      fc.property(fc.nat(60), fc.integer({ min: 1, max: 9 }), fc.double({ min: 0, max: 1, noNaN: true }), (failures, members, r) => {
        const v = reconnectDelayMs(DEFAULT_BACKOFF, { ttlMs: 5000, failures, members, fatal: false }, () => r);
        expect(v).toBeGreaterThanOrEqual(100);
        expect(v).toBeLessThanOrEqual(2500);
      }),
    );
  });
});
