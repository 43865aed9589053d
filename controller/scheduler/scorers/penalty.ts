/**
 * Soft rule, above all others: a host where this slot failed recently ranks
 * after every host where it did not (Nomad's node-reschedule-penalty), so a
 * rescheduled slot tries somewhere else first. It is not a filter: when only
 * penalized hosts can take the slot, the one with the fewest failures, then
 * the oldest last failure, takes it — a transient outage that touched every
 * host delays a slot (reschedule/policy.ts), it never strands it.
 *
 * Why above spread: a host that just failed the slot is likely to fail it
 * again (a broken disk, a bad mirror), which costs more than an uneven spread.
 */
export interface Penalty {
  /** Recent failures of the slot on the host. */
  readonly count: number;
  /** The latest of them (controller clock). */
  readonly lastAtMs: number;
}

export const NO_PENALTY: ReadonlyMap<string, Penalty> = new Map();

/** Host id → its penalty for the slot; hosts not listed have none. */
export function penaltyMap(failures: readonly { readonly hostId: string; readonly atMs: number }[] | undefined): ReadonlyMap<string, Penalty> {
  if (!failures || failures.length === 0) return NO_PENALTY;
  const m = new Map<string, { count: number; lastAtMs: number }>();
  for (const f of failures) {
    const p = m.get(f.hostId);
    if (p) {
      p.count++;
      if (f.atMs > p.lastAtMs) p.lastAtMs = f.atMs;
    } else m.set(f.hostId, { count: 1, lastAtMs: f.atMs });
  }
  return m;
}

/** Negative when a host with penalty a is preferred to one with b. */
export function comparePenalty(a: Penalty, b: Penalty): number {
  if (a.count !== b.count) return a.count - b.count;
  return a.lastAtMs - b.lastAtMs;
}
