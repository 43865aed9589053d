/**
 * A revision that serves for a while, then breaks (its health check fails 5 s after
 * it starts, 2 s after it came into service; the process stays up): the rollout must not carry it onto more instances
 * once a copy of it has fallen out of service, and must fail — and revert — within
 * healthyDeadline of that, not progressDeadline (10 min) later with the service at 0.
 * An `apply --wait` of a change in place made meanwhile (no rollout of its own) follows
 * that rollout and fails when it is reverted, instead of saying every instance is
 * healthy on a revision that no longer runs.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Cluster } from "./harness/cluster.js";
import { waitFor } from "./harness/wait.js";
import { svcSpec } from "./harness/specs.js";

const health = { interval: "200ms", timeout: "150ms", healthyThreshold: 1, unhealthyThreshold: 2 };
const spec = (env: Record<string, string>, update: Record<string, string | number | boolean> = {}): string =>
  svcSpec("relapse", { instances: 3, env, health, update: { maxUnavailable: 1, minHealthyTime: "3s", drainTime: "0s", healthyDeadline: "6s", progressDeadline: "10m", ...update } });

describe("a revision that breaks after it was in service", () => {
  let c: Cluster;
  beforeAll(async () => {
    c = await Cluster.start({ hosts: 3 });
  }, 90_000);
  afterAll(async () => {
    await c?.destroy();
  });

  it("holds the rollout, fails it within healthyDeadline and reverts; an apply --wait made meanwhile says so", { timeout: 180_000 }, async () => {
    const v1 = await c.specDir("v1", { "relapse.yaml": spec({ V: "1" }) });
    const first = await c.cli(["apply", "-f", v1, "--wait", "--timeout", "1m"], { timeoutMs: 90_000 });
    expect(first.code, first.stderr).toBe(0);

    const v2 = await c.specDir("v2", { "relapse.yaml": spec({ V: "2", UNHEALTHY_AFTER_MS: "5000" }) });
    const applied = await c.apply(v2);
    expect(applied.code, applied.stderr).toBe(0);
    const startedAt = Date.now();
    // The same files with a change in place (update.progressDeadline), applied and waited for while revision 2 rolls out.
    const inPlace = await c.specDir("v2-in-place", { "relapse.yaml": spec({ V: "2", UNHEALTHY_AFTER_MS: "5000" }, { progressDeadline: "9m" }) });
    const waiting = c.cli(["apply", "-f", inPlace, "--wait", "--timeout", "2m"], { timeoutMs: 150_000 });
    // Meanwhile rollout status says what it waits for, and why that copy is out (as status says it).
    const held = await waitFor(
      async () => {
        const out = (await c.cli(["rollout", "status", "relapse"])).stdout;
        return /waiting for slots? [\d, ]+ on revision 2 to come back into service \(unhealthy/.test(out) && /^ {2}relapse-\d: \S/m.test(out) ? out : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 150, what: "rollout status to say it holds, and why the copy is out" },
    );
    expect(held).toMatch(/no new batch meanwhile; the rollout fails if (it does|they do) not within healthyDeadline \(6s, until /);
    const waited = await waiting;
    expect(waited.code, waited.stdout + waited.stderr).toBe(1);
    expect(waited.stdout).not.toMatch(/every instance healthy/);
    expect(waited.stderr).toMatch(/relapse: the rollout (to revision 2 was reverted to revision 1|was reverted to revision 1)/);

    const r = await waitFor(
      async () => {
        // Exit 1 for a reverted rollout (rollout status gates pipelines): its JSON all the same.
        const out = await c.cli(["rollout", "status", "relapse", "-o", "json"]);
        const x = out.stdout ? (JSON.parse(out.stdout) as { status: string; outcome: string; reason: string }) : undefined;
        return x && x.outcome === "reverted" ? { ...x, code: out.code } : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 250, what: "the revert to end" },
    );
    expect(r.code).toBe(1);
    expect(r.reason).toMatch(/automatic revert of revision 2: slots? [\d, ]+ on revision 2 out of service \(unhealthy(, unhealthy)*\) for healthyDeadline \(6s\)/);
    // Well within progressDeadline: the failure came within healthyDeadline of the first copy's fall.
    expect(Date.now() - startedAt).toBeLessThan(60_000);
    // Revision 2 reached at most 2 of the 3 slots: no batch started while a copy of it was out.
    const events = await c.events();
    const replaced = new Set(events.filter((e) => e.service === "relapse" && e.type === "rollout.replace" && /on revision 2/.test(e.message)).map((e) => e.message.split(" ")[0]));
    expect(replaced.size).toBeLessThanOrEqual(2);
    const st = await c.status("relapse");
    expect(st.revision).toBe(1);
    expect(st.instances.every((i) => i.state === "healthy")).toBe(true);
  });
});
