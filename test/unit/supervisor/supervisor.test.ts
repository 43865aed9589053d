// The supervisor against real processes: node -e scripts as services, real
// signals, real /proc, real cgroups where this machine allows them. Every wait
// is on an event or a condition with a deadline; every test cleans up after
// itself through the fixture, pass or fail.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { Supervisor } from "../../../agent/supervisor/supervisor.js";
import { isLive, readProcStat } from "../../../agent/supervisor/proc.js";
import { logPaths } from "../../../agent/supervisor/logs.js";
import { cgroupName } from "../../../agent/supervisor/cgroup.js";
import { readRecord, writeRecordSync, type ProcessRecord } from "../../../agent/supervisor/state-file.js";
import { waitFor } from "../../cluster/harness/wait.js";
import { cgroupV1Writable, makeFixture, recordStates, reported, waitForState, type Fixture } from "./fixture.js";

const isRoot = process.getuid?.() === 0;

const alive = (pid: number): boolean => isLive(readProcStat(pid));

/** Prints "ready", then stays up. */
const IDLE = `console.log("ready"); setInterval(() => {}, 1000);`;

let f: Fixture;
beforeEach(async () => {
  f = await makeFixture();
});
afterEach(async () => {
  await f.cleanup();
});

async function logOf(sup: Supervisor, what: string, pred: (log: string) => boolean): Promise<string> {
  return waitFor(
    async () => {
      const log = await sup.tail(10_000);
      return pred(log) ? log : undefined;
    },
    { timeoutMs: 10_000, what },
  );
}

describe("Supervisor: start, environment, logs", () => {
  it("runs the command in workDir with a minimal env plus the given env and BERTH_*, output in <instance>.log", async () => {
    const script = `
      console.log("cwd " + process.cwd());
      console.log("env " + JSON.stringify(Object.keys(process.env).sort()));
      console.log("greeting " + process.env.GREETING + " " + process.env.BERTH_INSTANCE + " " + process.env.BERTH_EPOCH);
      console.error("stderr too");
      ${IDLE}`;
    const sup = f.supervisor(f.options(script));
    const states = recordStates(sup);
    sup.start();
    const running = await waitForState(sup, (s) => s.state === "running", "running");
    expect(running).toMatchObject({ restarts: 0, adopted: false });
    expect(running.pid).toBeGreaterThan(1);
    expect(states.map((s) => s.state)).toEqual(["starting", "running"]);

    const log = await logOf(sup, "ready in the log", (l) => l.includes("ready"));
    const r = reported(log);
    expect(r.get("cwd")).toBe(f.workDir);
    // Nothing of the agent's own environment (vitest sets VITEST, among others) leaks in.
    expect(r.get("env")).toBe(JSON.stringify(["BERTH_EPOCH", "BERTH_INSTANCE", "GREETING", "HOME", "LANG", "PATH"]));
    expect(r.get("greeting")).toBe(`hello ${f.instanceId} 7`);
    expect(log).toContain("stderr too");
    expect(readFileSync(path.join(f.logDir, `${f.instanceId}.log`), "utf8")).toBe(log);

    // The state file names this very process, for re-adoption.
    const rec = await readRecord(f.stateFile);
    expect(rec).toMatchObject({ pid: running.pid, pgid: running.pid, instanceId: f.instanceId, epoch: 7, specHash: "abc123" });
    expect(rec?.startTime).toBe(readProcStat(running.pid ?? 0)?.startTime);
    // Its own session and process group: the agent's signals never reach it.
    expect(readProcStat(running.pid ?? 0)).toMatchObject({ pgid: running.pid, sid: running.pid });
  });

  it("runs a command given relative to workDir, as the spec's ./bin/web", async () => {
    mkdirSync(path.join(f.workDir, "bin"));
    writeFileSync(path.join(f.workDir, "bin", "web"), `#!/bin/sh\necho "args $*"\necho ready\nexec sleep 1000\n`, { mode: 0o755 });
    const sup = f.supervisor(f.options("", { command: "./bin/web", args: ["--port", "8080"] }));
    sup.start();
    const log = await logOf(sup, "ready", (l) => l.includes("ready"));
    expect(reported(log).get("args")).toBe("--port 8080");
    expect((await sup.stop()).reason).toBe("stopped with SIGTERM");
  });

  it("rotates the log at the size limit, keeping logFiles files in order and none beyond", async () => {
    const script = `let i = 0; setInterval(() => console.log("n " + String(i++).padStart(8, "0") + " " + "x".repeat(40)), 2);`;
    const sup = f.supervisor(f.options(script, { logMaxBytes: 2048, logFiles: 3 }));
    sup.start();
    const [cur = "", one = "", two = ""] = logPaths({ dir: f.logDir, name: f.instanceId, files: 3 });
    await waitFor(() => existsSync(two) && statSync(cur).size > 0, { timeoutMs: 15_000, what: "a second rotation" });
    await sup.stop();

    expect(existsSync(`${cur}.3`)).toBe(false);
    for (const p of [one, two]) {
      // Rotated once it reached the limit; overshoot is what 50 ms of output adds at most (generously).
      expect(statSync(p).size).toBeGreaterThanOrEqual(2048);
      expect(statSync(p).size).toBeLessThan(2048 + 64 * 1024);
    }
    const numbers = [two, one, cur]
      .flatMap((p) => readFileSync(p, "utf8").split("\n"))
      .filter(Boolean)
      .map((l) => Number(/^n (\d+) x+$/.exec(l)?.[1]));
    expect(numbers.every(Number.isInteger)).toBe(true);
    // In order, no repeats; copy-truncate may drop the few bytes written in its one-read window.
    const gaps = numbers.slice(1).filter((n, i) => n !== (numbers[i] ?? 0) + 1);
    expect(numbers.slice(1).every((n, i) => n > (numbers[i] ?? 0))).toBe(true);
    expect(gaps.length).toBeLessThanOrEqual(2);
    const tail = (await sup.tail(3)).split("\n").filter(Boolean);
    expect(tail).toHaveLength(3);
    // The newest line, wherever the last rotation left it.
    expect(Number(/^n (\d+)/.exec(tail.at(-1) ?? "")?.[1])).toBe(numbers.at(-1));
  });

  it("follows the output live", async () => {
    const sup = f.supervisor(f.options(`let i = 0; setInterval(() => console.log("tick " + i++), 20);`));
    sup.start();
    await waitForState(sup, (s) => s.state === "running", "running");
    const chunks: Buffer[] = [];
    const follower = sup.follow((c) => chunks.push(c), 20);
    try {
      await waitFor(() => (Buffer.concat(chunks).toString().match(/tick \d+\n/g)?.length ?? 0) >= 3, {
        timeoutMs: 10_000,
        what: "three ticks followed",
      });
    } finally {
      follower.close();
    }
  });
});

describe("Supervisor: restarts", () => {
  const policy = { initialMs: 100, factor: 2, maxMs: 1_000, jitter: 0, stableAfterMs: 60_000, maxQuickFailures: 3 };

  it("restarts a crashing process with growing delays, then marks it failed", async () => {
    const sup = f.supervisor(f.options(`console.log("up"); process.exit(3);`, { restartPolicy: policy }));
    const states = recordStates(sup);
    sup.start();
    const failed = await waitForState(sup, (s) => s.state === "failed", "failed", 15_000);
    expect(failed).toMatchObject({ exitCode: 3, signal: null, restarts: 3 });
    expect(failed.reason).toMatch(/^exited with code 3 after \d+m?s: 4 times in a row, each within 1m of starting$/);

    const backoffs = states.filter((s) => s.state === "backoff");
    expect(backoffs.map((s) => s.reason?.replace(/after \d+m?s/, "after T"))).toEqual([
      "exited with code 3 after T (restart 1 of 3)",
      "exited with code 3 after T (restart 2 of 3)",
      "exited with code 3 after T (restart 3 of 3)",
    ]);
    // Planned delays: 100, 200, 400 ms, less the moments spent between exit and decision.
    const planned = backoffs.map((s) => (s.nextStartAtMs ?? 0) - s.sinceMs);
    [100, 200, 400].forEach((want, i) => {
      expect(planned[i]).toBeLessThanOrEqual(want);
      expect(planned[i]).toBeGreaterThan(want - 50);
    });
    // And really waited: each start comes at least its delay after the backoff began
    // (less 2 ms: the stamps are whole milliseconds, the planned delay is on the monotonic clock).
    const starts = states.filter((s) => s.state === "starting").slice(1);
    starts.forEach((s, i) => expect(s.sinceMs - (backoffs[i]?.sinceMs ?? 0)).toBeGreaterThanOrEqual((planned[i] ?? 0) - 2));
    // The first run follows no quick exit; each run after one says when it will count as stable.
    const runs = states.filter((s) => s.state === "running");
    expect(runs[0]!.quick).toBeUndefined();
    expect(runs.map((r) => r.quick?.exits)).toEqual([undefined, 1, 2, 3]);
    for (const r of runs.slice(1)) expect(r.quick!.stableAtMs - r.sinceMs).toBeGreaterThan(policy.stableAfterMs - 100);
    expect(existsSync(f.stateFile)).toBe(false);
  });

  it("cancels a pending restart when stopped during backoff", async () => {
    const sup = f.supervisor(f.options(`process.exit(1);`, { restartPolicy: { ...policy, initialMs: 60_000, maxMs: 60_000 } }));
    const states = recordStates(sup);
    sup.start();
    await waitForState(sup, (s) => s.state === "backoff", "backoff");
    const t0 = Date.now();
    const final = await sup.stop();
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(final).toMatchObject({ state: "stopped", exitCode: 1 });
    expect(final.reason).toMatch(/restart cancelled by stop$/);
    expect(states.filter((s) => s.state === "starting")).toHaveLength(1);
  });

  it("ends the children a crashed process left behind before starting it again", async () => {
    const marker = path.join(f.workDir, "crashed-once");
    const script = `
      const fs = require("fs");
      if (!fs.existsSync(${JSON.stringify(marker)})) {
        fs.writeFileSync(${JSON.stringify(marker)}, "");
        const kid = require("child_process").spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: "ignore" });
        console.log("kid " + kid.pid);
        setTimeout(() => process.exit(1), 100);
      } else {
        ${IDLE}
      }`;
    const sup = f.supervisor(f.options(script, { restartPolicy: policy }));
    sup.start();
    const log = await logOf(sup, "the kid's pid", (l) => l.includes("kid "));
    const kid = Number(reported(log).get("kid"));
    f.trackPid(kid);
    const second = await waitForState(sup, (s) => s.state === "running" && s.restarts === 1, "the second run");
    expect(second.restarts).toBe(1);
    expect(alive(kid)).toBe(false);
  });

  it("reports a command that cannot be started, and gives up per policy", async () => {
    const sup = f.supervisor(f.options("", { command: "./no-such-program", args: [], restartPolicy: { ...policy, maxQuickFailures: 1 } }));
    const states = recordStates(sup);
    sup.start();
    const failed = await waitForState(sup, (s) => s.state === "failed", "failed");
    expect(states.find((s) => s.state === "backoff")?.reason).toMatch(/^cannot start: command \.\/no-such-program not found \(no such file\) \(restart 1 of 1\)$/);
    expect(failed.reason).toMatch(/^cannot start: command \.\/no-such-program not found \(no such file\); 2 times in a row$/);
  });

  it("says where a bare command was looked for when it is nowhere on PATH", async () => {
    const sup = f.supervisor(f.options("", { command: "no-such-program-xyz", args: [], restartPolicy: { ...policy, maxQuickFailures: 0 } }));
    sup.start();
    const failed = await waitForState(sup, (s) => s.state === "failed", "failed");
    expect(failed.reason).toMatch(/^cannot start: command "no-such-program-xyz" not found in PATH \(\/.*\)/);
  });

  it("fails at once for a run user that does not exist: restarting would not create it", async () => {
    const sup = f.supervisor(f.options(IDLE, { user: "berth-no-such-user" }));
    sup.start();
    const failed = await waitForState(sup, (s) => s.state === "failed", "failed");
    expect(failed.reason).toBe(`cannot start: user "berth-no-such-user" does not exist on this host`);
  });
});

describe("Supervisor: stop", () => {
  it("stops with the stop signal when the process handles it", async () => {
    const script = `process.on("SIGTERM", () => { console.log("got SIGTERM"); process.exit(0); }); ${IDLE}`;
    const sup = f.supervisor(f.options(script));
    sup.start();
    await logOf(sup, "ready", (l) => l.includes("ready"));
    const pid = sup.state.pid ?? 0;
    const states = recordStates(sup);
    const final = await sup.stop();
    expect(states.map((s) => s.state)).toEqual(["stopping", "stopped"]);
    expect(final).toMatchObject({ state: "stopped", exitCode: 0, signal: null, reason: "stopped with SIGTERM" });
    expect(await sup.tail(1)).toBe("got SIGTERM\n");
    expect(alive(pid)).toBe(false);
    expect(existsSync(f.stateFile)).toBe(false);
    expect(await sup.stop()).toBe(final); // idempotent
  });

  it("kills with SIGKILL after stopTimeoutMs when the process ignores the stop signal", async () => {
    const sup = f.supervisor(f.options(`process.on("SIGTERM", () => console.log("ignoring SIGTERM")); ${IDLE}`, { stopTimeoutMs: 300 }));
    sup.start();
    await logOf(sup, "ready", (l) => l.includes("ready"));
    const t0 = Date.now();
    const final = await sup.stop();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(300);
    expect(final).toMatchObject({ state: "stopped", exitCode: null, signal: "SIGKILL" });
    expect(final.reason).toBe("still running 300ms after SIGTERM: killed with SIGKILL");
    expect(await sup.tail(10)).toContain("ignoring SIGTERM");
  });

  it("leaves no grandchild behind: in its group, ignoring SIGTERM, or moved to a group of its own", async () => {
    const script = `
      const { spawn } = require("child_process");
      const kids = [
        spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: "ignore" }),
        spawn(process.execPath, ["-e", "process.on('SIGTERM', () => {}); setInterval(() => {}, 1000)"], { stdio: "ignore" }),
        spawn("perl", ["-e", "setpgrp(0, 0); sleep 1000"], { stdio: "ignore" }),
      ];
      console.log("kids " + kids.map((k) => k.pid).join(","));
      ${IDLE}`;
    const sup = f.supervisor(f.options(script, { stopTimeoutMs: 500 }));
    sup.start();
    const log = await logOf(sup, "kids and ready", (l) => l.includes("kids ") && l.includes("ready"));
    const kids = (reported(log).get("kids") ?? "").split(",").map(Number);
    kids.forEach((k) => f.trackPid(k));
    expect(kids).toHaveLength(3);
    // perl moved itself to its own process group (still in the session) — wait until it has.
    await waitFor(() => readProcStat(kids[2] ?? 0)?.pgid === kids[2], { timeoutMs: 5_000, what: "perl in its own group" });
    const final = await sup.stop();
    expect(final.state).toBe("stopped");
    expect(kids.filter(alive)).toEqual([]);
  });
});

describe("Supervisor: re-adoption after an agent restart", () => {
  const ticking = `let i = 0; console.log("ready"); setInterval(() => console.log("tick " + i++), 20);`;

  async function startAndAbandon(): Promise<{ pid: number; record: ProcessRecord }> {
    const sup = f.supervisor(f.options(ticking));
    sup.start();
    await logOf(sup, "ready", (l) => l.includes("ready"));
    const pid = sup.state.pid ?? 0;
    f.trackPid(pid);
    // The agent goes away without stopping anything.
    await sup.detach();
    const record = await readRecord(f.stateFile);
    if (!record) throw new Error("no state file after start");
    return { pid, record };
  }

  it("adopts the recorded process without restarting it, and keeps its output flowing", async () => {
    const { pid } = await startAndAbandon();
    expect(alive(pid)).toBe(true);
    const result = await Supervisor.adopt(f.stateFile, { logCheckIntervalMs: 50, exitPollMs: 50 });
    if (!result.adopted) throw new Error(result.reason);
    const sup = result.supervisor;
    f.track(sup);
    expect(sup.state).toMatchObject({ state: "running", pid, restarts: 0, adopted: true });
    expect(sup.config).toMatchObject({ instanceId: f.instanceId, epoch: 7, specHash: "abc123" });
    const before = (await sup.tail(1)).trim();
    await waitFor(async () => (await sup.tail(1)).trim() !== before, { timeoutMs: 5_000, what: "new output" });

    const final = await sup.stop();
    expect(final).toMatchObject({ state: "stopped", adopted: true, exitCode: null, signal: null });
    expect(final.reason).toBe("stopped with SIGTERM (adopted: exit status unknown)");
    expect(alive(pid)).toBe(false);
    expect(existsSync(f.stateFile)).toBe(false);
  });

  it("notices when the adopted process exits, says its status is unknown, and restarts it", async () => {
    const { pid } = await startAndAbandon();
    const result = await Supervisor.adopt(f.stateFile, { logCheckIntervalMs: 50, exitPollMs: 50 });
    if (!result.adopted) throw new Error(result.reason);
    const sup = result.supervisor;
    f.track(sup);
    const states = recordStates(sup);
    process.kill(pid, "SIGKILL");
    const backoff = await waitForState(sup, (s) => s.state === "backoff", "backoff after the adopted process died");
    expect(backoff).toMatchObject({ exitCode: null, signal: null, adopted: false });
    expect(backoff.reason).toMatch(/^exited \(status unknown\) after .*; exit status unknown: the process was adopted, not our child$/);
    const again = await waitForState(sup, (s) => s.state === "running" && s.restarts === 1, "restarted");
    expect(again.pid).not.toBe(pid);
    expect(states.map((s) => s.state)).toEqual(["backoff", "starting", "running"]);
  });

  it("does not adopt a live process that merely reuses the recorded pid, and leaves it alone", async () => {
    const stranger = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: "ignore" });
    const pid = stranger.pid ?? 0;
    f.trackPid(pid);
    const real = readProcStat(pid);
    if (!real) throw new Error("stranger not in /proc");
    const sup = f.supervisor(f.options(IDLE));
    writeRecordSync(f.stateFile, {
      version: 1,
      instanceId: f.instanceId,
      epoch: 7,
      specHash: "abc123",
      pid,
      pgid: pid,
      startTime: real.startTime - 1,
      startedAtMs: Date.now(),
      restarts: 0,
      failures: 0,
      cgroup: null,
      cgroupReason: "",
      config: sup.config,
    });
    const result = await Supervisor.adopt(f.stateFile);
    expect(result.adopted).toBe(false);
    if (!result.adopted) expect(result.reason).toMatch(new RegExp(`^pid ${pid} now belongs to another process`));
    expect(alive(pid)).toBe(true);
    expect(existsSync(f.stateFile)).toBe(false);
  });

  it("reports a recorded process that has exited, and a missing or damaged state file", async () => {
    const { pid } = await startAndAbandon();
    process.kill(pid, "SIGKILL");
    await waitFor(() => !alive(pid), { timeoutMs: 5_000, what: "the process gone" });
    const gone = await Supervisor.adopt(f.stateFile);
    expect(gone).toMatchObject({ adopted: false, reason: `process ${pid} has exited; removed the state file` });
    expect(await Supervisor.adopt(f.stateFile)).toEqual({ adopted: false, reason: `no state file at ${f.stateFile}` });
    writeRecordSync(f.stateFile, { nonsense: true } as unknown as ProcessRecord);
    const damaged = await Supervisor.adopt(f.stateFile);
    expect(damaged.adopted).toBe(false);
    if (!damaged.adopted) expect(damaged.reason).toMatch(/is damaged: .*; removed it$/);
    expect(existsSync(f.stateFile)).toBe(false);
  });
});

describe("Supervisor: cgroup limits", () => {
  // With limits, and without: every run has a cgroup, and it holds what left the session.
  it.skipIf(!cgroupV1Writable).each([
    { what: "with limits, writes them", limits: { cpu: 0.5, memoryMb: 64 }, quota: "50000", memory: String(64 * 1024 * 1024), enforced: true },
    { what: "without limits, writes none and reports nothing", limits: null, quota: "-1", memory: undefined, enforced: undefined },
  ])("$what; holds a grandchild that left with setsid, stops it, and removes the cgroup (needs root and v1)", async ({ limits, quota, memory, enforced }) => {
    const script = `
      const kid = require("child_process").spawn("setsid", ["sleep", "1000"], { stdio: "ignore" });
      console.log("kid " + kid.pid);
      ${IDLE}`;
    const sup = f.supervisor(f.options(script, { cgroup: limits }));
    sup.start();
    const running = await waitForState(sup, (s) => s.state === "running", "running");
    expect(running.cgroupEnforced).toBe(enforced);
    const name = cgroupName(f.instanceId, f.stateFile);
    expect(name).toMatch(new RegExp(`^${f.instanceId}-[0-9a-f]{8}$`));
    const cpuDir = `/sys/fs/cgroup/cpu/berth/${name}`;
    const memDir = `/sys/fs/cgroup/memory/berth/${name}`;
    expect(readFileSync(`${cpuDir}/cpu.cfs_period_us`, "utf8").trim()).toBe("100000");
    expect(readFileSync(`${cpuDir}/cpu.cfs_quota_us`, "utf8").trim()).toBe(quota);
    if (memory !== undefined) expect(readFileSync(`${memDir}/memory.limit_in_bytes`, "utf8").trim()).toBe(memory);
    const pid = running.pid ?? 0;
    expect(readFileSync(`/proc/${pid}/cgroup`, "utf8")).toContain(`/berth/${name}`);

    const log = await logOf(sup, "kid", (l) => l.includes("kid ") && l.includes("ready"));
    const kid = Number(reported(log).get("kid"));
    f.trackPid(kid);
    // setsid left our session and group: only the cgroup still knows it.
    await waitFor(() => readProcStat(kid)?.sid === kid, { timeoutMs: 5_000, what: "the kid in its own session" });
    expect((await readRecord(f.stateFile))?.cgroup).toEqual({ kind: "v1", dirs: [cpuDir, memDir] });

    await sup.stop();
    expect(alive(kid)).toBe(false);
    expect(existsSync(cpuDir)).toBe(false);
    expect(existsSync(memDir)).toBe(false);
  });

  it("runs without limits, saying why, where no cgroup can be made", async () => {
    const sup = f.supervisor(f.options(IDLE, { cgroup: { cpu: 1, memoryMb: 128 }, cgroupRoot: f.dir }));
    sup.start();
    const running = await waitForState(sup, (s) => s.state === "running", "running");
    expect(running).toMatchObject({
      cgroupEnforced: false,
      cgroupReason: `no cgroup v2 hierarchy nor v1 cpu and memory controllers under ${f.dir}`,
    });
    expect((await readRecord(f.stateFile))?.cgroup).toBeNull();
  });
});

describe("Supervisor: run user", () => {
  it.skipIf(!isRoot)("runs the process as another user (nobody) with that user's HOME (needs root)", async () => {
    const sup = f.supervisor(f.options(`console.log("uid " + process.getuid() + " " + process.getgid()); console.log("home " + process.env.HOME); ${IDLE}`, { user: "nobody" }));
    sup.start();
    const log = await logOf(sup, "uid and ready", (l) => l.includes("ready"));
    expect(reported(log).get("uid")).toBe("65534 65534");
    expect(reported(log).get("home")).toBe("/nonexistent");
    expect((await sup.stop()).reason).toBe("stopped with SIGTERM");
  });
});
