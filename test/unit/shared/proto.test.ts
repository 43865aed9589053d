/**
 * shared/proto.ts builds the gRPC definitions from the generated JSON descriptor
 * with protobufjs/light; proto-loader parsing proto/ with the flags of `npm run gen`
 * is the reference. Same methods, paths, streaming, and the same bytes and objects
 * on the wire, or a client and a server built differently would disagree.
 */
import { describe, expect, it, vi } from "vitest";
import type * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { fileURLToPath } from "node:url";
import { loadOperatorProtos, packageDefinition } from "../../../shared/proto.js";

const PROTO = fileURLToPath(new URL("../../../proto", import.meta.url));
const reference = protoLoader.loadSync(["berth/v1/agent.proto", "berth/v1/operator.proto"], { keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true, includeDirs: [PROTO] });
const ours = packageDefinition();

type Methods = Record<string, grpc.MethodDefinition<object, object>>;
const methodsOf = (def: unknown): Methods => def as Methods;

describe("the berth.v1 definitions built from the descriptor", () => {
  for (const service of ["berth.v1.AgentService", "berth.v1.OperatorService"]) {
    it(`${service}: the methods proto-loader makes, path, streaming and name alike`, () => {
      const ref = methodsOf(reference[service]);
      const mine = methodsOf(ours[service]);
      expect(Object.keys(mine).sort()).toEqual(Object.keys(ref).sort());
      for (const [name, r] of Object.entries(ref)) {
        const m = mine[name]!;
        expect({ path: m.path, rs: m.requestStream, ss: m.responseStream, n: m.originalName }, name).toEqual({ path: r.path, rs: r.requestStream, ss: r.responseStream, n: r.originalName });
        // Defaults (enums as strings, 64-bit as numbers, oneof names) come out alike.
        expect(m.requestDeserialize(r.requestSerialize({})), name).toEqual(r.requestDeserialize(r.requestSerialize({})));
        expect(m.responseDeserialize(r.responseSerialize({})), name).toEqual(r.responseDeserialize(r.responseSerialize({})));
      }
    });
  }

  it("serializes nested, repeated, map, oneof and 64-bit fields to the same bytes, and reads them back alike", () => {
    const connect = (def: unknown): grpc.MethodDefinition<object, object> => methodsOf(def).Connect!;
    const msg = {
      hello: {
        host_id: "h1",
        labels: { dc: "dc1", rack: "r7" },
        advertise_addr: "10.0.0.5",
        facts: { hostname: "web-1", cpu_cores: 8, memory_total_bytes: 17_179_869_184, disks: [{ name: "sda", size_bytes: 1_000_204_886_016 }] },
      },
    };
    const a = connect(reference["berth.v1.AgentService"]).requestSerialize(msg);
    const b = connect(ours["berth.v1.AgentService"]).requestSerialize(msg);
    expect(Buffer.compare(a, b)).toBe(0);
    const back = connect(ours["berth.v1.AgentService"]).requestDeserialize(a);
    expect(back).toEqual(connect(reference["berth.v1.AgentService"]).requestDeserialize(a));
    expect(back).toMatchObject({ msg: "hello", hello: { host_id: "h1", labels: { dc: "dc1" }, facts: { memory_total_bytes: 17_179_869_184 } } });
  });

  it("the CLI's OperatorService (types built per method, on first use): every method as packageDefinition's, the same bytes and objects", () => {
    const ref = methodsOf(reference["berth.v1.OperatorService"]);
    const lazy = methodsOf((loadOperatorProtos().berth.v1.OperatorService as unknown as { service: unknown }).service);
    expect(Object.keys(lazy).sort()).toEqual(Object.keys(ref).sort());
    for (const [name, r] of Object.entries(ref)) {
      const m = lazy[name]!;
      expect({ path: m.path, rs: m.requestStream, ss: m.responseStream, n: m.originalName }, name).toEqual({ path: r.path, rs: r.requestStream, ss: r.responseStream, n: r.originalName });
      expect(m.requestDeserialize(r.requestSerialize({})), name).toEqual(r.requestDeserialize(r.requestSerialize({})));
      expect(m.responseDeserialize(r.responseSerialize({})), name).toEqual(r.responseDeserialize(r.responseSerialize({})));
    }
    // A message reaching nested, repeated, map, enum and 64-bit fields, both ways.
    const listHosts = (def: Methods): grpc.MethodDefinition<object, object> => def.ListHosts!;
    const hosts = {
      hosts: [
        {
          id: "h1",
          labels: { dc: "dc1" },
          facts: { hostname: "web-1", memory_total_bytes: 17_179_869_184, disks: [{ name: "sda", size_bytes: 1_000_204_886_016 }] },
        },
      ],
    };
    const a = listHosts(ref).responseSerialize(hosts);
    expect(Buffer.compare(listHosts(lazy).responseSerialize(hosts), a)).toBe(0);
    expect(listHosts(lazy).responseDeserialize(a)).toEqual(listHosts(ref).responseDeserialize(a));
  });

  it("the CLI's snapshot builds every OperatorService type up front (eager): the same bytes and objects as proto-loader's", () => {
    const ref = methodsOf(reference["berth.v1.OperatorService"]);
    const eager = methodsOf((loadOperatorProtos({ eager: true }).berth.v1.OperatorService as unknown as { service: unknown }).service);
    expect(Object.keys(eager).sort()).toEqual(Object.keys(ref).sort());
    for (const [name, r] of Object.entries(ref)) {
      const m = eager[name]!;
      expect(m.requestDeserialize(r.requestSerialize({})), name).toEqual(r.requestDeserialize(r.requestSerialize({})));
      expect(m.responseDeserialize(r.responseSerialize({})), name).toEqual(r.responseDeserialize(r.responseSerialize({})));
    }
    const hosts = { hosts: [{ id: "h1", labels: { dc: "dc1" }, facts: { hostname: "web-1", memory_total_bytes: 17_179_869_184 } }] };
    const a = ref.ListHosts!.responseSerialize(hosts);
    expect(Buffer.compare(eager.ListHosts!.responseSerialize(hosts), a)).toBe(0);
    expect(eager.ListHosts!.responseDeserialize(a)).toEqual(ref.ListHosts!.responseDeserialize(a));
  });

  it("the CLI's OperatorService builds no message type until a call needs one, and then only what that call reaches", async () => {
    vi.resetModules();
    const protobuf = (await import("protobufjs/light.js")).default;
    const fromJSON = vi.spyOn(protobuf.Root, "fromJSON");
    try {
      const { loadOperatorProtos: load } = await import("../../../shared/proto.js");
      const service = (load().berth.v1.OperatorService as unknown as { service: Methods }).service;
      expect(fromJSON).not.toHaveBeenCalled();
      service.RolloutControl!.requestSerialize({ service: "web", action: "restart" });
      expect(fromJSON).toHaveBeenCalledTimes(1);
      const built = fromJSON.mock.results[0]!.value as protobuf.Root;
      expect(Object.keys((built.lookup("berth.v1") as protobuf.Namespace).nested ?? {})).toEqual(["RolloutControlRequest"]);
    } finally {
      fromJSON.mockRestore();
    }
  });
});
