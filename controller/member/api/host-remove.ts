/**
 * `berth host remove ID` (admin: like revoking a token it takes a credential away,
 * DESIGN.md "Security"; audited as every mutating call). In one txn the host's
 * record is deleted and its certificates' serials — the current one and the one a
 * renewal replaced — are revoked (controller/pki/revoked.ts), so every member
 * refuses them from then on, and its shared observed state (`observed/<host>`) is
 * deleted. Then, through the registry's change (any member):
 * the member holding its stream tells the agent, which stops its services and
 * exits (member/host-changes.ts); the leader's reconcile replaces its instance at
 * once and frees its claim (reconcile/planner.ts, removedHosts).
 */
import type { OperatorServiceHandlers } from "../../../shared/gen/berth/v1/OperatorService.js";
import type { RemoveHostRequest__Output } from "../../../shared/gen/berth/v1/RemoveHostRequest.js";
import { ConflictError } from "../../hosts/registry.js";
import { revocationsOf, type RevokedSerials } from "../../pki/revoked.js";
import { observedKey } from "../observed-share.js";
import { hostToWire, unary, type OperatorServiceDeps } from "./operator-service.js";

export interface HostRemoveDeps extends OperatorServiceDeps {
  revoked: RevokedSerials;
  /** Wakes the reconcile loop (a no-op on a member that does not lead: the leader sees the change through the store). */
  kick: () => void;
}

export function hostRemoveHandlers(d: HostRemoveDeps): Pick<OperatorServiceHandlers, "RemoveHost"> {
  return {
    RemoveHost: unary(d, "admin", "RemoveHost", async (req: RemoveHostRequest__Output, who) => {
      for (let attempt = 0; attempt < 5; attempt++) {
        const rec = d.registry.resolve(req.id);
        // What `berth host remove` prints: the host as it was.
        const wire = hostToWire(d, rec);
        const certs = revocationsOf(rec, d.now(), who.tokenId);
        const name = rec.facts?.hostname ? ` (${rec.facts.hostname})` : "";
        // What the members share about the host goes with it: its observed state (member/observed-share.ts).
        const ok = await d.registry.remove(rec.id, { ops: [...d.revoked.revokeOps(certs), { type: "delete", key: observedKey(rec.id) }] }, { type: "host.removed", host: rec.id, message: `host ${rec.id}${name} removed: its certificate is refused, its instance is replaced`, actor: who.tokenId });
        if (!ok) continue; // the record changed meanwhile (a heartbeat's Hello, the detector): look again
        d.revoked.held(certs);
        d.log.info({ host: rec.id, actor: who.tokenId, serials: certs.map((c) => c.serial) }, "host removed");
        d.kick();
        return wire;
      }
      throw new ConflictError(`host ${req.id}`);
    }),
  };
}
