import { describe, expect, it } from "vitest";
import { KeepAliveLedger, leaseLostAt } from "../../../controller/store/election.js";

describe("leaseLostAt", () => {
  it("is TTL after the send of the last answered keep-alive, less the margin", () => {
    expect(leaseLostAt(12_000, 5_000, 500)).toBe(16_500);
  });
});

describe("KeepAliveLedger (injected times)", () => {
  it("counts from the grant's send until a keep-alive is answered", () => {
    const l = new KeepAliveLedger(1_000, 5_000, 500);
    expect(l.lostAt()).toBe(5_500);
    expect(l.isLost(5_499)).toBe(false);
    expect(l.isLost(5_500)).toBe(true);
  });

  it("an answer moves the deadline to TTL after that request's send, not after the answer", () => {
    const l = new KeepAliveLedger(0, 5_000, 500);
    l.sent(1_000);
    l.sent(2_000);
    // Answered late (at, say, 4 000): what counts is when the request left.
    expect(l.answered(5)).toBe(true);
    expect(l.lostAt()).toBe(5_500);
    expect(l.answered(5)).toBe(true);
    expect(l.lostAt()).toBe(6_500);
  });

  it("a cut-off leader is judged lost within the TTL though nothing ever answers again", () => {
    const l = new KeepAliveLedger(0, 5_000, 500);
    l.sent(1_000);
    l.answered(5);
    for (let t = 2_000; t < 20_000; t += 1_000) l.sent(t);
    expect(l.isLost(5_499)).toBe(false);
    expect(l.isLost(5_500)).toBe(true);
  });

  it("etcd saying TTL 0 (the lease is gone) is a loss", () => {
    const l = new KeepAliveLedger(0, 5_000, 500);
    l.sent(100);
    expect(l.answered(0)).toBe(false);
    expect(l.lostAt()).toBe(4_500);
  });

  it("answers after a stream reset are not matched to requests of the old stream", () => {
    const l = new KeepAliveLedger(0, 5_000, 500);
    l.sent(1_000);
    l.streamReset();
    l.sent(3_000);
    l.answered(5);
    expect(l.lostAt()).toBe(7_500);
  });

  it("a keep-alive unanswered for longer than overdueMs marks the stream stalled; an answer or a new stream clears it", () => {
    const l = new KeepAliveLedger(0, 3_000, 300);
    expect(l.stalled(10_000, 500)).toBe(false);
    l.sent(1_000);
    expect(l.stalled(1_500, 500)).toBe(false);
    expect(l.stalled(1_501, 500)).toBe(true);
    l.answered(3);
    expect(l.stalled(5_000, 500)).toBe(false);
    l.sent(6_000);
    l.streamReset();
    expect(l.stalled(9_000, 500)).toBe(false);
  });
});
