/** Maps errors to gRPC statuses at the edge: clear details, never a stack trace on the wire. */
import * as grpc from "@grpc/grpc-js";
import { AuthError } from "../../auth/token-service.js";
import { ConflictError, HostNotFoundError } from "../../hosts/registry.js";
import { ValidationError } from "./validate.js";
import { StoreUnavailableError } from "../../store/store.js";
import { STORE_UNAVAILABLE_PREFIX } from "../../../shared/members.js";
import { diskProblem } from "../../store/disk-error.js";

export class GrpcError extends Error {
  constructor(
    readonly code: grpc.status,
    message: string,
  ) {
    super(message);
    this.name = "GrpcError";
  }
}

/**
 * The most of a status's text sent: it travels in the HTTP/2 trailers, and one past the
 * client's header-list limit (~64 KB, non-ASCII escaped 3 for 1) never arrived — the call
 * hung to its deadline, and its channel with it (500 specs' errors did it).
 */
export const MAX_DETAILS = 8 * 1024;

/** `details` within MAX_DETAILS: whole lines, then how much was left out. Pure. */
export function capDetails(details: string, max = MAX_DETAILS): string {
  if (details.length <= max) return details;
  const cut = details.lastIndexOf("\n", max);
  const kept = details.slice(0, cut > max / 2 ? cut : max);
  const rest = details.slice(kept.length);
  const lines = rest.split("\n").filter(Boolean).length;
  return `${kept}\n… and ${lines > 1 ? `${lines} more lines` : "more"} (${rest.length} characters) not shown: fix what is shown and try again`;
}

export function toStatus(err: unknown): { code: grpc.status; details: string; internal: boolean } {
  const s = statusOf(err);
  return { ...s, details: capDetails(s.details) };
}

function statusOf(err: unknown): { code: grpc.status; details: string; internal: boolean } {
  if (err instanceof GrpcError) return { code: err.code, details: err.message, internal: false };
  if (err instanceof AuthError) return { code: grpc.status.UNAUTHENTICATED, details: err.message, internal: false };
  if (err instanceof ValidationError) return { code: grpc.status.INVALID_ARGUMENT, details: err.message, internal: false };
  if (err instanceof HostNotFoundError) return { code: grpc.status.NOT_FOUND, details: err.message, internal: false };
  if (err instanceof ConflictError) return { code: grpc.status.ABORTED, details: err.message, internal: false };
  // Not the caller's fault nor a bug: another member may reach the store, or it comes back.
  if (err instanceof StoreUnavailableError) return { code: grpc.status.UNAVAILABLE, details: STORE_UNAVAILABLE_PREFIX + err.message, internal: false };
  // The controller's own disk (the store, the artifacts): the operator can act on that, so say it.
  const disk = diskProblem(err);
  if (disk) {
    const what = disk.full ? "its disk is full" : "its disk cannot be written";
    return { code: disk.full ? grpc.status.RESOURCE_EXHAUSTED : grpc.status.INTERNAL, details: `the controller cannot store this: ${what} (${disk.message}); free space in its data dir, or mend the disk, and try again`, internal: true };
  }
  return { code: grpc.status.INTERNAL, details: "internal error (see the controller log)", internal: true };
}

export function serviceError(err: unknown): grpc.ServiceError {
  const s = toStatus(err);
  return Object.assign(new Error(s.details), { code: s.code, details: s.details, metadata: new grpc.Metadata() });
}
