/**
 * What the agent sends on its controller stream, in two lanes, so a heartbeat is
 * never stuck behind bulk data (`berth logs -f` of a chatty service, `berth exec`
 * output) on a slow or congested link:
 *
 * - control (hello, heartbeat, instance status, read receipt): written at once. They are small
 *   and rare; a heartbeat is skipped while the previous one has not left yet
 *   (behind a stalled socket a second one says nothing new, and the stream's own
 *   watchdog ends a stream that stays stalled).
 * - bulk (log chunks, exec output and exit, in the order made): queued, and
 *   handed to the stream only while less than maxBulkInFlight bytes of it are
 *   written and not yet sent, and the stream is not asking us to wait (drain).
 *   gRPC sends messages in the order written, so a control message waits behind
 *   at most that much bulk: 128 KiB, a tenth of a second at 10 Mbit/s.
 *
 * The bulk queue needs no bound of its own: every producer of bulk is flow
 * controlled end to end (exec and log windows), so what it holds is at most the
 * sum of their windows.
 */
import type { AgentMessage } from "../../shared/gen/berth/v1/AgentMessage.js";

export type Lane = "control" | "bulk";

export function laneOf(m: AgentMessage): Lane {
  return m.heartbeat || m.hello || m.instance_status || m.read_receipt ? "control" : "bulk";
}

/** The part of gRPC's client stream this needs (a fake in tests). */
export interface OutboundStream {
  write(m: AgentMessage, cb: (err?: Error | null) => void): boolean;
  once(event: "drain", fn: () => void): unknown;
}

/** Bulk bytes handed to the stream and not yet sent. @default 128 KiB */
export const MAX_BULK_IN_FLIGHT_BYTES = 128 * 1024;

/** Counted per bulk message on top of its data, so many empty ones add up too. */
const MESSAGE_OVERHEAD_BYTES = 64;

function bulkSize(m: AgentMessage): number {
  return (m.log_chunk?.data?.length ?? 0) + (m.exec_output?.data?.length ?? 0) + MESSAGE_OVERHEAD_BYTES;
}

export class Outbound {
  private readonly bulk: { m: AgentMessage; size: number }[] = [];
  private bulkQueued = 0;
  private bulkInFlight = 0;
  private blocked = false;
  private heartbeatInFlight = false;
  /** Heartbeats not sent because the one before had not left yet. */
  skippedHeartbeats = 0;

  constructor(
    private readonly stream: OutboundStream,
    private readonly maxBulkInFlight = MAX_BULK_IN_FLIGHT_BYTES,
  ) {}

  /** Bulk bytes waiting in the queue (not yet handed to the stream). */
  get queuedBulkBytes(): number {
    return this.bulkQueued;
  }

  /** Bulk bytes handed to the stream and not yet sent. */
  get inFlightBulkBytes(): number {
    return this.bulkInFlight;
  }

  send(m: AgentMessage): void {
    if (laneOf(m) === "bulk") {
      const size = bulkSize(m);
      this.bulk.push({ m, size });
      this.bulkQueued += size;
      this.pump();
      return;
    }
    if (m.heartbeat) {
      if (this.heartbeatInFlight) {
        this.skippedHeartbeats++;
        return;
      }
      this.heartbeatInFlight = true;
      this.write(m, () => (this.heartbeatInFlight = false));
      return;
    }
    this.write(m);
  }

  private write(m: AgentMessage, done?: () => void): void {
    const ok = this.stream.write(m, () => done?.());
    if (!ok && !this.blocked) {
      this.blocked = true;
      this.stream.once("drain", () => {
        this.blocked = false;
        this.pump();
      });
    }
  }

  private pump(): void {
    while (this.bulk.length && !this.blocked && this.bulkInFlight < this.maxBulkInFlight) {
      const { m, size } = this.bulk.shift()!;
      this.bulkQueued -= size;
      this.bulkInFlight += size;
      this.write(m, () => {
        this.bulkInFlight -= size;
        this.pump();
      });
    }
  }
}
