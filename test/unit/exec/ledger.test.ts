/** Sessions a killed agent left behind are ended by the next one, and nothing else is. */
import { afterEach, describe, expect, it } from "vitest";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ExecLedger } from "../../../agent/exec/ledger.js";
import { isLive, listGroupMembers, readProcStat } from "../../../agent/supervisor/proc.js";
import { until } from "../until.js";

const children: ChildProcess[] = [];
const dirs: string[] = [];

afterEach(() => {
  for (const c of children.splice(0)) {
    try {
      process.kill(-c.pid!, "SIGKILL");
    } catch {
      // gone
    }
  }
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function leader(script: string): ChildProcess {
  const c = spawn("sh", ["-c", script], { detached: true, stdio: "ignore" });
  children.push(c);
  return c;
}


function file(): string {
  const d = mkdtempSync(join(tmpdir(), "berth-ledger-"));
  dirs.push(d);
  return join(d, "exec", "sessions.json");
}

describe("exec ledger", () => {
  it("remembers running leaders on disk and forgets ended ones", () => {
    const f = file();
    const l = new ExecLedger(f);
    const a = leader("sleep 1020");
    l.add(a.pid!);
    expect(JSON.parse(readFileSync(f, "utf8"))).toEqual([{ pid: a.pid, startTime: readProcStat(a.pid!)!.startTime }]);
    l.remove(a.pid!);
    expect(existsSync(f)).toBe(false);
  });

  it("ends the sessions a killed agent left, including what outlived their leader", async () => {
    const f = file();
    const l = new ExecLedger(f);
    // Recorded right after the spawn, as the agent does (the second leader exits at once).
    const alive = leader("sleep 1021 & sleep 1021; wait");
    l.add(alive.pid!);
    const orphaned = leader("sleep 1022 & exit 0");
    l.add(orphaned.pid!);
    await until(() => listGroupMembers(alive.pid!).length === 3 && listGroupMembers(orphaned.pid!).some((p) => p.comm === "sleep"), "the sessions' processes");
    await until(() => !isLive(readProcStat(orphaned.pid!)), "the second leader to exit");
    // The agent "dies" here: a new one reads the ledger.
    const reaped = await ExecLedger.reapLeftovers(f, 500);
    expect(reaped.sort()).toEqual([alive.pid, orphaned.pid].sort());
    expect(listGroupMembers(alive.pid!)).toEqual([]);
    expect(listGroupMembers(orphaned.pid!)).toEqual([]);
    expect(existsSync(f)).toBe(false);
  });

  it("leaves alone a pid that now names another process", async () => {
    const f = file();
    const other = leader("sleep 1023");
    await until(() => isLive(readProcStat(other.pid!)), "the process");
    mkdirSync(join(f, ".."), { recursive: true });
    writeFileSync(f, JSON.stringify([{ pid: other.pid, startTime: readProcStat(other.pid!)!.startTime - 1 }]));
    expect(await ExecLedger.reapLeftovers(f, 200)).toEqual([]);
    expect(isLive(readProcStat(other.pid!))).toBe(true);
    expect(await ExecLedger.reapLeftovers(join(f, "..", "missing.json"), 200)).toEqual([]);
  });
});
