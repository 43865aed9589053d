import { describe, expect, it } from "vitest";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Stats } from "node:fs";
import { serviceEnv, DEFAULT_PATH, expandArgs, expandRefs, instanceEnv, searchablePath, spawnFailure } from "../../../agent/supervisor/env.js";

describe("serviceEnv", () => {
  it("gives PATH, HOME and LANG from the agent, then the given env over them — and nothing else of the agent's", () => {
    const agent = { PATH: "/opt/bin:/usr/bin", HOME: "/root", LANG: "de_DE.UTF-8", SECRET: "agent-only" };
    expect(serviceEnv(agent, { LANG: "C", BERTH_EPOCH: "4" }, "/var/www")).toEqual({
      PATH: "/opt/bin:/usr/bin",
      HOME: "/var/www",
      LANG: "C",
      BERTH_EPOCH: "4",
    });
    expect(serviceEnv({}, {}, undefined)).toEqual({ PATH: DEFAULT_PATH, HOME: "/", LANG: "C.UTF-8" });
  });

  it("cuts PATH to what the run user may search (the service, its checks, exec --service and install steps alike), unless the spec sets PATH", () => {
    const closed = mkdtempSync(join(tmpdir(), "berth-path-"));
    try {
      chmodSync(closed, 0o700);
      const agent = { PATH: `${closed}:/usr/bin` };
      expect(serviceEnv(agent, {}, "/home/u", { uid: 64_000, gid: 64_000 }).PATH).toBe("/usr/bin");
      expect(serviceEnv(agent, {}, undefined).PATH).toBe(`${closed}:/usr/bin`);
      expect(serviceEnv(agent, { PATH: closed }, "/home/u", { uid: 64_000, gid: 64_000 }).PATH).toBe(closed);
    } finally {
      rmSync(closed, { recursive: true, force: true });
    }
  });
});

describe("searchablePath: the PATH folders a service user may search", () => {
  // root-owned folders; /root closed to others (0700), as on Debian.
  const modes: Record<string, number> = { "/": 0o755, "/usr": 0o755, "/usr/bin": 0o755, "/root": 0o700, "/root/.cargo": 0o755, "/root/.cargo/bin": 0o755, "/opt": 0o755, "/opt/app": 0o750, "/opt/app/bin": 0o755 };
  const stat = (p: string): Stats => {
    const mode = modes[p];
    if (mode === undefined) throw Object.assign(new Error(`ENOENT: ${p}`), { code: "ENOENT" });
    return { uid: 0, gid: p.startsWith("/opt/app") ? 50 : 0, mode, isDirectory: () => true } as unknown as Stats;
  };

  it("drops folders under one the user may not enter, and ones that are not there or not absolute", () => {
    expect(searchablePath("/root/.cargo/bin:/usr/bin:/nowhere:bin", { uid: 1000, gid: 1000 }, stat)).toBe("/usr/bin");
    // Through the group's x bit.
    expect(searchablePath("/opt/app/bin:/usr/bin", { uid: 1000, gid: 50 }, stat)).toBe("/opt/app/bin:/usr/bin");
    expect(searchablePath("/opt/app/bin:/usr/bin", { uid: 1000, gid: 1000 }, stat)).toBe("/usr/bin");
  });

  it("follows a PATH folder that is a symlink to where it leads", () => {
    const links: Record<string, string> = { "/usr/local/node/bin": "/root/.nvm/bin" };
    const realpath = (p: string): string => links[p] ?? p;
    const withLink = (p: string): Stats => (p.startsWith("/usr/local") ? ({ uid: 0, gid: 0, mode: 0o755, isDirectory: () => true } as unknown as Stats) : stat(p));
    expect(searchablePath("/usr/local/node/bin:/usr/bin", { uid: 1000, gid: 1000 }, withLink, realpath)).toBe("/usr/bin");
  });

  it("keeps the whole PATH for root and the agent's own user; falls back to the default when nothing is left", () => {
    expect(searchablePath("/root/.cargo/bin:/usr/bin", undefined, stat)).toBe("/root/.cargo/bin:/usr/bin");
    expect(searchablePath("/root/.cargo/bin:/usr/bin", { uid: 0, gid: 0 }, stat)).toBe("/root/.cargo/bin:/usr/bin");
    expect(searchablePath("/root/.cargo/bin", { uid: 1000, gid: 1000 }, stat)).toBe(DEFAULT_PATH);
  });

  it("says in words why a spawn failed", () => {
    const e = (code: string): NodeJS.ErrnoException => Object.assign(new Error(`spawn x ${code}`), { code });
    expect(spawnFailure("nodejsx", e("ENOENT"), "/usr/bin:/bin", "berth-web")).toBe('command "nodejsx" not found in PATH (/usr/bin:/bin)');
    expect(spawnFailure("./bin/web", e("ENOENT"), "/usr/bin", "", "/srv/app", () => false)).toBe("command ./bin/web not found (no such file)");
    expect(spawnFailure("./bin/web", e("ENOENT"), "/usr/bin", "", "/srv/app", (p) => p === "/srv/app/bin/web")).toMatch(/^command \.\/bin\/web: the interpreter its first line \(#!\) names was not found/);
    expect(spawnFailure("./bin/web", e("EACCES"), "/usr/bin", "berth-web")).toMatch(/^command "\.\/bin\/web" cannot be run as berth-web: permission denied/);
  });
});

describe("instanceEnv and expandArgs: ${NAME} from the instance's environment", () => {
  const berth = { BERTH_SERVICE: "web", BERTH_INSTANCE: "web-1", BERTH_EPOCH: "4", BERTH_VERSION: "2", BERTH_ADVERTISE_ADDR: "10.0.0.5" };

  it("expands run.env values from BERTH_*, then sets BERTH_* over them", () => {
    const env = instanceEnv({ LISTEN: "${BERTH_ADVERTISE_ADDR}:8080", ID: "${BERTH_SERVICE}/${BERTH_INSTANCE}@${BERTH_EPOCH}" }, berth);
    expect(env).toEqual({ LISTEN: "10.0.0.5:8080", ID: "web/web-1@4", ...berth });
  });

  it("expands run.args from run.env (expanded) and BERTH_*", () => {
    const env = instanceEnv({ LISTEN: "${BERTH_ADVERTISE_ADDR}:8080" }, berth);
    expect(expandArgs(["--listen", "${LISTEN}", "--tag=v${BERTH_VERSION}"], env)).toEqual(["--listen", "10.0.0.5:8080", "--tag=v2"]);
  });

  it("keeps $$ as $, and a $ not before { or $ as it is, so sh -c scripts still work", () => {
    expect(expandRefs("cost: $$5 and $${BERTH_SERVICE}", berth)).toBe("cost: $5 and ${BERTH_SERVICE}");
    expect(expandRefs('echo "$HOME $1 $" ${BERTH_SERVICE}', berth)).toBe('echo "$HOME $1 $" web');
  });

  it("leaves what apply would refuse as written (a spec stored before the check)", () => {
    expect(expandRefs("${NOPE}-${BERTH_SERVICE}", berth)).toBe("${NOPE}-web");
    expect(expandRefs("x ${BERTH_SERVICE", berth)).toBe("x ${BERTH_SERVICE");
    expect(expandRefs("${a-b}", berth)).toBe("${a-b}");
  });

  it("does not expand run.env values from one another", () => {
    expect(instanceEnv({ A: "1", B: "${A}" }, berth).B).toBe("${A}");
  });
});
