import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { AckBatcher, ByteWindow } from "../../../shared/exec/window.js";
import { defaultShell, shellExitCode } from "../../../shared/exec/limits.js";

describe("exec flow control: ByteWindow and AckBatcher", () => {
  it("pauses when the window is full and resumes at half", () => {
    const w = new ByteWindow(100);
    expect(w.take(60)).toBe(false);
    expect(w.take(40)).toBe(true); // 100: full
    expect(w.isPaused).toBe(true);
    expect(w.take(10)).toBe(false); // already paused: no second "pause"
    expect(w.ack(50)).toBe(false); // 60 left > 50
    expect(w.ack(10)).toBe(true); // 50: half → resume
    expect(w.isPaused).toBe(false);
    expect(w.pending).toBe(50);
  });

  it("treats an ack for more than is in flight as everything", () => {
    const w = new ByteWindow(10);
    w.take(10);
    expect(w.ack(1_000_000)).toBe(true);
    expect(w.pending).toBe(0);
    expect(w.ack(-5)).toBe(false);
    expect(w.pending).toBe(0);
  });

  it("acknowledges in quarters of the window, and flushes the rest on demand", () => {
    const a = new AckBatcher(100);
    expect(a.consumed(10)).toBe(0);
    expect(a.consumed(14)).toBe(0);
    expect(a.consumed(1)).toBe(25);
    expect(a.consumed(3)).toBe(0);
    expect(a.flush()).toBe(3);
    expect(a.flush()).toBe(0);
  });

  it("a sender and a receiver never exceed window + one chunk in flight, and never stall", () => {
    // The receiver consumes every byte sent, in any order of events; the sender
    // sends only while not paused. Whatever the chunk sizes and interleaving, all
    // bytes get through and the in-flight count stays bounded.
    fc.assert(
      fc.property(fc.integer({ min: 4, max: 4096 }), fc.array(fc.integer({ min: 1, max: 2048 }), { minLength: 1, maxLength: 200 }), fc.array(fc.boolean(), { maxLength: 2000 }), (size, chunks, coin) => {
        const w = new ByteWindow(size);
        const acks = new AckBatcher(size);
        const inTransit: number[] = [];
        const todo = [...chunks];
        let delivered = 0;
        let maxChunk = 0;
        let i = 0;
        for (let steps = 0; steps < 100_000 && (todo.length || inTransit.length); steps++) {
          const send = coin[i++ % Math.max(1, coin.length)] ?? true;
          if ((send || !inTransit.length) && todo.length && !w.isPaused) {
            const n = todo.shift()!;
            maxChunk = Math.max(maxChunk, n);
            inTransit.push(n);
            w.take(n);
            expect(w.pending).toBeLessThan(size + maxChunk);
          } else if (inTransit.length) {
            const n = inTransit.shift()!;
            delivered += n;
            const a = acks.consumed(n);
            if (a) w.ack(a);
          } else if (w.isPaused) {
            return false; // paused with nothing in transit: a stall
          }
        }
        return todo.length === 0 && inTransit.length === 0 && delivered === chunks.reduce((s, n) => s + n, 0);
      }),
      { numRuns: 300 },
    );
  });
});

describe("exec limits", () => {
  it("picks bash where there is one, else sh", () => {
    expect(defaultShell((p) => p === "/bin/bash")).toBe("/bin/bash");
    expect(defaultShell(() => false)).toBe("/bin/sh");
  });

  it("reports exit codes as a shell does", () => {
    expect(shellExitCode(7, null)).toBe(7);
    expect(shellExitCode(0, 0)).toBe(0);
    expect(shellExitCode(null, 9)).toBe(137);
    expect(shellExitCode(null, 15)).toBe(143);
    expect(shellExitCode(null, null)).toBe(1);
  });
});
