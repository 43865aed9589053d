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
import { LEADER_KEY, LeaderRecordSchema, type GroupView, type MemberRecord } from "../group.js";
import { unary, type OperatorServiceDeps } from "./operator-service.js";

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

export function controllersHandlers(d: ControllersDeps): Pick<OperatorServiceHandlers, "ListControllers"> {
  return {
    ListControllers: unary(d, "viewer", "ListControllers", async () => {
      const { group, self } = d;
      const health = d.storeState?.() ?? { ok: true as const, sinceMs: 0 };
      let members: MemberRecord[] = [self];
      let leader: string | undefined = d.leadership.isLeader() ? self.id : undefined;
      let etcd: Awaited<ReturnType<GroupView["endpoints"]>> = [];
      let fromStore = false;
      if (group) {
        // Without the store: nothing read from it (each read would wait out its deadline); a read that fails all the same, likewise.
        const read = health.ok ? await Promise.all([group.members(), group.leader()]).catch(() => undefined) : undefined;
        members = read?.[0] ?? group.lastMembers?.() ?? [];
        if (read) leader = read[1];
        fromStore = read !== undefined;
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
      };
    }),
  };
}

function storeFields(h: StoreHealthState): Pick<ControllerMember, "store_state" | "store_unreachable_since_ms" | "store_error"> {
  return h.ok ? { store_state: "ok", store_unreachable_since_ms: 0, store_error: "" } : { store_state: "unreachable", store_unreachable_since_ms: h.sinceMs, store_error: h.error };
}
