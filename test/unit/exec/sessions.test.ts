import { describe, expect, it } from "vitest";
import { ExecSessions, type ExecContext, type ExecSessionsOptions } from "../../../agent/exec/sessions.js";
import { ExecSpawnError, type ExecProcess, type ExecProcessEvents, type ExecSpawnOptions } from "../../../agent/exec/process.js";
import type { AgentMessage } from "../../../shared/gen/berth/v1/AgentMessage.js";
import type { ControllerMessage__Output } from "../../../shared/gen/berth/v1/ControllerMessage.js";
import { createLogger } from "../../../shared/log/logger.js";

/** A process that does what the test says, and records what the session did to it. */
class FakeProc implements ExecProcess {
  readonly calls: string[] = [];
  constructor(
    readonly pid: number,
    readonly opts: ExecSpawnOptions,
    readonly ev: ExecProcessEvents,
  ) {}
  write(data: Buffer): void {
    this.calls.push(`write:${data.toString()}`);
  }
  endInput(): void {
    this.calls.push("eof");
  }
  resize(rows: number, cols: number): void {
    this.calls.push(`resize:${rows}x${cols}`);
  }
  pause(): void {
    this.calls.push("pause");
  }
  resume(): void {
    this.calls.push("resume");
  }
}

function setup(o: Partial<ExecSessionsOptions> = {}) {
  const sent: AgentMessage[] = [];
  const procs: FakeProc[] = [];
  const reaped: number[] = [];
  let nextPid = 1000;
  const s = new ExecSessions({
    send: (m) => (sent.push(m), true),
    log: createLogger("test", "silent"),
    context: (instance): ExecContext | string =>
      instance === "" ? { cwd: "/", env: { PATH: "/bin" } } : instance === "web-0" ? { cwd: "/srv/web", env: { PATH: "/bin", BERTH_INSTANCE: "web-0" }, uid: 33, gid: 33 } : `${instance} does not run on this host`,
    spawn: (opts, ev) => {
      const p = new FakeProc(nextPid++, opts, ev);
      procs.push(p);
      return p;
    },
    reap: async (pid) => void reaped.push(pid),
    fileExists: (p) => p === "/bin/bash",
    windowBytes: 100,
    maxBacklogBytes: 1000,
    ...o,
  });
  const msg = (m: ControllerMessage__Output): boolean => s.handle(m);
  const start = (id: number, extra: Partial<{ command: string[]; tty: boolean; rows: number; cols: number; term: string; instance: string }> = {}): void =>
    void msg({ msg: "exec_start", exec_start: { session_id: id, command: ["cat"], tty: false, rows: 0, cols: 0, term: "", instance: "", ...extra } });
  const input = (id: number, extra: Partial<{ data: Buffer; eof: boolean; ack: number }>): void => void msg({ msg: "exec_input", exec_input: { session_id: id, data: Buffer.alloc(0), eof: false, ack: 0, ...extra } });
  const outputs = (): string[] => sent.flatMap((m) => (m.exec_output?.data ? [`${m.exec_output.stderr ? "err" : "out"}:${Buffer.from(m.exec_output.data as Buffer).toString()}`] : []));
  const exits = () => sent.flatMap((m) => (m.exec_exit ? [m.exec_exit] : []));
  return { s, sent, procs, reaped, msg, start, input, outputs, exits };
}

describe("agent exec sessions", () => {
  it("runs a command in the host's or the instance's context; a terminal gets the default shell and its TERM", () => {
    const t = setup();
    t.start(1);
    t.start(2, { tty: true, command: [], rows: 40, cols: 120, term: "xterm" });
    t.start(3, { instance: "web-0" });
    t.start(4, { instance: "api-0" });
    expect(t.procs.map((p) => p.opts.argv)).toEqual([["cat"], ["/bin/bash"], ["cat"]]);
    expect(t.procs[1]!.opts).toMatchObject({ tty: true, rows: 40, cols: 120, term: "xterm", env: { PATH: "/bin", TERM: "xterm" } });
    expect(t.procs[0]!.opts.env.TERM).toBeUndefined();
    expect(t.procs[2]!.opts).toMatchObject({ cwd: "/srv/web", uid: 33, env: { BERTH_INSTANCE: "web-0" } });
    expect(t.exits()).toEqual([{ session_id: 4, code: -1, signal: "", error: "api-0 does not run on this host" }]);
  });

  it("refuses a session over the cap with a clear error", () => {
    const t = setup({ maxSessions: 2 });
    t.start(1);
    t.start(2);
    t.start(3);
    expect(t.procs).toHaveLength(2);
    expect(t.exits()[0]?.error).toMatch(/already runs 2 exec sessions, the most at once/);
  });

  it("reports a command that cannot start as a shell would: message and 127", () => {
    const t = setup({
      spawn: () => {
        throw new ExecSpawnError("nosuch: command not found", 127);
      },
    });
    t.start(1, { command: ["nosuch"] });
    expect(t.outputs()).toEqual(["err:berth: nosuch: command not found\n"]);
    expect(t.exits()).toEqual([{ session_id: 1, code: 127, signal: "", error: "" }]);
    expect(t.s.size).toBe(0);
  });

  it("passes stdin, EOF and resizes to the process, and acknowledges stdin once consumed", () => {
    const t = setup();
    t.start(1);
    const p = t.procs[0]!;
    t.input(1, { data: Buffer.from("hello"), eof: true });
    t.msg({ msg: "exec_resize", exec_resize: { session_id: 1, rows: 50, cols: 9999 } });
    expect(p.calls).toEqual(["write:hello", "eof", "resize:50x80"]);
    p.ev.onInputConsumed(10);
    expect(t.sent.filter((m) => m.exec_output?.ack)).toEqual([]); // under a quarter of the window
    p.ev.onInputConsumed(20);
    expect(t.sent.filter((m) => m.exec_output?.ack).map((m) => m.exec_output!.ack)).toEqual([30]);
  });

  it("pauses the process when the output window is full, resumes on the ack, and sends the exit after the last output", () => {
    const t = setup();
    t.start(1);
    const p = t.procs[0]!;
    p.ev.onOutput(Buffer.from("a".repeat(60)), false);
    p.ev.onOutput(Buffer.from("b".repeat(60)), true); // 120 in flight ≥ 100: pause
    expect(p.calls).toEqual(["pause"]);
    p.ev.onOutput(Buffer.from("c".repeat(10)), false); // waits in the backlog
    p.ev.onExit(0, "");
    expect(t.outputs().map((o) => o.slice(0, 5))).toEqual(["out:a", "err:b"]);
    expect(t.exits()).toEqual([]); // not before "c"
    t.input(1, { ack: 80 }); // 40 left ≤ half: resume, and the backlog goes out
    expect(p.calls).toEqual(["pause", "resume"]);
    expect(t.outputs().map((o) => o.slice(0, 5))).toEqual(["out:a", "err:b", "out:c"]);
    expect(t.exits()).toEqual([{ session_id: 1, code: 0, signal: "", error: "" }]);
    expect(t.reaped).toEqual([p.pid]); // leftovers of the session are ended too
    expect(t.s.size).toBe(0);
  });

  it("splits big output into chunks of at most 64 KiB", () => {
    const t = setup({ windowBytes: 1 << 20 });
    t.start(1);
    t.procs[0]!.ev.onOutput(Buffer.alloc(150 * 1024, 0x61), false);
    expect(t.sent.map((m) => Buffer.from((m.exec_output?.data as Buffer | undefined) ?? []).length)).toEqual([65536, 65536, 22528]);
  });

  it("ends a session whose client cannot keep up once the backlog passes its bound", () => {
    const t = setup();
    t.start(1);
    const p = t.procs[0]!;
    for (let i = 0; i < 12; i++) p.ev.onOutput(Buffer.alloc(100), false);
    expect(t.exits()[0]?.error).toMatch(/slower than the command makes it/);
    expect(t.reaped).toEqual([p.pid]);
    expect(t.s.size).toBe(0);
  });

  it("closes one session on exec_close, and all when the stream is lost, reaping each once", async () => {
    const t = setup();
    t.start(1);
    t.start(2);
    t.start(3);
    t.msg({ msg: "exec_close", exec_close: { session_id: 2, reason: "the operator's client went away" } });
    expect(t.reaped).toEqual([t.procs[1]!.pid]);
    await t.s.closeAll("the controller stream was lost");
    expect(t.reaped.sort()).toEqual(t.procs.map((p) => p.pid).sort());
    // Late events of closed sessions send nothing.
    t.procs[0]!.ev.onOutput(Buffer.from("late"), false);
    t.procs[0]!.ev.onExit(0, "");
    expect(t.sent).toEqual([]);
    expect(t.reaped).toHaveLength(3);
  });

  it("ignores other messages and unknown sessions", () => {
    const t = setup();
    expect(t.msg({ msg: "heartbeat_ack", heartbeat_ack: { seq: 1, sent_at_ms: 0 } })).toBe(false);
    t.input(42, { data: Buffer.from("x"), ack: 5 });
    t.msg({ msg: "exec_close", exec_close: { session_id: 42, reason: "" } });
    expect(t.sent).toEqual([]);
  });
});
