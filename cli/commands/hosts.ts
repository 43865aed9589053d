/** `berth hosts`, `host show ID`, `host remove ID`, `failover resume`, `cordon ID`, `uncordon ID`: descriptors; cli/run/hosts.ts does the work. */
import type { Command } from "commander";
import { lazy } from "./lazy.js";

const run = () => import("../run/hosts.js");

export function registerHosts(program: Command): void {
  program
    .command("hosts")
    .description("list the hosts of the fleet")
    .option("-o, --output <format>", "table, json or yaml", "table")
    .addHelpText("after", "\nExample:\n  berth hosts -o json | jq '.[] | select(.status==\"down\") | .id'")
    .action(lazy(run, (m) => m.hosts));

  const host = program.command("host").description("inspect or remove one host");
  host
    .command("remove")
    .argument("<id>", "host id, or a unique prefix of one")
    .description("remove a host from the fleet (admin): its certificate is refused from now on, its instance is replaced elsewhere, its agent stops its services and exits")
    .addHelpText("after", "\nThe machine can join again only as a new host (remove its data dir's identity/ folder, then berth agent with a join token).\n\nExample:\n  berth host remove 3fa9")
    .action(lazy(run, (m) => m.hostRemove));
  host
    .command("show")
    .argument("<id>", "host id, or a unique prefix of one")
    .description("show every fact the host reported")
    .option("-o, --output <format>", "yaml (default), json", "yaml")
    .addHelpText("after", "\nExample:\n  berth host show 3fa9")
    .action(lazy(run, (m) => m.hostShow));

  program
    .command("failover")
    .description("the mass-failure guard")
    .command("resume")
    .description("let failover proceed after the guard paused it (too many hosts lost at once)")
    .addHelpText("after", "\nExample:\n  berth hosts   # shows FAILOVER PAUSED and why\n  berth failover resume")
    .action(lazy(run, (m) => m.failoverResume));

  for (const name of ["cordon", "uncordon"] as const) {
    program
      .command(name)
      .argument("<id>", "host id, or a unique prefix of one")
      .description(name === "cordon" ? "keep a host's instance but give it no new one" : "let a cordoned host take instances again")
      .addHelpText("after", `\nExample:\n  berth ${name} 3fa9`)
      .action(lazy(run, (m) => m[name]));
  }
}
