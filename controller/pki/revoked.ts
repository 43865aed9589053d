/**
 * Revoked certificate serials (`berth host remove`): one key per serial,
 * `pki/revoked/<serial>`, written in the txn that deletes the host. Held in memory
 * and following the store, so every member refuses a removed host's certificate
 * at stream and artifact auth with a synchronous look-up — whichever member
 * removed it. Kept until the certificate would have expired anyway: past that,
 * verifyClientCert refuses it on its own, and the leader prunes the entry
 * (prunableRevocations, run by the expiry watch's pass).
 */
import { z } from "zod";
import type { Op, Store, WatchEvent, Watcher } from "../store/store.js";
import { decodeRecord, encodeRecord } from "../store/record.js";
import type { HostRecord } from "../hosts/host.js";

export const REVOKED_PREFIX = "pki/revoked/";

export interface RevokedCert {
  serial: string;
  hostId: string;
  revokedAtMs: number;
  /** When the certificate expires: the entry is useless after it. 0: unknown. */
  notAfterMs: number;
  /** The token that removed the host. */
  by: string;
}

const RevokedSchema = z.object({
  serial: z.string().min(1),
  hostId: z.string().min(1),
  revokedAtMs: z.number().min(0),
  notAfterMs: z.number().min(0),
  by: z.string(),
});

/** What `berth host remove` revokes: the host's current certificate and the one a renewal replaced, each with its expiry (0: unknown). */
export function revocationsOf(rec: Pick<HostRecord, "id" | "certSerial" | "certNotAfterMs" | "prevCertSerial" | "prevCertNotAfterMs">, nowMs: number, by: string): RevokedCert[] {
  const out: RevokedCert[] = [];
  if (rec.certSerial) out.push({ serial: rec.certSerial, hostId: rec.id, revokedAtMs: nowMs, notAfterMs: rec.certNotAfterMs ?? 0, by });
  if (rec.prevCertSerial) out.push({ serial: rec.prevCertSerial, hostId: rec.id, revokedAtMs: nowMs, notAfterMs: rec.prevCertNotAfterMs ?? 0, by });
  return out;
}

/**
 * The serials whose entry is no use any more: their certificate has expired, so it
 * is refused without the entry. One whose expiry is unknown (0: revoked before
 * it was kept) stays. One whose host an instance still names stays too: hosts()
 * is how the planner knows to replace that instance (reconcile/planner.ts
 * removedHosts), and the leader's pass may not have run yet.
 */
export function prunableRevocations(certs: Iterable<RevokedCert>, nowMs: number, hostsInUse: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (const c of certs) if (c.notAfterMs > 0 && c.notAfterMs <= nowMs && !hostsInUse.has(c.hostId)) out.push(c.serial);
  return out;
}

export class RevokedSerials {
  private readonly bySerial = new Map<string, RevokedCert>();
  private watcher: Watcher | undefined;

  constructor(private readonly store: Store) {}

  /** Reads every entry and follows the store from there. An unreadable entry is skipped (its serial stays refusable by the host record being gone). */
  async start(): Promise<void> {
    const at = await this.store.revision();
    for (const kv of await this.store.scan(REVOKED_PREFIX)) this.hold(kv.key, kv.value);
    this.watcher = await this.store.watch(REVOKED_PREFIX, (ev) => this.apply(ev), { fromRevision: at + 1 });
  }

  stop(): void {
    this.watcher?.close();
    this.watcher = undefined;
  }

  private hold(key: string, value: string): void {
    const d = decodeRecord(RevokedSchema, value);
    if (d.ok && key === REVOKED_PREFIX + d.rec.serial) this.bySerial.set(d.rec.serial, d.rec);
  }

  private apply(ev: WatchEvent): void {
    if (ev.type === "put") this.hold(ev.kv.key, ev.kv.value);
    else this.bySerial.delete(ev.key.slice(REVOKED_PREFIX.length));
  }

  get(serial: string): RevokedCert | undefined {
    return this.bySerial.get(serial);
  }

  /** Hosts with a revoked certificate: removed hosts, whose instances the planner replaces. */
  hosts(): Set<string> {
    return new Set([...this.bySerial.values()].map((r) => r.hostId));
  }

  /** The ops that revoke these serials (written with the host's deletion), also held at once. */
  revokeOps(certs: readonly RevokedCert[]): Op[] {
    return certs.map((c) => ({ type: "put", key: REVOKED_PREFIX + c.serial, value: encodeRecord(c) }));
  }

  /** Held right after the txn succeeded, so this member refuses them before the watch echoes them. */
  held(certs: readonly RevokedCert[]): void {
    for (const c of certs) this.bySerial.set(c.serial, c);
  }

  /**
   * The leader's: deletes the entries prunableRevocations names, in one txn through
   * `via` (its term's guarded store: a deposed leader's prune changes nothing and
   * rejects with NotLeaderError). Returns the serials dropped.
   */
  async prune(nowMs: number, hostsInUse: ReadonlySet<string>, via: Store = this.store): Promise<string[]> {
    const gone = prunableRevocations(this.bySerial.values(), nowMs, hostsInUse);
    if (!gone.length) return [];
    await via.txn([], gone.map((s) => ({ type: "delete", key: REVOKED_PREFIX + s })));
    for (const s of gone) this.bySerial.delete(s);
    return gone;
  }
}
