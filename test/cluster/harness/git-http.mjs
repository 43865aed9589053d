// A git server of the test's own: `git http-backend` (smart HTTP, as Gitea and
// GitHub serve it) behind a small Node HTTP-to-CGI shim. Run on a node of the
// topology: `node git-http.mjs HOST PORT PROJECT_ROOT`; prints "listening" once up.
// Every repository under PROJECT_ROOT is served at /NAME.git, read-only (pushes go
// to the bare repository's path directly, from the test process).
//
// Stall control, for a sync in flight (a test writes lines to stdin; harness/git-server.ts
// does): "stall" holds every later POST to git-upload-pack (the fetch proper: ls-refs and
// the pack) before it reaches git, printing "stalled" for each; "stall NAME" holds only
// those of /NAME.git; "release" lets the held ones and every later one through. Each
// command is acknowledged ("stalling", "released").
// Options come through the environment, never argv (a credential in argv is what
// the tests look for in /proc):
// - GIT_HTTP_TLS_CERT, GIT_HTTP_TLS_KEY: serve HTTPS with this certificate and key;
// - GIT_HTTP_USERS: a file of `user:password` lines; a request without one of them
//   gets 401 with `WWW-Authenticate: Basic`, as GitHub and Gitea answer.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer as createHttp } from "node:http";
import { createServer as createHttps } from "node:https";

const [host, port, root] = process.argv.slice(2);
const env0 = process.env;
const users = env0.GIT_HTTP_USERS
  ? new Set(readFileSync(env0.GIT_HTTP_USERS, "utf8").split("\n").filter(Boolean).map((l) => Buffer.from(l).toString("base64")))
  : undefined;

/** While stalling: the repository whose fetches are held, "" every one; null when not stalling. */
let stalling = null;
let held = [];
let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => {
  input += chunk;
  for (let i = input.indexOf("\n"); i >= 0; i = input.indexOf("\n")) {
    const cmd = input.slice(0, i).trim();
    input = input.slice(i + 1);
    const stall = /^stall(?: ([A-Za-z0-9._-]+))?$/.exec(cmd);
    if (stall) {
      stalling = stall[1] ?? "";
      console.log("stalling");
    } else if (cmd === "release") {
      stalling = null;
      const go = held;
      held = [];
      for (const f of go) f();
      console.log("released");
    }
  }
});

function handle(req, res) {
  const url = new URL(req.url ?? "/", "http://x");
  if (users) {
    const m = /^Basic (\S+)$/.exec(req.headers.authorization ?? "");
    if (!m || !users.has(m[1])) {
      res.writeHead(401, { "www-authenticate": 'Basic realm="git test"', "content-type": "text/plain" });
      return void res.end("authentication required\n");
    }
  }
  if (stalling !== null && req.method === "POST" && url.pathname.endsWith("/git-upload-pack") && (stalling === "" || url.pathname === `/${stalling}.git/git-upload-pack`)) {
    held.push(() => serve(req, res, url));
    console.log("stalled");
    return;
  }
  serve(req, res, url);
}

function serve(req, res, url) {
  const env = {
    PATH: process.env.PATH,
    GIT_PROJECT_ROOT: root,
    GIT_HTTP_EXPORT_ALL: "1",
    REQUEST_METHOD: req.method,
    PATH_INFO: decodeURIComponent(url.pathname),
    QUERY_STRING: url.search.slice(1),
    CONTENT_TYPE: req.headers["content-type"] ?? "",
    REMOTE_ADDR: req.socket.remoteAddress ?? "",
    GIT_PROTOCOL: String(req.headers["git-protocol"] ?? ""),
    HTTP_CONTENT_ENCODING: String(req.headers["content-encoding"] ?? ""),
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_CONFIG_GLOBAL: "/dev/null",
  };
  if (req.headers["content-length"]) env.CONTENT_LENGTH = req.headers["content-length"];
  const cgi = spawn("git", ["http-backend"], { env, stdio: ["pipe", "pipe", "inherit"] });
  // A held request whose client died meanwhile (a killed controller): git may exit before reading it all.
  cgi.stdin.on("error", () => undefined);
  req.pipe(cgi.stdin);
  let head = Buffer.alloc(0);
  let started = false;
  cgi.stdout.on("data", (chunk) => {
    if (started) return void res.write(chunk);
    head = Buffer.concat([head, chunk]);
    const end = head.indexOf("\r\n\r\n");
    if (end < 0) return;
    started = true;
    let status = 200;
    for (const line of head.subarray(0, end).toString().split("\r\n")) {
      const i = line.indexOf(":");
      const k = line.slice(0, i).trim();
      const v = line.slice(i + 1).trim();
      if (k.toLowerCase() === "status") status = Number(v.split(" ")[0]);
      else res.setHeader(k, v);
    }
    res.writeHead(status);
    res.write(head.subarray(end + 4));
  });
  cgi.on("close", () => res.end());
}

const server = env0.GIT_HTTP_TLS_CERT ? createHttps({ cert: readFileSync(env0.GIT_HTTP_TLS_CERT), key: readFileSync(env0.GIT_HTTP_TLS_KEY ?? "") }, handle) : createHttp(handle);
server.listen(Number(port), host, () => console.log("listening"));
process.on("SIGTERM", () => {
  server.closeAllConnections?.();
  server.close(() => process.exit(0));
});
