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

/** A descriptor entry of berth.v1, as the JSON has it (flat: no types nested in types). */
interface DescriptorEntry {
  fields?: Record<string, { type: string; keyType?: string }>;
  values?: Record<string, number>;
  methods?: Record<string, { requestType: string; responseType: string; requestStream?: boolean; responseStream?: boolean }>;
}

const V1_PREFIX = /^\.?berth\.v1\./;

function v1Entries(): Record<string, DescriptorEntry> {
  const v1 = (descriptor as { nested?: { berth?: { nested?: { v1?: { nested?: Record<string, DescriptorEntry> } } } } }).nested?.berth?.nested?.v1?.nested;
  if (!v1) throw new Error("the descriptor has no berth.v1");
  return v1;
}

/**
 * The message type `name` of berth.v1, built with only the types it reaches (its
 * fields' types, theirs, …), not the whole package. Field types are package-level
 * names (berth.v1 nests no types); anything else is a scalar.
 */
function closureType(v1: Record<string, DescriptorEntry>, name: string, eager = false): protobuf.Type {
  const picked: Record<string, DescriptorEntry> = {};
  const visit = (n: string): void => {
    const short = n.replace(V1_PREFIX, "");
    const e = v1[short];
    if (e === undefined || picked[short] !== undefined) return;
    picked[short] = e;
    for (const f of Object.values(e.fields ?? {})) visit(f.type);
  };
  visit(name);
  const root = protobuf.Root.fromJSON({ nested: { berth: { nested: { v1: { nested: picked } } } } } as protobuf.INamespace);
  // Throws for a type the walk missed, so a descriptor that nests types fails loudly (proto.test.ts builds every method).
  root.resolveAll();
  // Eager: every type's generated encoder and decoder too (protobufjs makes them on first use).
  if (eager) {
    for (const n of Object.keys(picked)) {
      const t = root.lookup(`berth.v1.${n}`);
      if (t instanceof protobuf.Type) t.setup();
    }
  }
  return root.lookupType(`berth.v1.${name.replace(V1_PREFIX, "")}`);
}

let lazyOperator: OperatorProto | undefined;

/**
 * The OperatorService client for the CLI, whose calls' message types are built on
 * each method's first use: one `berth` command makes one or two kinds of call,
 * and building all of berth.v1's ~110 types up front cost it ~40 ms of CPU on
 * every run (README, "CLI start-up"). Same serializers as packageDefinition's,
 * and the same bytes (proto.test.ts).
 */
export function loadOperatorProtos(o: { eager?: boolean } = {}): OperatorProto {
  if (lazyOperator && !o.eager) return lazyOperator;
  const v1 = v1Entries();
  const service = v1.OperatorService?.methods;
  if (!service) throw new Error("the descriptor has no berth.v1.OperatorService");
  const types = new Map<string, protobuf.Type>();
  const typeOf = (name: string): protobuf.Type => {
    let t = types.get(name);
    if (!t) types.set(name, (t = closureType(v1, name, o.eager)));
    return t;
  };
  const def: Record<string, grpc.MethodDefinition<object, object>> = {};
  for (const [name, m] of Object.entries(service)) {
    let reqSer: ((arg: object) => Buffer) | undefined;
    let reqDe: ((buf: Buffer) => object) | undefined;
    let resSer: ((arg: object) => Buffer) | undefined;
    let resDe: ((buf: Buffer) => object) | undefined;
    def[name] = {
      path: `/berth.v1.OperatorService/${name}`,
      requestStream: Boolean(m.requestStream),
      responseStream: Boolean(m.responseStream),
      requestSerialize: (arg) => (reqSer ??= serializer(typeOf(m.requestType)))(arg),
      requestDeserialize: (buf) => (reqDe ??= deserializer(typeOf(m.requestType)))(buf),
      responseSerialize: (arg) => (resSer ??= serializer(typeOf(m.responseType)))(arg),
      responseDeserialize: (buf) => (resDe ??= deserializer(typeOf(m.responseType)))(buf),
      originalName: name.charAt(0).toLowerCase() + name.slice(1),
    };
    if (o.eager) {
      // The CLI's start-up snapshot (cli/snapshot.ts) builds them all once, at build time,
      // with their generated encoders and decoders (protobufjs makes those on first use).
      reqSer = serializer(typeOf(m.requestType));
      reqDe = deserializer(typeOf(m.requestType));
      resSer = serializer(typeOf(m.responseType));
      resDe = deserializer(typeOf(m.responseType));
    }
  }
  lazyOperator = grpc.loadPackageDefinition({ "berth.v1.OperatorService": def }) as unknown as OperatorProto;
  return lazyOperator;
}
