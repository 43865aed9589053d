/**
 * The shell around controller/pki/ca-record.ts: loads the CA record (creating the
 * first CA on a fresh store), follows it in the store, and writes its steps with
 * compare-and-swap. Every member of a group holds the record as the store has it
 * — never a state of its own — and reacts to each change through onChange (new
 * server credentials, the trust bundle pushed to its agents; controller/server.ts).
 */
import type { Logger } from "../../shared/log/logger.js";
import { caFingerprint, createCa, type CertAndKey } from "../../shared/tls/pki.js";
import type { HostRecord } from "../hosts/host.js";
import { decodeRecord, encodeRecord } from "../store/record.js";
import type { Store, Watcher } from "../store/store.js";
import { bundlePem, CA_KEY, CaRecordSchema, renewWithinMs, retireIfDone, signingCa, startRotation, trustedCas, type CaRecord } from "./ca-record.js";

/** The stored CA record cannot be read: the controller cannot sign, serve or verify anything without it. */
export class CaRecordUnreadableError extends Error {
  constructor(reason: string) {
    super(`stored record ${CA_KEY} (the controller's CA) is unusable: ${reason}`);
    this.name = "CaRecordUnreadableError";
  }
}

export class CaConflictError extends Error {
  constructor() {
    super("the CA record changed concurrently; try again");
    this.name = "CaConflictError";
  }
}

type Listener = (prev: CaRecord, next: CaRecord) => void;

export class CaKeeper {
  private watcher: Watcher | undefined;
  private readonly listeners = new Set<Listener>();
  private fpCache = new Map<string, string>();

  private constructor(
    private readonly store: Store,
    private rec: CaRecord,
    private modRevision: number,
    private readonly log: Logger,
    /** The store's revision when the record was read: follow() watches from after it. */
    private readonly loadedAt: number,
  ) {}

  /** Reads the record; on a fresh store the first member to start creates the CA, one that loses that race takes the winner's. */
  static async load(store: Store, log: Logger): Promise<CaKeeper> {
    for (let attempt = 0; attempt < 3; attempt++) {
      // Read before the record: nothing written after it is missed by the watch, and the watch
      // starts from a revision the store still keeps history for. The record's own revision may
      // be thousands of writes old, long compacted away (a restarted controller could not start).
      const at = await store.revision();
      const kv = await store.get(CA_KEY);
      if (kv) {
        const d = decodeRecord(CaRecordSchema, kv.value);
        if (!d.ok) throw new CaRecordUnreadableError(d.reason);
        return new CaKeeper(store, d.rec, kv.modRevision, log, Math.max(at, kv.modRevision));
      }
      const ca = await createCa({ commonName: "berth controller CA" });
      const res = await store.txn([{ key: CA_KEY, modRevision: 0 }], [{ type: "put", key: CA_KEY, value: encodeRecord(ca) }]);
      if (res.succeeded) return new CaKeeper(store, ca, res.revision, log, res.revision);
    }
    throw new CaConflictError();
  }

  /** Follows the record in the store: a rotation started or finished through any member lands here. */
  async follow(): Promise<void> {
    this.watcher = await this.store.watch(
      CA_KEY,
      (ev) => {
        if (ev.type !== "put" || ev.kv.key !== CA_KEY) return;
        this.adopt(ev.kv.value, ev.kv.modRevision);
      },
      { fromRevision: this.loadedAt + 1 },
    );
  }

  close(): void {
    this.watcher?.close();
    this.watcher = undefined;
  }

  private adopt(value: string, modRevision: number): void {
    if (modRevision <= this.modRevision) return; // our own write, already applied
    const d = decodeRecord(CaRecordSchema, value);
    if (!d.ok) {
      // Keep what works rather than stop trusting anyone: the writer of a bad record is a bug or a hand.
      this.log.error({ key: CA_KEY, reason: d.reason }, "the stored CA record is unusable; keeping the last good one");
      return;
    }
    const prev = this.rec;
    this.rec = d.rec;
    this.modRevision = modRevision;
    for (const l of this.listeners) {
      try {
        l(prev, d.rec);
      } catch (err) {
        this.log.error({ err }, "applying the CA record failed");
      }
    }
  }

  /** Called with the record before and after every change. */
  onChange(l: Listener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  get record(): CaRecord {
    return this.rec;
  }

  /** The CA host certificates are signed with now, read at each use (the deps' `ca`). */
  readonly signer: CertAndKey = Object.defineProperties({} as CertAndKey, {
    certPem: { get: () => signingCa(this.rec).certPem, enumerable: true },
    keyPem: { get: () => signingCa(this.rec).keyPem, enumerable: true },
  });

  trusted(): string[] {
    return trustedCas(this.rec);
  }

  bundlePem(): string {
    return bundlePem(this.rec);
  }

  fingerprintOf(pem: string): string {
    let fp = this.fpCache.get(pem);
    if (fp === undefined) {
      fp = caFingerprint(pem);
      this.fpCache.set(pem, fp);
    }
    return fp;
  }

  /** The CA the controller serves with: what a join token pins. */
  servingFingerprint(): string {
    return this.fingerprintOf(this.rec.certPem);
  }

  signingFingerprint(): string {
    return this.fingerprintOf(signingCa(this.rec).certPem);
  }

  renewWithinMs(): number {
    return renewWithinMs(this.rec);
  }

  /** `berth ca rotate`: a new CA introduced beside the current one. RotationInProgressError while one is. */
  async rotate(o: { nowMs: number; by: string; spreadMs: number }): Promise<CaRecord> {
    const next = startRotation(this.rec, await createCa({ commonName: `berth controller CA ${new Date(o.nowMs).toISOString().slice(0, 10)}` }), o);
    await this.write(next);
    return next;
  }

  /** Retires the old CA when no host is left on it (the leader calls this on every host change). True when it did. */
  async retireIfDone(hosts: readonly HostRecord[], nowMs: number): Promise<boolean> {
    const next = retireIfDone(this.rec, hosts, nowMs);
    if (!next) return false;
    await this.write(next);
    return true;
  }

  /** Compare-and-swap on the revision this member holds; applied here at once, the watch's echo is then skipped. */
  private async write(next: CaRecord): Promise<void> {
    const value = encodeRecord(next);
    const res = await this.store.txn([{ key: CA_KEY, modRevision: this.modRevision }], [{ type: "put", key: CA_KEY, value }]);
    if (!res.succeeded) throw new CaConflictError();
    this.adopt(value, res.revision);
  }
}
