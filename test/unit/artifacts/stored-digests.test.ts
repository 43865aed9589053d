import { describe, expect, it } from "vitest";
import { storedDigests } from "../../../controller/artifacts/replicas.js";
import type { ServiceSpec } from "../../../shared/spec/types.js";

const A = "a".repeat(64);
const B = "b".repeat(64);
const U = "c".repeat(64);
const spec = (artifact: ServiceSpec["artifact"]): ServiceSpec => ({ artifact }) as ServiceSpec;

describe("storedDigests: what every member must be able to serve", () => {
  it("the stored artifacts of current revisions and history, once each; not a URL's, not one not yet uploaded", () => {
    const got = storedDigests([
      { spec: spec({ kind: "stored", sha256: A, source: "./a" }), history: [{ spec: spec({ kind: "stored", sha256: B, source: "./b" }) }, { spec: spec({ kind: "stored", sha256: A, source: "./a" }) }] },
      { spec: spec({ kind: "url", url: "https://example.org/x.tgz", sha256: U }) },
      { spec: spec({ kind: "stored", sha256: "", source: "./c" }) },
      { spec: spec(null) },
    ]);
    expect([...got].sort()).toEqual([A, B]);
  });
});
