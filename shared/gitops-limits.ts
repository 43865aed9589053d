/** GitOps poll interval bounds, shared by the CLI's flag and the controller's check (no zod in the CLI). */
/** @default 60 s */
export const DEFAULT_INTERVAL_MS = 60_000;
/** At least 5 s, so a typo cannot make the leader hammer a git server. */
export const MIN_INTERVAL_MS = 5_000;
export const MAX_INTERVAL_MS = 24 * 3600_000;
