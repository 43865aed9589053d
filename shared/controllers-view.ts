/**
 * What `berth controllers` and the web console's Controllers page both show of
 * ListControllers: each member's own word on whether it reaches the store, and
 * the warnings an operator must read first. Pure; the asking is the caller's
 * (the CLI dials each member, the console's server asks through its peers).
 */
import type { ControllerMember__Output } from "./gen/berth/v1/ControllerMember.js";
import type { ListControllersResponse__Output } from "./gen/berth/v1/ListControllersResponse.js";
import { plainGrpcDetails } from "./grpc-details.js";

/**
 * Member m's row with its store state as m itself answered (`ask`: ListControllers
 * of m); when it does not answer, the row says so in store_error ("no answer: …").
 */
export async function withOwnStoreState(m: ControllerMember__Output, ask: () => Promise<ListControllersResponse__Output>): Promise<ControllerMember__Output> {
  try {
    const row = (await ask()).members.find((x) => x.self);
    return row ? { ...m, store_state: row.store_state, store_unreachable_since_ms: row.store_unreachable_since_ms, store_error: row.store_error } : m;
  } catch (err) {
    const e = err as { details?: unknown; message?: unknown };
    return { ...m, store_state: "", store_error: `no answer: ${plainGrpcDetails(typeof e.details === "string" && e.details ? e.details : String(e.message))}` };
  }
}

/** Whether a member did not answer when asked for its own row. */
export const unanswered = (m: Pick<ControllerMember__Output, "store_error">): boolean => m.store_error.startsWith("no answer");

/** What an operator must know first: no leader, etcd without its quorum, members cut off from it or not answering. */
export function controllerWarnings(res: Pick<ListControllersResponse__Output, "leader" | "store" | "etcd" | "members" | "now_ms">): string[] {
  const out: string[] = [];
  if (res.store === "etcd" && res.etcd.length > 0) {
    const serving = res.etcd.filter((e) => e.healthy).length;
    // The endpoints as the answering member sees them; a member that reaches the store proves the quorum is there.
    if (serving <= res.etcd.length / 2 && !res.members.some((m) => m.store_state === "ok")) {
      out.push(`ETCD HAS LOST ITS QUORUM: ${serving} of ${res.etcd.length} endpoints serve (a majority must); nothing is decided until it is back. Agents keep their services running; nothing stored is lost.`);
    }
  }
  for (const m of res.members) {
    if (m.store_state === "unreachable") {
      out.push(`${m.id} cannot reach etcd since ${new Date(Number(m.store_unreachable_since_ms)).toISOString()} (${m.store_error}): it decides nothing and sends its agents to other members.`);
    }
  }
  for (const m of res.members) {
    // Still registered (its lease outlives it by up to a TTL), or frozen, or cut off from the one asking.
    if (!m.self && unanswered(m)) out.push(`${m.id} at ${m.address} does not answer (${m.store_error.replace(/^no answer: /, "")}): if it is down, it leaves this list within its lease, its agents move to other members, and a leader among the rest decides.`);
  }
  if (!res.leader) out.push("NO LEADER: nothing is decided (an election is under way, or etcd has lost its quorum); agents keep their services running.");
  return out;
}
