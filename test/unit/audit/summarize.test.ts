import { describe, expect, it } from "vitest";
import { summarize } from "../../../controller/audit/audit-log.js";

describe("audit request summaries", () => {
  it("keeps small fields and reduces spec files and bytes to their size", () => {
    const s = summarize({ files: [{ file: "web.yaml", content: "x".repeat(5000), artifact_sha256: "a".repeat(64) }], prune: false, data: Buffer.alloc(10) });
    expect(s).toContain('"file":"web.yaml"');
    expect(s).toContain('"content":"<5000 chars>"');
    expect(s).toContain('"prune":false');
    expect(s).not.toContain("xxxx");
    expect(s.length).toBeLessThanOrEqual(2000);
  });
});
