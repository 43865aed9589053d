/**
 * Duration flags (--timeout, --ttl, --since, --heartbeat-interval): parsed, and
 * bounded like spec durations, each limit named in the error. A flag's value reaches
 * timers and deadlines; one past Node's timer range (~24.8 days) would fire at once.
 */
import { formatDurationMs, parseDurationMs } from "../shared/duration.js";
import { CliError, EXIT } from "./errors.js";

export interface DurationBounds {
  /** Inclusive; @default 0. */
  minMs?: number;
  /** A value must be longer than 0 (a timeout, a lifetime). */
  positive?: boolean;
  /** Inclusive, written as users write it ("7d"). */
  max: string;
}

/** The limits of the CLI's own duration flags, in one place for the README. */
export const FLAG_LIMITS = {
  /** apply/drain --wait --timeout: as long as the longest rollout may run (progressDeadline 7d). */
  waitTimeout: "7d",
  /** controller --heartbeat-interval: agents report at least every minute. */
  heartbeatInterval: "1m",
  /** controller --ttl: a silent host is down within the hour. */
  hostTtl: "1h",
  /** controller --cert-ttl: a host certificate lives at most a year (renewed at 2/3 of it); at least 10 s (tests). */
  certTtl: "365d",
  certTtlMinMs: 10_000,
  /** token create --ttl and audit --since: ten years, the controller's own limit for a token. */
  longest: "3650d",
} as const;

export function parseDurationFlag(flag: string, value: string, b: DurationBounds): number {
  let ms: number;
  try {
    ms = parseDurationMs(value);
  } catch (e) {
    throw new CliError(`${flag}: ${(e as Error).message}`, EXIT.usage);
  }
  const maxMs = parseDurationMs(b.max);
  if (b.positive && ms <= 0) throw new CliError(`${flag}: must be longer than 0`, EXIT.usage);
  if (b.minMs !== undefined && ms < b.minMs) throw new CliError(`${flag}: ${value} is shorter than the minimum ${formatDurationMs(b.minMs)}`, EXIT.usage);
  if (ms > maxMs) throw new CliError(`${flag}: ${value} is longer than the maximum ${b.max}`, EXIT.usage);
  return ms;
}

/** controller/dev --cert-ttl: bounded so a certificate is renewable (timers) and never outlives a year. */
export function parseCertTtl(value: string): number {
  return parseDurationFlag("--cert-ttl", value, { minMs: FLAG_LIMITS.certTtlMinMs, max: FLAG_LIMITS.certTtl });
}
