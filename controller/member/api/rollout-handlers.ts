/**
 * OperatorService calls for rollouts: `berth rollout status [-w]`, `berth restart`,
 * `berth rollout promote|pause|resume|undo`. The rollout itself is driven by the
 * reconcile loop (rollout/drive.ts); these only read it or change its record.
 */
import { applyRunAsRefusal } from "../../../shared/spec/run-as.js";
import * as grpc from "@grpc/grpc-js";
import type { OperatorServiceHandlers } from "../../../shared/gen/berth/v1/OperatorService.js";
import type { RolloutView } from "../../../shared/gen/berth/v1/RolloutView.js";
import type { RolloutControlRequest } from "../../../shared/gen/berth/v1/RolloutControlRequest.js";
import type { NewEvent } from "../../events/event-log.js";
import type { ReconcileLoop } from "../../reconcile/loop.js";
import type { Waits } from "../../reconcile/waits.js";
import type { ServiceState } from "../../services/state.js";
import { instanceId, specToRestore, type InstanceRecord, type ServiceRecord } from "../../services/records.js";
import { newRevision } from "../../services/apply.js";
import { slotViews } from "../../rollout/drive.js";
import { isDone, pause, promote, resume, type RolloutState } from "../../rollout/next-step.js";
import { authorize, unary, type OperatorServiceDeps } from "./operator-service.js";
import { GrpcError } from "./errors.js";
import { serveStream } from "./server-stream.js";

export interface RolloutHandlerDeps extends OperatorServiceDeps {
  state: ServiceState;
  loop: ReconcileLoop;
  /** Why instances wait (member/wait-share.ts in a group). @default loop: a lone controller's loop always leads */
  waits?: Waits;
  /** The service record or NOT_FOUND with the closest name. */
  service: (name: string) => ServiceRecord;
}

type RolloutHandlers = Pick<OperatorServiceHandlers, "GetRollout" | "WatchRollout" | "RolloutControl">;

export const ROLLOUT_ACTIONS = ["restart", "promote", "pause", "resume", "undo"] as const;
type RolloutAction = (typeof ROLLOUT_ACTIONS)[number];
const isAction = (s: string): s is RolloutAction => (ROLLOUT_ACTIONS as readonly string[]).includes(s);

/** Attempts at a compare-and-set commit when the reconcile loop wrote the same records meanwhile. */
const COMMIT_ATTEMPTS = 5;

export function rolloutView(d: Pick<RolloutHandlerDeps, "state" | "loop" | "waits" | "registry" | "now">, svc: ServiceRecord): RolloutView {
  const r = d.state.rollout(svc.name);
  const nowMs = d.now();
  const hosts = new Map(d.registry.all().map((h) => [h.id, h]));
  const insts = d.state.instancesOf(svc.name);
  const views = slotViews(svc, insts, hosts, d.loop.observed, nowMs);
  const to = r?.toRevision ?? svc.revision;
  const batch = r?.batch?.slots ?? [];
  return {
    service: svc.name,
    exists: r !== undefined,
    from_revision: r?.fromRevision ?? 0,
    to_revision: to,
    status: r?.status ?? "",
    reason: r?.reason ?? "",
    started_at_ms: r?.startedAtMs ?? 0,
    last_progress_at_ms: r?.lastProgressAtMs ?? 0,
    batch,
    done: views.filter((v) => isDone(v, to)).length,
    total: svc.spec.instances,
    promoted: r?.promoted ?? false,
    auto_reverted: r?.autoReverted ?? false,
    canary: svc.spec.update.canary,
    slots: views.map((v) => {
      const i = insts.find((x) => x.slot === v.slot);
      return {
        slot: v.slot,
        instance: instanceId(svc.name, v.slot),
        host: i?.hostId ?? "",
        revision: v.revision,
        phase: v.phase,
        healthy_since_ms: v.healthySinceMs ?? 0,
        draining_since_ms: v.drainingSinceMs ?? 0,
        surge_host: i?.moveTo?.hostId ?? "",
        surge_revision: v.surge?.revision ?? 0,
        surge_phase: v.surge?.phase ?? "",
        done: isDone(v, to),
        in_batch: batch.includes(v.slot),
        why: isDone(v, to) || v.phase === "in-service" ? "" : slotWhy(d, svc.name, v.slot, i, nowMs),
      };
    }),
    now_ms: nowMs,
    current_revision: svc.revision,
    ended_at_ms: r?.endedAtMs ?? 0,
  };
}

/**
 * Why a slot is not in service, as `berth status` says it: waiting for a host (or held where
 * it no longer fits), a reschedule's backoff, or its copy's own word (unhealthy: the check's
 * answer; failed: the exit). `rollout status` said only "pending" while status knew why.
 */
function slotWhy(d: Pick<RolloutHandlerDeps, "loop" | "waits">, service: string, slot: number, rec: InstanceRecord | undefined, nowMs: number): string {
  const id = instanceId(service, slot);
  const obs = rec?.hostId ? d.loop.observed.get(rec.hostId) : undefined;
  // A slot with no record yet may wait for a host too.
  const why = (d.waits ?? d.loop).wait(rec ?? { service, slot, hostId: "" }, nowMs)?.reason || (obs?.instance === id ? obs.detail : "");
  return why.length > 300 ? `${why.slice(0, 299)}…` : why;
}

export function rolloutHandlers(d: RolloutHandlerDeps): RolloutHandlers {
  const control = async (svcName: string, action: RolloutAction, actor: string, role: string): Promise<RolloutView> => {
    for (let attempt = 0; attempt < COMMIT_ATTEMPTS; attempt++) {
      const readVersion = d.state.version;
      const svc = d.service(svcName);
      const r = d.state.rollout(svc.name);
      const nowMs = d.now();
      const ev = (type: string, message: string): NewEvent => ({ type, service: svc.name, actor, message });
      let ok: boolean;
      if (action === "restart" || action === "undo") {
        // The pause is the operator's: a restart or an undo would roll out past it unsaid (kubectl refuses both too).
        if (r?.status === "paused") throw new GrpcError(grpc.status.FAILED_PRECONDITION, `the rollout of ${svc.name} to revision ${r.toRevision} is paused (${r.reason || "by an operator"}): resume it first (berth rollout resume ${svc.name}), then ${action}`);
        let spec = svc.spec;
        let revision: number | undefined;
        if (action === "undo") {
          revision = svc.previousRevision ?? 0;
          if (revision <= 0 || !(svc.history ?? []).some((h) => h.revision === revision)) {
            throw new GrpcError(grpc.status.FAILED_PRECONDITION, `${svc.name} has no previous revision to go back to (it is on revision ${svc.revision})`);
          }
          spec = specToRestore(svc, revision);
          // Going back to a root revision is storing a root spec again: an admin's call (shared/spec/run-as.ts).
          const refused = applyRunAsRefusal(spec, role);
          if (refused) throw new GrpcError(grpc.status.PERMISSION_DENIED, `undo to revision ${revision}: ${refused}`);
        }
        const n = newRevision(svc, spec, d.state.allInstances(), r, nowMs, revision, { restart: action === "restart" });
        // Neither the same spec again nor what ran before is a new version to try on a few
        // first: a restart and an undo run without a canary stop.
        n.rollout.promoted = true;
        const message = action === "undo" ? `back to revision ${n.rec.revision} (from ${svc.revision})` : `revision ${n.rec.revision}: restart of revision ${svc.revision}`;
        ok = await d.state.commit({
          putServices: [n.rec],
          putRollouts: [n.rollout],
          events: [ev(action === "undo" ? "service.undone" : "service.restarted", message), ev("rollout.started", `revision ${n.rollout.fromRevision} → ${n.rollout.toRevision}`)],
          readVersion,
        });
      } else {
        if (!r) throw new GrpcError(grpc.status.FAILED_PRECONDITION, `${svc.name} has no rollout (one starts with an apply that changes it, or berth restart ${svc.name})`);
        const next: RolloutState = action === "promote" ? promote(r, nowMs) : action === "pause" ? pause(r) : resume(r, nowMs);
        if (next === r) {
          const where = r.status === "succeeded" || r.status === "failed" ? `has ${r.status}` : `is ${r.status}`;
          const already = action === "promote" && r.promoted && where.startsWith("is") ? ", promoted already" : "";
          throw new GrpcError(grpc.status.FAILED_PRECONDITION, `the rollout of ${svc.name} to revision ${r.toRevision} ${where}${already}: nothing to ${action}`);
        }
        ok = await d.state.commit({ readVersion, putRollouts: [next], events: [ev(`rollout.${action === "promote" ? "promoted" : action === "pause" ? "paused" : "resumed"}`, `revision ${r.toRevision}`)] });
      }
      if (ok) {
        await d.loop.settle();
        return rolloutView(d, d.service(svcName));
      }
    }
    throw new GrpcError(grpc.status.ABORTED, `${svcName} kept changing while the ${action} was written; try again`);
  };

  return {
    GetRollout: unary(d, "viewer", "GetRollout", async (req: { name: string }) => rolloutView(d, d.service(req.name))),

    RolloutControl: unary(d, "operator", "RolloutControl", async (req: RolloutControlRequest, who) => {
      const action = req.action ?? "";
      if (!isAction(action)) throw new GrpcError(grpc.status.INVALID_ARGUMENT, `action: must be one of ${ROLLOUT_ACTIONS.join(", ")} (got "${action.slice(0, 32)}")`);
      return control(req.service ?? "", action, who.tokenId, who.role);
    }),

    WatchRollout(call) {
      const name = call.request.name;
      let last = "";
      serveStream(call, {
        method: "WatchRollout",
        log: d.log,
        auth: () => authorize(d, call.metadata, "viewer"),
        // Each view is the whole rollout: a slow client gets the newest, not every one.
        latestOnly: true,
        start(s) {
          d.service(name);
          const push = (): void => {
            if (s.closed) return;
            const svc = d.state.service(name);
            if (!svc) return s.fail(new GrpcError(grpc.status.NOT_FOUND, `service ${name} was deleted`));
            const v = rolloutView(d, svc);
            const key = JSON.stringify({ ...v, now_ms: 0 });
            if (key === last) return;
            last = key;
            s.send(v);
          };
          s.onClose(d.loop.onPass(push));
          // Phases move with the clock too (warming → in service): look again every second.
          const timer = setInterval(push, 1000);
          timer.unref();
          s.onClose(() => clearInterval(timer));
          push();
        },
      });
    },
  };
}
