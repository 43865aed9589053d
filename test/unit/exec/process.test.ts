/** The real processes of exec sessions: pipes, a pseudo-terminal, and reaping what they leave. */
import { afterEach, describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { resolveCommand, spawnExec, type ExecSpawnError, type ExecProcess } from "../../../agent/exec/process.js";
import { reapSession } from "../../../agent/exec/reap.js";
import { isLive, listGroupMembers, readProcStat } from "../../../agent/supervisor/proc.js";
import { until } from "../until.js";

const ENV = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: "/", LANG: "C.UTF-8" };
const pids: number[] = [];

afterEach(() => {
  // Whatever a failed test left: its whole group.
  for (const pid of pids.splice(0)) {
    try {
      process.kill(-pid, "SIGKILL");
    } catch {
      // gone
    }
  }
});

interface Run {
  proc: ExecProcess;
  out: () => string;
  err: () => string;
  consumed: () => number;
  exit: Promise<{ code: number; signal: string }>;
}

function run(argv: string[], o: { tty?: boolean; rows?: number; cols?: number; cwd?: string } = {}): Run {
  let out = "";
  let err = "";
  let consumed = 0;
  let done: (v: { code: number; signal: string }) => void = () => undefined;
  const exit = new Promise<{ code: number; signal: string }>((r) => (done = r));
  const proc = spawnExec(
    { argv, tty: o.tty ?? false, rows: o.rows ?? 24, cols: o.cols ?? 80, term: "xterm", cwd: o.cwd ?? "/", env: ENV },
    {
      onOutput: (d, stderr) => (stderr ? (err += d.toString()) : (out += d.toString())),
      onInputConsumed: (n) => (consumed += n),
      onExit: (code, signal) => done({ code, signal }),
    },
  );
  pids.push(proc.pid);
  return { proc, out: () => out, err: () => err, consumed: () => consumed, exit };
}


const alive = (pid: number): boolean => isLive(readProcStat(pid));

describe("exec processes", () => {
  it("finds commands as a shell would, and says why not", () => {
    const dir = mkdtempSync(join(tmpdir(), "berth-exec-"));
    try {
      writeFileSync(join(dir, "tool"), "#!/bin/sh\n");
      writeFileSync(join(dir, "data"), "");
      chmodSync(join(dir, "tool"), 0o755);
      expect(resolveCommand("sh", "/", ENV.PATH)).toMatch(/\/sh$/);
      expect(resolveCommand("./tool", dir, "")).toBe(join(dir, "tool"));
      expect(resolveCommand("tool", "/", dir)).toBe(join(dir, "tool"));
      expect((resolveCommand("nosuch-berth-cmd", "/", ENV.PATH) as ExecSpawnError).code).toBe(127);
      expect((resolveCommand("./data", dir, "") as ExecSpawnError).code).toBe(126);
      expect((resolveCommand("./missing", dir, "") as ExecSpawnError).message).toMatch(/no such file/);
      expect(() => spawnExec({ argv: ["true"], tty: false, rows: 0, cols: 0, term: "", cwd: join(dir, "nope"), env: ENV }, { onOutput() {}, onInputConsumed() {}, onExit() {} })).toThrow(/working directory/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("pipes: stdout and stderr apart, stdin to EOF, the exit code", async () => {
    const r = run(["sh", "-c", "cat; echo err >&2; exit 7"]);
    r.proc.write(Buffer.from("hello "));
    r.proc.write(Buffer.from("world"));
    r.proc.endInput();
    expect(await r.exit).toEqual({ code: 7, signal: "" });
    expect(r.out()).toBe("hello world");
    expect(r.err()).toBe("err\n");
    expect(r.consumed()).toBe(11);
  });

  it("pipes: a signal's exit code is 128 + n", async () => {
    const r = run(["sh", "-c", "kill -TERM $$"]);
    expect(await r.exit).toEqual({ code: 143, signal: "SIGTERM" });
  });

  it("pipes: paused output blocks the command, and nothing is lost on resume", async () => {
    const r = run(["sh", "-c", "head -c 2000000 /dev/zero | tr '\\0' x; echo done >&2"]);
    r.proc.pause();
    // Paused, the pipe fills and the writer blocks: wait until the kernel says tr sleeps
    // writing to it; by then the output has stopped well short of 2 MB.
    const blocked = (): boolean =>
      listGroupMembers(r.proc.pid).some((p) => {
        if (p.comm !== "tr") return false;
        try {
          // Node's stdio "pipe" is a socketpair: the write waits for buffer space there.
          return /pipe_write|sock_alloc_send/.test(readFileSync(`/proc/${p.pid}/wchan`, "utf8"));
        } catch {
          return false;
        }
      });
    await until(blocked, "tr blocked on the full pipe");
    expect(r.out().length).toBeLessThan(1_000_000);
    r.proc.resume();
    await r.exit;
    expect(r.out().length).toBe(2_000_000);
  });

  it("a terminal: output, its size, resizes, EOF, and the exit code", async () => {
    const r = run(["/bin/sh"], { tty: true, rows: 30, cols: 100 });
    r.proc.write(Buffer.from("stty size; tty\n"));
    await until(() => /30 100/.test(r.out()) && /\/dev\/pts\//.test(r.out()), "stty size and tty");
    r.proc.resize(40, 120);
    r.proc.write(Buffer.from("stty size\n"));
    await until(() => /40 120/.test(r.out()), "the new size");
    r.proc.write(Buffer.from("exit 3\n"));
    expect(await r.exit).toEqual({ code: 3, signal: "" });
  });

  it("a terminal paused when its command exits still gives its last output", async () => {
    const r = run(["sh", "-c", "sleep 0.3; printf 'tail-of-output'"], { tty: true });
    r.proc.pause();
    // Paused past node-pty's 200 ms close timer: the exit watch reads the pty out.
    await r.exit;
    expect(r.out()).toContain("tail-of-output");
  });

  it("reaping: SIGHUP ends the session's processes, jobs in other groups included", async () => {
    const r = run(["/bin/bash", "-i"], { tty: true });
    r.proc.write(Buffer.from("sleep 1001 & echo job=$!\n"));
    await until(() => /job=\d+/.test(r.out()), "the background job");
    const job = Number(/job=(\d+)/.exec(r.out())![1]);
    expect(readProcStat(job)?.pgid).not.toBe(r.proc.pid); // job control: a group of its own, same session
    const res = await reapSession(r.proc.pid, 2000);
    expect(res.found).toBeGreaterThanOrEqual(2);
    expect(res.forced).toBe(false);
    expect(alive(job)).toBe(false);
    await r.exit;
  });

  it("reaping: what ignores SIGHUP is killed after the grace", async () => {
    const child = spawn("sh", ["-c", "trap '' HUP; sleep 1002 & wait"], { detached: true, stdio: "ignore" });
    pids.push(child.pid!);
    // Both running means the trap is set (it comes before the sleep).
    await until(() => listGroupMembers(child.pid!).length === 2, "the shell and its sleep");
    const t0 = Date.now();
    const res = await reapSession(child.pid!, 300);
    expect(res).toMatchObject({ found: 2, forced: true, survivors: [] });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(300);
    await until(() => child.exitCode !== null || child.signalCode !== null, "the shell to be reaped");
    expect(alive(child.pid!)).toBe(false);
    expect(await reapSession(child.pid!, 300)).toEqual({ found: 0, forced: false, survivors: [] });
  });
});
