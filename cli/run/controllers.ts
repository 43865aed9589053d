/** What `berth controllers` does (descriptor: cli/commands/controllers.ts). */
import type { Command } from "commander";
import { formatDurationMs } from "../../shared/duration.js";
import { call } from "../client.js";
import { bytes, colour, parseFormat, printData, table, txt } from "../output.js";
import { globalsOf, withApi } from "./common.js";

export async function controllers(o: { output: string }, cmd: Command): Promise<void> {
  const format = parseFormat(o.output);
  await withApi(globalsOf(cmd), async (api) => {
    const res = await call(api, api.client.ListControllers, {});
    if (printData(format, res)) return;
    const since = (ms: number): string => (ms ? `${formatDurationMs(Math.max(0, res.now_ms - ms))}` : "-");
    if (!res.leader) console.log(colour("red", "NO LEADER: nothing is decided (an election is under way, or etcd has lost its quorum); agents keep their services running\n"));
    const rows = res.members.map((m) => [m.id + (m.self ? " *" : ""), m.address, m.leader ? colour("green", `leader for ${since(res.leader_since_ms)}`) : "member", String(m.agents), `up ${since(Number(m.started_at_ms))}`]);
    console.log(table(["MEMBER", "ADDRESS", "ROLE", "AGENTS", "STARTED"], rows));
    if (res.store === "etcd") {
      console.log("");
      const eps = res.etcd.map((e) => [e.endpoint, e.healthy ? colour("green", "healthy") : colour("red", "unhealthy"), e.healthy ? e.version : txt`${e.error}`, e.is_leader ? "raft leader" : "", e.healthy ? bytes(Number(e.db_size_bytes)) : "-"]);
      console.log(table(["ETCD ENDPOINT", "HEALTH", "VERSION", "", "DB SIZE"], eps));
    } else console.log("\nstore: LevelDB (a lone controller)");
    console.log("\n* the member that answered");
  });
}
