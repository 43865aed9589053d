/** `berth controller`, `berth agent`, `berth agent install`: descriptors; cli/run/ does the work, loading a daemon's world only when it runs. */
import type { Command } from "commander";
import { DEFAULT_PORT } from "../../shared/addr.js";
import { lazy } from "./lazy.js";

export const DEFAULT_CONTROLLER_METRICS = "127.0.0.1:9464";
export const DEFAULT_AGENT_METRICS = "127.0.0.1:9465";
export const DEFAULT_CONTROLLER_UI = "127.0.0.1:7421";

const run = () => import("../run/daemons.js");

export function registerDaemons(program: Command): void {
  program
    .command("controller")
    .description("run a controller: the fleet's desired state, its store and its API")
    .option("--data-dir <dir>", "where the store, CA and admin token live", "/var/lib/berth/controller")
    .option("--listen <host:port>", "address for agents and operators", `0.0.0.0:${DEFAULT_PORT}`)
    .option("--store <url>", "where the state lives: a directory (LevelDB) or etcd://HOST:PORT,HOST:PORT,… (default: <data-dir>/store)")
    .option("--etcd-ca <file>", "PEM CA of a TLS etcd's member certificates")
    .option("--etcd-cert <file>", "PEM client certificate for an etcd with --client-cert-auth")
    .option("--etcd-key <file>", "PEM key of --etcd-cert")
    .option("--name <id>", "this member's name in a controller group on etcd (default: its --advertise address)")
    .option("--advertise <host:port>", "where agents and operators reach this member, as `berth controllers` shows it (default: --listen, with this host's name for 0.0.0.0)")
    .option("--lease <duration>", "a group's leader election lease: a leader lost without a word is succeeded within it", "3s")
    .option("--heartbeat-interval <duration>", "how often agents report", "1s")
    .option("--ttl <duration>", "a host is down after this long without a heartbeat", "5s")
    .option("--grace <duration>", "after a start, how long a known host may take to reconnect before it is judged (default: the --ttl)")
    .option("--failover-guard <share>", "pause failover when this share of the ready hosts goes down within one TTL (1 = never)", "0.5")
    .option("--metrics-addr <host:port>", 'serve Prometheus metrics at http://HOST:PORT/metrics ("off" disables)', DEFAULT_CONTROLLER_METRICS)
    .option("--ui-addr <host:port>", 'serve the web console at https://HOST:PORT/ with the controller\'s certificate ("off" disables)', DEFAULT_CONTROLLER_UI)
    .option("--hooks-addr <host:port>", "serve GitOps webhooks (POST /hooks/gitops/NAME, HMAC-signed) over plain HTTP here (default: off)")
    .option("--front <kind>", "who ends TLS and HTTP/2 on --listen: haproxy (Debian's HAProxy, run by the controller as its child, carries every call to it over a Unix socket in the data dir: ~40 % less memory an agent for more CPU; limits in the README), or none (default: this process)", "none")
    .option("--log-level <level>", "trace, debug, info, warn, error", "info")
    .option("--no-write-config", "don't write the admin client config for this user on first start")
    .option("--environment <name>", "the environment this controller serves, e.g. prod: specs rendered for another (berth apply --env staging) are refused; berth hosts and services show it (default: any)")
    .option("--cert-ttl <duration>", "lifetime of the host certificates it issues; agents renew them at about 2/3 of it (10s to 365d)", "30d")
    .option("--secrets-key-file <file>", "the key secrets are encrypted with: 32 bytes or 64 hex characters, mode 0600 (default: <data-dir>/secrets.key, made on first start; a controller group shares one)")
    .addHelpText(
      "after",
      "\nExamples:\n  berth controller --data-dir /var/lib/berth/controller --listen 10.0.0.5:7420\n" +
        "  berth controller --store etcd://10.0.0.5:2379,10.0.0.6:2379,10.0.0.7:2379 --etcd-ca etcd-ca.crt --etcd-cert etcd-client.crt --etcd-key etcd-client.key\n" +
        "\nEnvironment:\n  BERTH_MALLOC  auto (default: jemalloc where Debian's libjemalloc2 is installed, a sixth less memory an agent), jemalloc (or exit 2), glibc",
    )
    .action(lazy(run, (m) => m.controller));

  const agent = program
    .command("agent")
    .description("run an agent: join a controller once, then report this host and run what it is assigned")
    // `agent install` has flags of the same names: the agent's own apply only before it.
    .enablePositionalOptions()
    .option("--controller <host:port,...>", "the controller, or every member of a controller group, e.g. a:7420,b:7420,c:7420 (later runs reconnect to the members joined with)")
    .option("--token-file <path>", "a file holding the join token (berth token create --role agent); needed only the first time. Or set BERTH_JOIN_TOKEN")
    .option("--token <token>", "the join token itself: deprecated, as every local user can read argv (ps); use --token-file or BERTH_JOIN_TOKEN")
    .option("--data-dir <dir>", "where the identity and service data live", "/var/lib/berth/agent")
    .option("--labels <k=v,...>", "labels for placement constraints, e.g. dc=dc1,rack=r7")
    .option("--advertise-addr <ip>", "the address services on this host are reached at (default: as the controller sees it)")
    .option("--config <file>", "read these settings from a YAML file (berth agent install writes /etc/berth/agent.yaml)")
    .option("--metrics-addr <host:port>", 'serve Prometheus metrics at http://HOST:PORT/metrics ("off" disables)', DEFAULT_AGENT_METRICS)
    .option("--log-level <level>", "trace, debug, info, warn, error", "info")
    .option("--stop-services-on-exit", "stop the service when the agent stops (default: it keeps running and is re-adopted)")
    .option("--rejoin", "join again with a join token, keeping this host's id (its certificate expired while the agent was off)")
    .option("--allow-root", "let services with run.user: root run on this host (applied by an admin); agent.yaml: allowRoot: true. Default: every service runs unprivileged, as its own system user berth-<service>")
    .option("--keep-artifacts <n>", "artifacts kept on this host besides the one it runs, the most recently used (for a quick undo); older ones, and what was installed in them, are removed after each change; agent.yaml: keepArtifacts (default 2)")
    .option("--keep-logs <n>", "instances that left this host whose output files are kept in DATA_DIR/logs (berth logs NAME --host shows them), the most recently written; older ones are removed when an instance leaves or a new one or a new artifact starts, and at start; agent.yaml: keepLogs (default 5)")
    .addHelpText("after", "\nExamples:\n  berth agent --controller 10.0.0.5:7420 --token-file ./join.token --data-dir /var/lib/berth/agent --labels dc=dc1\n  BERTH_JOIN_TOKEN=bj1.… berth agent --controller 10.0.0.5:7420")
    .action(lazy(run, (m) => m.agent));

  agent
    .command("install")
    .description("install the agent on this server as a systemd service")
    .requiredOption("--controller <host:port,...>", "the controller to join, or every member of a controller group: a:7420,b:7420,c:7420")
    .option("--token-file <path>", "a file holding the join token (berth token create --role agent); or set BERTH_JOIN_TOKEN")
    .option("--token <token>", "the join token itself: deprecated, as every local user can read argv (ps)")
    .option("--labels <k=v,...>", "labels for placement, e.g. dc=dc1,rack=r7")
    .option("--advertise-addr <ip>", "the address services on this host are reached at")
    .option("--allow-root", "let services with run.user: root run on this host (applied by an admin): writes allowRoot: true into agent.yaml. Default: every service runs unprivileged, as its own system user berth-<service>")
    .option("--prefix <dir>", "root every path under this folder (tests, image builds)", "")
    .option("--dry-run", "print every file it would write, and write nothing")
    .addHelpText("after", "\nExamples:\n  sudo berth agent install --controller 10.0.0.5:7420 --token-file ./join.token --labels dc=dc1\n  sudo BERTH_JOIN_TOKEN=bj1.… berth agent install --controller 10.0.0.5:7420")
    .action(lazy(() => import("../run/agent-install.js"), (m) => m.agentInstall));
}
