/**
 * Routes log requests to agents and their chunks back to the operator call that
 * asked: an operator's `berth logs` becomes one LogRequest per host, each with a
 * request id; LogChunks from the agent stream find their sink by that id.
 */
import type { LogChunk__Output } from "../../../shared/gen/berth/v1/LogChunk.js";

export interface LogSink {
  hostId: string;
  onChunk(c: LogChunk__Output): void;
}

export class LogRouter {
  private next = 1;
  private readonly sinks = new Map<number, LogSink>();

  open(sink: LogSink): number {
    const id = this.next++;
    this.sinks.set(id, sink);
    return id;
  }

  close(id: number): void {
    this.sinks.delete(id);
  }

  /** A chunk from host `from`: only the host a request went to may answer it. */
  deliver(from: string, c: LogChunk__Output): void {
    const s = this.sinks.get(c.request_id);
    if (!s || s.hostId !== from) return;
    s.onChunk(c);
    if (c.eof) this.sinks.delete(c.request_id);
  }

  /** The host's stream ended: its open requests end too. */
  hostGone(hostId: string): void {
    for (const [id, s] of this.sinks) {
      if (s.hostId !== hostId) continue;
      s.onChunk({ request_id: id, data: "", eof: true, error: "the host disconnected" });
      this.sinks.delete(id);
    }
  }
}
