/**
 * Every member's cache of the GitOps records (source.ts): loaded, then following
 * the store, so the leader sees a source added or a sync asked for through any
 * member, and every member answers `gitops status` and `berth services`' owner
 * column from what the leader wrote. A record that fails validation is logged and
 * left out, never a crash (controller/store/record.ts).
 */
import type { Logger } from "../../shared/log/logger.js";
import type { Store, Watcher } from "../store/store.js";
import { decodeRecord } from "../store/record.js";
import { SOURCE_PREFIX, STATUS_PREFIX, SourceRecordSchema, SourceStatusSchema, sourceKey, statusKey, type SourceRecord, type SourceStatus } from "./source.js";

interface Cached<T> {
  rec: T;
  modRevision: number;
}

export class GitopsSources {
  private readonly sources = new Map<string, Cached<SourceRecord>>();
  private readonly statuses = new Map<string, Cached<SourceStatus>>();
  private watcher: Watcher | undefined;
  private readonly listeners = new Set<(name: string) => void>();

  constructor(
    private readonly store: Store,
    private readonly log: Logger,
  ) {}

  async load(): Promise<void> {
    const rev = await this.store.revision();
    for (const kv of await this.store.scan("gitops/")) this.take(kv.key, kv.value, kv.modRevision);
    this.watcher = await this.store.watch(
      "gitops/",
      (ev) => {
        if (ev.type === "put") this.take(ev.kv.key, ev.kv.value, ev.kv.modRevision);
        else this.drop(ev.key);
      },
      { fromRevision: rev + 1 },
    );
  }

  close(): void {
    this.watcher?.close();
  }

  /** Called with a source's name after its record or status changed. Returns the unsubscribe. */
  onChange(fn: (name: string) => void): () => void {
    this.listeners.add(fn);
    return () => void this.listeners.delete(fn);
  }

  private notify(name: string): void {
    for (const fn of this.listeners) fn(name);
  }

  private drop(key: string): void {
    const name = key.startsWith(SOURCE_PREFIX) ? key.slice(SOURCE_PREFIX.length) : key.slice(STATUS_PREFIX.length);
    this.sources.delete(key);
    this.statuses.delete(key);
    this.notify(name);
  }

  private take(key: string, value: string, modRevision: number): void {
    const isSource = key.startsWith(SOURCE_PREFIX);
    if (!isSource && !key.startsWith(STATUS_PREFIX)) return;
    const name = key.slice((isSource ? SOURCE_PREFIX : STATUS_PREFIX).length);
    const map: Map<string, Cached<SourceRecord | SourceStatus>> = isSource ? this.sources : this.statuses;
    const cur = map.get(key);
    if (cur && cur.modRevision > modRevision) return;
    const d = isSource ? decodeRecord(SourceRecordSchema, value) : decodeRecord(SourceStatusSchema, value);
    if (!d.ok || d.rec.name !== name) {
      this.log.error({ key, reason: d.ok ? "filed under another name" : d.reason }, "gitops record unusable: ignored");
      map.delete(key);
    } else map.set(key, { rec: d.rec, modRevision });
    this.notify(name);
  }

  get(name: string): SourceRecord | undefined {
    return this.sources.get(sourceKey(name))?.rec;
  }

  all(): SourceRecord[] {
    return [...this.sources.values()].map((c) => c.rec).sort((a, b) => a.name.localeCompare(b.name));
  }

  status(name: string): SourceStatus | undefined {
    return this.statuses.get(statusKey(name))?.rec;
  }

  /** The modRevision held for a key (0: none): the compare of a write that decided from it. */
  revisionOf(key: string): number {
    return (this.sources.get(key) ?? this.statuses.get(key))?.modRevision ?? 0;
  }

  /** Service → the source that owns it (in its commit applied), for sources that exist. */
  owners(): Map<string, string> {
    const out = new Map<string, string>();
    for (const s of this.all()) for (const svc of this.status(s.name)?.owned ?? []) out.set(svc, s.name);
    return out;
  }

  /** Reads a key now rather than when the watch brings it (after this member's own write). */
  async refresh(key: string): Promise<void> {
    const kv = await this.store.get(key);
    if (kv) this.take(kv.key, kv.value, kv.modRevision);
    else this.drop(key);
  }
}
