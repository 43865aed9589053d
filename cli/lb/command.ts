/**
 * `berth lb haproxy|nginx|install`: flags and help only. Each action imports its
 * implementation when it runs, so no other command loads the load balancer code.
 */
import type { Command } from "commander";
import { DEFAULT_LB_METRICS_ADDR } from "./defaults.js";
// Types only: erased at build, so this module does not load run.js or install-cmd.js.
import type { HaproxyFlags, NginxFlags } from "./run.js";
import type { InstallFlags } from "./install-cmd.js";

const COMMON_HELP = `
The process follows \`berth endpoints SERVICE -w\` through the controller(s) in
--addr / BERTH_ADDR (a comma-separated list: any controller of a group), with the
token in BERTH_TOKEN (an lb token: \`berth token create --role lb\`). A lost watch,
a refused command or a failed check leaves the load balancer as it is; it retries.`;

/**
 * `lb haproxy` and `lb nginx` under `lb`, each running `run` with its flags (the global
 * ones merged under its own). `berth lb install` defines them again with a run that only
 * checks, to refuse a unit that could never start.
 */
export function defineLbKinds(lb: Command, run: { haproxy: (f: HaproxyFlags) => Promise<void>; nginx: (f: NginxFlags) => Promise<void> }): void {
  const common = (c: Command): Command =>
    c
      .requiredOption("--service <name>", "the service whose endpoints to follow")
      .option("--name <name>", "this load balancer's name in `berth endpoints` (default: the hostname)")
      .option("--port <port>", "the port to send traffic to (default: the service's health check port)")
      .option("--server-options <text>", 'appended to every server line, e.g. "maxconn 100" or "max_fails=0"')
      .option("--metrics-addr <host:port>", 'serve Prometheus metrics at http://HOST:PORT/metrics ("off" disables)', DEFAULT_LB_METRICS_ADDR)
      .option("--log-level <level>", "trace, debug, info, warn, error", "info");

  common(lb.command("haproxy"))
    .description("keep an HAProxy backend's servers in step, live through the runtime API (no reload)")
    .requiredOption("--backend <name>", "the backend whose servers berth owns")
    .requiredOption("--socket <path>", "HAProxy's admin socket (stats socket PATH level admin)")
    .option("--config <file>", "also keep the backend's server lines in this file, so a restart of HAProxy has them")
    .addHelpText("after", `${COMMON_HELP}\n\nExample:\n  berth lb haproxy --service web --backend app --socket /run/haproxy/admin.sock --config /etc/haproxy/haproxy.cfg`)
    // With the global flags (`berth --addr h:7420 lb haproxy …`), the command's own winning.
    .action((_o: HaproxyFlags, cmd: Command) => run.haproxy({ ...cmd.parent?.parent?.opts(), ...cmd.opts<HaproxyFlags>() }));

  common(lb.command("nginx"))
    .description("render an nginx upstream file, check it with nginx -t, reload (debounced)")
    .requiredOption("--upstream-file <file>", "the file to write (include it in nginx's http block)")
    .option("--upstream <name>", "the upstream block's name (default: the service name, - as _)")
    .option("--nginx-config <file>", "nginx's main config, for nginx -t -c and nginx -s reload -c")
    .option("--nginx-bin <path>", "the nginx binary", "nginx")
    .option("--reload-cmd <command>", "run with /bin/sh -c instead of nginx -s reload")
    .option("--wait <min[:max]>", "apply once changes are quiet for MIN, at most MAX after the first (default MAX: 4 x MIN)", "500ms:2s")
    .addHelpText("after", `${COMMON_HELP}\n\nExample:\n  berth lb nginx --service web --upstream-file /etc/nginx/conf.d/web-upstream.conf`)
    .action((_o: NginxFlags, cmd: Command) => run.nginx({ ...cmd.parent?.parent?.opts(), ...cmd.opts<NginxFlags>() }));
}

export function registerLb(program: Command): void {
  const lb = program.command("lb").description("keep a load balancer (HAProxy, nginx) in step with a service's endpoints");
  defineLbKinds(lb, {
    haproxy: async (f) => (await import("./run.js")).runHaproxy(f),
    nginx: async (f) => (await import("./run.js")).runNginx(f),
  });

  lb.command("install")
    .description("install `berth lb` on this load balancer host as a systemd service")
    .requiredOption("--controller <host:port[,host:port…]>", "the controller(s) to follow")
    .option("--token-file <path>", "a file holding the lb token (berth token create --role lb); or set BERTH_TOKEN")
    .option("--token <token>", "the lb token itself: deprecated, as every local user can read argv (ps)")
    .requiredOption("--ca-file <file>", "the controller's ca.crt")
    .option("--prefix <dir>", "root every path under this folder (tests, image builds)", "")
    .option("--dry-run", "print every file it would write, and write nothing")
    .argument("<lb-args...>", "after --: haproxy|nginx and its flags")
    .addHelpText("after", "\nExample:\n  sudo berth lb install --controller 10.0.0.5:7420 --token-file lb.token --ca-file ca.crt -- \\\n    haproxy --service web --backend app --socket /run/haproxy/admin.sock --config /etc/haproxy/haproxy.cfg")
    .action(async (args: string[], o: InstallFlags) => {
      const { runLbInstall } = await import("./install-cmd.js");
      await runLbInstall(args, o);
    });
}
