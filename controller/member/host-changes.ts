/**
 * What a member does when a host record changes, whoever changed it (the
 * registry follows the store): when a host is declared down — by this member's
 * detector or the leader's in another process — the member holding its stream
 * closes it. A host declared down comes back only through a new Hello, where it
 * says what it runs (and is fenced): its old stream, stalled behind a cut link,
 * may deliver stale heartbeats when the link heals.
 */
import type { Logger } from "../../shared/log/logger.js";
import type { HostRegistry } from "../hosts/registry.js";

/** Subscribes; returns the unsubscribe. */
export function closeStreamsOfDownHosts(registry: HostRegistry, log: Logger): () => void {
  return registry.onChange((prev, next) => {
    if (!next || next.health !== "down" || prev?.health === "down") return;
    const live = registry.live.get(next.id);
    // A stream opened after the host was judged is its new one: it stays.
    if (!live?.disconnect || (live.connectedAtMs ?? 0) > next.healthSinceMs) return;
    log.info({ host: next.id }, "closing the stream of a host declared down");
    closeStream(registry, next.id, "host declared down");
  });
}

/** Closes the host's current stream, if this member holds one; its later messages are ignored. */
export function closeStream(registry: Pick<HostRegistry, "live">, hostId: string, why: string): void {
  const live = registry.live.get(hostId);
  if (!live) return;
  live.disconnect?.(why);
  live.disconnect = undefined;
  live.send = undefined;
  live.streamId = undefined;
}

/**
 * A host removed (`berth host remove`, on any member): the member holding its
 * stream tells the agent why — it stops its services and exits — and closes it.
 */
export function closeStreamsOfRemovedHosts(registry: HostRegistry, log: Logger): () => void {
  return registry.onChange((prev, next) => {
    if (!prev || next) return;
    const live = registry.live.get(prev.id);
    if (live?.send) {
      log.info({ host: prev.id }, "telling a removed host's agent to stop");
      live.send({ host_removed: { reason: "by `berth host remove`" } });
    }
    closeStream(registry, prev.id, "host removed");
    registry.live.delete(prev.id);
  });
}
