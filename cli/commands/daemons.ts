/** `berth controller`, `berth agent`, `berth agent install`: descriptors; cli/run/ does the work, loading a daemon's world only when it runs. */
import type { Command } from "commander";
import { DEFAULT_PORT } from "../../shared/addr.js";
import { lazy } from "./lazy.js";

export const DEFAULT_CONTROLLER_METRICS = "127.0.0.1:9464";
export const DEFAULT_AGENT_METRICS = "127.0.0.1:9465";

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
    .option("--heartbeat-interval <duration>", "how often agents report", "1s")
    .option("--ttl <duration>", "a host is down after this long without a heartbeat", "5s")
    .option("--grace <duration>", "after a start, how long a known host may take to reconnect before it is judged (default: the --ttl)")
    .option("--failover-guard <share>", "pause failover when this share of the ready hosts goes down within one TTL (1 = never)", "0.5")
    .option("--metrics-addr <host:port>", 'serve Prometheus metrics at http://HOST:PORT/metrics ("off" disables)', DEFAULT_CONTROLLER_METRICS)
    .option("--hooks-addr <host:port>", "serve GitOps webhooks (POST /hooks/gitops/NAME, HMAC-signed) over plain HTTP here (default: off)")
    .option("--log-level <level>", "trace, debug, info, warn, error", "info")
    .option("--no-write-config", "don't write the admin client config for this user on first start")
    .option("--secrets-key-file <file>", "the key secrets are encrypted with: 32 bytes or 64 hex characters, mode 0600 (default: <data-dir>/secrets.key, made on first start; a controller group shares one)")
    .addHelpText(
      "after",
      "\nExamples:\n  berth controller --data-dir /var/lib/berth/controller --listen 10.0.0.5:7420\n" +
        "  berth controller --store etcd://10.0.0.5:2379,10.0.0.6:2379,10.0.0.7:2379 --etcd-ca etcd-ca.crt --etcd-cert etcd-client.crt --etcd-key etcd-client.key",
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
    .option("--prefix <dir>", "root every path under this folder (tests, image builds)", "")
    .option("--dry-run", "print every file it would write, and write nothing")
    .addHelpText("after", "\nExamples:\n  sudo berth agent install --controller 10.0.0.5:7420 --token-file ./join.token --labels dc=dc1\n  sudo BERTH_JOIN_TOKEN=bj1.… berth agent install --controller 10.0.0.5:7420")
    .action(lazy(() => import("../run/agent-install.js"), (m) => m.agentInstall));
}
