/**
 * GitOps on a controller group (issue 14, with issue 11's control plane): 3 members on a
 * real 3-member etcd, a git server of the test's own (harness/git-http.mjs). The leader
 * is killed (SIGKILL) while a sync is in flight — the git server holds the leader's
 * fetch of the new commit until the leader is dead — and the new leader finishes that
 * sync exactly once: one apply, one rollout, the revision up by one, one applied event.
 */
import type { ChildProcess } from "node:child_process";
import { execFile } from "node:child_process";
import { cp, mkdir, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ROOT } from "./harness/cluster.js";
import { Group } from "./harness/group.js";
import { SVC, svcSpec } from "./harness/specs.js";
import { waitFor } from "./harness/wait.js";

const run = promisify(execFile);
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
  let server: ChildProcess;
  let work = "";
  const out: string[] = [];

  const git = async (...args: string[]): Promise<string> => (await run("git", ["-C", work, ...args], { env: { ...process.env, GIT_CONFIG_GLOBAL: "/dev/null", GIT_CONFIG_NOSYSTEM: "1" } })).stdout.trim();
  const push = async (file: string, text: string, message: string): Promise<string> => {
    await writeFile(join(work, file), text);
    await git("add", "-A");
    await git("-c", "user.name=berth test", "-c", "user.email=test@example.org", "commit", "-q", "-m", message);
    await git("push", "-q", "origin", "HEAD:main");
    return git("rev-parse", "HEAD");
  };
  /** Writes a command to the git server and waits for the line it answers with (the n-th such line since the start). */
  const said = (line: string, n: number, what: string): Promise<true> =>
    waitFor(async () => (out.filter((l) => l === line).length >= n ? true : undefined), { timeoutMs: 60_000, intervalMs: 100, what });
  const tell = async (cmd: "stall" | "release", ack: string): Promise<void> => {
    const n = out.filter((l) => l === ack).length + 1;
    server.stdin?.write(`${cmd}\n`);
    await said(ack, n, `the git server to answer ${cmd}`);
  };
  const source = (members?: string): Promise<SourceJson> => g.cliJson<SourceJson>(["gitops", "status", "src"], { members });
  const services = (members?: string): Promise<ServiceRow[]> => g.cliJson<ServiceRow[]>(["services"], { members });

  beforeAll(async () => {
    g = await Group.start({ controllers: 3, hosts: 2, lease: "3s", ttl: "3s", heartbeat: "500ms" });
    const root = join(g.dir, "git");
    const bare = join(root, "fleet.git");
    work = join(g.dir, "work");
    await mkdir(root, { recursive: true });
    await run("git", ["init", "-q", "--bare", "-b", "main", bare]);
    await run("git", ["clone", "-q", bare, work]);
    await cp(SVC, join(work, "app"), { recursive: true });
    await mkdir(join(work, "fleet"));
    server = g.topo.spawn(0, [process.execPath, resolve(ROOT, "test/cluster/harness/git-http.mjs"), g.topo.controllerAddr, String(GIT_PORT), root]);
    let partial = "";
    server.stdout?.on("data", (b: Buffer) => {
      const lines = (partial + b.toString()).split("\n");
      partial = lines.pop() ?? "";
      out.push(...lines.map((l) => l.trim()));
    });
    const exited = new Promise<never>((_, fail) => server.once("exit", (code) => fail(new Error(`git server exited ${code}`))));
    await Promise.race([said("listening", 1, "the git server to listen"), exited]);
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
    if (task.result?.state === "fail") console.error(`--- git server\n${out.join("\n")}\n${await g?.dumpLogs()}`);
  });

  afterAll(async () => {
    server?.stdin?.write("release\n");
    server?.kill("SIGTERM");
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
    await tell("stall", "stalling");
    const second = await push("fleet/web.yaml", spec("blue"), "web goes blue");
    const sync = await g.cli(["gitops", "sync", "src"]);
    expect(sync.code, sync.stderr).toBe(0);
    await said("stalled", 1, "the leader's fetch to reach the git server");
    expect((await source()).last_applied?.commit).toBe(first);

    const dead = g.index(leader);
    await g.kill(dead);
    await tell("release", "released");
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
