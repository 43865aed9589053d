/**
 * The berth.v1 gRPC definitions. The message types used in code are the ones
 * generated into shared/gen from proto/ (npm run gen), so the wire contract is
 * written once, in proto/.
 *
 * The definitions are built from the JSON descriptor `npm run gen` writes
 * (shared/gen/descriptor.ts) with protobufjs/light, not by proto-loader parsing
 * the .proto text: that parse, the full protobufjs and proto-loader's descriptor
 * conversion cost ~65 ms of CPU on every `berth` run (README, "Performance").
 * Serialization is proto-loader's, step for step (createSerializer,
 * createDeserializer); proto.test.ts holds the two side by side.
 */
import * as grpc from "@grpc/grpc-js";
import protobuf from "protobufjs/light.js";
import { descriptor } from "./gen/descriptor.js";
import type { ProtoGrpcType as AgentProto } from "./gen/agent.js";
import type { ProtoGrpcType as OperatorProto } from "./gen/operator.js";

/**
 * How messages are read into objects. Must match the flags of `npm run gen`
 * (--keepCase is applied to the descriptor itself), or the generated types lie.
 */
export const TO_OBJECT_OPTIONS: protobuf.IConversionOptions = { longs: Number, enums: String, defaults: true, oneofs: true };

/** The services of berth.v1, as proto-loader's package definition has them. */
const SERVICES = ["berth.v1.AgentService", "berth.v1.OperatorService", "berth.v1.MemberService"] as const;

function serializer(type: protobuf.Type): (arg: object) => Buffer {
  return (arg) => {
    if (Array.isArray(arg)) throw new Error(`Failed to serialize message: expected object with ${type.name} structure, got array instead`);
    return Buffer.from(type.encode(type.fromObject(arg)).finish());
  };
}

function deserializer(type: protobuf.Type): (buf: Buffer) => object {
  return (buf) => type.toObject(type.decode(buf), TO_OBJECT_OPTIONS);
}

/** grpc-js's package definition of the berth.v1 services, from the descriptor. */
export function packageDefinition(): Record<string, grpc.ServiceDefinition> {
  const root = protobuf.Root.fromJSON(descriptor as protobuf.INamespace);
  root.resolveAll();
  const out: Record<string, grpc.ServiceDefinition> = {};
  for (const name of SERVICES) {
    const service = root.lookupService(name);
    const def: Record<string, grpc.MethodDefinition<object, object>> = {};
    for (const m of service.methodsArray) {
      const req = m.resolvedRequestType;
      const res = m.resolvedResponseType;
      if (!req || !res) throw new Error(`${name}.${m.name}: unresolved message type`);
      def[m.name] = {
        path: `/${name}/${m.name}`,
        requestStream: Boolean(m.requestStream),
        responseStream: Boolean(m.responseStream),
        requestSerialize: serializer(req),
        requestDeserialize: deserializer(req),
        responseSerialize: serializer(res),
        responseDeserialize: deserializer(res),
        // grpc-js also names each client method thus (proto-loader's camelCase of PascalCase method names).
        originalName: m.name.charAt(0).toLowerCase() + m.name.slice(1),
      };
    }
    out[name] = def;
  }
  return out;
}

let cached: { agent: AgentProto; operator: OperatorProto } | undefined;

export function loadProtos(): { agent: AgentProto; operator: OperatorProto } {
  if (cached) return cached;
  const pkg = grpc.loadPackageDefinition(packageDefinition()) as unknown;
  cached = { agent: pkg as AgentProto, operator: pkg as OperatorProto };
  return cached;
}
