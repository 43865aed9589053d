/**
 * GitOps on a controller group (issue 14, with issue 11's control plane): 3 members on a
 * real 3-member etcd, a git server of the test's own (harness/git-http.mjs). The leader
 * is killed (SIGKILL) while a sync is in flight — the git server holds the leader's
 * fetch of the new commit until the leader is dead — and the new leader finishes that
 * sync exactly once: one apply, one rollout, the revision up by one, one applied event.
 */
import { cp } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { fleetRepo, startGitServer, type FleetRepo, type GitServer } from "./harness/git-server.js";
import { Group } from "./harness/group.js";
import { SVC, svcSpec } from "./harness/specs.js";
import { waitFor } from "./harness/wait.js";

const GIT_PORT = 9486;

interface CommitJson {
  commit: string;
  rollouts: { service: string; from_revision: number; to_revision: number }[];
}
interface SourceJson {
  last_applied: CommitJson | null;
  last_attempted: CommitJson | null;
  head: string;
}
interface ServiceRow {
  name: string;
  revision: number;
  owner: string;
}

/** The service of the fixture, its artifact the copy inside the repository (the same digest `berth apply` packs). */
const spec = (colour: string): string => svcSpec("web", { health: false, env: { COLOUR: colour } }).replace(`artifact: ${SVC}`, "artifact: ../app");

describe("gitops on a controller group", () => {
  let g: Group;
  let server: GitServer | undefined;
  let fleet: FleetRepo;

  const push = (file: string, text: string, message: string): Promise<string> => fleet.commit({ [file]: text }, message);
  const source = (members?: string): Promise<SourceJson> => g.cliJson<SourceJson>(["gitops", "status", "src"], { members });
  const services = (members?: string): Promise<ServiceRow[]> => g.cliJson<ServiceRow[]>(["services"], { members });

  beforeAll(async () => {
    g = await Group.start({ controllers: 3, hosts: 2, lease: "3s", ttl: "3s", heartbeat: "500ms" });
    fleet = await fleetRepo(g.dir);
    server = await startGitServer(g.topo, { addr: g.topo.controllerAddr, port: GIT_PORT, root: fleet.root });
    // Members do not fetch artifacts from each other yet (README): a source's sync stores
    // its artifact on the leader only, so the hosts of another member could not start web.
    // The same folder applied by hand first puts the same digest on every member.
    await cp(SVC, join(g.dir, "specs", "app"), { recursive: true });
    const seed = await g.apply(await g.specDir("seed", { "seed.yaml": svcSpec("seed", { health: false }).replace(`artifact: ${SVC}`, "artifact: ../app") }));
    expect(seed.code, seed.stderr).toBe(0);
    const del = await g.cli(["delete", "seed"]);
    expect(del.code, del.stderr).toBe(0);
  }, 240_000);

  afterEach(async ({ task }) => {
    if (task.result?.state === "fail") console.error(`--- git server\n${server?.lines.join("\n") ?? ""}\n${await g?.dumpLogs()}`);
  });

  afterAll(async () => {
    server?.stop();
    await g?.destroy();
  });

  it("the leader killed mid-sync: the new leader applies that commit exactly once", async () => {
    const first = await push("fleet/web.yaml", spec("red"), "web, red");
    const repo = `http://${g.topo.controllerAddr}:${GIT_PORT}/fleet.git`;
    // Hourly: only `berth gitops sync` (or a new leader's first pass) fetches in the test's time.
    const add = await g.cli(["gitops", "add", "src", "--repo", repo, "--path", "fleet", "--interval", "1h"]);
    expect(add.code, add.stderr).toBe(0);
    await waitFor(async () => ((await source()).last_applied?.commit === first ? true : undefined), { timeoutMs: 60_000, intervalMs: 250, what: "the first commit applied" });
    const before = (await services()).find((s) => s.name === "web");
    expect(before?.owner).toBe("src");
    const leader = (await g.controllersJson()).leader;

    // The next fetch is held at the git server: the sync of the new commit is in flight on the leader.
    await server!.stall();
    const second = await push("fleet/web.yaml", spec("blue"), "web goes blue");
    const sync = await g.cli(["gitops", "sync", "src"]);
    expect(sync.code, sync.stderr).toBe(0);
    await server!.said("stalled", 1, "the leader's fetch to reach the git server");
    expect((await source()).last_applied?.commit).toBe(first);

    const dead = g.index(leader);
    await g.kill(dead);
    await server!.release();
    const others = [1, 2, 3].filter((i) => i !== dead).map((i) => g.addr(i)).join(",");
    const next = (await g.waitForNewLeader(leader, { via: others, intervalMs: 200, what: "another member to lead" })).leader;
    expect(next).not.toBe(leader);
    const st = await waitFor(async () => {
      const s = await source(others).catch(() => undefined);
      return s?.last_applied?.commit === second ? s : undefined;
    }, { timeoutMs: 60_000, intervalMs: 250, what: "the new leader to apply the commit in flight" });
    expect(st.last_applied?.rollouts).toEqual([{ service: "web", from_revision: before!.revision, to_revision: before!.revision + 1 }]);

    // A third commit through the new leader: once it is applied, every pass over the
    // second is over, so a second apply of it would show below.
    const third = await push("fleet/web.yaml", spec("green"), "web goes green");
    expect((await g.cli(["gitops", "sync", "src"], { members: others })).code).toBe(0);
    await waitFor(async () => ((await source(others).catch(() => undefined))?.last_applied?.commit === third ? true : undefined), { timeoutMs: 60_000, intervalMs: 250, what: "the third commit applied" });

    const events = await g.cliJson<{ type: string; service: string; message: string }[]>(["events", "-n", "10000"], { members: others });
    const appliedSecond = events.filter((e) => e.type === "gitops.applied" && e.message.includes(second.slice(0, 12)));
    expect(appliedSecond, JSON.stringify(appliedSecond)).toHaveLength(1);
    const rollouts = events.filter((e) => e.type === "rollout.started" && e.service === "web").map((e) => e.message);
    // One rollout to the second commit's revision, one to the third's (from whatever the copies ran then).
    expect(rollouts).toHaveLength(2);
    expect(rollouts[0]).toBe(`revision ${before!.revision} → ${before!.revision + 1}`);
    expect(rollouts[1]).toMatch(new RegExp(` → ${before!.revision + 2}$`));
    expect((await services(others)).find((s) => s.name === "web")?.revision).toBe(before!.revision + 2);
  });
});
