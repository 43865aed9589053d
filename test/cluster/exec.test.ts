/**
 * `berth exec` on a real topology: commands with their output and exit code,
 * piped stdin, an interactive terminal driven through a real pseudo-terminal
 * (the `berth` CLI itself runs under node-pty, as under a person's terminal),
 * --service, admin-only refusals, sessions that lose their client or their
 * stream leaving nothing on the host, the per-host cap with heartbeats
 * undisturbed, and an audit entry for every session.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { spawn as spawnPty, type IPty } from "node-pty";
import { BERTH_MAIN, Cluster, ROOT } from "./harness/cluster.js";
import { waitFor } from "./harness/wait.js";

const SVC = resolve(ROOT, "test/fixtures/svc");

/** The berth CLI on the controller's node, under a pseudo-terminal of this test. */
class Terminal {
  out = "";
  exit: { exitCode: number; signal?: number } | undefined;
  readonly pty: IPty;

  constructor(c: Cluster, args: string[], size = { cols: 100, rows: 30 }) {
    const [file, ...rest] = c.topo.argvOn(0, [process.execPath, BERTH_MAIN, ...args]);
    this.pty = spawnPty(file!, rest, { name: "xterm", ...size, cwd: ROOT, env: { ...process.env, ...c.env(), TERM: "xterm" } as Record<string, string> });
    this.pty.onData((d) => (this.out += d));
    this.pty.onExit((e) => (this.exit = e));
  }

  /** Waits until the output (from `from` on) matches; returns the match. */
  expect(re: RegExp, what: string, from = 0, timeoutMs = 20_000): Promise<RegExpExecArray> {
    return waitFor(() => re.exec(this.out.slice(from)) ?? undefined, { timeoutMs, intervalMs: 25, what: `${what} (output so far: ${JSON.stringify(this.out.slice(-400))})` });
  }

  exited(timeoutMs = 20_000): Promise<{ exitCode: number; signal?: number }> {
    return waitFor(() => this.exit, { timeoutMs, intervalMs: 25, what: "the CLI to exit" });
  }

  kill(): void {
    if (this.exit) return;
    try {
      process.kill(this.pty.pid, "SIGKILL");
    } catch {
      // gone already
    }
  }
}

/** Live processes whose argv is exactly `argv` (the hosts share this machine's pid namespace). */
function processesRunning(argv: string[]): number[] {
  const want = argv.join("\0") + "\0";
  const found: number[] = [];
  for (const e of readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    try {
      if (readFileSync(`/proc/${e}/cmdline`, "utf8") !== want) continue;
      const stat = readFileSync(`/proc/${e}/stat`, "utf8");
      if (!/\) [ZX] /.test(stat)) found.push(Number(e));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

const alive = (pid: number): boolean => {
  try {
    return !/\) [ZX] /.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
};

interface AuditJson {
  method: string;
  token_id: string;
  role: string;
  request: string;
  code: number;
  error: string;
}

describe("exec: commands and terminals on hosts", () => {
  let c: Cluster;
  let host = "";
  const terminals: Terminal[] = [];
  const strays: number[] = [];

  const term = (args: string[], size?: { cols: number; rows: number }): Terminal => {
    const t = new Terminal(c, args, size);
    terminals.push(t);
    return t;
  };

  beforeAll(async () => {
    c = await Cluster.start({ hosts: 2 });
    host = await c.hostIdOf(1);
  });
  afterEach(async ({ task }) => {
    for (const t of terminals.splice(0)) t.kill();
    for (const pid of strays.splice(0)) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // gone
      }
    }
    if (task.result?.state === "fail") console.error(await c?.dumpLogs());
  });
  afterAll(async () => {
    for (const t of terminals) t.kill();
    await c?.destroy();
  });

  it("runs a command: stdout and stderr apart, and the CLI exits with its exit code", async () => {
    const r = await c.cli(["exec", host, "--", "sh", "-c", "echo out; echo err >&2; exit 7"]);
    expect(r.stdout).toBe("out\n");
    expect(r.stderr).toBe("err\n");
    expect(r.code).toBe(7);
    // A unique id prefix works as everywhere; a command that does not exist is 127.
    const short = await c.cli(["exec", host.slice(0, 6), "--", "sh", "-c", "kill -TERM $$"]);
    expect(short.code).toBe(143);
    const missing = await c.cli(["exec", host, "--", "no-such-command-here"]);
    expect(missing.code).toBe(127);
    expect(missing.stderr).toMatch(/no-such-command-here: command not found/);
  });

  it("passes piped stdin to the command, and bulk data both ways under flow control", async () => {
    const r = await c.topo.run(0, [process.execPath, BERTH_MAIN, "exec", host, "--", "sh", "-c", "cat; echo done"], { env: c.env(), input: "hi\nthere\n" });
    expect(r).toMatchObject({ code: 0, stdout: "hi\nthere\ndone\n" });
    // 3 MB in (many flow-control windows), counted on the host; 5 MB out.
    const big = await c.topo.run(0, [process.execPath, BERTH_MAIN, "exec", host, "--", "wc", "-c"], { env: c.env(), input: "x".repeat(3_000_000), timeoutMs: 60_000 });
    expect(big.stdout.trim()).toBe("3000000");
    // -it with piped input (a script, a CI job): no terminal on the host, so no echo and no
    // control codes in the output; a warning says -t was dropped; no command is the shell.
    const piped = await c.topo.run(0, [process.execPath, BERTH_MAIN, "exec", "-it", host], { env: c.env(), input: "echo shell-$((6*7)); tty || true\n" });
    expect(piped).toMatchObject({ code: 0, stdout: "shell-42\nnot a tty\n" });
    expect(piped.stderr).toMatch(/stdin is not a terminal: running without one/);
    const out = await c.cli(["exec", host, "--", "head", "-c", "5000000", "/dev/zero"], { timeoutMs: 60_000 });
    expect(out.code).toBe(0);
    expect(out.stdout.length).toBe(5_000_000);
  });

  it("an interactive terminal: typing, Ctrl-C, a resize seen by stty, and the exit code", async () => {
    const t = term(["exec", "-it", host]);
    t.pty.write("echo hello-$((6*7))\r");
    await t.expect(/hello-42/, "the shell's answer");

    // Raw mode: Ctrl-C is a byte for the remote terminal; it interrupts the remote command, not the session.
    const from = t.out.length;
    t.pty.write("sleep 1003\r");
    await waitFor(() => processesRunning(["sleep", "1003"]).length === 1 || undefined, { timeoutMs: 10_000, what: "the remote sleep" });
    t.pty.write("\x03");
    await waitFor(() => processesRunning(["sleep", "1003"]).length === 0 || undefined, { timeoutMs: 10_000, what: "Ctrl-C to end the remote sleep" });
    t.pty.write("echo after-$((1+1))\r");
    await t.expect(/after-2/, "the shell to be still there", from);

    // The test's terminal changes size: SIGWINCH → the CLI → the controller → the agent's pty.
    t.pty.resize(123, 41);
    await waitFor(
      async () => {
        const mark = t.out.length;
        t.pty.write("stty size\r");
        const seen = await t.expect(/(\d+ \d+)\r+\n/, "stty size", mark, 3000);
        return seen[1] === "41 123" || undefined;
      },
      { timeoutMs: 20_000, intervalMs: 200, what: "stty size to report 41 123" },
    );

    t.pty.write("exit 3\r");
    expect((await t.exited()).exitCode).toBe(3);
  });

  it("--service runs in the instance's working dir, with its environment (${VAR} in run.env and run.args expanded)", async () => {
    const dir = await c.specDir("ex", {
      "ex.yaml": `name: ex\nartifact: ${SVC}\nrun:\n  command: node\n  args: [server.js, "--id=\${BERTH_INSTANCE}@\${PORT}"]\n  env: { PORT: "8090", GREETING: "hello from \${BERTH_SERVICE}" }\ninstances: 1\n`,
    });
    expect((await c.apply(dir)).code).toBe(0);
    const st = await c.waitForStatus("ex", (s) => s.instances[0]?.state === "healthy", "ex healthy");
    const r = await c.cli(["exec", "--service", "ex", "--", "sh", "-c", 'echo "$GREETING|$BERTH_INSTANCE|$BERTH_EPOCH"; ls server.js']);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("hello from ex|ex-0|1\nserver.js\n");
    const byInstance = await c.cli(["exec", "--service", "ex", "--instance", "ex-0", "--", "sh", "-c", "echo $BERTH_ADVERTISE_ADDR"]);
    expect(byInstance.stdout.trim()).toBe(st.instances[0]!.host_address);
    // The process got its arguments expanded by the agent, no `sh -c` needed.
    expect(processesRunning(["node", "server.js", "--id=ex-0@8090"])).toHaveLength(1);
    const noSuch = await c.cli(["exec", "--service", "ex", "--instance", "4", "--", "true"]);
    expect(noSuch.code).toBe(255);
    expect(noSuch.stderr).toMatch(/no instance "4" of ex \(it has ex-0\)/);
    // The service named where a host goes: the hint says what was meant.
    const asHost = await c.cli(["exec", "ex", "--", "true"]);
    expect(asHost.code).toBe(255);
    expect(asHost.stderr).toMatch(/no host "ex".*: ex is a service, not a host/);
    expect(asHost.stderr).toContain("berth exec --service ex -- … runs it on a host of that service");
    expect((await c.cli(["delete", "ex"])).code).toBe(0);
  });

  it("only admin tokens may exec; unknown, ambiguous and disconnected hosts are refused clearly", async () => {
    for (const role of ["viewer", "operator"]) {
      const token = (await c.cli(["token", "create", "--role", role])).stdout.trim();
      const r = await c.cli(["exec", host, "--", "touch", "/tmp/berth-exec-must-not-exist"], { token });
      expect(r.code).toBe(255); // berth's own failures in exec are 255, as ssh's: every other code is the command's
      expect(r.stderr).toMatch(new RegExp(`exec needs the admin role; the token has ${role}`));
    }
    const unknown = await c.cli(["exec", "nosuchhost", "--", "true"]);
    expect(unknown.code).toBe(255);
    expect(unknown.stderr).toMatch(/no host "nosuchhost"/);
    // A hostname names a host when exactly one has it; here both hosts run on this machine.
    const hs = await c.hosts();
    const r = await c.cli(["exec", hs[0]!.facts.hostname, "--", "true"]);
    if (hs.filter((h) => h.facts.hostname === hs[0]!.facts.hostname).length > 1) {
      expect(r.code).toBe(255);
      expect(r.stderr).toMatch(/names 2 hosts .*: give a host id/);
    } else expect(r.code).toBe(0);

    // A host whose agent is not connected: refused at once, saying so.
    const second = await c.hostIdOf(2);
    await c.stopAgent(2);
    try {
      await c.waitForHosts((x) => x.some((h) => h.id === second && !h.connected), "host 2 disconnected");
      const off = await c.cli(["exec", second, "--", "true"]);
      expect(off.code).toBe(255);
      expect(off.stderr).toMatch(new RegExp(`host ${second} \\(.*\\) is not connected .*berth hosts`));
    } finally {
      c.startAgent(2);
      await c.waitForHosts((x) => x.some((h) => h.id === second && h.connected && h.status === "ready"), "host 2 back");
    }
    const usage = await c.cli(["exec", host]);
    expect(usage.code).toBe(255);
    expect(usage.stderr).toMatch(/no command: give it after --/);
  });

  it("an abandoned session (CLI killed with SIGKILL) leaves no process on the host", async () => {
    // With a terminal…
    const t = term(["exec", "-it", host, "--", "sh", "-c", "echo pid=$$; exec sleep 1004"]);
    const pid = Number((await t.expect(/pid=(\d+)/, "the remote pid"))[1]);
    await waitFor(() => processesRunning(["sleep", "1004"]).includes(pid) || undefined, { timeoutMs: 10_000, what: "the remote sleep" });
    t.kill();
    await waitFor(() => !alive(pid) || undefined, { timeoutMs: 10_000, intervalMs: 100, what: `remote pid ${pid} to be ended after its client was killed` });

    // …and without.
    const cli = c.topo.spawn(0, [process.execPath, BERTH_MAIN, "exec", host, "--", "sh", "-c", "echo pid=$$; sleep 1005 & sleep 1005; wait"], { env: c.env() });
    strays.push(cli.pid!);
    let out = "";
    cli.stdout!.on("data", (b: Buffer) => (out += b.toString()));
    const leader = Number((await waitFor(() => /pid=(\d+)/.exec(out) ?? undefined, { timeoutMs: 20_000, what: "the remote pid" }))[1]);
    await waitFor(() => processesRunning(["sleep", "1005"]).length === 2 || undefined, { timeoutMs: 10_000, what: "both remote sleeps" });
    process.kill(cli.pid!, "SIGKILL");
    await waitFor(() => (!alive(leader) && processesRunning(["sleep", "1005"]).length === 0) || undefined, {
      timeoutMs: 10_000,
      intervalMs: 100,
      what: "the remote shell and both sleeps to be ended",
    });
  });

  it("16 sessions on one host at once, one of them a fast producer; the 17th is refused; heartbeats go on", async () => {
    const script = join(ROOT, "test", "fixtures", "exec-many.js");
    const run = c.topo.run(0, [process.execPath, script, join(ROOT, "dist"), host, "16", "40000000"], { env: c.env(), timeoutMs: 90_000 });
    let worstAgeMs = 0;
    let finished = false;
    void run.finally(() => (finished = true));
    // Meanwhile the host must stay ready with fresh heartbeats (interval 500 ms, TTL 3 s).
    while (!finished) {
      const h = (await c.hosts()).find((x) => x.id === host)!;
      expect(h.status).toBe("ready");
      worstAgeMs = Math.max(worstAgeMs, h.last_heartbeat_age_ms ?? Infinity);
      await new Promise((r) => setTimeout(r, 200));
    }
    const r = await run;
    expect(r.code, r.stderr).toBe(0);
    const res = JSON.parse(r.stdout) as { started: number; over: { code: number; details: string }; heavy: { code: number; bytes: number; exit: { code: number } } };
    expect(res.started).toBe(16);
    expect(res.over.code).toBe(8); // RESOURCE_EXHAUSTED
    expect(res.over.details).toMatch(/already has 16 exec sessions, the most at once/);
    expect(res.heavy).toMatchObject({ code: 0, bytes: 40_000_000, exit: { code: 0 } });
    expect(worstAgeMs).toBeLessThan(2000);
    // The client is gone: so are its 15 sleeps.
    await waitFor(() => processesRunning(["sleep", "1010"]).length === 0 || undefined, { timeoutMs: 10_000, intervalMs: 100, what: "the 15 sleeps to be ended" });
  });

  it("a revoked token ends its running exec session and its events -f within seconds, and is refused from then on", async () => {
    const created = await c.cli(["token", "create", "--role", "admin", "--description", "leaves today"]);
    expect(created.code, created.stderr).toBe(0);
    const token = created.stdout.trim();
    const id = token.split(".")[1]!;
    const follow = (args: string[]): { out: () => string; exit: Promise<number | null> } => {
      const p = c.topo.spawn(0, [process.execPath, BERTH_MAIN, ...args], { env: c.env(token) });
      strays.push(p.pid!);
      let out = "";
      p.stdout!.on("data", (b: Buffer) => (out += b.toString()));
      p.stderr!.on("data", (b: Buffer) => (out += b.toString()));
      return { out: () => out, exit: new Promise((r) => p.on("exit", (code) => r(code))) };
    };
    const session = follow(["exec", host, "--", "sh", "-c", "echo pid=$$; exec sleep 1011"]);
    const remote = Number((await waitFor(() => /pid=(\d+)/.exec(session.out()) ?? undefined, { timeoutMs: 20_000, what: "the remote pid" }))[1]);
    const events = follow(["events", "-f"]);
    await waitFor(() => /host\.joined|token\.created/.test(events.out()) || undefined, { timeoutMs: 20_000, what: "events -f to stream" });

    const listed = await c.cli(["token", "list", "-o", "json"]);
    const tokens = (JSON.parse(listed.stdout) as { tokens: { id: string; description: string; revoked_at: string | null }[] }).tokens;
    expect(tokens.find((t) => t.id === id)).toMatchObject({ description: "leaves today", revoked_at: null });
    expect(listed.stdout).not.toContain(token.split(".")[2]!);

    const revoked = await c.cli(["token", "revoke", id]);
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(revoked.stdout).toMatch(new RegExp(`admin token ${id} revoked`));
    const [sessionExit, eventsExit] = await Promise.all([
      Promise.race([session.exit, new Promise<"hung">((r) => setTimeout(() => r("hung"), 10_000))]),
      Promise.race([events.exit, new Promise<"hung">((r) => setTimeout(() => r("hung"), 10_000))]),
    ]);
    expect(sessionExit).not.toBe("hung");
    expect(eventsExit).not.toBe("hung");
    expect(session.out()).toMatch(/revoked/);
    expect(events.out()).toMatch(/revoked/);
    await waitFor(() => !alive(remote) || undefined, { timeoutMs: 10_000, intervalMs: 100, what: "the remote sleep to be ended with its session" });
    // A second revoke changes nothing and says so (exit 0: a script may run it twice).
    const again = await c.cli(["token", "revoke", id]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(new RegExp(`admin token ${id} \\(leaves today\\) was revoked already, at \\S+ by token [0-9a-f]{10}: nothing changed`));
    const refused = await c.cli(["hosts"], { token });
    expect(refused.code).toBe(4);
    expect(refused.stderr).toMatch(new RegExp(`token ${id} was revoked`));
    const all = JSON.parse((await c.cli(["token", "list", "--all", "-o", "json"])).stdout) as { tokens: { id: string; revoked_at: string | null; revoked_by: string }[] };
    expect(all.tokens.find((t) => t.id === id)?.revoked_at).toBeTruthy();
    expect(all.tokens.find((t) => t.id === id)?.revoked_by).toBe(c.adminToken.split(".")[1]);
  });

  it("a session whose host loses its controller stream is ended on the host, and the CLI says so", async (ctx) => {
    if (c.topo.skipReason) ctx.skip(); // needs a link to cut (network namespaces)
    const second = await c.hostIdOf(2);
    const cli = c.topo.spawn(0, [process.execPath, BERTH_MAIN, "exec", second, "--", "sh", "-c", "echo pid=$$; exec sleep 1006"], { env: c.env() });
    strays.push(cli.pid!);
    let out = "";
    cli.stdout!.on("data", (b: Buffer) => (out += b.toString()));
    const pid = Number((await waitFor(() => /pid=(\d+)/.exec(out) ?? undefined, { timeoutMs: 20_000, what: "the remote pid" }))[1]);
    const exited = new Promise<number | null>((r) => cli.once("exit", (code) => r(code)));
    await c.topo.partition(2);
    try {
      // The agent drops a stream it has not heard on for a TTL (3 s), ending its sessions.
      await waitFor(() => !alive(pid) || undefined, { timeoutMs: 15_000, intervalMs: 100, what: `pid ${pid} to be ended once the stream was lost` });
      expect(await exited).toBe(255);
    } finally {
      await c.topo.heal(2);
    }
    await c.waitForHosts((hs) => hs.filter((h) => h.status === "ready").length === 2, "host 2 back");
  });

  it("sessions of an agent killed with SIGKILL are ended when it starts again", async () => {
    const second = await c.hostIdOf(2);
    const cli = c.topo.spawn(0, [process.execPath, BERTH_MAIN, "exec", second, "--", "sh", "-c", "echo pid=$$; exec sleep 1008"], { env: c.env() });
    strays.push(cli.pid!);
    let out = "";
    cli.stdout!.on("data", (b: Buffer) => (out += b.toString()));
    const pid = Number((await waitFor(() => /pid=(\d+)/.exec(out) ?? undefined, { timeoutMs: 20_000, what: "the remote pid" }))[1]);
    const cliExit = new Promise<number | null>((r) => cli.once("exit", (code) => r(code)));
    const agent = c.agents.get(2)!;
    const agentExit = new Promise((r) => agent.once("exit", r));
    process.kill(agent.pid!, "SIGKILL");
    await agentExit;
    expect(await cliExit).toBe(255); // the controller ends the call: the host disconnected (berth's failure, not the command's)
    expect(alive(pid)).toBe(true); // nobody was left to end it…
    c.startAgent(2);
    // …until the agent is back: it reads what its predecessor was running.
    await waitFor(() => !alive(pid) || undefined, { timeoutMs: 15_000, intervalMs: 100, what: `pid ${pid} to be ended by the restarted agent` });
    await c.waitForHosts((hs) => hs.some((h) => h.id === second && h.connected && h.status === "ready"), "host 2 back");
  });

  it("every session is in the audit log: who, where, what, start, end, exit code; refusals too", async () => {
    const entries = await c.cliJson<AuditJson[]>(["audit", "--since", "1h"]);
    const adminId = c.adminToken.split(".")[1];
    const req = (e: AuditJson): Record<string, unknown> => JSON.parse(e.request) as Record<string, unknown>;
    const isFirst = (e: AuditJson): boolean => JSON.stringify(req(e).command) === JSON.stringify(["sh", "-c", "echo out; echo err >&2; exit 7"]);
    const start = entries.find((e) => e.method === "Exec" && isFirst(e));
    expect(start).toMatchObject({ token_id: adminId, role: "admin", code: 0 });
    expect(req(start!)).toMatchObject({ host, tty: false });
    const end = entries.find((e) => e.method === "ExecEnd" && isFirst(e))!;
    expect(end).toMatchObject({ token_id: adminId, code: 0 });
    const r = req(end);
    expect(r).toMatchObject({ host, session: req(start!).session, exit_code: 7 });
    expect(r.ended_ms as number).toBeGreaterThanOrEqual(r.started_ms as number);

    const shell = entries.find((e) => e.method === "ExecEnd" && req(e).tty === true && req(e).exit_code === 3);
    expect(shell).toBeDefined();
    const refused = entries.filter((e) => e.method === "Exec" && e.code === 7);
    expect(refused.map((e) => e.role).sort()).toEqual(["operator", "viewer"]);
    expect(refused.every((e) => /exec needs the admin role/.test(e.error))).toBe(true);
    const abandoned = entries.find((e) => e.method === "ExecEnd" && JSON.stringify(req(e).command).includes("sleep 1004"));
    expect(abandoned).toMatchObject({ code: 1, error: "the client went away" });

    // And the table shows them readably.
    const table = await c.cli(["audit", "--since", "1h"]);
    expect(table.stdout).toMatch(/ExecEnd\s+exit 7 after \S+\s+session=\d+ host=\w+ +sh -c 'echo out; echo err >&2; exit 7'/);
  });
});
