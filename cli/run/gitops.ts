/** What `berth gitops …` does (descriptors: cli/commands/gitops.ts). Credentials are named berth secrets, never flags' values. */
import type { Command } from "commander";
import type { GitopsSourceView__Output } from "../../shared/gen/berth/v1/GitopsSourceView.js";
import type { GitopsCommit__Output } from "../../shared/gen/berth/v1/GitopsCommit.js";
import { call } from "../client.js";
import { CliError, EXIT } from "../errors.js";
import { colour, parseFormat, printData, table, txt, type Styled } from "../output.js";
import { parseDurationFlag } from "../duration-flag.js";
import { MAX_INTERVAL_MS, MIN_INTERVAL_MS } from "../../shared/gitops-limits.js";
import { formatDurationMs } from "../../shared/duration.js";
import { globalsOf, withApi } from "./common.js";
import { readFile } from "node:fs/promises";
import { checkKnownHosts, sshHostOf } from "../../controller/gitops/known-hosts.js";
import { checkCaPem } from "../../controller/gitops/validate.js";

/** A flag's file, read and checked here so that errors name it (file:line); the controller checks the text again. */
async function flagFile(flag: string, file: string | undefined, check: (text: string) => string[]): Promise<string> {
  if (file === undefined) return "";
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    throw new CliError(`${flag} ${file}: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (e as Error).message}`, EXIT.usage);
  }
  const errors = check(text);
  if (errors.length) throw new CliError(errors.join("\n"), EXIT.usage);
  return text;
}

interface AddOpts {
  repo: string;
  branch: string;
  path: string;
  env?: string;
  interval: string;
  prune?: boolean;
  selfHeal?: boolean;
  tokenSecret?: string;
  username?: string;
  passwordSecret?: string;
  sshKeySecret?: string;
  webhookSecret?: string;
  knownHosts?: string;
  caFile?: string;
  output: string;
}

const when = (ms: number): string => (ms ? new Date(ms).toISOString().replace(/\.\d+Z$/, "Z") : "-");
const short = (c: string): string => (c ? c.slice(0, 12) : "-");

function authOf(o: AddOpts): { auth_kind: string; username: string; auth_secret: string } {
  const given = [o.tokenSecret && "--token-secret", o.passwordSecret && "--password-secret", o.sshKeySecret && "--ssh-key-secret"].filter(Boolean);
  if (given.length > 1) throw new CliError(`${given.join(" and ")}: give one credential`, EXIT.usage);
  if (o.tokenSecret) return { auth_kind: "token", username: o.username ?? "", auth_secret: o.tokenSecret };
  if (o.passwordSecret) {
    if (!o.username) throw new CliError("--password-secret needs --username", EXIT.usage);
    return { auth_kind: "basic", username: o.username, auth_secret: o.passwordSecret };
  }
  if (o.sshKeySecret) return { auth_kind: "ssh", username: "", auth_secret: o.sshKeySecret };
  if (o.username) throw new CliError("--username goes with --password-secret or --token-secret", EXIT.usage);
  return { auth_kind: "none", username: "", auth_secret: "" };
}

export async function gitopsAdd(name: string, o: AddOpts, cmd: Command): Promise<void> {
  const format = parseFormat(o.output);
  const interval_ms = parseDurationFlag("--interval", o.interval, { minMs: MIN_INTERVAL_MS, max: formatDurationMs(MAX_INTERVAL_MS) });
  const auth = authOf(o);
  if (o.knownHosts !== undefined && auth.auth_kind !== "ssh") throw new CliError("--known-hosts goes with --ssh-key-secret", EXIT.usage);
  const known_hosts = await flagFile("--known-hosts", o.knownHosts, (t) => checkKnownHosts(t, sshHostOf(o.repo.trim()), o.knownHosts));
  const ca_pem = await flagFile("--ca-file", o.caFile, (t) => checkCaPem(t, o.caFile));
  const req = { name, repo: o.repo, branch: o.branch, path: o.path, env: o.env ?? "", interval_ms, prune: Boolean(o.prune), self_heal: Boolean(o.selfHeal), ...auth, webhook_secret: o.webhookSecret ?? "", known_hosts, ca_pem };
  await withApi(globalsOf(cmd), async (api) => {
    const v = await call(api, api.client.AddGitopsSource, req);
    if (printData(format, v)) return;
    console.log(`gitops source ${name} added: the leader fetches ${o.repo} ${o.branch} now and every ${formatDurationMs(interval_ms)}; \`berth gitops status ${name}\` shows what it applied`);
  });
}

function state(v: GitopsSourceView__Output): string {
  if (v.suspended) return "suspended";
  if (v.fetch_error) return "fetch failing";
  const la = v.last_attempted;
  if (la && la.errors.length && la.commit !== v.last_applied?.commit) return "commit invalid";
  if (v.drift.length) return "drift";
  if (!v.last_applied) return "pending";
  return v.head && v.head !== v.last_applied.commit ? "syncing" : "in sync";
}

export async function gitopsList(o: { output: string }, cmd: Command): Promise<void> {
  const format = parseFormat(o.output);
  await withApi(globalsOf(cmd), async (api) => {
    const res = await call(api, api.client.ListGitopsSources, {});
    if (printData(format, res.sources)) return;
    if (!res.sources.length) return console.log("no gitops sources: `berth gitops add NAME --repo URL` follows one");
    console.log(
      table(
        ["NAME", "REPO", "BRANCH:PATH", "APPLIED", "STATE", "SERVICES"],
        res.sources.map((v) => [v.source?.name ?? "", v.source?.repo ?? "", `${v.source?.branch ?? ""}:${v.source?.path || "."}`, short(v.last_applied?.commit ?? ""), state(v), String(v.owned.length)]),
      ),
    );
  });
}

/** Author, subject and errors come from the repository: untrusted text, sanitized by txt. */
function commitLines(label: string, c: GitopsCommit__Output | null): Styled[] {
  if (!c) return [txt`${label}: -`];
  const out = [txt`${label}: ${c.commit} at ${when(Number(c.at_ms))} by ${c.author || "?"}${c.subject ? ` — ${c.subject}` : ""}`];
  for (const r of c.rollouts) out.push(txt`  rollout ${r.service} ${r.from_revision} → ${r.to_revision} (berth rollout status ${r.service})`);
  for (const e of c.errors) out.push(txt`  ${colour("red", "!")} ${e}`);
  return out;
}

export async function gitopsStatus(name: string, o: { output: string }, cmd: Command): Promise<void> {
  const format = parseFormat(o.output);
  await withApi(globalsOf(cmd), async (api) => {
    const v = await call(api, api.client.GetGitopsSource, { name });
    if (printData(format, v)) return;
    const s = v.source;
    console.log(txt`${name}: ${s?.repo ?? ""} ${s?.branch ?? ""}:${s?.path || "."}${s?.env ? ` env ${s.env}` : ""}, every ${formatDurationMs(Number(s?.interval_ms ?? 0))}${s?.prune ? ", prune" : ""}${s?.self_heal ? ", self-heal" : ""}${s?.auth_kind && s.auth_kind !== "none" ? `, ${s.auth_kind} auth (secret ${s.auth_secret})` : ""}${s?.known_hosts ? `, ${s.known_hosts.split("\n").filter((l) => l.trim() && !l.trim().startsWith("#")).length} known host key(s)` : ""}${s?.ca_pem ? ", own CA" : ""}`);
    // fetched_at_ms is when the head was first seen (or the fetch last failed), not the last poll: said so.
    console.log(txt`state: ${state(v)}; head ${short(v.head)}, ${v.fetch_error ? "last fetch failed at" : "the branch's head since"} ${when(Number(v.fetched_at_ms))}`);
    if (v.fetch_error) console.log(txt`${colour("red", "!")} fetch: ${v.fetch_error}`);
    for (const l of commitLines("last applied", v.last_applied)) console.log(l);
    if (v.last_attempted && v.last_attempted.commit !== v.last_applied?.commit) {
      for (const l of commitLines("last attempted", v.last_attempted)) console.log(l);
      if (v.attempts) console.log(`  attempt ${v.attempts}; next at ${when(Number(v.retry_at_ms))} (or at once on a new commit)`);
    }
    console.log(txt`owns: ${v.owned.join(", ") || "-"}`);
    if (v.drift.length) console.log(txt`${colour("yellow", "~")} drift since ${when(Number(v.drift_since_ms))}: ${v.drift.join(", ")} changed by hand${s?.self_heal ? "" : " (not reverted: no --self-heal)"}`);
    if (v.unpruned.length) console.log(txt`${colour("yellow", "!")} removed from the repository, not deleted: ${v.unpruned.join(", ")}${s?.prune ? "" : " (no --prune)"}`);
  });
}

const simple = (method: "suspend" | "resume" | "sync" | "remove") => async (name: string, _o: unknown, cmd: Command): Promise<void> => {
  await withApi(globalsOf(cmd), async (api) => {
    if (method === "suspend" || method === "resume") {
      await call(api, api.client.SetGitopsSuspended, { name, suspended: method === "suspend" });
      console.log(`gitops source ${name} ${method === "suspend" ? "suspended" : "resumed"}`);
    } else if (method === "sync") {
      await call(api, api.client.SyncGitopsSource, { name });
      console.log(`sync of ${name} requested; \`berth gitops status ${name}\` shows what it applied`);
    } else {
      const v = await call(api, api.client.RemoveGitopsSource, { name });
      console.log(`gitops source ${name} removed; its ${v.owned.length} service(s) stay as they are`);
    }
  });
};

export const gitopsSuspend = simple("suspend");
export const gitopsResume = simple("resume");
export const gitopsSync = simple("sync");
export const gitopsRemove = simple("remove");
