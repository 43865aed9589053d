/** What `berth controllers` does (descriptor: cli/commands/controllers.ts). */
import type * as grpc from "@grpc/grpc-js";
import type { Command } from "commander";
import { formatDurationMs } from "../../shared/duration.js";
import type { ControllerMember__Output } from "../../shared/gen/berth/v1/ControllerMember.js";
import type { ListControllersResponse__Output } from "../../shared/gen/berth/v1/ListControllersResponse.js";
import { call, type Api } from "../client.js";
import { bytes, colour, parseFormat, printData, table, txt, type Cell } from "../output.js";
import { globalsOf, withApi } from "./common.js";

/** How long another member may take to say whether it reaches the store. */
const OWN_ROW_TIMEOUT_MS = 3_000;

export async function controllers(o: { output: string }, cmd: Command): Promise<void> {
  const format = parseFormat(o.output);
  let unanswered = false;
  await withApi(globalsOf(cmd), async (api) => {
    const res = await call(api, api.client.ListControllers, {});
    // Only a member knows whether it reaches the store: each is asked for its own row.
    if (res.store === "etcd") res.members = await Promise.all(res.members.map((m) => (m.self ? m : ownRow(api, m))));
    unanswered = res.members.some((m) => m.store_error.startsWith("no answer"));
    if (printData(format, res)) return;
    const since = (ms: number): string => (ms ? `${formatDurationMs(Math.max(0, res.now_ms - ms))}` : "-");
    for (const line of warnings(res)) console.log(colour("red", line));
    const rows = res.members.map((m) => [
      m.id + (m.self ? " *" : ""),
      m.address,
      m.leader ? colour("green", `leader for ${since(res.leader_since_ms)}`) : "member",
      ...(res.store === "etcd" ? [storeCell(m, res.now_ms)] : []),
      String(m.agents),
      `up ${since(Number(m.started_at_ms))}`,
    ]);
    console.log(table(["MEMBER", "ADDRESS", "ROLE", ...(res.store === "etcd" ? ["STORE"] : []), "AGENTS", "STARTED"], rows));
    if (res.store === "etcd") {
      console.log("");
      const eps = res.etcd.map((e) => [e.endpoint, e.healthy ? colour("green", "healthy") : colour("red", "unhealthy"), e.healthy ? e.version : txt`${e.error}`, e.is_leader ? "raft leader" : "", e.healthy ? bytes(Number(e.db_size_bytes)) : "-"]);
      console.log(table(["ETCD ENDPOINT", "HEALTH", "VERSION", "", "DB SIZE"], eps));
    } else console.log("\nstore: LevelDB (a lone controller)");
    console.log("\n* the member that answered");
  });
  // A dial to a member cut off by a partition stays open after its channel is closed,
  // until the kernel gives up its TCP connect (minutes): everything is printed, so leave.
  if (unanswered) process.exit(process.exitCode ?? 0);
}

/** Member m's own row (its store state), asked of it directly; when it does not answer, says so. */
async function ownRow(api: Api, m: ControllerMember__Output): Promise<ControllerMember__Output> {
  try {
    const own = await new Promise<ListControllersResponse__Output>((resolve, reject) =>
      api.clientFor(m.address).ListControllers({}, api.metadata, { deadline: Date.now() + OWN_ROW_TIMEOUT_MS }, (err: grpc.ServiceError | null, r?: ListControllersResponse__Output) => (err || !r ? reject(err ?? new Error("empty response")) : resolve(r))),
    );
    const row = own.members.find((x) => x.self);
    return row ? { ...m, store_state: row.store_state, store_unreachable_since_ms: row.store_unreachable_since_ms, store_error: row.store_error } : m;
  } catch (err) {
    const e = err as { details?: unknown; message?: unknown };
    return { ...m, store_state: "", store_error: `no answer: ${typeof e.details === "string" && e.details ? e.details : String(e.message)}` };
  }
}

/** A member's STORE cell: ok, unreachable for how long, or not known. Pure. */
export function storeCell(m: Pick<ControllerMember__Output, "store_state" | "store_unreachable_since_ms" | "store_error">, nowMs: number): Cell {
  switch (m.store_state) {
    case "ok":
      return colour("green", "ok");
    case "unreachable":
      return colour("red", `unreachable for ${formatDurationMs(Math.max(0, nowMs - Number(m.store_unreachable_since_ms)))}`);
    default:
      return colour("yellow", m.store_error.startsWith("no answer") ? "no answer" : "unknown");
  }
}

/** What an operator must know first: no leader, etcd without its quorum, members cut off from it. Pure. */
export function warnings(res: Pick<ListControllersResponse__Output, "leader" | "store" | "etcd" | "members" | "now_ms">): string[] {
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
  if (!res.leader) out.push("NO LEADER: nothing is decided (an election is under way, or etcd has lost its quorum); agents keep their services running.");
  if (out.length > 0) out.push("");
  return out;
}
