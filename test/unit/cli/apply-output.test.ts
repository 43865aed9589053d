/**
 * `berth apply` and `berth plan` output: "revision" is only ever a service's revision
 * (what `berth services` and `rollout status` show). The controller's store counter that
 * ties a plan to its apply is the "state index", and an apply does not print it.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { printChanges } from "../../../cli/run/apply.js";
import type { ApplyResponse__Output } from "../../../shared/gen/berth/v1/ApplyResponse.js";

const response = (): ApplyResponse__Output =>
  ({
    revision: "51",
    changes: [
      {
        service: "web",
        action: "update",
        fields: [{ path: "update.minHealthyTime", from_json: '"5s"', to_json: '"2s"' }, { path: "run.env.A", from_json: '"1"', to_json: '"2"' }],
        rollout_to: "2",
        place: 0,
        stop: 0,
        unplaced: [],
      },
    ],
  }) as unknown as ApplyResponse__Output;

function printed(applied: boolean): string {
  const lines: string[] = [];
  vi.spyOn(console, "log").mockImplementation((...a: unknown[]) => void lines.push(a.map(String).join(" ")));
  printChanges(response(), applied, "berth apply -f services/");
  return lines.join("\n");
}

afterEach(() => vi.restoreAllMocks());

describe("apply and plan output", () => {
  it("apply names only the service's revision, never the store counter", () => {
    const out = printed(true);
    expect(out).toContain("rolling out revision 2");
    expect(out).not.toMatch(/51/);
  });

  it("plan names the store counter as the state index, with the flag that checks it", () => {
    const out = printed(false);
    expect(out).toContain("rolls out revision 2");
    expect(out).toContain("planned against state index 51");
    expect(out).toContain("`berth apply -f services/ --check-index 51` applies exactly this");
    expect(out).not.toMatch(/revision 51/);
  });
});
