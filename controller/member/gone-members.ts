/**
 * Which members of a group have gone missing (member/group.ts keeps every member
 * seen): the leader reads the registered members every report period and hands them
 * here; a member seen before and missing from every read for `afterMs` is *lost* — its
 * record says since when, and an event says so — and one that registers again is
 * *back*. `afterMs` (two TTLs) keeps a group restarting at once, or a member's
 * registration lapsing for a round under load, from being called lost. Pure: times
 * come in as arguments (monotonic for the waiting, wall for what is recorded).
 *
 * A member gone for long is forgotten by itself, as Consul's and Nomad's servers reap
 * theirs (serf: a member that left after 24 h, one that failed after 72 h): a group
 * whose members come and go under new names does not list them forever. Running
 * again (restarted, or healed after a cut), such a member registers and is seen anew.
 */
import type { Logger } from "../../shared/log/logger.js";
import type { MemberRecord, SeenRecord } from "./group.js";

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
  /** Members missing at the last read whose record does not say gone (yet). */
  private pending = 0;

  constructor(private readonly afterMs: number) {}

  /** Whether the last read left a member missing that is not recorded gone yet: it must be looked at again. */
  waiting(): boolean {
    return this.pending > 0;
  }

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
    this.pending = 0;
    for (const m of seen) {
      if (up.has(m.id)) continue;
      if (!m.gone && !this.called.has(m.id)) this.pending++;
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

/** The event's text when a member whose record said gone is registered again. */
export function backMessage(prior: SeenRecord): string {
  return `controller ${prior.id} at ${prior.address} is registered again (${prior.left ? "it left" : "lost"} at ${new Date(prior.goneSinceMs ?? 0).toISOString()})`;
}

/** How long a member gone stays listed: one that left cleanly, one lost. */
export const FORGET_LEFT_AFTER_MS = 24 * 3_600_000;
export const FORGET_LOST_AFTER_MS = 72 * 3_600_000;
/** How often the leader looks for members to forget while nothing else changes. */
const FORGET_LOOK_EVERY_MS = 3_600_000;

/** The seen records gone long enough to forget (FORGET_LEFT_AFTER_MS, FORGET_LOST_AFTER_MS), at wall time nowMs. Pure. */
export function toForget(seen: readonly SeenRecord[], registered: readonly string[], nowMs: number, leftMs = FORGET_LEFT_AFTER_MS, lostMs = FORGET_LOST_AFTER_MS): SeenRecord[] {
  const up = new Set(registered);
  return seen.filter((m) => m.goneSinceMs !== undefined && !up.has(m.id) && nowMs - m.goneSinceMs >= (m.left ? leftMs : lostMs));
}

/** What the watch needs of the group (member/group.ts EtcdGroup). */
export interface GoneGroup {
  seen(): Promise<SeenRecord[]>;
  markGone(rec: SeenRecord, sinceMs: number): Promise<boolean>;
  /** Deletes a gone member's record, unless it was rewritten since it was read or the member is registered. */
  reap(rec: SeenRecord): Promise<boolean>;
  /** True when this write made it present (the record still said gone, the member registered). */
  markPresent(rec: MemberRecord, seen: SeenRecord): Promise<boolean>;
  /** The members as the leader's last read found them (the read that called the watch). */
  lastMembers(): MemberRecord[];
}

/**
 * The leader's shell around GoneMembers: called with each read of the registered
 * members (leader/leader.ts, every report period), it reads the seen records, records
 * and announces who is lost and who is back, and clears a stale "gone". While the
 * registered members are the ones it read last and nobody is missing, there is nothing
 * to look at: the seen records are not read again (a read a second on the leader, else).
 * Each call's promise settles when its look is done (the leader does not wait for it).
 */
export function watchGoneMembers(d: {
  group: GoneGroup;
  afterMs: number;
  mono: () => number;
  now: () => number;
  log: Logger;
  append: (ev: { type: string; message: string }) => Promise<unknown>;
}): (members: readonly { id: string }[]) => Promise<void> {
  const judge = new GoneMembers(d.afterMs);
  let checking = false;
  /** When the seen records were last looked at for members to forget (mono). */
  let forgetLook = Number.NEGATIVE_INFINITY;
  /** The registered ids of the last look that found everything settled; undefined: look next time. */
  let settled: string | undefined;
  return (ms) => {
    const ids = ms.map((m) => m.id).sort();
    const key = ids.join("\n");
    if (checking || (key === settled && d.mono() - forgetLook < FORGET_LOOK_EVERY_MS)) return Promise.resolve();
    checking = true;
    return (async () => {
      forgetLook = d.mono();
      const seen = await d.group.seen();
      const v = judge.note(ids, seen.map((m) => ({ id: m.id, gone: m.goneSinceMs !== undefined })), d.mono(), d.now());
      let done = true;
      for (const l of v.lost) {
        const rec = seen.find((m) => m.id === l.id)!;
        // Rewritten since it was read (it registered again meanwhile): not lost.
        if (!(await d.group.markGone(rec, l.sinceMs))) continue;
        judge.announced(l.id);
        d.log.warn({ member: l.id, address: rec.address }, "a controller member is no longer registered");
        await d.append({
          type: "controller.lost",
          message: `controller ${l.id} at ${rec.address} is not registered since ${new Date(l.sinceMs).toISOString()}: its lease lapsed (stopped without a word, cut off, or its machine lost); its agents reconnect to the other members. \`berth controllers forget ${l.id}\` removes it for good`,
        });
      }
      // Back: whichever write turns its record from gone to present says so — this one, or
      // the member's own as it registers (member/group.ts onBack), never both (each is
      // conditioned on the record as read). Whichever term recorded it gone.
      const registered = d.group.lastMembers();
      for (const id of v.clear) {
        const full = registered.find((m) => m.id === id);
        const rec = seen.find((m) => m.id === id);
        if (!full || !rec) {
          done = false;
          continue;
        }
        if (await d.group.markPresent(full, rec)) await d.append({ type: "controller.back", message: backMessage(rec) });
      }
      for (const m of toForget(seen, ids, d.now())) {
        if (!(await d.group.reap(m))) continue;
        const how = m.left ? "left" : "lost";
        d.log.info({ member: m.id, goneSince: new Date(m.goneSinceMs!).toISOString(), how }, "a controller member gone for long is forgotten");
        await d.append({
          type: "controller.forgotten",
          message: `controller ${m.id} at ${m.address}, ${how} since ${new Date(m.goneSinceMs!).toISOString()}, is forgotten (a member gone is listed for ${m.left ? "24 h after it leaves" : "72 h after it is lost"}); when it runs again, it registers anew`,
        });
      }
      // A member missing (lost or not yet) is looked at again on every read until it is recorded or back.
      if (done && !judge.waiting()) settled = key;
    })()
      .catch((err: unknown) => {
        settled = undefined;
        d.log.warn({ err }, "checking for members gone missing failed");
      })
      .finally(() => (checking = false));
  };
}
