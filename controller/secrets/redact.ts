/**
 * What a viewer may read of a service (issue 13): the names of its environment
 * variables and secrets, not the values of run.env — operators and admins, who
 * apply specs, see those. Secret values are in no spec at all.
 */
import type { ServiceChange } from "../../shared/gen/berth/v1/ServiceChange.js";
import type { ServiceSpec } from "../../shared/spec/types.js";
import type { Role } from "../auth/tokens.js";
import { roleAllows } from "../auth/tokens.js";

export const HIDDEN = "(hidden)";

/** May this role read run.env values? */
export const seesEnvValues = (role: Role): boolean => roleAllows(role, "operator");

export function redactSpec(spec: ServiceSpec): ServiceSpec {
  return { ...spec, run: { ...spec.run, env: Object.fromEntries(Object.keys(spec.run.env).map((k) => [k, HIDDEN])) } };
}

/** A plan's changes with run.env values hidden: the change still shows, by name. */
export function redactChanges(changes: readonly ServiceChange[]): ServiceChange[] {
  const hide = (json: string | undefined): string => (json ? JSON.stringify(HIDDEN) : "");
  return changes.map((c) => ({
    ...c,
    fields: (c.fields ?? []).map((f) => (/^run\.env(\.|$)/.test(f.path ?? "") ? { ...f, from_json: hide(f.from_json), to_json: hide(f.to_json) } : f)),
  }));
}
