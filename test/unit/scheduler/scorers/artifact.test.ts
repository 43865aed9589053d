import { describe, expect, it } from "vitest";
import { artifactScore } from "../../../../controller/scheduler/scorers/artifact.js";
import { host } from "../fixtures.js";

describe("artifact scorer", () => {
  it("prefers a host that already holds the digest", () => {
    const h = host("h", { artifacts: ["sha:1", "sha:2"] });
    expect(artifactScore(h, "sha:2")).toBe(1);
    expect(artifactScore(h, "sha:3")).toBe(0);
  });
  it("never matches an empty digest (no artifact known)", () => {
    expect(artifactScore(host("h", { artifacts: [""] }), "")).toBe(0);
  });
});
