/** `berth services`, `status`, `history`, `delete`, `place`, `unpin`, `drain`, `logs`, `endpoints`, `schema`: descriptors; cli/run/services.ts does the work. */
import type { Command } from "commander";
import { lazy } from "./lazy.js";

const run = () => import("../run/services.js");

export function registerServices(program: Command): void {
  program
    .command("services")
    .description("list the services: instances healthy/desired, version, revision")
    .option("-o, --output <format>", "table, json or yaml", "table")
    .addHelpText("after", "\nExample:\n  berth services")
    .action(lazy(run, (m) => m.services));

  program
    .command("status")
    .argument("<name>", "service name")
    .description("each instance of a service: host, state, health, epoch, version, restarts, since")
    .option("-o, --output <format>", "table, json or yaml", "table")
    .addHelpText("after", "\nExample:\n  berth status web")
    .action(lazy(run, (m) => m.status));

  program
    .command("history")
    .argument("<name>", "service name")
    .description("the revisions of a service the controller keeps, newest first, with what each changed")
    .option("-o, --output <format>", "table, json or yaml", "table")
    .addHelpText("after", "\nThe current revision, those instances or `berth rollout undo` still use, and the newest 3 others.\ninstances and update belong to the service, not to a revision: each revision shows the current ones.\n\nExample:\n  berth history web")
    .action(lazy(run, (m) => m.history));

  program
    .command("delete")
    .argument("<name>", "service name")
    .description("stop every instance of a service and remove it")
    .addHelpText("after", "\nExample:\n  berth delete web")
    .action(lazy(run, (m) => m.deleteService));

  for (const verb of ["place", "unpin"] as const) {
    program
      .command(verb)
      .argument("<name>", "service name")
      .requiredOption("--host <id>", "host id, or a unique prefix of one")
      .description(verb === "place" ? "pin an instance of a service to a host (moved health-gated)" : "remove a pin")
      .addHelpText(
        "after",
        (verb === "place"
          ? "\nWhich instance: the one already on that host, else one waiting for a host, else the highest-numbered one not pinned elsewhere.\n"
          : "") + `\nExample:\n  berth ${verb} web --host 3fa9`,
      )
      .action(lazy(run, (m) => (verb === "place" ? m.place : m.unpin)));
  }

  program
    .command("drain")
    .argument("<host>", "host id, or a unique prefix of one")
    .description("move a host's instance to a spare (health-gated), then leave the host cordoned; refused at once if an instance is pinned to the host (`berth unpin` first)")
    .option("--wait", "follow the drain until the host is drained (exit 1 if it is not within --timeout)")
    .option("--timeout <duration>", "with --wait: stop waiting after this long (the drain goes on)", "5m")
    .addHelpText("after", "\nExamples:\n  berth drain 3fa9 && berth status web\n  berth drain 3fa9 --wait --timeout 10m && ssh web-03 reboot")
    .action(lazy(run, (m) => m.drain));

  program
    .command("logs")
    .argument("<name>", "service name")
    .option("--host <id>", "only the instance on this host (where none runs now: what that host kept of the copies that left it, of a deleted service too; see berth agent --keep-logs)")
    .option("-f, --follow", "keep following")
    .option("--tail <n>", "lines of history per instance", "100")
    .option("--install", "the install output instead of the service's (a slot waiting after failed installs: the last failed one per host, with step and exit code)")
    .option("--raw", "on a terminal too, print the output as written, escape sequences included")
    .description("show (and follow) a service's output; piped, as written (UTF-8 text); on a terminal, control characters escaped (see --raw)")
    .addHelpText("after", "\nExamples:\n  berth logs web -f\n  berth logs web --install --host 3fa9\n  berth logs web -f --raw    # let the service's colours through")
    .action(lazy(run, (m) => m.logs));

  program
    .command("endpoints")
    .argument("<name>", "service name")
    .option("-w, --watch", "keep following: print the whole list on every change")
    .option("-o, --output <format>", "table, json or yaml (with -w, json prints one list per line)", "table")
    .description("the instances in service (healthy for minHealthyTime) as address:port")
    .addHelpText("after", "\nExamples:\n  berth endpoints web\n  berth endpoints web -w -o json | my-lb-reloader")
    .action(lazy(run, (m) => m.endpoints));

  program
    .command("schema")
    .description("print the JSON Schema of service spec files (for editors)")
    .option("-o, --output <format>", "json or yaml", "json")
    .addHelpText("after", "\nExample:\n  berth schema > berth-service.schema.json")
    .action(lazy(run, (m) => m.schema));
}
