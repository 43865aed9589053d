/**
 * ListControllers (`berth controllers`): the group's members, which leads and since
 * when, each member's agent count, and each etcd endpoint's health. Any member
 * answers; a lone controller on LevelDB is a group of one.
 */
import type { OperatorServiceHandlers } from "../../../shared/gen/berth/v1/OperatorService.js";
import type { ControllerMember } from "../../../shared/gen/berth/v1/ControllerMember.js";
import type { EtcdEndpoint } from "../../../shared/gen/berth/v1/EtcdEndpoint.js";
import { decodeRecord } from "../../store/record.js";
import type { Leadership } from "../../leader/leadership.js";
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
}

export function controllersHandlers(d: ControllersDeps): Pick<OperatorServiceHandlers, "ListControllers"> {
  return {
    ListControllers: unary(d, "viewer", "ListControllers", async () => {
      const { group, self } = d;
      const [members, leader, etcd] = group ? await Promise.all([group.members(), group.leader(), group.endpoints()]) : [[self], d.leadership.isLeader() ? self.id : undefined, []];
      // Between a restart and its registration a member may miss itself: it is here, it answers.
      if (!members.some((m) => m.id === self.id)) members.push(self);
      let sinceMs = 0;
      if (leader === self.id) sinceMs = d.leadership.leadingSinceMs() ?? 0;
      else if (leader !== undefined) {
        const kv = await d.store.get(LEADER_KEY);
        const rec = kv ? decodeRecord(LeaderRecordSchema, kv.value) : undefined;
        if (rec?.ok && rec.rec.member === leader) sinceMs = rec.rec.sinceMs;
      }
      return {
        members: members
          .sort((a, b) => a.id.localeCompare(b.id))
          .map((m): ControllerMember => ({ id: m.id, address: m.address, leader: m.id === leader, started_at_ms: m.startedAtMs, agents: d.agentsOf(m.id), self: m.id === self.id })),
        leader: leader ?? "",
        leader_since_ms: sinceMs,
        store: group?.store ?? "leveldb",
        etcd: etcd.map((e): EtcdEndpoint => ({ endpoint: e.endpoint, healthy: e.healthy, error: e.error, version: e.version, is_leader: e.isLeader, db_size_bytes: e.dbSizeBytes })),
        now_ms: d.now(),
      };
    }),
  };
}
