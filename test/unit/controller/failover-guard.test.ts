// The guard's verdict as the leader asks for it (failure/failover-guard.ts): which hosts
// count as lost — down, or silent for two heartbeats — over the hosts that count at all
// (not cordoned, not joining), with losses before an operator's resume left out. It is
// asked after every detector pass and every reconcile pass, over every host, so it is one
// loop with one clock read.
import { describe, expect, it } from "vitest";
import { FailoverGuard } from "../../../controller/failure/failover-guard.js";
import type { GuardState, GuardStore } from "../../../controller/failure/guard-state.js";
import type { HostRecord } from "../../../controller/hosts/host.js";
import { createLogger } from "../../../shared/log/logger.js";

const NOW = 1_000_000;
const MONO = 50_000;

function host(id: string, health: HostRecord["health"], o: Partial<HostRecord> = {}): HostRecord {
  return { id, labels: {}, advertiseAddr: "10.0.0.1", facts: null, health, healthSinceMs: NOW - 1000, cordoned: false, joinedAtMs: 0, certSerial: "", ...o };
}

function guard(hosts: HostRecord[], heardAt: Record<string, number>, state: Partial<GuardState> = {}): { guard: FailoverGuard; monoReads: () => number } {
  let reads = 0;
  const g = new FailoverGuard({
    store: { current: { paused: false, reason: "", sinceMs: 0, resumedAtMs: 0, ...state } } as unknown as GuardStore,
    hosts: () => hosts,
    heard: () => new Map(Object.entries(heardAt).map(([id, t]) => [id, { lastHeartbeatMono: t }])),
    now: () => NOW,
    mono: () => (reads++, MONO),
    heartbeatIntervalMs: 1000,
    cfg: { share: 0.5, ttlMs: 5000, minHosts: 3 },
    log: createLogger("test", "silent"),
  });
  return { guard: g, monoReads: () => reads };
}

describe("the failover guard's verdict", () => {
  it("counts hosts down or silent for two heartbeats, of those not cordoned or joining", () => {
    const hosts = [
      host("a", "down", { healthSinceMs: NOW - 500 }),
      host("b", "ready"),
      host("c", "ready"),
      host("d", "ready"),
      host("e", "ready", { cordoned: true }),
      host("f", "joining"),
    ];
    // b silent 2.5 s (going down now), c and d heard 0.5 s ago; e and f silent but not counted.
    const { guard: g, monoReads } = guard(hosts, { b: MONO - 2500, c: MONO - 500, d: MONO - 500, e: MONO - 9000, f: MONO - 9000 });
    expect(g.verdict()).toEqual({ paused: true, reason: "2 of 4 ready hosts went down within 5s: is the controller cut off?" });
    expect(monoReads()).toBe(1);
  });

  it("a host silent for exactly two heartbeats is not yet lost; losses before a resume do not count", () => {
    const hosts = [host("a", "down", { healthSinceMs: NOW - 500 }), host("b", "ready"), host("c", "ready"), host("d", "ready")];
    expect(guard(hosts, { b: MONO - 2000, c: MONO, d: MONO }).guard.verdict()).toEqual({ paused: false });
    expect(guard(hosts, { b: MONO - 2001, c: MONO, d: MONO }, { resumedAtMs: NOW - 400 }).guard.verdict()).toEqual({ paused: false });
    expect(guard(hosts, { b: MONO - 2001, c: MONO, d: MONO }).guard.verdict()).toMatchObject({ paused: true });
  });

  it("does not count hosts merely silent while the term's grace holds judgement, until the grace is about to end", () => {
    const hosts = [host("a", "ready"), host("b", "ready"), host("c", "ready")];
    // Every host silent 4 s: a fleet still reconnecting after an etcd outage, or a controller cut off.
    const heard = { a: MONO - 4000, b: MONO - 4000, c: MONO - 4000 };
    const during = guard(hosts, heard).guard;
    during.judgingFrom(MONO + 5000);
    expect(during.verdict()).toEqual({ paused: false });
    // Within the silence that counts (two heartbeats) of the grace's end: counted, so failover pauses before the detector declares the first one down.
    const ending = guard(hosts, heard).guard;
    ending.judgingFrom(MONO + 2000);
    expect(ending.verdict()).toEqual({ paused: true, reason: "3 of 3 ready hosts went down within 5s: is the controller cut off?" });
    // Hosts the detector declared down count whatever the grace.
    const down = guard([host("a", "down", { healthSinceMs: NOW - 500 }), host("b", "down", { healthSinceMs: NOW - 500 }), host("c", "ready")], { c: MONO }).guard;
    down.judgingFrom(MONO + 5000);
    expect(down.verdict()).toMatchObject({ paused: true });
  });
});
