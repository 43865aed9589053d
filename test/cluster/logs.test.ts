/**
 * `berth logs -f` under flow control on a real topology: a chatty service (8 MB/s
 * of output) followed by a CLI that stops reading (SIGSTOP, as a reader piped
 * into a paused pager is) must cost neither the agent nor the controller memory,
 * and must not hold the host's heartbeats back; once the reader reads again, the
 * output flows again.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import type { ChildProcess } from "node:child_process";
import { BERTH_MAIN, Cluster } from "./harness/cluster.js";
import { BERTH_BIN } from "./harness/procs.js";
import { waitFor } from "./harness/wait.js";
import { svcSpec, tickSpec, againFollowed } from "./harness/specs.js";
import { follow, killStopped } from "./harness/procs.js";

/** Resident memory of a process, in MiB. */
function rssMiB(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : NaN;
}

describe("logs -f: flow control from the service's log file to a slow reader", () => {
  let c: Cluster;
  let host = "";
  const strays: ChildProcess[] = [];

  beforeAll(async () => {
    c = await Cluster.start({ hosts: 1 });
    host = await c.hostIdOf(1);
  });
  afterEach(async ({ task }) => {
    killStopped(strays);
    if (task.result?.state === "fail") console.error(await c?.dumpLogs());
  });
  afterAll(async () => {
    await c?.destroy();
  });

  it("piped into a reader slower than it, berth logs writes every line before it exits", async () => {
    const dir = await c.specDir("lines", { "lines.yaml": `name: lines\nrun:\n  command: sh\n  args: [-c, "seq 1 100000; exec sleep 1000"]\n` });
    const r = await c.apply(dir, ["--wait", "--timeout", "60s"]);
    expect(r.code, r.stderr).toBe(0);
    let last = "";
    await waitFor(
      async () => {
        const l = await c.cli(["logs", "lines", "--tail", "1"]);
        last = `${l.stdout}${l.stderr}`;
        return /\b100000$/m.test(l.stdout) ? true : undefined;
      },
      { timeoutMs: 30_000, what: "all 100,000 lines written" },
    ).catch((e: Error) => {
      throw new Error(`${e.message}; logs --tail 1 said last: ${last}`);
    });
    // The reader starts a second late: by then the CLI has written far more than a pipe holds.
    const piped = await c.topo.run(0, ["sh", "-c", `"$0" logs lines --tail 100000 | (sleep 1; wc -l)`, BERTH_BIN], { env: c.env(), timeoutMs: 30_000 });
    expect(piped.stderr).toBe("");
    expect(piped.stdout.trim()).toBe("100000");
    expect((await c.cli(["delete", "lines"])).code).toBe(0);
  });

  it("a stalled reader of a chatty service: agent and controller memory stay bounded, heartbeats stay fresh, and output resumes", async () => {
    const dir = await c.specDir("chatty", { "chatty.yaml": svcSpec("chatty", { args: ["chatty.js"] }) });
    const r = await c.apply(dir, ["--wait", "--timeout", "90s"]);
    expect(r.code, r.stderr).toBe(0);

    const cli = c.topo.spawn(0, [process.execPath, BERTH_MAIN, "logs", "chatty", "-f", "--tail", "1"], { env: c.env() });
    strays.push(cli);
    let got = 0;
    cli.stdout!.on("data", (b: Buffer) => (got += b.length));
    await waitFor(() => got > 1_000_000 || undefined, { timeoutMs: 30_000, what: "the first MB of followed output" });

    const agentPid = c.agents.get(1)!.pid!;
    const controllerPid = c.controller!.pid!;
    const agentBefore = rssMiB(agentPid);
    const controllerBefore = rssMiB(controllerPid);
    process.kill(cli.pid!, "SIGSTOP");

    // 30 s of a stopped reader, some 100–200 MB of output written meanwhile (the first
    // seconds fill the kernel's socket buffers, which hide a few MB).
    const until = Date.now() + 30_000;
    let worstAgeMs = 0;
    let agentPeak = agentBefore;
    let controllerPeak = controllerBefore;
    while (Date.now() < until) {
      const h = (await c.hosts()).find((x) => x.id === host)!;
      expect(h.status).toBe("ready");
      worstAgeMs = Math.max(worstAgeMs, h.last_heartbeat_age_ms ?? Infinity);
      agentPeak = Math.max(agentPeak, rssMiB(agentPid));
      controllerPeak = Math.max(controllerPeak, rssMiB(controllerPid));
      await new Promise((res) => setTimeout(res, 200));
    }
    console.log(`logs -f stalled 30 s: agent RSS ${agentBefore.toFixed(0)} → peak ${agentPeak.toFixed(0)} MiB, controller ${controllerBefore.toFixed(0)} → ${controllerPeak.toFixed(0)} MiB, worst heartbeat age ${worstAgeMs} ms`);
    expect(worstAgeMs).toBeLessThan(2000);
    expect(agentPeak - agentBefore).toBeLessThan(48);
    expect(controllerPeak - controllerBefore).toBeLessThan(48);

    // The reader reads again: the output flows again (the follower was paused, not lost).
    const before = got;
    process.kill(cli.pid!, "SIGCONT");
    await waitFor(() => got > before + 2_000_000 || undefined, { timeoutMs: 30_000, what: "output to flow again after SIGCONT" });
  });
});

describe("logs -f follows the service, not the hosts it ran on", () => {
  let c: Cluster;
  /** Where talk ran last (the first test): the second deletes it and reads what that host kept. */
  let talkHost = "";
  const strays: ChildProcess[] = [];

  beforeAll(async () => {
    c = await Cluster.start({ hosts: 2 });
  });
  afterEach(async ({ task }) => {
    for (const p of strays.splice(0)) p.kill("SIGKILL");
    if (task.result?.state === "fail") console.error(await c?.dumpLogs());
  });
  afterAll(async () => {
    await c?.destroy();
  });

  it("a copy drained to the spare host: its new copy's output follows in the same call, with a line saying where, and the old host's part ends", async () => {
    const dir = await c.specDir("talk", { "talk.yaml": svcSpec("talk") });
    const r = await c.apply(dir, ["--wait", "--timeout", "90s"]);
    expect(r.code, r.stderr).toBe(0);
    const from = (await c.status("talk")).instances[0]!.host;

    const f = follow(c.topo, 0, [process.execPath, BERTH_MAIN, "logs", "talk", "-f", "--tail", "5"], c.env());
    strays.push(f.proc);
    await waitFor(() => /listening on .* as talk-0/.test(f.out()) || undefined, { timeoutMs: 30_000, what: "the copy's start-up line in the followed output" });

    const drained = await c.cli(["drain", from, "--wait", "--timeout", "60s"]);
    expect(drained.code, drained.stderr).toBe(0);
    const to = (await c.status("talk")).instances[0]!.host;
    expect(to).not.toBe(from);

    await waitFor(() => (f.out().includes(`talk left host ${from}`) && f.out().match(/listening on .* as talk-0/g)!.length >= 2 ? true : undefined), {
      timeoutMs: 30_000,
      what: `the new copy's start-up line and the old host's end in the same call; got:\n${f.out()}\nstderr:\n${f.err()}`,
    });
    expect(f.out()).toMatch(new RegExp(`\\[berth: talk-0 runs on host ${to} now \\(pid \\d+\\): following it there\\]`));
    // The same call: it never ended and was opened again (that would say so on stderr).
    expect(f.exited()).toBeUndefined();
    expect(f.err()).not.toContain("following again");
    // Both copies spoke as talk-0: the new copy's lines name their host.
    expect(f.out()).toContain(`talk-0@${to}`);

    // The host it left kept its output (the agent's keepLogs): `--host` reads it there.
    const kept = await c.cli(["logs", "talk", "--host", from, "--tail", "5"]);
    expect(kept.code, kept.stderr).toBe(0);
    expect(kept.stdout).toMatch(/^\[berth: talk-0 left this host; its output here, last written \d{4}-\d\d-\d\dT[\d:.]+Z:\]$/m);
    expect(kept.stdout).toMatch(/listening on .* as talk-0/);
    talkHost = to;
  });

  it("a host whose agent reconnects while another host's part goes on: the same process is followed there again, in the same call", async () => {
    // Every host free for this service: the drain above left one cordoned.
    for (const h of await c.hosts()) if (h.status === "cordoned" || h.cordoned) expect((await c.cli(["uncordon", h.id])).code).toBe(0);
    expect((await c.cli(["delete", "talk"])).code).toBe(0);
    // A deleted service: the host it last ran on still shows what it kept of it.
    const gone = await waitFor(
      async () => {
        const l = await c.cli(["logs", "talk", "--host", talkHost, "--tail", "5"]);
        if (!l.stdout.includes("talk is not a service")) throw new Error(`exit ${l.code}: ${l.stdout} ${l.stderr}`);
        return l;
      },
      { timeoutMs: 30_000, intervalMs: 250, what: `logs of the deleted talk on ${talkHost}` },
    );
    expect(gone.code, gone.stderr).toBe(0);
    expect(gone.stdout).toMatch(/^\[berth: talk-0 left this host; its output here, last written /m);
    expect(gone.stdout).toMatch(/listening on .* as talk-0/);
    const r = await c.apply(await c.specDir("tick", { "tick.yaml": tickSpec("tick", 2) }), ["--wait", "--timeout", "90s"]);
    expect(r.code, r.stderr).toBe(0);
    const before = await c.status("tick");
    const one = before.instances.find((i) => i.slot === 1)!;
    const agentIndex = (await c.hostIdOf(1)) === one.host ? 1 : 2;

    const f = follow(c.topo, 0, [process.execPath, BERTH_MAIN, "logs", "tick", "-f", "--tail", "1"], c.env());
    strays.push(f.proc);
    await waitFor(() => (/tick tick-0/.test(f.out()) && /tick tick-1/.test(f.out()) ? true : undefined), { timeoutMs: 30_000, what: "both copies' lines in the followed output" });

    // tick-1's agent restarts cleanly: its copy keeps running (same pid), its stream is a new one.
    await c.stopAgent(agentIndex);
    const cut = f.out().length;
    c.startAgent(agentIndex);
    await waitFor(() => (againFollowed(f.out().slice(cut), one.host, "tick-1", one.pid) ? true : undefined), {
      timeoutMs: 30_000,
      what: `tick-1's lines again after its agent came back; got:\n${f.out().slice(cut)}\nstderr:\n${f.err()}`,
    });
    expect((await c.status("tick")).instances.find((i) => i.slot === 1)!.pid).toBe(one.pid);
    // The same call throughout: tick-0's part kept it open.
    expect(f.exited()).toBeUndefined();
    expect(f.err()).not.toContain("following again");
    expect((await c.cli(["delete", "tick"])).code).toBe(0);
  });
});
