/**
 * The read window of an agent's stream (controller/member/agent-stream/read-window.ts):
 * what an agent has not proved it read stays within the window, whatever it does;
 * an agent that reads gets its heartbeat acks however busy the stream is.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ReadWindow, READ_WINDOW_BYTES } from "../../../controller/member/agent-stream/read-window.js";
import type { ControllerMessage } from "../../../shared/gen/berth/v1/ControllerMessage.js";

/** A message of `bytes` on the wire (the size function below reads it back). */
const msg = (n: number, bytes = 1000): ControllerMessage => ({ trust_bundle: { ca_pem: `r${n}:${"x".repeat(Math.max(0, bytes - `r${n}:`.length))}` } });
const ack = (seq: number): ControllerMessage => ({ heartbeat_ack: { seq, sent_at_ms: 0 } });
const stdin = (n: number, bytes: number): ControllerMessage => ({ exec_input: { session_id: 7, data: Buffer.alloc(bytes, n % 256) } });

function harness(o: { limit?: number; maxHeldBytes?: number } = {}) {
  const written: ControllerMessage[] = [];
  const overs: string[] = [];
  let next = 1000;
  const w = new ReadWindow(
    (m) => void written.push(m),
    (why) => void overs.push(why),
    { size: (m) => m.trust_bundle?.ca_pem?.length ?? (m.exec_input?.data?.length ?? 0) + 16, token: () => next++, ...o },
  );
  const asked = (): number[] => written.filter((m) => m.read_receipt).map((m) => Number(m.read_receipt!.token));
  const delivered = (): string[] => written.filter((m) => m.trust_bundle).map((m) => m.trust_bundle!.ca_pem!.split(":")[0]!);
  const acks = (): number[] => written.filter((m) => m.heartbeat_ack).map((m) => Number(m.heartbeat_ack!.seq));
  let answered = 0;
  /** The agent reads everything written so far: it answers every receipt asked. */
  const readAll = (): void => {
    for (let rounds = 0; rounds < 10_000; rounds++) {
      const a = asked();
      if (answered >= a.length) return;
      for (; answered < a.length; answered++) w.receipt(a[answered]!);
    }
  };
  return { w, written, overs, asked, delivered, acks, readAll };
}

describe("an agent stream's read window", () => {
  it("passes everything through while the agent reads, asking a receipt every quarter window", () => {
    const h = harness();
    for (let i = 0; i < 40; i++) {
      h.w.send(msg(i));
      h.readAll();
    }
    expect(h.delivered()).toHaveLength(40);
    // One each quarter window sent (a message may overshoot it): 40 messages of 1,000 bytes.
    const total = 40 * 1000;
    expect(h.asked().length).toBeGreaterThanOrEqual(Math.floor(total / (READ_WINDOW_BYTES / 4 + 1000 + 32)));
    expect(h.asked().length).toBeLessThanOrEqual(Math.ceil(total / (READ_WINDOW_BYTES / 4)));
    expect(h.w.waiting).toBe(0);
  });

  it("an agent that reads nothing: at most a window of it unread, only the newest ack waits, past the held bound the stream ends once", () => {
    const h = harness({ maxHeldBytes: 50_000 });
    for (let i = 0; i < 200; i++) {
      h.w.send(ack(i));
      h.w.send(msg(i));
      expect(h.w.unread).toBeLessThanOrEqual(READ_WINDOW_BYTES);
    }
    expect(h.delivered().length).toBeLessThan(READ_WINDOW_BYTES / 1000);
    expect(h.overs).toHaveLength(1);
    expect(h.overs[0]).toMatch(/its stream is ended/);
    // Once over, nothing more is written.
    const n = h.written.length;
    h.w.send(msg(999));
    h.w.send(ack(999));
    expect(h.written.length).toBe(n);
  });

  it("messages held back go out in order once the agent answers; a forged or stale token changes nothing", () => {
    const h = harness();
    for (let i = 0; i < 60; i++) h.w.send(msg(i));
    expect(h.w.waiting).toBeGreaterThan(0);
    const before = h.delivered().length;
    h.w.receipt(1); // never asked
    expect(h.delivered().length).toBe(before);
    h.readAll();
    expect(h.delivered()).toEqual(Array.from({ length: 60 }, (_, i) => `r${i}`));
  });

  it("a long exec upload to an agent that reads: every heartbeat's ack reaches it, ahead of the input waiting", () => {
    const h = harness();
    // 64 KiB stdin chunks keep the window full; the agent answers receipts a little late (one chunk behind).
    for (let i = 0; i < 60; i++) {
      h.w.send(stdin(i, 64 * 1024));
      h.w.send(ack(i));
      expect(h.acks()).toContain(i);
      h.readAll();
    }
    expect(h.acks()).toEqual(Array.from({ length: 60 }, (_, i) => i));
  });

  it("exec input larger than a quarter window goes in pieces: the same bytes, the ack on the first, eof on the last", () => {
    const h = harness();
    const data = Buffer.from(Array.from({ length: 20_000 }, (_, i) => i % 251));
    h.w.send({ exec_input: { session_id: 3, data, ack: 5, eof: true } });
    h.readAll();
    const pieces = h.written.filter((m) => m.exec_input).map((m) => m.exec_input!);
    expect(pieces.length).toBe(Math.ceil(20_000 / (READ_WINDOW_BYTES / 4)));
    for (const p of pieces) expect((p.data as Buffer).length).toBeLessThanOrEqual(READ_WINDOW_BYTES / 4);
    expect(Buffer.concat(pieces.map((p) => p.data as Buffer)).equals(data)).toBe(true);
    expect(pieces.map((p) => p.session_id)).toEqual(pieces.map(() => 3));
    expect(pieces.map((p) => p.ack ?? 0)).toEqual([5, ...pieces.slice(1).map(() => 0)]);
    expect(pieces.map((p) => p.eof ?? false)).toEqual([...pieces.slice(1).map(() => false), true]);
  });

  it("a stream's last word (move_on) goes at once past what waits; closed, the window sends nothing and ends nothing", () => {
    const h = harness({ maxHeldBytes: 20_000 });
    for (let i = 0; i < 30; i++) h.w.send(msg(i));
    expect(h.w.waiting).toBeGreaterThan(0);
    h.w.send({ move_on: { reason: "cut off from the store", store_unavailable: true, preferred: "" } });
    expect(h.written.at(-1)?.move_on?.store_unavailable).toBe(true);
    h.w.close();
    const n = h.written.length;
    for (let i = 0; i < 100; i++) h.w.send(msg(100 + i));
    h.readAll();
    expect(h.written.length).toBe(n);
    expect(h.overs).toEqual([]);
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

  it("any order of sends, acks and answers: within the window but for a lone large message, none lost, none reordered", () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.record({ send: fc.integer({ min: 10, max: 40_000 }) }), fc.record({ ack: fc.constant(true) }), fc.record({ answer: fc.nat(8) })), { maxLength: 300 }),
        (ops) => {
          const h = harness({ maxHeldBytes: 1e12 });
          let n = 0;
          let answered = 0;
          let largest = 0;
          for (const op of ops) {
            if ("send" in op) {
              largest = Math.max(largest, op.send);
              h.w.send(msg(n++, op.send));
            } else if ("ack" in op) h.w.send(ack(n));
            else {
              // The agent reads up to some receipt asked, in order.
              const asked = h.asked();
              const upTo = Math.min(asked.length, answered + op.answer);
              for (; answered < upTo; answered++) h.w.receipt(asked[answered]!);
            }
            // A lone message larger than the window, its receipt request and an ack are the most past it.
            expect(h.w.unread).toBeLessThanOrEqual(Math.max(READ_WINDOW_BYTES, largest + 96));
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
