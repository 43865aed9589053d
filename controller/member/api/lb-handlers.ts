/**
 * What each load balancer following a service (`berth lb`) has applied: soft state
 * in this controller's memory, like liveness — a lone controller stores nothing, and
 * after a restart knows nothing until each lb reports again (it does on every apply
 * and every LB_REPORT_EVERY_MS). In a group every report also goes to the store
 * (member/lb-share.ts), so whichever member an lb talks to, every member shows it.
 * `berth endpoints` and WatchEndpoints show it, so an operator sees whether a drained
 * copy has left every load balancer.
 */
import { createHash } from "node:crypto";
import * as grpc from "@grpc/grpc-js";
import type { OperatorServiceHandlers } from "../../../shared/gen/berth/v1/OperatorService.js";
import type { Endpoint } from "../../../shared/gen/berth/v1/Endpoint.js";
import type { LbApplied, LbApplied__Output } from "../../../shared/gen/berth/v1/LbApplied.js";
import type { ServiceState } from "../../services/state.js";
import { GrpcError } from "./errors.js";
import { unary, type OperatorServiceDeps } from "./operator-service.js";
import { quote } from "../../../shared/text/quote.js";

/** An lb not heard of for this long is dropped from the list (it was removed, or its host is gone). @default 10 min */
export const LB_REPORT_STALE_MS = 10 * 60_000;
/** Lbs per service kept: a bound on what a buggy or hostile lb token can make us hold. */
export const LB_MAX_PER_SERVICE = 64;
export const LB_KINDS = ["haproxy", "nginx"] as const;
const LB_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Names an endpoints list: what an lb reports having applied. Same list, same version, on any controller. */
export function endpointsVersion(eps: readonly Endpoint[]): string {
  return createHash("sha256").update(JSON.stringify(eps)).digest("hex").slice(0, 16);
}

/** Every problem of a report, each naming its field; empty when it is good. */
export function validateLbReport(r: LbApplied__Output): string[] {
  const out: string[] = [];
  if (!LB_NAME.test(r.lb)) out.push(`lb: "${r.lb.slice(0, 70)}" must be 1-64 of A-Z a-z 0-9 . _ - (starting with a letter or digit)`);
  if (!(LB_KINDS as readonly string[]).includes(r.kind)) out.push(`kind: "${r.kind.slice(0, 32)}" is not one of ${LB_KINDS.join(", ")}`);
  if (!/^[0-9a-f]{0,64}$/.test(r.version)) out.push("version: must be the Endpoints.version it applied (hex), or empty");
  if (r.error.length > 1024) out.push("error: at most 1024 characters");
  return out;
}

export class LbAppliedBook {
  private readonly bySvc = new Map<string, Map<string, LbApplied__Output>>();
  private readonly listeners = new Map<string, Set<() => void>>();

  constructor(private readonly now: () => number) {}

  /**
   * Records a (validated) report; listeners of the service hear of it when what it shows changed.
   * Returns the record as kept (stamped with when it was heard), for a group to share.
   */
  report(r: LbApplied__Output): LbApplied__Output {
    const m = this.bySvc.get(r.service);
    if (!m?.has(r.lb) && (m?.size ?? 0) >= LB_MAX_PER_SERVICE) {
      this.prune(r.service);
      if ((this.bySvc.get(r.service)?.size ?? 0) >= LB_MAX_PER_SERVICE) throw new GrpcError(grpc.status.RESOURCE_EXHAUSTED, `service ${r.service} has ${LB_MAX_PER_SERVICE} load balancers reporting already`);
    }
    const rec = { ...r, reported_at_ms: this.now() };
    this.take(rec);
    return rec;
  }

  /**
   * Keeps a record as it is (another member heard it: its stamp stays), unless an
   * lb's newer one is kept already; listeners hear of it when what it shows changed.
   * A periodic re-report of the same state is not news: followers are not sent a list for it.
   */
  take(rec: LbApplied__Output): void {
    let m = this.bySvc.get(rec.service);
    if (!m) this.bySvc.set(rec.service, (m = new Map()));
    const before = m.get(rec.lb);
    if (before && before.reported_at_ms > rec.reported_at_ms) return;
    if (!before && m.size >= LB_MAX_PER_SERVICE) return;
    m.set(rec.lb, rec);
    const shown = (x: LbApplied__Output | undefined): string => JSON.stringify(x && [x.kind, x.version, x.applied_at_ms, x.servers, x.error]);
    if (shown(before) !== shown(rec)) this.changed(rec.service);
  }

  /** An lb's record deleted (gone stale, swept by a member of the group): dropped unless the one kept was heard at `staleBeforeMs` or later. */
  drop(service: string, lb: string, staleBeforeMs = Infinity): void {
    const m = this.bySvc.get(service);
    const kept = m?.get(lb);
    if (!m || !kept || kept.reported_at_ms >= staleBeforeMs) return;
    m.delete(lb);
    if (m.size === 0) this.bySvc.delete(service);
    this.changed(service);
  }

  private changed(service: string): void {
    for (const fn of this.listeners.get(service) ?? []) fn();
  }

  /** The service's lbs heard of within LB_REPORT_STALE_MS, by name. */
  of(service: string): LbApplied[] {
    this.prune(service);
    return [...(this.bySvc.get(service)?.values() ?? [])].sort((a, b) => a.lb.localeCompare(b.lb));
  }

  onChange(service: string, fn: () => void): () => void {
    let s = this.listeners.get(service);
    if (!s) this.listeners.set(service, (s = new Set()));
    s.add(fn);
    return () => {
      s.delete(fn);
      if (s.size === 0) this.listeners.delete(service);
    };
  }

  private prune(service: string): void {
    const m = this.bySvc.get(service);
    if (!m) return;
    const cut = this.now() - LB_REPORT_STALE_MS;
    for (const [k, v] of m) if (v.reported_at_ms < cut) m.delete(k);
    if (m.size === 0) this.bySvc.delete(service);
  }
}

export function lbHandlers(
  d: OperatorServiceDeps & {
    state: Pick<ServiceState, "service">;
    lbs: LbAppliedBook;
    /** In a group: the record goes to the store, so every member shows it (member/lb-share.ts). */
    share?: (rec: LbApplied__Output) => void;
  },
): Pick<OperatorServiceHandlers, "ReportLbApplied"> {
  return {
    // Soft state: audited only when refused, as a read is (no store write per apply).
    ReportLbApplied: unary(
      d,
      "lb",
      "ReportLbApplied",
      async (req: LbApplied__Output) => {
        const problems = validateLbReport(req);
        if (problems.length) throw new GrpcError(grpc.status.INVALID_ARGUMENT, problems.join("; "));
        if (!d.state.service(req.service)) throw new GrpcError(grpc.status.NOT_FOUND, `no service ${quote(req.service)}`);
        const rec = d.lbs.report(req);
        d.share?.(rec);
        return {};
      },
      { readOnly: true },
    ),
  };
}
