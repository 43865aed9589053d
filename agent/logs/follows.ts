/**
 * The agent's log requests (`berth logs`, `berth logs -f`): the tail, then (when
 * following) every later byte of the instance's output, in LogChunks of at most
 * LOG_MAX_CHUNK_CHARS, ended by one with eof.
 *
 * Flow control, as exec has it (shared/exec/window.ts): each request may have
 * its window of data unacknowledged by the controller (which acknowledges what
 * the operator's client has taken). While the window is full the follower is
 * paused — it stops reading the log file, so the file is the buffer and a
 * stalled reader costs this agent nothing but what is already queued: the tail
 * it was asked for and at most one read (64 KiB) more.
 *
 * A cancel (or the stream's end) that comes while the request is still opening
 * — before its follower exists — is not lost: the follower is closed the moment
 * it arrives.
 */
import type { Logger } from "../../shared/log/logger.js";
import type { AgentMessage } from "../../shared/gen/berth/v1/AgentMessage.js";
import type { LogRequest__Output } from "../../shared/gen/berth/v1/LogRequest.js";
import { ByteWindow } from "../../shared/exec/window.js";
import { LOG_MAX_CHUNK_CHARS, logWindow } from "../../shared/logs/limits.js";

export interface Follower {
  close(): void;
  pause(): void;
  resume(): void;
}

export interface LogFollowsOptions {
  /** False when there is no stream to send on. */
  send(m: AgentMessage): boolean;
  /**
   * Emits the tail through onData (and, when following, every later byte);
   * resolves with the follower, or undefined when the request is not a follow.
   */
  open(r: LogRequest__Output, onData: (s: string) => void): Promise<Follower | undefined>;
  log: Logger;
}

interface Request {
  id: number;
  window: ByteWindow;
  /** Pieces of data waiting for room in the window. */
  queue: string[];
  follower?: Follower;
  /** The follower is paused (window full, or pieces waiting). */
  held: boolean;
  /** No more data comes: eof (with this error) goes once the queue is out. */
  finishing?: string;
  /** Nothing more is sent: ended, cancelled, or its stream gone. */
  done: boolean;
}

export class LogFollows {
  private readonly requests = new Map<number, Request>();

  constructor(private readonly o: LogFollowsOptions) {}

  /** Requests open now (opening or following). */
  get size(): number {
    return this.requests.size;
  }

  request(r: LogRequest__Output): void {
    if (this.requests.has(r.request_id)) return; // a repeated request changes nothing
    const q: Request = { id: r.request_id, window: new ByteWindow(logWindow(r.window)), queue: [], held: false, done: false };
    this.requests.set(q.id, q);
    this.o.open(r, (s) => this.data(q, s)).then(
      (f) => {
        // Cancelled, or its stream gone, while it was opening: the follower must not outlive it.
        if (q.done) return f?.close();
        if (!f) return this.finish(q, "");
        q.follower = f;
        if (q.held) f.pause();
      },
      (err: unknown) => this.finish(q, err instanceof Error ? err.message : String(err)),
    );
  }

  /** The controller's client took `chars` of the data: as much more may go. */
  ack(id: number, chars: number): void {
    const q = this.requests.get(id);
    if (!q || q.done) return;
    q.window.ack(chars);
    this.pump(q);
  }

  cancel(id: number): void {
    const q = this.requests.get(id);
    if (q) this.close(q);
  }

  /** Ends every request (the stream they came on is gone, or the agent stops). */
  closeAll(): void {
    for (const q of [...this.requests.values()]) this.close(q);
  }

  private data(q: Request, s: string): void {
    if (q.done || !s) return;
    for (let i = 0; i < s.length; i += LOG_MAX_CHUNK_CHARS) q.queue.push(s.slice(i, i + LOG_MAX_CHUNK_CHARS));
    this.pump(q);
  }

  private finish(q: Request, error: string): void {
    if (q.done) return;
    q.finishing = error;
    this.pump(q);
  }

  /** Sends queued data while the window allows; eof goes last, once nothing is queued. */
  private pump(q: Request): void {
    while (!q.done && q.queue.length && !q.window.isPaused) {
      const piece = q.queue.shift()!;
      if (!this.o.send({ log_chunk: { request_id: q.id, data: piece } })) return this.close(q);
      q.window.take(piece.length);
    }
    if (q.done) return;
    const hold = q.window.isPaused || q.queue.length > 0;
    if (hold !== q.held) {
      q.held = hold;
      if (hold) q.follower?.pause();
      else q.follower?.resume();
    }
    if (q.finishing !== undefined && !q.queue.length) {
      this.o.send({ log_chunk: { request_id: q.id, eof: true, error: q.finishing } });
      q.done = true;
      this.requests.delete(q.id);
    }
  }

  private close(q: Request): void {
    if (!q.done) this.o.log.debug({ request: q.id }, "log request closed");
    q.done = true;
    q.queue = [];
    q.follower?.close();
    this.requests.delete(q.id);
  }
}
