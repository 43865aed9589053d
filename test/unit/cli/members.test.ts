/**
 * The CLI against a controller group (fake members: real gRPC and TLS on
 * loopback): a call goes to whichever member answers; a member that cannot be
 * reached was never sent the call, so even a mutation moves on; a read whose
 * connection drops is asked again elsewhere; a mutation whose connection drops
 * is reported, never repeated. And the address list is checked where it is read.
 */
import "reflect-metadata";
import * as grpc from "@grpc/grpc-js";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { loadProtos } from "../../../shared/proto.js";
import { CONTROLLER_TLS_NAME, createCa, createServerCert, grpcServerCredentials, type CertAndKey } from "../../../shared/tls/pki.js";
import type { OperatorServiceHandlers } from "../../../shared/gen/berth/v1/OperatorService.js";
import { call, connect, type Api } from "../../../cli/client.js";
import { watchStream } from "../../../cli/watch.js";
import type { Event__Output } from "../../../shared/gen/berth/v1/Event.js";
import { resolveClientConfig } from "../../../cli/config.js";
import { CliError } from "../../../cli/errors.js";

let ca: CertAndKey;
let cert: CertAndKey;
beforeAll(async () => {
  ca = await createCa();
  cert = await createServerCert(ca, { dnsNames: [CONTROLLER_TLS_NAME], ips: ["127.0.0.1"] });
});

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface FakeMember {
  addr: string;
  calls: string[];
  server: grpc.Server;
}

/** A member that answers ListHosts and Cordon, or drops the connection under them (drop: true). */
async function member(o: { drop?: boolean; endAtOnce?: boolean } = {}): Promise<FakeMember> {
  const calls: string[] = [];
  const server = new grpc.Server();
  const answer = (name: string, res: object) => (_call: unknown, cb: (err: grpc.ServiceError | null, r?: object) => void) => {
    calls.push(name);
    if (o.drop) server.forceShutdown(); // the connection goes, the call with it: UNAVAILABLE at the client
    else cb(null, res);
  };
  // WatchEvents: the events after after_seq (seq 1..3), then the stream stays open, or the member goes (drop).
  const WatchEvents = (c: grpc.ServerWritableStream<{ after_seq: number }, object>): void => {
    calls.push(`WatchEvents after ${c.request.after_seq}`);
    const from = Number(c.request.after_seq) + 1;
    for (let seq = from; seq <= (o.drop ? from : 3); seq++) c.write({ seq, type: "host.joined", message: `e${seq}` });
    if (o.drop) setImmediate(() => server.forceShutdown());
    // A stream that says a line and ends, every time (`logs -f` of a host still disconnected).
    if (o.endAtOnce) c.end();
  };
  const handlers = { ListHosts: answer("ListHosts", { hosts: [] }), Cordon: answer("Cordon", { id: "h1" }), WatchEvents };
  server.addService(loadProtos().operator.berth.v1.OperatorService.service, handlers as unknown as OperatorServiceHandlers);
  const port = await new Promise<number>((res, rej) => server.bindAsync("127.0.0.1:0", grpcServerCredentials(ca.certPem, cert.certPem, cert.keyPem), (e, p) => (e ? rej(e) : res(p))));
  cleanups.push(() => server.forceShutdown());
  return { addr: `127.0.0.1:${port}`, calls, server };
}

/** A loopback port nothing listens on (bound, then closed). */
async function deadAddr(): Promise<string> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return `127.0.0.1:${port}`;
}

function api(addr: string): Api {
  const a = connect({ addr, token: "t", ca: ca.certPem });
  cleanups.push(() => a.close());
  return a;
}

describe("the CLI in a controller group", () => {
  it("sends a call to the first member that answers, and remembers it for the next call", async () => {
    const dead = await deadAddr();
    const live = await member();
    const a = api(`${dead},${live.addr}`);
    await call(a, a.client.ListHosts, {});
    expect(a.member).toBe(live.addr);
    // A mutation too: the dead member never got it (its channel never came up).
    await call(a, a.client.Cordon, { id: "h1" });
    expect(live.calls).toEqual(["ListHosts", "Cordon"]);
  }, 30_000);

  it("asks a read again on the next member when the connection drops under it", async () => {
    const dropping = await member({ drop: true });
    const live = await member();
    const a = api(`${dropping.addr},${live.addr}`);
    await call(a, a.client.ListHosts, {});
    expect(dropping.calls).toEqual(["ListHosts"]);
    expect(live.calls).toEqual(["ListHosts"]);
  }, 30_000);

  it("never repeats a mutation whose connection dropped: it may have taken effect", async () => {
    const dropping = await member({ drop: true });
    const live = await member();
    const a = api(`${dropping.addr},${live.addr}`);
    const err = await call(a, a.client.Cordon, { id: "h1" }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(CliError);
    expect((err as CliError).message).toMatch(/lost during Cordon: it may or may not have taken effect/);
    expect(dropping.calls).toEqual(["Cordon"]);
    expect(live.calls).toEqual([]);
  }, 30_000);

  it("names every member when none answers", async () => {
    const a = api(`${await deadAddr()},${await deadAddr()}`);
    await expect(call(a, a.client.ListHosts, {})).rejects.toThrow(/cannot reach any member of the controller: 127\.0\.0\.1:\d+, 127\.0\.0\.1:\d+/);
    const one = api(await deadAddr());
    await expect(call(one, one.client.ListHosts, {})).rejects.toThrow(/cannot reach the controller at 127\.0\.0\.1:\d+/);
  }, 30_000);
});

describe("a long watch in a controller group", () => {
  it("is opened again on another member when its member goes, from the last event seen", async () => {
    const dropping = await member({ drop: true });
    const live = await member();
    const a = api(`${dropping.addr},${live.addr}`);
    const seen: number[] = [];
    const lost: string[] = [];
    let last = 0;
    await watchStream(a, {
      follow: true,
      open: (client, md) => client.WatchEvents({ after_seq: last }, md),
      onData: (e: Event__Output, w) => {
        seen.push(e.seq);
        last = e.seq;
        if (e.seq === 3) w.stop();
      },
      onLost: (why) => lost.push(why),
    });
    expect(seen).toEqual([1, 2, 3]);
    expect(dropping.calls).toEqual(["WatchEvents after 0"]);
    expect(live.calls).toEqual(["WatchEvents after 1"]);
    expect(lost).toHaveLength(1);
    expect(a.member).toBe(live.addr);
  }, 30_000);
});

describe("a followed stream that ends at once each time it is opened", () => {
  it("is opened again after the backoff, not in a tight loop, and the loss is told once", async () => {
    const m = await member({ endAtOnce: true });
    const a = api(m.addr);
    const lost: string[] = [];
    let stopper: NodeJS.Timeout | undefined;
    await watchStream(a, {
      follow: true,
      open: (client, md) => client.WatchEvents({ after_seq: 0 }, md),
      onData: (_e: Event__Output, w) => {
        stopper ??= setTimeout(() => w.stop(), 1_500);
      },
      onLost: (why) => lost.push(why),
    });
    // Backoff 250 ms doubling to 1 s: about 5 opens in 1.5 s; the tight loop made hundreds.
    expect(m.calls.length).toBeLessThanOrEqual(8);
    expect(lost).toEqual(["the stream ended"]);
  }, 30_000);
});

describe("where the CLI reads the member list", () => {
  const base = { BERTH_TOKEN: "t", BERTH_CONFIG: "/nonexistent/berth.json" };
  it("BERTH_ADDR and --addr take every member, normalized", async () => {
    const dir = await mkdtemp(join(tmpdir(), "berth-cfg-"));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const caFile = join(dir, "ca.crt");
    await writeFile(caFile, "pem");
    expect((await resolveClientConfig({}, { ...base, BERTH_CA: caFile, BERTH_ADDR: "a:1, b" })).addr).toBe("a:1,b:7420");
    expect((await resolveClientConfig({ addr: "c:2,d:3" }, { ...base, BERTH_CA: caFile, BERTH_ADDR: "a:1" })).addr).toBe("c:2,d:3");
  });

  it("refuses a repeated or empty member, naming where the list came from", async () => {
    await expect(resolveClientConfig({}, { ...base, BERTH_ADDR: "a:1,b:1,a:1" })).rejects.toThrow(/^BERTH_ADDR: member 3 "a:1" repeats member 1/);
    await expect(resolveClientConfig({ addr: "a:1,,b:1" }, base)).rejects.toThrow(/^--addr: member 2 is empty/);
  });

  it("the config file's addr may be a list or a comma-separated string", async () => {
    const dir = await mkdtemp(join(tmpdir(), "berth-cfg-"));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const path = join(dir, "config.json");
    await writeFile(path, JSON.stringify({ addr: ["a:1", "b:2"], token: "t", ca: "pem" }));
    expect((await resolveClientConfig({}, { BERTH_CONFIG: path })).addr).toBe("a:1,b:2");
    await writeFile(path, JSON.stringify({ addr: "a:1,a:1", token: "t", ca: "pem" }));
    await expect(resolveClientConfig({}, { BERTH_CONFIG: path })).rejects.toThrow(new RegExp(`^${path}: addr: member 2 "a:1" repeats member 1`));
  });
});
