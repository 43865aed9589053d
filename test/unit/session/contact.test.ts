/**
 * What the agent counts as word from the controller, for self-fencing
 * (failover.stopAfterDisconnect) and its watchdog's lease: the controller waits
 * stopAfterDisconnect (+ stopTimeout + margin) from the last heartbeat it
 * received, so the agent counts from when it sent the heartbeat an answer is for
 * — never from when the answer arrived, which adds the agent's own delay in
 * reading it (a loaded host) to a budget that does not cover it — and counts
 * nothing else the controller sends. The Hello leaves no sooner than its
 * connection is up: counted from its queueing, an agent whose connection was slow
 * to come up (a healed partition) would fence what it was just welcomed with.
 */
import { createConnection, createServer, type Socket } from "node:net";
import { describe, expect, it } from "vitest";
import { until } from "../until.js";
import { monoMs } from "../../../shared/clock.js";
import { fakeControllers, welcome } from "./fixtures/fake-controllers.js";

const fake = fakeControllers();

describe("the agent's last contact with the controller", () => {
  it("is when the answered heartbeat left, not when its answer arrived", async () => {
    const timers: NodeJS.Timeout[] = [];
    fake.cleanup(() => timers.forEach(clearTimeout));
    // Answers that take 300 ms: a controller far away, or an agent slow to read them.
    const m = await fake.serve({ onHeartbeat: (hb, write) => void timers.push(setTimeout(() => write({ heartbeat_ack: hb }), 300)) });
    const { s } = await fake.session([m.addr], { initialContactMs: 1 });
    const seen: { arrivedMs: number; contactMs: number }[] = [];
    s.on("heartbeatAck", () => seen.push({ arrivedMs: monoMs(), contactMs: s.lastContactMs() }));
    await until(() => seen.length >= 3, "three answered heartbeats");
    for (const x of seen) {
      expect(x.contactMs).toBeGreaterThan(1);
      expect(x.arrivedMs - x.contactMs).toBeGreaterThanOrEqual(250);
    }
  }, 30_000);

  it("counts the Hello's answer, and nothing else the controller sends, while no heartbeat is answered", async () => {
    const timers: NodeJS.Timeout[] = [];
    fake.cleanup(() => timers.forEach(clearInterval));
    let welcomedAtMs = 0;
    let sentSince = 0;
    const m = await fake.serve({
      script: (w) => {
        welcomedAtMs = monoMs();
        w(welcome);
        // Other messages keep coming (a log transfer's acks), as from a member that answers no heartbeat.
        timers.push(setInterval(() => {
          w({ log_ack: { request_id: 1, chars: 1 } });
          sentSince++;
        }, 20));
      },
      onHeartbeat: () => undefined,
    });
    const { s } = await fake.session([m.addr], { initialContactMs: 1 });
    await until(() => sentSince >= 10, "ten other messages sent");
    await until(() => s.lastContactMs() > 1, "the Welcome counted");
    // When the Hello left: before the Welcome was written, and not moved by what came after.
    expect(s.lastContactMs()).toBeLessThanOrEqual(welcomedAtMs);
  }, 30_000);

  it("counts the Hello from when its connection came up, not from when it was queued", async () => {
    // A connection that takes 1.2 s to come up: bytes are held that long before they reach the member.
    const m = await fake.serve();
    const sockets: Socket[] = [];
    const proxy = createServer((inbound) => {
      sockets.push(inbound);
      inbound.pause();
      const t = setTimeout(() => {
        const up = createConnection(m.port, "127.0.0.1", () => {
          inbound.pipe(up).pipe(inbound);
          inbound.resume();
        });
        sockets.push(up);
        up.on("error", () => inbound.destroy());
      }, 1200);
      inbound.on("error", () => undefined).on("close", () => clearTimeout(t));
    });
    await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
    fake.cleanup(() => {
      for (const x of sockets) x.destroy();
      return new Promise<void>((resolve) => proxy.close(() => resolve()));
    });
    const startedMs = monoMs();
    const addr = `127.0.0.1:${(proxy.address() as { port: number }).port}`;
    const { s } = await fake.session([addr], { initialContactMs: 1 });
    await until(() => s.lastContactMs() > 1, "the Welcome counted");
    expect(s.lastContactMs() - startedMs).toBeGreaterThanOrEqual(1100);
  }, 30_000);
});
