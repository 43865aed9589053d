/**
 * Who decides (DESIGN.md, "The control plane"): every member serves agents and
 * operators, but only the leader runs the decision loops — reconcile and
 * rollouts, failure detection, the mass-failure guard. A Leadership starts those
 * (a *term*) when this member becomes the leader and stops them when it no longer
 * is. One controller on LevelDB is the leader at once and for good (SoleLeader);
 * a group on etcd plugs an election in behind the same interface.
 */

/** What the leader runs, for one term of leadership. */
export interface LeaderTerm {
  /** Stops every decision loop of the term; resolves when none runs any more. */
  stop(): Promise<void>;
}

/** Starts a term. Called once per election won; a term is never restarted, a new one is made. */
export type StartLeading = () => LeaderTerm | Promise<LeaderTerm>;

export interface Leadership {
  /**
   * Runs `lead` whenever this member becomes the leader and stops the term it
   * returned when it stops being one. Resolves once this member has entered the
   * competition (for SoleLeader: once the term has started).
   */
  run(lead: StartLeading): Promise<void>;
  /** Whether a term runs on this member now. */
  isLeader(): boolean;
  /** Stops the current term, if any, and stops competing. */
  close(): Promise<void>;
}

/** The only controller there is: leader from the start until it stops. */
export class SoleLeader implements Leadership {
  private term: LeaderTerm | undefined;
  private closed = false;

  async run(lead: StartLeading): Promise<void> {
    if (this.closed || this.term) return;
    this.term = await lead();
  }

  isLeader(): boolean {
    return this.term !== undefined;
  }

  async close(): Promise<void> {
    this.closed = true;
    const t = this.term;
    this.term = undefined;
    await t?.stop();
  }
}
