/**
 * Runs a service's install steps, in order, each as `/bin/sh -c <run>` in a
 * pseudo-terminal. A terminal because that is where steps are written and tried:
 * tools line-buffer and show progress only on a tty, and scripts that test
 * `-t 1` behave as they did for their author.
 *
 * Each step is a session of its own (node-pty's child calls setsid), so its pid is
 * also its process group: a timeout or abort signals the whole group — the shell,
 * what it started, and what those started — not just the shell.
 */
import { spawn as spawnPty } from "node-pty";
import type { InstallStep } from "../../shared/spec/types.js";
import { OutputTail } from "./tail.js";
import { setTimeoutClamped } from "../../shared/timer.js";

/** A step exited non-zero, was killed by a signal, timed out or was aborted. */
export class StepError extends Error {
  override name = "StepError";
  constructor(
    message: string,
    /** 0-based position in install.steps */
    readonly index: number,
    readonly run: string,
    /** the shell's exit code; null when it ended by a signal */
    readonly exitCode: number | null,
    readonly signal: number | null,
    readonly reason: "exit" | "timeout" | "aborted",
    readonly outputTail: string,
  ) {
    super(message);
  }
}

export interface StepsOptions {
  /** working directory of every step: the unpacked artifact */
  cwd: string;
  /** the steps' whole environment (not merged with the agent's) */
  env: Record<string, string>;
  onOutput(chunk: string): void;
  signal?: AbortSignal;
  /** After SIGTERM on timeout or abort, how long before SIGKILL. @default 2000 */
  killGraceMs?: number;
  /** Who the steps run as (the service's user); absent: the agent's user. */
  uid?: number;
  gid?: number;
  /** Called before each step starts (for banners in the install log). */
  onStepStart?(index: number, step: InstallStep): void;
}

/** Runs steps in order; the first failing one throws StepError and stops the rest. */
export async function runSteps(steps: readonly InstallStep[], opts: StepsOptions): Promise<void> {
  for (const [index, step] of steps.entries()) {
    opts.onStepStart?.(index, step);
    await runStep(step, index, opts);
  }
}

export function runStep(step: InstallStep, index: number, opts: StepsOptions): Promise<void> {
  if (opts.signal?.aborted === true) {
    return Promise.reject(new StepError(`step ${index + 1} (${step.run}): aborted before it started`, index, step.run, null, null, "aborted", ""));
  }
  return new Promise<void>((resolve, reject) => {
    const term = spawnPty("/bin/sh", ["-c", step.run], {
      name: opts.env.TERM ?? "xterm",
      cols: 160,
      rows: 50,
      cwd: opts.cwd,
      env: opts.env,
      ...(opts.uid !== undefined && opts.gid !== undefined ? { uid: opts.uid, gid: opts.gid } : {}),
    });
    const tail = new OutputTail();
    let reason: "exit" | "timeout" | "aborted" = "exit";
    let killTimer: NodeJS.Timeout | undefined;

    const killGroup = (sig: NodeJS.Signals): void => {
      try {
        process.kill(-term.pid, sig);
      } catch {
        // ESRCH: nothing left in the group.
      }
    };
    const stop = (why: "timeout" | "aborted"): void => {
      if (reason !== "exit") return;
      reason = why;
      killGroup("SIGTERM");
      killTimer = setTimeoutClamped(() => killGroup("SIGKILL"), opts.killGraceMs ?? 2000);
    };
    const timer = setTimeoutClamped(() => stop("timeout"), step.timeoutMs);
    const onAbort = (): void => stop("aborted");
    opts.signal?.addEventListener("abort", onAbort, { once: true });

    const dataSub = term.onData((chunk) => {
      tail.push(chunk);
      opts.onOutput(chunk);
    });
    // node-pty reports exit only after the pty's output has been read to the end
    // (or 200 ms after the shell exits, if a leftover child keeps the pty open).
    const exitSub = term.onExit(({ exitCode, signal }) => {
      clearTimeout(timer);
      clearTimeout(killTimer);
      opts.signal?.removeEventListener("abort", onAbort);
      dataSub.dispose();
      exitSub.dispose();
      // Whatever the step left running in its group (a background job, a nohup'd
      // server) must not outlive it: processes are the supervisor's business, and
      // a stray one would hold the pty, files in the artifact folder, or a port.
      // Daemons that detach properly (setsid) are in another group and untouched.
      killGroup("SIGKILL");
      const sig = signal !== undefined && signal !== 0 ? signal : null;
      if (reason === "exit" && exitCode === 0 && sig === null) {
        resolve();
        return;
      }
      const what =
        reason === "timeout"
          ? `timed out after ${step.timeoutMs} ms`
          : reason === "aborted"
            ? "was aborted"
            : sig !== null
              ? `was killed by signal ${sig}`
              : `exited with ${exitCode}`;
      reject(new StepError(`step ${index + 1} (${step.run}) ${what}`, index, step.run, sig === null ? exitCode : null, sig, reason, tail.toString()));
    });
  });
}
