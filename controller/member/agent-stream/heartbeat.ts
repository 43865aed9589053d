/**
 * Heartbeat: kept in memory only (hosts/registry.ts says why), acknowledged at
 * once — the agent drops a stream whose acks stop (a cut link stalls TCP silently).
 */
import type { Heartbeat__Output } from "../../../shared/gen/berth/v1/Heartbeat.js";
import { monoMs } from "../../../shared/clock.js";
import { validateUsage } from "../api/validate.js";
import { formatBytes } from "../../../shared/text/bytes.js";
import { diskFullNow } from "../../../shared/disk-full.js";
import type { AgentServiceDeps } from "./deps.js";
import { currentLive, type AgentStream } from "./stream.js";

export function onHeartbeat(d: AgentServiceDeps, s: AgentStream, hb: Heartbeat__Output): void {
  const usage = validateUsage(hb.usage ?? {}, "heartbeat.usage");
  // A stream replaced by a newer one, or dropped when the host was declared down: the one
  // lookup of the host's live view a heartbeat needs.
  const live = currentLive(d, s);
  if (!live) return;
  const previousMs = live.lastHeartbeatMs;
  live.lastHeartbeatMs = d.now();
  live.lastHeartbeatMono = (d.mono ?? monoMs)();
  d.metrics?.heartbeat({ sentAtMs: hb.sent_at_ms, receivedAtMs: live.lastHeartbeatMs, previousMs });
  live.usage = usage;
  s.send({ heartbeat_ack: { seq: hb.seq, sent_at_ms: hb.sent_at_ms } });
  // A full disk on the host is said where operators look (berth events), once per episode:
  // its fetches, installs, logs and state files fail until space is freed.
  const full = diskFullNow(usage, live.diskFull ?? false);
  if (full !== undefined && full !== (live.diskFull ?? false)) {
    live.diskFull = full;
    const free = formatBytes(usage.disk_total_bytes - usage.disk_used_bytes);
    void d.events
      .append(
        full
          ? { type: "host.disk-full", host: s.hostId, message: `${s.hostId}'s agent data dir has ${free} free of ${formatBytes(usage.disk_total_bytes)}: fetches, installs, service logs and state files there fail until space is freed` }
          : { type: "host.disk-ok", host: s.hostId, message: `${s.hostId}'s agent data dir has room again (${free} free)` },
      )
      .catch((err: unknown) => s.log.warn({ err }, "recording a disk event failed"));
  }
  // No detector kick here: the Hello kicked it, and its own tick (≤ 500 ms) judges a
  // host still joining. A kick per heartbeat of every host not yet ready asked for a
  // fleet-wide pass per heartbeat while a fleet joined (README, "Joins and memory").
}
