/**
 * Issue 4 on a real topology: rolling updates, a revert, a canary, a surge onto a
 * spare, and a controller killed mid-rollout — each under a steady stream of
 * requests from a load generator that follows `berth endpoints -w` from a client
 * node of its own, as a load balancer would. Every request must succeed.
 */
import type { ChildProcess } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { BERTH_MAIN, Cluster, ROOT, type StatusJson } from "./harness/cluster.js";
import { waitFor } from "./harness/wait.js";
import { recentOutput } from "./harness/topology.js";
import { svcSpec } from "./harness/specs.js";

const LOADGEN = resolve(ROOT, "test/fixtures/loadgen.mjs");

interface SpecOpts {
  instances?: number;
  env?: Record<string, string>;
  update?: Record<string, string | number | boolean>;
}

function spec(name: string, o: SpecOpts = {}): string {
  const update = { maxUnavailable: 1, minHealthyTime: "1s", drainTime: "1s", healthyDeadline: "8s", progressDeadline: "1m", ...o.update };
  return svcSpec(name, { instances: o.instances ?? 4, env: o.env, health: { interval: "200ms", timeout: "150ms", healthyThreshold: 1, unhealthyThreshold: 2 }, update });
}

interface RolloutJson {
  status: string;
  outcome: string;
  from_revision: number;
  to_revision: number;
  done: number;
  total: number;
  auto_reverted: boolean;
  reason: string;
  slots: { slot: number; host: string; revision: number; phase: string; done: boolean }[];
}

type Line = { t: number; endpoints?: string[]; ok?: boolean; endpoint?: string; version?: string; error?: string };

/** The load generator: requests round-robin over the endpoints in service, every result logged. */
class Load {
  private constructor(
    private readonly proc: ChildProcess,
    readonly file: string,
  ) {}

  static async start(c: Cluster, node: number, service: string, file: string): Promise<Load> {
    const proc = c.topo.spawn(node, [process.execPath, LOADGEN, BERTH_MAIN, service, file, "10"], { env: c.env() });
    const l = new Load(proc, file);
    await waitFor(async () => ((await l.lines()).filter((x) => x.ok).length >= 20 ? true : undefined), { timeoutMs: 20_000, intervalMs: 100, what: "the load generator to get answers" });
    return l;
  }

  async lines(): Promise<Line[]> {
    const text = await readFile(this.file, "utf8").catch(() => "");
    return text
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Line);
  }

  /** Waits until the last `n` answers all came from `version`. */
  async waitForVersion(version: string, n = 40): Promise<void> {
    await waitFor(async () => {
      const answers = (await this.lines()).filter((x) => x.ok !== undefined).slice(-n);
      return answers.length === n && answers.every((a) => a.ok && a.version === version) ? true : undefined;
    }, { timeoutMs: 20_000, intervalMs: 100, what: `every answer from version ${version}` });
  }

  async stop(): Promise<Line[]> {
    if (this.proc.exitCode === null && this.proc.signalCode === null) {
      const exited = new Promise((r) => this.proc.once("exit", r));
      this.proc.kill("SIGTERM");
      await exited;
    }
    return this.lines();
  }
}

const failures = (lines: Line[]): Line[] => lines.filter((l) => l.ok === false);
/** The fewest endpoints in service from the first full list on. */
function minEndpoints(lines: Line[], full: number): number {
  const lists = lines.filter((l) => l.endpoints).map((l) => l.endpoints!.length);
  const from = lists.findIndex((n) => n >= full);
  return from < 0 ? 0 : Math.min(...lists.slice(from));
}

describe("rollouts: health-checked, zero downtime, canary, revert, surge, controller restart", () => {
  let c: Cluster;
  let client = 0;
  let load: Load | undefined;

  // `rollout status` exits 1 after a failed or reverted rollout: read its JSON whatever the code.
  const rollout = async (name: string): Promise<RolloutJson & { code: number | null }> => {
    const r = await c.cli(["rollout", "status", name, "-o", "json"]);
    return { ...(JSON.parse(r.stdout) as RolloutJson), code: r.code };
  };
  const status = (name: string): Promise<StatusJson> => c.status(name);
  const waitStatus = (name: string, pred: (r: RolloutJson) => boolean, what: string, timeoutMs = 90_000): Promise<RolloutJson> =>
    waitFor(async () => {
      const r = await c.cli(["rollout", "status", name, "-o", "json"]);
      if (r.stdout.trim() === "") return undefined;
      const v = JSON.parse(r.stdout) as RolloutJson;
      return pred(v) ? v : undefined;
    }, { timeoutMs, intervalMs: 200, what });
  const inService = async (name: string, n: number): Promise<void> => {
    await waitFor(async () => ((await c.cliJson<unknown[]>(["endpoints", name])).length === n ? true : undefined), { timeoutMs: 60_000, intervalMs: 200, what: `${n} endpoints of ${name}` });
  };

  beforeAll(async () => {
    c = await Cluster.start({ hosts: 5, ttl: "3s", heartbeat: "500ms" });
    client = await c.topo.addHost(); // the load generator's own node: no agent, no instance
  });
  afterEach(async ({ task }) => {
    await load?.stop();
    load = undefined;
    if (task.result?.state === "fail") console.error(await c?.dumpLogs());
  });
  afterAll(async () => {
    await c?.destroy();
  });

  it("4 instances on 5 hosts, v1 → v2: every request succeeds and every instance ends on v2", async () => {
    expect((await c.apply(await c.specDir("web1", { "web.yaml": spec("web", { env: { V: "1" } }) }))).code).toBe(0);
    await inService("web", 4);
    load = await Load.start(c, client, "web", join(c.dir, "load-1.jsonl"));
    const applied = await c.apply(await c.specDir("web2", { "web.yaml": spec("web", { env: { V: "2" } }) }));
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stdout).toMatch(/rolling out revision 2/);
    const watched = await c.cli(["rollout", "status", "web", "-w"], { timeoutMs: 120_000 });
    expect(watched.code, watched.stdout + watched.stderr).toBe(0);
    expect(watched.stdout).toMatch(/rollout 1 → 2 succeeded/);
    await load.waitForVersion("2");
    const lines = await load.stop();
    expect(failures(lines)).toEqual([]);
    expect(lines.filter((l) => l.ok).length).toBeGreaterThan(200);
    // maxUnavailable 1: never fewer than 3 of 4 in service.
    expect(minEndpoints(lines, 4)).toBeGreaterThanOrEqual(3);
    const st = await status("web");
    expect(st.instances.map((i) => i.revision)).toEqual([2, 2, 2, 2]);
    const r = await rollout("web");
    expect(r).toMatchObject({ status: "succeeded", outcome: "succeeded", from_revision: 1, to_revision: 2, done: 4, code: 0 });
    const types = (await c.events()).filter((e) => e.service === "web").map((e) => e.type);
    expect(types).toEqual(expect.arrayContaining(["rollout.started", "rollout.batch", "rollout.drain", "rollout.replace", "rollout.progress", "rollout.succeeded"]));
    // An unknown service: exit 5, as everywhere.
    expect((await c.cli(["rollout", "status", "nosuch"])).code).toBe(5);
  });

  it("v2 → v3 that never gets healthy fails after the first batch and is reverted to v2, never fewer than 3 in service", async () => {
    load = await Load.start(c, client, "web", join(c.dir, "load-2.jsonl"));
    // apply --wait gates a pipeline: a rollout reverted is a failure, however healthy the old revision is.
    const applied = await c.apply(await c.specDir("web3", { "web.yaml": spec("web", { env: { V: "3", UNHEALTHY: "1" } }) }), ["--wait", "--timeout", "100s"]);
    expect(applied.code, applied.stdout + applied.stderr).toBe(1);
    expect(applied.stderr).toMatch(/web: the rollout (to revision 3 )?was reverted to revision 2/);
    expect(applied.stdout).not.toMatch(/every instance healthy/);
    const watched = await c.cli(["rollout", "status", "web", "-w"], { timeoutMs: 120_000 });
    expect(watched.code, watched.stdout).toBe(1);
    expect(watched.stderr).toMatch(/reverted to revision 2/);
    const r = await rollout("web");
    expect(r).toMatchObject({ status: "succeeded", outcome: "reverted", auto_reverted: true, from_revision: 3, to_revision: 2, code: 1 });
    // Where apply --wait sent the user: why revision 3 was undone.
    expect(r.reason).toMatch(/^automatic revert of revision 3: slot \d+ not in service on revision 3 within healthyDeadline \(\d+m?s\)$/);
    const lines = await load.stop();
    expect(failures(lines)).toEqual([]);
    expect(minEndpoints(lines, 4)).toBeGreaterThanOrEqual(3);
    expect(lines.filter((l) => l.ok).every((l) => l.version === "2")).toBe(true);
    const st = await status("web");
    expect(st.revision).toBe(2);
    expect(st.instances.map((i) => i.revision)).toEqual([2, 2, 2, 2]);
    const events = (await c.events()).filter((e) => e.service === "web");
    expect(events.map((e) => e.type)).toEqual(expect.arrayContaining(["rollout.failed", "rollout.reverting", "service.reverted"]));
    // Only the first batch (one slot) was tried on v3.
    expect(events.filter((e) => e.type === "rollout.replace" && /revision 3/.test(e.message))).toHaveLength(1);
  });

  it("canary: 1 instance on v4 and the rest on v2 until promote, then all on v4", async () => {
    load = await Load.start(c, client, "web", join(c.dir, "load-3.jsonl"));
    // `apply --wait` stops at the canary, says what is awaited, with its own exit code (8), well before its timeout.
    const applied = await c.apply(await c.specDir("web4", { "web.yaml": spec("web", { env: { V: "4" }, update: { canary: 1 } }) }), ["--wait", "--timeout", "100s"]);
    expect(applied.code, applied.stdout + applied.stderr).toBe(8);
    expect(applied.stderr).toMatch(/awaits promotion/);
    expect(applied.stderr).toContain("berth rollout promote web");
    const waiting = await waitStatus("web", (r) => r.status === "awaiting-promotion", "the canary to wait for promotion");
    expect(waiting.to_revision).toBe(4);
    // So does `rollout status -w`: a pipeline gated on it ends instead of hanging.
    const blocked = await c.cli(["rollout", "status", "web", "-w"], { timeoutMs: 20_000 });
    expect(blocked.code, blocked.stdout + blocked.stderr).toBe(8);
    expect(blocked.stderr).toContain("berth rollout promote web");
    expect(waiting.slots.map((s) => s.revision).sort()).toEqual([2, 2, 2, 4]);
    // It stays there: a status read now is the same.
    expect((await status("web")).instances.map((i) => i.revision).sort()).toEqual([2, 2, 2, 4]);
    const promoted = await c.cli(["rollout", "promote", "web"]);
    expect(promoted.code, promoted.stderr).toBe(0);
    const watched = await c.cli(["rollout", "status", "web", "-w"], { timeoutMs: 120_000 });
    expect(watched.code, watched.stdout + watched.stderr).toBe(0);
    await load.waitForVersion("4");
    const lines = await load.stop();
    expect(failures(lines)).toEqual([]);
    expect(minEndpoints(lines, 4)).toBeGreaterThanOrEqual(3);
    expect((await status("web")).instances.map((i) => i.revision)).toEqual([4, 4, 4, 4]);
  });

  it("undo goes back to the previous revision; restart rolls a new one; pause holds it and resume lets it finish", async () => {
    load = await Load.start(c, client, "web", join(c.dir, "load-undo.jsonl"));
    const undo = await c.cli(["rollout", "undo", "web"]);
    expect(undo.code, undo.stderr).toBe(0);
    expect(undo.stdout).toMatch(/rollout 4 → 2/);
    expect((await c.cli(["rollout", "status", "web", "-w"], { timeoutMs: 120_000 })).code).toBe(0);
    expect((await status("web")).instances.map((i) => i.revision)).toEqual([2, 2, 2, 2]);
    const restart = await c.cli(["restart", "web"]);
    expect(restart.code, restart.stderr).toBe(0);
    expect(restart.stdout).toMatch(/rolling out revision 5 \(restart of 2\)/);
    const paused = await c.cli(["rollout", "pause", "web", "-o", "json"]);
    expect(paused.code, paused.stderr).toBe(0);
    expect(JSON.parse(paused.stdout)).toMatchObject({ status: "paused", to_revision: 5 });
    // Paused: nothing new starts. Whatever was in flight settles, then the count holds.
    const held = await waitStatus("web", (r) => r.status === "paused" && r.slots.every((x) => x.phase === "in-service"), "the paused rollout to settle");
    expect((await rollout("web")).done).toBe(held.done);
    expect(held.done).toBeLessThan(4);
    // An apply while paused starts the next rollout paused too: the pause is the operator's, not lifted unsaid.
    const during = await c.apply(await c.specDir("web6", { "web.yaml": spec("web", { env: { V: "6" } }) }));
    expect(during.code, during.stderr).toBe(0);
    expect(during.stdout).toMatch(/web: the rollout to revision 6 is paused \(paused by an operator; kept for revision 6 \(berth rollout resume web\)\): nothing moves until `berth rollout resume web`/);
    expect(await rollout("web")).toMatchObject({ status: "paused", to_revision: 6, done: 0 });
    // A watch bounded by --timeout ends there with 7 (not ended); without -w a --timeout is a usage error.
    const bounded = await c.cli(["rollout", "status", "web", "-w", "--timeout", "1s"], { timeoutMs: 30_000 });
    expect(bounded.code, bounded.stderr).toBe(7);
    expect(bounded.stderr).toMatch(/the rollout of web to revision 6 has not ended \(paused/);
    expect((await c.cli(["rollout", "status", "web", "--timeout", "1s"])).code).toBe(2);
    // --wait on a paused rollout ends at once with the command that moves it, instead of waiting out its timeout.
    const waited = await c.apply(await c.specDir("web7", { "web.yaml": spec("web", { env: { V: "7" } }) }), ["--wait", "--timeout", "100s"]);
    expect(waited.code, waited.stdout + waited.stderr).toBe(1);
    expect(waited.stderr).toMatch(/web: the rollout to revision 7 is paused .*nothing moves until it is resumed/);
    expect(waited.stderr).toContain("berth rollout resume web");
    // A restart or an undo would roll past the pause unsaid: refused, naming resume (as kubectl refuses both).
    for (const cmd of [["restart", "web"], ["rollout", "undo", "web"]]) {
      const refused = await c.cli(cmd);
      expect(refused.code, `${cmd.join(" ")}: ${refused.stdout}${refused.stderr}`).toBe(1);
      expect(refused.stderr).toMatch(/the rollout of web to revision 7 is paused .*resume it first \(berth rollout resume web\), then (restart|undo)/);
    }
    expect(await rollout("web")).toMatchObject({ status: "paused", to_revision: 7 });
    expect((await c.cli(["rollout", "resume", "web"])).code).toBe(0);
    expect((await c.cli(["rollout", "status", "web", "-w"], { timeoutMs: 120_000 })).code).toBe(0);
    expect((await status("web")).instances.map((i) => i.revision)).toEqual([7, 7, 7, 7]);
    const lines = await load.stop();
    expect(failures(lines)).toEqual([]);
    expect(minEndpoints(lines, 4)).toBeGreaterThanOrEqual(3);
    const types = (await c.events()).filter((e) => e.service === "web").map((e) => e.type);
    expect(types).toEqual(expect.arrayContaining(["service.undone", "service.restarted", "rollout.paused", "rollout.resumed", "rollout.promoted"]));
    // Nothing to pause once it has ended: a clear refusal.
    const again = await c.cli(["rollout", "pause", "web"]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/has succeeded: nothing to pause/);
  });

  it("1 instance with maxSurge 1 and a spare host is upgraded with every request succeeding", async () => {
    expect((await c.cli(["delete", "web"])).code).toBe(0);
    await waitFor(async () => ((await c.hosts()).every((h) => h.service === "") ? true : undefined), { timeoutMs: 30_000, intervalMs: 200, what: "web gone" });
    const solo = (v: string): string => spec("solo", { instances: 1, env: { V: v }, update: { maxUnavailable: 0, maxSurge: 1 } });
    expect((await c.apply(await c.specDir("solo1", { "solo.yaml": solo("1") }))).code).toBe(0);
    await inService("solo", 1);
    const before = (await status("solo")).instances[0]!.host;
    load = await Load.start(c, client, "solo", join(c.dir, "load-4.jsonl"));
    expect((await c.apply(await c.specDir("solo2", { "solo.yaml": solo("2") }))).code).toBe(0);
    const watched = await c.cli(["rollout", "status", "solo", "-w"], { timeoutMs: 120_000 });
    expect(watched.code, watched.stdout + watched.stderr).toBe(0);
    await load.waitForVersion("2");
    const lines = await load.stop();
    expect(failures(lines)).toEqual([]);
    expect(minEndpoints(lines, 1)).toBe(1);
    const after = (await status("solo")).instances[0]!;
    expect(after.revision).toBe(2);
    expect(after.host).not.toBe(before); // moved to the spare; the old host is a spare now
    const hs = await c.hosts();
    expect(hs.find((h) => h.id === before)?.service).toBe("");
    // It went through the spare: a surge copy, then the old one retired.
    const types = (await c.events()).filter((e) => e.service === "solo").map((e) => e.type);
    expect(types).toEqual(expect.arrayContaining(["rollout.surge", "rollout.retire", "instance.moved", "rollout.succeeded"]));
    expect(types).not.toContain("rollout.drain");
  });

  it("a controller killed mid-rollout and restarted finishes the rollout without restarting done instances, the bound held", async () => {
    expect((await c.cli(["delete", "solo"])).code).toBe(0);
    await waitFor(async () => ((await c.hosts()).every((h) => h.service === "") ? true : undefined), { timeoutMs: 30_000, intervalMs: 200, what: "solo gone" });
    const api = (v: string): string => spec("api", { env: { V: v }, update: { minHealthyTime: "2s", drainTime: "1s" } });
    expect((await c.apply(await c.specDir("api1", { "api.yaml": api("1") }))).code).toBe(0);
    await inService("api", 4);
    load = await Load.start(c, client, "api", join(c.dir, "load-5.jsonl"));
    expect((await c.apply(await c.specDir("api2", { "api.yaml": api("2") }))).code).toBe(0);
    const mid = await waitStatus("api", (r) => r.status === "running" && r.done >= 1 && r.done < 4, "the rollout to be under way");
    const doneBefore = (await status("api")).instances.filter((i) => mid.slots.find((s) => s.slot === i.slot)?.done);
    expect(doneBefore.length).toBeGreaterThanOrEqual(1);
    // A watch started before the kill, from the client node, follows the rollout across the restart.
    const watch = c.topo.spawn(client, [process.execPath, BERTH_MAIN, "rollout", "status", "api", "-w"], { env: c.env() });
    const exited = new Promise<number | null>((r) => watch.once("exit", (code) => r(code)));
    await waitFor(async () => (/rollout 1 → 2 running/.test(recentOutput(watch).stderr) ? true : undefined), { timeoutMs: 10_000, intervalMs: 50, what: "the watch to follow the rollout" });
    await c.killController();
    await c.startController();
    const code = await exited;
    expect(code, recentOutput(watch).stdout + recentOutput(watch).stderr).toBe(0);
    expect(recentOutput(watch).stderr).toMatch(/watching again/);
    await load.waitForVersion("2");
    const lines = await load.stop();
    expect(failures(lines)).toEqual([]);
    expect(minEndpoints(lines, 4)).toBeGreaterThanOrEqual(3);
    const st = await status("api");
    expect(st.instances.map((i) => i.revision)).toEqual([2, 2, 2, 2]);
    // The slots done before the kill kept their copy: same epoch, same process.
    for (const d of doneBefore) {
      const now = st.instances.find((i) => i.slot === d.slot)!;
      expect({ slot: d.slot, epoch: now.epoch, pid: now.pid }).toEqual({ slot: d.slot, epoch: d.epoch, pid: d.pid });
    }
  });
});
