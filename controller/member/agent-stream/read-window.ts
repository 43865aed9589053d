/**
 * What an agent's stream may hold unread: at most READ_WINDOW_BYTES sent that the
 * agent has not proved it read. Every READ_WINDOW_BYTES / 4 sent (and whenever a
 * message must wait) the controller asks for a ReadReceipt with a random token;
 * the agent answers it as soon as it reads it, which proves it read everything
 * before it. A message that would take the unread bytes past the window waits
 * until receipts come back; past MAX_HELD_BYTES (or MAX_HELD messages) waiting the
 * stream is ended (`over`), and the agent connects again.
 *
 * - Heartbeat acks never wait behind other messages: the last RESERVE_BYTES of the
 *   window are theirs (and the receipt requests'), so an agent that reads gets its
 *   acks while a long `exec` upload keeps the rest full. One that reads nothing
 *   gets none past the window: only the newest waits, the older ones say nothing more.
 * - `exec_input` data larger than a quarter window goes in pieces of that size.
 * - MoveOn and HostRemoved, each the last word before the stream is ended, go at once.
 *
 * Why: gRPC's own flow control stops at the first hop. Behind HAProxy 2.6
 * (`--front haproxy`) that hop is HAProxy, which shares one connection to the
 * controller among ~100 agents' streams and acknowledges data as it takes it in; an
 * agent that stopped reading (a paused VM, a stopped or wedged process) would fill
 * HAProxy's buffer for its stream, and the next data for it would block every other
 * stream on that connection (haproxy/haproxy#2853). Kept within HAProxy's buffer of one
 * stream (tune.bufsize, 16 KiB), the unread data of a stalled agent never reaches that
 * point, even from an agent that opens no HTTP/2 window at all; an agent that reads
 * takes in its own window's worth (64 KiB) besides. Only a single message larger than
 * the window (an assignment with a large spec) can go past it, and only when all
 * before it was read.
 */
import type { ControllerMessage } from "../../../shared/gen/berth/v1/ControllerMessage.js";

export const READ_WINDOW_BYTES = 16 * 1024;

/** The end of the window only heartbeat acks and receipt requests may use. */
const RESERVE_BYTES = 512;

/** A heartbeat ack's or a receipt request's bytes on the wire, at most (two varints, tags, gRPC's 5-byte prefix). */
const SMALL_MESSAGE_BYTES = 32;

/**
 * What may wait for one agent before its stream is ended: more than its exec sessions'
 * input can hold (16 sessions × 128 KiB), with its assignments. @default 4 MiB, 10,000 messages
 */
export const MAX_HELD_BYTES = 4 * 1024 * 1024;
export const MAX_HELD = 10_000;

/** What every stream's window shares (one object for all: a window is kept per agent). */
export interface ReadWindowConfig {
  /** The bytes `m` takes on the wire (its encoding and gRPC's 5-byte prefix). */
  size(m: ControllerMessage): number;
  /** A fresh unguessable token. */
  token(): number;
  /** @default READ_WINDOW_BYTES */
  limit?: number;
  /** @default MAX_HELD_BYTES */
  maxHeldBytes?: number;
}

export class ReadWindow {
  private sent = 0;
  private read = 0;
  /** Where the last receipt was asked (bytes sent up to and including it). */
  private asked = 0;
  /** Receipts asked and not yet answered, oldest first: token, bytes sent up to and including it, token, … */
  private pending: number[] | undefined;
  private held: { m: ControllerMessage; size: number }[] | undefined;
  private heldBytes = 0;
  /** The newest heartbeat ack that found no room. */
  private ack: ControllerMessage | undefined;
  private ended = false;

  /**
   * @param write writes to the stream
   * @param over called once when too much waits: the stream is to be ended
   */
  constructor(
    private readonly write: (m: ControllerMessage) => void,
    private readonly over: (why: string) => void,
    private readonly c: ReadWindowConfig,
  ) {}

  private get limit(): number {
    return this.c.limit ?? READ_WINDOW_BYTES;
  }

  /** Sent but not proved read, in bytes. */
  get unread(): number {
    return this.sent - this.read;
  }

  /** Messages waiting for receipts. */
  get waiting(): number {
    return this.held?.length ?? 0;
  }

  send(m: ControllerMessage): void {
    if (this.ended) return;
    if (m.move_on || m.host_removed) return this.write(m);
    if (m.heartbeat_ack) {
      if (this.unread + 2 * SMALL_MESSAGE_BYTES <= this.limit) return this.put(m, SMALL_MESSAGE_BYTES);
      this.ack = m;
      if (this.asked < this.sent) this.ask();
      return;
    }
    const piece = Math.max(1, Math.floor(this.limit / 4));
    // Bytes only: a string here would be base64 to the serializer, not text.
    const data = m.exec_input?.data;
    if (data && typeof data !== "string" && data.length > piece) {
      const { ack, eof, ...rest } = m.exec_input!;
      for (let at = 0; at < data.length; at += piece) {
        const last = at + piece >= data.length;
        this.send({ exec_input: { ...rest, data: data.subarray(at, at + piece), ...(at === 0 && ack ? { ack } : {}), ...(last && eof ? { eof } : {}) } });
      }
      return;
    }
    const size = this.c.size(m);
    if (this.waiting === 0 && this.fits(size)) return this.put(m, size);
    const maxBytes = this.c.maxHeldBytes ?? MAX_HELD_BYTES;
    if (this.heldBytes + size > maxBytes || this.waiting >= MAX_HELD) {
      const why = `the agent has not read the last ${this.unread} bytes sent to it, with ${this.heldBytes} more bytes (${this.waiting} messages) waiting: its stream is ended (it connects again)`;
      this.close();
      return this.over(why);
    }
    (this.held ??= []).push({ m, size });
    this.heldBytes += size;
    // Everything sent must be covered by a receipt asked, or nothing would ever let this through.
    if (this.asked < this.sent) this.ask();
  }

  /** The agent's answer to a receipt; a token not asked (or already answered) is ignored. */
  receipt(token: number): void {
    const p = this.pending;
    if (!p || this.ended) return;
    let i = 0;
    while (i < p.length && p[i] !== token) i += 2;
    if (i >= p.length) return;
    this.read = Math.max(this.read, p[i + 1]!);
    // Receipts are answered in order: those asked before it are answered by it.
    p.splice(0, i + 2);
    if (this.ack && this.unread + 2 * SMALL_MESSAGE_BYTES <= this.limit) {
      const a = this.ack;
      this.ack = undefined;
      this.put(a, SMALL_MESSAGE_BYTES);
    }
    const held = this.held;
    while (held && held.length > 0 && !this.ended && this.fits(held[0]!.size)) {
      const h = held.shift()!;
      this.heldBytes -= h.size;
      this.put(h.m, h.size);
    }
    if ((this.waiting > 0 || this.ack) && this.asked < this.sent) this.ask();
  }

  /** The stream ended: nothing more is sent, and what waits is let go. */
  close(): void {
    this.ended = true;
    this.held = undefined;
    this.heldBytes = 0;
    this.ack = undefined;
    this.pending = undefined;
  }

  /**
   * Room for the message and the receipt request that may follow it, short of the reserve.
   * A message larger than that goes only once everything before it was read.
   */
  private fits(size: number): boolean {
    return this.unread === 0 || this.unread + size + SMALL_MESSAGE_BYTES <= this.limit - RESERVE_BYTES;
  }

  private put(m: ControllerMessage, size: number): void {
    // A write can end the stream (gRPC's own backpressure bound): nothing after it.
    if (this.ended) return;
    this.write(m);
    this.sent += size;
    if (this.sent - this.asked >= this.limit / 4) this.ask();
  }

  private ask(): void {
    if (this.ended) return;
    const token = this.c.token();
    this.write({ read_receipt: { token } });
    this.sent += SMALL_MESSAGE_BYTES;
    this.asked = this.sent;
    (this.pending ??= []).push(token, this.sent);
  }
}
