/** What `berth controllers` does (descriptor: cli/commands/controllers.ts). */
import type * as grpc from "@grpc/grpc-js";
import type { Command } from "commander";
import { controllerWarnings, unanswered, withOwnStoreState } from "../../shared/controllers-view.js";
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
  await withApi(globalsOf(cmd), async (api) => {
    const res = await call(api, api.client.ListControllers, {});
    // Only a member knows whether it reaches the store: each is asked for its own row.
    if (res.store === "etcd") res.members = await Promise.all(res.members.map((m) => (m.self ? m : ownRow(api, m))));
    if (printData(format, res)) return;
    const since = (ms: number): string => (ms ? `${formatDurationMs(Math.max(0, res.now_ms - ms))}` : "-");
    const warnings = controllerWarnings(res);
    for (const line of warnings) console.log(colour("red", line));
    if (warnings.length > 0) console.log("");
    const rows = res.members.map((m) => [
      m.id + (m.self ? " *" : ""),
      m.address,
      m.leader ? colour("green", `leader for ${since(res.leader_since_ms)}`) : "member",
      ...(res.store === "etcd" ? [storeCell(m, res.now_ms)] : []),
      String(m.agents),
      `up ${since(Number(m.started_at_ms))}`,
    ]);
    // Members gone: not registered now, shown until they come back or are forgotten.
    for (const m of res.gone) {
      const what = m.left ? `left ${since(Number(m.gone_since_ms))} ago` : Number(m.gone_since_ms) ? `LOST ${since(Number(m.gone_since_ms))} ago` : "not registered";
      rows.push([m.id, m.address, m.left ? colour("yellow", what) : colour("red", what), ...(res.store === "etcd" ? ["-"] : []), "-", "-"]);
    }
    console.log(table(["MEMBER", "ADDRESS", "ROLE", ...(res.store === "etcd" ? ["STORE"] : []), "AGENTS", "STARTED"], rows));
    if (res.gone.length > 0) console.log(txt`\n${res.gone.length} member${res.gone.length > 1 ? "s" : ""} gone: started again, ${res.gone.length > 1 ? "each" : "it"} rejoins; removed for good, \`berth controllers forget ID\` (admin) stops showing it (the leader forgets one that left 24 h ago, or was lost 72 h ago)`);
    if (res.store === "etcd") {
      console.log("");
      const eps = res.etcd.map((e) => [e.endpoint, e.healthy ? colour("green", "healthy") : colour("red", "unhealthy"), e.healthy ? e.version : txt`${e.error}`, e.is_leader ? "raft leader" : "", e.healthy ? bytes(Number(e.db_size_bytes)) : "-"]);
      console.log(table(["ETCD ENDPOINT", "HEALTH", "VERSION", "", "DB SIZE"], eps));
    } else console.log("\nstore: LevelDB (a lone controller)");
    console.log("\n* the member that answered");
  });
}

export async function forget(id: string, _o: unknown, cmd: Command): Promise<void> {
  await withApi(globalsOf(cmd), async (api) => {
    const res = await call(api, api.client.ForgetController, { id });
    console.log(txt`forgot ${res.forgotten?.id ?? id} (${res.forgotten?.address ?? ""}): it no longer shows in \`berth controllers\``);
  });
}

/** Member m's own row (its store state), asked of it directly; when it does not answer, says so. */
function ownRow(api: Api, m: ControllerMember__Output): Promise<ControllerMember__Output> {
  return withOwnStoreState(m, () =>
    new Promise<ListControllersResponse__Output>((resolve, reject) =>
      api.clientFor(m.address).ListControllers({}, api.metadata, { deadline: Date.now() + OWN_ROW_TIMEOUT_MS }, (err: grpc.ServiceError | null, r?: ListControllersResponse__Output) => (err || !r ? reject(err ?? new Error("empty response")) : resolve(r))),
    ),
  );
}

/** A member's STORE cell: ok, unreachable for how long, or not known. Pure. */
export function storeCell(m: Pick<ControllerMember__Output, "store_state" | "store_unreachable_since_ms" | "store_error">, nowMs: number): Cell {
  switch (m.store_state) {
    case "ok":
      return colour("green", "ok");
    case "unreachable":
      return colour("red", `unreachable for ${formatDurationMs(Math.max(0, nowMs - Number(m.store_unreachable_since_ms)))}`);
    default:
      return colour("yellow", unanswered(m) ? "no answer" : "unknown");
  }
}
