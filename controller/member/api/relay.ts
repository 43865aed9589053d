/**
 * Relaying an operator call to the member that holds a host's agent stream (issue
 * 11: every member serves `logs` and `exec`). The member the operator reached
 * calls the holder's own OperatorService with:
 * - the operator's token, as it came: the holder authenticates, authorises and
 *   audits the call as if the operator had reached it, and ends it when the token
 *   is revoked (every member follows revocations through the store);
 * - RELAY_HEADER, naming the relaying member: a relayed call is served where it
 *   lands or refused, never relayed again, so two members that disagree for a
 *   moment about where a stream is cannot bounce a call between them;
 * - PEER_HEADER, the operator's address, which the holder writes in its audit log
 *   instead of the relaying member's — trusted only from a caller presenting a
 *   member certificate of the group's CA (anyone may send the header).
 */
import * as grpc from "@grpc/grpc-js";
import { peerCertificate, verifyMemberCert } from "../../../shared/tls/pki.js";
import { connectionError } from "../../../shared/grpc-details.js";
import type { OperatorServiceClient } from "../../../shared/gen/berth/v1/OperatorService.js";
import { GrpcError } from "./errors.js";

export const RELAY_HEADER = "x-berth-relayed-by";
export const PEER_HEADER = "x-berth-peer";

/** Where a call to relay goes: the member holding each host's stream, and a way to call it. */
export interface RelayDeps {
  /** This member's id. */
  self: string;
  /** The member holding the host's agent stream, "" when none does (as `berth hosts` shows it). */
  holderOf(hostId: string): string;
  /** Which stream holds the host now (its member, and when that stream began as the member reported it); undefined: none known. Tells a reconnect to the same member from the stream before it. */
  routeOf?(hostId: string): string | undefined;
  /** The address member `id` is registered with, or undefined. */
  addressOf(id: string): Promise<string | undefined>;
  /**
   * An OperatorService client of the member at `address` for one operator's call, on a
   * connection of its own, which the caller closes when the call ends (member/peers.ts operatorOwn).
   */
  operatorOwn(address: string): OperatorServiceClient;
  /** The CAs a member certificate may come from (both during a CA rotation). */
  trustedCas: () => readonly string[];
  now(): number;
}

/** The metadata of the relayed call: the operator's token, who relays, and for whom. */
export function relayMetadata(from: grpc.Metadata, self: string, peer: string): grpc.Metadata {
  const md = new grpc.Metadata();
  for (const v of from.get("authorization")) md.add("authorization", v);
  md.set(RELAY_HEADER, self);
  md.set(PEER_HEADER, peer.slice(0, 200));
  return md;
}

/** A call another member relayed here (whoever sent the header: it only stops a further relay). */
export function isRelayed(md: grpc.Metadata): boolean {
  return md.get(RELAY_HEADER).length > 0;
}

/**
 * The caller's address for the audit log: the operator's, "ipv4:10.0.0.9:5123 via c2",
 * when a member of the group relayed the call; otherwise the connection's own peer.
 */
export function auditPeer(call: { getPeer(): string; metadata: grpc.Metadata; getAuthContext?: () => unknown }, trustedCas: readonly string[], now: Date): string {
  const peer = call.getPeer();
  if (!isRelayed(call.metadata)) return peer;
  const der = peerCertificate(call);
  const v = der ? verifyMemberCert(trustedCas, der, now) : undefined;
  const forwarded = call.metadata.get(PEER_HEADER)[0];
  if (!v?.ok || typeof forwarded !== "string" || !forwarded) return peer;
  return `${forwarded.slice(0, 200)} via ${v.memberId}`;
}

/** The call to the holder ended because its connection went (the holder died or cannot be reached), not by its answer. */
export function isConnectionLost(err: { code?: number; details?: string }): boolean {
  return err.code === grpc.status.UNAVAILABLE || err.code === grpc.status.CANCELLED || err.code === grpc.status.DEADLINE_EXCEEDED || (err.code === grpc.status.INTERNAL && /RST_STREAM/.test(err.details ?? ""));
}

/**
 * The operator's error when the member holding the host's stream is lost: UNAVAILABLE
 * (the CLI's watches look again, and the host's agent reconnects to another member
 * within seconds), its text starting "host …" as the CLI shows such errors as sent.
 */
export function holderLost(hostId: string, member: string, what: string, details: string): GrpcError {
  return new GrpcError(
    grpc.status.UNAVAILABLE,
    `host ${hostId}: its agent stream is on member ${member}, which was lost or cannot be reached (${connectionError(details).slice(0, 200) || "no answer"}); ${what} (its agent reconnects to another member within seconds)`,
  );
}

/**
 * Where to relay a call for `hostId`: the holder's id and address, or undefined when
 * the call must be served here (it holds the stream, no member does, or this call
 * was itself relayed). A holder that is not registered is reported as lost.
 */
export async function relayTarget(d: RelayDeps | undefined, md: grpc.Metadata, hostId: string, what: string): Promise<{ member: string; address: string } | undefined> {
  if (!d || isRelayed(md)) return undefined;
  const member = d.holderOf(hostId);
  if (!member || member === d.self) return undefined;
  const address = await d.addressOf(member);
  if (!address) throw holderLost(hostId, member, what, "it is not registered in the group");
  return { member, address };
}

/**
 * Flow control across a relay: what the relaying member has handed on towards the
 * operator but gRPC has not yet taken (its write callback) is bounded by `limit`;
 * past it the call to the holder is paused, so HTTP/2 flow control holds the holder's
 * writes back, the holder stops acknowledging to the agent, and the agent stops —
 * the same window end to end, with no buffer growing on the relaying member.
 */
export class RelayWindow {
  private inFlight = 0;
  private paused = false;

  constructor(readonly limit: number) {}

  /** `n` handed on; true when the upstream must pause now. */
  sent(n: number): boolean {
    this.inFlight += n;
    if (this.paused || this.inFlight <= this.limit) return false;
    this.paused = true;
    return true;
  }

  /** `n` taken by gRPC; true when the upstream may resume now. */
  taken(n: number): boolean {
    this.inFlight = Math.max(0, this.inFlight - n);
    if (!this.paused || this.inFlight > this.limit) return false;
    this.paused = false;
    return true;
  }

  get pending(): number {
    return this.inFlight;
  }
}
