/**
 * Issue 11 end to end: a controller group of 3 members on a real 3-member etcd, with 5
 * agents given every member. The leader killed (SIGKILL) in the middle of a rolling update
 * under a load that follows `berth endpoints -w` through another member; an agent's member
 * killed under it; every member restarted at once. Each time nothing an operator or a
 * service can see may change: no failed request, no instance restarted twice (or at all),
 * no host down, nothing lost.
 */
import type { ChildProcess } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { BERTH_MAIN, ROOT, type StatusJson } from "./harness/cluster.js";
import { Group } from "./harness/group.js";
import { svcSpec } from "./harness/specs.js";
import { waitFor } from "./harness/wait.js";

const LOADGEN = resolve(ROOT, "test/fixtures/loadgen.mjs");
const LEASE_MS = 3_000;
/** Time for etcd to expire the lease and for the next campaigner to see it and take the lead, on a loaded 2-core machine. */
const LEADER_MARGIN_MS = 1_500;

type Line = { t: number; endpoints?: string[]; ok?: boolean; endpoint?: string; version?: string; error?: string };

function spec(v: string): string {
  return svcSpec("web", {
    instances: 4,
    env: { V: v },
    health: { interval: "200ms", timeout: "150ms", healthyThreshold: 1, unhealthyThreshold: 2 },
    update: { maxUnavailable: 1, minHealthyTime: "2s", drainTime: "1s", healthyDeadline: "8s", progressDeadline: "1m" },
  });
}

interface RolloutJson {
  status: string;
  done: number;
  total: number;
  to_revision: number;
}

/** pid and epoch of every slot. */
const slots = (s: StatusJson): Record<number, { pid: number; epoch: number }> => Object.fromEntries(s.instances.map((i) => [i.slot, { pid: i.pid, epoch: i.epoch }]));

describe("a controller group on etcd: leader loss, member loss, a restart of every member", () => {
  let g: Group;
  let load: ChildProcess | undefined;

  beforeAll(async () => {
    g = await Group.start({ controllers: 3, hosts: 5, lease: "3s", ttl: "3s", heartbeat: "500ms" });
    const applied = await g.apply(await g.specDir("web1", { "web.yaml": spec("1") }));
    expect(applied.code, applied.stderr).toBe(0);
    await g.waitForStatus("web", (s) => s.instances.length === 4 && s.instances.every((i) => i.state === "healthy" && i.pid > 0), "web healthy on 4 hosts");
  }, 180_000);
  afterEach(async ({ task }) => {
    if (load && load.exitCode === null && load.signalCode === null) {
      const exited = new Promise((r) => load!.once("exit", r));
      load.kill("SIGTERM");
      await exited;
    }
    load = undefined;
    if (task.result?.state === "fail") console.error(await g?.dumpLogs());
  });
  afterAll(async () => {
    await g?.destroy();
  });

  const leader = async (members?: string): Promise<string> => (await g.controllersJson(members)).leader;
  const hostDowns = async (): Promise<string[]> => (await g.events()).filter((e) => e.type === "host.down").map((e) => `${e.host}: ${e.message}`);

  it("the leader killed mid-rollout: a new leader within the lease, the rollout completes, every request succeeds, each slot restarted once, no host down", async () => {
    const first = await leader();
    const li = g.index(first);
    const other = [1, 2, 3].find((i) => i !== li)!;
    const survivor = [1, 2, 3].find((i) => i !== li && i !== other)!;
    const before = slots(await g.status("web"));

    // The load follows the endpoints through a member that does not lead (and survives).
    const file = join(g.dir, "load.jsonl");
    load = g.topo.spawn(0, [process.execPath, LOADGEN, BERTH_MAIN, "web", file, "10"], { env: g.env(g.addr(other)) });
    const lines = async (): Promise<Line[]> =>
      (await readFile(file, "utf8").catch(() => ""))
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Line);
    await waitFor(async () => ((await lines()).filter((x) => x.ok).length >= 20 ? true : undefined), { timeoutMs: 20_000, intervalMs: 100, what: "the load to get answers" });

    const applied = await g.apply(await g.specDir("web2", { "web.yaml": spec("2") }));
    expect(applied.code, applied.stderr).toBe(0);
    await waitFor(
      async () => {
        const r = await g.cli(["rollout", "status", "web", "-o", "json"], { members: g.addr(other) });
        const v = JSON.parse(r.stdout || "{}") as RolloutJson;
        return v.status === "running" && v.done >= 1 && v.done < 4 ? v : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 100, what: "the rollout to be under way" },
    );

    const killedAt = Date.now();
    await g.kill(li);
    const elected = await g.waitForNewLeader(first, { via: g.addr(survivor), timeoutMs: 30_000, what: "a new leader" });
    const next = elected.leader;
    const seenMs = Date.now() - killedAt;
    // When it took the lead, by its own clock (the same machine's): the CLI's polling is not counted.
    const newLeaderMs = Number(elected.leader_since_ms) - killedAt;
    console.log(`group: leader ${first} killed mid-rollout; ${next} leads ${newLeaderMs} ms after the kill (lease ${LEASE_MS} ms), seen through ${g.name(survivor)} after ${seenMs} ms`);
    expect(newLeaderMs).toBeGreaterThan(0);
    expect(newLeaderMs).toBeLessThan(LEASE_MS + LEADER_MARGIN_MS);

    const done = await waitFor(
      async () => {
        const r = await g.cli(["rollout", "status", "web", "-o", "json"], { members: g.addr(survivor) });
        const v = JSON.parse(r.stdout || "{}") as RolloutJson;
        return v.status === "succeeded" && v.to_revision === 2 ? v : undefined;
      },
      { timeoutMs: 90_000, intervalMs: 200, what: "the rollout to succeed under the new leader" },
    );
    console.log(`group: rollout done ${Date.now() - killedAt} ms after the kill (${done.done}/${done.total})`);
    const st = await g.waitForStatus("web", (s) => s.instances.every((i) => i.revision === 2 && i.state === "healthy"), "every instance on revision 2");
    await waitFor(async () => ((await lines()).filter((l) => l.ok).slice(-40).every((l) => l.version === "2") ? true : undefined), { timeoutMs: 20_000, intervalMs: 100, what: "every answer from v2" });

    const exited = new Promise((r) => load!.once("exit", r));
    load!.kill("SIGTERM");
    await exited;
    const all = await lines();
    const failed = all.filter((l) => l.ok === false);
    console.log(`group: ${all.filter((l) => l.ok).length} requests answered, ${failed.length} failed`);
    expect(failed).toEqual([]);
    expect(all.filter((l) => l.ok).length).toBeGreaterThan(200);
    // Each slot replaced exactly once: its epoch one more than before.
    const after = slots(st);
    for (const [slot, b] of Object.entries(before)) expect({ slot, epoch: after[Number(slot)]?.epoch }).toEqual({ slot, epoch: b.epoch + 1 });
    expect(await hostDowns()).toEqual([]);
    // The failover of the control plane is in the events, naming whom the new leader followed.
    expect((await g.events()).filter((e) => e.type === "controller.leading").map((e) => e.message)).toContain(`controller ${next} leads the group (after ${first})`);

    // The killed member comes back as a follower.
    g.startController(li);
    const back = await g.waitForGroup();
    expect(back.members.map((m) => m.id).sort()).toEqual(["c1", "c2", "c3"]);
    expect(back.leader).toBe(next);
  }, 240_000);

  it("an agent whose member is killed moves to another member, its instance the same process, no host down", async () => {
    const lead = await leader();
    const hosts = await g.hosts();
    // A member holding the stream of a host that runs an instance: one that does not lead if there is one.
    const web = await g.status("web");
    const withWeb = new Set(web.instances.map((i) => i.host));
    const pick = hosts.find((h) => h.member && h.member !== lead && withWeb.has(h.id)) ?? hosts.find((h) => h.member && withWeb.has(h.id));
    expect(pick, `hosts: ${JSON.stringify(hosts.map((h) => [h.id, h.member]))}`).toBeDefined();
    const victim = pick!.member;
    const moved = hosts.filter((h) => h.member === victim).map((h) => h.id);
    expect(moved.some((id) => withWeb.has(id))).toBe(true);
    const before = slots(web);

    await g.kill(g.index(victim));
    const hs = await g.waitForHosts(
      (hs) => moved.every((id) => { const h = hs.find((x) => x.id === id); return h?.connected && h.status === "ready" && h.member !== "" && h.member !== victim; }),
      `hosts ${moved.join(", ")} to move off ${victim}`,
      30_000,
    );
    console.log(`group: ${moved.length} host(s) moved off ${victim}: ${moved.map((id) => `${id} → ${hs.find((h) => h.id === id)!.member}`).join(", ")}`);
    const st = await g.status("web");
    expect(slots(st)).toEqual(before);
    expect(await hostDowns()).toEqual([]);

    // The lost member stays in sight, as lost (not as left), and the events say so.
    const lost = await waitFor(async () => (await g.controllersJson()).gone.find((m) => m.id === victim && Number(m.gone_since_ms) > 0), { timeoutMs: 30_000, what: `${victim} listed as gone` });
    expect(lost.left).toBe(false);
    const table = await g.cli(["controllers"]);
    expect(table.stdout).toMatch(new RegExp(`^${victim}\\s+\\S+\\s+LOST \\S+ ago`, "m"));
    expect((await g.events()).filter((e) => e.type === "controller.lost").map((e) => e.message).join("\n")).toContain(`controller ${victim} at `);

    g.startController(g.index(victim));
    await g.waitForGroup();
    await waitFor(async () => ((await g.controllersJson()).gone.length === 0 ? true : undefined), { timeoutMs: 30_000, what: `${victim} back among the members, none gone` });
    // Its return is news once: whichever write recorded it present (its own, or the leader's) says so.
    const backs = await waitFor(async () => {
      const b = (await g.events()).filter((e) => e.type === "controller.back" && e.message.startsWith(`controller ${victim} at `));
      return b.length ? b : undefined;
    }, { timeoutMs: 10_000, what: `controller.back for ${victim}` });
    expect(backs.map((e) => e.message)).toEqual([expect.stringMatching(/is registered again \(lost at \S+\)$/)]);
  }, 120_000);

  it("a member stopped cleanly shows as left; forgetting it is refused while it runs, and once stopped it is forgotten", async () => {
    const lead = await leader();
    const x = [1, 2, 3].find((i) => g.name(i) !== lead)!;
    const live = [1, 2, 3].find((i) => i !== x && g.name(i) !== lead)!;
    const refused = await g.cli(["controllers", "forget", g.name(live)]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain(`${g.name(live)} is registered`);
    const unknown = await g.cli(["controllers", "forget", "c9"]);
    expect(unknown.code).toBe(5);

    await g.stop(x);
    const left = await waitFor(async () => (await g.controllersJson()).gone.find((m) => m.id === g.name(x)), { timeoutMs: 20_000, what: `${g.name(x)} listed as left` });
    expect(left.left).toBe(true);
    expect((await g.events()).some((e) => e.type === "controller.left" && e.message.startsWith(`controller ${g.name(x)} at `))).toBe(true);
    const forgot = await g.cli(["controllers", "forget", g.name(x)]);
    expect(forgot.code, forgot.stderr).toBe(0);
    expect((await g.controllersJson()).gone).toEqual([]);
    expect((await g.events()).some((e) => e.type === "controller.forgotten" && e.message.startsWith(`controller ${g.name(x)} `))).toBe(true);

    g.startController(x);
    const back = await g.waitForGroup();
    expect(back.members.map((m) => m.id).sort()).toEqual(["c1", "c2", "c3"]);
  }, 120_000);

  it("every member restarted at once: services and tokens kept, no instance restarted, no host down", async () => {
    const before = slots(await g.status("web"));
    const tokens = async (): Promise<{ ids: string[]; unusable: string[] }> => {
      const t = await g.cliJson<{ tokens: { id: string }[]; unusable: string[] }>(["token", "list"]);
      return { ids: t.tokens.map((x) => x.id).sort(), unusable: t.unusable };
    };
    await g.joinToken(1, "1h");
    const tokensBefore = await tokens();
    expect(tokensBefore.ids.length).toBeGreaterThanOrEqual(1);
    const servicesBefore = await g.cliJson<unknown[]>(["services"]);
    const eventsBefore = (await g.events()).map((e) => e.seq);

    await g.stopAll();
    for (let i = 1; i <= 3; i++) g.startController(i);
    const back = await g.waitForGroup();
    expect(back.members.map((m) => m.id).sort()).toEqual(["c1", "c2", "c3"]);
    await g.waitForHosts((hs) => hs.length === 5 && hs.every((h) => h.connected && h.status === "ready"), "5 hosts ready again", 30_000);

    expect(await tokens()).toEqual(tokensBefore);
    expect(await g.cliJson<unknown[]>(["services"])).toEqual(servicesBefore);
    const st = await g.waitForStatus("web", (s) => s.instances.every((i) => i.state === "healthy"), "web healthy");
    expect(slots(st)).toEqual(before);
    expect(await hostDowns()).toEqual([]);
    // The event log kept every record, and its sequence numbers, written by three leaders and every member, never collided.
    const eventsAfter = (await g.events()).map((e) => e.seq);
    expect(eventsAfter).toEqual(expect.arrayContaining(eventsBefore));
    expect(new Set(eventsAfter).size).toBe(eventsAfter.length);
  }, 120_000);
});
