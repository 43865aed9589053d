/**
 * The decisions of a member's registration (member/group.ts): keeping its key
 * `<P>members/<id>` present, with its own record, under a lease it keeps alive —
 * level-triggered, as a reconcile is: every round looks at what etcd says *now*
 * (the lease's remaining TTL, the key as read) and takes the next step, until the
 * key is read back as wanted. Nothing is remembered between rounds but the lease id,
 * so a lost lease, a key deleted by hand, a partition or a call that failed all end
 * in the same place on a later round. Pure: the shell does the calls and the timers.
 *
 * Why (issue 11, quorum.test.ts quarantined): the registration used to be one put
 * under an etcd3 Lease, redone once 500 ms after the Lease said 'lost', with no
 * deadline on its calls; a put that failed (a member just healed from a partition,
 * its connections to the other etcd members still in reconnect backoff) left the
 * member unregistered while its new lease lived on, so nothing ever tried again.
 */

/** What one round has learnt so far. */
export interface RegistrationView {
  /** The lease this member holds, as far as it knows (undefined: none yet, or given up). */
  leaseId: string | undefined;
  /** etcd's answer to this round's keep-alive of that lease: its TTL left in seconds (<= 0: gone). Undefined: not sent yet. */
  keptAliveTtlSec?: number;
  /** This member's key as read this round, after the keep-alive: null if absent; undefined: not read yet. */
  key?: { value: string; lease: string } | null;
  /** The record this member's key must hold. */
  want: string;
}

export type RegistrationStep =
  /** Grant a new lease (none held, or etcd says it has expired). */
  | { type: "grant" }
  /** Keep the lease alive once and learn whether etcd still has it. */
  | { type: "keep-alive"; leaseId: string }
  /** Read this member's key. */
  | { type: "read" }
  /** Put this member's key under the lease (absent, another value, or another lease's). */
  | { type: "put"; leaseId: string; why: string }
  /** The key was read back as wanted: registered, until the next round. */
  | { type: "done" };

/** The next step of a round, from what it has learnt. Pure. */
export function registrationStep(v: RegistrationView): RegistrationStep {
  if (v.leaseId === undefined) return { type: "grant" };
  if (v.keptAliveTtlSec === undefined) return { type: "keep-alive", leaseId: v.leaseId };
  if (v.keptAliveTtlSec <= 0) return { type: "grant" };
  if (v.key === undefined) return { type: "read" };
  if (v.key === null) return { type: "put", leaseId: v.leaseId, why: "its key is missing" };
  if (v.key.lease !== v.leaseId) return { type: "put", leaseId: v.leaseId, why: `its key is under lease ${v.key.lease}, not ${v.leaseId}` };
  if (v.key.value !== v.want) return { type: "put", leaseId: v.leaseId, why: "its key holds another record" };
  return { type: "done" };
}

/**
 * The view after a step's outcome: what the next step of the round decides from.
 * A grant resets everything learnt about the old lease; a put makes the key unknown
 * again, so it is read back before the round counts as done (verified, not assumed).
 */
export function afterStep(v: RegistrationView, done: { type: "granted"; leaseId: string } | { type: "kept-alive"; ttlSec: number } | { type: "read"; key: { value: string; lease: string } | null } | { type: "put" }): RegistrationView {
  switch (done.type) {
    case "granted":
      // A fresh grant is alive for its TTL: no keep-alive needed before its key is looked at.
      return { want: v.want, leaseId: done.leaseId, keptAliveTtlSec: Number.POSITIVE_INFINITY };
    case "kept-alive":
      return done.ttlSec > 0 ? { ...v, keptAliveTtlSec: done.ttlSec, key: undefined } : { want: v.want, leaseId: undefined };
    case "read":
      return { ...v, key: done.key };
    case "put":
      return { ...v, key: undefined };
  }
}

/** Most steps a round may take: grant, keep-alive, read, put, read — and a second grant if etcd dropped the first. */
export const MAX_STEPS_PER_ROUND = 8;

export interface RegistrationTimings {
  /** The lease's TTL in whole seconds, as etcd grants it (at least 2). */
  leaseTtlSec: number;
  /** Between rounds while registered: a third of the lease, so two keep-alives may fail before it lapses. */
  everyMs: number;
  /** Every etcd call of a round must end within this (all its retries included). */
  callBudgetMs: number;
  /** The first pause after a failed round, doubled per failure up to everyMs. */
  retryFirstMs: number;
}

/**
 * Timings from the group's TTL. Worked example, TTL 3 s: a 3 s lease, a round every
 * 1 s, each call given 1 s; after a failure 100 ms, 200 ms, 400 ms, 800 ms, then 1 s,
 * each jittered.
 */
export function registrationTimings(ttlMs: number): RegistrationTimings {
  const leaseTtlSec = Math.max(2, Math.ceil(ttlMs / 1000));
  const everyMs = Math.max(300, Math.floor((leaseTtlSec * 1000) / 3));
  return { leaseTtlSec, everyMs, callBudgetMs: everyMs, retryFirstMs: 100 };
}

/**
 * When the next round starts, from the outcome of the last one: jittered (so members
 * that failed together do not retry in step), and soon after a failure, since a member
 * not registered is missing from `berth controllers`. `random` in [0, 1). Pure.
 */
export function nextRoundDelayMs(t: RegistrationTimings, failuresInARow: number, random: number): number {
  if (failuresInARow <= 0) return Math.round(t.everyMs * (0.8 + 0.2 * random));
  const cap = Math.min(t.everyMs, t.retryFirstMs * 2 ** Math.min(failuresInARow - 1, 16));
  return Math.round(cap * (0.5 + 0.5 * random));
}
