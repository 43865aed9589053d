// `berth rollout undo` goes back to a spec whose secret references carry the versions
// of its day; the host must still get each secret's current value (an undo rolls code
// back, never a rotated password).
import { beforeEach, describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import { SecretStore, secretKey, withSecretVersion } from "../../../controller/secrets/secret-store.js";
import { specToRestore, type ServiceRecord } from "../../../controller/services/records.js";
import { normalizeSpec } from "../../../shared/spec/schema.js";
import { createLogger } from "../../../shared/log/logger.js";
import type { Store } from "../../../controller/store/store.js";
import { tempStores } from "../fixtures/store.js";

const stores = tempStores();
let store: Store;
beforeEach(async () => {
  ({ store } = await stores.open());
});

describe("rollout undo and secrets", () => {
  it("sends the secret's current value for a revision that named an older version", async () => {
    const secrets = new SecretStore(store, randomBytes(32), createLogger("test", "silent"));
    await secrets.load();
    for (const v of ["one", "two"]) {
      const rec = secrets.sealNext("db", Buffer.from(v), "t", 0)!;
      await store.put(secretKey("db"), secrets.encode(rec));
      await secrets.refresh("db");
    }
    expect(secrets.get("db")?.version).toBe(2);
    const v1 = normalizeSpec({ name: "web", run: { command: "x" }, secrets: { DB: "db" } });
    const r1 = withSecretVersion(v1, "db", 1);
    const r2 = { ...withSecretVersion(r1, "db", 2), run: { ...r1.run, command: "y" } };
    const svc: ServiceRecord = { name: "web", spec: r2, revision: 2, previousRevision: 1, history: [{ revision: 1, spec: r1 }], createdAtMs: 0, updatedAtMs: 0 };
    const undone = specToRestore(svc, 1);
    expect(undone.secrets.DB).toEqual({ secret: "db", version: 1 });
    const sent = secrets.valuesFor(undone);
    expect(sent?.map((s) => [s.name, s.version, Buffer.from(s.value as Uint8Array).toString()])).toEqual([["db", 2, "two"]]);
  });
});
