/**
 * One agent's Connect stream as its message handlers see it: who it is, which
 * stream of that host it is (a newer one replaces it), and how to answer.
 */
import type { ControllerMessage } from "../../../shared/gen/berth/v1/ControllerMessage.js";
import type { AgentMessage__Output } from "../../../shared/gen/berth/v1/AgentMessage.js";
import type { Logger } from "../../../shared/log/logger.js";
import type { AgentServiceDeps } from "./deps.js";
import type { HostLive } from "../../hosts/registry.js";

export interface AgentStream {
  hostId: string;
  /** This stream's id: the host's live view names the stream currently open. */
  sid: number;
  log: Logger;
  send(m: ControllerMessage): void;
  /** The agent answered a read receipt (read-window.ts). */
  readReceipt(token: number): void;
  /** The peer address (for a Hello without an advertise address). */
  peer(): string;
  /** Ends the call. */
  end(): void;
  /** Serial of the certificate this stream authenticated with. */
  certSerial: string;
  /** Set by the Hello: nothing else is accepted before it. */
  greeted: boolean;
}

/**
 * The host's live view while this stream is still its current one, else undefined.
 * Reports of a replaced (or dropped) stream are older than the current one's.
 */
export function currentLive(d: AgentServiceDeps, s: AgentStream): HostLive | undefined {
  const live = d.registry.live.get(s.hostId);
  return live?.streamId === s.sid ? live : undefined;
}

/** Is this stream still the host's current one? (currentLive, when the live view is not needed) */
export function isCurrent(d: AgentServiceDeps, s: AgentStream): boolean {
  return currentLive(d, s) !== undefined;
}

/** The kinds of AgentMessage (its `msg` oneof). */
export type AgentMessageKind = NonNullable<AgentMessage__Output["msg"]>;

/** Handles one kind of message; throws GrpcError to refuse it (the stream ends). */
export type MessageHandler = (d: AgentServiceDeps, s: AgentStream, msg: AgentMessage__Output) => Promise<void> | void;
