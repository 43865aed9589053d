import { describe, expect, it } from "vitest";
import { revisionHistory } from "../../../controller/services/revision-history.js";
import { previousOf, specToRestore, withRevision, type ServiceRecord } from "../../../controller/services/records.js";
import { newRevision } from "../../../controller/services/apply.js";
import { normalizeSpec } from "../../../shared/spec/schema.js";

const spec = (env: Record<string, string>, command = "x") => normalizeSpec({ name: "web", run: { command, env }, instances: 2, health: { tcp: { port: 80 } } });
const first: ServiceRecord = { name: "web", spec: spec({ V: "1" }), revision: 1, latestRevision: 1, previousRevision: 0, createdAtMs: 0, updatedAtMs: 0, environment: "prod" };

describe("revisionHistory", () => {
  it("lists the current revision and the kept ones newest first, each with what changed since the one it replaced", () => {
    const r2 = withRevision(first, 2, spec({ V: "2" }), new Set(), 10);
    const r3 = withRevision(r2, 3, spec({ V: "2" }, "y"), new Set(), 20);
    const h = revisionHistory(r3);
    expect(h.map((e) => [e.revision, e.current, e.previousRevision, e.changed])).toEqual([
      [3, true, 2, ["run.command"]],
      [2, false, 1, ["run.env.V"]],
      [1, false, 0, []],
    ]);
    expect(h[2]!.environment).toBe("prod");
  });

  it("says nothing changed is known when the replaced revision's spec was pruned", () => {
    let rec = first;
    for (let r = 2; r <= 7; r++) rec = withRevision(rec, r, spec({ V: String(r) }), new Set(), r);
    const h = revisionHistory(rec);
    expect(h[0]!.revision).toBe(7);
    expect(h.at(-1)!.changed).toBeUndefined();
    expect(h.slice(0, -1).every((e) => e.changed?.join() === "run.env.V")).toBe(true);
  });
});

describe("revisionHistory: instances and update are the service's", () => {
  const withUpdate = (r: ServiceRecord, update: Partial<ServiceRecord["spec"]["update"]>, instances = r.spec.instances): ServiceRecord => ({ ...r, spec: { ...r.spec, instances, update: { ...r.spec.update, ...update } } });

  it("a canary or a scale set after a revision was made is not among what that revision changed", () => {
    const r2 = withRevision(first, 2, spec({ V: "2" }), new Set(), 10);
    // Applied in place: no new revision.
    const scaled = withUpdate(r2, { canary: 1 }, 5);
    const h = revisionHistory(scaled);
    expect(h.map((e) => [e.revision, e.changed])).toEqual([
      [2, ["run.env.V"]],
      [1, []],
    ]);
    // Every revision is shown as going back to it would run it: with the service's instances and update.
    expect(h.map((e) => [e.spec.instances, e.spec.update.canary])).toEqual([
      [5, 1],
      [5, 1],
    ]);
  });

  it("an undo to a revision does not show it changing rollout settings it never had", () => {
    const r2 = withUpdate(withRevision(first, 2, spec({ V: "2" }), new Set(), 10), { canary: 1 });
    // berth rollout undo: revision 1 again, with the current instances and update (specToRestore).
    const back = withRevision(r2, 1, { ...first.spec, instances: r2.spec.instances, update: r2.spec.update }, new Set(), 20, { previousRevision: 2 });
    // Then the canary is taken off again, in place: revision 2's kept spec still has it.
    const h = revisionHistory(withUpdate(back, { canary: 0 }));
    expect(h.map((e) => [e.revision, e.current, e.previousRevision, e.changed])).toEqual([
      [2, false, 1, ["run.env.V"]],
      [1, true, 2, ["run.env.V"]],
    ]);
    expect(h.map((e) => e.spec.update.canary)).toEqual([0, 0]);
  });
});

describe("a restart and the undo after it", () => {
  it("undo after restarts goes back to the revision before the spec changed, kept however many restarts came since", () => {
    const r2 = withRevision(first, 2, spec({ V: "2" }), new Set(), 10);
    let rec = r2;
    for (let i = 0; i < 5; i++) rec = newRevision(rec, rec.spec, [], undefined, 20 + i, undefined, { restart: true }).rec;
    expect(rec.revision).toBe(7);
    // Undo (previousOf the current revision) is revision 1, V=1: not revision 6, the same spec again.
    const back = previousOf(rec, rec.revision);
    expect(back).toBe(1);
    expect(specToRestore(rec, back).run.env).toEqual({ V: "1" });
    // An apply is a new version: undoing it goes to the one it replaced.
    const r8 = newRevision(rec, spec({ V: "8" }), [], undefined, 30).rec;
    expect(previousOf(r8, 8)).toBe(7);
  });

  it("a first revision restarted still replaced the one it restarted: history does not call it created", () => {
    const r2 = newRevision(first, first.spec, [], undefined, 10, undefined, { restart: true }).rec;
    expect(previousOf(r2, 2)).toBe(1);
    expect(revisionHistory(r2).map((e) => [e.revision, e.previousRevision])).toEqual([
      [2, 1],
      [1, 0],
    ]);
  });
});
