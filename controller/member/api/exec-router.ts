/**
 * Routes exec sessions between operators' Exec calls and agent streams, as
 * log-router.ts does for logs: each session gets an id, the agent's ExecOutput
 * and ExecExit find their sink by it — and only from the host the session went
 * to. It also counts sessions per host, so a host gets at most
 * EXEC_MAX_SESSIONS_PER_HOST at once and the next is refused with a clear error.
 */
import type { ExecOutput__Output } from "../../../shared/gen/berth/v1/ExecOutput.js";
import type { ExecExit__Output } from "../../../shared/gen/berth/v1/ExecExit.js";
import { EXEC_MAX_SESSIONS_PER_HOST } from "../../../shared/exec/limits.js";

export interface ExecSink {
  hostId: string;
  output(o: ExecOutput__Output): void;
  exit(e: ExecExit__Output): void;
  /** The host's stream ended: the agent ends the session's processes on its side. */
  lost(why: string): void;
}

export class ExecRouter {
  private next: number;
  private readonly sinks = new Map<number, ExecSink>();
  private readonly perHost = new Map<string, number>();

  /**
   * @param firstId the first session id; the controller passes its start time in
   *   ms, so ids (which the audit log names) are not reused after a restart.
   */
  constructor(
    readonly maxPerHost = EXEC_MAX_SESSIONS_PER_HOST,
    firstId = 1,
  ) {
    this.next = firstId;
  }

  /** A new session id, or undefined when the host already has maxPerHost sessions. */
  open(sink: ExecSink): number | undefined {
    const n = this.perHost.get(sink.hostId) ?? 0;
    if (n >= this.maxPerHost) return undefined;
    const id = this.next++;
    this.sinks.set(id, sink);
    this.perHost.set(sink.hostId, n + 1);
    return id;
  }

  /** Forgets a session; idempotent. */
  close(id: number): void {
    const s = this.sinks.get(id);
    if (!s) return;
    this.sinks.delete(id);
    const n = (this.perHost.get(s.hostId) ?? 1) - 1;
    if (n > 0) this.perHost.set(s.hostId, n);
    else this.perHost.delete(s.hostId);
  }

  sessionsOn(hostId: string): number {
    return this.perHost.get(hostId) ?? 0;
  }

  get size(): number {
    return this.sinks.size;
  }

  /** Output (or an ack) from host `from`; ignored unless the session went to that host. */
  output(from: string, o: ExecOutput__Output): void {
    const s = this.sinks.get(o.session_id);
    if (s && s.hostId === from) s.output(o);
  }

  /** The end of a session, from host `from`: delivered, then forgotten. */
  exit(from: string, e: ExecExit__Output): void {
    const s = this.sinks.get(e.session_id);
    if (!s || s.hostId !== from) return;
    this.close(e.session_id);
    s.exit(e);
  }

  /** The host's stream ended: each of its sessions ends too. */
  hostGone(hostId: string, why: string): void {
    for (const [id, s] of [...this.sinks]) {
      if (s.hostId !== hostId) continue;
      this.close(id);
      s.lost(why);
    }
  }
}
