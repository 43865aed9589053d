/**
 * What the agent process does with an error nobody caught, instead of Node's
 * default (print a stack to stderr and die, outside the structured log):
 *
 * - An unhandled promise rejection is logged (error) and the agent keeps
 *   running. A rejected promise nobody awaited is a lost result, not a broken
 *   state: the loops that keep the promises the agent makes — supervising the
 *   service, self-fencing, heartbeats — run on their own timers and go on. Dying
 *   instead would stop self-fencing until systemd restarts the agent.
 * - An uncaught exception is logged (fatal), the agent stops cleanly within a
 *   bound (the service is detached, not stopped: the restarted agent re-adopts
 *   it, and the persisted last contact keeps the self-fencing count), and the
 *   process exits with EXIT_CRASH. A synchronous throw stopped code halfway:
 *   the in-memory state can no longer be trusted, so a fresh process is the
 *   safe way on (`berth agent install`'s unit restarts it).
 */
import type { Logger } from "../shared/log/logger.js";
import { setTimeoutClamped } from "../shared/timer.js";

/** EX_SOFTWARE: an internal error; systemd's Restart=always brings the agent back. */
export const EXIT_CRASH = 70;
/** How long a clean stop may take after an uncaught exception before the process exits regardless. */
export const CRASH_STOP_MS = 10_000;

export interface CrashGuardOptions {
  log: Logger;
  /** The clean stop (the agent's stop()). */
  stop: () => Promise<void>;
  /** @default process.exit */
  exit?: (code: number) => void;
  /** @default CRASH_STOP_MS */
  stopWithinMs?: number;
}

/** Installs the handlers; returns a function that removes them. */
export function guardProcess(o: CrashGuardOptions): () => void {
  const exit = o.exit ?? ((code: number) => process.exit(code));
  let crashing = false;
  const onRejection = (reason: unknown): void => {
    o.log.error({ err: reason }, "unhandled promise rejection (a bug): logged, the agent keeps running");
  };
  const onException = (err: Error): void => {
    o.log.fatal({ err }, "uncaught exception (a bug): stopping the agent; the service keeps running for the next agent to re-adopt");
    if (crashing) return; // a second throw while stopping: the first one's exit stands
    crashing = true;
    // The backstop: a stop (or a log flush) that hangs must not keep a broken agent alive.
    setTimeoutClamped(() => exit(EXIT_CRASH), o.stopWithinMs ?? CRASH_STOP_MS);
    o.stop()
      .catch((e: unknown) => o.log.error({ err: e }, "stopping after an uncaught exception failed"))
      .finally(() => {
        // pino buffers: the fatal line must reach the log before the process goes.
        o.log.flush(() => exit(EXIT_CRASH));
      });
  };
  process.on("unhandledRejection", onRejection);
  process.on("uncaughtException", onException);
  return () => {
    process.off("unhandledRejection", onRejection);
    process.off("uncaughtException", onException);
  };
}
