/**
 * ListControllers (`berth controllers`): the group's members, which leads and since
 * when, each member's agent count, and each etcd endpoint's health. Any member
 * answers; a lone controller on LevelDB is a group of one.
 *
 * A member that cannot reach its store answers too, at once, from what it knows:
 * the members as last read, no leader known (unless it still holds its lease), and
 * its own store state — the CLI asks every member for its own row, so an operator
 * sees which members reach etcd and which do not, and since when.
 */
import type { OperatorServiceHandlers } from "../../../shared/gen/berth/v1/OperatorService.js";
import type { ControllerMember } from "../../../shared/gen/berth/v1/ControllerMember.js";
import type { EtcdEndpoint } from "../../../shared/gen/berth/v1/EtcdEndpoint.js";
import { decodeRecord } from "../../store/record.js";
import type { Leadership } from "../../leader/leadership.js";
import type { StoreHealthState } from "../../store/store-health.js";
import * as grpc from "@grpc/grpc-js";
import { LEADER_KEY, LeaderRecordSchema, type GroupView, type MemberRecord, type SeenRecord } from "../group.js";
import { GrpcError } from "./errors.js";
import { unary, type OperatorServiceDeps } from "./operator-service.js";

/** A gone member's row (ListControllersResponse.gone). */
function goneRow(m: SeenRecord): ControllerMember {
  return { id: m.id, address: m.address, leader: false, started_at_ms: m.startedAtMs, agents: 0, self: false, gone_since_ms: m.goneSinceMs ?? 0, left: m.left ?? false };
}

export interface ControllersDeps extends OperatorServiceDeps {
  /** This member. */
  self: MemberRecord;
  /** The group; undefined for a lone controller. */
  group: GroupView | undefined;
  leadership: Leadership;
  /** Agent streams each member holds: this one's own, the others' from their liveness reports. */
  agentsOf: (member: string) => number;
  /** This member's view of its store (member/store-monitor.ts); absent: always reachable (LevelDB). */
  storeState?: () => StoreHealthState;
}

export function controllersHandlers(d: ControllersDeps): Pick<OperatorServiceHandlers, "ListControllers" | "ForgetController"> {
  return {
    ListControllers: unary(d, "viewer", "ListControllers", async () => {
      const { group, self } = d;
      const health = d.storeState?.() ?? { ok: true as const, sinceMs: 0 };
      let members: MemberRecord[] = [self];
      let leader: string | undefined = d.leadership.isLeader() ? self.id : undefined;
      let etcd: Awaited<ReturnType<GroupView["endpoints"]>> = [];
      let gone: SeenRecord[] = [];
      let fromStore = false;
      if (group) {
        // Without the store: nothing read from it (each read would wait out its deadline); a read that fails all the same, likewise.
        const read = health.ok ? await Promise.all([group.members(), group.leader()]).catch(() => undefined) : undefined;
        members = read?.[0] ?? group.lastMembers?.() ?? [];
        if (read) leader = read[1];
        fromStore = read !== undefined;
        if (read && group.gone) gone = await group.gone(read[0]).catch(() => []);
        etcd = await group.endpoints();
      }
      // Between a restart and its registration a member may miss itself: it is here, it answers.
      if (!members.some((m) => m.id === self.id)) members.push(self);
      let sinceMs = 0;
      if (leader === self.id) sinceMs = d.leadership.leadingSinceMs() ?? 0;
      else if (leader !== undefined && fromStore) {
        const kv = await d.store.get(LEADER_KEY).catch(() => undefined);
        const rec = kv ? decodeRecord(LeaderRecordSchema, kv.value) : undefined;
        if (rec?.ok && rec.rec.member === leader) sinceMs = rec.rec.sinceMs;
      }
      return {
        members: members
          .sort((a, b) => a.id.localeCompare(b.id))
          .map((m): ControllerMember => ({
            id: m.id,
            address: m.address,
            leader: m.id === leader,
            started_at_ms: m.startedAtMs,
            agents: d.agentsOf(m.id),
            self: m.id === self.id,
            // Only a member knows whether it reaches the store: its own row says.
            ...(m.id === self.id ? storeFields(health) : {}),
          })),
        leader: leader ?? "",
        leader_since_ms: sinceMs,
        store: group?.store ?? "leveldb",
        etcd: etcd.map((e): EtcdEndpoint => ({ endpoint: e.endpoint, healthy: e.healthy, error: e.error, version: e.version, is_leader: e.isLeader, db_size_bytes: e.dbSizeBytes, has_leader: e.hasLeader })),
        now_ms: d.now(),
        gone: gone.sort((a, b) => a.id.localeCompare(b.id)).map(goneRow),
      };
    }),

    ForgetController: unary(d, "admin", "ForgetController", async (req: { id: string }, who) => {
      const id = req.id;
      if (!/^[\x21-\x7e]{1,128}$/.test(id)) throw new GrpcError(grpc.status.INVALID_ARGUMENT, "id: a member's id as `berth controllers` shows it (1-128 visible characters)");
      if (!d.group?.forget) throw new GrpcError(grpc.status.FAILED_PRECONDITION, "a lone controller has no group members to forget");
      let rec: SeenRecord | undefined;
      try {
        rec = await d.group.forget(id);
      } catch (err) {
        if (err instanceof Error && err.message.includes("is registered")) throw new GrpcError(grpc.status.FAILED_PRECONDITION, err.message);
        throw err;
      }
      if (!rec) throw new GrpcError(grpc.status.NOT_FOUND, `no member ${id} was seen: \`berth controllers\` lists the members, and those gone`);
      await d.events.append({ type: "controller.forgotten", actor: who.tokenId, message: `controller ${id} at ${rec.address} forgotten: it no longer shows among the members gone` });
      return { forgotten: goneRow(rec) };
    }),
  };
}

function storeFields(h: StoreHealthState): Pick<ControllerMember, "store_state" | "store_unreachable_since_ms" | "store_error"> {
  return h.ok ? { store_state: "ok", store_unreachable_since_ms: 0, store_error: "" } : { store_state: "unreachable", store_unreachable_since_ms: h.sinceMs, store_error: h.error };
}
