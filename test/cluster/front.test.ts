/**
 * `berth controller --front haproxy`: Debian's HAProxy ends TLS and HTTP/2 on the
 * controller's port and carries every call to the controller over its Unix socket;
 * the controller still decides who a caller is, from the certificate HAProxy passes.
 * Loopback addresses, so this test process can speak gRPC to the port itself.
 */
import { execFile, type ChildProcess } from "node:child_process";
import { cp, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import * as grpc from "@grpc/grpc-js";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { BERTH_MAIN, Cluster } from "./harness/cluster.js";
import { recentOutput } from "./harness/topology.js";
import { killStopped } from "./harness/procs.js";
import { Group } from "./harness/group.js";
import { SVC, svcSpec } from "./harness/specs.js";
import { waitFor } from "./harness/wait.js";
import { loadProtos } from "../../shared/proto.js";
import { channelOptions, createCa, createKeyAndCsr, grpcClientCredentials, signHostCsr } from "../../shared/tls/pki.js";
import type { AgentServiceClient } from "../../shared/gen/berth/v1/AgentService.js";
import { PEER_ADDR_HEADER, PEER_CERT_HEADER } from "../../controller/member/front.js";

const run = promisify(execFile);

type Status = { code: number; details: string };

/** Pids of processes whose command line names this file (HAProxy on the controller's configuration). */
async function pidsRunning(cfg: string): Promise<number[]> {
  const r = await run("pgrep", ["-f", cfg]).catch((e: { stdout?: string }) => ({ stdout: e.stdout ?? "" }));
  return r.stdout.split("\n").filter(Boolean).map(Number);
}

describe("controller --front haproxy", () => {
  let c: Cluster;
  let ca = "";
  const clients: grpc.Client[] = [];
  let cfg = "";

  beforeAll(async () => {
    c = await Cluster.start({ hosts: 2, mode: "loopback", controllerArgs: ["--front", "haproxy"] });
    ca = await readFile(c.caFile, "utf8");
    cfg = join(c.ctlDir, "front", "haproxy.cfg");
  });
  afterEach(async ({ task }) => {
    if (task.result?.state === "fail") console.error(await c?.dumpLogs());
  });
  afterAll(async () => {
    for (const cl of clients) cl.close();
    await c?.destroy();
  });

  function agentClient(cert?: { certPem: string; keyPem: string }): AgentServiceClient {
    const cl = new (loadProtos().agent.berth.v1.AgentService)(c.controllerAddr, grpcClientCredentials(ca, cert), channelOptions());
    clients.push(cl);
    return cl;
  }

  function streamStatus(cl: AgentServiceClient, md: grpc.Metadata, hostId: string): Promise<Status> {
    return new Promise((resolve) => {
      const call = cl.Connect(md, { deadline: Date.now() + 10_000 });
      call.on("data", () => undefined);
      call.on("error", (e) => resolve(e as unknown as Status));
      call.on("end", () => resolve({ code: 0, details: "ended" }));
      call.write({ hello: { host_id: hostId } });
    });
  }

  it("HAProxy holds the port; agents join and keep their streams through it, each seen at its own address", async () => {
    const port = c.controllerAddr.split(":").pop()!;
    const { stdout } = await run("ss", ["-ltnpH", `sport = :${port}`]);
    expect(stdout).toMatch(/haproxy/);
    expect(stdout).not.toMatch(/"node"/);
    const hosts = await c.hosts();
    expect(hosts.map((h) => h.status)).toEqual(["ready", "ready"]);
    // The peer address HAProxy passes, not the socket's "unknown": what `hosts` shows, and services are reached at.
    expect(new Set(hosts.map((h) => h.address))).toEqual(new Set([c.topo.hostAddr(1), c.topo.hostAddr(2)]));
  });

  it("a service runs; logs and exec reach its host through HAProxy", async () => {
    const dir = await c.specDir("web", { "web.yaml": svcSpec("web", { instances: 2 }) });
    const r = await c.apply(dir, ["--wait", "--timeout", "60s"]);
    expect(r.code, r.stderr).toBe(0);
    const logs = await c.cli(["logs", "web", "--tail", "20"]);
    expect(logs.code, logs.stderr).toBe(0);
    const ex = await c.cli(["exec", "--service", "web", "--", "echo", "through-the-front"]);
    expect(ex.code, ex.stderr).toBe(0);
    expect(ex.stdout).toContain("through-the-front");
  });

  it("a header naming another host's certificate is HAProxy's to set: a caller without one is refused, one with a foreign CA's too", async () => {
    const hostId = await c.hostIdOf(1);
    const der = Buffer.from((await readFile(join(c.hostDir(1), "identity", "host.crt"), "utf8")).replace(/-----[^-]+-----|\s/g, ""), "base64");
    const md = new grpc.Metadata();
    md.set(PEER_CERT_HEADER, der.toString("base64"));
    md.set(PEER_ADDR_HEADER, "10.9.9.9:1");
    const forged = await streamStatus(agentClient(), md, hostId);
    expect(forged.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(forged.details).toMatch(/client certificate is required/);
    const foreign = await createCa({ commonName: "evil" });
    const { keyPem, csrPem } = await createKeyAndCsr("evil");
    const certPem = await signHostCsr(foreign, csrPem, hostId);
    const theirs = await streamStatus(agentClient({ certPem, keyPem }), new grpc.Metadata(), hostId);
    expect(theirs.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(theirs.details).toMatch(/client certificate refused/);
    // Host 1 itself was never disturbed.
    expect((await c.hosts()).find((h) => h.id === hostId)?.status).toBe("ready");
  });

  it("a CA rotation reaches HAProxy: once the old CA is retired it serves the new one's certificate, and agents stay connected", async () => {
    const rot = await c.cli(["ca", "rotate", "--spread", "1s"]);
    expect(rot.code, rot.stderr).toBe(0);
    const done = await waitFor(
      async () => {
        const s = await c.cli(["ca", "status", "-o", "json"]);
        const j = s.code === 0 ? (JSON.parse(s.stdout) as { phase: string; bundle_pem: string }) : undefined;
        return j?.phase === "idle" ? j : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 250, what: "the rotation to complete" },
    );
    // A client that trusts the new CA alone: HAProxy must have reloaded with a certificate of it.
    const newCa = join(c.dir, "new-ca.crt");
    await writeFile(newCa, done.bundle_pem);
    const saved = c.caFile;
    c.caFile = newCa;
    try {
      await waitFor(async () => ((await c.cli(["hosts"])).code === 0 ? true : undefined), { timeoutMs: 15_000, intervalMs: 250, what: "the port to serve the new CA's certificate" });
    } finally {
      c.caFile = saved;
    }
    // An agent reconnecting now (a new connection, to HAProxy's new worker) is let in on its renewed certificate.
    await c.stopAgent(1);
    c.startAgent(1);
    await c.waitForHosts((hs) => hs.length === 2 && hs.every((h) => h.connected && h.status === "ready"), "both hosts connected after the rotation", 30_000);
  });

  it("a controller killed leaves its HAProxy, which the next start on the data dir replaces; one stopped takes it along", async () => {
    const before = await pidsRunning(cfg);
    expect(before.length).toBeGreaterThan(0);
    // SIGKILL to the controller alone: nothing stops its child.
    const killed = c.controller!;
    const gone = new Promise<void>((resolve) => killed.once("exit", () => resolve()));
    process.kill(killed.pid!, "SIGKILL");
    await gone;
    expect((await pidsRunning(cfg)).length).toBeGreaterThan(0);
    await c.startController();
    const after = await pidsRunning(cfg);
    expect(after.length).toBeGreaterThan(0);
    expect(after.filter((p) => before.includes(p))).toEqual([]);
    await c.waitForHosts((hs) => hs.filter((h) => h.status === "ready").length === 2, "2 ready hosts again");
    const proc = c.controller!;
    const stopped = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
    proc.kill("SIGTERM");
    await stopped;
    expect(await pidsRunning(cfg)).toEqual([]);
    await c.startController();
  });
});

/** Connections open to the controller's socket (HAProxy's to this process), from the server's side. */
async function socketConns(socket: string): Promise<number> {
  const { stdout } = await run("ss", ["-xH", "state", "connected", "src", socket]);
  return stdout.split("\n").filter(Boolean).length;
}

describe("behind HAProxy, a caller that stops reading holds up nobody else", () => {
  let c: Cluster;
  const strays: ChildProcess[] = [];

  beforeAll(async () => {
    c = await Cluster.start({ hosts: 2, mode: "loopback", controllerArgs: ["--front", "haproxy"] });
  });
  afterEach(async ({ task }) => {
    killStopped(strays);
    if (task.result?.state === "fail") console.error(await c?.dumpLogs());
  });
  afterAll(async () => {
    await c?.destroy();
  });

  it("an assignment larger than an agent's read window: the agent answers the read receipts, and its stream stays up", async () => {
    const since = Date.now();
    // ~40 KB of environment: the host's assignment alone is more than the 16 KiB the controller leaves unread.
    const dir = await c.specDir("big", { "big.yaml": svcSpec("big", { env: { BIG: "x".repeat(40_000) } }) });
    const r = await c.apply(dir, ["--wait", "--timeout", "60s"]);
    expect(r.code, r.stderr).toBe(0);
    const st = await c.waitForStatus("big", (s) => s.instances.some((i) => i.state === "healthy"), "big healthy");
    const host = st.instances[0]!.host;
    // Past the agent's watchdog (a TTL, 3 s here): had it not answered, the heartbeat acks dropped
    // once the assignment filled its window would have ended its stream ("no word from the
    // controller"), and it would have connected again.
    const until = Date.now() + 8_000;
    while (Date.now() < until) {
      const h = (await c.hosts()).find((x) => x.id === host)!;
      expect(h.status).toBe("ready");
      expect(h.last_heartbeat_age_ms ?? Infinity).toBeLessThan(3000);
      await new Promise((res) => setTimeout(res, 500));
    }
    for (const [i, p] of c.agents) {
      const lines = recentOutput(p).stdout.split("\n").filter((l) => l.includes('"msg":"connected"') && Date.parse(/"time":"([^"]+)"/.exec(l)?.[1] ?? "") >= since);
      expect(lines, `host ${i} connected again`).toEqual([]);
    }
    expect((await c.cli(["delete", "big"])).code).toBe(0);
  });

  it("a stopped `logs -f` of a chatty service: agents' streams, operators' calls and an apply go on; calls' own connections close with them", async () => {
    const socket = join(c.ctlDir, "front", "controller.sock");
    // The agents' streams' connections, before any call of this test.
    const agentsOnly = await socketConns(socket);
    // An artifact no host has yet (one more file): the host downloads it, on a connection of its own.
    const art = join(c.dir, "chatty-artifact");
    await cp(SVC, art, { recursive: true });
    await writeFile(join(art, "fresh.txt"), `${Date.now()}\n`);
    const dir = await c.specDir("chatty", { "chatty.yaml": svcSpec("chatty", { args: ["chatty.js"] }).replace(`artifact: ${SVC}`, `artifact: ${art}`) });
    const r = await c.apply(dir, ["--wait", "--timeout", "90s"]);
    expect(r.code, r.stderr).toBe(0);
    // The apply's calls and the artifact's download had connections of their own, closed since.
    let conns = 0;
    await waitFor(async () => ((conns = await socketConns(socket)) <= agentsOnly ? true : undefined), { timeoutMs: 10_000, intervalMs: 200, what: `the calls' own connections to close (${agentsOnly} for the agents)` }).catch(async (e: Error) => {
      throw new Error(`${e.message}: ${conns} open: ${(await run("ss", ["-xp"])).stdout.split("\n").filter((l) => l.includes("controller.sock") || l.includes("haproxy")).join("\n")}`);
    });

    const cli = c.topo.spawn(0, [process.execPath, BERTH_MAIN, "logs", "chatty", "-f", "--tail", "1"], { env: c.env() });
    strays.push(cli);
    let got = 0;
    cli.stdout!.on("data", (b: Buffer) => (got += b.length));
    await waitFor(() => got > 1_000_000 || undefined, { timeoutMs: 30_000, what: "the first MB of followed output" });
    process.kill(cli.pid!, "SIGSTOP");

    // 15 s of a stopped reader while the service writes MBs a second: through HAProxy 2.6 with one
    // connection for all, its stream's data blocked every other (session 43: `apply` could not reach
    // the controller, a host was marked down).
    const until = Date.now() + 15_000;
    let worstAgeMs = 0;
    while (Date.now() < until) {
      const hs = await c.hosts();
      expect(hs.map((h) => h.status)).toEqual(["ready", "ready"]);
      worstAgeMs = Math.max(worstAgeMs, ...hs.map((h) => h.last_heartbeat_age_ms ?? Infinity));
      await new Promise((res) => setTimeout(res, 500));
    }
    // Within the TTL (3 s): a host whose stream was held up would be marked down past it.
    expect(worstAgeMs).toBeLessThan(3000);
    const web = await c.specDir("web", { "web.yaml": svcSpec("web") });
    const w = await c.apply(web, ["--wait", "--timeout", "60s"]);
    expect(w.code, w.stderr).toBe(0);
    const ex = await c.cli(["exec", "--service", "chatty", "--", "echo", "still-here"]);
    expect(ex.code, ex.stderr).toBe(0);
    expect(ex.stdout).toContain("still-here");

    // The reader reads again: its output flows again (it was held, not lost).
    const before = got;
    process.kill(cli.pid!, "SIGCONT");
    await waitFor(() => got > before + 2_000_000 || undefined, { timeoutMs: 30_000, what: "output to flow again after SIGCONT" });
  });
});

describe("behind HAProxy, an agent that stops reading holds up no other agent", () => {
  let c: Cluster;
  let stopped: number | undefined;

  beforeAll(async () => {
    // A TTL longer than the test's pause: the stopped host stays ready, so it is still sent to.
    c = await Cluster.start({ hosts: 2, mode: "loopback", ttl: "30s", controllerArgs: ["--front", "haproxy"] });
  });
  afterEach(async ({ task }) => {
    if (stopped !== undefined) process.kill(stopped, "SIGCONT");
    stopped = undefined;
    if (task.result?.state === "fail") console.error(await c?.dumpLogs());
  });
  afterAll(async () => {
    await c?.destroy();
  });

  it("assignments for a stopped agent wait in the controller past its window; the other host's rollout goes on, and the stopped one, read again, gets what waited", async () => {
    const filler = await c.specDir("filler", { "filler.yaml": svcSpec("filler") });
    const f = await c.apply(filler, ["--wait", "--timeout", "60s"]);
    expect(f.code, f.stderr).toBe(0);
    const st = await c.waitForStatus("filler", (s) => s.instances.some((i) => i.state === "healthy"), "filler healthy");
    const busy = st.instances[0]!.host;
    const idle = (await c.hostIdOf(1)) === busy ? 2 : 1;
    const pid = c.agents.get(idle)!.pid!;
    process.kill(pid, "SIGSTOP");
    stopped = pid;
    // Three revisions of a service with ~40 KB of environment, for the one free host, the stopped
    // one: the first goes (all before it was read), the next two wait in the controller for read
    // receipts. (Not enough to block HAProxy without the window: the agent's own 64 KiB HTTP/2
    // window and HAProxy's buffers take ~120 KB in. The unit tests hold the bound itself.)
    for (let v = 1; v <= 3; v++) {
      const dir = await c.specDir(`big${v}`, { "big.yaml": svcSpec("big", { env: { BIG: String(v).repeat(40_000) } }) });
      const r = await c.apply(dir, []);
      expect(r.code, r.stderr).toBe(0);
    }
    // The other host's stream still carries what it is sent: a rolling restart there completes.
    const rr = await c.cli(["restart", "filler", "-w", "--timeout", "20s"]);
    expect(rr.code, `${rr.stdout}${rr.stderr}`).toBe(0);
    // Read again, the stopped agent gets what waited: the latest revision runs.
    process.kill(pid, "SIGCONT");
    stopped = undefined;
    await c.waitForStatus("big", (s) => s.revision === 3 && s.instances.some((i) => i.state === "healthy" && i.revision === 3), "big's third revision healthy on the host that was stopped", 60_000);
  });
});

describe("a controller group on etcd, every member --front haproxy", () => {
  let g: Group;

  beforeAll(async () => {
    g = await Group.start({ controllers: 3, hosts: 2, controllerArgs: ["--front", "haproxy"] });
  });
  afterEach(async ({ task }) => {
    if (task.result?.state === "fail") console.error(await g?.dumpLogs());
  });
  afterAll(async () => {
    await g?.destroy();
  });

  it("calls relayed between members go through their fronts; the member holding a host's stream killed -9, the agent moves on and its instance runs on", async () => {
    const dir = await g.specDir("web", { "web.yaml": svcSpec("web", { instances: 1 }) });
    const r = await g.apply(dir, ["--wait", "--timeout", "60s"]);
    expect(r.code, r.stderr).toBe(0);
    const st = await g.waitForStatus("web", (s) => s.instances.some((i) => i.state === "healthy"), "web healthy");
    const inst = st.instances.find((i) => i.state === "healthy")!;
    const hs = await g.waitForHosts((h) => h.some((x) => x.id === inst.host && x.connected && x.member !== ""), `host ${inst.host} connected`);
    const holder = g.index(hs.find((h) => h.id === inst.host)!.member);
    const other = [...g.controllers.keys()].find((i) => i !== holder)!;
    // Through a member that does not hold the host's stream: it relays to the holder, member certificate and all, front to front.
    const ex = await g.cli(["exec", inst.host, "--", "echo", "relayed"], { members: g.addr(other) });
    expect(ex.code, ex.stderr).toBe(0);
    expect(ex.stdout).toBe("relayed\n");
    const logs = await g.cli(["logs", "web"], { members: g.addr(other) });
    expect(logs.code, logs.stderr).toBe(0);
    // The holder and its HAProxy killed together (its process group): the agent reconnects to another member's front.
    await g.kill(holder);
    const moved = await g.waitForHosts((h) => h.some((x) => x.id === inst.host && x.connected && x.member !== "" && x.member !== g.name(holder)), `host ${inst.host} on another member`);
    expect(moved.find((h) => h.id === inst.host)?.status).toBe("ready");
    const after = await g.waitForStatus("web", (s) => s.instances.some((i) => i.state === "healthy"), "web healthy after the move");
    expect(after.instances.map((i) => [i.host, i.pid, i.epoch])).toEqual([[inst.host, inst.pid, inst.epoch]]);
  });
});
