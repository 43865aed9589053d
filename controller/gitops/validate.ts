/**
 * `berth gitops add` input, checked at the boundary: each problem names its field.
 * A repository URL never carries credentials (they would be stored, shown and
 * logged): those come from berth secrets.
 */
import { X509Certificate } from "node:crypto";
import { MAX_INTERVAL_MS, MIN_INTERVAL_MS, DEFAULT_INTERVAL_MS, MAX_CA_PEM, SOURCE_NAME, SOURCE_NAME_MESSAGE, type SourceAuth } from "./source.js";
import { checkKnownHosts, sshHostOf } from "./known-hosts.js";

export interface SourceInput {
  name: string;
  repo: string;
  branch: string;
  path: string;
  env: string;
  intervalMs: number;
  authKind: string;
  username: string;
  authSecret: string;
  webhookSecret: string;
  /** SSH: the known_hosts text (required with a deploy key). */
  knownHosts: string;
  /** HTTPS: PEM certificates to trust besides the system's CAs. */
  caPem: string;
}

export type Checked = { ok: true; repo: string; branch: string; path: string; env: string; intervalMs: number; auth: SourceAuth; webhookSecret: string; caPem: string } | { ok: false; errors: string[] };

/** scp-like SSH (git@host:org/repo.git), as git takes it. */
const SCP_LIKE = /^[A-Za-z0-9][A-Za-z0-9._-]*@[A-Za-z0-9][A-Za-z0-9.-]*:[^\s]+$/;
/** A branch name git would take (git check-ref-format, the common rules). */
const BRANCH = /^(?!\/|.*\/\/|.*\/$|.*\.\.|.*@\{|.*\.lock$|-)[A-Za-z0-9._/-]{1,255}$/;
const ENV = /^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)?$/;
const SECRET = /^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/;

/** Whether the URL is SSH (deploy key) rather than HTTP(S). */
export function isSshUrl(repo: string): boolean {
  return repo.startsWith("ssh://") || SCP_LIKE.test(repo);
}

export function checkSource(i: SourceInput): Checked {
  const errors: string[] = [];
  if (!SOURCE_NAME.test(i.name)) errors.push(`name: ${SOURCE_NAME_MESSAGE}`);
  const repo = i.repo.trim();
  let scheme = "";
  // WHATWG URL parsing drops tabs and newlines before it checks, but the string as given is what is stored and fetched.
  // eslint-disable-next-line no-control-regex -- finding control characters is the point
  if (/[\s\x00-\x1f\x7f]/.test(repo)) errors.push("repo: holds a space or control character (a newline?): give the URL alone");
  else if (SCP_LIKE.test(repo)) scheme = "ssh";
  else {
    try {
      const u = new URL(repo);
      scheme = u.protocol.replace(/:$/, "");
      if (!["https", "http", "ssh"].includes(scheme)) errors.push(`repo: ${scheme}:// is not served here: give an https://, http:// or ssh:// URL (or user@host:path)`);
      if (u.password || (u.username && scheme !== "ssh")) errors.push("repo: the URL carries credentials: store them as a berth secret and name it with --token-secret, --password-secret or --ssh-key-secret");
    } catch {
      errors.push("repo: expected an https:// or ssh:// URL, or user@host:path");
    }
  }
  if (repo.length > 2048) errors.push("repo: longer than 2048 characters");
  const branch = i.branch || "main";
  if (!BRANCH.test(branch)) errors.push(`branch: "${branch.slice(0, 64)}" is not a branch name git takes`);
  // Relative, inside the repository: "fleet/", "./fleet", "" (the root).
  const path = i.path.replace(/^\.\/+/, "").replace(/\/+$/, "");
  if (path.startsWith("/") || path.split("/").some((p) => p === "..") || /[\0\n]/.test(path) || path.length > 1024) errors.push("path: expected a folder inside the repository (relative, no ..)");
  if (!ENV.test(i.env)) errors.push("env: expected lowercase letters, digits and '-'");
  const intervalMs = i.intervalMs || DEFAULT_INTERVAL_MS;
  if (intervalMs < MIN_INTERVAL_MS || intervalMs > MAX_INTERVAL_MS) errors.push(`interval: expected ${MIN_INTERVAL_MS / 1000} s to ${MAX_INTERVAL_MS / 3600_000} h`);
  let auth: SourceAuth = { kind: "none" };
  const kind = i.authKind || "none";
  const needSecret = (): void => {
    if (!SECRET.test(i.authSecret)) errors.push(`auth_secret: ${kind} needs the name of a berth secret`);
  };
  switch (kind) {
    case "none":
      if (i.authSecret) errors.push("auth_secret: given without an auth kind");
      break;
    case "token":
      needSecret();
      if (scheme === "ssh") errors.push("auth: a token is for HTTPS repositories; an SSH one takes --ssh-key-secret");
      auth = { kind, username: i.username.slice(0, 256), secret: i.authSecret };
      break;
    case "basic":
      needSecret();
      if (!i.username) errors.push("username: basic auth needs a username");
      if (scheme === "ssh") errors.push("auth: basic auth is for HTTPS repositories; an SSH one takes --ssh-key-secret");
      auth = { kind, username: i.username.slice(0, 256), secret: i.authSecret };
      break;
    case "ssh":
      needSecret();
      if (scheme !== "ssh") errors.push("auth: a deploy key is for ssh:// (or user@host:path) repositories");
      else if (!i.knownHosts.trim()) errors.push("known_hosts: an SSH repository needs its host key (--known-hosts FILE, e.g. from `ssh-keyscan HOST`, checked against the fingerprint your git host publishes): it is never learnt on first use");
      else errors.push(...checkKnownHosts(i.knownHosts, sshHostOf(repo)));
      auth = { kind, secret: i.authSecret, knownHosts: i.knownHosts };
      break;
    default:
      errors.push(`auth_kind: expected none, token, basic or ssh, got "${kind.slice(0, 20)}"`);
  }
  if (scheme === "ssh" && kind === "none") errors.push("auth: an SSH repository needs a deploy key (--ssh-key-secret) and its host key (--known-hosts)");
  if (i.knownHosts && kind !== "ssh") errors.push("known_hosts: given for a repository without a deploy key (it is for SSH)");
  if (i.caPem) {
    if (scheme !== "https") errors.push("ca: a CA is for https:// repositories");
    else errors.push(...checkCaPem(i.caPem));
  }
  if (i.webhookSecret && !SECRET.test(i.webhookSecret)) errors.push("webhook_secret: expected the name of a berth secret");
  if (scheme === "http" && kind !== "none") errors.push("repo: credentials are sent over https only, never plain http");
  return errors.length ? { ok: false, errors } : { ok: true, repo, branch, path, env: i.env, intervalMs, auth, webhookSecret: i.webhookSecret, caPem: i.caPem };
}

/** PEM certificates, each parsed ("ca: certificate N: …"); `where` names the file in the CLI. */
export function checkCaPem(text: string, where = "ca"): string[] {
  if (Buffer.byteLength(text) > MAX_CA_PEM) return [`${where}: larger than ${MAX_CA_PEM / 1024} KiB`];
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  if (!blocks.length) return [`${where}: no PEM certificate in it (expected -----BEGIN CERTIFICATE-----)`];
  const errors: string[] = [];
  blocks.forEach((b, n) => {
    try {
      new X509Certificate(b);
    } catch (e) {
      errors.push(`${where}: certificate ${n + 1}: not a certificate (${(e as Error).message.slice(0, 80)})`);
    }
  });
  return errors;
}
