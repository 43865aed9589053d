/**
 * The agent's exec sessions (`berth exec`): started, fed and ended by messages on
 * the controller stream, and ended with it — a session never outlives the stream
 * it was started on, so a vanished operator, controller or link leaves nothing
 * running (reap.ts).
 *
 * Flow control: each session may have EXEC_WINDOW_BYTES of output unacknowledged
 * by the controller (which acknowledges what the operator's CLI has taken). When
 * the window is full the pty or pipes are paused, so the kernel blocks the
 * command: a `yes` runs at the pace of the slowest reader instead of filling
 * memory. Output that arrives while paused waits in a small backlog; past
 * maxBacklogBytes (only possible while a terminal is read out after its command
 * exited) the session is ended with an error. Stdin is acknowledged back once it
 * has reached the command, so the controller bounds that direction the same way.
 *
 * Per message the work is a map lookup and a write: many sessions must not
 * disturb the heartbeat on the same stream or the supervised service.
 */
import { existsSync } from "node:fs";
import type { Logger } from "../../shared/log/logger.js";
import type { AgentMessage } from "../../shared/gen/berth/v1/AgentMessage.js";
import type { ControllerMessage__Output } from "../../shared/gen/berth/v1/ControllerMessage.js";
import type { ExecStart__Output } from "../../shared/gen/berth/v1/ExecStart.js";
import type { ExecInput__Output } from "../../shared/gen/berth/v1/ExecInput.js";
import {
  defaultShell,
  EXEC_DEFAULT_COLS,
  EXEC_DEFAULT_ROWS,
  EXEC_DEFAULT_TERM,
  EXEC_KILL_GRACE_MS,
  EXEC_MAX_CHUNK_BYTES,
  EXEC_MAX_COLS,
  EXEC_MAX_ROWS,
  EXEC_MAX_SESSIONS_PER_HOST,
  EXEC_WINDOW_BYTES,
} from "../../shared/exec/limits.js";
import { AckBatcher, ByteWindow } from "../../shared/exec/window.js";
import { ExecSpawnError, spawnExec, type ExecProcess, type ExecProcessEvents, type ExecSpawnOptions } from "./process.js";
import { reapSession } from "./reap.js";

/** Where and as whom a session runs. */
export interface ExecContext {
  cwd: string;
  env: Record<string, string>;
  uid?: number;
  gid?: number;
}

export interface ExecSessionsOptions {
  send(m: AgentMessage): boolean;
  log: Logger;
  /**
   * The instance's working dir, environment and user (instance ""): the host's
   * defaults). A string says why there is none.
   */
  context(instance: string): ExecContext | string;
  /** @default EXEC_MAX_SESSIONS_PER_HOST (16) */
  maxSessions?: number;
  /** @default EXEC_WINDOW_BYTES (128 KiB) */
  windowBytes?: number;
  /** @default 1 MiB */
  maxBacklogBytes?: number;
  /** @default EXEC_KILL_GRACE_MS (2 s) */
  killGraceMs?: number;
  /** Tests swap the process and the reaper. */
  spawn?: (o: ExecSpawnOptions, ev: ExecProcessEvents) => ExecProcess;
  reap?: (pid: number, graceMs: number) => Promise<unknown>;
  fileExists?: (path: string) => boolean;
  /** Remembers running session leaders across an agent crash (ledger.ts). */
  ledger?: { add(pid: number): void; remove(pid: number): void };
}

interface Session {
  id: number;
  label: string;
  proc?: ExecProcess;
  window: ByteWindow;
  stdinAcks: AckBatcher;
  queue: { data: Buffer; stderr: boolean }[];
  queued: number;
  exited?: { code: number; signal: string };
  /** Nothing more goes to the controller: exited and reported, closed, or failed. */
  done: boolean;
  /** The process's output is paused (window full, or a backlog waiting). */
  held: boolean;
  reaping: boolean;
}

const clamp = (n: number, max: number, dflt: number): number => (n >= 1 && n <= max ? n : dflt);

export class ExecSessions {
  private readonly sessions = new Map<number, Session>();
  private readonly reaps = new Set<Promise<unknown>>();
  private readonly max: number;
  private readonly windowBytes: number;
  private readonly maxBacklog: number;
  private readonly graceMs: number;

  constructor(private readonly o: ExecSessionsOptions) {
    this.max = o.maxSessions ?? EXEC_MAX_SESSIONS_PER_HOST;
    this.windowBytes = o.windowBytes ?? EXEC_WINDOW_BYTES;
    this.maxBacklog = o.maxBacklogBytes ?? 1024 * 1024;
    this.graceMs = o.killGraceMs ?? EXEC_KILL_GRACE_MS;
  }

  get size(): number {
    return this.sessions.size;
  }

  /** Takes the exec messages of the controller stream; false for any other message. */
  handle(m: ControllerMessage__Output): boolean {
    if (m.msg === "exec_start" && m.exec_start) this.start(m.exec_start);
    else if (m.msg === "exec_input" && m.exec_input) this.input(m.exec_input);
    else if (m.msg === "exec_resize" && m.exec_resize) {
      const s = this.sessions.get(m.exec_resize.session_id);
      s?.proc?.resize(clamp(m.exec_resize.rows, EXEC_MAX_ROWS, EXEC_DEFAULT_ROWS), clamp(m.exec_resize.cols, EXEC_MAX_COLS, EXEC_DEFAULT_COLS));
    } else if (m.msg === "exec_close" && m.exec_close) this.close(m.exec_close.session_id, m.exec_close.reason || "closed by the controller");
    else return false;
    return true;
  }

  /** Ends every session (the stream they came on is gone, or the agent stops); resolves once their processes are gone. */
  async closeAll(reason: string): Promise<void> {
    for (const id of [...this.sessions.keys()]) this.close(id, reason);
    await Promise.allSettled([...this.reaps]);
  }

  private start(req: ExecStart__Output): void {
    const id = req.session_id;
    if (this.sessions.has(id)) return; // a repeated start changes nothing
    const refuse = (error: string): void => void this.o.send({ exec_exit: { session_id: id, code: -1, signal: "", error } });
    if (this.sessions.size >= this.max) return refuse(`this host already runs ${this.max} exec sessions, the most at once; end one and try again`);
    const ctx = this.o.context(req.instance);
    if (typeof ctx === "string") return refuse(ctx);
    // No command: the host's shell (`exec -it HOST`; with -t dropped for piped input, it reads the pipe).
    const argv = req.command.length ? req.command : [defaultShell(this.o.fileExists ?? existsSync)];

    const s: Session = {
      id,
      label: argv[0]!.slice(0, 64),
      window: new ByteWindow(this.windowBytes),
      stdinAcks: new AckBatcher(this.windowBytes),
      queue: [],
      queued: 0,
      done: false,
      held: false,
      reaping: false,
    };
    this.sessions.set(id, s);
    const spawn = this.o.spawn ?? spawnExec;
    try {
      s.proc = spawn(
        {
          argv,
          tty: req.tty,
          rows: clamp(req.rows, EXEC_MAX_ROWS, EXEC_DEFAULT_ROWS),
          cols: clamp(req.cols, EXEC_MAX_COLS, EXEC_DEFAULT_COLS),
          term: req.term || EXEC_DEFAULT_TERM,
          cwd: ctx.cwd,
          env: req.tty ? { ...ctx.env, TERM: req.term || EXEC_DEFAULT_TERM } : ctx.env,
          uid: ctx.uid,
          gid: ctx.gid,
        },
        {
          onOutput: (data, stderr) => this.output(s, data, stderr),
          onInputConsumed: (n) => {
            const ack = s.stdinAcks.consumed(n);
            if (ack && !s.done) this.o.send({ exec_output: { session_id: id, ack } });
          },
          onLeaderExit: () => this.reap(s),
          onExit: (code, signal) => {
            s.exited = { code, signal };
            this.pump(s);
            this.reap(s);
          },
        },
      );
    } catch (e) {
      this.sessions.delete(id);
      if (e instanceof ExecSpawnError) {
        // As a shell would have it: the message on stderr, 127 or 126.
        this.o.send({ exec_output: { session_id: id, data: Buffer.from(`berth: ${e.message}\n`), stderr: !req.tty } });
        this.o.send({ exec_exit: { session_id: id, code: e.code, signal: "", error: "" } });
        return;
      }
      return refuse(`could not start ${s.label}: ${e instanceof Error ? e.message : String(e)}`);
    }
    try {
      this.o.ledger?.add(s.proc.pid);
    } catch (err) {
      // A full or read-only disk (when an operator most needs a shell) must not take the
      // agent down: the session runs; only a restart of this agent would not reap it.
      this.o.log.warn({ err, session: id, pid: s.proc.pid }, "exec ledger not written: an agent restart will not reap this session");
    }
    this.o.log.info({ session: id, command: s.label, tty: req.tty, instance: req.instance || undefined, pid: s.proc.pid }, "exec session started");
  }

  private input(i: ExecInput__Output): void {
    const s = this.sessions.get(i.session_id);
    if (!s?.proc) return; // ended meanwhile: its last messages cross ours
    if (i.data.length) s.proc.write(i.data);
    if (i.ack) {
      s.window.ack(i.ack);
      this.pump(s);
    }
    if (i.eof) s.proc.endInput();
  }

  private output(s: Session, data: Buffer, stderr: boolean): void {
    if (s.done) return;
    s.queue.push({ data, stderr });
    s.queued += data.length;
    this.pump(s);
    if (s.queued > this.maxBacklog) {
      this.fail(s, `the client takes output slower than the command makes it (more than ${this.maxBacklog} bytes behind); the session was ended`);
    }
  }

  /** Sends queued output while the window allows; the exit goes last, once nothing is queued. */
  private pump(s: Session): void {
    while (!s.done && s.queue.length && !s.window.isPaused) {
      const head = s.queue[0]!;
      let piece = head.data;
      if (piece.length > EXEC_MAX_CHUNK_BYTES) {
        head.data = piece.subarray(EXEC_MAX_CHUNK_BYTES);
        piece = piece.subarray(0, EXEC_MAX_CHUNK_BYTES);
      } else s.queue.shift();
      s.queued -= piece.length;
      if (!this.o.send({ exec_output: { session_id: s.id, data: piece, stderr: head.stderr } })) {
        this.close(s.id, "the controller stream is gone");
        return;
      }
      s.window.take(piece.length);
    }
    if (s.done) return;
    // The process runs while there is room: paused on a full window or a waiting
    // backlog, resumed once the acks have freed half the window and all is sent.
    const hold = s.window.isPaused || s.queue.length > 0;
    if (hold !== s.held) {
      s.held = hold;
      if (hold) s.proc?.pause();
      else s.proc?.resume();
    }
    if (!s.queue.length && s.exited) {
      s.done = true;
      this.sessions.delete(s.id);
      this.o.send({ exec_exit: { session_id: s.id, code: s.exited.code, signal: s.exited.signal, error: "" } });
      this.o.log.info({ session: s.id, command: s.label, code: s.exited.code, signal: s.exited.signal || undefined }, "exec session ended");
    }
  }

  private fail(s: Session, error: string): void {
    if (s.done) return;
    this.o.send({ exec_exit: { session_id: s.id, code: -1, signal: "", error } });
    this.close(s.id, error);
  }

  private close(id: number, reason: string): void {
    const s = this.sessions.get(id);
    if (!s) return;
    this.sessions.delete(id);
    s.done = true;
    s.queue = [];
    s.queued = 0;
    this.o.log.info({ session: id, command: s.label, reason }, "exec session closed");
    this.reap(s);
  }

  /** Ends the session's processes (once), leaving nothing behind. */
  private reap(s: Session): void {
    if (s.reaping || !s.proc) return;
    s.reaping = true;
    const pid = s.proc.pid;
    const p = (this.o.reap ?? ((leader, ms) => reapSession(leader, ms, this.o.log)))(pid, this.graceMs)
      .then(() => this.o.ledger?.remove(pid))
      .catch((err: unknown) => this.o.log.warn({ err, session: s.id }, "ending an exec session's processes failed"))
      .finally(() => this.reaps.delete(p));
    this.reaps.add(p);
  }
}
