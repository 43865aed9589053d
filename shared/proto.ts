/**
 * Loads the berth.v1 protos at run time. The message types used in code are the
 * ones generated into shared/gen from the same files (npm run gen), so the wire
 * contract is written once, in proto/.
 */
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";
import type { ProtoGrpcType as AgentProto } from "./gen/agent.js";
import type { ProtoGrpcType as OperatorProto } from "./gen/operator.js";

// dist/shared/proto.js and shared/proto.ts both sit one or two levels below the root.
function protoRoot(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const up = here.includes(`${join("dist", "shared")}`) ? join(here, "..", "..") : join(here, "..");
  return join(up, "proto");
}

/** Must match the flags of `npm run gen`, or the generated types lie. */
export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [protoRoot()],
};

let cached: { agent: AgentProto; operator: OperatorProto } | undefined;

export function loadProtos(): { agent: AgentProto; operator: OperatorProto } {
  if (cached) return cached;
  const defs = protoLoader.loadSync(["berth/v1/agent.proto", "berth/v1/operator.proto"], LOADER_OPTIONS);
  const pkg = grpc.loadPackageDefinition(defs) as unknown;
  cached = { agent: pkg as AgentProto, operator: pkg as OperatorProto };
  return cached;
}
