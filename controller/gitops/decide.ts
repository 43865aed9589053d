/**
 * The sync decision of a GitOps source, pure: from the tree at the fetched commit
 * (its validation errors and services), what is stored, who owns what and the
 * source's stored status, what one sync does. The shell (runner.ts) fetches,
 * validates, plans and commits; nothing here does I/O or reads a clock.
 */
import { backoffDelayMs, type BackoffPolicy } from "../../shared/backoff.js";
import type { CommitInfo, SourceStatus } from "./source.js";
import { instanceId } from "../services/records.js";
import { checkEnvironment } from "../services/environment.js";
import type { SourceRecord } from "./source.js";

export interface CommitInput {
  /** The commit the branch points at, just fetched. */
  head: string;
  /** Validation errors of the whole tree at head ("file:line:col: field: message"). */
  errors: readonly string[];
  /** Service name → the file defining it in the tree at head. */
  repo: ReadonlyMap<string, string>;
  /** Services stored now. */
  stored: ReadonlySet<string>;
  /** Service → another source that owns it. */
  otherOwners: ReadonlyMap<string, string>;
  prune: boolean;
  status: Pick<SourceStatus, "owned" | "created" | "unpruned" | "lastApplied" | "lastAttempted" | "attempts" | "retryAtMs">;
  nowMs: number;
}

export type CommitDecision =
  /** head is the commit applied: only drift is left to look at. */
  | { kind: "up-to-date" }
  /** head failed before and its retry is not due. */
  | { kind: "wait"; untilMs: number }
  /** Nothing changes; the errors are reported with the commit. */
  | { kind: "invalid"; errors: string[] }
  /**
   * One apply of the whole tree. prune: services to delete with it; owned, created,
   * unpruned: the status the same txn writes.
   */
  | { kind: "apply"; prune: string[]; owned: string[]; created: string[]; unpruned: string[] };

const sorted = (xs: Iterable<string>): string[] => [...new Set(xs)].sort();

export function decideCommit(i: CommitInput): CommitDecision {
  const s = i.status;
  if (s.lastApplied?.commit === i.head) return { kind: "up-to-date" };
  if (s.lastAttempted?.commit === i.head && s.lastAttempted.errors.length && s.attempts > 0 && i.nowMs < s.retryAtMs) return { kind: "wait", untilMs: s.retryAtMs };
  const errors = [...i.errors];
  for (const [svc, file] of [...i.repo].sort(([a], [b]) => a.localeCompare(b))) {
    const other = i.otherOwners.get(svc);
    if (other !== undefined) errors.push(`${file}: service "${svc}" is owned by gitops source "${other}": one service, one source`);
  }
  // An empty tree is far more often a wrong path or a bad merge than a wish to
  // delete the fleet: refused whatever prune says (it never prunes everything).
  if (!errors.length && i.repo.size === 0) errors.push("no services in the tree at this path: refused (an empty tree never prunes or adopts anything)");
  if (errors.length) return { kind: "invalid", errors };

  const inRepo = (n: string): boolean => i.repo.has(n);
  const gone = sorted([...s.owned, ...s.unpruned].filter((n) => !inRepo(n) && i.stored.has(n)));
  const created = new Set(s.created);
  const prune = i.prune ? gone.filter((n) => created.has(n)) : [];
  const unpruned = gone.filter((n) => !prune.includes(n));
  const owned = sorted(i.repo.keys());
  const nextCreated = sorted([...s.created.filter((n) => inRepo(n) || unpruned.includes(n)), ...owned.filter((n) => !i.stored.has(n))]);
  return { kind: "apply", prune, owned, created: nextCreated, unpruned };
}

/** An instance pinned to a host (`berth place`); host "" is no pin. */
export interface Pin {
  service: string;
  slot: number;
  host: string;
}

export interface DriftInput {
  /** The plan of the commit applied against what is stored: its action per service. */
  changes: readonly { service: string; action: string }[];
  owned: readonly string[];
  /** The pins of stored instances (any service's: only owned ones count). */
  pins: readonly Pin[];
  selfHeal: boolean;
}

export interface DriftDecision {
  /** Owned services that differ from the commit applied: spec changed or deleted, or an instance pinned. */
  drift: string[];
  /** With heal, the services whose spec is put back by applying the commit's tree again. */
  reapply: string[];
  /** With heal, the pins removed. */
  unpin: Pin[];
  heal: boolean;
}

/**
 * Drift of the commit applied. A spec changed (update) or deleted (create) by hand
 * differs from the tree; so does a pin, since the repository declares none — where
 * an instance runs is the scheduler's, so the repository's state is "no pin" and
 * healing removes the pin (the instance stays where it runs; it is not moved back).
 */
export function decideDrift(i: DriftInput): DriftDecision {
  const owned = new Set(i.owned);
  const changed = sorted(i.changes.filter((c) => owned.has(c.service) && (c.action === "update" || c.action === "create")).map((c) => c.service));
  const pins = i.pins.filter((p) => p.host !== "" && owned.has(p.service)).sort((a, b) => a.service.localeCompare(b.service) || a.slot - b.slot);
  const drift = sorted([...changed, ...pins.map((p) => p.service)]);
  const heal = i.selfHeal && drift.length > 0;
  return { drift, reapply: heal ? changed : [], unpin: heal ? pins : [], heal };
}

/** The pins of a drift, as the drift event names them: "web-1 pinned to h2, …". */
export function pinDrift(pins: readonly Pin[]): string {
  return [...pins]
    .sort((a, b) => a.service.localeCompare(b.service) || a.slot - b.slot)
    .map((p) => `${instanceId(p.service, p.slot)} pinned to ${p.host}`)
    .join(", ");
}

/** Retries of a failing commit: 10 s, 20 s, 40 s … capped at 10 min, a little jitter. */
export const RETRY_BACKOFF: BackoffPolicy = { initialMs: 10_000, maxMs: 600_000, factor: 2, jitter: 0.2 };

/** The delay after the n-th failure in a row (n ≥ 1). */
export function retryDelayMs(failures: number, random: () => number = Math.random): number {
  return backoffDelayMs(RETRY_BACKOFF, failures - 1, random);
}

/** The status after an attempt at `attempt.commit` failed: attempts count on per commit. */
export function failedAttempt<S extends Pick<SourceStatus, "lastAttempted" | "attempts" | "retryAtMs">>(s: S, attempt: CommitInfo, random: () => number = Math.random): S {
  const attempts = s.lastAttempted?.commit === attempt.commit && s.lastAttempted.errors.length ? s.attempts + 1 : 1;
  return { ...s, lastAttempted: attempt, attempts, retryAtMs: attempt.atMs + retryDelayMs(attempts, random) };
}

/**
 * Why this controller takes nothing from a source, if it does not: the source renders
 * for another environment than the one served (checkEnvironment). Said for a source —
 * where to follow it from — rather than as `berth apply --env`'s advice.
 */
export function environmentRefusal(src: Pick<SourceRecord, "name" | "env">, serves: string): string | undefined {
  const c = checkEnvironment(serves, src.env);
  if (c.invalid !== undefined) return `source ${src.name}: ${c.invalid}`;
  if (c.refused !== undefined) return `source ${src.name} is for environment "${src.env}", but this controller serves "${serves}": nothing applied (follow it from ${src.env}'s controller, or add it with --env ${serves})`;
  return undefined;
}
