/**
 * Services and instances as stored, cached in memory with each key's
 * modRevision so every write is a compare-and-set on what was read. A conflict
 * (another writer got there first) refreshes the cache; the next reconcile pass
 * works from the fresh state.
 *
 * In a controller group every member writes (an operator's apply through any
 * member, the leader's placements), so once loaded the cache follows the store
 * through its watch (follow()), from the revision it loaded at: a change by
 * anyone lands here, applied by modRevision, so its own writes (already in the
 * cache at that revision) and the watch's echo of them are the same change.
 */
import { CompactedError, type Compare, type KeyValue, type Op, type Store, type WatchEvent, type Watcher } from "../store/store.js";
import type { EventLog, NewEvent } from "../events/event-log.js";
import type { RolloutState } from "../rollout/next-step.js";
import { RolloutStateSchema } from "../rollout/next-step.js";
import { decodeRecord, encodeRecord, serviceOfKey, type Quarantined } from "../store/record.js";
import type { z } from "zod";
import {
  INSTANCE_PREFIX,
  InstanceRecordSchema,
  ROLLOUT_PREFIX,
  SERVICE_PREFIX,
  ServiceRecordSchema,
  assignments,
  instanceId,
  instanceKey,
  rolloutKey,
  serviceKey,
  type InstanceRecord,
  type ServiceRecord,
} from "./records.js";

/**
 * One key per occupied host: `claims/<hostId>` → the instance that holds it.
 * A placement creates its claim with "must not exist", in the same txn as the
 * instance record, so two decisions made at once (two controllers, or a plan
 * made from a stale view) can never put two instances on one host: the second
 * txn fails and nothing of it is applied (Nomad's plan_apply check).
 */
export const CLAIM_PREFIX = "claims/";
const claimKey = (hostId: string): string => `${CLAIM_PREFIX}${hostId}`;

/** The hosts an instance occupies: where it runs, and where it is moving to. */
function hostsOf(i: InstanceRecord | undefined): string[] {
  if (!i) return [];
  return [i.hostId, i.moveTo?.hostId ?? ""].filter(Boolean);
}

/**
 * `berth apply --check-revision N` refused: a service the apply reads changed
 * after store revision N, the one its plan was made from (or N cannot be checked).
 */
export class CheckRevisionError extends Error {
  constructor(
    readonly revision: number,
    /** What changed, e.g. "web updated at state index 57"; empty when N cannot be checked. */
    readonly changes: readonly string[],
    message: string,
  ) {
    super(message);
    this.name = "CheckRevisionError";
  }
}

/** The services an apply reads: those its files name, or with prune every one. */
export interface UnchangedSince {
  /** The store revision the plan was made from. */
  revision: number;
  services: readonly string[] | "all";
}

interface Cached<T> {
  rec: T;
  modRevision: number;
}

/** A quarantined record of a service (services/, instances/ or rollouts/). */
export interface QuarantinedRecord extends Quarantined {
  service: string;
}

/**
 * Decodes every record of a scan. A bad record (controller/store/record.ts) is
 * quarantined, as is a good one filed under another record's key (`services/a`
 * holding service b): whose it is cannot be told.
 */
function decodeAll<T>(kvs: readonly KeyValue[], prefix: string, schema: z.ZodType<T>, keyOf: (rec: T) => string, good: Map<string, Cached<T>>, bad: Map<string, QuarantinedRecord>): void {
  for (const kv of kvs) {
    const d = decodeRecord(schema, kv.value);
    const reason = !d.ok ? d.reason : keyOf(d.rec) !== kv.key ? `filed under ${kv.key} but is ${keyOf(d.rec)}` : undefined;
    if (reason === undefined && d.ok) good.set(kv.key, { rec: d.rec, modRevision: kv.modRevision });
    else bad.set(kv.key, { key: kv.key, service: serviceOfKey(kv.key, prefix), reason: reason ?? "", modRevision: kv.modRevision });
  }
}

export class ServiceState {
  private services = new Map<string, Cached<ServiceRecord>>();
  private instances = new Map<string, Cached<InstanceRecord>>();
  private rollouts = new Map<string, Cached<RolloutState>>();
  /** Records that failed validation on load, by key: not used; their service is left alone until they are replaced. */
  private quarantine = new Map<string, QuarantinedRecord>();
  /** Hosts with a claim (claims/), by key. */
  private claims = new Map<string, number>();
  /** Keys deleted, and at which revision: an older put the watch replays must not bring them back. */
  private tombs = new Map<string, number>();
  private blocked: { version: number; hosts: ReadonlySet<string> } | undefined;
  private readonly listeners = new Set<() => void>();
  private watchers: Watcher[] = [];
  /** Commits waiting for the watch to reach their revision. */
  private waiters: { revision: number; resolve: () => void }[] = [];
  /** The revision of the last load; follow() starts after it. */
  private loadedAt = 0;
  /** Bumped whenever the cached records change: derived views are kept per version. */
  private _version = 0;

  /**
   * Changes whenever the cached records do. A writer that decided from what it read
   * passes the version it read to commit(): the per-key compare-and-set is taken
   * from the cache when the commit runs, so without it a decision made before
   * another commit landed (a reconcile pass queued behind an operator's pause)
   * would overwrite that commit.
   */
  get version(): number {
    return this._version;
  }
  private assigned: { version: number; map: ReturnType<typeof assignments> } | undefined;
  private left: { version: number; map: Map<string, string[]> } | undefined;

  private _storeRevision = 0;

  /**
   * A store revision the cached records are current at: every write to services,
   * instances and rollouts up to it — this member's own, and (following) every
   * other member's the watch has delivered — is in the cache. `berth plan` reports
   * it, and `apply --check-revision` checks against the store's own history.
   */
  get storeRevision(): number {
    return this._storeRevision;
  }

  constructor(
    private readonly store: Store,
    private readonly events: EventLog,
  ) {}

  /**
   * Reads every record. A bad one is quarantined, never thrown: one unreadable
   * record must not keep the controller from starting or the fleet from converging.
   * Returns the records newly quarantined by this load (the caller reports them).
   */
  async load(): Promise<QuarantinedRecord[]> {
    // Read before the scans: the cache may then hold later writes too, which makes a
    // check against this revision refuse too much, never too little.
    const revision = await this.store.revision();
    const [svcs, insts, rolls, claims] = await Promise.all([this.store.scan(SERVICE_PREFIX), this.store.scan(INSTANCE_PREFIX), this.store.scan(ROLLOUT_PREFIX), this.store.scan(CLAIM_PREFIX)]);
    const services = new Map<string, Cached<ServiceRecord>>();
    const instances = new Map<string, Cached<InstanceRecord>>();
    const rollouts = new Map<string, Cached<RolloutState>>();
    const quarantine = new Map<string, QuarantinedRecord>();
    decodeAll(svcs, SERVICE_PREFIX, ServiceRecordSchema, (r) => serviceKey(r.name), services, quarantine);
    decodeAll(insts, INSTANCE_PREFIX, InstanceRecordSchema, (r) => instanceKey(r.service, r.slot), instances, quarantine);
    decodeAll(rolls, ROLLOUT_PREFIX, RolloutStateSchema, (r) => rolloutKey(r.service), rollouts, quarantine);
    const fresh = [...quarantine.values()].filter((q) => this.quarantine.get(q.key)?.reason !== q.reason);
    this.services = services;
    this.instances = instances;
    this.rollouts = rollouts;
    this.quarantine = quarantine;
    this._storeRevision = revision;
    this.loadedAt = revision;
    this.claims = new Map(claims.map((kv) => [kv.key, kv.modRevision]));
    this.tombs.clear();
    this.changed();
    return fresh;
  }

  /** Called after every change of the cached records, whoever made it. Returns the unsubscribe. */
  onChange(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => void this.listeners.delete(fn);
  }

  private changed(): void {
    this._version++;
    for (const fn of this.listeners) fn();
  }

  /**
   * Follows the store from the revision load() read at: every change to services,
   * instances, rollouts and claims made after it — by this member or another — is
   * applied to the cache, so nothing written between the load and the watch is
   * missed. Call once, after load(); stop with unfollow().
   */
  async follow(): Promise<void> {
    const from = this.loadedAt + 1;
    // One watch over every key, not one per prefix: changes then arrive in revision
    // order across the four, so storeRevision never runs ahead of what the cache holds.
    this.watchers = [await this.store.watch("", (ev) => this.apply(ev), { fromRevision: from })];
  }

  unfollow(): void {
    for (const w of this.watchers.splice(0)) w.close();
    for (const w of this.waiters.splice(0)) w.resolve();
  }

  /** The revision of what the cache holds for a key (0: nothing, and never deleted). */
  private heldRevision(key: string): number {
    return (
      this.services.get(key)?.modRevision ??
      this.instances.get(key)?.modRevision ??
      this.rollouts.get(key)?.modRevision ??
      this.quarantine.get(key)?.modRevision ??
      this.claims.get(key) ??
      this.tombs.get(key) ??
      0
    );
  }

  /** One change from the store; ignored when the cache already holds it or a newer one. */
  private apply(ev: WatchEvent): void {
    this.applyChange(ev);
    const due = this.waiters.filter((w) => w.revision <= this._storeRevision);
    if (!due.length) return;
    this.waiters = this.waiters.filter((w) => w.revision > this._storeRevision);
    for (const w of due) w.resolve();
  }

  private applyChange(ev: WatchEvent): void {
    const key = ev.type === "put" ? ev.kv.key : ev.key;
    if (![SERVICE_PREFIX, INSTANCE_PREFIX, ROLLOUT_PREFIX, CLAIM_PREFIX].some((p) => key.startsWith(p))) {
      this._storeRevision = Math.max(this._storeRevision, ev.revision);
      return;
    }
    if (ev.revision <= this.heldRevision(key)) return;
    this.services.delete(key);
    this.instances.delete(key);
    this.rollouts.delete(key);
    this.quarantine.delete(key);
    this.claims.delete(key);
    this.tombs.delete(key);
    if (ev.type === "delete") this.tombs.set(key, ev.revision);
    else if (key.startsWith(CLAIM_PREFIX)) this.claims.set(key, ev.revision);
    else if (key.startsWith(SERVICE_PREFIX)) decodeAll([ev.kv], SERVICE_PREFIX, ServiceRecordSchema, (r) => serviceKey(r.name), this.services, this.quarantine);
    else if (key.startsWith(INSTANCE_PREFIX)) decodeAll([ev.kv], INSTANCE_PREFIX, InstanceRecordSchema, (r) => instanceKey(r.service, r.slot), this.instances, this.quarantine);
    else if (key.startsWith(ROLLOUT_PREFIX)) decodeAll([ev.kv], ROLLOUT_PREFIX, RolloutStateSchema, (r) => rolloutKey(r.service), this.rollouts, this.quarantine);
    this._storeRevision = Math.max(this._storeRevision, ev.revision);
    this.changed();
  }

  /** After a conflict: what the failed keys hold now, read directly (the watch brings the same, later). */
  private async refresh(keys: readonly string[]): Promise<void> {
    const revision = await this.store.revision();
    for (const key of keys) {
      const kv = await this.store.get(key);
      this.apply(kv ? { type: "put", kv, revision: kv.modRevision } : { type: "delete", key, revision });
    }
  }

  /** Every quarantined record, by key order. */
  quarantined(): QuarantinedRecord[] {
    return [...this.quarantine.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  /**
   * Why a service cannot be decided about: one of its records is quarantined.
   * Its instances stay as they are until the record is replaced (`berth apply`).
   */
  quarantinedReason(name: string): string | undefined {
    if (!this.quarantine.size) return undefined;
    const mine = this.quarantined().filter((q) => q.service === name);
    return mine.length ? mine.map((q) => `stored record ${q.key} is unusable: ${q.reason}`).join("; ") : undefined;
  }

  /** Names of services with a quarantined record but no readable service record. */
  unreadableServices(): string[] {
    return [...new Set(this.quarantined().map((q) => q.service))].filter((n) => n && !this.services.has(serviceKey(n)));
  }

  /** Hosts held by records this controller cannot read: nothing else may be placed there. */
  blockedHosts(): ReadonlySet<string> {
    if (this.blocked?.version !== this._version) {
      const held = new Set([...this.instances.values()].flatMap((c) => hostsOf(c.rec)));
      const claimed = [...this.claims.keys()].map((k) => k.slice(CLAIM_PREFIX.length));
      this.blocked = { version: this._version, hosts: new Set(claimed.filter((h) => !held.has(h))) };
    }
    return this.blocked.hosts;
  }

  /**
   * Host id → the instance (and epoch) it should run, derived from the records
   * once per change rather than once per host asking: every reconcile pass and
   * every `berth hosts` asks for each host.
   */
  hostAssignments(): ReturnType<typeof assignments> {
    if (this.assigned?.version !== this._version) this.assigned = { version: this._version, map: assignments(this.allInstances()) };
    return this.assigned.map;
  }

  /**
   * host → the copies replaced while it was down that it may still run (InstanceRecord.leftOn),
   * as "web-0 (epoch 4)"; built once per change of the records, as hostAssignments is.
   */
  leftCopiesByHost(): ReadonlyMap<string, string[]> {
    if (this.left?.version !== this._version) {
      const map = new Map<string, string[]>();
      for (const i of this.allInstances()) {
        for (const l of i.leftOn ?? []) map.set(l.hostId, [...(map.get(l.hostId) ?? []), `${instanceId(i.service, i.slot)} (epoch ${l.epoch})`]);
      }
      this.left = { version: this._version, map };
    }
    return this.left.map;
  }

  allServices(): ServiceRecord[] {
    return [...this.services.values()].map((c) => c.rec).sort((a, b) => a.name.localeCompare(b.name));
  }

  service(name: string): ServiceRecord | undefined {
    return this.services.get(serviceKey(name))?.rec;
  }

  /** The rollout in progress or the last one, per service name. */
  rollout(name: string): RolloutState | undefined {
    return this.rollouts.get(rolloutKey(name))?.rec;
  }

  allRollouts(): RolloutState[] {
    return [...this.rollouts.values()].map((c) => c.rec);
  }

  allInstances(): InstanceRecord[] {
    return [...this.instances.values()].map((c) => c.rec);
  }

  instancesOf(name: string): InstanceRecord[] {
    return this.allInstances()
      .filter((i) => i.service === name)
      .sort((a, b) => a.slot - b.slot);
  }

  /**
   * Throws CheckRevisionError when a service in `since` changed after its revision,
   * from the store's own history (deletions included, which the cache cannot show).
   */
  private async checkUnchanged(since: UnchangedSince): Promise<void> {
    const current = await this.store.revision();
    const n = since.revision;
    if (n > current) throw new CheckRevisionError(n, [], `state index ${n} is ahead of the controller's (${current}): use the one \`berth plan\` printed`);
    const all = since.services === "all";
    const names = new Set(all ? [] : since.services);
    const last = new Map<string, string>();
    const watcher = await this.store
      .watch(
        SERVICE_PREFIX,
        (ev) => {
          const key = ev.type === "put" ? ev.kv.key : ev.key;
          const name = key.slice(SERVICE_PREFIX.length);
          if (!all && !names.has(name)) return;
          const what = ev.type === "delete" ? "deleted" : ev.kv.createRevision === ev.revision ? "created" : "updated";
          last.set(name, `${name} ${what} at state index ${ev.revision}`);
        },
        { fromRevision: n + 1 },
      )
      .catch((err: unknown) => {
        if (err instanceof CompactedError) throw new CheckRevisionError(n, [], `state index ${n} is older than the controller keeps changes for (from ${err.oldest} on); plan again`);
        throw err;
      });
    watcher.close();
    if (last.size === 0) return;
    const changes = [...last.keys()].sort().map((k) => last.get(k)!);
    throw new CheckRevisionError(n, changes, `changed since the plan (state index ${n}): ${changes.join(", ")}; plan again`);
  }

  /**
   * Writes services, instances and events in one txn guarded by the cached
   * revisions of every key it touches. Returns false on a conflict (the cache
   * is then reloaded) and changes nothing.
   */
  async commit(c: {
    putServices?: ServiceRecord[];
    deleteServices?: string[];
    putInstances?: InstanceRecord[];
    deleteInstances?: { service: string; slot: number }[];
    /** Rollout records to write; a deleted service's rollout record goes with it. */
    putRollouts?: RolloutState[];
    events?: NewEvent[];
    extraOps?: Op[];
    extraCompares?: Compare[];
    /** The version the decision was made from; a commit since then fails this one (false). */
    readVersion?: number;
    /**
     * Refuse (CheckRevisionError) if any of these services changed after this store
     * revision: checked against the store's history, then held by compare-and-set in
     * the same txn, so nothing can change them between the check and the write.
     */
    unchangedSince?: UnchangedSince;
    /** The store the txn goes through: a leader's decisions pass its guarded store (EventLog.txn). */
    via?: Store;
  }): Promise<boolean> {
    // One commit (and the reload after a conflict) at a time: a reload's scan must
    // not land after, and undo, the cache update of a commit that succeeded meanwhile.
    const run = this.queue.then(() => this.commitNow(c));
    this.queue = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  private queue: Promise<void> = Promise.resolve();

  private async commitNow(c: Parameters<ServiceState["commit"]>[0]): Promise<boolean> {
    if (c.readVersion !== undefined && c.readVersion !== this._version) return false;
    const compares: Compare[] = [...(c.extraCompares ?? [])];
    if (c.unchangedSince) {
      await this.checkUnchanged(c.unchangedSince);
      // Guard the services read but not written here as well (written ones are guarded below).
      const written = new Set([...(c.putServices ?? []).map((x) => x.name), ...(c.deleteServices ?? [])]);
      const read = c.unchangedSince.services === "all" ? [...this.services.values()].map((x) => x.rec.name) : c.unchangedSince.services;
      for (const name of new Set(read)) if (!written.has(name)) compares.push({ key: serviceKey(name), modRevision: this.services.get(serviceKey(name))?.modRevision ?? 0 });
    }
    const ops: Op[] = [...(c.extraOps ?? [])];
    // A quarantined record is overwritten (an apply repairs it) or deleted at its stored revision.
    const guard = (map: Map<string, Cached<unknown>>, k: string): void => {
      compares.push({ key: k, modRevision: map.get(k)?.modRevision ?? this.quarantine.get(k)?.modRevision ?? 0 });
    };
    for (const s of c.putServices ?? []) {
      guard(this.services, serviceKey(s.name));
      ops.push({ type: "put", key: serviceKey(s.name), value: encodeRecord(s) });
    }
    for (const n of c.deleteServices ?? []) {
      guard(this.services, serviceKey(n));
      ops.push({ type: "delete", key: serviceKey(n) });
      if (this.rollouts.has(rolloutKey(n)) || this.quarantine.has(rolloutKey(n))) {
        guard(this.rollouts, rolloutKey(n));
        ops.push({ type: "delete", key: rolloutKey(n) });
      }
    }
    for (const r of c.putRollouts ?? []) {
      guard(this.rollouts, rolloutKey(r.service));
      ops.push({ type: "put", key: rolloutKey(r.service), value: encodeRecord(r) });
    }
    const claimed = new Set<string>();
    const released = new Set<string>();
    for (const i of c.putInstances ?? []) {
      const k = instanceKey(i.service, i.slot);
      const before = hostsOf(this.instances.get(k)?.rec);
      const after = hostsOf(i);
      for (const h of after) if (!before.includes(h)) claimed.add(h);
      for (const h of before) if (!after.includes(h)) released.add(h);
      guard(this.instances, k);
      ops.push({ type: "put", key: k, value: encodeRecord(i) });
      for (const h of after) if (claimed.has(h)) ops.push({ type: "put", key: claimKey(h), value: instanceId(i.service, i.slot) });
    }
    for (const d of c.deleteInstances ?? []) {
      const k = instanceKey(d.service, d.slot);
      for (const h of hostsOf(this.instances.get(k)?.rec)) released.add(h);
      guard(this.instances, k);
      ops.push({ type: "delete", key: k });
    }
    for (const h of claimed) {
      // Handed from one instance to another in this txn: the releasing instance's
      // own compare-and-set guards it. Otherwise the host must be free.
      if (released.has(h)) released.delete(h);
      else compares.push({ key: claimKey(h), modRevision: 0 });
    }
    for (const h of released) ops.push({ type: "delete", key: claimKey(h) });
    if (!ops.length && !c.events?.length) return true;
    const res = await this.events.txn(compares, ops, c.events ?? [], c.via);
    if (!res.succeeded) {
      // Following: only what conflicted is stale (the watch brings the rest). Not following: reload it all.
      if (this.watchers.length) await this.refresh(res.failed);
      else await this.load();
      return false;
    }
    // Following, the watch advances it (a write of another member's at a lower revision
    // may not have arrived yet); the commit returns once it has, so what this member
    // reports next (`berth plan`'s revision) includes its own write.
    if (!this.watchers.length) this._storeRevision = Math.max(this._storeRevision, res.revision);
    else if (this._storeRevision < res.revision) await new Promise<void>((resolve) => this.waiters.push({ revision: res.revision, resolve }));
    // One txn, one revision: every key it wrote now has that modRevision — unless the
    // watch has already brought this change, or a newer one (another member's, after it).
    const written = new Map<string, { map: Map<string, Cached<unknown>>; rec: unknown }>();
    for (const x of c.putServices ?? []) written.set(serviceKey(x.name), { map: this.services, rec: x });
    for (const r of c.putRollouts ?? []) written.set(rolloutKey(r.service), { map: this.rollouts, rec: r });
    for (const i of c.putInstances ?? []) written.set(instanceKey(i.service, i.slot), { map: this.instances, rec: i });
    for (const op of ops) {
      if (![SERVICE_PREFIX, INSTANCE_PREFIX, ROLLOUT_PREFIX, CLAIM_PREFIX].some((p) => op.key.startsWith(p))) continue;
      const w = written.get(op.key);
      if (res.revision <= this.heldRevision(op.key) || (op.type === "put" && !w && !op.key.startsWith(CLAIM_PREFIX))) continue;
      for (const m of [this.services, this.instances, this.rollouts, this.quarantine, this.claims, this.tombs] as Map<string, unknown>[]) m.delete(op.key);
      if (op.type === "delete") this.tombs.set(op.key, res.revision);
      else if (op.key.startsWith(CLAIM_PREFIX)) this.claims.set(op.key, res.revision);
      else if (w) w.map.set(op.key, { rec: w.rec, modRevision: res.revision });
    }
    this.changed();
    return true;
  }
}
