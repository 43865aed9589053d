/**
 * The controller processes bench:agents measures: started as children, their output
 * kept in a log file (and its tail for a death note), their warn+ lines counted, and
 * stopped with SIGTERM (SIGKILL if they hang). One controller, or each member of a
 * group (bench/agents-group.ts).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream } from "node:fs";
import { readFile } from "node:fs/promises";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { call, connect } from "../cli/client.js";
import { controllerEnv, type MallocChoice } from "../shared/malloc.js";
import { errText } from "./sim.js";

const HERE = dirname(fileURLToPath(import.meta.url));
export const CLI_MAIN = join(HERE, "..", "cli", "main.js");

export function log(line: string): void {
  process.stderr.write(`[bench] ${line}\n`);
}

/** Polls `fn` until it yields a value; fails at the deadline or as soon as `dead()` names a reason. */
export async function waitFor<T>(what: string, timeoutMs: number, fn: () => Promise<T | undefined>, dead: () => string | undefined): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = "no attempt yet";
  for (;;) {
    const why = dead();
    if (why) throw new Error(`${what}: ${why}`);
    try {
      const v = await fn();
      if (v !== undefined) return v;
      last = "not yet";
    } catch (e) {
      last = errText(e);
    }
    if (Date.now() >= deadline) throw new Error(`${what}: not within ${timeoutMs} ms (${last})`);
    await sleep(50);
  }
}

/** A port the kernel just handed out on 127.0.0.1 (closed again for the controller to bind). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const a = srv.address();
      const port = typeof a === "object" && a ? a.port : 0;
      srv.close(() => (port ? resolve(port) : reject(new Error("no port"))));
    });
  });
}


// ---------------------------------------------------------------------------
// A controller under test

export class ControllerProc {
  readonly pid: number;
  exitCode: number | null | undefined;
  exitSignal: NodeJS.Signals | null = null;
  /** pino lines at warn (40) or above: the controller complaining during the run is a finding. */
  warnLines = 0;
  private tail = "";
  private readonly exited: Promise<void>;

  constructor(
    private readonly child: ChildProcess,
    logFile: string,
    /** How messages name it: "the controller", "controller c2". */
    readonly label = "the controller",
  ) {
    if (child.pid === undefined) throw new Error("the controller did not start");
    this.pid = child.pid;
    // Everything it prints also goes to a file (kept with --keep) for a post-mortem.
    const file = createWriteStream(logFile);
    child.once("exit", () => file.end());
    const take = (chunk: Buffer): void => {
      file.write(chunk);
      const s = chunk.toString("utf8");
      this.warnLines += (s.match(/"level":(4|5|6)0/g) ?? []).length;
      // Only the tail is kept: enough to say why it died, bounded however chatty it gets.
      this.tail = (this.tail + s).slice(-8192);
    };
    child.stdout?.on("data", take);
    child.stderr?.on("data", take);
    this.exited = new Promise((resolve) =>
      child.once("exit", (code, signal) => {
        this.exitCode = code;
        this.exitSignal = signal;
        resolve();
      }),
    );
  }

  /** Resolves when the controller exits: lets waits end early instead of at their deadline. */
  untilExit(): Promise<void> {
    return this.exited;
  }

  get alive(): boolean {
    return this.exitCode === undefined;
  }

  deathNote(): string | undefined {
    if (this.alive) return undefined;
    return `${this.label} exited (${this.exitSignal ?? `code ${this.exitCode}`}); its last output:\n${this.tail.trim()}`;
  }

  recentOutput(lines = 5): string {
    return this.tail.trim().split("\n").slice(-lines).join("\n");
  }

  /** SIGTERM (a clean close writes the --cpu-prof file), then SIGKILL if it hangs. */
  async stop(graceMs: number): Promise<void> {
    if (!this.alive) return;
    this.child.kill("SIGTERM");
    const timer = sleep(graceMs, "timeout" as const);
    if ((await Promise.race([this.exited.then(() => "exited" as const), timer])) === "timeout") {
      log(`${this.label} did not exit within ${graceMs} ms of SIGTERM: killing it`);
      this.child.kill("SIGKILL");
      await this.exited;
    }
  }

  killNow(): void {
    if (this.alive) this.child.kill("SIGKILL");
  }
}

/**
 * Starts `berth controller` with what every bench controller shares — warn-level logs (unless asked),
 * the bench's heartbeat cadence, no metrics or console listener (their default ports are
 * fixed and could be taken), no config file and its own XDG dir — plus `args`.
 */
export function spawnController(o: { nodeArgs: string[]; args: string[]; intervalMs: number; logLevel?: string; xdgDir: string; logFile: string; label?: string; malloc?: MallocChoice }): ControllerProc {
  const child = spawn(
    process.execPath,
    [
      ...o.nodeArgs,
      CLI_MAIN,
      "controller",
      ...o.args,
      "--log-level",
      o.logLevel ?? "warn",
      // The controller owns the cadence (Welcome says it); keep it and the simulator in step.
      "--heartbeat-interval",
      `${o.intervalMs}ms`,
      "--no-write-config",
      // Not scraped here; a fixed default port could be taken by a fleet already running.
      "--metrics-addr",
      "off",
      // Nor the console: its default port is fixed too.
      "--ui-addr",
      "off",
    ],
    // Its own XDG dir too, so nothing it might write lands in the user's config; and the allocator
    // a controller gets wherever berth starts one (shared/malloc.ts), or the one --malloc names.
    { env: controllerEnv({ ...process.env, XDG_CONFIG_HOME: o.xdgDir, ...(o.malloc ? { BERTH_MALLOC: o.malloc } : {}) }), stdio: ["ignore", "pipe", "pipe"] },
  );
  return new ControllerProc(child, o.logFile, o.label);
}

/**
 * Waits for first-start files (in whichever of `dataDirs` made them: in a group, the
 * member that bootstrapped the store), then for the operator API to answer by minting
 * the join token. `addr`: one address, or every member "a,b,c".
 */
export async function createJoinToken(dead: () => string | undefined, addr: string, dataDirs: readonly string[], uses: number): Promise<{ token: string; caPem: string; adminToken: string }> {
  const { adminToken, caPem } = await waitFor(
    "admin.token",
    60_000,
    async () => {
      for (const dir of dataDirs) {
        const t = (await readFile(join(dir, "admin.token"), "utf8").catch(() => "")).trim();
        if (/^bt1\./.test(t)) return { adminToken: t, caPem: await readFile(join(dir, "ca.crt"), "utf8") };
      }
      return undefined;
    },
    dead,
  );
  const token = await waitFor(
    "CreateToken",
    30_000,
    async () => {
      const api = connect({ addr, token: adminToken, ca: caPem });
      try {
        const res = await call(api, api.client.CreateToken, { role: "agent", uses, ttl_seconds: 6 * 3600, description: "bench:agents" }, 2000);
        return res.token;
      } finally {
        api.close();
      }
    },
    dead,
  );
  return { token, caPem, adminToken };
}
