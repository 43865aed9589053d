/**
 * Which members of a group have gone missing (member/group.ts keeps every member
 * seen): the leader reads the registered members every report period and hands them
 * here; a member seen before and missing from every read for `afterMs` is *lost* — its
 * record says since when, and an event says so — and one that registers again is
 * *back*. `afterMs` (two TTLs) keeps a group restarting at once, or a member's
 * registration lapsing for a round under load, from being called lost. Pure: times
 * come in as arguments (monotonic for the waiting, wall for what is recorded).
 */
export interface GoneVerdicts {
  /** Missing for afterMs now: record them lost, since `sinceMs` (wall: first missed). */
  lost: { id: string; sinceMs: number }[];
  /** Registered again after this term called them lost. */
  back: string[];
  /** Registered, yet their record still says gone (cut off, then healed without a restart): record them present. */
  clear: string[];
}

export class GoneMembers {
  /** Member → when this term first missed it (mono, wall). */
  private readonly missing = new Map<string, { mono: number; wall: number }>();
  /** Called lost by this term (so that its return is news). */
  private readonly called = new Set<string>();

  constructor(private readonly afterMs: number) {}

  /** A member of `lost` was recorded and announced: its return will be news. (Not recorded: the next read finds it again.) */
  announced(id: string): void {
    this.called.add(id);
  }

  /**
   * One read: `registered` the members registered now, `seen` those recorded as ever seen
   * (with whether their record says gone already). Returns what to record and announce.
   */
  note(registered: readonly string[], seen: readonly { id: string; gone: boolean }[], nowMono: number, nowWall: number): GoneVerdicts {
    const up = new Set(registered);
    const out: GoneVerdicts = { lost: [], back: [], clear: [] };
    for (const id of up) {
      this.missing.delete(id);
      if (this.called.delete(id)) out.back.push(id);
    }
    for (const m of seen) if (m.gone && up.has(m.id)) out.clear.push(m.id);
    for (const m of seen) {
      if (up.has(m.id)) continue;
      let since = this.missing.get(m.id);
      if (!since) this.missing.set(m.id, (since = { mono: nowMono, wall: nowWall }));
      if (m.gone || this.called.has(m.id) || nowMono - since.mono < this.afterMs) continue;
      out.lost.push({ id: m.id, sinceMs: since.wall });
    }
    // A record forgotten (or never readable): nothing more to track.
    const known = new Set(seen.map((m) => m.id));
    for (const id of this.missing.keys()) if (!known.has(id)) this.missing.delete(id);
    return out;
  }
}
