/** `berth gitops add | list | status | suspend | resume | sync | remove`: descriptors; cli/run/gitops.ts does the work. */
import type { Command } from "commander";
import { lazy } from "./lazy.js";

const run = () => import("../run/gitops.js");

export function registerGitops(program: Command): void {
  const g = program.command("gitops").description("follow git repositories: each commit validated whole and applied as one apply (the leader does it)");
  g.command("add <name>")
    .description("follow a repository's branch and folder")
    .requiredOption("--repo <url>", "https://… or ssh://… (or user@host:path); never with credentials in it")
    .option("--branch <branch>", "the branch to follow", "main")
    .option("--path <dir>", "the fleet folder in the repository", ".")
    .option("--env <env>", "the environment overlay to apply (envs/<env>.yaml)")
    .option("--interval <duration>", "how often to fetch (at least 5s); a webhook syncs at once", "1m")
    .option("--prune", "delete services this source created once they are removed from the repository")
    .option("--self-heal", "revert hand changes (apply, place, delete) to the services it owns")
    .option("--token-secret <secret>", "HTTPS: a berth secret holding a token (sent as basic auth)")
    .option("--username <user>", "HTTPS: the username for --password-secret (or --token-secret; default x-access-token)")
    .option("--password-secret <secret>", "HTTPS: a berth secret holding the password for --username")
    .option("--ssh-key-secret <secret>", "SSH: a berth secret holding a deploy key")
    .option("--known-hosts <file>", "SSH: the server's host keys (known_hosts format, e.g. from ssh-keyscan); required with --ssh-key-secret, never learnt on first use")
    .option("--ca-file <file>", "HTTPS: PEM certificates to trust besides the system's CAs (a private git server's CA)")
    .option("--webhook-secret <secret>", "a berth secret holding the webhook's HMAC key (POST /hooks/gitops/NAME on --hooks-addr)")
    .option("-o, --output <format>", "table, json or yaml", "table")
    .addHelpText(
      "after",
      "\nExamples:\n  berth secret set gh-token --from-file ./token\n  berth gitops add prod --repo https://github.com/acme/fleet.git --path fleet/ --env prod --token-secret gh-token --prune --self-heal\n  ssh-keyscan git.acme.io > edge.known_hosts   # compare with the fingerprint your git host publishes\n  berth gitops add edge --repo git@git.acme.io:ops/edge.git --ssh-key-secret edge-deploy-key --known-hosts edge.known_hosts --interval 30s",
    )
    .action(lazy(run, (m) => m.gitopsAdd));
  g.command("list")
    .alias("ls")
    .description("every source: its commit applied, and what is wrong")
    .option("-o, --output <format>", "table, json or yaml", "table")
    .addHelpText("after", "\nExample:\n  berth gitops list -o json")
    .action(lazy(run, (m) => m.gitopsList));
  g.command("status <name>")
    .description("last attempted and applied commits (when, by whom, the rollouts they started), errors, drift, unpruned services")
    .option("-o, --output <format>", "table, json or yaml", "table")
    .addHelpText("after", "\nExample:\n  berth gitops status prod")
    .action(lazy(run, (m) => m.gitopsStatus));
  g.command("suspend <name>")
    .description("stop fetching and applying (hand changes are then not reverted either)")
    .addHelpText("after", "\nExample:\n  berth gitops suspend prod")
    .action(lazy(run, (m) => m.gitopsSuspend));
  g.command("resume <name>").description("follow the repository again").addHelpText("after", "\nExample:\n  berth gitops resume prod").action(lazy(run, (m) => m.gitopsResume));
  g.command("sync <name>").description("fetch and apply now, not at the next interval").addHelpText("after", "\nExample:\n  berth gitops sync prod").action(lazy(run, (m) => m.gitopsSync));
  g.command("remove <name>")
    .alias("rm")
    .description("stop following; the services it applied stay as they are, owned by nobody")
    .addHelpText("after", "\nExample:\n  berth gitops remove prod")
    .action(lazy(run, (m) => m.gitopsRemove));
}
