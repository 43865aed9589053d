/**
 * Which etcd endpoints the shared client leaves out (controller/store/endpoint-policy.ts):
 * one unreachable, and one silent on a working connection while another answers — never
 * one that only shares a slow moment with every other (an election).
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { GRPCDeadlineExceededError, GRPCUnavailableError } from "etcd3";
import { isBrokenCircuitError } from "cockatiel";
import { ENDPOINT_SKIP_MS, EndpointPolicies } from "../../../controller/store/endpoint-policy.js";

const deadline = (): Error => new GRPCDeadlineExceededError("Deadline exceeded after 0.500s,LB pick: 0.001s,remote_addr=10.0.0.2:2379");
const response = { header: { revision: "7" } };

/** Runs one call on `policy` that settles how `settle` says, at clock time `end` (the call starts at `clock.t`). */
function harness() {
  const clock = { t: 0 };
  const policies = new EndpointPolicies(400, () => clock.t);
  /** One attempt: starts now, the clock moves to `end`, then it settles. Resolves to what the caller saw. */
  const call = async (host: string, end: number, settle: () => unknown): Promise<{ ran: boolean; result: unknown }> => {
    let ran = false;
    const policy = byHost.get(host)!;
    try {
      const result = await policy.execute(async () => {
        ran = true;
        clock.t = end;
        const value = settle();
        if (value instanceof Error) throw value;
        return value;
      });
      return { ran, result };
    } catch (err) {
      return { ran, result: err };
    }
  };
  const byHost = new Map(["a", "b", "c"].map((h) => [h, policies.policy(h)]));
  return { clock, policies, call };
}

describe("EndpointPolicies", () => {
  afterEach(() => vi.useRealTimers());

  it("leaves out an endpoint whose deadline passed while another answered during the attempt", async () => {
    const { clock, policies, call } = harness();
    clock.t = 1_000;
    await call("b", 1_010, () => response);
    clock.t = 1_000;
    const first = await call("a", 1_500, deadline);
    expect(first.ran).toBe(true);
    expect(first.result).toBeInstanceOf(GRPCDeadlineExceededError);
    // The next call that picks it is refused at once, and etcd3 goes on to the next endpoint.
    const next = await call("a", 1_501, () => response);
    expect(next.ran).toBe(false);
    expect(isBrokenCircuitError(next.result)).toBe(true);
    expect(policies.snapshot().get("a")).toEqual({ answers: 0, unreachable: 0, silent: 1, leftOut: 1 });
    expect(policies.snapshot().get("b")).toEqual({ answers: 1, unreachable: 0, silent: 0, leftOut: 0 });
  });

  it("leaves it out too when the other answered just before the attempt (a client with one call at a time)", async () => {
    const { clock, policies, call } = harness();
    clock.t = 1_000;
    await call("b", 1_010, () => response);
    clock.t = 1_200;
    await call("a", 1_700, deadline);
    expect(policies.snapshot().get("a")).toEqual({ answers: 0, unreachable: 0, silent: 1, leftOut: 1 });
  });

  it("keeps an endpoint an attempt reached with little of its deadline left (a call's last attempt, or one sent on after a half-open try)", async () => {
    const { clock, policies, call } = harness();
    clock.t = 1_000;
    await call("b", 1_010, () => response);
    clock.t = 1_020;
    await call("a", 1_070, deadline);
    expect(policies.snapshot().get("a")).toEqual({ answers: 0, unreachable: 0, silent: 0, leftOut: 0 });
    expect((await call("a", 1_080, () => response)).ran).toBe(true);
  });

  it("keeps an endpoint whose deadline passed when no other answered for a while (etcd electing a leader)", async () => {
    const { clock, policies, call } = harness();
    clock.t = 1_000;
    await call("b", 1_010, () => response);
    // b's last answer is more than RECENT_ANSWER_MS older than the attempt: it says nothing of now.
    clock.t = 2_100;
    await call("a", 2_600, deadline);
    clock.t = 2_100;
    await call("b", 2_600, deadline);
    const again = await call("a", 2_610, () => response);
    expect(again.ran).toBe(true);
    expect(again.result).toEqual(response);
    expect(policies.snapshot().get("a")).toEqual({ answers: 1, unreachable: 0, silent: 0, leftOut: 0 });
  });

  it("counts etcd's own refusals as answers, and an opened stream as none", async () => {
    const { clock, policies, call } = harness();
    clock.t = 1_000;
    // c refuses as a member without a leader does: it is there, and it answered.
    await call("c", 1_005, () => new GRPCUnavailableError("etcdserver: leader changed"));
    // b opens a watch stream: that returns before b has said anything.
    await call("b", 1_006, () => ({ on: () => {} }));
    clock.t = 1_000;
    await call("a", 1_500, deadline);
    expect(policies.snapshot().get("a")!.silent).toBe(1);
    expect(policies.snapshot().get("c")!.answers).toBe(1);
    expect(policies.snapshot().get("b")!.answers).toBe(0);

    // Only b's stream "answered" near this attempt of c's: c stays in.
    clock.t = 3_000;
    await call("b", 3_001, () => ({ on: () => {} }));
    clock.t = 3_000;
    await call("c", 3_500, deadline);
    expect(policies.snapshot().get("c")).toEqual({ answers: 1, unreachable: 0, silent: 0, leftOut: 0 });
  });

  it("tries it again after ENDPOINT_SKIP_MS exactly, then leaves it out twice as long while it stays silent", async () => {
    // The breaker's own clock is Date.now.
    vi.useFakeTimers({ toFake: ["Date"], now: 1_000_000 });
    const { clock, policies, call } = harness();
    const silentOnce = async () => {
      clock.t += 10;
      await call("b", clock.t, () => response);
      return call("a", clock.t + 500, deadline);
    };
    expect((await silentOnce()).ran).toBe(true);
    vi.setSystemTime(1_000_000 + ENDPOINT_SKIP_MS - 1);
    expect((await call("a", clock.t, () => response)).ran).toBe(false);
    vi.setSystemTime(1_000_000 + ENDPOINT_SKIP_MS);
    // The one call that tries it finds it silent still: left out for twice as long.
    expect((await silentOnce()).ran).toBe(true);
    vi.setSystemTime(1_000_000 + 3 * ENDPOINT_SKIP_MS - 1);
    expect((await call("a", clock.t, () => response)).ran).toBe(false);
    vi.setSystemTime(1_000_000 + 3 * ENDPOINT_SKIP_MS);
    const back = await call("a", clock.t, () => response);
    expect(back).toEqual({ ran: true, result: response });
    expect(policies.snapshot().get("a")).toEqual({ answers: 1, unreachable: 0, silent: 2, leftOut: 2 });
  });

  it("leaves out an unreachable endpoint whatever the others did", async () => {
    const { clock, policies, call } = harness();
    clock.t = 1_000;
    await call("a", 1_001, () => new GRPCUnavailableError("No connection established. Last error: Error: connect ECONNREFUSED 10.0.0.2:2379"));
    const next = await call("a", 1_002, () => response);
    expect(next.ran).toBe(false);
    expect(policies.snapshot().get("a")).toEqual({ answers: 0, unreachable: 1, silent: 0, leftOut: 1 });
  });
});
