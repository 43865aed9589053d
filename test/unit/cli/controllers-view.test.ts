import { describe, expect, it } from "vitest";
import { storeCell } from "../../../cli/run/controllers.js";
import { controllerWarnings as warnings } from "../../../shared/controllers-view.js";
import { render } from "../../../cli/output.js";

const member = (id: string, store_state: string, since = 0, error = "") => ({
  id,
  address: `${id}:7420`,
  leader: false,
  started_at_ms: 0,
  agents: 0,
  self: false,
  store_state,
  store_unreachable_since_ms: since,
  store_error: error,
  gone_since_ms: 0,
  left: false,
});
const ep = (healthy: boolean) => ({ endpoint: "e", healthy, error: healthy ? "" : "down", version: "3.4", is_leader: false, db_size_bytes: 0, has_leader: healthy });

describe("berth controllers: the store column and the warnings", () => {
  it("a member's STORE: ok, unreachable for how long, no answer", () => {
    expect(render(storeCell(member("c1", "ok"), 10_000))).toBe("ok");
    expect(render(storeCell(member("c1", "unreachable", 4_000, "no leader"), 16_000))).toBe("unreachable for 12s");
    expect(render(storeCell(member("c1", "", 0, "no answer: deadline exceeded"), 0))).toBe("no answer");
  });

  it("quorum lost: a minority of endpoints serve and no member reaches the store", () => {
    const w = warnings({ leader: "", store: "etcd", etcd: [ep(true), ep(false), ep(false)], members: [member("c1", "unreachable", Date.UTC(2026, 0, 1), "no leader"), member("c2", "unreachable", 1, "x")], now_ms: 0 });
    expect(w[0]).toMatch(/^ETCD HAS LOST ITS QUORUM: 1 of 3 endpoints serve/);
    expect(w[1]).toBe("c1 cannot reach etcd since 2026-01-01T00:00:00.000Z (no leader): it decides nothing and sends its agents to other members.");
    expect(w).toContain("NO LEADER: nothing is decided (an election is under way, or etcd has lost its quorum); agents keep their services running.");
  });

  it("a member cut off alone (its endpoints unreachable to it, others reach the store) is not a lost quorum", () => {
    const w = warnings({ leader: "c2", store: "etcd", etcd: [ep(false), ep(false), ep(false)], members: [member("c1", "unreachable", 1, "timeout"), member("c2", "ok")], now_ms: 0 });
    expect(w.some((l) => l.startsWith("ETCD HAS LOST"))).toBe(false);
    expect(w[0]).toMatch(/^c1 cannot reach etcd since/);
  });

  it("a member that does not answer is named, with what that means, not left to a STORE cell", () => {
    const w = warnings({ leader: "c1", store: "etcd", etcd: [ep(true), ep(true), ep(true)], members: [{ ...member("c1", "ok"), self: true }, member("c2", "", 0, "no answer: connect ECONNREFUSED 10.0.0.2:7420")], now_ms: 0 });
    expect(w).toEqual(["c2 at c2:7420 does not answer (connect ECONNREFUSED 10.0.0.2:7420): if it is down, it leaves this list within its lease, its agents move to other members, and a leader among the rest decides."]);
  });

  it("all well: nothing to say", () => {
    expect(warnings({ leader: "c1", store: "etcd", etcd: [ep(true), ep(true), ep(false)], members: [member("c1", "ok")], now_ms: 0 })).toEqual([]);
  });
});
