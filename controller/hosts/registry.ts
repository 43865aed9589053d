/**
 * The controller's view of its hosts: stored records (written through to the
 * store with compare-and-set) plus what lives only in memory — heartbeat times,
 * the latest usage, the open stream. Heartbeats never touch the store: at 1 Hz
 * from thousands of hosts they would only wear it out; a restarted controller
 * re-learns them within one heartbeat, and gives every host a TTL of grace.
 *
 * The stored records follow the store (follow()): in a controller group another
 * member writes them too (the leader's failure detector, a member's join or
 * Hello), and a member acts on what changed (onChange) — the one holding a host's
 * stream closes it when the leader declares the host down.
 */
import type { Usage__Output } from "../../shared/gen/berth/v1/Usage.js";
import type { ControllerMessage } from "../../shared/gen/berth/v1/ControllerMessage.js";
import type { Compare, Op, Store, WatchEvent, Watcher } from "../store/store.js";
import type { EventLog, NewEvent } from "../events/event-log.js";
import { HOST_PREFIX, HostRecordSchema, hostKey, type HostRecord } from "./host.js";
import { decodeRecord, encodeRecord, type Quarantined } from "../store/record.js";
import { closest } from "../../shared/closest.js";

export interface HostLive {
  /** Wall clock of the last heartbeat (or hello): for display. */
  lastHeartbeatMs: number | undefined;
  /**
   * The same moment on the monotonic clock (shared/clock.ts): every "how long
   * since" (failure detection, the fencing wait) is measured on it, so an NTP
   * step on the controller never declares a host down early or replaces a copy
   * before it has fenced itself.
   */
  lastHeartbeatMono: number | undefined;
  usage: Usage__Output | null;
  /** The agent's data dir's filesystem is full (member/agent-stream/heartbeat.ts: diskFullNow), as last said in an event. */
  diskFull?: boolean;
  /** Ends the host's current stream; set while one is open. */
  disconnect?: (why: string) => void;
  /** Sends on the host's current stream; set while one is open. */
  send?: (m: ControllerMessage) => void;
  streamId?: number;
  /** The certificate the current stream authenticated with. */
  certSerial?: string;
  /** Wall clock of the Hello that opened the current stream. */
  connectedAtMs?: number;
  /** Artifact digests the host holds (from its Hello, plus what it installed since). */
  artifacts: string[];
  /** Instances the host still runs that were superseded (lower epoch, or moved away): fenced until stopped. */
  fencing: Set<string>;
}

/** The shortest prefix of a host id that may name it. */
export const MIN_HOST_PREFIX = 2;

export class HostNotFoundError extends Error {
  constructor(
    readonly query: string,
    readonly why: "none" | "ambiguous" | "short",
    /** The host the query most likely meant ("did you mean"). */
    readonly suggestion?: { id: string; hostname: string },
    /** ambiguous: the ids it matches (the first few are named). */
    readonly matches: readonly string[] = [],
  ) {
    const q = query.slice(0, 64);
    const hint = suggestion ? `; did you mean "${suggestion.id}"${suggestion.hostname ? ` (${suggestion.hostname})` : ""}?` : "";
    super(
      why === "none"
        ? `no host "${q}"${hint}`
        : why === "short"
          ? `"${q}" is too short to name a host: give at least ${MIN_HOST_PREFIX} characters of its id`
          : `"${q}" matches more than one host (${matches.slice(0, 5).join(", ")}${matches.length > 5 ? `, and ${matches.length - 5} more` : ""}): give more of the id`,
    );
    this.name = "HostNotFoundError";
  }
}

/**
 * The host an unknown query most likely meant: one whose hostname it is (people
 * type names, berth wants ids), else an id whose start is a typo away from it
 * (ids are random hex, so only a close prefix of 4+ characters counts, 1 edit per 4),
 * else a hostname a typo away.
 */
export function suggestHost(query: string, hosts: readonly { id: string; hostname: string }[]): { id: string; hostname: string } | undefined {
  const q = query.toLowerCase();
  // Hostnames several hosts share (VMs from one image, dev hosts on one machine) point nowhere.
  const names = new Map<string, { id: string; hostname: string } | null>();
  for (const h of hosts) {
    const n = h.hostname.toLowerCase();
    if (n) names.set(n, names.has(n) ? null : h);
  }
  if (names.has(q)) return names.get(q) ?? undefined;
  const prefixes = new Map(hosts.map((h) => [h.id.slice(0, q.length), h]));
  const id = q.length >= 4 ? closest(q, prefixes.keys(), Math.max(1, Math.floor(q.length / 4))) : undefined;
  if (id !== undefined) return prefixes.get(id);
  const unique = [...names].filter(([, h]) => h !== null).map(([n]) => n);
  const name = closest(q, unique, Math.max(1, Math.floor(q.length / 3)));
  return name === undefined ? undefined : (names.get(name) ?? undefined);
}

export class ConflictError extends Error {
  constructor(what: string) {
    super(`${what} changed concurrently; try again`);
    this.name = "ConflictError";
  }
}

/** Another writer left a record this controller cannot read. */
export class RecordUnreadableError extends Error {
  constructor(
    readonly key: string,
    readonly reason: string,
  ) {
    super(`stored record ${key} is unusable: ${reason}`);
    this.name = "RecordUnreadableError";
  }
}

interface Cached {
  rec: HostRecord;
  modRevision: number;
}

export class HostRegistry {
  private readonly hosts = new Map<string, Cached>();
  readonly live = new Map<string, HostLive>();

  constructor(
    private readonly store: Store,
    private readonly events: EventLog,
  ) {}

  /** Host records that failed validation on load: not used (their host is unknown until it joins again). */
  readonly quarantined: Quarantined[] = [];

  private readonly listeners = new Set<(prev: HostRecord | undefined, next: HostRecord | undefined) => void>();
  private watcher: Watcher | undefined;
  /** The revision load() read at: follow() starts after it. */
  private loadedAt = 0;
  /** Hosts deleted, and at which revision: an older put the watch replays must not bring them back. */
  private readonly tombs = new Map<string, number>();

  /** Called after every change of a stored host record, whoever made it (next undefined: deleted). Returns the unsubscribe. */
  onChange(fn: (prev: HostRecord | undefined, next: HostRecord | undefined) => void): () => void {
    this.listeners.add(fn);
    return () => void this.listeners.delete(fn);
  }

  /** Holds `rec` at `modRevision` unless what is held is as new; tells the listeners. */
  private hold(id: string, rec: HostRecord | undefined, modRevision: number): void {
    const prev = this.hosts.get(id);
    if (modRevision <= (prev?.modRevision ?? this.tombs.get(id) ?? 0)) return;
    if (rec) {
      this.hosts.set(id, { rec, modRevision });
      this.tombs.delete(id);
    } else {
      this.hosts.delete(id);
      this.tombs.set(id, modRevision);
    }
    for (const fn of this.listeners) fn(prev?.rec, rec);
  }

  /**
   * Follows the store from the revision load() read at, so a change made between
   * the load and the watch is not missed; applied by modRevision, so this member's
   * own writes and their echo are one change. Call once, after load().
   */
  async follow(): Promise<void> {
    this.watcher = await this.store.watch(HOST_PREFIX, (ev) => this.apply(ev), { fromRevision: this.loadedAt + 1 });
  }

  unfollow(): void {
    this.watcher?.close();
    this.watcher = undefined;
  }

  private apply(ev: WatchEvent): void {
    const key = ev.type === "put" ? ev.kv.key : ev.key;
    const id = key.slice(HOST_PREFIX.length);
    if (ev.type === "delete") return this.hold(id, undefined, ev.revision);
    const d = decodeRecord(HostRecordSchema, ev.kv.value);
    if (d.ok && d.rec.id === id) return this.hold(id, d.rec, ev.revision);
    // Unreadable now: unknown, as a bad record at load is, until it is written whole again.
    if (ev.revision > (this.hosts.get(id)?.modRevision ?? 0)) {
      this.quarantined.push({ key, reason: d.ok ? `filed under ${key} but is host ${d.rec.id}` : d.reason, modRevision: ev.revision });
      this.hold(id, undefined, ev.revision);
    }
  }

  /** Reads every host record; a bad one is quarantined (returned and kept in `quarantined`), never thrown. */
  async load(): Promise<Quarantined[]> {
    this.loadedAt = await this.store.revision();
    for (const kv of await this.store.scan(HOST_PREFIX)) {
      const d = decodeRecord(HostRecordSchema, kv.value);
      const reason = !d.ok ? d.reason : hostKey(d.rec.id) !== kv.key ? `filed under ${kv.key} but is host ${d.rec.id}` : undefined;
      if (d.ok && reason === undefined) this.hosts.set(d.rec.id, { rec: d.rec, modRevision: kv.modRevision });
      else this.quarantined.push({ key: kv.key, reason: reason ?? "", modRevision: kv.modRevision });
    }
    return this.quarantined;
  }

  all(): HostRecord[] {
    return [...this.hosts.values()].map((c) => c.rec);
  }

  get(id: string): HostRecord | undefined {
    return this.hosts.get(id)?.rec;
  }

  liveOf(id: string): HostLive {
    let l = this.live.get(id);
    if (!l) {
      l = { lastHeartbeatMs: undefined, lastHeartbeatMono: undefined, usage: null, artifacts: [], fencing: new Set() };
      this.live.set(id, l);
    }
    return l;
  }

  /** An exact id, or a unique prefix of one (as `berth host show 3fa` allows). */
  resolve(query: string): HostRecord {
    const exact = this.hosts.get(query);
    if (exact) return exact.rec;
    const matches = query === "" ? [] : [...this.hosts.keys()].filter((id) => id.startsWith(query));
    // One character names a host by luck (16 hosts share each): ask for more rather than "no host".
    if (matches.length > 0 && query.length < MIN_HOST_PREFIX) throw new HostNotFoundError(query, "short");
    if (matches.length === 1) return this.hosts.get(matches[0]!)!.rec;
    if (matches.length > 1) throw new HostNotFoundError(query, "ambiguous", undefined, matches.sort());
    throw new HostNotFoundError(query, "none", suggestHost(query, this.all().map((h) => ({ id: h.id, hostname: h.facts?.hostname ?? "" }))));
  }

  /** Creates a host in one txn with `extra` (e.g. the join token's spent use) and its event. */
  async create(rec: HostRecord, extra: { compares: Compare[]; ops: Op[] }, ev: NewEvent): Promise<boolean> {
    const put: Op = { type: "put", key: hostKey(rec.id), value: encodeRecord(rec) };
    const res = await this.events.txn([{ key: hostKey(rec.id), modRevision: 0 }, ...extra.compares], [put, ...extra.ops], [ev]);
    if (res.succeeded) this.hold(rec.id, rec, res.revision);
    return res.succeeded;
  }

  /**
   * Deletes a host's record in one txn with `extra` (its revoked serials) and its
   * event, if the record is still the one held (compare-and-set); false when it
   * changed meanwhile (the caller may try again).
   */
  async remove(id: string, extra: { ops: Op[] }, ev: NewEvent): Promise<boolean> {
    const cached = this.hosts.get(id);
    if (!cached) throw new HostNotFoundError(id, "none");
    const res = await this.events.txn([{ key: hostKey(id), modRevision: cached.modRevision }], [{ type: "delete", key: hostKey(id) }, ...extra.ops], [ev]);
    if (res.succeeded) this.hold(id, undefined, res.revision);
    return res.succeeded;
  }

  /**
   * Applies `change` to the stored record with compare-and-set. `change` returns
   * undefined when there is nothing to do (the call is then free), and may name
   * an event to write in the same txn. `via`: the store the write goes through (a
   * leader's judgement passes its guarded store, EventLog.txn).
   */
  async update(id: string, change: (rec: HostRecord) => { rec: HostRecord; event?: NewEvent } | undefined, via?: Store, extra: { compares: Compare[]; ops: Op[] } = { compares: [], ops: [] }): Promise<HostRecord> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const cached = this.hosts.get(id);
      if (!cached) throw new HostNotFoundError(id, "none");
      const out = change(cached.rec);
      if (!out) return cached.rec;
      const ops: Op[] = [{ type: "put", key: hostKey(id), value: encodeRecord(out.rec) }, ...extra.ops];
      const res = await this.events.txn([{ key: hostKey(id), modRevision: cached.modRevision }, ...extra.compares], ops, out.event ? [out.event] : [], via);
      if (res.succeeded) {
        this.hold(id, out.rec, res.revision);
        return out.rec;
      }
      // Someone else wrote it (another controller of an HA group): re-read and retry.
      const kv = await this.store.get(hostKey(id));
      if (!kv) {
        this.hold(id, undefined, res.revision);
        throw new HostNotFoundError(id, "none");
      }
      const d = decodeRecord(HostRecordSchema, kv.value);
      if (!d.ok) throw new RecordUnreadableError(kv.key, d.reason);
      this.hold(id, d.rec, kv.modRevision);
    }
    throw new ConflictError(`host ${id}`);
  }
}
