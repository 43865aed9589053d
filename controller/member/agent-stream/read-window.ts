/**
 * What an agent's stream may hold unread: at most READ_WINDOW_BYTES sent that the
 * agent has not proved it read. Every READ_WINDOW_BYTES / 4 sent (and whenever a
 * message must wait) the controller asks for a ReadReceipt with a random token;
 * the agent answers it as soon as it reads it, which proves it read everything
 * before it. A message that would take the unread bytes past the window waits
 * (heartbeat acks are dropped instead: a later one says the same) until receipts
 * come back; past `maxHeld` waiting messages the stream is ended (`over`), and the
 * agent connects again.
 *
 * Why: gRPC's own flow control stops at the first hop. Behind HAProxy 2.6
 * (`--front haproxy`) that hop is HAProxy, which shares one connection to the
 * controller among ~100 agents' streams and acknowledges data as it takes it in; an
 * agent that stopped reading (a paused VM, a stopped or wedged process) would fill
 * HAProxy's buffer for its stream, and the next data for it would block every other
 * stream on that connection (haproxy/haproxy#2853). Kept below what the agent's own
 * HTTP/2 window and HAProxy's buffer of one stream take in (64 KiB + 16 KiB), the
 * unread data of a stalled agent never reaches that point. Without a front it bounds
 * what gRPC buffers for such an agent the same way.
 */
import type { ControllerMessage } from "../../../shared/gen/berth/v1/ControllerMessage.js";

export const READ_WINDOW_BYTES = 32 * 1024;

/** A heartbeat ack's or a receipt request's bytes on the wire, at most (two varints, tags, gRPC's 5-byte prefix). */
const SMALL_MESSAGE_BYTES = 32;

export interface ReadWindowOptions {
  /** Writes to the stream. */
  write(m: ControllerMessage): void;
  /** The bytes `m` takes on the wire (its encoding and gRPC's 5-byte prefix). */
  size(m: ControllerMessage): number;
  /** A fresh unguessable token. */
  token(): number;
  /** Called once when more than `maxHeld` messages wait: the stream is to be ended. */
  over(why: string): void;
  limit?: number;
  maxHeld?: number;
}

export class ReadWindow {
  private sent = 0;
  private read = 0;
  /** Where the last receipt was asked (bytes sent up to and including it). */
  private asked = 0;
  /** Receipts asked and not yet answered: token → bytes sent up to and including it. */
  private readonly pending = new Map<number, number>();
  private held: { m: ControllerMessage; size: number }[] = [];
  private ended = false;
  private readonly limit: number;
  private readonly maxHeld: number;

  constructor(private readonly o: ReadWindowOptions) {
    this.limit = o.limit ?? READ_WINDOW_BYTES;
    this.maxHeld = o.maxHeld ?? 1000;
  }

  /** Sent but not proved read, in bytes. */
  get unread(): number {
    return this.sent - this.read;
  }

  /** Messages waiting for receipts. */
  get waiting(): number {
    return this.held.length;
  }

  send(m: ControllerMessage): void {
    if (this.ended) return;
    const size = m.heartbeat_ack ? SMALL_MESSAGE_BYTES : this.o.size(m);
    if (this.held.length === 0 && this.fits(size)) return this.put(m, size);
    // Nobody reads the acks of a stream that is behind; the next heartbeat's ack says the same.
    if (m.heartbeat_ack) return;
    if (this.held.length >= this.maxHeld) {
      this.ended = true;
      this.held = [];
      return this.o.over(`the agent read nothing of the last ${this.unread} bytes sent to it while ${this.maxHeld} more messages waited: its stream is ended (it connects again)`);
    }
    this.held.push({ m, size });
    // Everything sent must be covered by a receipt asked, or nothing would ever let this through.
    if (this.asked < this.sent) this.ask();
  }

  /** The agent's answer to a receipt; a token not asked (or already answered) is ignored. */
  receipt(token: number): void {
    const at = this.pending.get(token);
    if (at === undefined || this.ended) return;
    for (const [t, offset] of this.pending) if (offset <= at) this.pending.delete(t);
    this.read = Math.max(this.read, at);
    while (this.held.length > 0 && this.fits(this.held[0]!.size)) {
      const h = this.held.shift()!;
      this.put(h.m, h.size);
    }
    if (this.held.length > 0 && this.asked < this.sent) this.ask();
  }

  /**
   * Room for the message and the receipt request that may follow it. A message larger than
   * the whole window goes only once everything before it was read.
   */
  private fits(size: number): boolean {
    return this.unread === 0 || this.unread + size + SMALL_MESSAGE_BYTES <= this.limit;
  }

  private put(m: ControllerMessage, size: number): void {
    this.o.write(m);
    this.sent += size;
    if (this.sent - this.asked >= this.limit / 4) this.ask();
  }

  private ask(): void {
    const token = this.o.token();
    this.o.write({ read_receipt: { token } });
    this.sent += SMALL_MESSAGE_BYTES;
    this.asked = this.sent;
    this.pending.set(token, this.sent);
  }
}
