import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { countResult, initialCount, type HealthCount, type HealthTransition, type Thresholds } from "../../../agent/health/thresholds.js";

const ok = { ok: true, detail: "GET /healthz → 200" };
const bad = { ok: false, detail: "GET /healthz → 503" };

/** Feeds results at t = 1000, 2000, … and collects the transitions. */
function run(results: boolean[], t: Thresholds): { count: HealthCount; transitions: HealthTransition[] } {
  let count = initialCount(0);
  const transitions: HealthTransition[] = [];
  results.forEach((r, i) => {
    const next = countResult(count, r ? ok : bad, (i + 1) * 1000, t);
    count = next.count;
    if (next.transition) transitions.push(next.transition);
  });
  return { count, transitions };
}

describe("countResult", () => {
  const t = { healthyThreshold: 2, unhealthyThreshold: 3 };

  it("starts unknown and becomes healthy at the healthyThreshold-th success in a row", () => {
    expect(initialCount(5)).toEqual({ status: "unknown", successes: 0, failures: 0, sinceMs: 5 });
    expect(run([true], t).transitions).toEqual([]);
    expect(run([true, true], t).transitions).toEqual([{ status: "healthy", detail: ok.detail, sinceMs: 2000 }]);
  });

  it("needs unhealthyThreshold failures in a row; a success in between starts the count over", () => {
    const r = run([true, true, false, false, true, false, false, false], t);
    expect(r.transitions).toEqual([
      { status: "healthy", detail: ok.detail, sinceMs: 2000 },
      { status: "unhealthy", detail: bad.detail, sinceMs: 8000 },
    ]);
    expect(r.count).toEqual({ status: "unhealthy", successes: 0, failures: 3, sinceMs: 8000 });
  });

  it("goes from unknown straight to unhealthy, and emits nothing more while the status holds", () => {
    const r = run([false, false, false, false, false], t);
    expect(r.transitions.map((x) => x.status)).toEqual(["unhealthy"]);
    expect(r.count.failures).toBe(5);
  });

  it("treats thresholds below 1 as 1", () => {
    expect(run([true], { healthyThreshold: 0, unhealthyThreshold: 0 }).transitions).toHaveLength(1);
    expect(run([false], { healthyThreshold: 0, unhealthyThreshold: -2 }).transitions).toHaveLength(1);
  });

  it("property: transitions alternate, each lands exactly at a threshold, and the final status is the last transition's", () => {
    fc.assert(
      fc.property(
        fc.array(fc.boolean(), { maxLength: 60 }),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 5 }),
        (results, h, u) => {
          const th = { healthyThreshold: h, unhealthyThreshold: u };
          const { count, transitions } = run(results, th);
          transitions.forEach((tr, i) => {
            if (i > 0) expect(tr.status).not.toBe(transitions[i - 1]?.status);
            const at = tr.sinceMs / 1000; // 1-based index of the result that tipped it
            const want = tr.status === "healthy";
            const streak = results.slice(0, at).reverse().findIndex((x) => x !== want);
            const len = streak === -1 ? at : streak;
            expect(len).toBeGreaterThanOrEqual(want ? h : u);
          });
          expect(count.status).toBe(transitions.at(-1)?.status ?? "unknown");
          expect(count.successes === 0 || count.failures === 0).toBe(true);
        },
      ),
    );
  });
});
