/**
 * `berth ca rotate` (admin: it changes what every host and operator must trust;
 * audited as every mutating call) and `berth ca status` (viewer: fingerprints and
 * progress, nothing secret — the bundle is public certificates). The rotation
 * itself is the CA record's state machine (controller/pki/ca-record.ts); this
 * starts it and reports on it.
 */
import * as grpc from "@grpc/grpc-js";
import { X509Certificate } from "node:crypto";
import type { CaStatus } from "../../../shared/gen/berth/v1/CaStatus.js";
import type { CaCertInfo } from "../../../shared/gen/berth/v1/CaCertInfo.js";
import type { OperatorServiceHandlers } from "../../../shared/gen/berth/v1/OperatorService.js";
import type { RotateCaRequest__Output } from "../../../shared/gen/berth/v1/RotateCaRequest.js";
import { CaConflictError, type CaKeeper } from "../../pki/ca-keeper.js";
import { caPhase, DEFAULT_ROTATION_SPREAD_MS, RotationInProgressError, rotationProgress, type CaRecord } from "../../pki/ca-record.js";
import type { HostRecord } from "../../hosts/host.js";
import { GrpcError } from "./errors.js";
import { unary, type OperatorServiceDeps } from "./operator-service.js";

/** Longer than this, hosts would sit on the old CA for days: a rotation is meant to finish while one watches. */
export const MAX_ROTATION_SPREAD_MS = 24 * 60 * 60 * 1000;

export interface CaHandlerDeps extends OperatorServiceDeps {
  keeper: CaKeeper;
}

function certInfo(pem: string, fingerprintOf: (pem: string) => string): CaCertInfo {
  const c = new X509Certificate(pem);
  return { fingerprint: fingerprintOf(pem), not_after_ms: Date.parse(c.validTo), subject: c.subject };
}

/** What `berth ca status` shows: a pure function of the record and the hosts. */
export function caStatusOf(rec: CaRecord, hosts: readonly HostRecord[], bundlePem: string, fingerprintOf: (pem: string) => string): CaStatus {
  const progress = rotationProgress(rec, hosts);
  return {
    phase: caPhase(rec),
    current: certInfo(rec.certPem, fingerprintOf),
    next: rec.rotation ? certInfo(rec.rotation.next.certPem, fingerprintOf) : null,
    started_at_ms: rec.rotation?.startedAtMs ?? 0,
    started_by: rec.rotation?.by ?? "",
    spread_ms: rec.rotation?.spreadMs ?? 0,
    hosts_on_old: progress.onOld,
    hosts_on_new: progress.onNew,
    bundle_pem: bundlePem,
    retired: rec.retired ? certInfo(rec.retired.certPem, fingerprintOf) : null,
    retired_at_ms: rec.retired?.atMs ?? 0,
  };
}

export function caHandlers(d: CaHandlerDeps): Pick<OperatorServiceHandlers, "RotateCa" | "GetCaStatus"> {
  const status = (): CaStatus => caStatusOf(d.keeper.record, d.registry.all(), d.keeper.bundlePem(), (p) => d.keeper.fingerprintOf(p));
  return {
    GetCaStatus: unary(d, "viewer", "GetCaStatus", async () => status()),
    RotateCa: unary(d, "admin", "RotateCa", async (req: RotateCaRequest__Output, who) => {
      const spreadMs = Number(req.spread_ms) || DEFAULT_ROTATION_SPREAD_MS;
      if (!Number.isSafeInteger(spreadMs) || spreadMs < 0 || spreadMs > MAX_ROTATION_SPREAD_MS) {
        throw new GrpcError(grpc.status.INVALID_ARGUMENT, `spread_ms: must be at most ${MAX_ROTATION_SPREAD_MS} (24 h), got ${String(req.spread_ms)}`);
      }
      try {
        await d.keeper.rotate({ nowMs: d.now(), by: who.tokenId, spreadMs });
      } catch (e) {
        if (e instanceof RotationInProgressError) throw new GrpcError(grpc.status.FAILED_PRECONDITION, e.message);
        if (e instanceof CaConflictError) throw new GrpcError(grpc.status.ABORTED, e.message);
        throw e;
      }
      const next = d.keeper.signingFingerprint().slice(0, 16);
      const onOld = rotationProgress(d.keeper.record, d.registry.all()).onOld.length;
      d.log.info({ actor: who.tokenId, next, hosts: onOld, spreadMs }, "CA rotation started");
      await d.events.append({
        type: "ca.rotation.started",
        message: `CA rotation started: new CA sha256:${next}…; ${onOld} host(s) renew onto it within ${Math.round(spreadMs / 1000)} s`,
        actor: who.tokenId,
      });
      return status();
    }),
  };
}
