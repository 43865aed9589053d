/**
 * `berth agent install`: sets a server up to run the agent under systemd.
 * Writes /etc/berth/agent.yaml (0600: it holds the join token until the agent
 * has joined), /etc/systemd/system/berth-agent.service and /var/lib/berth, then
 * enables and starts the unit where systemd runs. --prefix roots every path under
 * a folder (for tests and image builds); --dry-run prints what it would write.
 */
import { existsSync } from "node:fs";
import { chmod, mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { execFileSync } from "node:child_process";
import { stringify } from "yaml";
import { formatMemberList, parseMemberList } from "../../shared/members.js";
import { parseLabels, LabelError } from "../../shared/labels.js";
import { parseToken } from "../../shared/token-format.js";
import { CliError, EXIT } from "../errors.js";
import { joinToken } from "../join-token.js";
import { berthMain } from "../self.js";

export interface PlannedFile {
  path: string;
  mode: number;
  content: string;
}

export interface InstallPlan {
  files: PlannedFile[];
  dirs: { path: string; mode: number }[];
}

/** Pure: what an install writes, given where berth's entry point lives. */
export function planAgentInstall(o: {
  /** Every member of the controller group (one for a single controller), HOST:PORT each. */
  controllers: readonly string[];
  token: string;
  labels: Record<string, string>;
  advertiseAddr?: string;
  /** Services with run.user: root may run on this host (agent.yaml allowRoot); written only when true. */
  allowRoot?: boolean;
  prefix: string;
  nodePath: string;
  berthMain: string;
}): InstallPlan {
  const p = (path: string): string => (o.prefix ? join(o.prefix, path) : path);
  const dataDir = "/var/lib/berth/agent";
  const config: Record<string, unknown> = { controller: formatMemberList(o.controllers), token: o.token, dataDir, logLevel: "info" };
  if (Object.keys(o.labels).length) config.labels = o.labels;
  if (o.advertiseAddr) config.advertiseAddr = o.advertiseAddr;
  if (o.allowRoot) config.allowRoot = true;
  const unit = `[Unit]
Description=berth agent: runs this host's share of the fleet
Documentation=https://github.com/berth/berth#installing-an-agent-on-a-server
After=network-online.target
Wants=network-online.target

[Service]
ExecStart=${o.nodePath} ${o.berthMain} agent --config /etc/berth/agent.yaml
Restart=always
RestartSec=2
# Stop only the agent: the services it supervises keep running across an agent
# restart or upgrade, and the agent re-adopts them when it comes back.
KillMode=process
LimitNOFILE=65536
Environment=NODE_ENV=production

[Install]
WantedBy=multi-user.target
`;
  return {
    dirs: [
      { path: p("/etc/berth"), mode: 0o755 },
      // Passable (x), not readable: services run as their own users (berth-<service>) and
      // must reach their working dirs and homes below; what is secret below is 0700 itself
      // (identity/, install/). The agent makes its data dir 0711 at start as well.
      { path: p("/var/lib/berth"), mode: 0o711 },
      { path: p(dataDir), mode: 0o711 },
      { path: p("/etc/systemd/system"), mode: 0o755 },
    ],
    files: [
      { path: p("/etc/berth/agent.yaml"), mode: 0o600, content: "# written by berth agent install\n" + stringify(config) },
      { path: p("/etc/systemd/system/berth-agent.service"), mode: 0o644, content: unit },
    ],
  };
}

const berthMainPath = berthMain;

export async function agentInstall(o: { controller: string; token?: string; tokenFile?: string; labels?: string; advertiseAddr?: string; allowRoot?: boolean; prefix: string; dryRun?: boolean }): Promise<void> {
  let controllers: string[];
  try {
    controllers = parseMemberList(o.controller);
  } catch (e) {
    throw new CliError(`--controller: ${(e as Error).message}`, EXIT.usage);
  }
  const got = await joinToken({ flag: o.token, flagFile: o.tokenFile, env: process.env.BERTH_JOIN_TOKEN });
  if (!got) throw new CliError("no join token: give --token-file PATH or set BERTH_JOIN_TOKEN (berth token create --role agent makes one)", EXIT.usage);
  const token = got.token;
  let kind: string;
  try {
    kind = parseToken(token).kind;
  } catch (e) {
    throw new CliError(`${got.from}: ${(e as Error).message}`, EXIT.usage);
  }
  if (kind !== "join") throw new CliError(`${got.from}: this is an operator token; make a join token with \`berth token create --role agent\``, EXIT.usage);
  let labels: Record<string, string> = {};
  try {
    labels = o.labels ? parseLabels(o.labels) : {};
  } catch (e) {
    throw new CliError(e instanceof LabelError ? `--labels: ${e.message}` : String(e), EXIT.usage);
  }
  const plan = planAgentInstall({ controllers, token, labels, advertiseAddr: o.advertiseAddr, allowRoot: o.allowRoot === true, prefix: o.prefix, nodePath: process.execPath, berthMain: berthMainPath() });
  if (o.dryRun) {
    for (const d of plan.dirs) console.log(`mkdir ${d.path} (mode ${d.mode.toString(8)})`);
    for (const f of plan.files) console.log(`\n--- ${f.path} (mode ${f.mode.toString(8)})\n${f.content}`);
    return;
  }
  await carryOut(plan, o.prefix, "berth-agent.service", "systemd is not running here: start the agent with\n  berth agent --config /etc/berth/agent.yaml");
}

/**
 * Writes what an install plan says (folders and files with their modes), then
 * enables and starts its unit where systemd runs (`berth agent install`, `berth lb
 * install`); under --prefix or without systemd, says how to start it instead.
 */
export async function carryOut(plan: InstallPlan, prefix: string, unit: string, withoutSystemd: string): Promise<void> {
  for (const d of plan.dirs) {
    await mkdir(d.path, { recursive: true, mode: d.mode });
    await chmod(d.path, d.mode);
  }
  for (const f of plan.files) {
    await writeFile(f.path, f.content, { mode: f.mode });
    await chmod(f.path, f.mode);
    console.log(`wrote ${f.path}`);
  }
  // systemd runs when /run/systemd/system exists (sd_booted(3)); never touch it under --prefix.
  if (!prefix && existsSync("/run/systemd/system")) {
    execFileSync("systemctl", ["daemon-reload"], { stdio: "inherit" });
    execFileSync("systemctl", ["enable", "--now", unit], { stdio: "inherit" });
    console.log(`${unit} enabled and started: \`journalctl -u ${unit.replace(/\.service$/, "")} -f\` shows its log`);
  } else {
    console.log(prefix ? "--prefix given: systemd left alone" : withoutSystemd);
  }
}
