/**
 * The mass-failure guard's sticky state (guard.ts judges; this keeps what a
 * verdict leaves behind): whether failover is paused, why, since when, and when
 * an operator last resumed it (earlier losses no longer count).
 *
 * Stored first, then held: memory changes only once the store has the new state,
 * so a write that fails leaves both as they were, and a restarted controller
 * finds what the last one acted on. Saves run one at a time, in call order.
 * In a controller group any member may save (an operator's resume) and the
 * leader pauses: follow() keeps every member's copy on what is stored.
 */
import { z } from "zod";
import type { Same } from "../../shared/same-type.js";
import type { EventLog, NewEvent } from "../events/event-log.js";
import type { Store, Watcher } from "../store/store.js";
import { decodeRecord, encodeRecord, type Quarantined } from "../store/record.js";

export const GUARD_KEY = "failover/guard";

export interface GuardState {
  paused: boolean;
  reason: string;
  sinceMs: number;
  resumedAtMs: number;
}

const nat = z.number().min(0).max(Number.MAX_SAFE_INTEGER);
/** The stored guard state, failover/guard (controller/store/record.ts decodes with it). */
export const GuardStateSchema = z.object({ paused: z.boolean(), reason: z.string(), sinceMs: nat, resumedAtMs: nat });
const exact: Same<z.output<typeof GuardStateSchema>, GuardState> = true;
void exact;

export const GUARD_INITIAL: GuardState = { paused: false, reason: "", sinceMs: 0, resumedAtMs: 0 };

export class GuardStore {
  private state: GuardState;
  private queue: Promise<void> = Promise.resolve();
  private watcher: Watcher | undefined;

  private constructor(
    private readonly store: Store,
    private readonly events: Pick<EventLog, "txn">,
    initial: GuardState,
    /** Set when the stored record could not be read: the guard starts from GUARD_INITIAL. */
    readonly quarantined: Quarantined | undefined,
    /** The store revision the state was read at, then the modRevision of the state held. */
    private modRevision: number,
  ) {
    this.state = initial;
  }

  /** Reads the stored state; an unreadable record is quarantined (see `quarantined`) and the guard starts unpaused. */
  static async load(store: Store, events: Pick<EventLog, "txn">): Promise<GuardStore> {
    const at = await store.revision();
    const kv = await store.get(GUARD_KEY);
    if (!kv) return new GuardStore(store, events, GUARD_INITIAL, undefined, at);
    const d = decodeRecord(GuardStateSchema, kv.value);
    if (d.ok) return new GuardStore(store, events, d.rec, undefined, Math.max(at, kv.modRevision));
    return new GuardStore(store, events, GUARD_INITIAL, { key: kv.key, reason: d.reason, modRevision: kv.modRevision }, Math.max(at, kv.modRevision));
  }

  /** Follows what any member stores from the revision the state was read at; an unreadable write is ignored (the held state stays). */
  async follow(): Promise<void> {
    this.watcher = await this.store.watch(
      GUARD_KEY,
      (ev) => {
        if (ev.type !== "put" || ev.kv.key !== GUARD_KEY) return;
        const d = decodeRecord(GuardStateSchema, ev.kv.value);
        if (d.ok) this.hold(d.rec, ev.revision);
      },
      { fromRevision: this.modRevision + 1 },
    );
  }

  unfollow(): void {
    this.watcher?.close();
    this.watcher = undefined;
  }

  private hold(next: GuardState, modRevision: number): void {
    if (modRevision <= this.modRevision) return;
    this.state = next;
    this.modRevision = modRevision;
  }

  get current(): GuardState {
    return this.state;
  }

  /**
   * Stores `next` (with its event, in one txn), then holds it. A rejected write
   * rejects this promise and leaves the held state as it was. `via`: the store the
   * write goes through (the leader's guarded store; EventLog.txn).
   */
  save(next: GuardState, ev: NewEvent, via?: Store): Promise<void> {
    const run = this.queue.then(async () => {
      const res = await this.events.txn([], [{ type: "put", key: GUARD_KEY, value: encodeRecord(next) }], [ev], via);
      this.hold(next, res.revision);
    });
    this.queue = run.catch(() => undefined);
    return run;
  }
}
