// The converger's state on disk: written whole or not at all (a writer killed
// mid-write), private (0600 in 0700), and a damaged file never hides a running
// process — the agent finds it through the supervisor's records and stops it.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, truncate, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Converger } from "../../../agent/converge/converger.js";
import { realSteps } from "../../../agent/converge/steps.js";
import { isLive, readProcStat } from "../../../agent/supervisor/proc.js";
import { Supervisor } from "../../../agent/supervisor/supervisor.js";
import { leaseFiles, writeFencedMark } from "../../../agent/supervisor/fence-lease.js";
import { SELF_FENCED, WATCHDOG_FENCED } from "../../../shared/fence.js";
import { privatizeDir } from "../../../shared/state-file.js";
import { createLogger } from "../../../shared/log/logger.js";
import { normalizeSpec } from "../../../shared/spec/schema.js";
import type { InstanceStatus } from "../../../shared/gen/berth/v1/InstanceStatus.js";
import { until } from "../until.js";

const log = createLogger("test", "silent");
const here = path.dirname(fileURLToPath(import.meta.url));
/** No artifacts in these tests: a fetch is a bug. */
async function* noArtifacts(): AsyncIterable<Uint8Array> {
  yield* [];
  throw new Error("no artifacts here");
}
const steps = (dataDir: string): ReturnType<typeof realSteps> => realSteps({ dataDir, log, advertiseAddr: () => "127.0.0.1", fetchStored: noArtifacts, runAs: async () => ({ user: "" }) });
const mode = async (p: string): Promise<string> => ((await stat(p)).mode & 0o777).toString(8);

let dir: string;
const pids: number[] = [];
const convs: Converger[] = [];
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "berth-inst-"));
});
afterEach(async () => {
  for (const c of convs.splice(0)) await c.shutdown({ stopService: true }).catch(() => undefined);
  for (const pid of pids.splice(0)) {
    try {
      process.kill(-pid, "SIGKILL");
    } catch {
      // gone already
    }
  }
  await rm(dir, { recursive: true, force: true });
});

describe("writing a state file", () => {
  it("leaves the old version or the new, never half, when the writer is killed mid-write", async () => {
    const file = path.join(dir, "state", "current.json");
    for (let round = 0; round < 4; round++) {
      const child = spawn(process.execPath, ["--import", "tsx", path.join(here, "write-loop.ts"), file, "atomic"], { stdio: ["ignore", "pipe", "inherit"], detached: true });
      pids.push(child.pid!);
      const exited = new Promise((resolve) => child.once("exit", resolve));
      let out = "";
      child.stdout.on("data", (b: Buffer) => (out += b.toString()));
      // Killed while it writes: after a different number of whole writes each round.
      await until(() => (out.match(/wrote/g)?.length ?? 0) > round, "the writer to write", 30_000);
      child.kill("SIGKILL");
      await exited;
      const v = (JSON.parse(await readFile(file, "utf8")) as { v: string }).v;
      expect(["a", "b"]).toContain(v);
      expect(await mode(file)).toBe("600");
    }
  }, 60_000);
});

describe("modes", () => {
  it("makes a state dir 0700 and its files 0600 (as older agents left them), and drops temp files", async () => {
    const d = path.join(dir, "instance");
    await mkdir(d, { mode: 0o755 });
    await chmod(d, 0o755);
    await writeFile(path.join(d, "current.json"), "{}", { mode: 0o644 });
    await writeFile(path.join(d, "current.json.tmp-123-4"), "{", { mode: 0o644 });
    await privatizeDir(d);
    expect(await mode(d)).toBe("700");
    expect(await mode(path.join(d, "current.json"))).toBe("600");
    expect(await readdir(d)).toEqual(["current.json"]);
  });
});

describe("the instance file", () => {
  const spec = normalizeSpec({ name: "web", run: { command: process.execPath, args: ["-e", "setInterval(() => {}, 1000)"], env: { SECRET: "s3cret" } } });
  const assignment = { service: "web", instance: "web-0", epoch: 5, revision: 1, spec_json: JSON.stringify(spec), secrets: [] };

  async function runOne(reports: InstanceStatus[]): Promise<{ conv: Converger; pid: number }> {
    const conv = new Converger({
      dataDir: dir,
      advertiseAddr: () => "127.0.0.1",
      log,
      steps: steps(dir),
      report: (s) => reports.push(s),
    });
    convs.push(conv);
    conv.assign(assignment);
    await until(() => reports.at(-1)?.state === "healthy" && (reports.at(-1)?.pid ?? 0) > 0, "the instance to run");
    const pid = reports.at(-1)?.pid ?? 0;
    pids.push(pid);
    return { conv, pid };
  }

  it("is 0600 in a 0700 dir once an instance runs, like the supervisor's record", async () => {
    await runOne([]);
    // Written alongside the start (converger.ts), so it may land just after the first report.
    await until(() => existsSync(path.join(dir, "instance", "current.json")), "the instance record");
    expect(await mode(path.join(dir, "instance"))).toBe("700");
    expect(await mode(path.join(dir, "instance", "current.json"))).toBe("600");
    expect(await mode(path.join(dir, "instance", "web-0.process.json"))).toBe("600");
  });

  it("re-adopts the running process when it is whole", async () => {
    const first = await runOne([]);
    await first.conv.shutdown(); // the agent stops; the service does not
    convs.splice(convs.indexOf(first.conv), 1);
    const conv = new Converger({ dataDir: dir, advertiseAddr: () => "127.0.0.1", log, steps: steps(dir), report: () => undefined });
    convs.push(conv);
    expect(await conv.restore()).toEqual([{ service: "web", instance: "web-0", epoch: 5 }]);
    expect(isLive(readProcStat(first.pid))).toBe(true);
  });

  it("a copy its fencing watchdog stopped while no agent ran is reported stopped, with why, at the next connects until the next assignment", async () => {
    const first = await runOne([]);
    await first.conv.shutdown(); // the agent dies; the service runs on
    convs.splice(convs.indexOf(first.conv), 1);
    // What the watchdog does at its deadline (fence-watchdog.ts): stop the copy, leave word.
    const adopted = await Supervisor.adopt(path.join(dir, "instance", "web-0.process.json"), {});
    expect(adopted.adopted).toBe(true);
    if (adopted.adopted) await adopted.supervisor.stop();
    writeFencedMark(leaseFiles(path.join(dir, "instance", "web-0.process.json")).fencedMark, { detail: `${SELF_FENCED} ${WATCHDOG_FENCED}`, atMs: Date.now() - 5_000 });

    const reports: InstanceStatus[] = [];
    const conv = new Converger({ dataDir: dir, advertiseAddr: () => "127.0.0.1", log, steps: steps(dir), report: (s) => reports.push(s) });
    convs.push(conv);
    expect(await conv.restore()).toEqual([]);
    conv.reportNow();
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatchObject({ service: "web", instance: "web-0", epoch: 5, state: "stopped", detail: `${SELF_FENCED} ${WATCHDOG_FENCED}` });
    expect(reports[0]!.age_ms).toBeGreaterThanOrEqual(5_000);
    conv.reportNow();
    expect(reports).toHaveLength(2); // each connect, until the next assignment
    conv.assign({ service: "", instance: "", epoch: 0, revision: 0, spec_json: "", secrets: [] });
    conv.reportNow();
    expect(reports).toHaveLength(2);
  });

  for (const [what, damage] of [
    ["cut short (a crash mid-write)", (f: string) => truncate(f, 40)],
    ["not a valid record", (f: string) => writeFile(f, JSON.stringify({ service: "web", instance: "web-0" }))],
  ] as const) {
    it(`${what}: the agent still finds the process it started, stops it and reports it`, async () => {
      const first = await runOne([]);
      await first.conv.shutdown();
      convs.splice(convs.indexOf(first.conv), 1);
      expect(isLive(readProcStat(first.pid))).toBe(true);
      await damage(path.join(dir, "instance", "current.json"));

      const reports: InstanceStatus[] = [];
      const conv = new Converger({ dataDir: dir, advertiseAddr: () => "127.0.0.1", log, steps: steps(dir), report: (s) => reports.push(s) });
      convs.push(conv);
      expect(await conv.restore()).toEqual([]);
      // Not left running unsupervised and invisible to fencing: stopped, process group and all.
      await until(() => !isLive(readProcStat(first.pid)), "the process to be stopped");
      conv.reportNow();
      expect(reports).toHaveLength(1);
      expect(reports[0]).toMatchObject({ service: "web", instance: "web-0", epoch: 5, revision: 1, state: "stopped", pid: first.pid });
      expect(reports[0]!.detail).toMatch(/^stopped at agent start: its record on this host was damaged \(.*current\.json: /);
      expect(await readdir(path.join(dir, "instance"))).toEqual([]);
    });
  }
});
