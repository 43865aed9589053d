/**
 * This controller as a member of a group on etcd (issue 11): its registration — a
 * key `<P>members/<id>` = {id, address, startedAtMs} under a lease of its own, so a
 * member killed without a word drops out of `berth controllers` within the TTL — and
 * what `berth controllers` reads about the group: the members, which one leads (the
 * election's oldest key) and the health of each etcd endpoint.
 *
 * The keys live beside the store's data (`<P>d/…`), not in it: a lease-backed key
 * that vanishes on its own must not be a Store record, whose every change the store's
 * revision counts.
 */
import type { Lease } from "etcd3";
import { z } from "zod";
import type { Logger } from "../../shared/log/logger.js";
import { setTimeoutClamped } from "../../shared/timer.js";
import type { EndpointHealth, EtcdStore } from "../store/etcd-store.js";
import { prefixEnd } from "../store/etcd-store.js";

export const MemberRecordSchema = z.object({
  id: z.string().min(1).max(128),
  address: z.string().min(1).max(300),
  startedAtMs: z.number().int().min(0),
});
export type MemberRecord = z.infer<typeof MemberRecordSchema>;

/** Where a term's leader writes who leads and since when (a Store record, through the guarded store). */
export const LEADER_KEY = "control/leader";
export const LeaderRecordSchema = z.object({ member: z.string().min(1).max(128), sinceMs: z.number().int().min(0) });

/** What `berth controllers` shows of the group; a lone controller answers for itself alone. */
export interface GroupView {
  store: "leveldb" | "etcd";
  members(): Promise<MemberRecord[]>;
  /** The members as last read (for a member that cannot reach the store now). */
  lastMembers?(): MemberRecord[];
  /** The member leading now, or undefined while none does. */
  leader(): Promise<string | undefined>;
  endpoints(): Promise<EndpointHealth[]>;
}

const MEMBERS = "members/";

export class EtcdGroup implements GroupView {
  readonly store = "etcd" as const;
  private lease: Lease | undefined;
  private closed = false;
  private readonly prefix: Buffer;
  private known: MemberRecord[] = [];

  constructor(
    private readonly d: {
      etcd: EtcdStore;
      self: MemberRecord;
      /** The registration's lease. */
      ttlMs: number;
      /** Who leads, from the election (store/election.ts Election.leader). */
      leader: () => Promise<string | undefined>;
      log: Logger;
    },
  ) {
    this.prefix = Buffer.from(d.etcd.prefix + MEMBERS, "utf8");
  }

  /** Puts this member's key under a new lease, and again whenever that lease is lost. */
  async register(): Promise<void> {
    if (this.closed) return;
    const lease = this.d.etcd.client.lease(Math.max(2, Math.ceil(this.d.ttlMs / 1000)), { autoKeepAlive: true });
    this.lease = lease;
    lease.on("lost", (err) => {
      if (this.closed || this.lease !== lease) return;
      this.d.log.warn({ err }, "the member registration's lease was lost; registering again");
      setTimeoutClamped(() => void this.register().catch((e: unknown) => this.d.log.warn({ err: e }, "registering the member failed")), 500);
    });
    await lease.put(Buffer.concat([this.prefix, Buffer.from(this.d.self.id, "utf8")])).value(JSON.stringify(this.d.self));
    // Known from now on, should etcd go before anyone asks (lastMembers).
    await this.members().catch(() => undefined);
  }

  async members(): Promise<MemberRecord[]> {
    const res = await this.d.etcd.retry("a read", (o) => this.d.etcd.client.kv.range({ key: this.prefix, range_end: prefixEnd(this.prefix) }, o));
    const out: MemberRecord[] = [];
    for (const kv of res.kvs) {
      const p = MemberRecordSchema.safeParse(safeJson(kv.value.toString("utf8")));
      if (p.success) out.push(p.data);
      else this.d.log.warn({ key: kv.key.toString("utf8") }, "member record unreadable; left out");
    }
    this.known = out;
    return out;
  }

  lastMembers(): MemberRecord[] {
    return [...this.known];
  }

  leader(): Promise<string | undefined> {
    return this.d.leader();
  }

  endpoints(): Promise<EndpointHealth[]> {
    return this.d.etcd.endpointHealth();
  }

  /** Removes the registration at once (revokes its lease). */
  async close(): Promise<void> {
    this.closed = true;
    const l = this.lease;
    this.lease = undefined;
    await l?.revoke().catch(() => undefined);
  }
}

function safeJson(s: string): unknown {
  try {
    return JSON.parse(s) as unknown;
  } catch {
    return undefined;
  }
}
