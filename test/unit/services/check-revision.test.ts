/**
 * `berth plan` → `berth apply --check-revision N` (Nomad's -check-index): the
 * apply is refused, and changes nothing, when a service it reads changed after
 * the store revision its plan was made from; the check and the write are one
 * compare-and-set, so no change can land between them.
 */
import { describe, expect, it } from "vitest";
import type { Store, WatchOptions, WatchEvent, Watcher } from "../../../controller/store/store.js";
import { EventLog } from "../../../controller/events/event-log.js";
import { CheckRevisionError, ServiceState } from "../../../controller/services/state.js";
import { planApply } from "../../../controller/services/apply.js";
import type { ServiceRecord } from "../../../controller/services/records.js";
import { normalizeSpec } from "../../../shared/spec/schema.js";
import { tempStores } from "../fixtures/store.js";

const svc = (name: string, instances: number): ServiceRecord => ({ name, spec: normalizeSpec({ name, run: { command: "x" }, instances }), revision: 1, createdAtMs: 0, updatedAtMs: 0 });
const file = (name: string, instances: number): { file: string; content: string; artifact_sha256: string } => ({ file: `${name}.yaml`, content: `name: ${name}\nrun:\n  command: x\ninstances: ${instances}\n`, artifact_sha256: "" });

describe("apply --check-revision", () => {
  const stores = tempStores();

  /** `a` serves plan and apply; `b` is another writer on the same store (its cache is its own). */
  async function setup(o: { historyLimit?: number; wrap?: (s: Store) => Store } = {}): Promise<{ a: ServiceState; b: ServiceState; raw: Store }> {
    const { store: raw, events } = await stores.open({ historyLimit: o.historyLimit });
    const a = new ServiceState(o.wrap ? o.wrap(raw) : raw, events);
    const b = new ServiceState(raw, new EventLog(raw, Date.now));
    await a.load();
    expect(await a.commit({ putServices: [svc("web", 1), svc("db", 1)] })).toBe(true);
    await b.load();
    return { a, b, raw };
  }

  /** What `berth plan -f` computes from a's cache, and the revision it prints. */
  function plan(a: ServiceState, files: ReturnType<typeof file>[], prune = false): { revision: number; p: ReturnType<typeof planApply> } {
    const revision = a.storeRevision;
    const p = planApply({ files, prune, services: a.allServices(), instances: a.allInstances(), hosts: [], hasArtifact: () => false, requireArtifacts: false, nowMs: 0, actor: "t", role: "admin" });
    return { revision, p };
  }

  const applyChecked = (a: ServiceState, pl: ReturnType<typeof plan>, prune = false): Promise<boolean> =>
    a.commit({ putServices: pl.p.puts, deleteServices: pl.p.deletes, unchangedSince: { revision: pl.revision, services: prune ? "all" : pl.p.changes.map((c) => c.service ?? "") } });

  it("the plan's revision is the store's: the apply made from it succeeds when nothing changed", async () => {
    const { a, raw } = await setup();
    const pl = plan(a, [file("web", 3)]);
    expect(pl.revision).toBe(await raw.revision());
    expect(await applyChecked(a, pl)).toBe(true);
    expect(a.service("web")?.spec.instances).toBe(3);
    expect(a.storeRevision).toBe(await raw.revision());
  });

  it("refuses when a service the files name changed since the plan, naming it, and changes nothing", async () => {
    const { a, b, raw } = await setup();
    const pl = plan(a, [file("web", 3)]);
    expect(await b.commit({ putServices: [{ ...svc("web", 5), updatedAtMs: 1 }] })).toBe(true);
    const before = await raw.scan("");
    const err = await applyChecked(a, pl).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CheckRevisionError);
    expect((err as CheckRevisionError).changes).toEqual([`web updated at state index ${pl.revision + 1}`]);
    expect((err as Error).message).toBe(`changed since the plan (state index ${pl.revision}): web updated at state index ${pl.revision + 1}; plan again`);
    expect(await raw.scan("")).toEqual(before);
  });

  it("sees deletions too, which no cache shows", async () => {
    const { a, b } = await setup();
    const pl = plan(a, [file("web", 3)]);
    expect(await b.commit({ deleteServices: ["web"] })).toBe(true);
    await expect(applyChecked(a, pl)).rejects.toThrow(/web deleted at state index \d+/);
  });

  it("ignores services the apply does not read, unless it prunes", async () => {
    const { a, b } = await setup();
    const pl = plan(a, [file("web", 3), file("db", 1)]);
    const pruning = plan(a, [file("web", 3), file("db", 1)], true);
    expect(await b.commit({ putServices: [svc("other", 1)] })).toBe(true);
    await expect(applyChecked(a, pruning, true)).rejects.toThrow(/other created at state index/);
    await a.load();
    expect(await applyChecked(a, pl)).toBe(true);
  });

  it("holds what it checked until the write: a change landing in between fails the txn, and the retry refuses", async () => {
    // A store whose history read lets another writer in right after it: the worst moment.
    const other: { b?: ServiceState } = {};
    let interleave = false;
    const wrap = (s: Store): Store => ({
      get: (k) => s.get(k),
      put: (k, v) => s.put(k, v),
      delete: (k) => s.delete(k),
      txn: (c, o) => s.txn(c, o),
      scan: (p, o) => s.scan(p, o),
      revision: () => s.revision(),
      close: () => s.close(),
      watch: async (prefix: string, fn: (ev: WatchEvent) => void, opts?: WatchOptions): Promise<Watcher> => {
          const w = await s.watch(prefix, fn, opts);
          if (interleave) {
            interleave = false;
            w.close();
            // web is read (named) but not written by this apply: only the compare-and-set can see this.
            expect(await other.b!.commit({ putServices: [{ ...svc("web", 7), updatedAtMs: 2 }] })).toBe(true);
          }
          return w;
      },
    });
    const env = await setup({ wrap });
    other.b = env.b;
    const { a, raw } = env;
    const pl = plan(a, [file("web", 1), file("db", 4)]);
    expect(pl.p.changes.map((c) => [c.service, c.action])).toEqual([["db", "update"], ["web", "unchanged"]]);
    interleave = true;
    const before = (await raw.scan("services/")).map((kv) => kv.value);
    expect(await applyChecked(a, pl)).toBe(false);
    // Only b's write landed; db is as it was.
    expect((await raw.scan("services/")).map((kv) => kv.value)).toEqual([before[0], JSON.stringify({ schemaVersion: 1, ...svc("web", 7), updatedAtMs: 2 })]);
    // The apply's retry (plan again from the reloaded cache, same check revision) is refused.
    await expect(applyChecked(a, { ...plan(a, [file("web", 1), file("db", 4)]), revision: pl.revision })).rejects.toThrow(/web updated at state index/);
  });

  it("refuses a revision the store has not reached, or no longer keeps the history of", async () => {
    const { a, b, raw } = await setup({ historyLimit: 2 });
    const pl = plan(a, [file("web", 3)]);
    await expect(applyChecked(a, { ...pl, revision: (await raw.revision()) + 10 })).rejects.toThrow(/is ahead of the controller's/);
    for (let k = 2; k < 6; k++) expect(await b.commit({ putServices: [svc("db", k)] })).toBe(true);
    await a.load();
    await expect(applyChecked(a, pl)).rejects.toThrow(/older than the controller keeps changes for \(from \d+ on\); plan again/);
  });
});
