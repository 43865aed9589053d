/**
 * Issue 3 on a real topology: specs applied with the CLI, instances placed one
 * per host, the artifact fetched and the process supervised on each host, health
 * checked; crash restarts, unhealthy reasons, pin, drain, delete, and an invalid
 * spec set that changes nothing.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { AGENT_METRICS_PORT, BERTH_MAIN, Cluster, type StatusJson } from "./harness/cluster.js";
import { waitFor } from "./harness/wait.js";
import { SVC, svcSpec } from "./harness/specs.js";
import { tearDownWith } from "./harness/teardown.js";
import { chmod, cp, stat } from "node:fs/promises";
import { join } from "node:path";

const mode = async (p: string): Promise<string> => ((await stat(p)).mode & 0o777).toString(8);


function spec(name: string, o: { instances?: number; env?: Record<string, string>; health?: boolean; extra?: string } = {}): string {
  return svcSpec(name, { instances: o.instances, env: o.env, health: o.health === false ? false : { unhealthyThreshold: 2 }, extra: o.extra });
}

const healthy = (s: StatusJson): number => s.instances.filter((i) => i.state === "healthy").length;

describe("services: specs, placement, supervision, health", () => {
  let c: Cluster;
  let ids: string[] = [];

  beforeAll(async () => {
    // No test here loses a host: a TTL well above an agent's restart on a loaded machine (a
    // restart that outlasted 3 s once failed the copy over, and the re-adoption test with it).
    c = await Cluster.start({ hosts: 4, ttl: "10s", heartbeat: "500ms" });
    ids = await Promise.all([1, 2, 3, 4].map((i) => c.hostIdOf(i)));
  });
  tearDownWith(() => c);

  it("a 3-instance service on 4 hosts is placed one per host and healthy; the fourth host stays spare", async () => {
    const dir = await c.specDir("web", { "web.yaml": spec("web", { instances: 3 }) });
    const plan = await c.cli(["plan", "-f", dir, "--exit-code"]);
    expect(plan.code, plan.stderr).toBe(6);
    expect(plan.stdout).toMatch(/\+ web \(create\): 3 to place/);
    // --wait follows the apply until every instance is healthy, in plain lines when piped.
    const r = await c.apply(dir, ["--wait", "--timeout", "90s"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("web: every instance healthy and in service (3/3)");
    expect(r.stderr).toMatch(/^\d\/3 waiting for web to be healthy$/m);
    expect(r.stderr).not.toContain("\r");
    expect(r.stderr).not.toContain("\u001b");
    const st = await c.status("web");
    expect(healthy(st)).toBe(3);
    const hosts = st.instances.map((i) => i.host);
    expect(new Set(hosts).size).toBe(3);
    expect(st.instances.every((i) => i.epoch === 1 && i.revision === 1)).toBe(true);
    const hs = await c.hosts();
    expect(hs.filter((h) => h.service === "")).toHaveLength(1);
    // Each instance answers on its host's address with its own identity.
    for (const i of st.instances) {
      const out = await c.topo.run(0, [process.execPath, "-e", `fetch("http://${i.host_address}:8080/").then(r => r.text()).then(t => process.stdout.write(t))`]);
      expect(JSON.parse(out.stdout)).toEqual({ version: "1", instance: i.instance, epoch: "1" });
    }
    // Applying the same files again changes nothing.
    const again = await c.cli(["plan", "-f", dir, "--exit-code"]);
    expect(again.code, again.stdout).toBe(0);
  });

  it("endpoints list the instances in service as address:port, and a follower gets the same whole list", async () => {
    const st = await c.status("web");
    type Ep = { instance: string; host: string; endpoint: string };
    // In service = healthy for minHealthyTime (default 5s).
    const eps = await waitFor(async () => {
      const r = await c.cliJson<Ep[]>(["endpoints", "web"]);
      return r.length === 3 ? r : undefined;
    }, { timeoutMs: 30_000, intervalMs: 250, what: "3 endpoints" });
    expect(eps.map((e) => e.endpoint).sort()).toEqual(st.instances.map((i) => `${i.host_address}:8080`).sort());
    const { BERTH_MAIN } = await import("./harness/cluster.js");
    const { recentOutput } = await import("./harness/topology.js");
    const follower = c.topo.spawn(0, [process.execPath, BERTH_MAIN, "endpoints", "web", "-w", "-o", "json"], { env: c.env() });
    try {
      const first = await waitFor(() => recentOutput(follower).stdout.split("\n").filter(Boolean)[0], { timeoutMs: 15_000, what: "the follower's first list" });
      expect((JSON.parse(first) as Ep[]).map((e) => e.endpoint).sort()).toEqual(eps.map((e) => e.endpoint).sort());
    } finally {
      follower.kill("SIGTERM");
    }
  });

  it("a restarted agent re-adopts its running process instead of restarting it", async () => {
    const before = await c.status("web");
    const inst = before.instances[0]!;
    expect(inst.pid).toBeGreaterThan(0);
    const i = [1, 2, 3, 4].find((n) => ids[n - 1] === inst.host)!;
    // The files holding the spec and its environment are owner-only while it runs...
    const state = join(c.hostDir(i), "instance");
    const files = ["current.json", `${inst.instance}.process.json`].map((f) => join(state, f));
    expect(await mode(state)).toBe("700");
    for (const f of files) expect(await mode(f), f).toBe("600");
    // ...and made so again at start, when an older agent left them readable to all.
    await chmod(state, 0o755);
    for (const f of files) await chmod(f, 0o644);
    // A change made in place meanwhile (new rollout settings: no new revision) is no reason to stop the copy found
    // (the agent checks what it finds against the assignment it stored, and the assignment's key is unchanged).
    const n = (before as StatusJson & { spec?: { instances: number } }).spec!.instances;
    // So is the same build read from another folder: its digest is what runs, not the path.
    const copy = join(c.dir, "svc-copy");
    await cp(SVC, copy, { recursive: true });
    const inPlace = await c.apply(await c.specDir("web-in-place", { "web.yaml": spec("web", { instances: n, extra: "update: { minHealthyTime: 2s }\n" }).replace(`artifact: ${SVC}`, `artifact: ${copy}`) }));
    expect(inPlace.code, inPlace.stderr).toBe(0);
    expect(inPlace.stdout).toContain(`artifact.source: "${SVC}" → "${copy}"`);
    expect(inPlace.stdout).not.toMatch(/rolling out/);
    await c.stopAgent(i);
    // An agent that cannot start (its metrics port taken, here by a stand-in for a service squatting it) exits
    // with the reason, after re-adopting the copy, and leaves it running: it used to hang, holding the adopted run.
    const metricsAddr = `${c.topo.hostAddr(i)}:${AGENT_METRICS_PORT}`;
    const squatter = c.topo.spawn(i, [process.execPath, "-e", `require("net").createServer().listen(${AGENT_METRICS_PORT}, "${c.topo.hostAddr(i)}", () => console.log("listening"))`]);
    let listening = false;
    squatter.stdout?.on("data", (d: Buffer) => void (listening ||= d.toString().includes("listening")));
    try {
      await waitFor(() => listening || undefined, { timeoutMs: 10_000, what: "the squatter listening" });
      const blocked = await c.topo.run(i, [process.execPath, BERTH_MAIN, "agent", "--controller", c.controllerAddr, "--data-dir", c.hostDir(i), "--metrics-addr", metricsAddr], { timeoutMs: 20_000 });
      expect(blocked.code, blocked.stderr).toBe(2);
      expect(blocked.stderr).toContain(`metrics address ${metricsAddr} is in use`);
    } finally {
      squatter.kill("SIGKILL");
      await new Promise((r) => (squatter.exitCode !== null || squatter.signalCode !== null ? r(undefined) : squatter.once("exit", r)));
    }
    c.startAgent(i);
    await c.waitForHosts((hs) => hs.some((h) => h.id === inst.host && h.connected && h.status === "ready"), "the agent back");
    const after = await c.waitForStatus("web", (s) => s.instances.find((x) => x.instance === inst.instance)?.state === "healthy", "web healthy after the agent restart");
    const again = after.instances.find((x) => x.instance === inst.instance)!;
    expect(again.epoch, "a new epoch: the host was judged down while its agent restarted, and the copy failed over").toBe(inst.epoch);
    expect(again.pid).toBe(inst.pid);
    expect(again.restarts).toBe(inst.restarts);
    expect(await mode(state)).toBe("700");
    for (const f of files) expect(await mode(f), f).toBe("600");

    // A second agent on the same data dir (systemd's and one started by hand) is refused, naming the first.
    const second = await c.topo.run(0, [process.execPath, BERTH_MAIN, "agent", "--controller", c.controllerAddr, "--data-dir", c.hostDir(i), "--metrics-addr", "off"], { timeoutMs: 30_000 });
    expect(second.code, second.stdout + second.stderr).not.toBe(0);
    expect(second.stderr).toMatch(new RegExp(`another agent \\(pid \\d+\\) runs from ${c.hostDir(i)}`));
    const still = (await c.status("web")).instances.find((x) => x.instance === inst.instance)!;
    expect(still.pid).toBe(inst.pid);
  });

  it("an invalid spec set changes nothing and names the file, line and field", async () => {
    const before = await c.status("web");
    const dir = await c.specDir("bad", {
      "web.yaml": spec("web", { instances: 3, env: { LOG: "debug" } }),
      "broken.yaml": `name: broken\nrun:\n  command: x\nhealth:\n  http: { port: 8080, path: nope }\n`,
    });
    const r = await c.apply(dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/broken\.yaml:5:\d+: health\.http\.path/);
    const after = await c.status("web");
    expect(after.revision).toBe(before.revision);
    expect((await c.cliJson<unknown[]>(["services"])).length).toBe(1);
  });

  it("several -f make one set; every error comes in one run, at most 10 a file, missing artifacts with them", async () => {
    const a = await c.specDir("multi-a", { "ma.yaml": spec("ma", { instances: 0 }) });
    const b = await c.specDir("multi-b", { "mb.yaml": spec("mb", { instances: 0 }) });
    const planned = await c.cli(["plan", "-f", join(a, "ma.yaml"), "-f", b, "-f", a]);
    expect(planned.code, planned.stderr).toBe(0);
    expect(planned.stdout).toMatch(/\bma\b[\s\S]*\bmb\b|\bmb\b[\s\S]*\bma\b/);
    expect(planned.stdout).toContain(`berth apply -f ${join(a, "ma.yaml")} -f ${b} -f ${a}`);
    // The same service in two of them: refused, as within one folder.
    const twice = await c.specDir("multi-twice", { "ma.yaml": spec("ma", { instances: 1 }) });
    const dup = await c.cli(["plan", "-f", a, "-f", twice]);
    expect(dup.code).toBe(2);
    expect(dup.stderr).toMatch(/ma\.yaml: name: service "ma" is also defined in .*multi-a/);
    // Twice in one folder: said once, with both positions.
    const oneDir = await c.specDir("multi-one", { "a.yaml": spec("one", { instances: 0 }), "b.yaml": spec("one", { instances: 0 }) });
    const once = await c.cli(["plan", "-f", oneDir]);
    expect(once.code).toBe(2);
    expect(once.stderr.match(/is also defined in/g), once.stderr).toHaveLength(1);

    // A file that is no spec (prose), a broken one, and one whose artifact is not there.
    const prose = Array.from({ length: 60 }, (_, i) => `Paragraph ${i}: this is: prose\n  and: not [a spec\n`).join("\n");
    const bad = await c.specDir("multi-bad", {
      "notes.yaml": prose,
      "broken.yaml": `name: broken\nrun:\n  command: x\nhealth:\n  http: { port: 8080, path: nope }\n`,
      "gone.yaml": `name: gone\nartifact: ./nowhere\nrun:\n  command: x\n`,
    });
    const r = await c.cli(["apply", "-f", bad]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/broken\.yaml:5:\d+: health\.http\.path/);
    expect(r.stderr).toMatch(/gone\.yaml: artifact: \.\/nowhere: no such file or folder/);
    expect(r.stderr).toMatch(/notes\.yaml: … and \d+ more \(is it a service spec\?\)/);
    expect(r.stderr.split("\n").filter((l) => l.includes("notes.yaml")).length).toBeLessThanOrEqual(11);
    expect(r.stderr).toContain("nothing was sent to the controller");
    expect((await c.cliJson<{ name: string }[]>(["services"])).map((x) => x.name)).not.toContain("broken");
  });

  it("apply --check-index applies a plan only if what it read is unchanged: refused after a change, changing nothing", async () => {
    // No instances: the test is about the records, and the other tests keep every host.
    const mine = await c.specDir("chk-mine", { "chk.yaml": spec("chk", { instances: 0, env: { MODE: "mine" } }) });
    const theirs = await c.specDir("chk-theirs", { "chk.yaml": spec("chk", { instances: 0, env: { MODE: "theirs" } }) });
    const checkOf = (out: string): string => /--check-index (\d+)` applies exactly this/.exec(out)?.[1] ?? "";
    const planned = await c.cli(["plan", "-f", mine]);
    expect(planned.code, planned.stderr).toBe(0);
    const n = checkOf(planned.stdout);
    expect(planned.stdout).toMatch(new RegExp(`planned against state index ${n}\n`));
    // Someone else applies in between: the plan no longer says what the apply would do.
    expect((await c.apply(theirs)).code).toBe(0);
    const before = await c.status("chk");
    const refused = await c.apply(mine, ["--check-index", n]);
    expect(refused.code, refused.stdout).toBe(1);
    expect(refused.stderr).toMatch(new RegExp(`changed since the plan \\(state index ${n}\\): chk created at state index \\d+; plan again`));
    expect((await c.status("chk")).revision).toBe(before.revision);
    // Planned again, it applies (under the flag's former name too).
    const again = checkOf((await c.cli(["plan", "-f", mine])).stdout);
    expect(Number(again)).toBeGreaterThan(Number(n));
    const ok = await c.apply(mine, ["--check-revision", again]);
    expect(ok.code, ok.stderr).toBe(0);
    expect((await c.status("chk")).revision).toBe(before.revision + 1);
    expect((await c.apply(mine, ["--check-revision", "x1"])).stderr).toMatch(/--check-revision x1: expected the state index/);
    expect((await c.cli(["delete", "chk"])).code).toBe(0);
  });

  it("a process that crashes is restarted with backoff and comes back healthy", async () => {
    const dir = await c.specDir("crashy", { "crashy.yaml": spec("crashy", { env: { CRASH_ONCE: "1" } }) });
    expect((await c.apply(dir)).code).toBe(0);
    const st = await c.waitForStatus("crashy", (s) => s.instances[0]?.state === "healthy" && s.instances[0].restarts >= 1, "crashy restarted and healthy");
    expect(st.instances[0]!.restarts).toBeGreaterThanOrEqual(1);
    const logs = await c.cli(["logs", "crashy", "--tail", "50"]);
    expect(logs.stdout).toContain("crashing on purpose");
    expect((await c.cli(["delete", "crashy"])).code).toBe(0);
    await c.waitForHosts((hs) => hs.filter((h) => h.service === "").length === 1, "crashy's host spare again");
  });

  it("a process that never gets healthy is reported unhealthy with its reason", async () => {
    const dir = await c.specDir("sick", { "sick.yaml": spec("sick", { env: { UNHEALTHY: "1" } }) });
    expect((await c.apply(dir)).code).toBe(0);
    const st = await c.waitForStatus("sick", (s) => s.instances[0]?.state === "unhealthy", "sick unhealthy");
    expect(st.instances[0]!.detail).toMatch(/503/);
    const events = await c.events();
    expect(events.some((e) => e.type === "instance.unhealthy" && e.service === "sick")).toBe(true);
    expect((await c.cli(["delete", "sick"])).code).toBe(0);
    await c.waitForHosts((hs) => hs.filter((h) => h.service === "").length === 1, "sick's host spare again");
  });

  it("pin moves an instance to a host health-gated; unpin keeps it there", async () => {
    const st = await c.status("web");
    const spare = ids.find((id) => !st.instances.some((i) => i.host === id))!;
    const r = await c.cli(["place", "web", "--host", spare]);
    expect(r.code, r.stderr).toBe(0);
    const moved = await c.waitForStatus("web", (s) => s.instances.some((i) => i.host === spare && i.state === "healthy") && healthy(s) === 3 && !s.instances.some((i) => i.moving_to), "web moved onto the pinned host");
    const inst = moved.instances.find((i) => i.host === spare)!;
    expect(inst.pinned_host).toBe(spare);
    expect(inst.epoch).toBe(2);
    const ev = await c.events();
    const moving = ev.find((e) => e.type === "instance.moving" && e.service === "web");
    const done = ev.find((e) => e.type === "instance.moved" && e.service === "web");
    expect(moving && done && done.seq > moving.seq).toBeTruthy();
    // Health-gated: the new copy was healthy before the move completed.
    const newHealthy = ev.find((e) => e.type === "instance.healthy" && e.host === spare && e.seq > moving!.seq);
    expect(newHealthy && newHealthy.seq < done!.seq).toBeTruthy();
    // A drain cannot move a pinned instance: it is refused at once, naming the pin and how to lift it, and changes nothing.
    const drain = await c.cli(["drain", spare, "--wait", "--timeout", "20s"], { timeoutMs: 40_000 });
    expect(drain.code, drain.stdout + drain.stderr).toBe(1);
    expect(drain.stderr).not.toMatch(/timed out/);
    expect(drain.stderr).toContain(`${inst.instance} is pinned to ${spare}`);
    expect(drain.stderr).toContain(`berth unpin web --host ${spare}`);
    expect((await c.hosts()).find((x) => x.id === spare)!.cordoned).toBe(false);
    expect((await c.cli(["unpin", "web", "--host", spare])).code).toBe(0);
    expect((await c.status("web")).instances.find((i) => i.host === spare)).toBeTruthy();
  });

  it("drain moves a host's instance to the spare and leaves the host cordoned", async () => {
    const st = await c.status("web");
    const victim = st.instances[0]!.host;
    // --wait returns once the host is drained: its instance is healthy elsewhere.
    const r = await c.cli(["drain", victim, "--wait", "--timeout", "60s"], { timeoutMs: 90_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`host ${victim} is drained`);
    expect(r.stderr).toMatch(/moving to/);
    const after = await c.status("web");
    expect(healthy(after) === 3 && !after.instances.some((i) => i.host === victim || i.moving_to)).toBe(true);
    const h = await c.hosts();
    expect(h.find((x) => x.id === victim)!.status).toBe("cordoned");
    expect(h.find((x) => x.id === victim)!.cordoned).toBe(true);

    // With the only spare still cordoned, a drain has nowhere to go: it says so while it waits, and status too.
    const stuck = after.instances[0]!.host;
    // It ends once that has held for a few seconds, not at its timeout: waiting on could only run it out.
    const t0 = Date.now();
    const r2 = await c.cli(["drain", stuck, "--wait", "--timeout", "2m"], { timeoutMs: 150_000 });
    expect(r2.code, r2.stdout + r2.stderr).toBe(1);
    expect(Date.now() - t0).toBeLessThan(60_000);
    expect(r2.stderr).toMatch(new RegExp(`the drain of ${stuck} cannot finish`));
    expect(r2.stderr).toMatch(new RegExp(`berth uncordon ${stuck}\` cancels the drain`));
    const why = new RegExp(`stays on ${stuck}, which is draining, until another host can take it: no spare host: .*cordoned`);
    expect(r2.stderr).toMatch(why);
    const held = (await c.status("web")).instances.find((i) => i.host === stuck);
    expect(held?.reason).toMatch(why);
    expect(held?.stuck).toBe(true);
    expect((await c.cli(["uncordon", stuck])).code).toBe(0);
    expect((await c.cli(["uncordon", victim])).code).toBe(0);
  });

  it("delete stops every instance and leaves no process behind", async () => {
    expect((await c.cli(["delete", "web"])).code).toBe(0);
    await c.waitForHosts((hs) => hs.every((h) => h.service === ""), "every host spare");
    const { readdirSync, readlinkSync } = await import("node:fs");
    const { waitFor } = await import("./harness/wait.js");
    // This fleet's services run in its hosts' data dirs; other fleets on the machine (other
    // runs, other worktrees) run "node server.js" too, so a name match would see theirs.
    const ours = (): string[] =>
      readdirSync("/proc").filter((p) => {
        try {
          return /^\d+$/.test(p) && readlinkSync(`/proc/${p}/cwd`).startsWith(`${c.dir}/`);
        } catch {
          return false; // gone, or not ours to read
        }
      });
    await waitFor(() => ours().length === 0, { timeoutMs: 20_000, what: "no service process of this fleet left" });
    const missing = await c.cli(["status", "web"]);
    expect(missing.code).toBe(5);
  });
});
