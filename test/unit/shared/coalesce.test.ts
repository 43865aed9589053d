import { describe, expect, it } from "vitest";
import { Coalescer } from "../../../shared/coalesce.js";

describe("Coalescer", () => {
  it("runs one pass at a time and turns any number of kicks during a pass into one more pass", async () => {
    let active = 0;
    let maxActive = 0;
    let passes = 0;
    let release: (() => void) | undefined;
    const c = new Coalescer(async () => {
      active++;
      maxActive = Math.max(maxActive, active);
      passes++;
      if (passes === 1) await new Promise<void>((r) => (release = r));
      active--;
    }, () => undefined);
    c.kick();
    for (let i = 0; i < 10; i++) c.kick();
    release!();
    await c.settled();
    expect(passes).toBe(2);
    expect(maxActive).toBe(1);
  });

  it("reports a failing pass and keeps working; after close, kicks do nothing", async () => {
    const errors: unknown[] = [];
    let n = 0;
    const c = new Coalescer(async () => {
      n++;
      if (n === 1) throw new Error("boom");
    }, (e) => errors.push(e));
    c.kick();
    await c.settled();
    c.kick();
    await c.settled();
    expect(n).toBe(2);
    expect(errors).toHaveLength(1);
    await c.close();
    c.kick();
    await c.settled();
    expect(n).toBe(2);
  });
});
