/**
 * A host's whole desired state (DESIGN.md: re-sent whole on change and
 * reconnect), derived from the records, plus the values of the secrets its spec
 * names (decrypted here, for this host only).
 */
import type { Assignment } from "../../shared/gen/berth/v1/Assignment.js";
import type { SecretValue } from "../../shared/gen/berth/v1/SecretValue.js";
import type { ServiceSpec } from "../../shared/spec/types.js";
import { instanceId, specOf } from "./records.js";
import type { ServiceState } from "./state.js";

type Records = Pick<ServiceState, "hostAssignments" | "blockedHosts" | "service" | "quarantinedReason">;

/** The secret values a spec names (secrets/secret-store.ts); undefined: the cache is behind the spec. */
export interface SecretValues {
  valuesFor(spec: ServiceSpec): SecretValue[] | undefined;
}

/**
 * The assignment of a host; undefined when it cannot be told — the host is held by
 * a record this controller cannot read, its service's record is unreadable, or the
 * secrets its spec names are not known here yet. The host is then sent nothing and
 * keeps what it runs: "none" would stop it.
 */
export function assignmentFor(state: Records, hostId: string, secrets?: SecretValues): Assignment | undefined {
  const none = { service: "", instance: "", epoch: 0, revision: 0, spec_json: "", secrets: [] };
  const a = state.hostAssignments().get(hostId);
  if (!a) return state.blockedHosts().has(hostId) ? undefined : none;
  const svc = state.service(a.inst.service);
  if (!svc) return state.quarantinedReason(a.inst.service) === undefined ? none : undefined;
  const spec = specOf(svc, a.revision);
  const values = secrets ? secrets.valuesFor(spec) : [];
  if (!values) return undefined;
  return { service: svc.name, instance: instanceId(svc.name, a.inst.slot), epoch: a.epoch, revision: a.revision, spec_json: JSON.stringify(spec), secrets: values };
}

/** What is compared to tell whether a host needs its assignment again: never a secret's value (its version is in the spec). */
export function sentKey(a: Assignment): string {
  return JSON.stringify({ ...a, secrets: (a.secrets ?? []).map((s) => [s.name, s.version]) });
}

/**
 * What tells a push whether this host needs its assignment again, beyond the assignment
 * itself: the copy's resume mark (InstanceRecord.resumed), when the planner gave back a
 * copy that fenced itself here. A new mark sends the same assignment once more.
 */
export function pushKey(state: Pick<ServiceState, "hostAssignments">, hostId: string, a: Assignment): string {
  const x = state.hostAssignments().get(hostId);
  const mark = x?.inst.resumed?.find((r) => r.hostId === hostId && r.epoch === x.epoch);
  return mark ? `${sentKey(a)}\nresumed ${mark.sinceMs}` : sentKey(a);
}

/** Does this host run a copy (instance, epoch) that the records no longer give it? */
export function isSuperseded(state: Pick<ServiceState, "hostAssignments" | "blockedHosts">, hostId: string, instance: string, epoch: number): boolean {
  // Held by a record this controller cannot read: whatever runs there is not ours to judge.
  if (state.blockedHosts().has(hostId)) return false;
  const a = state.hostAssignments().get(hostId);
  if (!a) return true;
  return instanceId(a.inst.service, a.inst.slot) !== instance || a.epoch !== epoch;
}
