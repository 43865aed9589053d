import { describe, expect, it } from "vitest";
import { devPorts, portUses, portsTaken } from "../../../cli/dev-ports.js";
import { CliError, EXIT } from "../../../cli/errors.js";

const defaults = { port: 7420, metricsPort: 9464, uiPort: undefined, etcdPort: 22379 };

/** Every port a fleet listens on at 127.0.0.1. */
const all = (p: ReturnType<typeof devPorts>): number[] => [...p.controllers, ...p.metrics, ...p.ui, ...p.etcdClient, ...p.etcdPeer].filter((x) => x !== 0);

describe("devPorts", () => {
  it("one controller: the ports npm start has always used", () => {
    expect(devPorts({ ...defaults, controllers: 1 })).toEqual({ controllers: [7420], metrics: [9464], ui: [7421], etcdClient: [], etcdPeer: [] });
  });

  it("a group of 3 on the defaults: every port once (the consoles once took the members' gRPC ports)", () => {
    const p = devPorts({ ...defaults, controllers: 3 });
    expect(p).toEqual({
      controllers: [7420, 7421, 7422],
      metrics: [9464, 9565, 9566],
      ui: [7423, 7424, 7425],
      etcdClient: [22379, 22380, 22381],
      etcdPeer: [22389, 22390, 22391],
    });
    expect(new Set(all(p)).size).toBe(all(p).length);
  });

  it("a group of 5 on the defaults: every port once", () => {
    const p = devPorts({ ...defaults, controllers: 5 });
    expect(p.ui).toEqual([7425, 7426, 7427, 7428, 7429]);
    expect(new Set(all(p)).size).toBe(all(p).length);
  });

  it("the consoles follow --port when --ui-port is not given, and are off with 0", () => {
    expect(devPorts({ ...defaults, controllers: 3, port: 8000 }).ui).toEqual([8003, 8004, 8005]);
    expect(devPorts({ ...defaults, controllers: 3, uiPort: 0, metricsPort: 0 })).toMatchObject({ ui: [0, 0, 0], metrics: [0, 0, 0] });
  });

  it.each([
    [{ controllers: 3, uiPort: 7421 }, /controller c2 \(--port 7420 \+ 1\) and controller c1's web console \(--ui-port 7421\) would both listen on 127\.0\.0\.1:7421/],
    [{ controllers: 1, uiPort: 7420 }, /the controller \(--port 7420\) and the controller's web console \(--ui-port 7420\) would both listen on 127\.0\.0\.1:7420/],
    [{ controllers: 3, etcdPort: 7412 }, /controller c3 \(--port 7420 \+ 2\) and etcd member e1's peers \(--etcd-port 7412 \+ 10\) would both listen on 127\.0\.0\.1:7422/],
    [{ controllers: 1, metricsPort: 7421 }, /the controller's metrics \(--metrics-port 7421\) and the controller's web console \(the port after the controllers', 7421\) would both listen/],
  ])("two things on one port is a usage error naming both: %o", (flags, message) => {
    let err: unknown;
    try {
      devPorts({ ...defaults, ...flags });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CliError);
    expect((err as CliError).exitCode).toBe(EXIT.usage);
    expect((err as CliError).message).toMatch(message);
  });

  it("a port derived past 65535 is refused, named", () => {
    expect(() => devPorts({ ...defaults, controllers: 3, etcdPort: 65530 })).toThrow(/etcd member e1's peers \(--etcd-port 65530 \+ 10\) would be port 65540, outside 1–65535/);
    expect(() => devPorts({ ...defaults, controllers: 3, port: 65533 })).toThrow(/web console .* would be port 65536/);
  });
});

describe("berth dev: ports something else holds", () => {
  it("are named with what would listen there, before anything starts", async () => {
    const { createServer } = await import("node:net");
    const holder = createServer();
    await new Promise<void>((ok) => holder.listen(0, "127.0.0.1", ok));
    const held = (holder.address() as { port: number }).port;
    try {
      const flags = { ...defaults, controllers: 3, port: held - 1, metricsPort: 0, uiPort: 0, etcdPort: 2379 };
      // Only the held port is looked at: any other may be some other process's at this moment.
      const uses = portUses(flags, devPorts(flags)).filter((u) => u.port === held);
      const busy = await portsTaken(uses);
      expect(busy).toEqual([{ port: held, what: `controller c2 (--port ${held - 1} + 1)`, why: "EADDRINUSE" }]);
    } finally {
      await new Promise((ok) => holder.close(ok));
    }
  });
});
