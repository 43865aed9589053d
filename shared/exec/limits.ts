/**
 * Remote exec (`berth exec`): the limits both ends of a session agree on, and the
 * small pure rules around them. The controller enforces them at its boundary
 * (controller/member/api/validate.ts); the agent and the CLI keep to them.
 */

/** Concurrent sessions on one host; the next one is refused with a clear error. @default 16 */
export const EXEC_MAX_SESSIONS_PER_HOST = 16;

/**
 * Bytes of output a session may have in flight (sent by the agent, not yet taken
 * by the operator's CLI), and likewise of input towards the command. The agent
 * pauses the pty or pipes when its window is full, so a fast producer (`yes`)
 * runs at the pace of the slowest hop instead of filling memory. 16 sessions
 * × 128 KiB bounds what exec can queue on one agent stream to 2 MiB, so
 * heartbeats sharing that stream are never stuck behind much. @default 128 KiB
 */
export const EXEC_WINDOW_BYTES = 128 * 1024;

/** Largest data chunk in one message, either way. @default 64 KiB */
export const EXEC_MAX_CHUNK_BYTES = 64 * 1024;

/** argv: at most this many arguments, and this many bytes in all. */
export const EXEC_MAX_ARGS = 4096;
export const EXEC_MAX_ARGV_BYTES = 128 * 1024;

/** Terminal sizes outside 1..these are refused; 0 means "the default". */
export const EXEC_MAX_ROWS = 1000;
export const EXEC_MAX_COLS = 1000;
export const EXEC_DEFAULT_ROWS = 24;
export const EXEC_DEFAULT_COLS = 80;
export const EXEC_DEFAULT_TERM = "xterm-256color";

/** After SIGHUP to an ended session's processes, how long before SIGKILL. @default 2000 */
export const EXEC_KILL_GRACE_MS = 2000;

/** A client that has not sent its start message by then is dropped. @default 10 s */
export const EXEC_START_TIMEOUT_MS = 10_000;

/** The shell of `berth exec -it HOST` with no command: bash where there is one. */
export function defaultShell(exists: (path: string) => boolean): string {
  return exists("/bin/bash") ? "/bin/bash" : "/bin/sh";
}

/**
 * The exit code a shell would report: the code, or 128 + the signal's number
 * when a signal ended the command (SIGKILL → 137).
 */
export function shellExitCode(code: number | null, signalNumber: number | null): number {
  if (signalNumber !== null && signalNumber > 0) return 128 + signalNumber;
  return code ?? 1;
}
