/**
 * `berth apply` and `berth plan` output: "revision" is only ever a service's revision
 * (what `berth services` and `rollout status` show). The controller's store counter that
 * ties a plan to its apply is the "state index", and an apply does not print it.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { printChanges, revisionGone } from "../../../cli/run/apply.js";
import type { ApplyResponse__Output } from "../../../shared/gen/berth/v1/ApplyResponse.js";

const response = (): ApplyResponse__Output =>
  ({
    state_index: "51",
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

describe("apply --wait: the revision it rolled out is still the service's", () => {
  it("is nothing to say while it is, or when the apply rolled nothing out", () => {
    expect(revisionGone("web", 3, 3)).toBeUndefined();
    expect(revisionGone("web", 0, 2)).toBeUndefined();
  });

  it("fails, saying reverted, when the service went back (a revert that ended between two looks: its old revision all healthy)", () => {
    const e = revisionGone("web", 3, 2)!;
    expect(e.message).toBe("web: the rollout to revision 3 was reverted to revision 2");
    expect(e.exitCode).toBe(1);
    expect(e.hint).toBe("berth rollout status web says why");
  });

  it("fails, saying replaced, when a later apply came before it was healthy", () => {
    expect(revisionGone("web", 3, 4)!.message).toBe("web: revision 3 was replaced by revision 4 (applied since) before it was healthy");
  });
});
