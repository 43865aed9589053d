/**
 * The process of one exec session: a pseudo-terminal (node-pty) for `-t`, plain
 * pipes otherwise (stdout and stderr kept apart, stdin a real pipe so
 * `echo hi | berth exec HOST -- cat` works). Either way the command leads a
 * session and process group of its own (node-pty's child calls setsid; pipes
 * are spawned detached), so reap.ts can end it and everything it started.
 *
 * Flow control is the session's business (sessions.ts); this file gives it the
 * two levers: pause()/resume() of the output, and onInputConsumed, which says
 * when stdin bytes have really gone to the command.
 */
import { spawn as spawnChild } from "node:child_process";
import { accessSync, constants as fsConstants, statSync } from "node:fs";
import { constants as osConstants } from "node:os";
import { delimiter, isAbsolute, join } from "node:path";
import { spawn as spawnPty, type IPty } from "node-pty";
import { shellExitCode } from "../../shared/exec/limits.js";
import { isLive, readProcStat } from "../supervisor/proc.js";

export interface ExecSpawnOptions {
  argv: string[];
  tty: boolean;
  rows: number;
  cols: number;
  term: string;
  cwd: string;
  /** The command's whole environment (not merged with the agent's). */
  env: Record<string, string>;
  uid?: number;
  gid?: number;
}

export interface ExecProcessEvents {
  onOutput(data: Buffer, stderr: boolean): void;
  /** n bytes of stdin reached the command (the pipe or the pty took them). */
  onInputConsumed(n: number): void;
  /**
   * The leader exited; output may still follow from what it left behind. (Pipes
   * only: they close when the last holder exits, which the session hastens.)
   */
  onLeaderExit?(): void;
  /** After the last output. code is what a shell would report: 128 + n for signal n. */
  onExit(code: number, signal: string): void;
}

export interface ExecProcess {
  /** The leader: its pid is also its process group and session id. */
  readonly pid: number;
  write(data: Buffer): void;
  /** stdin ends: the pipe is closed; a terminal gets its EOF character (^D), as a typed one would. */
  endInput(): void;
  resize(rows: number, cols: number): void;
  pause(): void;
  resume(): void;
}

/** The command could not be started; code is what a shell would say (127 not found, 126 not executable). */
export class ExecSpawnError extends Error {
  constructor(
    message: string,
    readonly code: number,
  ) {
    super(message);
    this.name = "ExecSpawnError";
  }
}

const SIGNAL_NAMES = new Map<number, string>(Object.entries(osConstants.signals).map(([name, n]) => [n, name]));

export function signalName(n: number | null | undefined): string {
  return n ? (SIGNAL_NAMES.get(n) ?? `signal ${n}`) : "";
}

/**
 * Finds argv[0] as a shell would: a name with a slash is a path (relative to the
 * cwd), anything else is looked up on the session's PATH. Both spawners get the
 * absolute path, so "not found" is one clear error (127) and not a pty child
 * that prints "execvp(3) failed" and exits 1.
 */
export function resolveCommand(cmd: string, cwd: string, path: string, canExec: (p: string) => boolean = executable): string | ExecSpawnError {
  if (cmd.includes("/")) {
    const p = isAbsolute(cmd) ? cmd : join(cwd, cmd);
    if (!exists(p)) return new ExecSpawnError(`${cmd}: no such file or directory`, 127);
    return canExec(p) ? p : new ExecSpawnError(`${cmd}: permission denied`, 126);
  }
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, cmd);
    if (canExec(p)) return p;
  }
  return new ExecSpawnError(`${cmd}: command not found`, 127);
}

function exists(p: string): boolean {
  try {
    statSync(p);
    return true;
  } catch {
    return false;
  }
}

function executable(p: string): boolean {
  try {
    if (!statSync(p).isFile()) return false;
    accessSync(p, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Starts the command; throws ExecSpawnError when it cannot. */
export function spawnExec(o: ExecSpawnOptions, ev: ExecProcessEvents): ExecProcess {
  const [cmd, ...args] = o.argv;
  if (cmd === undefined || cmd === "") throw new ExecSpawnError("no command", 127);
  try {
    if (!statSync(o.cwd).isDirectory()) throw new Error("not a directory");
  } catch {
    throw new ExecSpawnError(`working directory ${o.cwd} does not exist`, 126);
  }
  const file = resolveCommand(cmd, o.cwd, o.env.PATH ?? "");
  if (file instanceof ExecSpawnError) throw file;
  return o.tty ? spawnTty(file, args, o, ev) : spawnPipes(file, args, o, ev);
}

function spawnPipes(file: string, args: string[], o: ExecSpawnOptions, ev: ExecProcessEvents): ExecProcess {
  const child = spawnChild(file, args, {
    cwd: o.cwd,
    env: o.env,
    stdio: ["pipe", "pipe", "pipe"],
    // Its own session and group: reap.ts signals the group, and a signal to the agent's group never reaches it.
    detached: true,
    ...(o.uid !== undefined ? { uid: o.uid, gid: o.gid } : {}),
  });
  if (child.pid === undefined) {
    // spawn() reports its failure on the next tick; by then the caller must already know.
    child.on("error", () => undefined);
    throw new ExecSpawnError(`${file}: could not be started`, 126);
  }
  const pid = child.pid;
  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  child.stdout.on("data", (b: Buffer) => ev.onOutput(b, false));
  child.stderr.on("data", (b: Buffer) => ev.onOutput(b, true));
  // The command may exit or close stdin without reading it all: EPIPE is not the agent's problem.
  child.stdin.on("error", () => undefined);
  child.on("error", () => undefined);
  child.on("exit", (code, signal) => {
    exited = { code, signal };
    ev.onLeaderExit?.();
  });
  // 'close' comes after both pipes ended, so after the last output.
  child.on("close", (code: number | null, signal: NodeJS.Signals | null) => {
    const e = exited ?? { code, signal };
    const sig = e.signal ? (osConstants.signals[e.signal] ?? null) : null;
    ev.onExit(shellExitCode(e.code, sig), e.signal ?? "");
  });
  return {
    pid,
    write(data) {
      if (child.stdin.destroyed || child.stdin.writableEnded) {
        ev.onInputConsumed(data.length); // nobody will read it: don't hold the window
        return;
      }
      child.stdin.write(data, () => ev.onInputConsumed(data.length));
    },
    endInput() {
      if (!child.stdin.writableEnded) child.stdin.end();
    },
    resize() {
      // Pipes have no size.
    },
    pause() {
      child.stdout.pause();
      child.stderr.pause();
    },
    resume() {
      child.stdout.resume();
      child.stderr.resume();
    },
  };
}

/** Bytes node-pty still holds for the pty (its write queue is internal; 0 when its shape is unknown). */
function ptyQueuedBytes(term: IPty): number {
  const ws = (term as unknown as { _writeStream?: { _writeQueue?: unknown } })._writeStream;
  const q = ws?._writeQueue;
  if (!Array.isArray(q)) return 0;
  let n = 0;
  for (const t of q as { buffer?: { byteLength?: unknown }; offset?: unknown }[]) {
    const len = typeof t.buffer?.byteLength === "number" ? t.buffer.byteLength : 0;
    n += len - (typeof t.offset === "number" ? t.offset : 0);
  }
  return n;
}

/** While output is paused, how often the leader is checked for having exited (see pause()). */
const EXIT_WATCH_MS = 40;
const INPUT_CHECK_MS = 20;

function spawnTty(file: string, args: string[], o: ExecSpawnOptions, ev: ExecProcessEvents): ExecProcess {
  let term: IPty;
  try {
    term = spawnPty(file, args, {
      name: o.term,
      rows: o.rows,
      cols: o.cols,
      cwd: o.cwd,
      env: o.env,
      // utf8 also sets IUTF8 on the pty, so line editing erases whole characters.
      // A terminal's output is text anyway (the pty turns \n into \r\n); node-pty
      // decodes it with a StringDecoder, so characters split across reads survive.
      ...(o.uid !== undefined ? { uid: o.uid, gid: o.gid } : {}),
    });
  } catch (e) {
    throw new ExecSpawnError(`${file}: ${e instanceof Error ? e.message : String(e)}`, 126);
  }
  const pid = term.pid;
  term.onData((d) => ev.onOutput(Buffer.from(d, "utf8"), false));
  let exited = false;
  term.onExit(({ exitCode, signal }) => {
    exited = true;
    clearInterval(exitWatch);
    clearTimeout(inputTimer);
    reportInput();
    ev.onExit(shellExitCode(exitCode, signal ?? null), signalName(signal));
  });

  // stdin: node-pty queues writes and retries on EAGAIN; what it still holds has not
  // reached the command, so it is acknowledged only once the queue gives it up.
  let written = 0;
  let reported = 0;
  let inputTimer: NodeJS.Timeout | undefined;
  const reportInput = (): void => {
    inputTimer = undefined;
    const consumed = written - ptyQueuedBytes(term);
    if (consumed > reported) {
      ev.onInputConsumed(consumed - reported);
      reported = consumed;
    }
    if (reported < written) inputTimer = setTimeout(reportInput, INPUT_CHECK_MS);
  };

  // node-pty reports the exit only once the pty's output is read to the end, and
  // destroys the pty 200 ms after the leader exits if that has not happened — a
  // pty paused for flow control would lose its last output. So while paused, the
  // leader is watched: once it is gone the pty is read out (the session buffers
  // that bounded rest) and is not paused again.
  let draining = false;
  let paused = false;
  let exitWatch: NodeJS.Timeout | undefined;
  return {
    pid,
    write(data) {
      if (exited) {
        ev.onInputConsumed(data.length); // nobody will read it: don't hold the window
        return;
      }
      term.write(data);
      written += data.length;
      if (!inputTimer) inputTimer = setTimeout(reportInput, 0);
    },
    endInput() {
      if (!exited) term.write("\x04");
    },
    resize(rows, cols) {
      try {
        term.resize(cols, rows);
      } catch {
        // The pty is already closed: the exit is on its way.
      }
    },
    pause() {
      if (draining || paused) return;
      paused = true;
      term.pause();
      clearInterval(exitWatch);
      exitWatch = setInterval(() => {
        if (isLive(readProcStat(pid))) return;
        draining = true;
        paused = false;
        clearInterval(exitWatch);
        term.resume();
      }, EXIT_WATCH_MS);
    },
    resume() {
      if (!paused) return;
      paused = false;
      clearInterval(exitWatch);
      term.resume();
    },
  };
}
