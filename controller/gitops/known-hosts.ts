/**
 * A source's known_hosts (OpenSSH's format, as `ssh-keyscan` writes it) checked at
 * the boundary: every line parses, every key decodes to the type it says, and some
 * line names the repository's host (plain, `[host]:port`, a pattern or a hashed
 * name) — a file for another host would only fail at the first fetch. Pure: no I/O.
 * What is stored is what ssh is given (StrictHostKeyChecking=yes): the host key is
 * never learnt on first use.
 */
import { createHmac } from "node:crypto";

/** @default 64 KiB: room for every key of many hosts, far below a record's size. */
export const MAX_KNOWN_HOSTS = 64 * 1024;

const KEY_TYPE = /^(ssh-(ed25519|rsa|dss)|ecdsa-sha2-nistp(256|384|521)|sk-(ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com)(-cert-v01@openssh\.com)?$/;

interface Entry {
  line: number;
  patterns: string;
}

/** The host as ssh looks it up: `host`, or `[host]:port` off port 22. */
export function sshHostKey(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

/** The host and port of an ssh:// or scp-like (user@host:path) URL; undefined for another. */
export function sshHostOf(repo: string): { host: string; port: number } | undefined {
  if (repo.startsWith("ssh://")) {
    try {
      const u = new URL(repo);
      return { host: u.hostname.replace(/^\[|\]$/g, ""), port: u.port ? Number(u.port) : 22 };
    } catch {
      return undefined;
    }
  }
  const m = /^[^@\s]+@([^:\s]+):/.exec(repo);
  return m?.[1] ? { host: m[1], port: 22 } : undefined;
}

const glob = (pattern: string, s: string): boolean =>
  new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".")}$`, "i").test(s);

/** Whether one host field of a known_hosts line (comma-separated patterns, `!` negations, or a |1|salt|hash name) names `name`. */
export function hostFieldMatches(field: string, name: string): boolean {
  if (field.startsWith("|1|")) {
    const [, , salt = "", hash = ""] = field.split("|");
    return createHmac("sha1", Buffer.from(salt, "base64")).update(name).digest("base64") === hash;
  }
  let hit = false;
  for (const p of field.split(",")) {
    if (p.startsWith("!")) {
      if (glob(p.slice(1), name)) return false;
    } else if (glob(p, name)) hit = true;
  }
  return hit;
}

/**
 * The problems of `text` as a known_hosts for `host` ("known_hosts:LINE: …"), or
 * none. `where` prefixes line numbers (a file's name in the CLI).
 */
export function checkKnownHosts(text: string, host: { host: string; port: number } | undefined, where = "known_hosts"): string[] {
  if (Buffer.byteLength(text) > MAX_KNOWN_HOSTS) return [`${where}: larger than ${MAX_KNOWN_HOSTS / 1024} KiB`];
  const errors: string[] = [];
  const entries: Entry[] = [];
  text.split("\n").forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith("#")) return;
    const at = `${where}:${i + 1}`;
    const f = line.split(/\s+/);
    const marker = f[0]?.startsWith("@") ? f.shift() : undefined;
    if (marker !== undefined && marker !== "@cert-authority" && marker !== "@revoked") return void errors.push(`${at}: unknown marker "${marker.slice(0, 32)}" (expected @cert-authority or @revoked)`);
    const [patterns = "", type = "", key = ""] = f;
    if (!type || !key) return void errors.push(`${at}: expected "HOST KEYTYPE BASE64KEY" (as ssh-keyscan prints)`);
    if (!KEY_TYPE.test(type)) return void errors.push(`${at}: "${type.slice(0, 48)}" is not an SSH host key type`);
    const blob = /^[A-Za-z0-9+/]+={0,2}$/.test(key) ? Buffer.from(key, "base64") : Buffer.alloc(0);
    const n = blob.length >= 4 ? blob.readUInt32BE(0) : -1;
    if (n < 0 || blob.subarray(4, 4 + n).toString("latin1") !== type) return void errors.push(`${at}: the key is not a ${type} key (bad base64, or another type)`);
    if (marker !== "@revoked") entries.push({ line: i + 1, patterns });
  });
  if (errors.length) return errors;
  if (!entries.length) return [`${where}: no host key in it`];
  if (host) {
    const name = sshHostKey(host.host, host.port);
    if (!entries.some((e) => hostFieldMatches(e.patterns, name))) return [`${where}: no key for ${name}, the repository's host${host.port !== 22 ? ` (on port ${host.port} ssh looks up "${name}"; \`ssh-keyscan -p ${host.port} ${host.host}\` writes it so)` : ""}`];
  }
  return [];
}
