/**
 * A liveness report too large with the hosts' usage in it goes without it
 * (member/liveness-reporter.ts): usage is for display, liveness must get through
 * (etcd refuses a value over 1.5 MiB). A real LevelDB store.
 */
import { afterEach, describe, expect, it } from "vitest";
import { pino } from "pino";
import { LivenessReporter } from "../../../controller/member/liveness-reporter.js";
import { livenessKey, type LivenessReport } from "../../../controller/failure/liveness.js";
import type { HostLive, HostRegistry } from "../../../controller/hosts/registry.js";
import { tempStores } from "../fixtures/store.js";

const usage = { load1: 0.5, load5: 0.4, load15: 0.3, cpu_percent: 10, memory_used_bytes: 2 ** 30, memory_total_bytes: 2 ** 33, disk_used_bytes: 2 ** 35, disk_total_bytes: 2 ** 38 };
const host = (): HostLive => ({ lastHeartbeatMs: 1, lastHeartbeatMono: 5, usage, artifacts: [], fencing: new Set(), send: () => undefined });

describe("liveness report size", () => {
  const stores = tempStores();
  const closers: (() => unknown)[] = [];
  afterEach(async () => {
    for (const c of closers.splice(0).reverse()) await c();
  });

  it("under the limit a report carries usage; over it, the same hosts without it, and one warning", async () => {
    const store = (await stores.open()).store;
    const live = new Map<string, HostLive>(Array.from({ length: 50 }, (_, i) => [`h${i}`, host()]));
    const registry = { live, onChange: () => () => undefined } as unknown as Pick<HostRegistry, "live" | "onChange">;
    const warnings: string[] = [];
    const log = pino({ level: "warn" }, { write: (s: string) => void warnings.push(s) });
    const read = async (): Promise<LivenessReport> => JSON.parse((await store.get(livenessKey("m1")))!.value) as LivenessReport;

    const roomy = new LivenessReporter({ store, registry, member: "m1", mono: () => 10, reportMs: 3_600_000, log });
    await roomy.report();
    expect((await read()).hosts.every((h) => h.usage !== undefined)).toBe(true);
    await roomy.close();

    const tight = new LivenessReporter({ store, registry, member: "m1", mono: () => 10, reportMs: 3_600_000, log, usageLimitBytes: 2_000 });
    await tight.report();
    await tight.report();
    const r = await read();
    expect(r.hosts).toHaveLength(50);
    expect(r.hosts.some((h) => h.usage !== undefined)).toBe(false);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain("leave out the hosts' usage");
    await tight.close();
  });
});
