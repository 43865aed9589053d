/**
 * GitOps on a real topology with real git (issue 14): a git server of the test's
 * own (`git http-backend` behind test/cluster/harness/git-http.mjs, smart HTTP as
 * Gitea and GitHub serve it) on the controller's node; commits pushed into its bare
 * repository from the test. Two sources follow two folders of one repository:
 * "a" polls every 5 s (no prune, no self-heal), "b" polls hourly — only its webhook
 * makes it sync in time — with --prune and --self-heal.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHmac } from "node:crypto";
import { cp, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { Cluster } from "./harness/cluster.js";
import { SVC, svcSpec } from "./harness/specs.js";
import { fleetRepo, startGitServer, type FleetRepo, type GitServer } from "./harness/git-server.js";
import { waitFor } from "./harness/wait.js";

const HOOKS_PORT = 9470;
const GIT_PORT = 9480;
const HOOK_KEY = "hook-key-for-the-test";

interface CommitJson {
  commit: string;
  at_ms: number;
  author: string;
  errors: string[];
  rollouts: { service: string; from_revision: number; to_revision: number }[];
}
interface SourceJson {
  last_attempted: CommitJson | null;
  last_applied: CommitJson | null;
  owned: string[];
  drift: string[];
  unpruned: string[];
  attempts: number;
  fetch_error: string;
}
interface ServiceRow {
  name: string;
  revision: number;
  owner: string;
  artifact: string;
}

/** web services of the fixture, their artifact the copy of it inside the repository. */
const spec = (name: string, env: Record<string, string> = {}): string => svcSpec(name, { health: false, env }).replace(`artifact: ${SVC}`, "artifact: ../app");

describe("gitops", () => {
  let c: Cluster;
  let server: GitServer | undefined;
  let repo: FleetRepo;

  /** The newest commit pushed: every source's last applied commit, once it has polled. */
  let head = "";
  const push = async (files: Record<string, string | null>, message: string, author = "Ada Lovelace <ada@example.org>"): Promise<string> =>
    (head = await repo.commit(files, message, { author }));
  const source = (name: string): Promise<SourceJson> => c.cliJson<SourceJson>(["gitops", "status", name]);
  const services = (): Promise<ServiceRow[]> => c.cliJson<ServiceRow[]>(["services"]);
  const waitSource = (name: string, pred: (s: SourceJson) => boolean, what: string, timeoutMs = 30_000): Promise<SourceJson> =>
    waitFor(async () => {
      const s = await source(name);
      return pred(s) ? s : undefined;
    }, { timeoutMs, intervalMs: 250, what });
  /** POSTs a push webhook from the controller's node (the test process has no route into it). */
  const webhook = async (name: string, key = HOOK_KEY): Promise<number> => {
    const body = JSON.stringify({ ref: "refs/heads/main" });
    const sig = createHmac("sha256", key).update(body).digest("hex");
    const url = `http://${c.topo.controllerAddr}:${HOOKS_PORT}/hooks/gitops/${name}`;
    const script = `fetch(${JSON.stringify(url)}, { method: "POST", headers: { "content-type": "application/json", "x-github-event": "push", "x-hub-signature-256": "sha256=${sig}" }, body: ${JSON.stringify(body)} }).then((r) => console.log(r.status), (e) => { console.error(String(e.cause ?? e)); process.exitCode = 2; })`;
    const r = await c.topo.run(0, [process.execPath, "-e", script], { timeoutMs: 15_000 });
    return Number(r.stdout.trim());
  };

  beforeAll(async () => {
    c = await Cluster.start({ hosts: 2, controllerArgs: ["--hooks-addr", `0.0.0.0:${HOOKS_PORT}`] });
    repo = await fleetRepo(c.dir);
    server = await startGitServer(c.topo, { addr: c.topo.controllerAddr, port: GIT_PORT, root: repo.root });
    const r = await c.cli(["secret", "set", "hook-key", "--from-file", await (async () => {
      const f = join(c.dir, "hook-key");
      await writeFile(f, HOOK_KEY);
      return f;
    })()]);
    expect(r.code, r.stderr).toBe(0);
  }, 120_000);

  afterAll(async () => {
    server?.stop();
    if (c) {
      await c.dumpLogs();
      await c.destroy();
    }
  });

  it("applies a pushed commit within the interval, as one apply of the whole tree, owned by its source", async () => {
    const first = await push({ "fleet-a/web-a.yaml": spec("web-a"), "fleet-b/web-b.yaml": spec("web-b"), "fleet-b/web-b2.yaml": spec("web-b2") }, "first fleet");
    const repo = `http://${c.topo.controllerAddr}:${GIT_PORT}/fleet.git`;
    let r = await c.cli(["gitops", "add", "a", "--repo", repo, "--path", "fleet-a", "--interval", "5s"]);
    expect(r.code, r.stderr).toBe(0);
    r = await c.cli(["gitops", "add", "b", "--repo", repo, "--path", "fleet-b/", "--interval", "1h", "--prune", "--self-heal", "--webhook-secret", "hook-key"]);
    expect(r.code, r.stderr).toBe(0);
    const a = await waitSource("a", (s) => s.last_applied?.commit === first, "source a to apply the first commit");
    expect(a.last_applied?.author).toBe("Ada Lovelace <ada@example.org>");
    expect(a.owned).toEqual(["web-a"]);
    await waitSource("b", (s) => s.last_applied?.commit === first, "source b to apply the first commit");
    const svcs = await services();
    expect(svcs.map((s) => [s.name, s.owner])).toEqual([["web-a", "a"], ["web-b", "b"], ["web-b2", "b"]]);
    // The folder in the repository is packed as `berth apply` packs it: the same digest.
    await cp(SVC, join(c.dir, "specs", "app"), { recursive: true });
    const local = await c.cli(["plan", "-f", await c.specDir("same", { "web-a.yaml": spec("web-a") })]);
    expect(local.code, local.stderr).toBe(0);
    expect(local.stdout).toMatch(/no changes/);
    const table = await c.cli(["services"]);
    expect(table.stdout).toMatch(/OWNER[\s\S]*web-a.*gitops:a/);
  });

  it("syncs at once on a signed webhook, and refuses a bad signature", async () => {
    expect(await webhook("b", "wrong-key")).toBe(401);
    const sha = await push({ "fleet-b/web-b.yaml": spec("web-b", { COLOUR: "blue" }) }, "web-b goes blue", "Grace Hopper <grace@example.org>");
    expect(await webhook("b")).toBe(202);
    // b polls hourly: only the webhook brings this commit in time.
    const b = await waitSource("b", (s) => s.last_applied?.commit === sha, "source b to apply the commit the webhook announced", 20_000);
    expect(b.last_applied?.author).toBe("Grace Hopper <grace@example.org>");
    expect(b.last_applied?.rollouts).toEqual([{ service: "web-b", from_revision: 1, to_revision: 2 }]);
    const ev = await c.events();
    expect(ev.some((e) => e.type === "gitops.applied" && e.message.includes(sha.slice(0, 12)) && e.message.includes("web-b 1→2"))).toBe(true);
  });

  let bad = "";

  it("changes nothing for an invalid commit and reports its file:line errors with the commit id", async () => {
    // a polls every 5 s: the commit before the broken one (web-b's, outside a's folder)
    // may not have reached a yet. Wait for it, or a poll landing between this read and
    // the push would move last_applied on to it.
    const good = (await waitSource("a", (s) => s.last_applied?.commit === head, "source a to reach the newest good commit")).last_applied?.commit;
    const before = await services();
    bad = await push({ "fleet-a/web-a.yaml": spec("web-a").replace("instances: 1", "instances: lots") }, "broken");
    const a = await waitSource("a", (s) => s.last_attempted?.commit === bad, "source a to attempt the broken commit");
    expect(a.last_applied?.commit).toBe(good);
    expect(a.last_attempted?.errors.join("\n")).toMatch(/^fleet-a\/web-a\.yaml:\d+:\d+: instances: /m);
    expect(a.attempts).toBeGreaterThanOrEqual(1);
    expect((await services()).map((s) => [s.name, s.revision])).toEqual(before.map((s) => [s.name, s.revision]));
    const ev = await c.events();
    expect(ev.some((e) => e.type === "gitops.invalid" && e.message.includes(bad.slice(0, 12)) && e.message.includes("fleet-a/web-a.yaml:"))).toBe(true);
  });

  it("applies a fix pushed after it, at once rather than after the failed commit's backoff", async () => {
    const fix = await push({ "fleet-a/web-a.yaml": spec("web-a", { COLOUR: "green" }) }, "fixed");
    const a = await waitSource("a", (s) => s.last_applied?.commit === fix, "source a to apply the fix");
    expect(a.last_applied?.rollouts.map((r) => r.service)).toEqual(["web-a"]);
    expect(a.attempts).toBe(0);
  });

  it("reports a hand change as drift, and reverts it with --self-heal", async () => {
    const hand = await c.specDir("hand", { "web-a.yaml": svcSpec("web-a", { health: false, env: { COLOUR: "red" } }), "web-b.yaml": svcSpec("web-b", { health: false, env: { COLOUR: "red" } }) });
    const r = await c.apply(hand);
    expect(r.code, r.stderr).toBe(0);
    // a (no self-heal): reported, left as it is.
    await waitSource("a", (s) => s.drift.includes("web-a"), "drift of web-a to be reported");
    const sa = await c.status("web-a");
    expect(JSON.stringify(sa)).toBeDefined();
    // b (self-heal): put back to the repository's state, which is blue.
    await waitFor(async () => {
      const st = await c.cliJson<{ spec: { run: { env: Record<string, string> } } }>(["status", "web-b"]);
      return st.spec.run.env.COLOUR === "blue" ? st : undefined;
    }, { timeoutMs: 30_000, intervalMs: 250, what: "web-b to be reverted to the repository's state" });
    // The revert is committed first, its gitops.drift event with b's status after it (a
    // second write): wait for the event, not only for the spec.
    await c.waitForEvent((e) => e.type === "gitops.drift" && e.message.includes("web-b") && e.message.includes("reverted"), "b's self-heal event");
    const ev = await c.events();
    expect(ev.some((e) => e.type === "gitops.drift" && e.message.includes("web-a") && e.message.includes("not reverted"))).toBe(true);
    const still = await c.cliJson<{ spec: { run: { env: Record<string, string> } } }>(["status", "web-a"]);
    expect(still.spec.run.env.COLOUR).toBe("red");
  });

  it("deletes a service removed from the repository with --prune, and only reports it without", async () => {
    const sha = await push({ "fleet-a/web-a.yaml": null, "fleet-a/other.yaml": spec("other-a"), "fleet-b/web-b2.yaml": null }, "remove one service from each folder");
    expect(await webhook("b")).toBe(202);
    await waitSource("b", (s) => s.last_applied?.commit === sha, "source b to apply the removal");
    const a = await waitSource("a", (s) => s.last_applied?.commit === sha, "source a to apply the removal");
    expect(a.unpruned).toEqual(["web-a"]);
    const names = (await services()).map((s) => s.name);
    expect(names).toContain("web-a");
    expect(names).not.toContain("web-b2");
    const ev = await c.events();
    expect(ev.some((e) => e.type === "service.deleted" && e.service === "web-b2")).toBe(true);
    expect(ev.some((e) => e.type === "gitops.unpruned" && e.message.includes("web-a"))).toBe(true);
  });
  // The repository declares no pins (where an instance runs is the scheduler's), so a
  // pin by hand on a service a source owns is drift; self-heal removes the pin.
  it("reports a pin (berth place) on an owned service as drift, and removes it with --self-heal", async () => {
    const hosts = await c.hosts();
    const hostOf = async (svc: string): Promise<string> => (await c.status(svc)).instances[0]?.host || (hosts[0]?.id ?? "");
    const ha = await hostOf("other-a");
    const hb = await hostOf("web-b");
    const revisionB = (await services()).find((s) => s.name === "web-b")?.revision;
    let r = await c.cli(["place", "other-a", "--host", ha]);
    expect(r.code, r.stderr).toBe(0);
    r = await c.cli(["place", "web-b", "--host", hb]);
    expect(r.code, r.stderr).toBe(0);
    // a (no self-heal): reported, naming the pin; the pin stays.
    await waitSource("a", (s) => s.drift.includes("other-a"), "the pin of other-a to be reported as drift");
    // b (self-heal): the pin is removed, and b is in sync again.
    await c.waitForStatus("web-b", (s) => s.instances.every((i) => i.pinned_host === ""), "the hand pin of web-b to be removed", 30_000);
    // The unpin is committed first, b's status and its gitops.drift event after it (a
    // second write): wait for the event, not only for the pin.
    await c.waitForEvent((e) => e.type === "gitops.drift" && e.message.includes(`web-b-0 pinned to ${hb}`) && e.message.includes("self-heal"), "b's self-heal event for the pin");
    const b = await source("b");
    expect(b.drift).toEqual([]);
    const ev = await c.events();
    expect(ev.some((e) => e.type === "gitops.drift" && e.message.includes(`other-a-0 pinned to ${ha}`) && e.message.includes("not reverted"))).toBe(true);
    expect(ev.some((e) => e.type === "gitops.drift" && e.message.includes(`web-b-0 pinned to ${hb}`) && e.message.includes("unpinned") && e.message.includes("self-heal"))).toBe(true);
    expect(ev.some((e) => e.type === "instance.unpinned" && e.service === "web-b" && e.message.includes("gitops source b"))).toBe(true);
    expect((await c.status("other-a")).instances[0]?.pinned_host).toBe(ha);
    // The spec was never touched: no rollout, the same revision.
    expect((await services()).find((s) => s.name === "web-b")?.revision).toBe(revisionB);
  });

  it("gitops remove leaves no mirror behind; the services it owned stay, owned by nobody", async () => {
    const mirror = join(c.ctlDir, "gitops", "a.git");
    expect(existsSync(mirror)).toBe(true);
    const r = await c.cli(["gitops", "remove", "a"]);
    expect(r.code, r.stderr).toBe(0);
    await waitFor(() => (existsSync(mirror) ? undefined : true), { timeoutMs: 20_000, intervalMs: 100, what: `the mirror ${mirror} to be removed` });
    expect(existsSync(join(c.ctlDir, "gitops", "b.git"))).toBe(true);
    expect((await services()).some((s) => s.name === "other-a")).toBe(true);
  });
});
