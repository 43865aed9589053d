/** `berth dev`: descriptor; cli/run/dev.ts does the work. */
import type { Command } from "commander";
import { DEFAULT_PORT } from "../../shared/addr.js";
import { lazy } from "./lazy.js";

export function registerDev(program: Command): void {
  program
    .command("dev")
    .description("run a local fleet: a controller and N agents on this machine (127.0.0.2 …)")
    .option("--hosts <n>", "how many agents", "3")
    .option("--controllers <n>", "1: one controller on LevelDB; 3 (or 5): a controller group on a local etcd cluster of as many members (Debian's etcd-server)", "1")
    .option("--data-dir <dir>", "where everything is kept", ".berth")
    .option("--port <port>", "the controller's port on 127.0.0.1", String(DEFAULT_PORT))
    .option("--metrics-port <port>", 'the controller serves /metrics on 127.0.0.1:PORT, each agent on its own 127.0.0.x:PORT+1 ("off" disables)', "9464")
    .option("--ui-port <port>", 'the controller serves the web console at https://127.0.0.1:PORT/, a group\'s members at PORT, PORT+1, … ("off" disables; default: the port after the controllers\', 7421 for one, 7423 for a group of 3)')
    .option("--etcd-port <port>", "a group's etcd members take client ports PORT, PORT+1, … and peer ports PORT+10, PORT+11, … on 127.0.0.1", "22379")
    .option("--log-level <level>", "of the processes it starts (their logs go to <data-dir>/logs/)", "info")
    .option("--environment <name>", "the environment its controller serves (berth controller --environment): specs rendered for another are refused")
    .option("--cert-ttl <duration>", "lifetime of the host certificates (the controller's --cert-ttl); agents renew at about 2/3 of it", "30d")
    .addHelpText(
      "after",
      "\nCtrl-C, SIGINT or SIGTERM stops every process it started. One fleet per --data-dir: while one runs\n" +
        "(<data-dir>/dev.pid names it, as JSON: {\"pid\":…,\"addr\":…}), another `berth dev` on that dir exits with code 1, naming it.\n" +
        "\nExample:\n  berth dev --hosts 5\n  berth dev --controllers 3 --hosts 5   # a group on etcd: controllers on ports 7420-7422, consoles 7423-7425, etcd 22379-22381\n  # in another terminal:\n  berth hosts\n  curl -s http://127.0.0.1:9464/metrics | grep ^berth_hosts",
    )
    .action(lazy(() => import("../run/dev.js"), (m) => m.dev));
}
