/**
 * Where a source's credential may go (controller/gitops/git.ts): to the source's own
 * host over https, and nowhere a server redirects git to — plain http, or another
 * host. Real git, real HTTPS servers of the test's own.
 */
import { afterEach, describe, expect, it } from "vitest";
import { mkdtemp, rm } from "node:fs/promises";
import http from "node:http";
import https from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GitError, Mirror, credentialHost, type GitAuth } from "../../../controller/gitops/git.js";
import { createCa, createServerCert } from "../../../shared/tls/pki.js";

const PASSWORD = "GITPASS-zz-4242";
const AUTH: GitAuth = { kind: "basic", username: "x-access-token", password: PASSWORD, what: "secret gittoken" };

/** Every Authorization header a server was sent, by request path. */
type Seen = { path: string; authorization: string | undefined }[];

describe("a GitOps source's credential", () => {
  const servers: (http.Server | https.Server)[] = [];
  let root = "";
  afterEach(async () => {
    for (const s of servers.splice(0)) {
      s.closeAllConnections();
      await new Promise((ok) => s.close(ok));
    }
    if (root) await rm(root, { recursive: true, force: true });
  });

  async function listen<S extends http.Server | https.Server>(s: S, host: string): Promise<number> {
    servers.push(s);
    await new Promise<void>((ok) => s.listen(0, host, ok));
    return (s.address() as { port: number }).port;
  }

  /** A server that records each request's Authorization and answers as `answer` says. */
  function recorder(seen: Seen, answer: (req: http.IncomingMessage, res: http.ServerResponse) => void) {
    return (req: http.IncomingMessage, res: http.ServerResponse): void => {
      seen.push({ path: req.url ?? "", authorization: req.headers.authorization });
      answer(req, res);
    };
  }
  const challenge = (_req: http.IncomingMessage, res: http.ServerResponse): void => {
    res.writeHead(401, { "www-authenticate": 'Basic realm="git"' });
    res.end();
  };
  const leaked = (seen: Seen): boolean => seen.some((r) => r.authorization !== undefined && Buffer.from(r.authorization.replace(/^Basic /, ""), "base64").toString().includes(PASSWORD));

  async function tlsFor(names: { dnsNames: string[]; ips: string[] }): Promise<{ key: string; cert: string; caPem: string }> {
    const ca = await createCa();
    const server = await createServerCert(ca, names);
    return { key: server.keyPem, cert: server.certPem, caPem: ca.certPem };
  }

  it("goes to the source's own host over https when it asks", async () => {
    root = await mkdtemp(join(tmpdir(), "berth-gitcred-"));
    const t = await tlsFor({ dnsNames: [], ips: ["127.0.0.1"] });
    const seen: Seen = [];
    const port = await listen(https.createServer({ key: t.key, cert: t.cert }, recorder(seen, challenge)), "127.0.0.1");
    const url = `https://127.0.0.1:${port}/fleet.git`;
    await expect(new Mirror(root, "own").fetch(url, "main", AUTH, { caPem: t.caPem })).rejects.toThrow(/authentication failed: .* refused the credentials \(secret gittoken\)/);
    expect(leaked(seen)).toBe(true);
  });

  it("never goes over plain http where an https source redirects", async () => {
    root = await mkdtemp(join(tmpdir(), "berth-gitcred-"));
    const t = await tlsFor({ dnsNames: [], ips: ["127.0.0.1"] });
    const plain: Seen = [];
    const plainPort = await listen(http.createServer(recorder(plain, challenge)), "127.0.0.1");
    const origin: Seen = [];
    const port = await listen(
      https.createServer({ key: t.key, cert: t.cert }, recorder(origin, (req, res) => {
        res.writeHead(302, { location: `http://127.0.0.1:${plainPort}${req.url ?? "/"}` });
        res.end();
      })),
      "127.0.0.1",
    );
    const url = `https://127.0.0.1:${port}/fleet.git`;
    const err = await new Mirror(root, "plain").fetch(url, "main", AUTH, { caPem: t.caPem }).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(GitError);
    expect(String(err)).not.toContain(PASSWORD);
    expect(String(err)).toMatch(/redirected to plain http; the source's credentials \(secret gittoken\) go only to 127\.0\.0\.1:\d+ over https/);
    expect(leaked(origin) || leaked(plain)).toBe(false);
    expect(origin.length).toBeGreaterThan(0);
  });

  it("never goes to another host an https source redirects to", async () => {
    root = await mkdtemp(join(tmpdir(), "berth-gitcred-"));
    const t = await tlsFor({ dnsNames: ["localhost"], ips: ["127.0.0.1"] });
    const other: Seen = [];
    const otherPort = await listen(https.createServer({ key: t.key, cert: t.cert }, recorder(other, challenge)), "127.0.0.1");
    const origin: Seen = [];
    const port = await listen(
      https.createServer({ key: t.key, cert: t.cert }, recorder(origin, (req, res) => {
        res.writeHead(302, { location: `https://localhost:${otherPort}${req.url ?? "/"}` });
        res.end();
      })),
      "127.0.0.1",
    );
    const url = `https://127.0.0.1:${port}/fleet.git`;
    const err = await new Mirror(root, "moved").fetch(url, "main", AUTH, { caPem: t.caPem }).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(GitError);
    expect(other.length).toBeGreaterThan(0); // git did follow the redirect: only the credential stayed behind
    expect(leaked(origin) || leaked(other)).toBe(false);
    expect(String(err)).toMatch(/redirected to https:\/\/localhost:\d+; the source's credentials \(secret gittoken\) go only to 127\.0\.0\.1:\d+ over https/);
  });

  it("is named by the host and port the URL gives, as git asks for it", () => {
    expect(credentialHost("https://git.example.com/org/fleet.git")).toBe("git.example.com");
    expect(credentialHost("https://git.example.com:8443/org/fleet.git")).toBe("git.example.com:8443");
    expect(credentialHost("https://user@git.example.com/fleet.git")).toBe("git.example.com");
    expect(credentialHost("http://git.example.com/fleet.git")).toBe("");
  });
});
