// The logs of instances that left a host: the few written last stay, the rest go, and
// the instance the host runs keeps its own whatever their age.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Converger } from "../../../agent/converge/converger.js";
import { realSteps } from "../../../agent/converge/steps.js";
import { departedOutput, logSetsToRemove, sweepLogs, type LogSet } from "../../../agent/logs/sweep.js";
import { isLive, readProcStat } from "../../../agent/supervisor/proc.js";
import { createLogger } from "../../../shared/log/logger.js";
import { normalizeSpec } from "../../../shared/spec/schema.js";
import type { InstanceStatus } from "../../../shared/gen/berth/v1/InstanceStatus.js";
import { until } from "../until.js";

const log = createLogger("test", "silent");
let dir: string;
const convs: Converger[] = [];
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "berth-logsweep-"));
});
afterEach(async () => {
  for (const c of convs.splice(0)) await c.shutdown({ stopService: true }).catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
});

const set = (instance: string, newestMs: number): LogSet => ({ instance, files: [`${instance}.log`], newestMs });
/** A converger on real steps in the test's folder (no artifacts: a fetch is a bug), cleaned up after the test. */
function converger(o: { keepLogs?: number; reports?: InstanceStatus[] } = {}): Converger {
  const steps = realSteps({ dataDir: dir, log, advertiseAddr: () => "127.0.0.1", fetchStored: () => { throw new Error("no artifacts here"); }, runAs: async () => ({ user: "" }), ...(o.keepLogs !== undefined ? { keepLogs: o.keepLogs } : {}) });
  const conv = new Converger({ dataDir: dir, advertiseAddr: () => "127.0.0.1", log, steps, report: (s) => void o.reports?.push(s) });
  convs.push(conv);
  return conv;
}
/** A service that says it started and then sleeps. */
const sleeper = (name: string): string => JSON.stringify(normalizeSpec({ name, run: { command: "sh", args: ["-c", "echo started; exec sleep 1000"] } }));

describe("which logs go", () => {
  it("keeps the `keep` most recently written of the others, and always the instance in use", () => {
    const sets = [set("web-0", 1), set("api-1", 50), set("db-2", 30), set("old-0", 10)];
    expect(logSetsToRemove(sets, "web-0", 2).map((s) => s.instance)).toEqual(["old-0"]);
    expect(logSetsToRemove(sets, "web-0", 0).map((s) => s.instance)).toEqual(["api-1", "db-2", "old-0"]);
    expect(logSetsToRemove(sets, undefined, 1).map((s) => s.instance)).toEqual(["db-2", "old-0", "web-0"]);
    expect(logSetsToRemove(sets, "web-0", 10)).toEqual([]);
  });
});

describe("sweeping a logs folder", () => {
  it("removes every file of an instance that goes (rotations, a rotation in progress), and nothing else", async () => {
    const logs = path.join(dir, "logs");
    await mkdir(logs);
    const files = ["web-0.log", "web-0.log.1", "api-1.log", "api-1.log.1", "api-1.log.2.tmp", "db-2.log", "notes.txt", "web-0.log.bak"];
    for (const f of files) await writeFile(path.join(logs, f), "x\n");
    // api-1 written long ago, db-2 an hour ago; web-0 (in use) the oldest of all.
    const ago = (s: number): Date => new Date(Date.now() - s * 1000);
    for (const f of ["web-0.log", "web-0.log.1"]) await utimes(path.join(logs, f), ago(90_000), ago(90_000));
    for (const f of ["api-1.log", "api-1.log.1", "api-1.log.2.tmp"]) await utimes(path.join(logs, f), ago(86_400), ago(86_400));
    await utimes(path.join(logs, "db-2.log"), ago(3_600), ago(3_600));

    expect(await sweepLogs(logs, "web-0", 1)).toEqual(["api-1"]);
    expect((await readdir(logs)).sort()).toEqual(["db-2.log", "notes.txt", "web-0.log", "web-0.log.1", "web-0.log.bak"]);
    expect(await sweepLogs(path.join(dir, "none"), "web-0", 0)).toEqual([]);
  });

  it("reads back what a host kept of a service's instances that left it: the last lines of each, oldest first, but the one it runs", async () => {
    const logs = path.join(dir, "logs");
    await mkdir(logs);
    await writeFile(path.join(logs, "web-1.log.1"), "web-1 a\nweb-1 b\n");
    await writeFile(path.join(logs, "web-1.log"), "web-1 c\n");
    await writeFile(path.join(logs, "web-0.log"), "web-0 x\nweb-0 y\n");
    await writeFile(path.join(logs, "web-2.log"), "runs here\n");
    await writeFile(path.join(logs, "webby-0.log"), "another service\n");
    await writeFile(path.join(logs, "web-x-0.log"), "another service\n");
    const at = (s: number): Date => new Date(Date.UTC(2026, 0, 1, 0, 0, s));
    for (const f of ["web-1.log.1", "web-1.log"]) await utimes(path.join(logs, f), at(20), at(20));
    await utimes(path.join(logs, "web-0.log"), at(10), at(10));
    expect(await departedOutput(logs, "web", "web-2", 2)).toBe(
      "[berth: web-0 left this host; its output here, last written 2026-01-01T00:00:10.000Z:]\nweb-0 x\nweb-0 y\n" +
        "[berth: web-1 left this host; its output here, last written 2026-01-01T00:00:20.000Z:]\nweb-1 b\nweb-1 c\n",
    );
    expect(await departedOutput(logs, "api", undefined, 10)).toBeUndefined();
  });

  it("runs after each change: a host that moves on to another instance keeps keepLogs of the ones it ran", async () => {
    const reports: InstanceStatus[] = [];
    const conv = converger({ keepLogs: 0, reports });
    conv.assign({ service: "web", instance: "web-0", epoch: 1, revision: 1, spec_json: sleeper("web"), secrets: [] });
    await until(() => reports.some((r) => r.instance === "web-0" && r.state === "healthy"), "web-0 to run");
    await until(() => existsSync(path.join(dir, "logs", "web-0.log")), "web-0's log");

    // The host's one service is replaced by another (web moved away, api placed here).
    conv.assign({ service: "api", instance: "api-3", epoch: 2, revision: 1, spec_json: sleeper("api"), secrets: [] });
    await until(() => reports.some((r) => r.instance === "api-3" && r.state === "healthy"), "api-3 to run");
    await until(() => !existsSync(path.join(dir, "logs", "web-0.log")), "web-0's log to be removed (keepLogs 0)");
    expect(existsSync(path.join(dir, "logs", "api-3.log"))).toBe(true);
  });

  it("at start keeps the logs of the instance on record even when its process died while no agent ran", async () => {
    const reports: InstanceStatus[] = [];
    const first = converger({ keepLogs: 5, reports });
    first.assign({ service: "web", instance: "web-0", epoch: 1, revision: 1, spec_json: sleeper("web"), secrets: [] });
    await until(() => reports.some((r) => r.state === "healthy" && (r.pid ?? 0) > 0), "web-0 to run");
    const pid = reports.find((r) => r.state === "healthy")!.pid!;
    await until(() => existsSync(path.join(dir, "logs", "web-0.log")), "web-0's log");
    await writeFile(path.join(dir, "logs", "old-1.log"), "an instance that left long ago\n");
    // The agent stops (its service goes on), then the service dies while no agent runs.
    await first.shutdown();
    convs.splice(convs.indexOf(first), 1);
    process.kill(pid, "SIGKILL");
    await until(() => !isLive(readProcStat(pid)), "the service to die");

    const second = converger({ keepLogs: 0 });
    expect(await second.restore()).toEqual([]);
    await until(() => !existsSync(path.join(dir, "logs", "old-1.log")), "the sweep at start");
    expect(existsSync(path.join(dir, "logs", "web-0.log"))).toBe(true);
  });
});

describe("asking a host for what it kept", () => {
  it("refuses what is not a service name, rather than reading a path made of it", async () => {
    const conv = converger();
    let out = "";
    await conv.departedLogs("../etc", 10, (s) => (out += s));
    expect(out).toBe('[berth: not a service name: "../etc"]\n');
    out = "";
    await conv.departedLogs("web", 10, (s) => (out += s));
    expect(out).toBe("[berth: no instance of web runs on this host, and none that left it has output kept here]\n");
  });
});

describe("reading back a host's kept output, bounded", () => {
  it("reads the most recent first within one tail's bound, names what it left out, and takes no stray rotation number at its word", async () => {
    const logs = path.join(dir, "logs");
    await mkdir(logs);
    // 20 MiB in the newest: the bound (16 MiB) is spent on it, the older one is only counted.
    await writeFile(path.join(logs, "web-1.log"), `${"x".repeat(1023)}\n`.repeat(20 * 1024));
    await writeFile(path.join(logs, "web-0.log"), "old\n");
    await utimes(path.join(logs, "web-0.log"), new Date(1_000), new Date(1_000));
    // A stray rotation number past any array's length.
    await writeFile(path.join(logs, "web-1.log.4294967296"), "stray\n");
    const out = (await departedOutput(logs, "web", undefined, 100_000))!;
    expect(out.startsWith("[berth: 1 older instance of web has output kept here too, past what one answer reads]\n[berth: web-1 left this host;")).toBe(true);
    expect(out).not.toContain("old\n");
    expect(Buffer.byteLength(out)).toBeLessThanOrEqual(16 * 1024 * 1024 + 1024);
  });
});
