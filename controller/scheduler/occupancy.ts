/**
 * Which hosts hold an instance during this plan: those running one that stays
 * (or that is moving away: a move is health-gated, so its source keeps running
 * until the new copy is healthy) and those given out earlier in the plan.
 *
 * Running instances are held as a set of host ids rather than host indexes: the
 * reconcile loop asks about one slot in a fleet of thousands, and hashing each
 * running instance's host id once is all it should pay for the rest (mapping
 * ids to indexes would hash every host as well).
 */
import type { Fleet } from "./fleet.js";

export interface Occupant {
  readonly service: string;
  readonly slot: number;
}

export class Occupancy {
  /**
   * Hosts given out in this plan, by id like the running ones: a host listed
   * twice (bad input) is then taken under both entries.
   */
  private readonly given = new Map<string, Occupant>();

  /**
   * @param running host ids of the instances that stay on their hosts (host-id-set.ts, or any set)
   * @param runningOn the instance owning a host in `running`, for messages
   */
  constructor(
    private readonly fleet: Fleet,
    private readonly running: { has(hostId: string): boolean },
    private readonly runningOn: (hostId: string) => Occupant | undefined,
  ) {}

  isTaken(i: number): boolean {
    const id = this.fleet.host(i).id;
    return this.given.has(id) || this.running.has(id);
  }

  /** The instance (`<service>-<slot>`) on host i, for messages. */
  occupant(i: number): string | undefined {
    const id = this.fleet.host(i).id;
    const o = this.given.get(id) ?? this.runningOn(id);
    return o === undefined ? undefined : `${o.service}-${o.slot}`;
  }

  /** Gives host i to an instance for the rest of the plan. */
  take(i: number, who: Occupant): void {
    this.given.set(this.fleet.host(i).id, who);
  }
}
