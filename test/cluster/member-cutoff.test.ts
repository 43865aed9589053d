/**
 * Issue 11: a follower cut off alone — its network namespace partitioned, with its etcd
 * member — while the leader keeps etcd. The follower's agents must reach another member
 * before the leader could judge their hosts down: the leader hears of a host only through
 * the liveness reports of the member holding its stream, and a member cut off stops
 * reporting, while its agents notice the silence only after a TTL and then reconnect.
 * Expected: no host down, no instance restarted (same pids and epochs), the cut-off member
 * saying so when asked (of itself: from its own node, the only place it can be reached),
 * and serving again once healed.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { BERTH_MAIN, type EventJson, type StatusJson } from "./harness/cluster.js";
import { Group, type ControllersJson, type GroupHostJson } from "./harness/group.js";
import { svcSpec } from "./harness/specs.js";
import { waitFor } from "./harness/wait.js";
import { tearDownWith } from "./harness/teardown.js";
import { terminate } from "./harness/procs.js";

const namespaces = process.getuid?.() === 0 && process.env["BERTH_TOPOLOGY"] !== "loopback";

interface ControllersView extends ControllersJson {
  members: (ControllersJson["members"][number] & { store_state: string; store_unreachable_since_ms: number | string; store_error: string })[];
}

const slots = (s: StatusJson): Record<number, { pid: number; epoch: number; host: string }> =>
  Object.fromEntries(s.instances.map((i) => [i.slot, { pid: i.pid, epoch: i.epoch, host: i.host }]));

describe.skipIf(!namespaces)("a follower cut off from etcd alone, the leader keeping it", () => {
  let g: Group;

  beforeAll(async () => {
    g = await Group.start({ controllers: 3, hosts: 4, lease: "3s", ttl: "3s", heartbeat: "500ms", etcd: "with-controllers" });
    const spec = svcSpec("web", { instances: 4, health: { interval: "300ms", timeout: "250ms" } });
    const applied = await g.apply(await g.specDir("web", { "web.yaml": spec }));
    expect(applied.code, applied.stderr).toBe(0);
    await g.waitForStatus("web", (s) => s.instances.length === 4 && s.instances.every((i) => i.state === "healthy" && i.pid > 0), "web healthy on 4 hosts", 90_000);
  }, 240_000);
  tearDownWith(() => g);

  const view = (members?: string): Promise<ControllersView> => g.cliJson<ControllersView>(["controllers"], { members });
  const hosts = (members?: string): Promise<GroupHostJson[]> => g.cliJson<GroupHostJson[]>(["hosts"], { members });
  const status = (members?: string): Promise<StatusJson> => g.cliJson<StatusJson>(["status", "web"], { members });
  const events = (members?: string): Promise<EventJson[]> => g.cliJson<EventJson[]>(["events", "-n", "10000"], { members });
  /** `berth controllers` run on member i's own node, asking member i: what it says of itself while cut off. */
  const askItself = async (i: number, json: boolean): Promise<string> => {
    const r = await g.topo.run(g.ctlNode(i), [process.execPath, BERTH_MAIN, "controllers", ...(json ? ["-o", "json"] : [])], { env: g.env(g.addr(i)), timeoutMs: 30_000 });
    if (r.code !== 0) throw new Error(`berth controllers on ${g.name(i)}'s node exited ${r.code}: ${r.stderr}`);
    return r.stdout;
  };

  it("its agents move to the other members before any host is judged down; same pids; it says it is cut off; healed, it serves again", async () => {
    const c0 = await view();
    const leader = c0.leader;
    // The follower holding the most agent streams (agents draw their order of the members at random),
    // among those whose etcd member is not etcd's raft leader: cutting that one off costs an etcd
    // election (1–2 s without writes or keep-alives), a different case (see the README).
    const hs0 = await hosts();
    const raftLeader = await g.etcd.leader();
    const followers = [1, 2, 3].filter((i) => g.name(i) !== leader && g.etcd.members[i - 1] !== raftLeader);
    const fi = followers.sort((a, b) => hs0.filter((h) => h.member === g.name(b)).length - hs0.filter((h) => h.member === g.name(a)).length)[0]!;
    const f = g.name(fi);
    // None there: every agent restarted (each draws a new order of the members) until one is. A round
    // leaves f empty with odds (2/3)^4 ≈ 0.2, so 8 rounds fail about once in 400,000; restarting one agent a
    // round, as before, failed about once in 26 (a full CI run hit it).
    for (let tries = 0; !(await hosts()).some((h) => h.member === f) && tries < 8; tries++) {
      await Promise.all([1, 2, 3, 4].map((i) => terminate(g.agents.get(i), { killAfterMs: 10_000 })));
      for (const i of [1, 2, 3, 4]) g.startAgent(i);
      await g.waitForHosts((hs) => hs.length === 4 && hs.every((h) => h.connected && h.status === "ready"), "4 hosts connected again", 30_000);
    }
    await g.waitForStatus("web", (s) => s.instances.length === 4 && s.instances.every((i) => i.state === "healthy" && i.pid > 0), "web healthy on 4 hosts");
    const held = (await hosts()).filter((h) => h.member === f).map((h) => h.id);
    expect(held.length, `no agent stream on ${f} to move`).toBeGreaterThan(0);
    console.log(`member-cutoff: ${leader} leads; cutting off ${f}, which holds ${held.length} agent stream(s): ${held.join(", ")}`);
    const others = [1, 2, 3].filter((i) => i !== fi);
    const via = others.map((i) => g.addr(i)).join(",");
    const before = slots(await status());
    // Only what happens from the cut on counts: an agent restarted above (to get a stream onto
    // the member) may be away longer than the TTL on a loaded machine, and its host then rightly goes down.
    const seqAtCut = Math.max(0, ...(await events()).map((e) => e.seq));
    const downsSinceCut = async (members?: string): Promise<string[]> =>
      (await events(members)).filter((e) => e.type === "host.down" && e.seq > seqAtCut).map((e) => `${e.host}: ${e.message}`);

    const cutAt = Date.now();
    await g.partitionController(fi);
    // Every host on a member that has etcd, connected and ready.
    const moved = await waitFor(
      async () => {
        const hs = await hosts(via);
        return hs.length === 4 && hs.every((h) => h.connected && h.status === "ready" && h.member !== "" && h.member !== f) ? hs : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 300, what: `every host on ${others.map((i) => g.name(i)).join(" or ")}` },
    );
    console.log(`member-cutoff: ${held.length} host(s) moved off ${f} within ${Date.now() - cutAt} ms: ${moved.map((h) => `${h.id}→${h.member}`).join(", ")}`);

    // It says so, asked of itself (its own node is the only place it can be reached from).
    const self = await waitFor(
      async () => {
        const c = JSON.parse(await askItself(fi, true)) as ControllersView;
        const me = c.members.find((m) => m.self);
        return me?.store_state === "unreachable" ? c : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 300, what: `${f} to say it cannot reach etcd` },
    );
    expect(self.members.find((m) => m.self)?.leader).toBe(false);
    expect(await askItself(fi, false)).toContain(`${f} cannot reach etcd since`);
    // Asked of the others: the leader is unchanged, and the cut-off member is not shown as reaching the store
    // (its row, asked of it, has no answer; once its registration's lease lapses it is not listed).
    const seen = await view(via);
    expect(seen.leader).toBe(leader);
    expect(seen.members.find((m) => m.id === f)?.store_state ?? "").not.toBe("ok");

    // The leader kept deciding throughout: no host down, no instance moved or restarted.
    expect(slots(await status(via))).toEqual(before);
    expect(await downsSinceCut(via)).toEqual([]);

    await g.healController(fi);
    const back = await waitFor(
      async () => {
        const c = await view(g.addr(fi));
        const me = c.members.find((m) => m.self);
        return me?.store_state === "ok" && c.leader === leader && c.members.length === 3 ? c : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 300, what: `${f} back on the store, a follower of ${leader}` },
    );
    expect(back.members.find((m) => m.id === f)?.leader).toBe(false);
    // It serves again: operator calls answered from the store through it.
    const st = await status(g.addr(fi));
    expect(slots(st)).toEqual(before);
    expect(await downsSinceCut()).toEqual([]);
    // Its outage is on record, written once it had the store back.
    await waitFor(async () => ((await events()).some((e) => e.type === "store.unreachable" && e.message.includes(`controller ${f} `)) ? true : undefined), {
      timeoutMs: 20_000,
      intervalMs: 300,
      what: `${f}'s outage in the event log`,
    });
  }, 240_000);
});
