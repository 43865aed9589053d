// berth hosts' DISK FREE: "-" only when unknown; a full disk is "0B (full)" in red, not "-".
import { describe, expect, it } from "vitest";
import { diskCell } from "../../../cli/run/hosts.js";
import { render } from "../../../cli/output.js";
import type { Host__Output } from "../../../shared/gen/berth/v1/Host.js";

const GiB = 1024 ** 3;
const host = (total: number, used: number): Host__Output => ({ usage: { disk_total_bytes: total, disk_used_bytes: used }, facts: null }) as unknown as Host__Output;
const shown = (h: Host__Output): string => render(diskCell(h));

describe("the DISK FREE cell", () => {
  it("says a full disk is full, and tells it from unknown", () => {
    const prev = process.env.NO_COLOR;
    process.env.NO_COLOR = "1";
    try {
      expect(shown(host(20 * 1024 ** 2, 20 * 1024 ** 2))).toBe("0B (full)");
      expect(shown(host(10 * GiB, 10 * GiB - 10 * 1024 ** 2))).toBe("10MiB (full)");
      expect(shown(host(100 * GiB, 95 * GiB))).toBe("5.0GiB");
      expect(shown(host(100 * GiB, 10 * GiB))).toBe("90GiB");
      expect(shown({ usage: null, facts: null } as unknown as Host__Output)).toBe("-");
    } finally {
      if (prev === undefined) delete process.env.NO_COLOR;
      else process.env.NO_COLOR = prev;
    }
  });
});
