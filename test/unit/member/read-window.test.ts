/**
 * The read window of an agent's stream (controller/member/agent-stream/read-window.ts):
 * what an agent has not proved it read stays within the window, whatever it does.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ReadWindow, READ_WINDOW_BYTES } from "../../../controller/member/agent-stream/read-window.js";
import type { ControllerMessage } from "../../../shared/gen/berth/v1/ControllerMessage.js";

/** A message of about `bytes` on the wire (the size function below reads it back). */
const msg = (n: number, bytes = 1000): ControllerMessage => ({ trust_bundle: { ca_pem: `r${n}:${"x".repeat(bytes)}` } });
const ack = (seq: number): ControllerMessage => ({ heartbeat_ack: { seq, sent_at_ms: 0 } });

function harness(o: { limit?: number; maxHeld?: number } = {}) {
  const written: ControllerMessage[] = [];
  const overs: string[] = [];
  let next = 1000;
  const w = new ReadWindow(
    (m) => void written.push(m),
    (why) => void overs.push(why),
    { size: (m) => m.trust_bundle?.ca_pem?.length ?? 100, token: () => next++, ...o },
  );
  const asked = (): number[] => written.filter((m) => m.read_receipt).map((m) => Number(m.read_receipt!.token));
  const delivered = (): string[] => written.filter((m) => m.trust_bundle).map((m) => m.trust_bundle!.ca_pem!.split(":")[0]!);
  return { w, written, overs, asked, delivered };
}

describe("an agent stream's read window", () => {
  it("passes everything through while the agent reads, asking a receipt every quarter window", () => {
    const h = harness();
    for (let i = 0; i < 40; i++) {
      h.w.send(msg(i));
      // A reading agent answers each receipt at once.
      for (const t of h.asked()) h.w.receipt(t);
    }
    expect(h.delivered()).toHaveLength(40);
    // One each quarter window sent (a message may overshoot it): 40 messages of ~1 KB.
    const total = 40 * 1003;
    expect(h.asked().length).toBeGreaterThanOrEqual(Math.floor(total / (READ_WINDOW_BYTES / 4 + 1003 + 32)));
    expect(h.asked().length).toBeLessThanOrEqual(Math.ceil(total / (READ_WINDOW_BYTES / 4)));
    expect(h.w.waiting).toBe(0);
  });

  it("an agent that reads nothing: at most a window of it unread, acks dropped, past maxHeld the stream ends", () => {
    const h = harness({ maxHeld: 50 });
    for (let i = 0; i < 200; i++) {
      h.w.send(ack(i));
      h.w.send(msg(i));
      expect(h.w.unread).toBeLessThanOrEqual(READ_WINDOW_BYTES);
    }
    const through = h.delivered().length;
    expect(through).toBeLessThan(READ_WINDOW_BYTES / 1000);
    expect(h.overs).toHaveLength(1);
    expect(h.overs[0]).toMatch(/its stream is ended/);
    // Once over, nothing more is written.
    const n = h.written.length;
    h.w.send(msg(999));
    expect(h.written.length).toBe(n);
  });

  it("messages held back go out in order once the agent answers; a forged or stale token changes nothing", () => {
    const h = harness();
    for (let i = 0; i < 60; i++) h.w.send(msg(i));
    expect(h.w.waiting).toBeGreaterThan(0);
    const before = h.delivered().length;
    h.w.receipt(1); // never asked
    expect(h.delivered().length).toBe(before);
    // Answer only what was asked; each answer lets more through, and asks again while some wait.
    for (let rounds = 0; h.w.waiting > 0 && rounds < 100; rounds++) for (const t of h.asked()) h.w.receipt(t);
    expect(h.delivered()).toEqual(Array.from({ length: 60 }, (_, i) => `r${i}`));
  });

  it("a message larger than the window goes once everything before it was read, not never", () => {
    const h = harness();
    h.w.send(msg(0, 100));
    h.w.send(msg(1, READ_WINDOW_BYTES * 2));
    expect(h.delivered()).toEqual(["r0"]);
    // It waits, and a receipt covering r0 was asked for it.
    expect(h.asked()).toHaveLength(1);
    h.w.receipt(h.asked()[0]!);
    expect(h.delivered()).toEqual(["r0", "r1"]);
  });

  it("any order of sends and answers: never more than a window unread but for a lone large message, none lost, none reordered", () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.record({ send: fc.integer({ min: 10, max: 40_000 }) }), fc.record({ ack: fc.constant(true) }), fc.record({ answer: fc.nat(8) })), { maxLength: 300 }),
        (ops) => {
          const h = harness({ maxHeld: 10_000 });
          let n = 0;
          let answered = 0;
          for (const op of ops) {
            if ("send" in op) {
              const before = h.w.unread;
              h.w.send(msg(n++, op.send));
              // Only a lone message larger than the window (and its receipt request) goes past it, and only from nothing unread.
              if (before > 0) expect(h.w.unread).toBeLessThanOrEqual(Math.max(before, READ_WINDOW_BYTES));
            } else if ("ack" in op) h.w.send(ack(n));
            else {
              // The agent reads up to some receipt asked, in order.
              const asked = h.asked();
              const upTo = Math.min(asked.length, answered + op.answer);
              for (; answered < upTo; answered++) h.w.receipt(asked[answered]!);
            }
          }
          // Then it reads everything: all that was sent arrives, in order.
          for (let rounds = 0; h.w.waiting > 0 && rounds < 10_000; rounds++) {
            const asked = h.asked();
            for (; answered < asked.length; answered++) h.w.receipt(asked[answered]!);
          }
          expect(h.w.waiting).toBe(0);
          expect(h.delivered()).toEqual(Array.from({ length: n }, (_, i) => `r${i}`));
        },
      ),
      { numRuns: 300 },
    );
  });
});
