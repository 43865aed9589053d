import { describe, expect, it } from "vitest";
import { line } from "../../../cli/run/events.js";
import type { Event__Output } from "../../../shared/gen/berth/v1/Event.js";

describe("berth events -f: one line an event", () => {
  it("puts a message's lines (a crash loop's last output) on one line, escaped, without raw \\x0a", () => {
    const e = { seq: 7, time_ms: "1764860400000", type: "instance.failed", host: "3fa9", service: "crash", message: "failed: crash loop: exited with code 3\nlast output:\nabout to fail\n\x1b[31mred\n", actor: "" } as unknown as Event__Output;
    const text = String(line(e));
    expect(text).toContain("failed: crash loop: exited with code 3 | last output: | about to fail | ");
    expect(text).not.toContain("\\x0a");
    expect(text).not.toContain("\n");
    // A terminal escape from the service's output stays escaped.
    expect(text).not.toContain("\x1b[31m");
    expect(text.startsWith("2025-12-04 15:00:00Z")).toBe(true);
  });
});
