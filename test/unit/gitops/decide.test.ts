/**
 * The GitOps sync decision (controller/gitops/decide.ts): given the tree at the
 * fetched commit, what is stored and who owns what, what one sync does — apply
 * (with which prunes), refuse (invalid), wait out a backoff, or nothing; and for
 * the commit applied, what drifted and whether to heal it.
 */
import { describe, expect, it } from "vitest";
import { decideCommit, decideDrift, environmentRefusal, pinDrift, retryDelayMs, failedAttempt, type CommitInput } from "../../../controller/gitops/decide.js";
import { emptyStatus } from "../../../controller/gitops/source.js";

const base = (o: Partial<CommitInput> = {}): CommitInput => ({
  head: "c2",
  errors: [],
  repo: new Map([["web", "fleet/web.yaml"], ["api", "fleet/api.yaml"]]),
  stored: new Set(["web", "api"]),
  otherOwners: new Map(),
  prune: false,
  status: { ...emptyStatus("src"), owned: ["api", "web"], created: ["api", "web"], lastApplied: { commit: "c1", atMs: 1, author: "a", subject: "", errors: [], rollouts: [] } },
  nowMs: 1000,
  ...o,
});

describe("decideCommit", () => {
  it("does nothing when the fetched commit is the one applied", () => {
    expect(decideCommit(base({ head: "c1" })).kind).toBe("up-to-date");
  });

  it("applies a new commit and owns every service in it; services it did not find stored are its own creations", () => {
    const d = decideCommit(base({ repo: new Map([["web", "fleet/web.yaml"], ["api", "fleet/api.yaml"], ["db", "fleet/db.yaml"]]), stored: new Set(["web", "api", "db-old"]) }));
    expect(d).toMatchObject({ kind: "apply", owned: ["api", "db", "web"], prune: [], unpruned: [] });
    if (d.kind === "apply") expect(d.created).toEqual(["api", "db", "web"]);
  });

  it("adopts a service that existed before the source without counting it as created", () => {
    const d = decideCommit(base({ status: { ...emptyStatus("src") }, stored: new Set(["web"]) }));
    expect(d).toMatchObject({ kind: "apply", owned: ["api", "web"], created: ["api"] });
  });

  it("refuses an invalid commit, keeping every error", () => {
    const d = decideCommit(base({ errors: ["fleet/web.yaml:3:5: instances: expected a number"] }));
    expect(d).toEqual({ kind: "invalid", errors: ["fleet/web.yaml:3:5: instances: expected a number"] });
  });

  it("refuses a service another source owns, naming its file", () => {
    const d = decideCommit(base({ otherOwners: new Map([["web", "other"]]) }));
    expect(d.kind).toBe("invalid");
    if (d.kind === "invalid") expect(d.errors[0]).toMatch(/^fleet\/web\.yaml: .*"web".*source "other"/);
  });

  it("never prunes on an empty tree", () => {
    const d = decideCommit(base({ repo: new Map(), prune: true }));
    expect(d.kind).toBe("invalid");
    if (d.kind === "invalid") expect(d.errors.join()).toMatch(/no services/);
  });

  it("with prune deletes a service removed from the repository — only one the source created", () => {
    const d = decideCommit(base({ repo: new Map([["web", "fleet/web.yaml"]]), prune: true, stored: new Set(["web", "api", "adopted"]), status: { ...base().status, owned: ["adopted", "api", "web"], created: ["api", "web"] } }));
    expect(d).toMatchObject({ kind: "apply", prune: ["api"], unpruned: ["adopted"], owned: ["web"] });
  });

  it("without prune reports a removed service and keeps reporting it until it is gone", () => {
    const d = decideCommit(base({ repo: new Map([["web", "fleet/web.yaml"]]) }));
    expect(d).toMatchObject({ kind: "apply", prune: [], unpruned: ["api"], owned: ["web"] });
    if (d.kind !== "apply") return;
    const later = decideCommit(base({ head: "c3", repo: new Map([["web", "fleet/web.yaml"]]), status: { ...base().status, owned: d.owned, created: d.created, unpruned: d.unpruned } }));
    expect(later).toMatchObject({ kind: "apply", unpruned: ["api"] });
    // The source created it, so turning prune on deletes it.
    const pruned = decideCommit(base({ head: "c3", prune: true, repo: new Map([["web", "fleet/web.yaml"]]), status: { ...base().status, owned: d.owned, created: d.created, unpruned: d.unpruned } }));
    expect(pruned).toMatchObject({ kind: "apply", prune: ["api"], unpruned: [] });
    // Deleted by hand meanwhile: nothing left to report.
    const gone = decideCommit(base({ head: "c3", stored: new Set(["web"]), repo: new Map([["web", "fleet/web.yaml"]]), status: { ...base().status, owned: d.owned, created: d.created, unpruned: d.unpruned } }));
    expect(gone).toMatchObject({ kind: "apply", unpruned: [] });
  });

  it("waits out the backoff of a commit that failed, and tries a newer commit at once", () => {
    const failed = failedAttempt(base().status, { commit: "c2", atMs: 1000, author: "a", subject: "", errors: ["x"], rollouts: [] }, () => 0);
    expect(failed.attempts).toBe(1);
    expect(failed.retryAtMs).toBeGreaterThan(1000);
    expect(decideCommit(base({ status: failed, nowMs: 1500 }))).toEqual({ kind: "wait", untilMs: failed.retryAtMs });
    expect(decideCommit(base({ status: failed, nowMs: failed.retryAtMs })).kind).toBe("apply");
    expect(decideCommit(base({ head: "c3", status: failed, nowMs: 1500 })).kind).toBe("apply");
  });
});

describe("retryDelayMs", () => {
  it("grows with each failure up to a cap", () => {
    const d = [1, 2, 3, 4, 20].map((n) => retryDelayMs(n, () => 0));
    expect(d[0]).toBe(10_000);
    expect(d[1]).toBe(20_000);
    expect(d[2]).toBe(40_000);
    expect(d[4]).toBe(600_000);
  });
});

describe("decideDrift", () => {
  const none: { service: string; slot: number; host: string }[] = [];

  it("reports owned services changed or deleted by hand, and heals them only with selfHeal", () => {
    const changes = [
      { service: "web", action: "update" },
      { service: "api", action: "unchanged" },
      { service: "db", action: "create" },
      { service: "other", action: "update" },
    ];
    expect(decideDrift({ changes, owned: ["api", "db", "web"], pins: none, selfHeal: false })).toEqual({ drift: ["db", "web"], reapply: [], unpin: [], heal: false });
    expect(decideDrift({ changes, owned: ["api", "db", "web"], pins: none, selfHeal: true })).toEqual({ drift: ["db", "web"], reapply: ["db", "web"], unpin: [], heal: true });
    expect(decideDrift({ changes: [{ service: "web", action: "unchanged" }], owned: ["web"], pins: none, selfHeal: true })).toEqual({ drift: [], reapply: [], unpin: [], heal: false });
  });

  // The repository declares no pins: where an instance runs is the scheduler's. A
  // pin (`berth place`) on an owned service is a hand change, and healing removes it.
  it("reports a pin on an owned service as drift, and heals it with selfHeal by removing the pin, not by applying again", () => {
    const unchanged = [{ service: "web", action: "unchanged" }, { service: "api", action: "unchanged" }];
    const pins = [
      { service: "web", slot: 1, host: "h2" },
      { service: "other", slot: 0, host: "h1" },
    ];
    expect(decideDrift({ changes: unchanged, owned: ["api", "web"], pins, selfHeal: false })).toEqual({ drift: ["web"], reapply: [], unpin: [], heal: false });
    expect(decideDrift({ changes: unchanged, owned: ["api", "web"], pins, selfHeal: true })).toEqual({ drift: ["web"], reapply: [], unpin: [{ service: "web", slot: 1, host: "h2" }], heal: true });
  });

  it("heals a spec change and a pin of the same pass together, each its own way", () => {
    const changes = [{ service: "web", action: "update" }, { service: "api", action: "unchanged" }];
    const pins = [
      { service: "api", slot: 0, host: "h1" },
      { service: "web", slot: 0, host: "h3" },
    ];
    expect(decideDrift({ changes, owned: ["api", "web"], pins, selfHeal: true })).toEqual({
      drift: ["api", "web"],
      reapply: ["web"],
      unpin: [
        { service: "api", slot: 0, host: "h1" },
        { service: "web", slot: 0, host: "h3" },
      ],
      heal: true,
    });
  });

  it("ignores an empty pin (an unpinned instance) and a pin on a service no longer owned", () => {
    const pins = [
      { service: "web", slot: 0, host: "" },
      { service: "gone", slot: 0, host: "h1" },
    ];
    expect(decideDrift({ changes: [], owned: ["web"], pins, selfHeal: true })).toEqual({ drift: [], reapply: [], unpin: [], heal: false });
  });
});

describe("pinDrift", () => {
  it("names each pinned instance and its host, for the drift event", () => {
    expect(pinDrift([{ service: "web", slot: 1, host: "h2" }, { service: "api", slot: 0, host: "h1" }])).toBe("api-0 pinned to h1, web-1 pinned to h2");
  });
});

describe("environmentRefusal", () => {
  it("refuses a source for another environment than the controller serves, saying where to follow it from", () => {
    expect(environmentRefusal({ name: "stg", env: "staging" }, "prod")).toBe('source stg is for environment "staging", but this controller serves "prod": nothing applied (follow it from staging\'s controller, or add it with --env prod)');
  });

  it("takes a source for the environment served, one with none, and any on a controller that declares none", () => {
    expect(environmentRefusal({ name: "p", env: "prod" }, "prod")).toBeUndefined();
    expect(environmentRefusal({ name: "p", env: "" }, "prod")).toBeUndefined();
    expect(environmentRefusal({ name: "p", env: "staging" }, "")).toBeUndefined();
  });

  it("names a malformed stored environment", () => {
    expect(environmentRefusal({ name: "p", env: "Prod!" }, "")).toMatch(/^source p: environment "Prod!": must be/);
  });
});
