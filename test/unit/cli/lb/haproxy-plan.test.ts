import { describe, expect, it } from "vitest";
import { busyPerServer, parseServersState, parseStatSessions, parseStreamsPerServer, planHaproxy, type CurrentServer, type PlanInput } from "../../../../cli/lb/haproxy-plan.js";
import { desiredServers, serverName } from "../../../../cli/lb/servers.js";

const s = (name: string, address = "10.0.0.2", port = 8080) => ({ name, address, port });
const cur = (name: string, admin: CurrentServer["admin"], address = "10.0.0.2", port = 8080): CurrentServer => ({ name, address, port, admin });
const plan = (o: Partial<PlanInput>) => planHaproxy({ backend: "app", desired: [], current: [], conns: new Map(), drainingSince: new Map(), drainTimeMs: 5000, nowMs: 1000, ...o });
const texts = (p: ReturnType<typeof planHaproxy>) => p.commands.map((c) => c.text);

describe("planHaproxy", () => {
  it("adds a new copy (it comes in maintenance) and then enables it", () => {
    expect(texts(plan({ desired: [s("web-0_h1")] }))).toEqual(["add server app/web-0_h1 10.0.0.2:8080", "set server app/web-0_h1 state ready"]);
  });

  it("does nothing when the backend already has the servers in service", () => {
    expect(plan({ desired: [s("a")], current: [cur("a", "ready")] }).commands).toEqual([]);
  });

  it("drains a copy that left at once, remembering since when, and waits while it has connections", () => {
    const p = plan({ desired: [s("b")], current: [cur("a", "ready"), cur("b", "ready")] });
    expect(texts(p)).toEqual(["set server app/a state drain"]);
    expect(p.drainingSince.get("a")).toBe(1000);
    expect(p.waiting).toEqual(["a"]);
    const later = plan({ desired: [s("b")], current: [cur("a", "drain"), cur("b", "ready")], conns: new Map([["a", 3]]), drainingSince: p.drainingSince, nowMs: 3000 });
    expect(later.commands).toEqual([]);
    expect(later.waiting).toEqual(["a"]);
  });

  it("takes a draining server that holds no connection to maintenance, and deletes it on a later pass", () => {
    const p = plan({ current: [cur("a", "drain")], conns: new Map([["a", 0]]), drainingSince: new Map([["a", 900]]) });
    // Not deleted in the same pass: a session may have come between show stat and maint.
    expect(texts(p)).toEqual(["set server app/a state maint"]);
    expect(p.waiting).toEqual(["a"]);
    const next = plan({ current: [cur("a", "maint")], conns: new Map([["a", 0]]), drainingSince: p.drainingSince, nowMs: 1250 });
    expect(texts(next)).toEqual(["del server app/a"]);
  });

  it("never deletes a server with sessions: once drainTime is over it is put in maintenance and its sessions shut down, and deleted once they are 0", () => {
    // HAProxy 2.6 deletes a server whose streams still point at it and crashes a moment later.
    const p = plan({ current: [cur("a", "drain")], conns: new Map([["a", 2]]), drainingSince: new Map([["a", 1000]]), nowMs: 6000 });
    expect(texts(p)).toEqual(["set server app/a state maint", "shutdown sessions server app/a"]);
    expect(p.waiting).toEqual(["a"]);
    expect(p.drainingSince.get("a")).toBe(1000);
    // shutdown sessions is asynchronous: a later pass still sees a session, and asks again.
    const still = plan({ current: [cur("a", "maint")], conns: new Map([["a", 1]]), drainingSince: p.drainingSince, nowMs: 6250 });
    expect(texts(still)).toEqual(["shutdown sessions server app/a"]);
    expect(still.waiting).toEqual(["a"]);
    const done = plan({ current: [cur("a", "maint")], conns: new Map([["a", 0]]), drainingSince: still.drainingSince, nowMs: 6500 });
    expect(texts(done)).toEqual(["del server app/a"]);
  });

  it("a drain found after a restart counts from now, and a server whose connections are unknown counts as busy", () => {
    const p = plan({ current: [cur("a", "drain")], nowMs: 7000 });
    expect(p.commands).toEqual([]);
    expect(p.drainingSince.get("a")).toBe(7000);
  });

  it("a server found in maintenance with sessions is left to finish them until drainTime is over, never deleted", () => {
    const p = plan({ current: [cur("a", "maint")], conns: new Map([["a", 3]]), nowMs: 7000 });
    expect(p.commands).toEqual([]);
    expect(p.waiting).toEqual(["a"]);
    expect(texts(plan({ current: [cur("a", "maint")], nowMs: 7000 }))).toEqual([]);
    expect(texts(plan({ current: [cur("a", "maint")], conns: new Map([["a", 3]]), drainingSince: p.drainingSince, nowMs: 12_000 }))).toEqual(["shutdown sessions server app/a"]);
  });

  it("retries the delete of a server left in maintenance without sessions", () => {
    expect(texts(plan({ current: [cur("a", "maint")], conns: new Map([["a", 0]]) }))).toEqual(["del server app/a"]);
  });

  it("enables a copy that comes back while draining, and moves one whose address changed", () => {
    expect(texts(plan({ desired: [s("a"), s("b", "10.0.0.9", 9090)], current: [cur("a", "drain"), cur("b", "ready")] }))).toEqual([
      "set server app/a state ready",
      "set server app/b addr 10.0.0.9 port 9090",
    ]);
  });

  it("puts adds before drains, so capacity arrives before any leaves", () => {
    const kinds = plan({ desired: [s("new")], current: [cur("old", "ready")] }).commands.map((c) => c.kind);
    expect(kinds).toEqual(["add", "ready", "drain"]);
  });

  it("appends server options to add server", () => {
    expect(texts(plan({ desired: [s("a")], serverOptions: " maxconn 50 " }))[0]).toBe("add server app/a 10.0.0.2:8080 maxconn 50");
  });
});

describe("desiredServers", () => {
  it("names each copy by instance and host, skips copies without a port, takes --port over the check's", () => {
    const eps = [
      { instance: "web-1", host: "h2", address: "10.0.0.3", port: 8080, epoch: 1, revision: 1 },
      { instance: "web-0", host: "h1", address: "10.0.0.2", port: 0, epoch: 1, revision: 1 },
    ];
    const d = desiredServers(eps);
    expect(d.servers).toEqual([{ name: "web-1_h2", address: "10.0.0.3", port: 8080 }]);
    expect(d.skipped[0]).toMatch(/web-0 on h1: .*--port/);
    expect(desiredServers(eps, 80).servers.map((x) => x.port)).toEqual([80, 80]);
    expect(serverName("web/0", "h 1")).toBe("web_0_h_1");
  });
});

describe("HAProxy's answers", () => {
  it("parses show servers state by column name, mapping admin bits to ready, drain and maint", () => {
    const text = `1
# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port
3 app 1 s1 127.0.0.1 2 0 1 1 2 1 0 2 0 0 0 0 - 18081 - 0 0 - - 0
3 app 2 s2 127.0.0.1 0 1 1 1 1 1 0 0 0 0 0 0 - 18082 - 0 0 - - 0
3 app 3 s3 127.0.0.1 2 8 1 1 1 1 0 0 0 0 0 0 - 18083 - 0 0 - - 0
`;
    expect(parseServersState(text, "app")).toEqual([cur("s1", "ready", "127.0.0.1", 18081), cur("s2", "maint", "127.0.0.1", 18082), cur("s3", "drain", "127.0.0.1", 18083)]);
    expect(() => parseServersState("Can't find backend.\n", "nope")).toThrow(/Can't find backend/);
  });

  it("parses the sessions per server from show stat", () => {
    const csv = `# pxname,svname,qcur,qmax,scur,smax
app,s1,0,0,3,4
app,BACKEND,0,0,3,4
other,s1,0,0,9,9
`;
    expect(parseStatSessions(csv, "app")).toEqual(new Map([["s1", 3]]));
  });

  it("counts the streams on each server of the backend from show sess, and takes them over scur where more", () => {
    // HAProxy 2.6's answer: a stream waiting to retry its connect on s1, one established on s2, the CLI's own.
    const sess = `0x55dc67ef22a0: proto=tcpv4 src=127.0.0.1:46638 fe=fe be=app srv=s1 ts=00 epoch=0 age=0s calls=6 rate=3 cpu=0 lat=0 rq[f=4dc00000h,i=16302,an=8000h,rx=,wx=,ax=] rp[f=80000000h,i=0,an=00h,rx=,wx=,ax=] scf=[8,280h,fd=12] scb=[3,1h,fd=-1] exp=0s rc=3 c_exp=0s
0x55dc67ef3000: proto=tcpv4 src=127.0.0.1:46640 fe=fe be=app srv=s2 ts=00 epoch=0 age=1s calls=4 rate=0 cpu=0 lat=0 rq[f=4dc00000h] rp[f=80000000h] scf=[8,280h,fd=13] scb=[8,1h,fd=14] exp=29s rc=0 c_exp=
0x55dc67ef4000: proto=tcpv4 src=127.0.0.1:46642 fe=fe be=other srv=s1 ts=00 epoch=0 age=1s calls=4 rate=0 cpu=0 lat=0
0x55dc6800f160: proto=unix_stream src=unix:1 fe=GLOBAL be=<NONE> srv=<none> ts=00 epoch=0 age=0s calls=2 rate=1 cpu=0 lat=0
`;
    const streams = parseStreamsPerServer(sess, "app");
    expect(streams).toEqual(new Map([["s1", 1], ["s2", 1]]));
    expect(busyPerServer(new Map([["s1", 0], ["s2", 3], ["s3", 0]]), streams)).toEqual(new Map([["s1", 1], ["s2", 3], ["s3", 0]]));
  });
});
