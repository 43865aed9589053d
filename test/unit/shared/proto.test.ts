/**
 * shared/proto.ts builds the gRPC definitions from the generated JSON descriptor
 * with protobufjs/light; proto-loader parsing proto/ with the flags of `npm run gen`
 * is the reference. Same methods, paths, streaming, and the same bytes and objects
 * on the wire, or a client and a server built differently would disagree.
 */
import { describe, expect, it } from "vitest";
import type * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { fileURLToPath } from "node:url";
import { packageDefinition } from "../../../shared/proto.js";

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
});
