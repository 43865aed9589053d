/**
 * Every refusal of the security model against a real controller process over
 * real TLS: each is refused with a clear error, stores nothing, and the
 * controller keeps serving everyone else. Runs on loopback addresses so this
 * test process can speak gRPC to the controller itself (raw bytes included).
 */
import * as grpc from "@grpc/grpc-js";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import { join as pathJoin } from "node:path";
import { Cluster } from "./harness/cluster.js";
import { waitFor } from "./harness/wait.js";
import { loadProtos } from "../../shared/proto.js";
import { channelOptions, createCa, createKeyAndCsr, grpcClientCredentials, signHostCsr } from "../../shared/tls/pki.js";
import type { AgentServiceClient } from "../../shared/gen/berth/v1/AgentService.js";
import type { JoinResponse__Output } from "../../shared/gen/berth/v1/JoinResponse.js";
import type { ControllerMessage__Output } from "../../shared/gen/berth/v1/ControllerMessage.js";
import type { AgentMessage } from "../../shared/gen/berth/v1/AgentMessage.js";
import type { HostFacts } from "../../shared/gen/berth/v1/HostFacts.js";

type Status = { code: number; details: string };

const FACTS: HostFacts = { hostname: "probe", cpu_cores: 1, memory_total_bytes: 1024 };

describe("security: refusals against a real controller", () => {
  let c: Cluster;
  let ca = "";
  const clients: grpc.Client[] = [];

  beforeAll(async () => {
    c = await Cluster.start({ hosts: 1, mode: "loopback" });
    ca = await readFile(c.caFile, "utf8");
  });
  afterEach(async ({ task }) => {
    if (task.result?.state === "fail") console.error(await c?.dumpLogs());
  });
  afterAll(async () => {
    for (const cl of clients) cl.close();
    await c?.destroy();
  });

  function agentClient(cert?: { certPem: string; keyPem: string }, caPem = ca): AgentServiceClient {
    const cl = new (loadProtos().agent.berth.v1.AgentService)(c.controllerAddr, grpcClientCredentials(caPem, cert), channelOptions());
    clients.push(cl);
    return cl;
  }

  function join(token: string, csrPem: string, facts: HostFacts = FACTS): Promise<JoinResponse__Output> {
    return new Promise((resolve, reject) =>
      agentClient().Join({ token, csr_pem: csrPem, facts, labels: {} }, { deadline: Date.now() + 10_000 }, (err, res) => (err || !res ? reject(err) : resolve(res))),
    );
  }

  async function joinFails(token: string, facts?: HostFacts): Promise<Status> {
    const { csrPem } = await createKeyAndCsr("probe");
    try {
      await join(token, csrPem, facts);
    } catch (e) {
      return e as Status;
    }
    throw new Error("join was accepted");
  }

  /** Opens a stream, sends msgs, resolves with the status the controller ends it with. */
  function streamStatus(cl: AgentServiceClient, msgs: AgentMessage[]): Promise<{ status: Status; got: ControllerMessage__Output[] }> {
    return new Promise((resolve) => {
      const got: ControllerMessage__Output[] = [];
      const call = cl.Connect({ deadline: Date.now() + 10_000 });
      call.on("data", (m: ControllerMessage__Output) => got.push(m));
      call.on("error", (e) => resolve({ status: e as unknown as Status, got }));
      call.on("end", () => resolve({ status: { code: 0, details: "ended" }, got }));
      for (const m of msgs) call.write(m);
    });
  }

  async function stateSnapshot(): Promise<{ hosts: number; joined: number }> {
    const hosts = await c.hosts();
    const events = await c.events();
    return { hosts: hosts.length, joined: events.filter((e) => e.type === "host.joined").length };
  }

  it("refuses an agent stream without a client certificate", async () => {
    const { status } = await streamStatus(agentClient(), [{ hello: { host_id: "x" } }]);
    expect(status.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(status.details).toMatch(/client certificate is required/);
  });

  it("refuses a client certificate from a foreign CA", async () => {
    const foreign = await createCa({ commonName: "evil" });
    const { keyPem, csrPem } = await createKeyAndCsr("evil");
    const certPem = await signHostCsr(foreign, csrPem, "deadbeef0001");
    const { status } = await streamStatus(agentClient({ certPem, keyPem }), [{ hello: { host_id: "deadbeef0001" } }]);
    // TLS lets the handshake finish (the port also serves Join), so the handler sees no verified certificate.
    expect(status.code).toBe(grpc.status.UNAUTHENTICATED);
  });

  it("refuses joins with a wrong, expired, used-up or non-join token, storing nothing", async () => {
    const before = await stateSnapshot();
    const good = await c.joinToken(1);
    const wrongSecret = good.replace(/\.([A-Za-z0-9_-])([A-Za-z0-9_-]{31})$/, (_m, a: string, rest: string) => `.${a === "A" ? "B" : "A"}${rest}`);
    expect((await joinFails(wrongSecret)).details).toMatch(/unknown token/);
    expect((await joinFails(c.adminToken)).details).toMatch(/not a join token/);
    expect((await joinFails("bj1.garbage")).details).toMatch(/malformed token/);

    const made = await c.cliJson<{ token: string; expires_at_ms: number }>(["token", "create", "--role", "agent", "--ttl", "1s"]);
    await waitFor(() => Date.now() > made.expires_at_ms + 50, { timeoutMs: 10_000, intervalMs: 100, what: "the 1s token to expire" });
    expect((await joinFails(made.token)).details).toMatch(/token expired/);

    const once = await c.joinToken(1);
    const { csrPem } = await createKeyAndCsr("probe");
    const first = await join(once, csrPem);
    expect(first.host_id).toMatch(/^[0-9a-f]{12}$/);
    const used = await joinFails(once);
    expect(used.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(used.details).toMatch(/token used up/);

    const after = await stateSnapshot();
    expect(after.hosts).toBe(before.hosts + 1); // only the one accepted join
    expect(after.joined).toBe(before.joined + 1);
  });

  it("a real agent with a bad token exits with a clear message and exit code 4", async () => {
    const forged = (await c.joinToken(1)).replace(/^bj1\.[0-9a-f]{64}/, `bj1.${"0".repeat(64)}`);
    const r = await c.topo.run(1, [process.execPath, "dist/cli/main.js", "agent", "--controller", c.controllerAddr, "--token", forged, "--data-dir", `${c.dir}/rogue`, "--log-level", "silent"], { timeoutMs: 30_000 });
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/join refused: .*CA|fingerprint/i);
  });

  it("refuses malformed and oversized messages and invalid content, naming the field", async () => {
    const raw = new grpc.Client(c.controllerAddr, grpcClientCredentials(ca), channelOptions());
    clients.push(raw);
    const rawCall = (payload: Buffer): Promise<Status> =>
      new Promise((resolve) =>
        raw.makeUnaryRequest(
          "/berth.v1.AgentService/Join",
          (b: Buffer) => b,
          (b: Buffer) => b,
          payload,
          new grpc.Metadata(),
          { deadline: Date.now() + 10_000 },
          (err) => resolve((err ?? { code: 0, details: "accepted" }) as Status),
        ),
      );
    const garbage = await rawCall(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x01, 0x02]));
    expect(garbage.code).not.toBe(0);
    expect([grpc.status.INTERNAL, grpc.status.INVALID_ARGUMENT]).toContain(garbage.code);
    const huge = await rawCall(Buffer.alloc(2 * 1024 * 1024, 0x41));
    expect(huge.code).toBe(grpc.status.RESOURCE_EXHAUSTED);

    const token = await c.joinToken(3);
    const badFacts = await joinFails(token, { ...FACTS, hostname: "h".repeat(5000), cpu_speed_ghz: -1 });
    expect(badFacts.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(badFacts.details).toMatch(/facts\.hostname/);
    expect(badFacts.details).toMatch(/facts\.cpu_speed_ghz/);
    const badCsr = await new Promise<Status>((resolve) =>
      agentClient().Join({ token, csr_pem: "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----", facts: FACTS }, (err) => resolve(err as unknown as Status)),
    );
    expect(badCsr.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(badCsr.details).toMatch(/csr_pem/);

    // With a valid certificate: a hello for another host, a heartbeat before hello, a bloated hello.
    const { keyPem, csrPem } = await createKeyAndCsr("probe");
    const joined = await join(token, csrPem);
    const mine = agentClient({ certPem: joined.certificate_pem, keyPem });
    const other = await streamStatus(mine, [{ hello: { host_id: "000000000000", facts: FACTS } }]);
    expect(other.status.code).toBe(grpc.status.PERMISSION_DENIED);
    const early = await streamStatus(mine, [{ heartbeat: { seq: 1 } }]);
    expect(early.status.code).toBe(grpc.status.FAILED_PRECONDITION);
    const bloated = await streamStatus(mine, [{ hello: { host_id: joined.host_id, facts: FACTS, labels: { "Not A Label": "x" } } }]);
    expect(bloated.status.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(bloated.status.details).toMatch(/hello\.labels/);
  });

  it("refuses operator calls without a token, with a bad one, or with too weak a role", async () => {
    const noToken = await c.cli(["hosts"], { token: "" });
    expect(noToken.code).toBe(2); // local: nothing to send
    const bogus = await c.cli(["hosts"], { token: "bt1.0123456789.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" });
    expect(bogus.code).toBe(4);
    expect(bogus.stderr).toMatch(/refused the token: unknown token/);
    const joinAsBearer = await c.cli(["hosts"], { token: await c.joinToken(1) });
    expect(joinAsBearer.code).toBe(4);
    expect(joinAsBearer.stderr).toMatch(/join token cannot call the operator API/);

    const viewer = (await c.cli(["token", "create", "--role", "viewer"])).stdout.trim();
    const [h] = await c.hosts();
    const ro = await c.cli(["hosts", "-o", "json"], { token: viewer });
    expect(ro.code).toBe(0);
    const cordon = await c.cli(["cordon", h!.id], { token: viewer });
    expect(cordon.code).toBe(4);
    expect(cordon.stderr).toMatch(/needs the operator role; the token has viewer/);
    const mint = await c.cli(["token", "create", "--role", "admin"], { token: viewer });
    expect(mint.code).toBe(4);
    expect((await c.hosts()).find((x) => x.id === h!.id)!.cordoned).toBe(false);

    // Raw call without any authorization header.
    const op = new (loadProtos().operator.berth.v1.OperatorService)(c.controllerAddr, grpcClientCredentials(ca), channelOptions());
    clients.push(op);
    const st = await new Promise<Status>((resolve) => op.ListHosts({}, (err) => resolve(err as unknown as Status)));
    expect(st.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(st.details).toMatch(/no bearer token/);
  });

  it("concurrent joins with one token all succeed, and its uses are counted exactly", async () => {
    const token = await c.joinToken(20);
    const csrs = await Promise.all(Array.from({ length: 21 }, () => createKeyAndCsr("rack")));
    const results = await Promise.allSettled(csrs.map((k) => join(token, k.csrPem)));
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(20);
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
    expect(refused).toHaveLength(1);
    expect((refused[0]!.reason as Status).details).toMatch(/token used up/);
  });

  it("every mutating call is in the audit log with who made it, refusals included", async () => {
    type Entry = { token_id: string; role: string; method: string; code: number; error: string; request: string };
    const entries = await c.cliJson<Entry[]>(["audit", "--since", "1h"]);
    const adminId = c.adminToken.split(".")[1];
    const created = entries.filter((e) => e.method === "CreateToken" && e.code === 0);
    expect(created.length).toBeGreaterThan(0);
    expect(created.every((e) => e.token_id === adminId && e.role === "admin")).toBe(true);
    const refused = entries.find((e) => e.method === "Cordon" && e.role === "viewer");
    expect(refused?.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(refused?.error).toMatch(/needs the operator role/);
    // Reading is not auditing: no ListHosts entries of identified callers (an unidentified
    // caller's refusals are, summed per address and minute); viewers may not read the audit log.
    expect(entries.some((e) => e.method === "ListHosts" && e.token_id !== "")).toBe(false);
    const viewer = (await c.cli(["token", "create", "--role", "viewer"])).stdout.trim();
    expect((await c.cli(["audit"], { token: viewer })).code).toBe(4);
  });

  it("a host cannot log events for a copy another host runs, nor send a log error longer than 4 KiB", { timeout: 90_000 }, async () => {
    // A copy on the real host (dc=dc1; the forger has no labels).
    const dir = await c.specDir("victim", { "victim.yaml": "name: victim\nrun:\n  command: sleep\n  args: ['100000']\n  stopTimeout: 1s\nconstraints: { dc: dc1 }\n" });
    expect((await c.apply(dir)).code).toBe(0);
    const st = await c.waitForStatus("victim", (x) => x.instances[0]?.state === "healthy", "victim healthy on the real host");
    const copy = st.instances[0]!;

    const token = await c.joinToken(1);
    const { keyPem, csrPem } = await createKeyAndCsr("forger");
    const joined = await join(token, csrPem);
    const forger = agentClient({ certPem: joined.certificate_pem, keyPem });
    const forged = { service: "victim", instance: copy.instance, epoch: copy.epoch, revision: copy.revision, detail: "FORGED", restarts: 0, since_ms: Date.now(), age_ms: 0, pid: 1, resources_enforced: false, resources_note: "", install_tail: "" };
    const ended = await streamStatus(forger, [
      { hello: { host_id: joined.host_id, facts: FACTS, labels: {} } },
      { instance_status: { ...forged, state: "failed" } },
      { instance_status: { ...forged, state: "healthy" } },
      { log_chunk: { request_id: "1", data: "", eof: false, error: "E".repeat(5000) } },
    ]);
    expect(ended.status.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(ended.status.details).toMatch(/log_chunk\.error: longer than 4096 characters/);
    // Every message before the bad one was handled (in order): none of the forged reports is an event.
    const events = await c.events();
    expect(events.filter((e) => e.host === joined.host_id && e.type.startsWith("instance."))).toEqual([]);
    expect(events.some((e) => e.message.includes("FORGED"))).toBe(false);
    expect((await c.status("victim")).instances[0]).toMatchObject({ state: "healthy", epoch: copy.epoch });
    expect((await c.cli(["delete", "victim"])).code).toBe(0);
  });

  it("a host may have at most 4 artifact downloads open at once", { timeout: 90_000 }, async () => {
    // An artifact larger than what a call buffers, so a download the host does not read stays open.
    const app = pathJoin(c.dir, "big-app");
    await mkdir(app, { recursive: true });
    await writeFile(pathJoin(app, "blob"), randomBytes(12 * 1024 * 1024));
    const dir = await c.specDir("big", { "big.yaml": `name: big\nartifact: ${app}\nrun:\n  command: sleep\n  args: ['100000']\nconstraints: { dc: dc1 }\ninstances: 0\n` });
    const applied = await c.apply(dir);
    expect(applied.code, applied.stderr).toBe(0);
    const sha = (await readdir(pathJoin(c.ctlDir, "artifacts"))).find((n) => /^[0-9a-f]{64}$/.test(n))!;
    expect(sha).toBeDefined();

    const token = await c.joinToken(1);
    const { keyPem, csrPem } = await createKeyAndCsr("hoarder");
    const joined = await join(token, csrPem);
    const hoarder = agentClient({ certPem: joined.certificate_pem, keyPem });
    const calls: grpc.ClientReadableStream<unknown>[] = [];
    const firstChunk = (call: grpc.ClientReadableStream<unknown>): Promise<string> =>
      new Promise((resolve) => {
        call.once("data", () => {
          call.pause(); // and never read on
          resolve("data");
        });
        call.once("error", (e: Status) => resolve(`${e.code} ${e.details}`));
      });
    try {
      for (let i = 0; i < 4; i++) {
        const call = hoarder.FetchArtifact({ sha256: sha });
        calls.push(call);
        expect(await firstChunk(call)).toBe("data");
      }
      const fifth = hoarder.FetchArtifact({ sha256: sha });
      calls.push(fifth);
      expect(await firstChunk(fifth)).toMatch(new RegExp(`^${grpc.status.RESOURCE_EXHAUSTED} host ${joined.host_id} has 4 artifact downloads open already`));
      // Cancelling one frees its place.
      calls[0]!.cancel();
      await waitFor(
        async () => {
          const again = hoarder.FetchArtifact({ sha256: sha });
          calls.push(again);
          return (await firstChunk(again)) === "data" ? true : undefined;
        },
        { timeoutMs: 10_000, intervalMs: 200, what: "a download once one was cancelled" },
      );
    } finally {
      for (const call of calls) call.cancel();
    }
    expect((await c.cli(["delete", "big"])).code).toBe(0);
  });

  it("kept serving everyone else through all of it", async () => {
    const hs = await c.waitForHosts((x) => x.some((h) => h.address === c.topo.hostAddr(1) && h.status === "ready" && h.connected), "the real agent still ready");
    const real = hs.find((h) => h.address === c.topo.hostAddr(1))!;
    expect(real.last_heartbeat_age_ms).toBeLessThan(3000);
    expect(c.controller?.exitCode).toBeNull();
  });
});
