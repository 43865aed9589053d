/**
 * The harness's own promise: a fleet's destroy() leaves no process behind, services
 * included. A service runs in a session of its own, so killing its agent leaves it
 * running (as on a real host, where an agent restarts without its services); on the
 * loopback topology no namespace holds it either. Seen once: a full run left 15 services
 * of loopback fleets (console, groups) running after their tests.
 */
import { readFileSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { Cluster } from "./harness/cluster.js";
import { svcSpec } from "./harness/specs.js";

/** Running or sleeping: a zombie (killed, not reaped yet by whoever adopted it) is gone. */
const alive = (pid: number): boolean => {
  try {
    return !/^\d+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
};

describe("teardown", () => {
  let c: Cluster | undefined;
  let pid = 0;

  afterAll(async () => {
    await c?.destroy();
    // This test's own cleanup when its assertion failed: the copy it found must not outlive it.
    if (pid > 0 && alive(pid)) process.kill(pid, "SIGKILL");
  });

  it("a loopback fleet's destroy() stops its services too, not only its agents and controller", async () => {
    c = await Cluster.start({ hosts: 1, mode: "loopback" });
    const applied = await c.apply(await c.specDir("web", { "web.yaml": svcSpec("web") }));
    expect(applied.code, applied.stderr).toBe(0);
    const s = await c.waitForStatus("web", (st) => st.instances.length === 1 && st.instances[0]!.state === "healthy" && st.instances[0]!.pid > 0, "web healthy");
    pid = s.instances[0]!.pid;
    expect(alive(pid)).toBe(true);

    const fleet = c;
    c = undefined;
    await fleet.destroy();
    expect(alive(pid), `service pid ${pid} outlived its fleet`).toBe(false);
  }, 120_000);
});
