import { describe, expect, it } from "vitest";
import { endpointsOf, nextEndpointChangeMs } from "../../../controller/reconcile/endpoints.js";
import type { InstanceRecord, ObservedInstance, ServiceRecord } from "../../../controller/services/records.js";
import type { HostRecord } from "../../../controller/hosts/host.js";
import { normalizeSpec } from "../../../shared/spec/schema.js";

const NOW = 1_700_000_000_000;
const svc: ServiceRecord = {
  name: "web",
  spec: normalizeSpec({ name: "web", run: { command: "x" }, instances: 2, health: { http: { port: 8080, path: "/healthz" } }, update: { minHealthyTime: "1s" } }),
  revision: 3,
  createdAtMs: 0,
  updatedAtMs: 0,
};
const host = (id: string, health: HostRecord["health"] = "ready"): HostRecord => ({ id, labels: {}, advertiseAddr: `10.0.0.${id.length}`, facts: null, health, healthSinceMs: 0, cordoned: false, joinedAtMs: 0, certSerial: "" });
const inst = (slot: number, hostId: string, o: Partial<InstanceRecord> = {}): InstanceRecord => ({ service: "web", slot, hostId, epoch: 1, revision: 3, pinnedHost: "", moveTo: null, ...o });
const obs = (hostId: string, slot: number, epoch: number, state: ObservedInstance["state"], sinceMs: number): [string, ObservedInstance] => [
  hostId,
  { hostId, service: "web", instance: `web-${slot}`, epoch, revision: 3, state, detail: "", restarts: 0, sinceMs, pid: 1, resourcesEnforced: false, resourcesNote: "", installTail: "" },
];

describe("endpoints", () => {
  it("lists copies healthy for minHealthyTime on ready hosts, with the health check's port", () => {
    const hosts = new Map([["a", host("a")], ["bb", host("bb")], ["ccc", host("ccc", "down")]]);
    const instances = [inst(0, "a"), inst(1, "bb"), inst(2, "ccc")];
    const observed = new Map([obs("a", 0, 1, "healthy", NOW - 2000), obs("bb", 1, 1, "healthy", NOW - 500), obs("ccc", 2, 1, "healthy", NOW - 9000)]);
    expect(endpointsOf(svc, instances, hosts, observed, NOW)).toEqual([{ instance: "web-0", host: "a", address: "10.0.0.1", port: 8080, epoch: 1, revision: 3 }]);
    // web-1 reaches minHealthyTime 500 ms from now: followers are woken then.
    expect(nextEndpointChangeMs(svc, observed, NOW)).toBe(NOW + 500);
  });

  it("lists both copies of a slot during a health-gated move, and ignores reports of an older epoch", () => {
    const hosts = new Map([["a", host("a")], ["bb", host("bb")]]);
    const moving = [inst(0, "a", { moveTo: { hostId: "bb", epoch: 2 } })];
    const both = new Map([obs("a", 0, 1, "healthy", NOW - 5000), obs("bb", 0, 2, "healthy", NOW - 5000)]);
    expect(endpointsOf(svc, moving, hosts, both, NOW).map((e) => e.host)).toEqual(["a", "bb"]);
    const stale = new Map([obs("bb", 0, 1, "healthy", NOW - 5000)]);
    expect(endpointsOf(svc, moving, hosts, stale, NOW)).toEqual([]);
  });
});
