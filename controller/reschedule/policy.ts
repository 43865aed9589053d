/**
 * When a slot that failed may be placed again, and which hosts it should prefer
 * (Nomad's `reschedule` block and node-reschedule-penalty). Pure: a function of
 * the slot's recent failures and `now`.
 *
 * A failure "for good" (the agent's restart policy gave up on the host, or a
 * move's new copy failed) is remembered per slot as { hostId, atMs }. Within
 * `intervalMs` it
 *  - delays the next placement: the first failure in the interval is placed
 *    again at once (the agent has already retried on that host), each further
 *    one waits `delayMs` doubled per failure, capped at `maxDelayMs`;
 *  - makes the hosts it happened on rank last for that slot (scheduler
 *    scorers/penalty.ts): other hosts are preferred, but a penalized host still
 *    takes the slot when nothing else can. A transient outage that touched every
 *    host of a small fleet therefore delays the slot, never strands it;
 *  - with `attempts` > 0, allows at most that many reschedules within any
 *    interval: beyond, the slot waits until the oldest failure has expired.
 * After `intervalMs` a failure is forgotten: a host that failed once long ago is
 * as good as any.
 *
 * Worked example with the defaults (interval 1h, delay 30s, cap 10m), failures at
 * 12:00:00 on h1 and 12:00:40 on h2: the first is rescheduled at once (to h2),
 * the second at 12:01:10 (30s after it), on h1 (fewer or older failures first);
 * a third at 12:02:00 would wait 60s, a fourth 2m, … up to 10m each.
 */
import { formatDurationMs } from "../../shared/duration.js";
import { penaltyMap } from "../scheduler/scorers/penalty.js";
import { LAST_FAILURE_PREFIX } from "../../shared/failure-text.js";

export interface HostFailure {
  hostId: string;
  /** Controller clock when the failure was recorded. */
  atMs: number;
  /** What the agent said ("installing: step 2 (make) exited with code 2"), at most FAILURE_DETAIL_CHARS. */
  detail?: string;
  /**
   * The last install output, at most FAILURE_OUTPUT_CHARS: the copy that wrote it is gone
   * once the slot is placed again, and this is what `berth status` and `logs --install` show.
   * Only the newest failure on each host keeps it, which bounds the record.
   */
  output?: string;
}

/** Bounds of a failure's detail and output (the record holds at most MAX_FAILURES_KEPT of them). */
export const FAILURE_DETAIL_CHARS = 500;
export const FAILURE_OUTPUT_CHARS = 4_096;

export interface ReschedulePolicy {
  /**
   * Reschedules allowed within any `intervalMs`; 0 = unlimited (the backoff still
   * grows). Nomad stops for good when they are used up; berth waits for the
   * oldest to expire instead, so a service is never given up on.
   * @default 0
   */
  readonly attempts: number;
  /** How long a failure is remembered (for the backoff, the attempts and the penalty). @default 3_600_000 (1h) */
  readonly intervalMs: number;
  /** The wait before the second reschedule within the interval; doubled for each further one. @default 30_000 */
  readonly delayMs: number;
  /** The longest wait between reschedules. @default 600_000 (10m) */
  readonly maxDelayMs: number;
}

/**
 * Nomad's service defaults are 30s doubling to 1h, unlimited. Berth caps the
 * wait at 10 minutes: with one service per host a slot waiting is a service
 * short of an instance, and a transient outage (a mirror, a network) should be
 * recovered from within minutes of its end. The first reschedule is immediate
 * (Nomad waits 30s) because the agent's own restart policy has already retried
 * on the host before it reports a failure for good.
 */
export const DEFAULT_RESCHEDULE: ReschedulePolicy = { attempts: 0, intervalMs: 3_600_000, delayMs: 30_000, maxDelayMs: 600_000 };

/** Failures kept per slot at most (the newest): bounds the record; 20 doublings of any delay reach any cap. */
export const MAX_FAILURES_KEPT = 20;

/** The failures still remembered at `nowMs`, oldest first, at most MAX_FAILURES_KEPT. */
export function recentFailures(history: readonly HostFailure[] | undefined, nowMs: number, policy: ReschedulePolicy = DEFAULT_RESCHEDULE): HostFailure[] {
  if (!history || history.length === 0) return [];
  const since = nowMs - policy.intervalMs;
  const recent = history.filter((f) => Number.isFinite(f.atMs) && f.atMs > since).sort((a, b) => a.atMs - b.atMs);
  return recent.length > MAX_FAILURES_KEPT ? recent.slice(recent.length - MAX_FAILURES_KEPT) : recent;
}

/** The history after a failure on `hostId` at `nowMs`: expired entries are dropped; older output on that host too. */
export function recordFailure(
  history: readonly HostFailure[] | undefined,
  hostId: string,
  nowMs: number,
  policy: ReschedulePolicy = DEFAULT_RESCHEDULE,
  what: { detail?: string; output?: string } = {},
): HostFailure[] {
  const entry: HostFailure = { hostId, atMs: nowMs };
  if (what.detail) entry.detail = what.detail.slice(0, FAILURE_DETAIL_CHARS);
  // The end of the output is where the failure is.
  if (what.output) entry.output = what.output.slice(-FAILURE_OUTPUT_CHARS);
  const older = (history ?? []).map((f) => (f.hostId === hostId && f.output !== undefined && entry.output !== undefined ? withoutOutput(f) : f));
  return recentFailures([...older, entry], nowMs, policy);
}

function withoutOutput(f: HostFailure): HostFailure {
  const { output: _dropped, ...rest } = f;
  return rest;
}

/** Each host's newest failure that kept output, newest first: what status and `logs --install` show. */
export function lastFailedOutputs(history: readonly HostFailure[] | undefined): HostFailure[] {
  const byHost = new Map<string, HostFailure>();
  for (const f of history ?? []) if (f.output !== undefined && (byHost.get(f.hostId)?.atMs ?? -Infinity) <= f.atMs) byHost.set(f.hostId, f);
  return [...byHost.values()].sort((a, b) => b.atMs - a.atMs);
}

/** The wait before the k-th reschedule within the interval (k ≥ 1): 0, delay, 2·delay, 4·delay, … ≤ maxDelay. */
export function backoffMs(k: number, policy: ReschedulePolicy = DEFAULT_RESCHEDULE): number {
  if (k <= 1) return 0;
  // 2^(k-2) overflows to Infinity long after any cap: min() handles it.
  return Math.min(policy.maxDelayMs, policy.delayMs * 2 ** (k - 2));
}

export interface RescheduleDecision {
  /** The failures that count at `now`, oldest first (the scheduler's penalty). */
  readonly recent: readonly HostFailure[];
  /** Not placed (nor moved) before this; ≤ now: now. */
  readonly atMs: number;
  /** Why it waits, for `berth status` (empty when it does not). */
  readonly reason: string;
}

export function rescheduleDecision(history: readonly HostFailure[] | undefined, nowMs: number, policy: ReschedulePolicy = DEFAULT_RESCHEDULE): RescheduleDecision {
  const recent = recentFailures(history, nowMs, policy);
  const k = recent.length;
  const last = recent[k - 1];
  if (last === undefined) return { recent, atMs: 0, reason: "" };
  let atMs = last.atMs + backoffMs(k, policy);
  let why = `backoff ${formatDurationMs(backoffMs(k, policy))}`;
  if (policy.attempts > 0 && k > policy.attempts) {
    // At most `attempts` failures in any interval: wait until the oldest extra one expires.
    const expire = recent[k - policy.attempts - 1]!.atMs + policy.intervalMs;
    if (expire > atMs) {
      atMs = expire;
      why = `at most ${policy.attempts} reschedule${policy.attempts === 1 ? "" : "s"} per ${formatDurationMs(policy.intervalMs)}`;
    }
  }
  if (atMs <= nowMs) return { recent, atMs, reason: "" };
  // What the last failure was, said where the user looks: a refusal (a run.user this host
  // lacks, say) keeps no output for status to show under the slot, only this detail.
  const lastDetail = [...recent].reverse().find((f) => f.detail)?.detail;
  return {
    recent,
    atMs,
    reason: `waiting to reschedule: ${describeFailures(recent, nowMs, policy)}${lastDetail ? ` (last: ${lastDetail})` : ""}; next attempt in ${formatDurationMs(atMs - nowMs)} (${why})`,
  };
}

/** "failed on h1 (2×, last 3m ago), h2 (40s ago) in the last 1h" */
export function describeFailures(recent: readonly HostFailure[], nowMs: number, policy: ReschedulePolicy = DEFAULT_RESCHEDULE): string {
  const ago = (ms: number): string => (ms < 1000 ? "just now" : `${formatDurationMs(ms)} ago`);
  const parts = [...penaltyMap(recent)].map(([host, p]) => `${host} (${p.count > 1 ? `${p.count}×, last ` : ""}${ago(nowMs - p.lastAtMs)})`);
  return `failed on ${parts.join(", ")} in the last ${formatDurationMs(policy.intervalMs)}`;
}

/** The record with its failures forgotten (a new revision, an operator's pin): the same object when it has none. */
export function clearFailures<T extends { failures?: HostFailure[] }>(i: T, hostId?: string): T {
  if (!i.failures?.length) return i;
  const left = hostId === undefined ? [] : i.failures.filter((f) => f.hostId !== hostId);
  if (left.length === i.failures.length) return i;
  return { ...i, failures: left.length ? left : undefined };
}

/**
 * The output of the slot's last failed install on each host where one failed, newest
 * first, each under a line naming the host, when, and the step and exit code: what
 * `berth status` and `berth logs --install` show once the failed copy is gone.
 */
export function failedInstallText(history: readonly HostFailure[] | undefined): string {
  return failureLines(lastFailedOutputs(history).filter((f) => !isCrashLoop(f)));
}

/**
 * The same for every kind of failure kept with output: failed installs and crash loops
 * (the process's last lines). What `berth status` shows under a slot that is not healthy,
 * once the copy that failed is gone: a crash-looping service is placed again at once, and
 * without this its exit and last lines were visible for a moment at most.
 */
export function failedRunsText(history: readonly HostFailure[] | undefined): string {
  return failureLines(lastFailedOutputs(history));
}


export const isCrashLoop = (f: HostFailure): boolean => f.detail?.startsWith("crash loop:") ?? false;

function failureLines(failures: readonly HostFailure[]): string {
  return failures
    .map((f) => `${isCrashLoop(f) ? LAST_FAILURE_PREFIX : "[berth] last failed install on "}${f.hostId} at ${new Date(f.atMs).toISOString()}: ${f.detail ?? "failed"}\n${f.output!.endsWith("\n") ? f.output : `${f.output}\n`}`)
    .join("");
}
