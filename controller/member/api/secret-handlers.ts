/**
 * `berth secret set | list | rm` (DESIGN.md, "Secrets"). A value comes in once and
 * never goes out: not in an answer, an event, the audit log (its request shows the
 * value's length only) or a log line. A new value takes a new version, and every
 * service whose spec names the secret a new revision and a rollout, in the same txn.
 */
import * as grpc from "@grpc/grpc-js";
import type { OperatorServiceHandlers } from "../../../shared/gen/berth/v1/OperatorService.js";
import type { SecretInfo } from "../../../shared/gen/berth/v1/SecretInfo.js";
import type { NewEvent } from "../../events/event-log.js";
import type { ReconcileLoop } from "../../reconcile/loop.js";
import type { ServiceState } from "../../services/state.js";
import { newRevision } from "../../services/apply.js";
import { specOf, type ServiceRecord } from "../../services/records.js";
import type { RolloutState } from "../../rollout/next-step.js";
import { checkSecretName, checkSecretValue, SecretInputError, secretKey, secretsUsed, withSecretVersion, type SecretRecord, type SecretStore } from "../../secrets/secret-store.js";
import { unary, type OperatorServiceDeps } from "./operator-service.js";
import { GrpcError } from "./errors.js";
import { closest } from "../../../shared/closest.js";
import { quote } from "../../../shared/text/quote.js";

export interface SecretHandlerDeps extends OperatorServiceDeps {
  state: ServiceState;
  loop: ReconcileLoop;
  secrets: SecretStore;
}

type SecretHandlers = Pick<OperatorServiceHandlers, "SetSecret" | "ListSecrets" | "DeleteSecret">;

/** Services whose current spec names the secret. */
export function usersOf(services: readonly ServiceRecord[], name: string): ServiceRecord[] {
  return services.filter((s) => secretsUsed(s.spec).includes(name));
}

const COMMIT_ATTEMPTS = 5;

export function secretHandlers(d: SecretHandlerDeps): SecretHandlers {
  const info = (rec: SecretRecord, rolled: string[] = []): SecretInfo => ({
    name: rec.name,
    version: rec.version,
    updated_at_ms: rec.updatedAtMs,
    updated_by: rec.updatedBy,
    used_by: usersOf(d.state.allServices(), rec.name).map((s) => s.name),
    rolled,
  });
  const checked = (f: () => void): void => {
    try {
      f();
    } catch (e) {
      if (e instanceof SecretInputError) throw new GrpcError(grpc.status.INVALID_ARGUMENT, e.message);
      throw e;
    }
  };

  return {
    SetSecret: unary(d, "operator", "SetSecret", async (req: { name: string; value: Buffer }, who) => {
      checked(() => {
        checkSecretName(req.name);
        checkSecretValue(req.value);
      });
      const name = req.name;
      for (let attempt = 0; attempt < COMMIT_ATTEMPTS; attempt++) {
        const readVersion = d.state.version;
        const now = d.now();
        const rec = d.secrets.sealNext(name, req.value, who.tokenId, now);
        if (!rec) return info(d.secrets.get(name)!); // the same value again: nothing changes
        // A new value is a change of every spec that names it: a new revision, rolled health-gated.
        const users = usersOf(d.state.allServices(), name);
        const rollouts = new Map(d.state.allRollouts().map((r) => [r.service, r]));
        const puts: ServiceRecord[] = [];
        const putRollouts: RolloutState[] = [];
        const events: NewEvent[] = [{ type: "secret.set", actor: who.tokenId, message: `secret ${name} version ${rec.version}${users.length ? `: rolls ${users.map((s) => s.name).join(", ")}` : ""}` }];
        for (const svc of users) {
          const n = newRevision(svc, withSecretVersion(svc.spec, name, rec.version), d.state.allInstances(), rollouts.get(svc.name), now);
          puts.push(n.rec);
          putRollouts.push(n.rollout);
          events.push({ type: "service.updated", service: svc.name, actor: who.tokenId, message: `revision ${n.rec.revision}: secret ${name} version ${rec.version}` });
          events.push({ type: "rollout.started", service: svc.name, actor: who.tokenId, message: `revision ${n.rollout.fromRevision} → ${n.rollout.toRevision}` });
        }
        const ok = await d.state.commit({
          putServices: puts,
          putRollouts,
          events,
          readVersion,
          extraOps: [{ type: "put", key: secretKey(name), value: d.secrets.encode(rec) }],
          extraCompares: [d.secrets.compareFor(name)],
        });
        if (!ok) {
          await d.secrets.refresh(name);
          continue;
        }
        // The cache follows the watch; read it now, so the assignments this change sends carry the new value.
        await d.secrets.refresh(name);
        d.log.info({ secret: name, version: rec.version, actor: who.tokenId, rolls: users.map((s) => s.name) }, "secret set");
        await d.loop.settle();
        return info(rec, users.map((s) => s.name));
      }
      throw new GrpcError(grpc.status.ABORTED, "services or the secret changed concurrently; try again");
    }),

    ListSecrets: unary(d, "viewer", "ListSecrets", async () => ({ secrets: d.secrets.list().map((r) => info(r)) })),

    DeleteSecret: unary(d, "operator", "DeleteSecret", async (req: { name: string }, who) => {
      checked(() => checkSecretName(req.name));
      for (let attempt = 0; attempt < COMMIT_ATTEMPTS; attempt++) {
        const readVersion = d.state.version;
        const rec = d.secrets.get(req.name);
        if (!rec) {
          const near = closest(req.name, d.secrets.list().map((r) => r.name));
          throw new GrpcError(grpc.status.NOT_FOUND, `no secret ${quote(req.name)}${near ? `; did you mean "${near}"?` : ""}`);
        }
        // In use: named by a current spec, or by the revision a copy still runs.
        const inUse = new Set(usersOf(d.state.allServices(), req.name).map((s) => s.name));
        for (const i of d.state.allInstances()) {
          const svc = d.state.service(i.service);
          if (svc && secretsUsed(specOf(svc, i.revision)).includes(req.name)) inUse.add(svc.name);
        }
        if (inUse.size) {
          const names = [...inUse].sort();
          throw new GrpcError(grpc.status.FAILED_PRECONDITION, `secret ${req.name} is in use by ${names.join(", ")}: remove it from ${names.length === 1 ? "that spec" : "those specs"} and apply first`);
        }
        const ok = await d.state.commit({
          readVersion,
          extraOps: [{ type: "delete", key: secretKey(req.name) }],
          extraCompares: [d.secrets.compareFor(req.name)],
          events: [{ type: "secret.deleted", actor: who.tokenId, message: `secret ${req.name} deleted (was version ${rec.version})` }],
        });
        await d.secrets.refresh(req.name);
        if (ok) {
          d.log.info({ secret: req.name, actor: who.tokenId }, "secret deleted");
          return { ...info(rec), used_by: [] };
        }
      }
      throw new GrpcError(grpc.status.ABORTED, "the secret changed concurrently; try again");
    }),
  };
}
