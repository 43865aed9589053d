/**
 * Runs a program for the installer (apt-get, dpkg) in its own process group,
 * streaming its output, with a deadline and an abort signal that end the whole
 * group: apt-get starts dpkg, which starts maintainer scripts, and killing only
 * apt-get would leave those running and holding the dpkg lock.
 */
import { spawn } from "node:child_process";
import { StringDecoder } from "node:string_decoder";
import { OutputTail } from "./tail.js";
import { setTimeoutClamped } from "../../shared/timer.js";

export type EndReason = "exit" | "timeout" | "aborted";

export interface CommandResult {
  /** null when ended by a signal */
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  reason: EndReason;
  /** the last 8 KiB or so of stdout and stderr, interleaved as they arrived */
  tail: string;
  /** the whole output, for callers that parse it (apt's messages are small) */
  output: string;
}

export interface CommandOptions {
  env: NodeJS.ProcessEnv;
  onOutput(chunk: string): void;
  timeoutMs: number;
  signal?: AbortSignal;
  /** After SIGTERM, how long the group has before SIGKILL. @default 5000 */
  killGraceMs?: number;
  /**
   * After the main process exits, how long to wait for its output pipes to close.
   * A maintainer script may start a daemon that inherits them and never closes
   * them; the install must not hang on it. @default 1000
   */
  drainMs?: number;
}

export function runCommand(file: string, args: string[], opts: CommandOptions): Promise<CommandResult> {
  return new Promise<CommandResult>((resolve, reject) => {
    const child = spawn(file, args, { env: opts.env, stdio: ["ignore", "pipe", "pipe"], detached: true });
    const tail = new OutputTail();
    let output = "";
    let reason: EndReason = "exit";
    let killTimer: NodeJS.Timeout | undefined;
    let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    let settled = false;

    const decoders = [new StringDecoder("utf8"), new StringDecoder("utf8")] as const;
    const onData = (decoder: StringDecoder) => (buf: Buffer) => {
      const text = decoder.write(buf);
      if (text === "") return;
      tail.push(text);
      output += text;
      opts.onOutput(text);
    };
    child.stdout.on("data", onData(decoders[0]));
    child.stderr.on("data", onData(decoders[1]));

    const killGroup = (sig: NodeJS.Signals): void => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, sig);
      } catch {
        // ESRCH: the group is already gone.
      }
    };
    const stop = (why: EndReason): void => {
      if (exited !== undefined || reason !== "exit") return;
      reason = why;
      killGroup("SIGTERM");
      killTimer = setTimeoutClamped(() => killGroup("SIGKILL"), opts.killGraceMs ?? 5000);
    };
    const timer = setTimeoutClamped(() => stop("timeout"), Math.max(0, opts.timeoutMs));
    const onAbort = (): void => stop("aborted");
    if (opts.signal?.aborted === true) onAbort();
    else opts.signal?.addEventListener("abort", onAbort, { once: true });

    const finish = (): void => {
      if (settled || exited === undefined) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(killTimer);
      clearTimeout(drainTimer);
      opts.signal?.removeEventListener("abort", onAbort);
      for (const d of decoders) {
        const rest = d.end();
        if (rest !== "") {
          tail.push(rest);
          output += rest;
          opts.onOutput(rest);
        }
      }
      resolve({ exitCode: exited.code, signal: exited.signal, reason, tail: tail.toString(), output });
    };
    let drainTimer: NodeJS.Timeout | undefined;
    child.on("exit", (code, signal) => {
      exited = { code, signal };
      drainTimer = setTimeoutClamped(() => {
        child.stdout.destroy();
        child.stderr.destroy();
        finish();
      }, opts.drainMs ?? 1000);
    });
    child.on("close", finish);
    child.on("error", (err) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(killTimer);
      opts.signal?.removeEventListener("abort", onAbort);
      reject(err);
    });
  });
}
