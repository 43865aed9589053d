import { describe, expect, it } from "vitest";
import { backoffMs, clearFailures, DEFAULT_RESCHEDULE, MAX_FAILURES_KEPT, recentFailures, recordFailure, rescheduleDecision, type ReschedulePolicy } from "../../../controller/reschedule/policy.js";

const T = 1_700_000_000_000;
const f = (hostId: string, atMs: number): { hostId: string; atMs: number } => ({ hostId, atMs });

describe("reschedule policy", () => {
  it("reschedules the first failure at once, then waits 30s, 1m, 2m, … at most 10m", () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8].map((k) => backoffMs(k))).toEqual([0, 30_000, 60_000, 120_000, 240_000, 480_000, 600_000, 600_000]);
    expect(backoffMs(10_000)).toBe(600_000);
  });

  it("decides from the failures of the last interval, counting from the latest", () => {
    expect(rescheduleDecision(undefined, T)).toEqual({ recent: [], atMs: 0, reason: "" });
    expect(rescheduleDecision([f("a", T)], T).atMs).toBe(T);
    const two = rescheduleDecision([f("a", T - 5_000), f("b", T)], T + 10_000);
    expect(two.atMs).toBe(T + 30_000);
    expect(two.reason).toBe("waiting to reschedule: failed on a (15s ago), b (10s ago) in the last 1h; next attempt in 20s (backoff 30s)");
    // The same host twice: counted, and shown once.
    expect(rescheduleDecision([f("a", T - 5_000), f("a", T)], T).reason).toMatch(/failed on a \(2×, last just now\)/);
    // With what the last failure said: a refusal keeps no output, so this is where it shows.
    const refused = [{ ...f("a", T - 5_000), detail: "exit 1" }, { ...f("a", T), detail: 'refused by the agent: user "nosuchuser" does not exist on this host' }];
    expect(rescheduleDecision(refused, T).reason).toBe(
      'waiting to reschedule: failed on a (2×, last just now) in the last 1h (last: refused by the agent: user "nosuchuser" does not exist on this host); next attempt in 30s (backoff 30s)',
    );
  });

  it("forgets failures older than the interval: a host that failed long ago is fine again", () => {
    const old = [f("a", T - 3_600_000), f("b", T - 10_000)];
    const d = rescheduleDecision(old, T);
    expect(d.recent).toEqual([f("b", T - 10_000)]);
    expect(d.atMs).toBe(T - 10_000); // one failure left: no wait
    expect(recordFailure(old, "c", T)).toEqual([f("b", T - 10_000), f("c", T)]);
  });

  it("with attempts, allows that many reschedules per interval, then waits for the oldest to expire", () => {
    const p: ReschedulePolicy = { ...DEFAULT_RESCHEDULE, attempts: 2 };
    const hist = [f("a", T), f("b", T + 1_000), f("c", T + 2_000)];
    const d = rescheduleDecision(hist, T + 3_000, p);
    expect(d.atMs).toBe(T + 3_600_000);
    expect(d.reason).toMatch(/at most 2 reschedules per 1h/);
    expect(rescheduleDecision(hist, T + 3_600_000, p).atMs).toBeLessThanOrEqual(T + 3_600_000);
    expect(rescheduleDecision(hist.slice(0, 2), T + 3_000, p).atMs).toBe(T + 1_000 + 30_000);
  });

  it("keeps at most MAX_FAILURES_KEPT, the newest, and ignores bad timestamps", () => {
    let h: { hostId: string; atMs: number }[] = [];
    for (let k = 0; k < 50; k++) h = recordFailure(h, `h${k}`, T + k);
    expect(h).toHaveLength(MAX_FAILURES_KEPT);
    expect(h[h.length - 1]).toEqual(f("h49", T + 49));
    expect(recentFailures([f("a", Number.NaN), f("b", T)], T)).toEqual([f("b", T)]);
  });

  it("forgets all failures, or one host's, returning the same record when there is nothing to forget", () => {
    const r = { failures: [f("a", T), f("b", T)] };
    expect(clearFailures(r).failures).toBeUndefined();
    expect(clearFailures(r, "a").failures).toEqual([f("b", T)]);
    expect(clearFailures(r, "z")).toBe(r);
    const none = {};
    expect(clearFailures(none)).toBe(none);
  });
});

describe("failure output", () => {
  it("keeps only the newest output per host, so the record stays bounded", async () => {
    const { recordFailure } = await import("../../../controller/reschedule/policy.js");
    let h = recordFailure(undefined, "a", 1000, undefined, { detail: "installing: step 1 (false) exited with code 1", output: "one" });
    h = recordFailure(h, "b", 2000, undefined, { detail: "installing: step 1 (false) exited with code 2", output: "two" });
    h = recordFailure(h, "a", 3000, undefined, { detail: "installing: step 1 (false) exited with code 3", output: "three" });
    expect(h.map((f) => [f.hostId, f.output])).toEqual([["a", undefined], ["b", "two"], ["a", "three"]]);
    expect(h[0]!.detail).toMatch(/code 1/);
  });
});

describe("failedInstallText", () => {
  it("shows each host's last failed install, newest first, under a line naming host, step and exit code", async () => {
    const { failedInstallText, recordFailure } = await import("../../../controller/reschedule/policy.js");
    let h = recordFailure(undefined, "a", 1000, undefined, { detail: "installing: step 2 (make) exited with code 2", output: "make: *** [all] Error 2" });
    h = recordFailure(h, "b", 2000, undefined, { detail: "crash loop: exited with code 1" });
    h = recordFailure(h, "c", 3000, undefined, { detail: "installing: step 1 (false) exited with code 1", output: "nope\n" });
    const text = failedInstallText(h);
    expect(text.split("\n")[0]).toBe("[berth] last failed install on c at 1970-01-01T00:00:03.000Z: installing: step 1 (false) exited with code 1");
    expect(text).toContain("[berth] last failed install on a at 1970-01-01T00:00:01.000Z: installing: step 2 (make) exited with code 2\nmake: *** [all] Error 2\n");
    expect(text).not.toContain("crash loop");
  });

  it("failedRunsText also shows a crash loop's last lines (status), which logs --install leaves out", async () => {
    const { failedInstallText, failedRunsText, recordFailure } = await import("../../../controller/reschedule/policy.js");
    let h = recordFailure(undefined, "a", 1000, undefined, { detail: "installing: step 1 (false) exited with code 1", output: "nope\n" });
    h = recordFailure(h, "b", 2000, undefined, { detail: "crash loop: exited with code 3 after 4ms", output: "bad config: /etc/app.conf" });
    expect(failedRunsText(h)).toBe(
      "[berth] last failure on b at 1970-01-01T00:00:02.000Z: crash loop: exited with code 3 after 4ms\nbad config: /etc/app.conf\n" +
        "[berth] last failed install on a at 1970-01-01T00:00:01.000Z: installing: step 1 (false) exited with code 1\nnope\n",
    );
    expect(failedInstallText(h)).not.toContain("crash loop");
  });
});
