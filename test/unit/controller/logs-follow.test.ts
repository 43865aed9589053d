/**
 * `berth logs -f SERVICE` follows the service (controller/member/api/logs-handler.ts):
 * which hosts' parts open and end as copies start and leave, as pure functions of
 * the instance records and what the hosts report.
 */
import { describe, expect, it } from "vitest";
import { deletedService, departedAnswer, followChanges, logTargets } from "../../../controller/member/api/logs-handler.js";
import type { InstanceRecord } from "../../../controller/services/records.js";

const inst = (slot: number, hostId: string, moveTo?: string): InstanceRecord =>
  ({ service: "web", slot, hostId, epoch: 1, revision: 1, moveTo: moveTo ? { hostId: moveTo, epoch: 2 } : null }) as unknown as InstanceRecord;
const running = (entries: [string, string, number][]): Map<string, { instance: string; pid: number }> => new Map(entries.map(([h, instance, pid]) => [h, { instance, pid }]));

describe("logTargets", () => {
  it("names every host a copy runs on, and the host a moving copy goes to", () => {
    expect(logTargets([inst(0, "h1"), inst(1, "h2", "h3"), inst(2, "")])).toEqual([
      { host: "h1", instance: "web-0" },
      { host: "h2", instance: "web-1" },
      { host: "h3", instance: "web-1" },
    ]);
  });
});

describe("followChanges", () => {
  it("opens a part for a copy that started on a host not followed yet, once the host reports its process", () => {
    const targets = logTargets([inst(0, "h1", "h2")]);
    const open = new Map([["h1", { pid: 10, live: true }]]);
    // Placed there, not running yet: nothing to follow (the agent would answer "does not run here").
    expect(followChanges(targets, open, running([["h1", "web-0", 10]]))).toEqual({ start: [], end: [] });
    expect(followChanges(targets, open, running([["h1", "web-0", 10], ["h2", "web-0", 0]]))).toEqual({ start: [], end: [] });
    // Another instance's report on that host is not this copy's.
    expect(followChanges(targets, open, running([["h2", "web-9", 20]]))).toEqual({ start: [], end: [] });
    expect(followChanges(targets, open, running([["h1", "web-0", 10], ["h2", "web-0", 20]]))).toEqual({ start: [{ host: "h2", instance: "web-0", pid: 20 }], end: [] });
  });

  it("ends the part of a host the service has left, live or not", () => {
    const open = new Map([
      ["h1", { pid: 10, live: true }],
      ["h2", { pid: 20, live: false }],
      ["h3", { pid: 30, live: true }],
    ]);
    expect(followChanges(logTargets([inst(0, "h3")]), open, running([["h3", "web-0", 30]])).end).toEqual(["h1", "h2"]);
  });

  it("opens an ended part again only for another process: never twice for the same one", () => {
    const targets = logTargets([inst(0, "h1")]);
    // The agent ended it at once (not running yet when asked): the copy's process, once it runs, gets a part.
    expect(followChanges(targets, new Map([["h1", { pid: 0, live: false }]]), running([["h1", "web-0", 11]])).start).toEqual([{ host: "h1", instance: "web-0", pid: 11 }]);
    // Ended for the process running now: not again, whatever ended it.
    expect(followChanges(targets, new Map([["h1", { pid: 11, live: false }]]), running([["h1", "web-0", 11]])).start).toEqual([]);
    // A live part goes on across restarts in place (the agent follows the instance's files, not a process).
    expect(followChanges(targets, new Map([["h1", { pid: 11, live: true }]]), running([["h1", "web-0", 12]])).start).toEqual([]);
  });

  it("opens an ended part again for the same process once its host is reached through another stream (the agent reconnected), never on the same one", () => {
    const targets = logTargets([inst(0, "h1")]);
    const ended = new Map([["h1", { pid: 11, live: false, via: "here:7" }]]);
    const still = running([["h1", "web-0", 11]]);
    // Its agent disconnected (the part ended) and is not back: nothing to open.
    expect(followChanges(targets, ended, still, () => undefined).start).toEqual([]);
    // Back on this member (a new stream), or on another member: the same process is followed again.
    expect(followChanges(targets, ended, still, () => "here:8").start).toEqual([{ host: "h1", instance: "web-0", pid: 11 }]);
    expect(followChanges(targets, ended, still, () => "member:c2").start).toEqual([{ host: "h1", instance: "web-0", pid: 11 }]);
    // The same stream that ended it: not again (an agent that ends a part at once cannot make a loop).
    expect(followChanges(targets, ended, still, () => "here:7").start).toEqual([]);
    // Not connected when the call began, connected now.
    expect(followChanges(targets, new Map([["h1", { pid: 11, live: false, via: "" }]]), still, () => "here:9").start).toEqual([{ host: "h1", instance: "web-0", pid: 11 }]);
  });
});

describe("departedAnswer", () => {
  it("says what an agent too old to read back kept output meant by its answer, and passes every other answer on", () => {
    expect(departedAnswer("[berth:  does not run on this host]\n", "web", "h1")).toBe("[berth: web has no instance on h1, and its agent is too old to read back the output it kept]\n");
    expect(departedAnswer("[berth: web-0 left this host; …]\nline\n", "web", "h1")).toBe("[berth: web-0 left this host; …]\nline\n");
    expect(departedAnswer("", "web", "h1")).toBe("");
  });
});

describe("deletedService", () => {
  const d = { state: { service: () => undefined, allServices: () => [] } } as unknown as Parameters<typeof deletedService>[0];
  const req = (service: string, o: { install?: boolean; follow?: boolean } = {}) => ({ service, install: o.install ?? false, follow: o.follow ?? false });

  it("lets a name that is no service through only to one host's kept output, and names what is wrong otherwise", () => {
    expect(deletedService(d, req("web"), "h1")).toEqual({ name: "web" });
    expect(() => deletedService(d, req("web"), "")).toThrow(/^no service "web"; if it was deleted, the hosts it ran on keep its output: berth logs web --host H$/);
    expect(() => deletedService(d, req("web", { install: true }), "h1")).toThrow(/no service "web"/);
    expect(() => deletedService(d, req("web", { follow: true }), "h1")).toThrow(/no service "web"/);
    expect(() => deletedService(d, req("../etc"), "h1")).toThrow(/"\.\.\/etc" is not a service name/);
    expect(() => deletedService(d, req("Web"), "h1")).toThrow(/not a service name/);
  });
});
