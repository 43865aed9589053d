/**
 * The other members of a controller group, as this member calls them: to relay an
 * operator's `logs`/`exec` to the member holding the host's agent stream
 * (api/log-relay.ts, api/exec-relay.ts), and to fetch or replicate an artifact
 * (artifacts/replicas.ts).
 *
 * Members trust the group's CA: each dials the others as clients do (the CA, the
 * CONTROLLER_TLS_NAME) and presents a client certificate of its own, issued from
 * that CA to `urn:berth:member:<id>` (shared/tls/pki.ts createMemberCert). That
 * certificate is what MemberService calls need, and what lets a member trust the
 * operator's address another member relays for the audit log (relay.ts); an
 * operator call relayed carries the operator's own token, so RBAC, revocation and
 * the audit log's token stay exactly those of the operator.
 */
import type * as grpc from "@grpc/grpc-js";
import type { Logger } from "../../shared/log/logger.js";
import { loadProtos } from "../../shared/proto.js";
import { channelOptions, CLIENT_KEEPALIVE_MS, CLIENT_KEEPALIVE_TIMEOUT_MS } from "../../shared/tls/client-credentials.js";
import type { OperatorServiceClient } from "../../shared/gen/berth/v1/OperatorService.js";
import type { MemberServiceClient } from "../../shared/gen/berth/v1/MemberService.js";
import type { MemberRecord } from "./group.js";

export interface PeerDeps {
  /** This member's id: never called. */
  self: string;
  /** The members registered now (group.ts EtcdGroup.members). */
  members: () => Promise<MemberRecord[]>;
  /**
   * What this member dials the others with: the group's CAs and its own member
   * certificate (createMemberCert). A new value (a CA rotation) replaces every
   * client at its next use.
   */
  credentials: () => grpc.ChannelCredentials;
  log: Logger;
}

export class MemberPeers {
  private creds: grpc.ChannelCredentials | undefined;
  private readonly operators = new Map<string, OperatorServiceClient>();
  private readonly memberClients = new Map<string, MemberServiceClient>();
  private closed = false;

  constructor(readonly d: PeerDeps) {}

  /** The credentials now; clients made with older ones are closed and made anew. */
  private current(): grpc.ChannelCredentials {
    const creds = this.d.credentials();
    if (creds !== this.creds) {
      for (const c of [...this.operators.values(), ...this.memberClients.values()]) c.close();
      this.operators.clear();
      this.memberClients.clear();
      this.creds = creds;
    }
    return creds;
  }

  get self(): string {
    return this.d.self;
  }

  /** The other members registered now. */
  async others(): Promise<MemberRecord[]> {
    return (await this.d.members()).filter((m) => m.id !== this.d.self);
  }

  /** The address member `id` is registered with, or undefined when it is not registered (stopped, or its lease lapsed). */
  async addressOf(id: string): Promise<string | undefined> {
    return (await this.d.members()).find((m) => m.id === id)?.address;
  }

  operator(address: string): OperatorServiceClient {
    const creds = this.current();
    let c = this.operators.get(address);
    if (!c) {
      c = new (loadProtos().operator.berth.v1.OperatorService)(address, creds, this.options());
      this.operators.set(address, c);
    }
    return c;
  }

  /**
   * A client for one long call that may be paused while its operator reads nothing (a
   * relayed `logs -f` or `exec`), on a connection of its own: a member behind HAProxy
   * (--front) would otherwise hold every other call this member relays to it behind the
   * paused one. The caller closes it when the call ends (ownCall).
   */
  operatorOwn(address: string): OperatorServiceClient {
    return new (loadProtos().operator.berth.v1.OperatorService)(address, this.current(), { ...this.options(), "grpc.use_local_subchannel_pool": 1 });
  }

  member(address: string): MemberServiceClient {
    const creds = this.current();
    let c = this.memberClients.get(address);
    if (!c) {
      c = new (loadProtos().operator.berth.v1.MemberService)(address, creds, this.options());
      this.memberClients.set(address, c);
    }
    return c;
  }

  close(): void {
    this.closed = true;
    for (const c of [...this.operators.values(), ...this.memberClients.values()]) c.close();
    this.operators.clear();
    this.memberClients.clear();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private options(): grpc.ChannelOptions {
    return {
      ...channelOptions(),
      // A member that vanishes without a word (its host died) ends what is relayed to it within ~40 s, not never.
      "grpc.keepalive_time_ms": CLIENT_KEEPALIVE_MS,
      "grpc.keepalive_timeout_ms": CLIENT_KEEPALIVE_TIMEOUT_MS,
      "grpc.max_receive_message_length": 16 * 1024 * 1024,
    };
  }
}

/** `call` on a client of its own (MemberPeers.operatorOwn): the client is closed once the call has ended. */
export function ownCall<C extends { on(event: "status", fn: () => void): unknown }>(client: grpc.Client, call: C): C {
  call.on("status", () => client.close());
  return call;
}
