/**
 * The agent's session against a controller that goes away and comes back on the
 * same address (real gRPC, mutual TLS, loopback): the session's own backoff decides
 * when it dials again. gRPC's channel has a reconnect backoff of its own (up to 2 s)
 * during which a call fails at once without dialling; a restarted controller gives
 * its hosts one TTL of grace, so an agent that waited for both could be declared
 * down (and its instance failed over) though it was fine.
 */
import { describe, expect, it } from "vitest";
import { until } from "../until.js";
import { fakeControllers } from "./fixtures/fake-controllers.js";

const fake = fakeControllers();

describe("agent session reconnecting", () => {
  it("dials a controller that is back on its own backoff, not gRPC's: within a few hundred ms, each time", async () => {
    let c = await fake.serve();
    // The fixture's session retries every 20–100 ms; gRPC's channel alone would wait up to 2 s.
    const { connected, failures } = await fake.session([c.addr]);
    const connects = (): number => connected.length;
    await until(() => connects() === 1, "the agent connected");
    const delays: number[] = [];
    // Three times: the controller goes away long enough for gRPC's backoff to reach
    // its cap (0.2, 0.4, 0.8, 1.6, 2 s), then comes back on the same address.
    for (let round = 0; round < 3; round++) {
      c.server.forceShutdown();
      const lostAt = Date.now();
      await until(() => Date.now() - lostAt > 3500 && failures() > 10 * (round + 1), "the agent failing to reach the controller for a while", 20_000);
      const before = connects();
      c = await fake.serve({ port: c.port });
      const backAt = Date.now();
      await until(() => connects() > before, "the agent back on the controller", 10_000, 5);
      delays.push(Date.now() - backAt);
    }
    expect(delays.every((d) => d < 700), `reconnect delays ${delays.join(", ")} ms`).toBe(true);
  }, 60_000);
});
