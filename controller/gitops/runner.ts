/**
 * What the leader runs for GitOps (DESIGN.md, "GitOps"): per source, a poll at its
 * interval (or at once when `berth gitops sync` or the webhook asks) that fetches
 * the branch into the source's mirror, validates the tree at the new commit whole
 * and applies it as one apply (services/apply-files.ts, the gRPC Apply's own
 * function) with the source's status in the same txn — or, invalid, changes
 * nothing, records the errors with the commit and retries with backoff. Between
 * polls, hand changes to the services a source owns are drift: reported, and with
 * selfHeal reverted to the commit applied.
 *
 * Each source is a unit of work of its own (a Coalescer: passes never overlap, a
 * kick during one runs one more); one source's failure never holds up another. The
 * decisions are decide.ts's; this shell does the git, the files and the writes.
 */
import { createReadStream } from "node:fs";
import { mkdir, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import type { Logger } from "../../shared/log/logger.js";
import { Coalescer } from "../../shared/coalesce.js";
import { setIntervalClamped } from "../../shared/timer.js";
import { backoffDelayMs } from "../../shared/backoff.js";
import type { Compare, Op, Store } from "../store/store.js";
import { encodeRecord } from "../store/record.js";
import type { EventLog, NewEvent } from "../events/event-log.js";
import type { ArtifactStore } from "../artifacts/artifact-store.js";
import { applyFiles, ApplyConflictError, ApplyInvalidError, planFiles, type ApplyFilesDeps } from "../services/apply-files.js";
import type { ApplyPlan } from "../services/apply.js";
import type { GitopsSources } from "./sources.js";
import { Mirror, type GitAuth } from "./git.js";
import { loadSourceTree, type TreeFile } from "./tree.js";
import { checkEnvironment } from "../services/environment.js";
import { decideCommit, decideDrift, environmentRefusal, failedAttempt, pinDrift, RETRY_BACKOFF, type Pin } from "./decide.js";
import { instanceId, type ServiceRecord } from "../services/records.js";
import { emptyStatus, sourceActor, sourceKey, statusKey, type CommitInfo, type SourceRecord, type SourceStatus } from "./source.js";

export interface GitopsRunnerDeps extends ApplyFilesDeps {
  gitops: GitopsSources;
  events: EventLog;
  artifacts: ArtifactStore;
  artifactsKnown: Set<string>;
  /** Mirrors and temporary trees live here (`<data-dir>/gitops`). */
  dir: string;
  log: Logger;
  /** @default 1000: how often due polls and hand changes are looked for. */
  tickMs?: number;
  /** The environment this controller serves (`--environment`); a source rendered for another is refused. @default "" any */
  serves?: string;
  /**
   * The store the runner's writes go through: the term's guarded store in a group
   * (leader/leadership.ts TermContext), so a deposed leader's sync changes nothing.
   */
  via?: Store;
  /** The git side of a source (tests put a fake here). @default git.ts Mirror under dir */
  mirror?: (src: SourceRecord) => SourceMirror;
}

/** What a sync asks of a source's mirror. */
export type SourceMirror = Pick<Mirror, "fetch" | "meta" | "extract">;

/** Per source, this term's memory: nothing here is needed to be correct after a restart, only to be quick. */
interface Work {
  runner: Coalescer;
  nextFetchAtMs: number;
  seenSyncRequest: number;
  fetchFailures: number;
  /** The tree of the commit applied, for drift checks without git. */
  applied?: { commit: string; files: TreeFile[] };
  /** The owned services' records at the last drift check: a change is a reason to look again. */
  seen: Map<string, ServiceRecord | undefined>;
  /** The owned instances' pins at the last drift check (pinKey): a pin is a hand change too. */
  seenPins: string;
  /** ServiceState.version when the tick last looked for hand changes. */
  seenVersion: number;
  driftDirty: boolean;
}

const short = (c: string): string => c.slice(0, 12);

const pinKey = (pins: readonly Pin[]): string => pins.map((p) => `${p.service}/${p.slot}@${p.host}`).join(",");

export class GitopsRunner {
  private readonly work = new Map<string, Work>();
  private ticker: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private stopped = false;

  constructor(private readonly d: GitopsRunnerDeps) {}

  start(): void {
    this.unsubscribe = this.d.gitops.onChange((name) => this.tick(name));
    this.ticker = setIntervalClamped(() => this.tick(), this.d.tickMs ?? 1000);
    this.tick();
    void this.sweepMirrors();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.ticker);
    this.unsubscribe?.();
    await Promise.all([...this.work.values()].map((w) => w.runner.close()));
  }

  private workOf(name: string): Work {
    let w = this.work.get(name);
    if (!w) {
      w = {
        runner: new Coalescer(
          () => this.pass(name),
          (err) => this.d.log.error({ err, source: name }, "gitops pass failed"),
        ),
        nextFetchAtMs: 0,
        seenSyncRequest: this.d.gitops.get(name)?.syncRequestedAtMs ?? 0,
        fetchFailures: 0,
        seen: new Map(),
        seenPins: "",
        seenVersion: -1,
        driftDirty: true,
      };
      this.work.set(name, w);
    }
    return w;
  }

  /** Kicks every source (or one) that has something due: a poll, a sync asked for, a changed owned service. */
  private tick(only?: string): void {
    if (this.stopped) return;
    const now = this.d.now();
    for (const src of this.d.gitops.all()) {
      if (only !== undefined && src.name !== only) continue;
      if (src.suspended) continue;
      const w = this.workOf(src.name);
      const owned = this.d.gitops.status(src.name)?.owned ?? [];
      // Looked at only when the cache changed: the pins' scan is over every instance.
      const version = this.d.state.version;
      if (version !== w.seenVersion) {
        w.seenVersion = version;
        if (owned.some((n) => this.d.state.service(n) !== w.seen.get(n)) || pinKey(this.pins(owned)) !== w.seenPins) w.driftDirty = true;
      }
      if (now >= w.nextFetchAtMs || src.syncRequestedAtMs > w.seenSyncRequest || w.driftDirty) w.runner.kick();
    }
    for (const [name, w] of this.work) {
      if (!this.d.gitops.get(name)) {
        this.work.delete(name);
        void w.runner.close().then(() => this.sweepMirrors());
      }
    }
  }

  /**
   * Removes the mirrors of sources that no longer exist (`berth gitops remove`, here or
   * while another member led): a mirror is a whole clone, not to be left behind.
   */
  private async sweepMirrors(): Promise<void> {
    const names = await readdir(this.d.dir).catch(() => [] as string[]);
    for (const n of names) {
      const m = /^(.+)\.git$/.exec(n);
      if (!m || this.d.gitops.get(m[1]!) || this.work.has(m[1]!)) continue;
      await rm(join(this.d.dir, n), { recursive: true, force: true, maxRetries: 3 }).catch((err: unknown) => this.d.log.warn({ err, mirror: n }, "removing the mirror of a removed gitops source failed"));
      this.d.log.info({ mirror: n }, "mirror of a removed gitops source removed");
    }
  }

  private async pass(name: string): Promise<void> {
    const src = this.d.gitops.get(name);
    if (!src || src.suspended || this.stopped) return;
    const w = this.workOf(name);
    const now = this.d.now();
    if (now >= w.nextFetchAtMs || src.syncRequestedAtMs > w.seenSyncRequest) {
      w.seenSyncRequest = src.syncRequestedAtMs;
      await this.sync(src, w);
    } else if (w.driftDirty) await this.checkDrift(src, w);
  }

  private status(name: string): SourceStatus {
    return this.d.gitops.status(name) ?? emptyStatus(name);
  }

  /**
   * The compares that make a status write land only on the records it was decided
   * from: taken when the status is read, never when it is written — taken later, they
   * would hold whatever another writer (a new leader) put there meanwhile.
   */
  private guards(name: string): Compare[] {
    return [sourceKey(name), statusKey(name)].map((key) => ({ key, modRevision: this.d.gitops.revisionOf(key) }));
  }

  /** The status and the guards of a write decided from it, read together. */
  private read(name: string): { st: SourceStatus; guards: Compare[] } {
    return { st: this.status(name), guards: this.guards(name) };
  }

  private async writeStatus(name: string, next: SourceStatus, events: NewEvent[] = [], guards: Compare[] = this.guards(name)): Promise<void> {
    const res = await this.d.events.txn(guards, [{ type: "put", key: statusKey(name), value: encodeRecord(next) }], events, this.d.via);
    await this.d.gitops.refresh(statusKey(name));
    if (!res.succeeded) this.d.log.warn({ source: name }, "gitops status changed concurrently; the next pass decides again");
  }

  private auth(src: SourceRecord): GitAuth {
    const a = src.auth;
    if (a.kind === "none") return a;
    const v = this.d.secrets?.value(a.secret);
    if (!v) throw new Error(`the ${a.kind === "ssh" ? "deploy key" : "credential"} secret "${a.secret}" is not on the controller`);
    if (a.kind === "ssh") {
      if (!a.knownHosts) throw new Error(`the source has no known_hosts for ${src.repo}: ssh never learns a host key on first use; \`berth gitops remove ${src.name}\` and add it again with --known-hosts`);
      return { kind: "ssh", key: v, knownHosts: a.knownHosts, what: `deploy key secret "${a.secret}"` };
    }
    const username = a.kind === "token" ? a.username || "x-access-token" : a.username;
    return { kind: "basic", username, password: v.toString("utf8"), what: `${a.kind === "token" ? "token" : "password"} secret "${a.secret}" as user "${username}"` };
  }

  private mirror(src: SourceRecord): SourceMirror {
    return this.d.mirror?.(src) ?? new Mirror(this.d.dir, src.name);
  }

  /**
   * Who a sync applies as: an operator (a source is added with an operator token, so a
   * service with run.user root never comes in through GitOps), for the source's environment.
   */
  private as(src: SourceRecord): { role: string; environment: string } {
    const c = checkEnvironment(this.d.serves ?? "", src.env);
    return { role: "operator", environment: c.environment ?? src.env };
  }

  /** The tree of `commit`, its packed artifacts stored here; the temp checkout is removed whatever happens. */
  private async tree(src: SourceRecord, commit: string): Promise<{ files: TreeFile[]; errors: string[]; services: Map<string, string> }> {
    // A source for another environment than this controller serves changes nothing, as
    // `berth apply --env` would not — and nothing else about its tree matters here.
    const refused = environmentRefusal(src, this.d.serves ?? "");
    if (refused !== undefined) return { files: [], errors: [refused], services: new Map() };
    const dir = join(this.d.dir, `.tree-${src.name}-${randomBytes(4).toString("hex")}`);
    try {
      try {
        // The whole tree, not only the fleet folder: an artifact may live anywhere in the repository.
        await this.mirror(src).extract(commit, "", dir);
      } catch (e) {
        return { files: [], errors: [(e as Error).message], services: new Map() };
      }
      const t = await loadSourceTree(dir, src.path, src.env);
      try {
        for (const p of t.packs) {
          if (this.d.artifactsKnown.has(p.sha256)) continue;
          await this.d.artifacts.put(p.sha256, p.bytes, createReadStream(p.file));
          this.d.artifactsKnown.add(p.sha256);
          this.d.log.info({ source: src.name, sha256: p.sha256, size: p.bytes }, "artifact stored from a gitops source");
        }
      } finally {
        await Promise.all(t.packs.map((p) => rm(p.file, { force: true })));
      }
      return t;
    } finally {
      // Retried on ENOTEMPTY and the like: nothing of a checkout may be left behind, pass after pass.
      await rm(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 }).catch((err: unknown) => this.d.log.warn({ err, dir }, "removing a gitops checkout failed"));
    }
  }

  private async sync(src: SourceRecord, w: Work): Promise<void> {
    const name = src.name;
    const actor = sourceActor(name);
    let head: string;
    await mkdir(this.d.dir, { recursive: true, mode: 0o700 });
    try {
      head = await this.mirror(src).fetch(src.repo, src.branch, this.auth(src), { caPem: src.caPem });
      w.fetchFailures = 0;
      w.nextFetchAtMs = this.d.now() + src.intervalMs;
    } catch (e) {
      const message = (e as Error).message.slice(0, 1000);
      w.fetchFailures++;
      // Sooner than the interval at first (a blip), never later than it.
      w.nextFetchAtMs = this.d.now() + Math.min(src.intervalMs, backoffDelayMs({ ...RETRY_BACKOFF, initialMs: 2000 }, w.fetchFailures - 1));
      const st = this.status(name);
      this.d.log.warn({ source: name, err: message }, "gitops fetch failed");
      await this.writeStatus(name, { ...st, fetchError: message, fetchedAtMs: this.d.now() }, st.fetchError === message ? [] : [{ type: "gitops.fetch-failed", actor, message: `source ${name}: ${message}` }]);
      return;
    }
    let { st, guards } = this.read(name);
    if (st.head !== head || st.fetchError) {
      await this.writeStatus(name, { ...st, head, fetchError: "", fetchedAtMs: this.d.now() }, [], guards);
      ({ st, guards } = this.read(name));
    }
    if (st.lastApplied?.commit === head) return this.checkDrift(src, w);
    const retryDue = !(st.lastAttempted?.commit === head && st.lastAttempted.errors.length && this.d.now() < st.retryAtMs);
    if (!retryDue) return this.checkDrift(src, w);

    const tree = await this.tree(src, head);
    const meta = await this.mirror(src)
      .meta(head)
      .catch(() => ({ author: "", subject: "" }));
    const nowMs = this.d.now();
    const info: CommitInfo = { commit: head, atMs: nowMs, author: meta.author, subject: meta.subject, errors: [], rollouts: [] };
    // Validated whole before anything is written: the tree's own errors and the controller's (secrets, artifacts, names).
    const plan = tree.errors.length ? undefined : planFiles(this.d, { files: tree.files, prune: false, actor, ...this.as(src) }, true);
    const owners = this.d.gitops.owners();
    for (const [svc, owner] of owners) if (owner === name) owners.delete(svc);
    const decision = decideCommit({
      head,
      errors: [...tree.errors, ...(plan?.errors ?? [])],
      repo: tree.services,
      stored: new Set(this.d.state.allServices().map((s) => s.name)),
      otherOwners: owners,
      prune: src.prune,
      status: st,
      nowMs,
    });
    switch (decision.kind) {
      case "up-to-date":
      case "wait":
        return this.checkDrift(src, w);
      case "invalid":
        return this.refuse(src, st, guards, { ...info, errors: decision.errors });
      case "apply": {
        let p: ApplyPlan;
        try {
          p = await applyFiles(this.d, {
            files: tree.files,
            prune: decision.prune.length > 0,
            pruneOnly: new Set(decision.prune),
            actor,
            ...this.as(src),
            via: this.d.via,
            extra: (plan) => {
              const applied: CommitInfo = { ...info, rollouts: plan.rollouts.map((r) => ({ service: r.service, fromRevision: r.fromRevision, toRevision: r.toRevision })) };
              const next: SourceStatus = { ...st, head, fetchError: "", lastAttempted: applied, lastApplied: applied, attempts: 0, retryAtMs: 0, owned: decision.owned, created: decision.created, unpruned: decision.unpruned, drift: [], driftSinceMs: 0 };
              const changed = plan.changes.filter((c) => c.action !== "unchanged").length;
              const events: NewEvent[] = [
                {
                  type: "gitops.applied",
                  actor,
                  message: `source ${name}: commit ${short(head)} by ${meta.author || "?"} applied: ${changed} service${changed === 1 ? "" : "s"} changed${plan.rollouts.length ? `, rollouts ${plan.rollouts.map((r) => `${r.service} ${r.fromRevision}→${r.toRevision}`).join(", ")}` : ""}${decision.prune.length ? `, pruned ${decision.prune.join(", ")}` : ""}`,
                },
              ];
              if (decision.unpruned.join() !== st.unpruned.join() && decision.unpruned.length)
                events.push({ type: "gitops.unpruned", actor, message: `source ${name}: removed from the repository but not deleted (${src.prune ? "not created by this source" : "no --prune"}): ${decision.unpruned.join(", ")}` });
              const ops: Op[] = [{ type: "put", key: statusKey(name), value: encodeRecord(next) }];
              return { ops, compares: guards, events };
            },
          });
        } catch (e) {
          if (e instanceof ApplyInvalidError) return this.refuse(src, st, guards, { ...info, errors: [...e.errors] });
          if (e instanceof ApplyConflictError) {
            w.nextFetchAtMs = 0;
            return;
          }
          throw e;
        }
        await this.d.gitops.refresh(statusKey(name));
        w.applied = { commit: head, files: tree.files };
        this.d.log.info({ source: name, commit: head, changed: p.puts.map((s) => s.name), deleted: p.deletes }, "gitops commit applied");
        this.remember(w, decision.owned);
        return;
      }
    }
  }

  private async refuse(src: SourceRecord, st: SourceStatus, guards: Compare[], attempt: CommitInfo): Promise<void> {
    const next = failedAttempt(st, attempt);
    this.d.log.warn({ source: src.name, commit: attempt.commit, errors: attempt.errors.length }, "gitops commit invalid: nothing applied");
    const shown = attempt.errors.slice(0, 5).join("; ") + (attempt.errors.length > 5 ? `; and ${attempt.errors.length - 5} more` : "");
    await this.writeStatus(src.name, next, [
      {
        type: "gitops.invalid",
        actor: sourceActor(src.name),
        message: `source ${src.name}: commit ${short(attempt.commit)} by ${attempt.author || "?"} not applied (attempt ${next.attempts}, next at ${new Date(next.retryAtMs).toISOString()}), ${st.lastApplied ? `${short(st.lastApplied.commit)} keeps running` : "nothing applied yet"}: ${shown}`,
      },
    ], guards);
  }

  private remember(w: Work, owned: readonly string[]): void {
    w.seen = new Map(owned.map((n) => [n, this.d.state.service(n)]));
    w.seenPins = pinKey(this.pins(owned));
    w.driftDirty = false;
  }

  /** The pins of the owned services' instances now (a pin is drift: the repository declares none). */
  private pins(owned: readonly string[]): Pin[] {
    const mine = new Set(owned);
    return this.d.state
      .allInstances()
      .flatMap((i) => (i.pinnedHost && mine.has(i.service) ? [{ service: i.service, slot: i.slot, host: i.pinnedHost }] : []))
      .sort((a, b) => a.service.localeCompare(b.service) || a.slot - b.slot);
  }

  /** Hand changes to what the source owns, against the commit applied: reported, and healed with selfHeal. */
  private async checkDrift(src: SourceRecord, w: Work): Promise<void> {
    const name = src.name;
    const { st, guards } = this.read(name);
    const commit = st.lastApplied?.commit;
    if (!commit) return this.remember(w, []);
    if (w.applied?.commit !== commit) {
      const t = await this.tree(src, commit);
      if (t.errors.length) {
        this.d.log.warn({ source: name, commit, errors: t.errors.slice(0, 3) }, "gitops: the commit applied cannot be read back for a drift check");
        return this.remember(w, st.owned);
      }
      w.applied = { commit, files: t.files };
    }
    const actor = sourceActor(name);
    const files = w.applied.files;
    this.remember(w, st.owned);
    const plan = planFiles(this.d, { files, prune: false, actor, ...this.as(src) }, true);
    if (plan.errors.length) return;
    const pins = this.pins(st.owned);
    const d = decideDrift({ changes: plan.changes.map((c) => ({ service: c.service ?? "", action: c.action ?? "" })), owned: st.owned, pins, selfHeal: src.selfHeal });
    const pinned = d.drift.length && pins.length ? `: ${pinDrift(pins.filter((p) => d.drift.includes(p.service)))}` : "";
    if (d.heal) {
      const what: string[] = [];
      if (d.reapply.length) {
        const p = await applyFiles(this.d, { files, prune: false, actor, ...this.as(src), via: this.d.via }).catch((e: unknown) => {
          if (e instanceof ApplyInvalidError || e instanceof ApplyConflictError) return undefined;
          throw e;
        });
        if (!p) return;
        what.push(`hand changes to ${d.reapply.join(", ")} reverted to commit ${short(commit)}${p.rollouts.length ? ` (rollouts ${p.rollouts.map((r) => `${r.service} ${r.fromRevision}→${r.toRevision}`).join(", ")})` : ""}`);
      }
      if (d.unpin.length) {
        if (!(await this.unpin(name, d.unpin))) return;
        what.push(`${pinDrift(d.unpin)} by hand: unpinned (the repository declares no pins; the scheduler places them)`);
      }
      await this.writeStatus(name, { ...this.status(name), drift: [], driftSinceMs: 0 }, [{ type: "gitops.drift", actor, message: `source ${name}: ${what.join("; ")} (self-heal)` }]);
      this.remember(w, st.owned);
      return;
    }
    if (d.drift.join() === st.drift.join()) return;
    await this.writeStatus(name, { ...st, drift: d.drift, driftSinceMs: d.drift.length ? (st.driftSinceMs || this.d.now()) : 0 }, [
      d.drift.length
        ? { type: "gitops.drift", actor, message: `source ${name}: ${d.drift.join(", ")} differ${d.drift.length === 1 ? "s" : ""} from commit ${short(commit)} (changed by hand${pinned}); not reverted without --self-heal` }
        : { type: "gitops.in-sync", actor, message: `source ${name}: every owned service matches commit ${short(commit)} again` },
    ], guards);
  }

  /**
   * Removes hand pins of owned instances (self-heal), each where it still is as
   * decided; planned again from fresh state when a concurrent write got there first.
   * False: every attempt conflicted (the next pass decides again).
   */
  private async unpin(name: string, pins: readonly Pin[]): Promise<boolean> {
    const actor = sourceActor(name);
    for (let attempt = 0; attempt < 5; attempt++) {
      const readVersion = this.d.state.version;
      const puts = pins.flatMap((p) => {
        const i = this.d.state.instancesOf(p.service).find((x) => x.slot === p.slot);
        return i && i.pinnedHost === p.host ? [{ ...i, pinnedHost: "" }] : [];
      });
      if (!puts.length) return true;
      const ok = await this.d.state.commit({
        putInstances: puts,
        readVersion,
        via: this.d.via,
        events: pins.map((p) => ({ type: "instance.unpinned", service: p.service, host: p.host, actor, message: `${instanceId(p.service, p.slot)} unpinned from ${p.host} (gitops source ${name}: the repository declares no pins)` })),
      });
      if (ok) {
        await this.d.loop.settle();
        return true;
      }
    }
    return false;
  }
}
