/** OperatorService calls for services, artifacts, placement and logs. */
import * as grpc from "@grpc/grpc-js";
import type { OperatorServiceHandlers } from "../../../shared/gen/berth/v1/OperatorService.js";
import type { ServiceStatus } from "../../../shared/gen/berth/v1/ServiceStatus.js";
import type { InstanceView } from "../../../shared/gen/berth/v1/InstanceView.js";
import { unplacedLines } from "../../scheduler/explain.js";
import type { ReconcileError } from "../../../shared/gen/berth/v1/ReconcileError.js";
import type { ArtifactUpload__Output } from "../../../shared/gen/berth/v1/ArtifactUpload.js";
import type { ApplyRequest__Output } from "../../../shared/gen/berth/v1/ApplyRequest.js";
import type { ArtifactStore } from "../../artifacts/artifact-store.js";
import { ArtifactError, SHA256 } from "../../artifacts/artifact-store.js";
import { ReplicationError, type ArtifactReplicas } from "../../artifacts/replicas.js";
import type { ReconcileLoop } from "../../reconcile/loop.js";
import type { Waits } from "../../reconcile/waits.js";
import { CheckRevisionError, type ServiceState } from "../../services/state.js";
import { instanceId, type InstanceRecord, type ServiceRecord } from "../../services/records.js";
import { revisionHistory } from "../../services/revision-history.js";
import { checkEnvironment } from "../../services/environment.js";
import { applyFiles, ApplyConflictError, ApplyInvalidError, planFiles } from "../../services/apply-files.js";
import { clearFailures, failedRunsText } from "../../reschedule/policy.js";
import { effectiveState } from "../../services/effective-state.js";
import { endpointsOf, nextEndpointChangeMs, silentHosts } from "../../reconcile/endpoints.js";
import type { LogRouter } from "./log-router.js";
import { authenticate, authorize, hostToWire, requireRole, unary, type OperatorServiceDeps } from "./operator-service.js";
import { GrpcError, toStatus } from "./errors.js";
import { serveStream } from "./server-stream.js";
import { closest } from "../../../shared/closest.js";
import { setTimeoutClamped } from "../../../shared/timer.js";
import type { SecretStore } from "../../secrets/secret-store.js";
import { redactChanges, redactSpec, seesEnvValues } from "../../secrets/redact.js";
import type { Role } from "../../auth/tokens.js";
import { endpointsVersion, type LbAppliedBook } from "./lb-handlers.js";
import { logsHandler } from "./logs-handler.js";
import type { RelayDeps } from "./relay.js";
import { quote } from "../../../shared/text/quote.js";

export interface ServiceHandlerDeps extends OperatorServiceDeps {
  state: ServiceState;
  loop: ReconcileLoop;
  /** Why instances wait and units fail (member/wait-share.ts in a group). @default loop: a lone controller's loop always leads */
  waits?: Waits;
  artifacts: ArtifactStore;
  /** Digests stored on this controller (checked synchronously while planning). */
  artifactsKnown: Set<string>;
  logs: LogRouter;
  /** Secrets the specs may name; absent: none are stored, and a spec naming one is refused. */
  secrets?: SecretStore;
  /** What each `berth lb` has applied, sent with the endpoints. */
  lbs?: LbAppliedBook;
  /**
   * How long this member's view may still be stale, after it stalled (paused, frozen, starved):
   * its hosts' reports and the store's changes are still coming in, and a list made from the
   * view it had would be history — replayed, a stall during a rollout once left a load
   * balancer's backend empty for 25–170 ms. Endpoint lists wait that long. 0 or absent: none.
   */
  viewSettlingMs?: () => number;
  /** Service → the GitOps source that owns it. */
  owners?: () => ReadonlyMap<string, string>;
  /** In a group: how to reach the member holding a host's stream, for the hosts whose stream is elsewhere. */
  relay?: RelayDeps;
  /** In a group: artifacts fetched from and copied to the other members (artifacts/replicas.ts). */
  replicas?: Pick<ArtifactReplicas, "ensure" | "replicate">;
}

type ServiceHandlers = Pick<
  OperatorServiceHandlers,
  "HasArtifact" | "UploadArtifact" | "Plan" | "Apply" | "DeleteService" | "ListServices" | "GetService" | "GetServiceHistory" | "Place" | "Unpin" | "Drain" | "Logs" | "ResumeFailover" | "WatchEndpoints"
>;

function notFound(name: string, known: string[]): GrpcError {
  const near = closest(name, known);
  return new GrpcError(grpc.status.NOT_FOUND, `no service ${quote(name)}${near ? `; did you mean "${near}"?` : ""}`);
}

/** The stored service by name, or NOT_FOUND naming the closest one. */
export function serviceOrNotFound(state: Pick<ServiceState, "service" | "allServices">, name: string): ServiceRecord {
  const s = state.service(name);
  if (!s) throw notFound(name, state.allServices().map((x) => x.name));
  return s;
}

export function serviceHandlers(d: ServiceHandlerDeps): ServiceHandlers {
  const service = (name: string): ServiceRecord => serviceOrNotFound(d.state, name);
  const waits = d.waits ?? d.loop;

  /** Why the service does not converge, if it does not: its unit's error, or a quarantined record of it. */
  const reconcileError = (name: string): ReconcileError | null => {
    const e = waits.error(name);
    if (e) return { message: e.message, since_ms: e.sinceMs, at_ms: e.atMs, attempts: e.attempts, retry_at_ms: e.retryAtMs ?? 0 };
    // Before the loop's first pass has looked at it.
    const why = d.state.quarantinedReason(name);
    return why === undefined ? null : { message: why, since_ms: 0, at_ms: 0, attempts: 1, retry_at_ms: 0 };
  };

  /** A service's status; without a record (it is unreadable: quarantined) its instances and the error still show. */
  const view = (svc: ServiceRecord | string, role: Role = "admin"): ServiceStatus => {
    const name = typeof svc === "string" ? svc : svc.name;
    const nowMs = d.now();
    const instances: InstanceView[] = d.state.instancesOf(name).map((i) => {
      const id = instanceId(i.service, i.slot);
      const w = waits.wait(i, nowMs);
      const host = i.hostId ? d.registry.get(i.hostId) : undefined;
      const { state, observed: obs } = effectiveState(i, host, d.loop.observed);
      return {
        instance: id,
        slot: i.slot,
        host: i.hostId,
        host_address: host?.advertiseAddr ?? "",
        state,
        detail: obs?.detail ?? "",
        epoch: i.epoch,
        revision: obs?.revision ?? i.revision,
        restarts: obs?.restarts ?? 0,
        since_ms: obs?.sinceMs ?? 0,
        pinned_host: i.pinnedHost,
        reason: w?.reason ?? "",
        waiting: w?.kind ?? "",
        // Once the failed copy is gone (the slot waits or runs elsewhere), its stored output stands in.
        install_tail: obs && (obs.state === "installing" || obs.state === "failed") ? obs.installTail : state === "healthy" ? "" : failedRunsText(i.failures),
        resources_enforced: obs?.resourcesEnforced ?? false,
        resources_note: obs?.resourcesNote ?? "",
        moving_to: i.moveTo?.hostId ?? "",
        pid: obs?.pid ?? 0,
        left_on: (i.leftOn ?? []).map((l) => ({ host: l.hostId, epoch: l.epoch, at_ms: l.atMs })),
        stuck: w?.stuck ?? false,
      };
    });
    const rec = typeof svc === "string" ? undefined : svc;
    return { name, revision: rec?.revision ?? 0, spec_json: JSON.stringify(rec ? (seesEnvValues(role) ? rec.spec : redactSpec(rec.spec)) : null), instances, now_ms: d.now(), reconcile_error: reconcileError(name) };
  };

  /** The environment to store with the specs, or the refusal of specs rendered for another. */
  const environmentOf = (req: ApplyRequest__Output): string => {
    const c = checkEnvironment(d.environment ?? "", req.environment);
    if (c.invalid !== undefined) throw new GrpcError(grpc.status.INVALID_ARGUMENT, c.invalid);
    if (c.refused !== undefined) throw new GrpcError(grpc.status.FAILED_PRECONDITION, c.refused);
    return c.environment;
  };

  const planFor = (req: ApplyRequest__Output, actor: string, role: string, requireArtifacts: boolean) =>
    planFiles(d, { files: req.files, prune: req.prune, actor, role, environment: environmentOf(req) }, requireArtifacts);

  const setPin = async (svcName: string, hostQuery: string, pin: boolean, actor: string): Promise<ServiceStatus> => {
    const svc = service(svcName);
    const host = d.registry.resolve(hostQuery);
    const insts = d.state.instancesOf(svc.name);
    let target: InstanceRecord | undefined;
    if (pin) {
      target =
        insts.find((i) => i.pinnedHost === host.id) ??
        insts.find((i) => i.hostId === host.id) ??
        insts.find((i) => !i.hostId && !i.pinnedHost) ??
        [...insts].reverse().find((i) => !i.pinnedHost);
      if (!target) throw new GrpcError(grpc.status.FAILED_PRECONDITION, `${svc.name} has no instance to pin (instances: ${svc.spec.instances})`);
    } else {
      target = insts.find((i) => i.pinnedHost === host.id);
      if (!target) throw new GrpcError(grpc.status.FAILED_PRECONDITION, `no instance of ${svc.name} is pinned to ${host.id}`);
    }
    // A pin names the host: the slot's past failures there no longer hold it back from it.
    const next = pin ? clearFailures({ ...target, pinnedHost: host.id }, host.id) : { ...target, pinnedHost: "" };
    const ok = await d.state.commit({
      putInstances: [next],
      events: [{ type: pin ? "instance.pinned" : "instance.unpinned", service: svc.name, host: host.id, actor, message: `${instanceId(svc.name, target.slot)} ${pin ? "pinned to" : "unpinned from"} ${host.id}` }],
    });
    if (!ok) throw new GrpcError(grpc.status.ABORTED, "the service changed concurrently; try again");
    await d.loop.settle();
    return view(service(svc.name));
  };

  /** In a group, the artifacts an apply names that another member took: fetched here before the apply's check. */
  const fetchMissing = async (req: ApplyRequest__Output): Promise<void> => {
    if (!d.replicas) return;
    const missing = new Set(req.files.map((f) => f.artifact_sha256).filter((sha) => SHA256.test(sha) && !d.artifactsKnown.has(sha)));
    for (const sha of missing) {
      try {
        await d.replicas.ensure(sha);
      } catch (e) {
        if (!(e instanceof ArtifactError)) throw e;
        throw new GrpcError(grpc.status.ABORTED, `${e.message}; nothing was applied, try again`);
      }
    }
  };

  return {
    HasArtifact: unary(d, "operator", "HasArtifact", async (req: { sha256: string }) => {
      if (!SHA256.test(req.sha256)) throw new GrpcError(grpc.status.INVALID_ARGUMENT, "sha256: expected 64 hex characters");
      const size = await d.artifacts.size(req.sha256);
      return { present: size !== undefined, size: size ?? 0 };
    }, { readOnly: true }),

    UploadArtifact(call, callback) {
      let who: { tokenId: string; role: string } | undefined;
      let digest = "";
      const audit = (code: number, error: string): void =>
        void d.audit
          ?.append({ tokenId: who?.tokenId ?? "", role: who?.role ?? "", method: "UploadArtifact", request: JSON.stringify({ sha256: digest }), code, error, peer: call.getPeer() })
          .catch((err: unknown) => d.log.error({ err }, "writing the audit log failed"));
      void (async () => {
        try {
          const p = await authenticate(d, call.metadata);
          who = p;
          requireRole(p, "operator");
          const it = (call as AsyncIterable<ArtifactUpload__Output>)[Symbol.asyncIterator]();
          const first = await it.next();
          if (first.done) throw new GrpcError(grpc.status.INVALID_ARGUMENT, "empty upload");
          const { sha256, size } = first.value;
          digest = sha256.slice(0, 64);
          if (!SHA256.test(sha256)) throw new GrpcError(grpc.status.INVALID_ARGUMENT, "sha256: expected 64 hex characters");
          async function* data(): AsyncIterable<Uint8Array> {
            yield first.value!.data;
            for (;;) {
              const n = await it.next();
              if (n.done) return;
              yield n.value.data;
            }
          }
          try {
            await d.artifacts.put(sha256, size, data());
          } catch (e) {
            throw new GrpcError(grpc.status.INVALID_ARGUMENT, (e as Error).message);
          }
          d.artifactsKnown.add(sha256);
          // Acknowledged only once a second member holds it too (when one is live): losing this member then loses nothing.
          if (d.replicas) {
            try {
              const r = await d.replicas.replicate(sha256, size);
              d.log.info({ sha256, size, actor: who.tokenId, copies: r.copies, on: r.on }, "artifact stored and copied");
            } catch (e) {
              if (!(e instanceof ReplicationError)) throw e;
              // ABORTED, not UNAVAILABLE: this member answered, and the CLI shows the answer as sent.
              throw new GrpcError(grpc.status.ABORTED, `artifact ${sha256.slice(0, 12)} is stored on this member only: ${e.message}; it is not acknowledged, as losing this member would lose it — try again`);
            }
          }
          d.log.info({ sha256, size, actor: who.tokenId }, "artifact stored");
          audit(0, "");
          callback(null, { present: true, size });
        } catch (err) {
          const s = toStatus(err);
          if (s.internal) d.log.error({ err }, "upload failed");
          audit(s.code, s.details);
          callback(Object.assign(new Error(s.details), { code: s.code, details: s.details, metadata: new grpc.Metadata() }));
        }
      })();
    },

    Plan: unary(d, "viewer", "Plan", async (req: ApplyRequest__Output, who) => {
      // The cache and its store revision are read in the same tick: the plan is of that state.
      const revision = d.state.storeRevision;
      const p = planFor(req, who.tokenId, who.role, false);
      if (p.errors.length) throw new GrpcError(grpc.status.INVALID_ARGUMENT, p.errors.join("\n"));
      return { changes: seesEnvValues(who.role) ? p.changes : redactChanges(p.changes), state_index: revision };
    }),

    Apply: unary(d, "operator", "Apply", async (req: ApplyRequest__Output, who) => {
      await fetchMissing(req);
      try {
        const p = await applyFiles(d, { files: req.files, prune: req.prune, actor: who.tokenId, role: who.role, environment: environmentOf(req), check: req.check ? { revision: Number(req.check.revision) } : undefined });
        return { changes: p.changes, state_index: await d.store.revision() };
      } catch (e) {
        if (e instanceof ApplyInvalidError) throw new GrpcError(grpc.status.INVALID_ARGUMENT, e.message);
        if (e instanceof CheckRevisionError) throw new GrpcError(grpc.status.FAILED_PRECONDITION, e.message);
        if (e instanceof ApplyConflictError) throw new GrpcError(grpc.status.ABORTED, e.message);
        throw e;
      }
    }),

    DeleteService: unary(d, "operator", "DeleteService", async (req: { name: string }, who) => {
      // A service whose record is unreadable can be deleted too: the delete replaces the quarantined record.
      const svc = d.state.unreadableServices().includes(req.name) ? { name: req.name } : service(req.name);
      const placed = d.state.instancesOf(svc.name).filter((i) => i.hostId).length;
      const ok = await d.state.commit({ deleteServices: [svc.name], events: [{ type: "service.deleted", service: svc.name, actor: who.tokenId, message: "deleted" }] });
      if (!ok) throw new GrpcError(grpc.status.ABORTED, "the service changed concurrently; try again");
      d.log.info({ service: svc.name, actor: who.tokenId }, "service deleted");
      await d.loop.settle();
      return { changes: [{ service: svc.name, action: "delete", fields: [], stop: placed }], state_index: await d.store.revision() };
    }),

    ListServices: unary(d, "viewer", "ListServices", async () => {
      const owners = d.owners?.() ?? new Map<string, string>();
      return {
      services: [...d.state.allServices(), ...d.state.unreadableServices()]
        .map((s) => {
          const name = typeof s === "string" ? s : s.name;
          const v = view(s);
          const insts = v.instances ?? [];
          const a = typeof s === "string" ? null : s.spec.artifact;
          return {
            name,
            desired: typeof s === "string" ? 0 : s.spec.instances,
            healthy: insts.filter((i) => i.state === "healthy").length,
            revision: v.revision,
            artifact: !a ? "" : a.kind === "url" ? a.url : `sha256:${a.sha256.slice(0, 12)}`,
            unplaced: unplacedLines(insts),
            reconcile_error: v.reconcile_error,
            environment: typeof s === "string" ? "" : (s.environment ?? ""),
            owner: owners.get(name) ?? "",
          };
        })
        .sort((a, b) => a.name.localeCompare(b.name)),
      now_ms: d.now(),
      environment: d.environment ?? "",
      };
    }),

    GetService: unary(d, "viewer", "GetService", async (req: { name: string }, who) => {
      if (!d.state.service(req.name) && d.state.unreadableServices().includes(req.name)) return view(req.name);
      return view(service(req.name), who.role);
    }),

    GetServiceHistory: unary(d, "viewer", "GetServiceHistory", async (req: { name: string }, who) => {
      if (!req.name) throw new GrpcError(grpc.status.INVALID_ARGUMENT, "name: required");
      const rec = service(req.name);
      const shown = seesEnvValues(who.role);
      return {
        service: rec.name,
        current_revision: rec.revision,
        revisions: revisionHistory(rec).map((e) => ({
          revision: e.revision,
          current: e.current,
          previous_revision: e.previousRevision,
          environment: e.environment,
          spec_json: JSON.stringify(shown ? e.spec : redactSpec(e.spec)),
          changed: e.changed ?? [],
          changed_known: e.changed !== undefined,
        })),
      };
    }),

    ResumeFailover: unary(d, "operator", "ResumeFailover", async (_req: unknown, who) => {
      if (!d.resumeFailover) throw new GrpcError(grpc.status.UNIMPLEMENTED, "no failover here");
      return d.resumeFailover(who.tokenId);
    }),

    Place: unary(d, "operator", "Place", async (req: { service: string; host: string }, who) => setPin(req.service, req.host, true, who.tokenId)),
    Unpin: unary(d, "operator", "Unpin", async (req: { service: string; host: string }, who) => setPin(req.service, req.host, false, who.tokenId)),

    Drain: unary(d, "operator", "Drain", async (req: { id: string }, who) => {
      const id = d.registry.resolve(req.id).id;
      // A pin says "on this host whatever happens": a drain cannot move it, and waiting
      // for it would never end. Refused at once, as kubectl drain refuses pods it cannot
      // evict, naming the pin and what lifts it; nothing is cordoned.
      const pinned = d.state.allInstances().filter((i) => i.pinnedHost === id);
      if (pinned.length) {
        const what = pinned.map((i) => `${instanceId(i.service, i.slot)} is pinned to ${id}`).join("; ");
        const lift = [...new Set(pinned.map((i) => `berth unpin ${i.service} --host ${id}`))].join(" and ");
        throw new GrpcError(grpc.status.FAILED_PRECONDITION, `cannot drain ${id}: ${what}; \`${lift}\` lifts the pin, then drain again`);
      }
      const rec = await d.registry.update(id, (r) =>
        r.draining || (r.cordoned && !d.state.allInstances().some((i) => i.hostId === id))
          ? undefined
          : { rec: { ...r, cordoned: true, draining: true }, event: { type: "host.draining", host: id, actor: who.tokenId, message: "draining: its instance moves to a spare, health-gated" } },
      );
      d.log.info({ host: id, actor: who.tokenId }, "host draining");
      await d.loop.settle();
      return hostToWire(d, d.registry.get(id) ?? rec);
    }),

    WatchEndpoints(call) {
      const name = call.request.name;
      let last: string | undefined;
      serveStream(call, {
        method: "WatchEndpoints",
        log: d.log,
        auth: () => authorize(d, call.metadata, ["viewer", "lb"]),
        // Each list is whole: a slow client gets the newest, not every one.
        latestOnly: true,
        start(s) {
          service(name);
          let timer: NodeJS.Timeout | undefined;
          s.onClose(() => clearTimeout(timer));
          // Recomputed after every reconcile pass and when a copy reaches minHealthyTime;
          // sent only when the list changed, always whole.
          const push = (): void => {
            if (s.closed) return;
            const svc = d.state.service(name);
            if (!svc) return s.end();
            const now = d.now();
            const hosts = new Map(d.registry.all().map((h) => [h.id, h]));
            // Not a list made from the view of a member that has just stalled: it is catching up.
            const settling = d.viewSettlingMs?.() ?? 0;
            if (settling > 0) {
              clearTimeout(timer);
              timer = setTimeoutClamped(push, settling);
              return;
            }
            // Not a list made before every host has spoken (a restarted controller): it would drop them.
            const insts = d.state.instancesOf(name);
            if (silentHosts(name, insts, hosts, d.loop.observed).length > 0) return;
            const eps = endpointsOf(svc, insts, hosts, d.loop.observed, now);
            const lbs = d.lbs?.of(name) ?? [];
            // reported_at_ms moves on every re-report: not a change worth a message.
            const json = JSON.stringify([eps, lbs.map((l) => ({ ...l, reported_at_ms: 0 }))]);
            if (json !== last) {
              last = json;
              s.send({ service: name, endpoints: eps, version: endpointsVersion(eps), lbs, drain_time_ms: svc.spec.update.drainTimeMs });
            }
            clearTimeout(timer);
            const at = nextEndpointChangeMs(svc, d.loop.observed, now);
            // minHealthyTime comes from the spec: clamped, or a huge one would re-push every millisecond.
            if (at !== undefined) timer = setTimeoutClamped(push, at - now + 5);
          };
          s.onClose(d.loop.onPass(push));
          if (d.lbs) s.onClose(d.lbs.onChange(name, push));
          push();
        },
      });
    },

    Logs: logsHandler(d),
  };
}

