/**
 * Self-fencing (failover.stopAfterDisconnect) counts from the controller's last word.
 * A member cut off from etcd that sends this agent away (MoveOn, store_unavailable)
 * is no such word: a member that still has etcd may lead, find this host silent and
 * replace what it runs — so the agent must fence on time. But when every member of
 * its list has sent it away for that reason, no member can decide anything: nothing
 * will be replaced, and fencing would stop services for nothing (etcd lost its
 * quorum). Such a round then counts as word from the controller, dated by the oldest
 * of the members' latest answers — the moment since which all of them have said so.
 * Pure: times come in as arguments.
 */
export class StoreLossRound {
  /** Member → monotonic time of its latest "I cannot reach the store". */
  private readonly said = new Map<string, number>();

  record(member: string, atMono: number): void {
    this.said.set(member, atMono);
  }

  /** A member served this agent: the round starts again. */
  reset(): void {
    this.said.clear();
  }

  /** When every one of members has said so: the oldest of their latest answers; else undefined. */
  contactMono(members: readonly string[]): number | undefined {
    if (members.length === 0) return undefined;
    let oldest = Infinity;
    for (const m of members) {
      const t = this.said.get(m);
      if (t === undefined) return undefined;
      oldest = Math.min(oldest, t);
    }
    return oldest;
  }
}
