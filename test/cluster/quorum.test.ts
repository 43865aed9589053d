/**
 * Issue 11, the store's side: a controller group of 3 members, each in a network namespace
 * of its own with its own etcd member (harness/group.ts, etcd "with-controllers"), and 3
 * agents in namespaces of their own. The leader's namespace partitioned (the controller
 * and its etcd member cut off together); 1 etcd member of 3 killed; 2 of 3 killed and
 * brought back. What an operator and the services see is checked each time.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { BERTH_MAIN, type EventJson, type StatusJson } from "./harness/cluster.js";
import { Group, type ControllersJson, type GroupHostJson } from "./harness/group.js";
import { svcSpec } from "./harness/specs.js";
import { waitFor } from "./harness/wait.js";
import { tearDownWith } from "./harness/teardown.js";

const TTL_MS = 3_000;
/** The services self-fence after this long without word from the controller: the outage below lasts longer. */
const STOP_AFTER_DISCONNECT_S = 8;

const namespaces = process.getuid?.() === 0 && process.env["BERTH_TOPOLOGY"] !== "loopback";

interface ControllersView extends ControllersJson {
  members: (ControllersJson["members"][number] & { store_state: string; store_unreachable_since_ms: number | string; store_error: string })[];
}

/** pid and epoch of every slot. */
const slots = (s: StatusJson): Record<number, { pid: number; epoch: number; host: string }> =>
  Object.fromEntries(s.instances.map((i) => [i.slot, { pid: i.pid, epoch: i.epoch, host: i.host }]));

const b64 = (s: string): string => Buffer.from(s, "utf8").toString("base64");
/** The key every write of the store rewrites, its value naming the writer (controller/store/etcd-store.ts). */
const REV_KEY = "berth/rev";

/**
 * Checks an invariant every intervalMs until untilMs (wall) has passed: a failed check
 * fails at once (waitFor would take it for "not yet"). Returns how many checks held.
 */
async function holds(untilMs: number, intervalMs: number, check: () => Promise<void> | void): Promise<number> {
  let n = 0;
  for (;;) {
    await check();
    n++;
    if (Date.now() >= untilMs) return n;
    await new Promise((r) => setTimeout(r, Math.min(intervalMs, untilMs - Date.now())));
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe.skipIf(!namespaces)("a controller group whose etcd members live with its controllers: partitions and quorum", () => {
  let g: Group;

  beforeAll(async () => {
    g = await Group.start({ controllers: 3, hosts: 3, lease: "3s", ttl: "3s", heartbeat: "500ms", etcd: "with-controllers" });
    const spec = svcSpec("web", { instances: 3, health: { interval: "300ms", timeout: "250ms" }, extra: `failover: { stopAfterDisconnect: ${STOP_AFTER_DISCONNECT_S}s }\n` });
    const applied = await g.apply(await g.specDir("web", { "web.yaml": spec }));
    expect(applied.code, applied.stderr).toBe(0);
    await g.waitForStatus("web", (s) => s.instances.length === 3 && s.instances.every((i) => i.state === "healthy" && i.pid > 0), "web healthy on 3 hosts", 90_000);
  }, 240_000);
  tearDownWith(() => g);

  /** Through these members only (a partitioned one would cost every call its connect timeout). */
  const view = (members?: string): Promise<ControllersView> => g.cliJson<ControllersView>(["controllers"], { members });
  const hosts = (members?: string): Promise<GroupHostJson[]> => g.cliJson<GroupHostJson[]>(["hosts"], { members });
  const events = (members?: string): Promise<EventJson[]> => g.cliJson<EventJson[]>(["events", "-n", "10000"], { members });
  const status = (members?: string): Promise<StatusJson> => g.cliJson<StatusJson>(["status", "web"], { members });
  const hostDowns = async (members?: string): Promise<string[]> => (await events(members)).filter((e) => e.type === "host.down").map((e) => `${e.host}: ${e.message}`);

  /** A curl on node 0 (the test's own namespace on the bridge). */
  const curl = async (args: string[]): Promise<string> => (await g.topo.run(0, ["curl", "-s", ...args], { timeoutMs: 15_000 })).stdout;
  const etcdRevision = async (endpoint: string): Promise<number> => {
    const r = JSON.parse(await curl(["--max-time", "3", "-X", "POST", `http://${endpoint}/v3/kv/range`, "-d", JSON.stringify({ key: b64(REV_KEY) })])) as { header: { revision: string } };
    return Number(r.header.revision);
  };
  /** Every revision of the store from fromRevision on, with the writer etcd-store recorded in `berth/rev`. */
  const writers = async (endpoint: string, fromRevision: number): Promise<{ revision: number; writer: string }[]> => {
    // A watch from a past revision replays the history, then waits: curl ends it at --max-time.
    const out = await curl(["-N", "--max-time", "3", "-X", "POST", `http://${endpoint}/v3/watch`, "-d", JSON.stringify({ create_request: { key: b64(REV_KEY), start_revision: fromRevision } })]);
    const revs: { revision: number; writer: string }[] = [];
    for (const line of out.split("\n").filter(Boolean)) {
      const msg = JSON.parse(line) as { result?: { events?: { kv: { mod_revision: string; value?: string } }[] } };
      for (const ev of msg.result?.events ?? []) revs.push({ revision: Number(ev.kv.mod_revision), writer: Buffer.from(ev.kv.value ?? "", "base64").toString("utf8") });
    }
    return revs;
  };
  const metric = async (i: number, name: string): Promise<number | undefined> => {
    const body = await curl(["--max-time", "3", `http://${g.metricsAddr(i)}/metrics`]);
    const line = new RegExp(`^${name} (\\S+)$`, "m").exec(body);
    return line ? Number(line[1]) : undefined;
  };

  it("the leader's namespace partitioned: it stops writing before the new leader's first write (etcd's revisions say so), no host goes down, it rejoins as a follower", async () => {
    const first = (await view()).leader;
    const li = g.index(first);
    const others = [1, 2, 3].filter((i) => i !== li);
    const via = others.map((i) => g.addr(i)).join(",");
    const endpoint = g.etcd.members[others[0]! - 1]!.endpoint;
    const before = slots(await status());
    const fromRev = (await etcdRevision(endpoint)) + 1;

    const cutAt = Date.now();
    await g.partitionController(li);
    const elected = await waitFor(
      async () => {
        const c = await view(via);
        // leader_since_ms: the new term has recorded itself (written just after it starts).
        return c.leader && c.leader !== first && Number(c.leader_since_ms) > 0 ? c : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 200, what: "a new leader among the members that have etcd, its term recorded" },
    );
    console.log(`quorum: ${first}'s namespace partitioned; ${elected.leader} leads ${Number(elected.leader_since_ms) - cutAt} ms after the cut (lease 3 s)`);
    // Every host on a member that has etcd, none down.
    await waitFor(
      async () => {
        const hs = await hosts(via);
        return hs.length === 3 && hs.every((h) => h.connected && h.status === "ready" && h.member !== "" && h.member !== first) ? hs : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 300, what: `every host on ${others.map((i) => g.name(i)).join(" or ")}` },
    );

    // Asked of itself (its own node is the only place it can be reached from): it stopped leading
    // — it does not say it leads, and its berth_leader is 0 — and it reports the store unreachable.
    // It sent its agents away (MoveOn) when it lost the store, but over a cut link that cannot
    // arrive: the agents moved on their own watchdog (a TTL without a word), as asserted above.
    const selfView = JSON.parse(
      (await g.topo.run(g.ctlNode(li), [process.execPath, BERTH_MAIN, "controllers", "-o", "json"], { env: g.env(g.addr(li)), timeoutMs: 30_000 })).stdout,
    ) as ControllersView;
    expect(selfView.members.find((m) => m.self)).toMatchObject({ id: first, leader: false, store_state: "unreachable" });
    expect(selfView.leader).not.toBe(first);
    const selfMetrics = (await g.topo.run(g.ctlNode(li), ["curl", "-s", "--max-time", "3", `http://${g.metricsAddr(li)}/metrics`], { timeoutMs: 15_000 })).stdout;
    expect(/^berth_leader (\S+)$/m.exec(selfMetrics)?.[1]).toBe("0");

    await g.healController(li);
    const back = await waitFor(
      async () => {
        const c = await view(g.addr(li));
        const self = c.members.find((m) => m.self);
        return self?.store_state === "ok" && c.leader === elected.leader && c.members.length === 3 ? c : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 300, what: `${first} back, a follower of ${elected.leader}` },
    );
    expect(back.members.find((m) => m.id === first)?.leader).toBe(false);

    // From etcd's history: the old leader's last decision before the new leader's first.
    const revs = (await writers(endpoint, fromRev)).filter((r) => r.revision >= fromRev);
    const oldLeader = revs.filter((r) => r.writer.startsWith(`${first} leading@`));
    const newLeader = revs.filter((r) => r.writer.startsWith(`${elected.leader} leading@`));
    expect(newLeader.length, JSON.stringify(revs.slice(-20))).toBeGreaterThan(0);
    const lastOld = oldLeader.at(-1)?.revision ?? fromRev - 1;
    const firstNew = newLeader[0]!.revision;
    console.log(`quorum: the old leader's last write at revision ${lastOld}, the new leader's first at ${firstNew} (${revs.length} revisions since the cut)`);
    expect(lastOld).toBeLessThan(firstNew);
    // The old term never wrote again after the new term's first write.
    const oldTerm = oldLeader.at(-1)?.writer;
    expect(revs.filter((r) => r.revision > firstNew && r.writer === oldTerm)).toEqual([]);

    const st = await g.waitForStatus("web", (s) => s.instances.length === 3 && s.instances.every((i) => i.state === "healthy"), "web healthy");
    expect(slots(st)).toEqual(before);
    expect(await hostDowns()).toEqual([]);
  }, 180_000);

  it("1 etcd member of 3 killed: nothing an operator or an agent can see changes", async () => {
    await waitFor(async () => ((await view()).members.every((m) => m.store_state === "ok") ? true : undefined), { timeoutMs: 30_000, intervalMs: 300, what: "every member on the store" });
    const ctl = await view();
    const hs = await hosts();
    const before = slots(await status());
    const storeEvents = (await events()).filter((e) => e.type.startsWith("store.")).length;
    const raftLeader = await g.etcd.leader();
    const victim = g.etcd.members.find((m) => m !== raftLeader)!;

    await g.etcd.kill(victim);
    const killedAt = Date.now();
    // For three TTLs, every look the same as before.
    const looks = await holds(killedAt + 3 * TTL_MS, 300, async () => {
        const c = await view();
        expect({ leader: c.leader, since: c.leader_since_ms, stores: c.members.map((m) => [m.id, m.store_state]) }).toEqual({
          leader: ctl.leader,
          since: ctl.leader_since_ms,
          stores: ctl.members.map((m) => [m.id, "ok"]),
        });
        const now = await hosts();
        expect(now.map((h) => [h.id, h.member, h.connected, h.status])).toEqual(hs.map((h) => [h.id, h.member, true, "ready"]));
    });
    console.log(`quorum: etcd ${victim.name} (a follower) killed; ${looks} looks over ${Date.now() - killedAt} ms, each the same`);
    expect(slots(await status())).toEqual(before);
    expect((await events()).filter((e) => e.type.startsWith("store.")).length).toBe(storeEvents);

    await g.etcd.restart(victim);
    expect((await view()).leader).toBe(ctl.leader);
  }, 120_000);

  it("2 etcd members of 3 killed: decisions stop and berth controllers says so, services keep running (same pids) past stopAfterDisconnect, nothing is lost when they return", async () => {
    await waitFor(async () => ((await view()).members.every((m) => m.store_state === "ok") ? true : undefined), { timeoutMs: 30_000, intervalMs: 300, what: "every member on the store" });
    const st0 = await status();
    const before = slots(st0);
    const pids = st0.instances.map((i) => i.pid);
    const servicesBefore = await g.cliJson<unknown[]>(["services"]);
    const seqBefore = (await events()).map((e) => e.seq);
    const [a, b] = [g.etcd.members[0]!, g.etcd.members[1]!];

    await Promise.all([g.etcd.kill(a), g.etcd.kill(b)]);
    const killedAt = Date.now();
    // The last view seen, for the failure's message: which member still led, or still said it reached etcd.
    let last: ControllersView | undefined;
    const lost = await waitFor(
      async () => {
        const c = (last = await view());
        return !c.leader && c.members.length === 3 && c.members.every((m) => m.store_state === "unreachable") ? c : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 300, what: "every member to say it cannot reach etcd, and no leader" },
    ).catch((err: unknown) => {
      const seen = last && { leader: last.leader, members: last.members.map((m) => `${m.id} leader=${m.leader} store=${m.store_state} ${m.store_error}`) };
      throw new Error(`${err instanceof Error ? err.message : String(err)}; last view: ${JSON.stringify(seen)}`);
    });
    console.log(`quorum: 2 etcd members killed; every member says so ${Date.now() - killedAt} ms later: ${lost.members.map((m) => `${m.id}: ${m.store_error}`).join("; ")}`);
    const table = await g.cli(["controllers"]);
    expect(table.stdout).toContain("ETCD HAS LOST ITS QUORUM");
    expect(table.stdout).toContain("NO LEADER");
    for (const i of [1, 2, 3]) {
      expect(await metric(i, "berth_store_available")).toBe(0);
      expect(await metric(i, "berth_leader")).toBe(0);
    }
    // A call that needs the store says so, and where to look — not "internal error".
    const read = await g.cli(["events", "-n", "3"]);
    expect(read.code, read.stderr).toBe(3);
    expect(read.stderr).toMatch(/this controller cannot reach its store: etcd at /);
    expect(read.stderr).toContain("`berth controllers` shows which members reach the store");
    // A change is refused at once by every member, before anything is sent to etcd: nothing
    // changed, said so — not a write's deadline waited out and "may or may not have taken effect".
    const hostId = st0.instances[0]!.host;
    const cordon = await g.cli(["cordon", hostId]);
    expect(cordon.code, cordon.stderr).toBe(3);
    expect(cordon.stderr).toMatch(/this controller cannot reach its store: .*nothing was changed/);
    expect(cordon.stderr).not.toMatch(/may or may not/);
    // A member cut off hears of no host: it must not take that for a mass failure of the fleet.
    const hostsTable = await g.cli(["hosts"]);
    expect(hostsTable.code, hostsTable.stderr).toBe(0);
    expect(hostsTable.stdout).not.toContain("FAILOVER PAUSED");
    // And what it lists is what it last knew, said so.
    expect(hostsTable.stderr).toMatch(/STALE: \S+ cannot reach its store: etcd at .*What follows is what it last knew/);

    // Held well past the services' stopAfterDisconnect: every service the same process throughout.
    await holds(killedAt + (STOP_AFTER_DISCONNECT_S + 4) * 1000, 250, () => {
      expect(pids.filter((p) => !alive(p))).toEqual([]);
    });

    const returnedAt = Date.now();
    await Promise.all([g.etcd.restart(a), g.etcd.restart(b)]);
    const back = await waitFor(
      async () => {
        const c = await view();
        return c.leader && c.members.every((m) => m.store_state === "ok") ? c : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 300, what: "a leader again, every member on the store" },
    );
    console.log(`quorum: etcd back; ${back.leader} leads, seen ${Date.now() - returnedAt} ms after the members were started again`);
    await g.waitForHosts((hs) => hs.length === 3 && hs.every((h) => h.connected && h.status === "ready"), "3 hosts ready again", 30_000);
    for (const i of [1, 2, 3]) expect(await metric(i, "berth_store_available")).toBe(1);

    const st = await g.waitForStatus("web", (s) => s.instances.length === 3 && s.instances.every((i) => i.state === "healthy"), "web healthy");
    expect(slots(st)).toEqual(before);
    expect((await g.hosts()).find((h) => h.id === hostId)?.cordoned, "the refused cordon was never applied").toBe(false);
    expect(await g.cliJson<unknown[]>(["services"])).toEqual(servicesBefore);
    const evs = await events();
    expect(evs.map((e) => e.seq)).toEqual(expect.arrayContaining(seqBefore));
    expect(evs.filter((e) => e.type === "host.down")).toEqual([]);
    // Nor was the fleet reconnecting through the new term's grace taken for a mass failure.
    expect(evs.filter((e) => e.type === "failover.paused" && !seqBefore.includes(e.seq)).map((e) => e.message)).toEqual([]);
    // Each member wrote its outage once the store was back, saying it is late.
    const outages = evs.filter((e) => e.type === "store.unreachable" && !seqBefore.includes(e.seq));
    expect(outages.map((e) => /controller (c\d)/.exec(e.message)?.[1]).sort()).toEqual(["c1", "c2", "c3"]);
    expect(outages.every((e) => e.message.includes("Written when the store answered again"))).toBe(true);
    expect(evs.filter((e) => e.type === "store.reachable" && !seqBefore.includes(e.seq))).toHaveLength(3);
  }, 180_000);
});
