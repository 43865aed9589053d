/**
 * The error of a write by a member that no longer leads — in a module of its own, so
 * what only handles it (leader/leadership.ts) need not load the etcd client.
 */

/** A write by a member that no longer leads (or never did): nothing was changed. */
export class NotLeaderError extends Error {
  constructor(
    readonly memberId: string,
    detail: string,
  ) {
    super(`controller ${memberId} is not the leader: ${detail}`);
    this.name = "NotLeaderError";
  }
}
