/** `berth gitops add` input at the boundary (controller/gitops/validate.ts): every problem named, credentials never in a URL. */
import { describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkCaPem, checkSource, type SourceInput } from "../../../controller/gitops/validate.js";
import { checkKnownHosts, hostFieldMatches } from "../../../controller/gitops/known-hosts.js";
import { explainGitError } from "../../../controller/gitops/git.js";

/** A real ed25519 public key (the blob names its type, as ssh-keyscan prints it). */
const ED = "AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";
const KH = `git.example.org ssh-ed25519 ${ED}\n`;

const input = (o: Partial<SourceInput> = {}): SourceInput => ({ name: "prod", repo: "https://git.example.org/ops/fleet.git", branch: "main", path: "fleet/", env: "", intervalMs: 0, authKind: "none", username: "", authSecret: "", webhookSecret: "", knownHosts: "", caPem: "", ...o });
const errors = (o: Partial<SourceInput>): string => {
  const c = checkSource(input(o));
  return c.ok ? "" : c.errors.join("\n");
};

describe("checkSource", () => {
  it("takes a plain source, with defaults written down", () => {
    expect(checkSource(input())).toMatchObject({ ok: true, path: "fleet", intervalMs: 60_000, auth: { kind: "none" } });
  });
  it("refuses credentials in the URL, pointing at secrets", () => {
    expect(errors({ repo: "https://bob:hunter2@git.example.org/x.git" })).toMatch(/repo: the URL carries credentials.*--token-secret/);
  });
  it("refuses paths out of the repository, odd branches and transports", () => {
    expect(errors({ path: "../etc" })).toMatch(/^path:/);
    expect(errors({ branch: "-x" })).toMatch(/^branch:/);
    expect(errors({ repo: "file:///srv/x.git" })).toMatch(/^repo: file:/);
    expect(errors({ repo: "git@-oProxyCommand=x:y" })).toMatch(/^repo:/);
    // new URL() drops a newline before it parses; the string given is what would be stored.
    expect(errors({ repo: "https://x\n.git" })).toMatch(/^repo: holds a space or control character/);
    expect(errors({ repo: "https://git.example.org/a b.git" })).toMatch(/^repo: holds a space/);
  });
  it("matches the credential to the transport", () => {
    expect(errors({ authKind: "ssh", authSecret: "key" })).toMatch(/deploy key is for ssh/);
    expect(errors({ repo: "git@git.example.org:ops/fleet.git", authKind: "token", authSecret: "tok" })).toMatch(/token is for HTTPS/);
    expect(errors({ repo: "http://git.example.org/x.git", authKind: "token", authSecret: "tok" })).toMatch(/never plain http/);
    expect(checkSource(input({ repo: "git@git.example.org:ops/fleet.git", authKind: "ssh", authSecret: "key", knownHosts: KH }))).toMatchObject({ ok: true, auth: { kind: "ssh", knownHosts: KH } });
    expect(errors({ repo: "git@git.example.org:ops/fleet.git" })).toMatch(/^auth: an SSH repository needs a deploy key/m);
  });
  it("needs an SSH repository's host key, never learnt on first use, for the repository's host", () => {
    const ssh = { repo: "ssh://git@git.example.org:2222/ops/fleet.git", authKind: "ssh", authSecret: "key" };
    expect(errors(ssh)).toMatch(/^known_hosts: an SSH repository needs its host key \(--known-hosts FILE/);
    expect(errors({ ...ssh, knownHosts: KH })).toMatch(/^known_hosts: no key for \[git\.example\.org\]:2222.*ssh-keyscan -p 2222 git\.example\.org/);
    expect(checkSource(input({ ...ssh, knownHosts: `[git.example.org]:2222 ssh-ed25519 ${ED}` })).ok).toBe(true);
    expect(errors({ ...ssh, knownHosts: `[git.example.org]:2222 ssh-rsa ${ED}` })).toMatch(/^known_hosts:1: the key is not a ssh-rsa key/);
    expect(errors({ ...ssh, knownHosts: "# c\n\n[git.example.org]:2222 ssh-ed25519" })).toMatch(/^known_hosts:3: expected "HOST KEYTYPE BASE64KEY"/);
    expect(errors({ knownHosts: KH })).toMatch(/^known_hosts: given for a repository without a deploy key/m);
  });
  it("matches known_hosts names as ssh does: patterns, negations, hashed names", () => {
    expect(hostFieldMatches("*.example.org,!bad.example.org", "git.example.org")).toBe(true);
    expect(hostFieldMatches("*.example.org,!git.example.org", "git.example.org")).toBe(false);
    // What `ssh-keygen -H` wrote for "git.example.org".
    const hashed = "|1|YUG984xva0yqe3EpkJW8DxvD12w=|FkaHh0lUem866ygX3CaCrAIPNCc=";
    expect(hostFieldMatches(hashed, "git.example.org")).toBe(true);
    expect(hostFieldMatches(hashed, "git.example.com")).toBe(false);
    expect(checkKnownHosts(`@revoked git.example.org ssh-ed25519 ${ED}`, { host: "git.example.org", port: 22 })).toEqual(["known_hosts: no host key in it"]);
  });
  it("takes a CA for an https repository only, each certificate parsed", () => {
    const dir = mkdtempSync(join(tmpdir(), "berth-ca-"));
    try {
      execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", join(dir, "k"), "-subj", "/CN=ca", "-days", "1", "-out", join(dir, "c")], { stdio: "ignore" });
      const pem = readFileSync(join(dir, "c"), "utf8");
      expect(checkSource(input({ caPem: pem }))).toMatchObject({ ok: true, caPem: pem });
      expect(errors({ caPem: pem, repo: "git@git.example.org:x.git", authKind: "ssh", authSecret: "k", knownHosts: KH })).toMatch(/^ca: a CA is for https/m);
      expect(checkCaPem("hello", "./ca.pem")).toEqual(["./ca.pem: no PEM certificate in it (expected -----BEGIN CERTIFICATE-----)"]);
      expect(checkCaPem("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----")[0]).toMatch(/^ca: certificate 1: not a certificate/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it("bounds the interval", () => {
    expect(errors({ intervalMs: 1000 })).toMatch(/^interval:/);
  });
});

describe("explainGitError", () => {
  const url = "https://git.example.org/ops/fleet.git";
  it("says authentication failed, naming the URL and the credential by name", () => {
    expect(explainGitError("remote: authentication required\nfatal: Authentication failed for 'https://git.example.org/ops/fleet.git/'", url, 'token secret "gh"')).toBe(`authentication failed: ${url} refused the credentials (token secret "gh")`);
    expect(explainGitError("fatal: could not read Username for 'https://git.example.org': terminal prompts disabled", url)).toMatch(/^authentication failed: .* asks for credentials and the source has none/);
    expect(explainGitError("fatal: unable to access '…': The requested URL returned error: 403", url, "x")).toMatch(/^authentication failed: .* denied access \(HTTP 403\)/);
    expect(explainGitError("git@host: Permission denied (publickey).\nfatal: Could not read from remote repository.", "git@host:x.git", 'deploy key secret "k"')).toBe('authentication failed: git@host:x.git refused the deploy key (deploy key secret "k")');
  });
  it("tells a wrong or unknown host key, and an untrusted certificate", () => {
    expect(explainGitError("@@@ WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED! @@@\nThe fingerprint for the ED25519 key sent by the remote host is\nSHA256:7EEcrkI9Tj7sWoszK+gZ2PBiwzRh6jy1Bjp/LbrgOBo.\nHost key verification failed.", "ssh://h/x")).toMatch(/^host key verification failed: ssh:\/\/h\/x presented a host key \(SHA256:7EEcrkI9Tj7sWoszK\+gZ2PBiwzRh6jy1Bjp\/LbrgOBo\.?\) that is not the one in the source's known_hosts/);
    expect(explainGitError("No ED25519 host key is known for [h]:2222 and you have requested strict checking.\nHost key verification failed.", "ssh://h:2222/x")).toMatch(/^host key verification failed: the source's known_hosts has no ED25519 key for \[h\]:2222/);
    expect(explainGitError("fatal: unable to access 'x': server certificate verification failed. CAfile: none CRLfile: none", url)).toMatch(/^TLS: the certificate of .* is not trusted .*--ca-file/);
    expect(explainGitError("fatal: repository not found", url)).toBeUndefined();
  });
});
