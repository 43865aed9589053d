/** Log chunks and exec output: relayed to the operator call that asked for them, never stored. */
import * as grpc from "@grpc/grpc-js";
import type { LogChunk__Output } from "../../../shared/gen/berth/v1/LogChunk.js";
import type { ExecOutput__Output } from "../../../shared/gen/berth/v1/ExecOutput.js";
import type { ExecExit__Output } from "../../../shared/gen/berth/v1/ExecExit.js";
import { GrpcError } from "../api/errors.js";
import { validateExecExit, validateExecOutput } from "../api/validate.js";
import type { AgentServiceDeps } from "./deps.js";
import { isCurrent, type AgentStream } from "./stream.js";

/** The longest log_chunk.error an agent may send (the agent's own are an error message). */
export const MAX_LOG_ERROR_CHARS = 4096;

export function onLogChunk(d: AgentServiceDeps, s: AgentStream, c: LogChunk__Output): void {
  if (c.data.length > 1024 * 1024) throw new GrpcError(grpc.status.INVALID_ARGUMENT, "log_chunk.data: larger than 1 MiB");
  // Why a log could not be read: a line, not a payload (it is outside the flow-control window).
  if (c.error.length > MAX_LOG_ERROR_CHARS) throw new GrpcError(grpc.status.INVALID_ARGUMENT, `log_chunk.error: longer than ${MAX_LOG_ERROR_CHARS} characters`);
  if (isCurrent(d, s)) d.logs.deliver(s.hostId, c);
}

export function onExecOutput(d: AgentServiceDeps, s: AgentStream, raw: ExecOutput__Output): void {
  const o = validateExecOutput(raw);
  if (isCurrent(d, s)) d.execs.output(s.hostId, o);
}

export function onExecExit(d: AgentServiceDeps, s: AgentStream, raw: ExecExit__Output): void {
  const e = validateExecExit(raw);
  if (isCurrent(d, s)) d.execs.exit(s.hostId, e);
}
