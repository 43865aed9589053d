/**
 * What members share about a host goes with the host (`berth host remove`): a
 * deleted `observed/<host>` leaves every member's map, and a member's liveness
 * report stops naming a removed host at once, not a report period later.
 */
import { afterEach, describe, expect, it } from "vitest";
import { pino } from "pino";
import type { Store } from "../../../controller/store/store.js";
import { OBSERVED_PREFIX, ObservedShare } from "../../../controller/member/observed-share.js";
import { LivenessReporter } from "../../../controller/member/liveness-reporter.js";
import { livenessKey } from "../../../controller/failure/liveness.js";
import type { HostLive, HostRegistry } from "../../../controller/hosts/registry.js";
import type { HostRecord } from "../../../controller/hosts/host.js";
import type { ObservedInstance } from "../../../controller/services/records.js";
import { until } from "../until.js";
import { tempStores } from "../fixtures/store.js";

const log = pino({ level: "silent" });
const obs = (hostId: string): ObservedInstance => ({ hostId, service: "web", instance: "web-0", epoch: 1, revision: 1, state: "healthy", detail: "", restarts: 0, sinceMs: 1, pid: 42, resourcesEnforced: false, resourcesNote: "", installTail: "" });

describe("records of a removed host", () => {
  const stores = tempStores();
  const closers: (() => unknown)[] = [];
  afterEach(async () => {
    for (const c of closers.splice(0).reverse()) await c();
  });
  const open = async (): Promise<Store> => (await stores.open()).store;

  it("a deleted observed/<host> leaves the map of a member that follows it", async () => {
    const store = await open();
    const observed = new Map<string, ObservedInstance>();
    let changes = 0;
    const share = new ObservedShare({ store, observed, holds: () => false, onChange: () => changes++, log });
    await share.follow();
    closers.push(() => share.close());
    await store.put(`${OBSERVED_PREFIX}h1`, JSON.stringify({ schemaVersion: 1, ...obs("h1") }));
    await until(() => observed.has("h1"), "h1 observed");
    const before = changes;
    await store.delete(`${OBSERVED_PREFIX}h1`);
    await until(() => !observed.has("h1"), "h1 dropped from the map");
    expect(changes).toBeGreaterThan(before);
  });

  it("a member's liveness report drops a removed host at once", async () => {
    const store = await open();
    const live = new Map<string, HostLive>([["h1", { lastHeartbeatMs: 1, lastHeartbeatMono: 1, usage: null, artifacts: [], fencing: new Set(), send: () => true } as HostLive]]);
    const listeners: ((prev: HostRecord | undefined, next: HostRecord | undefined) => void)[] = [];
    const registry: Pick<HostRegistry, "live" | "onChange"> = {
      live,
      onChange: (fn) => {
        listeners.push(fn);
        return () => undefined;
      },
    };
    // A report period far longer than the test: only a report made on the removal can drop it.
    const reporter = new LivenessReporter({ store, registry, member: "m1", mono: () => 10, reportMs: 3_600_000, log });
    reporter.start();
    closers.push(() => reporter.close());
    const names = async (): Promise<string[]> => {
      const kv = await store.get(livenessKey("m1"));
      return kv ? (JSON.parse(kv.value) as { hosts: { id: string }[] }).hosts.map((h) => h.id) : [];
    };
    const namesUntil = async (cond: (n: string[]) => boolean, what: string): Promise<void> => {
      const deadline = Date.now() + 10_000;
      while (!cond(await names())) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise<void>((r) => setTimeout(r, 20));
      }
    };
    await namesUntil((n) => n.includes("h1"), "the first report naming h1");
    // The host is removed: its stream closed (member/host-changes.ts), the registry says so.
    live.delete("h1");
    for (const fn of listeners) fn({ id: "h1" } as HostRecord, undefined);
    await namesUntil((n) => !n.includes("h1"), "a report without h1");
  });
});
