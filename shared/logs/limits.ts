/**
 * `berth logs -f`: the flow-control limits both ends of a log request agree on
 * (the window itself is shared/exec/window.ts's ByteWindow, counted here in
 * characters of LogChunk.data, the unit both sides see).
 */

/**
 * Characters of log data a request may have in flight: sent by the agent and not
 * yet taken by the operator's client. While the window is full the agent stops
 * reading the log file — the file is the buffer, so a reader that stalls (a
 * paused pager, a slow link) costs no memory on the agent or the controller, and
 * heartbeats on the same stream are not stuck behind megabytes of log.
 * 256 KiB keeps a link of 50 ms round trip at about 5 MB/s. @default 256 Ki
 */
export const LOG_WINDOW_CHARS = 256 * 1024;

/** Largest piece of data in one LogChunk (the controller refuses more than 1 MiB). @default 64 Ki */
export const LOG_MAX_CHUNK_CHARS = 64 * 1024;

/** A window asked for outside these bounds is clamped to them. */
export const LOG_MIN_WINDOW_CHARS = 16 * 1024;
export const LOG_MAX_WINDOW_CHARS = 4 * 1024 * 1024;

/** The window an agent uses for a request that asked for `asked` (0: none, an older controller). */
export function logWindow(asked: number): number {
  if (!asked) return Infinity;
  return Math.min(LOG_MAX_WINDOW_CHARS, Math.max(LOG_MIN_WINDOW_CHARS, asked));
}
