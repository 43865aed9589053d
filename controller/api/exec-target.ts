/**
 * Where `berth exec` runs: a host named by id, unique id prefix or hostname, or
 * an instance of a service (a given one, else the first that has a host). Pure:
 * it sees the host records and the service's instances, nothing else.
 */
import * as grpc from "@grpc/grpc-js";
import type { HostRecord } from "../hosts/host.js";
import { HostNotFoundError } from "../hosts/registry.js";
import { instanceId, type InstanceRecord } from "../services/records.js";
import { GrpcError } from "./errors.js";

/**
 * A host by id or unique id prefix (as every command takes them), else by its
 * hostname when exactly one host has it.
 */
export function resolveHostRef(hosts: { resolve(q: string): HostRecord; all(): HostRecord[] }, query: string): HostRecord {
  try {
    return hosts.resolve(query);
  } catch (e) {
    if (!(e instanceof HostNotFoundError)) throw e;
    const named = hosts.all().filter((h) => h.facts?.hostname === query);
    if (named.length === 1) return named[0]!;
    if (named.length > 1) {
      const ids = named.map((h) => h.id).sort();
      throw new GrpcError(grpc.status.NOT_FOUND, `hostname "${query.slice(0, 64)}" names ${named.length} hosts (${ids.slice(0, 5).join(", ")}${ids.length > 5 ? ", …" : ""}): give a host id`);
    }
    throw e;
  }
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
    throw new GrpcError(grpc.status.NOT_FOUND, `no instance "${ref.slice(0, 80)}" of ${service} (it has ${known.length ? known.join(", ") : "none"})`);
  }
  if (!inst.hostId) throw new GrpcError(grpc.status.FAILED_PRECONDITION, `${instanceId(service, inst.slot)} is not on a host yet; \`berth status ${service}\` says why`);
  return inst;
}
