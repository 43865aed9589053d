/**
 * Who decides (DESIGN.md, "The control plane"): every member serves agents and
 * operators, but only the leader runs the decision loops — reconcile and
 * rollouts, failure detection, the mass-failure guard. A Leadership starts those
 * (a *term*) when this member becomes the leader and stops them when it no longer
 * is. One controller on LevelDB is the leader at once and for good (SoleLeader);
 * a group on etcd is led by whoever wins its election (ElectedLeader).
 */
import type { Logger } from "../../shared/log/logger.js";
import { setTimeoutClamped } from "../../shared/timer.js";
import { NotLeaderError } from "../store/not-leader.js";
import type { Store } from "../store/store.js";

/** What the leader runs, for one term of leadership. */
export interface LeaderTerm {
  /** Stops every decision loop of the term; resolves when none runs any more. */
  stop(): Promise<void>;
}

/** What a term is given. */
export interface TermContext {
  /**
   * The store the term's decisions are written through: in a group, one whose every
   * write carries, in the same etcd transaction, the compare that this member still
   * holds the leader key (store/election.ts guardStore), so a deposed leader's write
   * changes nothing and fails with NotLeaderError. Absent: the member's own store.
   */
  writes?: Store;
  /**
   * Whether the term still holds its lease as this process's own clock sees it — false
   * as soon as a keep-alive has gone unanswered for the lease's length (a freeze, a cut),
   * before the election's own timer has ended the term. Absent: always (a sole leader).
   */
  leading?: () => boolean;
}

/** Starts a term. Called once per election won; a term is never restarted, a new one is made. */
export type StartLeading = (ctx: TermContext) => LeaderTerm | Promise<LeaderTerm>;

export interface Leadership {
  /**
   * Runs `lead` whenever this member becomes the leader and stops the term it
   * returned when it stops being one. Resolves once this member has entered the
   * competition (for SoleLeader: once the term has started).
   */
  run(lead: StartLeading): Promise<void>;
  /** Whether a term runs on this member now. */
  isLeader(): boolean;
  /** When the running term started (wall clock), if one runs. */
  leadingSinceMs(): number | undefined;
  /** Stops the current term, if any, and stops competing. */
  close(): Promise<void>;
}

/** The only controller there is: leader from the start until it stops. */
export class SoleLeader implements Leadership {
  private term: LeaderTerm | undefined;
  private closed = false;
  private sinceMs: number | undefined;

  constructor(private readonly now: () => number = Date.now) {}

  async run(lead: StartLeading): Promise<void> {
    if (this.closed || this.term) return;
    this.sinceMs = this.now();
    this.term = await lead({});
  }

  isLeader(): boolean {
    return this.term !== undefined;
  }

  leadingSinceMs(): number | undefined {
    return this.term ? this.sinceMs : undefined;
  }

  async close(): Promise<void> {
    this.closed = true;
    const t = this.term;
    this.term = undefined;
    await t?.stop();
  }
}

/** Leadership as won from an election (store/election.ts Election's campaign). */
export interface HeldLeadership {
  /** The leader key (named in errors and logs). */
  key: string;
  /** Resolves (with why) once leadership is lost or given up. */
  lost: Promise<string>;
  /** A store whose writes hold only while this leadership does. */
  store: Store;
  /** Gives leadership up at once. */
  resign(): Promise<void>;
  /** Whether the lease still holds by this process's clock (store/election.ts: no keep-alive answered within the lease is a lease lost). */
  isLeader?(): boolean;
}

/** What ElectedLeader needs of an election: store/election.ts Election is one. */
export interface Campaigner {
  /** Resolves once this member leads; rejects if the campaign fails or is given up. */
  campaign(): Promise<HeldLeadership>;
  /** Resigns (or gives up a campaign running) and stops. */
  close(): Promise<void>;
}

/** A campaign that failed (etcd unreachable) is tried again after this long. @default */
const CAMPAIGN_RETRY_MS = 500;

/**
 * The Leadership of a controller group member: it campaigns, starts a term on each
 * election won, hands the term the guarded store for its decisions, and stops the
 * term when leadership is lost — the lease judged gone, or a guarded write refused
 * (another member leads: no point trying the next write) — then campaigns again.
 * close() stops the term before it resigns, so no decision is written after the
 * leader key is gone and the next member leads at once (a clean shutdown).
 */
export class ElectedLeader implements Leadership {
  private term: LeaderTerm | undefined;
  private stopping: Promise<void> | undefined;
  private sinceMs: number | undefined;
  private closed = false;
  private running: Promise<void> | undefined;
  private wakeClosed!: () => void;
  private readonly closedSignal = new Promise<void>((r) => (this.wakeClosed = r));

  constructor(private readonly d: { election: Campaigner; log: Logger; now?: () => number; retryMs?: number }) {}

  run(lead: StartLeading): Promise<void> {
    if (!this.closed) this.running ??= this.campaignLoop(lead);
    return Promise.resolve();
  }

  isLeader(): boolean {
    return this.term !== undefined;
  }

  leadingSinceMs(): number | undefined {
    return this.term ? this.sinceMs : undefined;
  }

  async close(): Promise<void> {
    if (this.closed) return this.running;
    this.closed = true;
    this.wakeClosed();
    await this.endTerm();
    await this.d.election.close();
    await this.running;
  }

  private endTerm(): Promise<void> {
    const t = this.term;
    if (t) {
      this.term = undefined;
      this.stopping = t.stop().finally(() => (this.stopping = undefined));
    }
    return this.stopping ?? Promise.resolve();
  }

  private async campaignLoop(lead: StartLeading): Promise<void> {
    const { log } = this.d;
    while (!this.closed) {
      let held: HeldLeadership;
      try {
        held = await this.d.election.campaign();
      } catch (err) {
        if (this.closed) return;
        log.warn({ err }, "campaigning for leadership failed; trying again");
        await Promise.race([new Promise<void>((r) => setTimeoutClamped(() => r(), this.d.retryMs ?? CAMPAIGN_RETRY_MS).unref()), this.closedSignal]);
        continue;
      }
      if (this.closed) {
        await held.resign();
        return;
      }
      let refused!: (why: string) => void;
      const refusal = new Promise<string>((r) => (refused = r));
      const writes = refusingStore(held.store, (err) => refused(err.message));
      try {
        this.sinceMs = (this.d.now ?? Date.now)();
        const isLeader = held.isLeader?.bind(held);
        this.term = await lead({ writes, ...(isLeader ? { leading: isLeader } : {}) });
      } catch (err) {
        log.error({ err }, "starting the leader's term failed; giving leadership up");
        await held.resign();
        continue;
      }
      log.info({ key: held.key }, "leading the controller group");
      const why = await Promise.race([held.lost, refusal, this.closedSignal.then(() => "shutting down")]);
      await this.endTerm();
      if (this.closed) return;
      log.warn({ key: held.key, why }, "no longer leading: decisions stopped");
      // Gone already when the lease was lost; after a refused write, hand over at once.
      await held.resign();
    }
  }
}

/** store, with a callback on every write it refuses with NotLeaderError (the error still reaches the caller). */
function refusingStore(store: Store, onRefused: (err: NotLeaderError) => void): Store {
  const watch = <T>(p: Promise<T>): Promise<T> =>
    p.catch((err: unknown) => {
      if (err instanceof NotLeaderError) onRefused(err);
      throw err;
    });
  return {
    get: (key) => store.get(key),
    put: (key, value) => watch(store.put(key, value)),
    delete: (key) => watch(store.delete(key)),
    txn: (compares, ops) => watch(store.txn(compares, ops)),
    scan: (prefix, opts) => store.scan(prefix, opts),
    watch: (prefix, onEvent, opts) => store.watch(prefix, onEvent, opts),
    revision: () => store.revision(),
    close: () => store.close(),
  };
}
