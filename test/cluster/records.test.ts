/**
 * Issue 10 on a real topology: no stored record, however it got there, may crash
 * the controller or stall the fleet. Records are written straight into a stopped
 * controller's LevelDB store — an out-of-bounds spec (maxSurge 1e9 once allocated
 * until the heap ran out, on every restart) and garbage — and the controller,
 * started on them, stays up: the bad services are left as they are and say why,
 * every other service is served, and applying the spec again repairs the record.
 */
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { Cluster, type StatusJson } from "./harness/cluster.js";
import { svcSpec } from "./harness/specs.js";
import { tearDownWith } from "./harness/teardown.js";
import { openLevelStore } from "../../controller/store/level-store.js";

interface ReconcileErrorJson {
  message: string;
  attempts: number;
  retry_at_ms: number;
}
type Status = StatusJson & { reconcile_error: ReconcileErrorJson | null };

const healthy = (s: StatusJson): number => s.instances.filter((i) => i.state === "healthy").length;

describe("stored records: validated on load, a bad one contained to its service", () => {
  let c: Cluster;

  beforeAll(async () => {
    c = await Cluster.start({ hosts: 3, ttl: "3s", heartbeat: "500ms" });
  });
  tearDownWith(() => c);

  const dirOf = (name: string, instances: number): Promise<string> => c.specDir(`${name}-${instances}`, { [`${name}.yaml`]: svcSpec(name, { instances }) });

  async function deploy(name: string, instances: number): Promise<StatusJson> {
    const r = await c.apply(await dirOf(name, instances));
    expect(r.code, r.stderr).toBe(0);
    return c.waitForStatus(name, (s) => healthy(s) === instances, `${instances} healthy ${name}`);
  }

  it("a controller started on an absurd spec and on garbage stays up, serves the rest, and says what is wrong", async () => {
    await deploy("good", 1);
    const victim = await deploy("victim", 1);

    // Stopped controller; its store opened directly, as a bug or a hand edit would.
    await c.killController();
    const store = await openLevelStore(join(c.ctlDir, "store"));
    try {
      const kv = await store.get("services/victim");
      const rec = JSON.parse(kv!.value) as { spec: { update: Record<string, unknown> } };
      rec.spec.update.maxSurge = 1e9;
      await store.put("services/victim", JSON.stringify(rec));
      await store.put("services/junk", "\u0000{ not json");
    } finally {
      await store.close();
    }
    await c.startController();

    // The victim is left as it is (its copy keeps running, same process) and says why.
    const st = await c.waitForStatus("victim", (s) => healthy(s) === 1, "victim reported healthy again");
    expect(st.instances.map((i) => [i.host, i.pid, i.epoch])).toEqual(victim.instances.map((i) => [i.host, i.pid, i.epoch]));
    const err = (st as Status).reconcile_error;
    expect(err?.message).toMatch(/stored record services\/victim is unusable: .*update\.maxSurge/);
    expect(err?.retry_at_ms).toBe(0);
    const junk = await c.cli(["status", "junk"]);
    expect(junk.code, junk.stderr).toBe(0);
    expect(junk.stdout).toMatch(/junk does not reconcile: stored record services\/junk is unusable: not JSON/);
    const list = await c.cli(["services"]);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(/victim does not reconcile: .*maxSurge.*not retried until the record is replaced/);
    expect(list.stdout).toMatch(/junk does not reconcile/);
    const failed = (await c.events()).filter((e) => e.type === "service.reconcile-failed").map((e) => e.service);
    expect(failed.sort()).toEqual(["junk", "victim"]);

    // Every other service is served: good scales onto the spare.
    await deploy("good", 2);
    expect(c.controller?.exitCode).toBeNull();

    // Applying the spec again replaces the bad record; the running copy is kept.
    await deploy("victim", 1);
    const fixed = (await c.status("victim")) as Status;
    expect(fixed.reconcile_error ?? null).toBeNull();
    expect(fixed.instances.map((i) => i.pid)).toEqual(victim.instances.map((i) => i.pid));
    expect(c.controller?.exitCode).toBeNull();
  });
});
