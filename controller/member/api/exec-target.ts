/**
 * Where `berth exec` runs: a host named by id, unique id prefix or hostname, or
 * an instance of a service (a given one, else the first that has a host). Pure:
 * it sees the host records and the service's instances, nothing else.
 */
import * as grpc from "@grpc/grpc-js";
import type { HostRecord } from "../../hosts/host.js";
import { instanceId, type InstanceRecord } from "../../services/records.js";
import { GrpcError } from "./errors.js";
import { quote } from "../../../shared/text/quote.js";

/** The shortest id prefix exec takes: a command must not land on a host by a near miss. */
export const EXEC_MIN_PREFIX = 4;

/**
 * A host by exact id, else by exact hostname when exactly one host has it, else
 * by a unique id prefix of at least EXEC_MIN_PREFIX characters. The hostname goes
 * before the prefix: ids are hex, so a name like "db1" or "cafe" is also a prefix
 * of some host's id, and exec must run where the operator means.
 */
export function resolveHostRef(hosts: { resolve(q: string): HostRecord; get(id: string): HostRecord | undefined; all(): HostRecord[] }, query: string): HostRecord {
  const exact = hosts.get(query);
  if (exact) return exact;
  const named = hosts.all().filter((h) => h.facts?.hostname === query);
  if (named.length === 1) return named[0]!;
  if (named.length > 1) {
    const ids = named.map((h) => h.id).sort();
    throw new GrpcError(grpc.status.NOT_FOUND, `hostname ${quote(query)} names ${named.length} hosts (${ids.slice(0, 5).join(", ")}${ids.length > 5 ? ", …" : ""}): give a host id`);
  }
  if (query.length < EXEC_MIN_PREFIX && hosts.all().some((h) => h.id.startsWith(query))) {
    throw new GrpcError(grpc.status.NOT_FOUND, `${quote(query)} is too short to name a host for exec: give its hostname or at least ${EXEC_MIN_PREFIX} characters of its id`);
  }
  return hosts.resolve(query);
}

/**
 * The instance to exec into: `ref` is "" (the first, by slot, that has a host),
 * a slot number ("2") or an instance id ("web-2").
 */
export function pickInstance(service: string, instances: readonly InstanceRecord[], ref: string): InstanceRecord {
  const sorted = [...instances].sort((a, b) => a.slot - b.slot);
  if (!ref) {
    const placed = sorted.find((i) => i.hostId);
    if (!placed) throw new GrpcError(grpc.status.FAILED_PRECONDITION, `${service} has no instance on a host yet; \`berth status ${service}\` says why`);
    return placed;
  }
  const slot = /^\d{1,5}$/.test(ref) ? Number(ref) : ref.startsWith(`${service}-`) && /^\d{1,5}$/.test(ref.slice(service.length + 1)) ? Number(ref.slice(service.length + 1)) : NaN;
  const inst = sorted.find((i) => i.slot === slot);
  if (!inst) {
    const known = sorted.map((i) => instanceId(i.service, i.slot));
    throw new GrpcError(grpc.status.NOT_FOUND, `no instance ${quote(ref, 80)} of ${service} (it has ${known.length ? known.join(", ") : "none"})`);
  }
  if (!inst.hostId) throw new GrpcError(grpc.status.FAILED_PRECONDITION, `${instanceId(service, inst.slot)} is not on a host yet; \`berth status ${service}\` says why`);
  return inst;
}
