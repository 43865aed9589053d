/**
 * The GitOps runner's writes land only on the status they were decided from
 * (controller/gitops/runner.ts): a sync reads the source's status, then fetches,
 * extracts and packs — seconds — before it applies. If meanwhile another writer (the
 * next leader, finishing the same commit) wrote the status, the apply must fail its
 * compare, not take the newer record's revision as its own and apply a second time.
 */
import { afterEach, describe, expect, it } from "vitest";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { encodeRecord } from "../../../controller/store/record.js";
import { ServiceState } from "../../../controller/services/state.js";
import { HostRegistry } from "../../../controller/hosts/registry.js";
import type { ReconcileLoop } from "../../../controller/reconcile/loop.js";
import type { ArtifactStore } from "../../../controller/artifacts/artifact-store.js";
import { GitopsSources } from "../../../controller/gitops/sources.js";
import { GitopsRunner, type SourceMirror } from "../../../controller/gitops/runner.js";
import { emptyStatus, sourceKey, statusKey, type SourceRecord, type SourceStatus } from "../../../controller/gitops/source.js";
import { createLogger } from "../../../shared/log/logger.js";
import { until } from "../until.js";
import { tempStores } from "../fixtures/store.js";

const HEAD = "c".repeat(40);

const source: SourceRecord = {
  name: "src",
  repo: "https://git.example.org/fleet.git",
  branch: "main",
  path: "fleet",
  env: "",
  intervalMs: 3_600_000,
  prune: false,
  selfHeal: false,
  suspended: false,
  auth: { kind: "none" },
  webhookSecret: "",
  caPem: "",
  createdAtMs: 0,
  createdBy: "t",
  syncRequestedAtMs: 0,
};

/** A mirror with one commit: fleet/web.yaml and the folder its artifact is packed from. */
const fakeMirror: SourceMirror = {
  fetch: () => Promise.resolve(HEAD),
  meta: () => Promise.resolve({ author: "Ada <ada@example.org>", subject: "web" }),
  extract: async (_commit: string, _path: string, into: string): Promise<void> => {
    await mkdir(join(into, "fleet"), { recursive: true });
    await mkdir(join(into, "app"));
    await writeFile(join(into, "app", "run.sh"), "#!/bin/sh\n");
    await writeFile(join(into, "fleet", "web.yaml"), "name: web\nartifact: ../app\nrun:\n  command: ./run.sh\n");
  },
};

describe("the GitOps runner's status guards", () => {
  const stores = tempStores();
  let gitops: GitopsSources | undefined;
  let runner: GitopsRunner | undefined;
  afterEach(async () => {
    await runner?.stop();
    gitops?.close();
  });

  it("a sync whose status another writer changed while it fetched applies nothing", async () => {
    const { dir, store: raw, events } = await stores.open({ subdir: "db" });
    const state = new ServiceState(raw, events);
    await state.load();
    const registry = new HostRegistry(raw, events);
    await registry.load();
    const log = createLogger("test", "silent");
    const g = new GitopsSources(raw, log);
    gitops = g;
    await raw.put(sourceKey("src"), encodeRecord(source));
    await g.load();

    // The next leader finishes the same commit while this one is still packing its tree.
    let packed = 0;
    const successor: SourceStatus = { ...emptyStatus("src"), head: HEAD, owned: ["web"], lastApplied: { commit: HEAD, atMs: 1, author: "the next leader", subject: "", errors: [], rollouts: [] } };
    const artifacts = {
      put: async (): Promise<void> => {
        if (packed++ > 0) return;
        await raw.put(statusKey("src"), encodeRecord(successor));
        await g.refresh(statusKey("src"));
      },
    } as unknown as ArtifactStore;
    const loop = { hostView: () => undefined, settle: () => Promise.resolve() } as unknown as ReconcileLoop;
    const r = new GitopsRunner({ state, loop, registry, artifactsKnown: new Set(), now: Date.now, log, gitops: g, events, artifacts, dir: join(dir, "gitops"), tickMs: 20, mirror: () => fakeMirror });
    runner = r;
    r.start();

    // Done deciding: the runner applied (its author on lastApplied), or found the successor's
    // commit applied and reported drift (the successor here wrote only a status, no service).
    await until(() => (g.status("src")?.drift.length ?? 0) > 0 || g.status("src")?.lastApplied?.author === "Ada <ada@example.org>", "the runner to apply or report drift");
    await r.stop();
    expect(packed).toBeGreaterThan(0);
    expect((await events.list({ limit: 100 })).filter((e) => e.type === "gitops.applied")).toEqual([]);
    expect(state.service("web")).toBeUndefined();
    expect(g.status("src")?.lastApplied?.author).toBe("the next leader");
  });
});
