/**
 * `berth plan` and `berth apply`: parse and validate every file (the controller
 * trusts no client's validation), diff against what is stored, preview the
 * placement, and — for apply — commit all of it in one txn or nothing.
 */
import { parseSpecFile, formatSpecError } from "../../shared/spec/parse.js";
import { diffSpecs } from "../../shared/spec/diff.js";
import type { ServiceSpec } from "../../shared/spec/types.js";
import type { SpecFile__Output } from "../../shared/gen/berth/v1/SpecFile.js";
import type { ServiceChange } from "../../shared/gen/berth/v1/ServiceChange.js";
import type { NewEvent } from "../events/event-log.js";
import { reconcile, type HostView } from "../reconcile/planner.js";
import type { InstanceRecord, ServiceRecord } from "./records.js";

export const MAX_SPEC_FILES = 1000;
export const MAX_SPEC_BYTES = 256 * 1024;

export interface ApplyPlan {
  errors: string[];
  changes: ServiceChange[];
  puts: ServiceRecord[];
  deletes: string[];
  events: NewEvent[];
}

export function planApply(o: {
  files: readonly SpecFile__Output[];
  prune: boolean;
  services: readonly ServiceRecord[];
  instances: readonly InstanceRecord[];
  hosts: readonly HostView[];
  hasArtifact: (sha256: string) => boolean;
  /** apply needs the artifact stored; plan only shows what would change. */
  requireArtifacts: boolean;
  nowMs: number;
  actor: string;
}): ApplyPlan {
  const errors: string[] = [];
  if (o.files.length > MAX_SPEC_FILES) errors.push(`at most ${MAX_SPEC_FILES} files at once`);
  const specs = new Map<string, { spec: ServiceSpec; file: string }>();
  for (const f of o.files.slice(0, MAX_SPEC_FILES)) {
    const file = f.file.slice(0, 256) || "<unnamed>";
    if (f.content.length > MAX_SPEC_BYTES) {
      errors.push(`${file}: larger than ${MAX_SPEC_BYTES / 1024} KiB`);
      continue;
    }
    const parsed = parseSpecFile(f.content, file);
    errors.push(...parsed.errors.map(formatSpecError));
    const spec = parsed.spec;
    if (!spec) continue;
    if (spec.artifact?.kind === "stored") {
      if (!/^[0-9a-f]{64}$/.test(f.artifact_sha256)) {
        errors.push(`${file}: artifact: ${spec.artifact.source} was not uploaded (the CLI packs and uploads local artifacts)`);
        continue;
      }
      if (o.requireArtifacts && !o.hasArtifact(f.artifact_sha256)) {
        errors.push(`${file}: artifact: no artifact ${f.artifact_sha256.slice(0, 12)}… on the controller: upload it first`);
        continue;
      }
      spec.artifact = { ...spec.artifact, sha256: f.artifact_sha256 };
    }
    const dup = specs.get(spec.name);
    if (dup) errors.push(`${file}: name: "${spec.name}" is also defined in ${dup.file}`);
    else specs.set(spec.name, { spec, file });
  }

  const byName = new Map(o.services.map((s) => [s.name, s]));
  const changes: ServiceChange[] = [];
  const puts: ServiceRecord[] = [];
  const events: NewEvent[] = [];
  for (const [name, { spec }] of [...specs].sort(([a], [b]) => a.localeCompare(b))) {
    const old = byName.get(name);
    const fields = diffSpecs(old?.spec, spec);
    const action = !old ? "create" : fields.length ? "update" : "unchanged";
    changes.push({ service: name, action, fields: fields.map((c) => ({ path: c.path, from_json: JSON.stringify(c.from) ?? "", to_json: JSON.stringify(c.to) ?? "" })) });
    if (action === "unchanged") continue;
    puts.push({ name, spec, revision: (old?.revision ?? 0) + 1, createdAtMs: old?.createdAtMs ?? o.nowMs, updatedAtMs: o.nowMs });
    events.push({
      type: old ? "service.updated" : "service.created",
      service: name,
      actor: o.actor,
      message: old ? `revision ${old.revision + 1}: ${fields.map((f) => f.path).slice(0, 8).join(", ")}${fields.length > 8 ? " …" : ""}` : `revision 1, ${spec.instances} instance${spec.instances === 1 ? "" : "s"}`,
    });
  }
  const deletes = o.prune ? o.services.filter((s) => !specs.has(s.name)).map((s) => s.name) : [];
  for (const name of deletes) {
    changes.push({ service: name, action: "delete", fields: [] });
    events.push({ type: "service.deleted", service: name, actor: o.actor, message: "deleted (pruned by apply)" });
  }

  // Preview: what the reconciler would do with the new specs, without the clock moving.
  if (!errors.length) {
    const next = [...o.services.filter((s) => !deletes.includes(s.name) && !puts.some((p) => p.name === s.name)), ...puts];
    const preview = reconcile({ services: next, instances: o.instances, hosts: o.hosts, observed: new Map(), nowMs: o.nowMs });
    for (const ch of changes) {
      const planned = preview.puts.filter((p) => p.service === ch.service);
      ch.place = planned.filter((p) => p.hostId && !o.instances.some((i) => i.service === p.service && i.slot === p.slot && i.hostId === p.hostId)).length;
      ch.stop = preview.deletes.filter((d) => d.service === ch.service && o.instances.some((i) => i.service === d.service && i.slot === d.slot && i.hostId)).length;
      const mine = new RegExp(`^${ch.service}-\\d+$`);
      ch.unplaced = [...preview.unplaced].filter(([id]) => mine.test(id)).map(([id, why]) => `${id}: ${why}`);
    }
  }
  return { errors, changes, puts, deletes, events };
}
